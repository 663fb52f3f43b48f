"""micropkg.lock."""
