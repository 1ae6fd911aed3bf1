"""The session model: registry, processes, watcher and the snapshot store (no Textual)."""
