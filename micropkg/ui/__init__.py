"""micropkg.ui."""
