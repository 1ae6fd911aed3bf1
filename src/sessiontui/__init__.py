"""sessiontui: a live terminal monitor for AI coding-agent sessions."""

__version__ = "0.1.0"
