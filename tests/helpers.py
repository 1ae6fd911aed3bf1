"""Small shared test helpers: polling waits, registry entries for real processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from sessiontui.model.processes import read_proc_start

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def wait_until(predicate: Callable[[], object], timeout_s: float = 10.0, interval_s: float = 0.02) -> object:
    """Poll ``predicate`` until it returns a truthy value; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(interval_s)


def write_entry(directory: Path, pid: int, **fields: object) -> Path:
    """Write ``<pid>.json`` like Claude Code does (compact, no newline), with a real procStart."""
    directory.mkdir(parents=True, exist_ok=True)
    data: dict[str, object] = {"pid": pid}
    start = read_proc_start(pid)
    if start is not None:
        data["procStart"] = start
    data.update(fields)
    path = directory / f"{pid}.json"
    path.write_text(json.dumps(data, separators=(",", ":")))
    return path


def run_cli(*args: str, timeout_s: float = 30.0, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sessiontui ARGS`` as a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "sessiontui", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        stdin=stdin,
        check=False,
    )
