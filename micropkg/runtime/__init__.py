"""micropkg.runtime."""
