"""micropkg.installation."""
