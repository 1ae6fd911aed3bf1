"""Transcript reader figures (issue 8): start-up over 200 large transcripts, append latency, CPU.

Prints, never asserts. The 20 MB transcripts are sparse files (a hole, then 256 KiB of real
records at the end): the reader reads only tails, so the figure is the same as for dense files
while the benchmark needs no 4 GB of disk. Usage::

    PYTHONPATH=src python benchmarks/transcripts_tail.py [--quick] [--files N] [--size-mb M]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sessiontui.model.transcripts import TranscriptTracker, encode_project_dir


def record(i: int, now: float) -> bytes:
    """Return one assistant record line shaped like Claude Code's."""
    at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now - 60 + (i % 60)))
    body = {
        "parentUuid": None,
        "isSidechain": False,
        "type": "assistant",
        "timestamp": at,
        "requestId": f"req_{i}",
        "message": {
            "id": f"msg_{i}",
            "model": "claude-opus-4-8",
            "role": "assistant",
            "content": [{"type": "text", "text": "x" * 1200}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 1000, "output_tokens": 42, "cache_read_input_tokens": 9},
        },
    }
    return (json.dumps(body) + "\n").encode()


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20 files, 2 s of growth")
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--size-mb", type=int, default=20)
    args = parser.parse_args()
    files = 20 if args.quick else args.files
    grow_s = 2.0 if args.quick else 10.0
    root = Path(tempfile.mkdtemp(prefix="stui-bench-tx-"))
    try:
        now = time.time()
        projects = root / "projects"
        tail = b"".join(record(i, now) for i in range(300))  # ~400 KB of real records
        sessions = []
        for n in range(files):
            cwd = f"/work/project-{n}"
            sid = f"{n:08x}-0000-0000-0000-000000000000"
            folder = projects / encode_project_dir(cwd)
            folder.mkdir(parents=True)
            path = folder / f"{sid}.jsonl"
            with path.open("wb") as handle:
                handle.truncate(args.size_mb * 1024 * 1024 - len(tail))
                handle.seek(0, 2)
                handle.write(tail)
            sessions.append((str(n), cwd, sid, path))
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        tracker = TranscriptTracker(projects)
        started = time.perf_counter()
        for key, cwd, sid, _ in sessions:
            tracker.track(key, cwd=cwd, session_id=sid, started_at_ms=None)
        startup_s = time.perf_counter() - started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"start-up: {files} transcripts of {args.size_mb} MB: {startup_s * 1000:.0f} ms")
        print(f"peak RSS: {rss_after:.0f} MB (before readers: {rss_before:.0f} MB)")
        print(f"target: start-up <= 1500 ms {'PASS' if startup_s <= 1.5 else 'MISS'}")

        # Append -> facts latency, as the store would do on a watchdog event.
        latencies = []
        for i in range(200):
            _key, _, _, path = sessions[i % files]
            with path.open("ab") as handle:
                handle.write(record(10_000 + i, time.time()))
            t0 = time.perf_counter()
            tracker.update(path)
            latencies.append((time.perf_counter() - t0) * 1000)
        p95 = statistics.quantiles(latencies, n=20)[-1]
        print(
            f"append -> facts (reader only): p50 {statistics.median(latencies):.2f} ms, "
            f"p95 {p95:.2f} ms"
        )

        # 10 transcripts growing at 50 KB/s each, polled on every write (10 writes/s each).
        growing = sessions[:10]
        chunk = b"".join(record(20_000 + i, now) for i in range(3))  # ~5 KB
        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        ticks = 0
        while time.perf_counter() - wall0 < grow_s:
            for _key, _, _, path in growing:
                with path.open("ab") as handle:
                    handle.write(chunk)
                tracker.update(path)
            ticks += 1
            time.sleep(max(0.0, wall0 + ticks * 0.1 - time.perf_counter()))
        cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0) * 100
        print(
            f"10 transcripts at {len(chunk) * 10 / 1024:.0f} KB/s each: {cpu:.1f} % of a core "
            "(writer included)"
        )
        print(f"target: CPU <= 2 % {'PASS' if cpu <= 2.0 else 'MISS'}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
