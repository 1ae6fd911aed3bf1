"""Modal screens: rename, confirm, help."""
