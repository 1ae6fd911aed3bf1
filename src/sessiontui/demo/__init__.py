"""The embedded demo: simulated agents in a private tmux server."""
