"""micropkg.net."""
