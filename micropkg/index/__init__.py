"""micropkg.index."""
