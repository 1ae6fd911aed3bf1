"""Multiplexer backends (tmux through libtmux) behind one interface."""
