"""Benchmark: start-up to the first full table with 1,000 registry files (500 live, 500 dead).

Setup: 500 live ``sleep`` processes and 500 dead PIDs (``sleep`` processes started, their
``procStart`` recorded, then killed and reaped), one Claude-Code-shaped ``<pid>.json`` each, and a
private tmux server (one pane) for the tmux backend to poll, as on a real desktop.

Measured, each run in a fresh Python process, 3 runs each (``--quick``: 200 files, 1 run):

* app: wall time from building the :class:`Monitor` and the app (``make_app``) to the
  DataTable holding every row, headless ``App.run_test`` at 120x40; this includes the app's
  own mount work and ``Monitor.refresh`` (run by the app's start-up worker), and also the first
  frame painted after it. Imports are timed separately. Peak RSS is ``ru_maxrss`` of that
  process, plus its RSS once the table is full.
* CLI: wall time of ``sessiontui ls --json --all`` for the same directory, from spawn to exit
  (interpreter start-up and imports included), and its peak RSS (``wait4`` rusage).

Run: ``/work/venv/bin/python benchmarks/startup.py [--quick] [--files N] [--runs R]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchlib import Cleanup, banner, median, registry_entry, verdict, write_like_claude
from sessiontui.model.processes import read_proc_start

TARGET_S = 1.0
TARGET_RSS_MB = 120.0
SIZE = (120, 40)
STATUSES = ("idle", "idle", "busy", "waiting")


def make_registry(cleanup: Cleanup, directory: Path, files: int) -> tuple[int, int]:
    """Write ``files`` entries, half for live processes and half for dead ones.

    Returns:
        (live, dead) counts.
    """
    live_n = files // 2
    dead_n = files - live_n
    t = time.monotonic()
    live = cleanup.sleepers(live_n)
    doomed = cleanup.sleepers(dead_n)
    starts = {p.pid: read_proc_start(p.pid) for p in (*live, *doomed)}
    for p in doomed:
        p.send_signal(signal.SIGKILL)
    for p in doomed:
        p.wait()
    spawn_s = time.monotonic() - t
    now = int(time.time() * 1000)
    for i, p in enumerate(live):
        start = starts[p.pid]
        if start is None:
            raise RuntimeError(f"cannot read /proc/{p.pid}/stat")
        entry = registry_entry(
            p.pid,
            name=f"live-{i:03d}",
            status=STATUSES[i % len(STATUSES)],
            proc_start=start,
            cwd=f"/home/dev/src/project-{i % 40:02d}",
            started_at_ms=now - 3_600_000 + i * 1000,
        )
        write_like_claude(directory / f"{p.pid}.json", entry)
    for i, p in enumerate(doomed):
        start = starts[p.pid]
        if start is None:
            raise RuntimeError(f"cannot read /proc/{p.pid}/stat")
        entry = registry_entry(
            p.pid,
            name=f"dead-{i:03d}",
            status="idle",
            proc_start=start,
            cwd=f"/home/dev/src/project-{i % 40:02d}",
            started_at_ms=now - 86_400_000 + i * 1000,
        )
        write_like_claude(directory / f"{p.pid}.json", entry)
    if any(read_proc_start(p.pid) == starts[p.pid] for p in doomed):
        raise RuntimeError("a 'dead' PID is alive again")
    print(f"spawned {live_n} live + {dead_n} dead processes in {spawn_s:.1f} s")
    return live_n, dead_n


# -- child: one app start-up, in a fresh interpreter ------------------------------------------


def child_app(directory: Path, socket: str, expect: int) -> None:
    """Time one headless app start-up and print the figures as one JSON line."""
    t_import = time.perf_counter()
    import psutil

    from sessiontui.model.monitor import Monitor
    from sessiontui.mux.tmux import TmuxBackend
    from sessiontui.ui.app import MainTable, make_app

    import_s = time.perf_counter() - t_import

    async def run() -> dict[str, Any]:
        t0 = time.perf_counter()
        monitor = Monitor(sessions_dir=directory, tmux=TmuxBackend(socket_name=socket))
        app = make_app(monitor)
        painted: list[float] = []  # when the first frame showing the full table was made
        done = asyncio.Event()
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is None or app._batch_count or painted:
                return
            with contextlib.suppress(Exception):  # NoMatches before mount
                if app.query_one(MainTable).row_count >= expect:
                    painted.append(time.perf_counter())
                    done.set()

        setattr(app, "_display", display)  # noqa: B010 - timing hook on this instance only
        async with app.run_test(size=SIZE):
            table = app.query_one(MainTable)
            deadline = time.monotonic() + 60
            while table.row_count < expect:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"table has {table.row_count} of {expect} rows")
                await asyncio.sleep(0.002)
            t_full = time.perf_counter()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 10)
            t_paint = painted[0] if painted else float("nan")
            rss_mb = psutil.Process().memory_info().rss / 1e6
            sessions = app.snapshot.sessions
            alive = sum(1 for s in sessions if s.alive)
        return {
            "import_s": import_s,
            "full_s": t_full - t0,
            "paint_s": t_paint - t0,
            "rss_mb": rss_mb,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6,
            "alive": alive,
            "dead": len(sessions) - alive,
        }

    print(json.dumps(asyncio.run(run())), flush=True)


# -- parent ------------------------------------------------------------------------------------


def run_child_app(directory: Path, socket: str, expect: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child-app", str(directory), socket, str(expect)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"app run failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run_cli(directory: Path, socket: str, expect: int) -> tuple[float, float]:
    """One ``sessiontui ls --json --all``: (wall seconds, peak RSS MB)."""
    exe = Path(sys.executable).with_name("sessiontui")
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "sessiontui"]
    argv += ["ls", "--json", "--all", "--sessions-dir", str(directory), "-L", socket]
    out_path = directory.parent / "ls.json"
    with out_path.open("wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"sessiontui ls exited with {proc.returncode}")
    rows = json.loads(out_path.read_text())
    if len(rows) != expect:
        raise RuntimeError(f"sessiontui ls listed {len(rows)} sessions, expected {expect}")
    return wall, usage.ru_maxrss * 1024 / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="200 files, 1 run (smoke test)")
    parser.add_argument("--files", type=int, default=None, help="registry files (default 1000)")
    parser.add_argument("--runs", type=int, default=None, help="runs of each (default 3)")
    parser.add_argument(
        "--child-app", nargs=3, metavar=("DIR", "SOCKET", "EXPECT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child_app:
        directory, socket, expect = args.child_app
        child_app(Path(directory), socket, int(expect))
        return 0
    files = args.files or (200 if args.quick else 1000)
    runs = args.runs or (1 if args.quick else 3)

    with Cleanup() as cleanup:
        directory = cleanup.tempdir("stui-bench-startup-") / "sessions"
        directory.mkdir(mode=0o700)
        tmux = cleanup.tmux(prefix="stui-bench-startup")
        tmux.cmd("new-session", "-d", "-s", "desk", "sleep", "3600")
        tmux.remember_socket()
        banner(f"start-up with {files} registry files")
        live_n, dead_n = make_registry(cleanup, directory, files)
        print(
            f"private tmux server with one pane; headless app {SIZE[0]}x{SIZE[1]}; {runs} run(s) "
            "each, fresh process per run; load average at start: "
            + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )

        apps = []
        for i in range(runs):
            r = run_child_app(directory, tmux.label, files)
            if (r["alive"], r["dead"]) != (live_n, dead_n):
                print(f"  warning: app saw {r['alive']} live / {r['dead']} dead", file=sys.stderr)
            apps.append(r)
            print(
                f"  app run {i + 1}: imports {r['import_s']:.2f} s, construction → {files} rows "
                f"{r['full_s']:.3f} s, → painted {r['paint_s']:.3f} s, peak RSS "
                f"{r['maxrss_mb']:.0f} MB (RSS {r['rss_mb']:.0f} MB)"
            )
        clis = []
        for i in range(runs):
            wall, rss = run_cli(directory, tmux.label, files)
            clis.append((wall, rss))
            print(
                f"  cli run {i + 1}: sessiontui ls --json --all {wall:.3f} s, peak RSS {rss:.0f} MB"
            )

    full = median([r["full_s"] for r in apps])
    paint = median([r["paint_s"] for r in apps])
    imports = median([r["import_s"] for r in apps])
    app_rss = median([r["maxrss_mb"] for r in apps])
    cli_s = median([w for w, _ in clis])
    cli_rss = median([m for _, m in clis])
    print(f"\nmedian of {runs}:")
    print(f"  app: construction → full table {full:.3f} s, → first frame with it {paint:.3f} s")
    print(f"       (+ imports {imports:.2f} s before construction); peak RSS {app_rss:.0f} MB")
    print(
        f"  cli: sessiontui ls --json --all {cli_s:.3f} s wall (spawn to exit); "
        f"peak RSS {cli_rss:.0f} MB"
    )
    print(
        f"target: app full table <= {TARGET_S:g} s ... {verdict(full <= TARGET_S)} ({full:.3f} s)"
    )
    print(f"target: cli ls <= {TARGET_S:g} s ... {verdict(cli_s <= TARGET_S)} ({cli_s:.3f} s)")
    print(
        f"target: peak RSS <= {TARGET_RSS_MB:g} MB ... "
        f"{verdict(max(app_rss, cli_rss) <= TARGET_RSS_MB)} "
        f"(app {app_rss:.0f} MB, cli {cli_rss:.0f} MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
