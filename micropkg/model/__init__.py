"""micropkg.model."""
