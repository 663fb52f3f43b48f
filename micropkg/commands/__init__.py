"""micropkg.commands."""
