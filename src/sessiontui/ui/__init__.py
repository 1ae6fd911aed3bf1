"""The Textual user interface: renders snapshots and sends actions to the monitor."""
