"""micropkg.resolution."""
