"""Widgets: the session table and the detail panel."""
