"""The transcript folder watcher on real folders: appends reported, paused folders silent."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from tests.helpers import wait_until

from sessiontui.model.folder_watcher import FolderWatcher

if TYPE_CHECKING:
    from pathlib import Path


def test_a_paused_folder_reports_nothing_until_it_is_resumed(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    seen: list[Path] = []
    lock = threading.Lock()

    def on_change(path: Path) -> None:
        with lock:
            seen.append(path)

    def reported(path: Path) -> bool:
        with lock:
            return path in seen

    watcher = FolderWatcher(on_change)
    watcher.start()
    try:
        watcher.set_folders([one, two])
        assert watcher.watched == {one, two}
        watcher.pause([one])
        assert watcher.watched == {two}
        (one / "a.jsonl").write_bytes(b"{}\n")
        (two / "b.jsonl").write_bytes(b"{}\n")
        wait_until(lambda: reported(two / "b.jsonl"), 5.0, "the append in the watched folder")
        time.sleep(0.2)
        assert not reported(one / "a.jsonl")
        watcher.set_folders([one, two])  # unchanged wants keep the pause
        assert watcher.watched == {two}
        watcher.pause([])
        assert watcher.watched == {one, two}
        with (one / "a.jsonl").open("ab") as handle:
            handle.write(b"{}\n")
        wait_until(lambda: reported(one / "a.jsonl"), 5.0, "the append after the pause")
    finally:
        watcher.close()
