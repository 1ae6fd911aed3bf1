"""Transcript append → the monitor's published snapshot (issue 8: p95 ≤ 150 ms), end to end.

A real process (``sleep``) with a registry entry and a transcript; the product's
:class:`~sessiontui.model.monitor.Monitor` (watchdog on the project folder, sample timer at its
default 2 s); each append of one assistant record is timed until a published snapshot shows its
output tokens. Prints, never asserts. Usage::

    PYTHONPATH=src python benchmarks/transcript_snapshot.py [--appends N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sessiontui.model.monitor import Monitor
from sessiontui.model.processes import read_proc_start
from sessiontui.model.transcripts import TranscriptTracker, encode_project_dir

if TYPE_CHECKING:
    from sessiontui.model.types import SnapshotChange

SID = "534ded02-9aa5-4594-8426-d954ad357ae6"
CWD = "/tmp/bench/project"


def assistant(i: int) -> bytes:
    """One assistant record as Claude Code writes it, with ``i + 1`` output tokens in total."""
    at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    record = {
        "type": "assistant",
        "isSidechain": False,
        "timestamp": at,
        "requestId": f"req_{i}",
        "message": {
            "id": f"msg_{i}",
            "model": "claude-opus-4-8",
            "role": "assistant",
            "content": [{"type": "text", "text": "x" * 400}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 1000, "output_tokens": 1},
        },
    }
    return json.dumps(record).encode() + b"\n"


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--appends", type=int, default=50)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="st-bench-"))
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        registry = root / "sessions"
        registry.mkdir()
        folder = root / "projects" / encode_project_dir(CWD)
        folder.mkdir(parents=True)
        transcript = folder / f"{SID}.jsonl"
        transcript.write_bytes(b"")
        entry = {
            "pid": sleeper.pid,
            "procStart": read_proc_start(sleeper.pid),
            "sessionId": SID,
            "cwd": CWD,
            "status": "idle",
        }
        (registry / f"{sleeper.pid}.json").write_text(json.dumps(entry))
        seen = threading.Condition()
        tokens = {"value": -1}

        def on_change(change: SnapshotChange) -> None:
            for session in change.snapshot.sessions:
                if session.pid == sleeper.pid and session.tokens_output is not None:
                    with seen:
                        tokens["value"] = session.tokens_output
                        seen.notify_all()

        monitor = Monitor(
            sessions_dir=registry, transcripts={registry: TranscriptTracker(root / "projects")}
        )
        monitor.subscribe(on_change)
        monitor.refresh()
        monitor.start()
        time.sleep(0.5)
        latencies: list[float] = []
        for i in range(args.appends):
            started = time.perf_counter()
            with transcript.open("ab") as handle:
                handle.write(assistant(i))
            with seen:
                seen.wait_for(lambda i=i: tokens["value"] >= i + 1, timeout=10.0)
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.05)
        monitor.close()
        latencies.sort()
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        print(
            f"append -> published snapshot: p50 {statistics.median(latencies):.1f} ms, "
            f"p95 {p95:.1f} ms, max {latencies[-1]:.1f} ms ({len(latencies)} appends)"
        )
        print(f"target: p95 <= 150 ms {'PASS' if p95 <= 150 else 'FAIL'}")
    finally:
        sleeper.kill()
        sleeper.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
