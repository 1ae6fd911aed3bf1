"""Benchmark: 10,000 stale registry files plus a few live agents (SPEC 8 "10,000 stale files").

Setup: a temporary registry holding 10,000 Claude-Code-shaped ``<pid>.json`` files whose PIDs do
not run (PIDs free at set-up, each with a ``procStart`` that no process of that PID can have, so
they stay dead even if a PID is reused meanwhile) and 5 live agents (``sleep`` processes, status
``idle``). The real app (:func:`sessiontui.ui.app.make_app` over a real :class:`Monitor`, default
timing, no tmux) runs headless (``App.run_test``, 160x72) in a fresh Python process. Three
figures, in that process, one after the other:

* start-up: wall time from building the :class:`Monitor` and the app to the DataTable holding
  all 10,005 rows (the app's start-up worker runs ``Monitor.refresh``), and to the first frame
  painted with them. Imports are timed separately and are not included.
* status latency: a live agent's file rewritten like Claude Code does (open "w", compact JSON)
  with its next status (busy → waiting → idle …, so rows reorder) → the first frame whose
  output, applied to a virtual terminal, shows its row with the new status (the method of
  ``status_latency.py``, whose probe is reused). p50 / p95 / max over 40 writes (``--quick`` 10).
* idle CPU: after the writes, every live agent written back to ``idle`` (and shown so) and a
  settling pause, user + system CPU time of that process (all its threads: Textual, the
  monitor, the watcher) over a window (30 s; ``--quick`` 12 s) that spans samples (2 s; idle
  rows every 10 s) and 10 s safety rescans, as percent of one core.

Run: ``/work/venv/bin/python benchmarks/scale.py [--quick] [--files N] [--seconds S]``;
``--startup-only [--runs R]`` measures only the start-up, in R fresh processes (min / median).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchlib import (
    Cleanup,
    banner,
    percentile,
    registry_entry,
    verdict,
    write_like_claude,
)
from sessiontui.model.processes import read_proc_start

N_LIVE = 5
SIZE = (160, 72)
TARGET_STARTUP_S = 1.0
TARGET_P95_MS = 100.0
TARGET_IDLE_PERCENT = 1.0
TIMEOUT_S = 10.0
SETTLE_S = 3.0


def free_pids(count: int, rng: random.Random) -> list[int]:
    """``count`` PIDs that no process uses now, in random order.

    Raises:
        RuntimeError: ``/proc/sys/kernel/pid_max`` leaves too few free PIDs.
    """
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    used = {int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()}
    free = [pid for pid in range(300, pid_max) if pid not in used]
    if len(free) < count:
        raise RuntimeError(f"only {len(free)} free PIDs below pid_max {pid_max}")
    return rng.sample(free, count)


def make_stale(directory: Path, count: int, rng: random.Random) -> float:
    """Write ``count`` stale entries; return the seconds it took."""
    t = time.monotonic()
    now = int(time.time() * 1000)
    old_ns = (now - 86_400_000) * 1_000_000
    for i, pid in enumerate(free_pids(count, rng)):
        entry = registry_entry(
            pid,
            name=f"stale-{i:05d}",
            status="idle",
            # Start ticks far beyond any uptime: a process now holding this PID is another one.
            proc_start=str(10**12 + i),
            cwd=f"/home/dev/src/old-{i % 97:02d}",
            session_id=f"00000000-0000-4000-8000-{i:012d}",
            started_at_ms=now - 30 * 86_400_000 + i * 1000,
        )
        path = directory / f"{pid}.json"
        write_like_claude(path, entry)
        os.utime(path, ns=(old_ns, old_ns))  # stale files are old: written by long-gone agents
    return time.monotonic() - t


# -- child: the app, in a fresh interpreter ---------------------------------------------------


def main_thread_s(proc: Any) -> float:
    """CPU seconds of ``proc``'s main thread (the Textual event loop)."""
    return sum(t.user_time + t.system_time for t in proc.threads() if t.id == proc.pid)


def child(directory: Path, agents_json: str, writes: int, idle_s: float) -> None:
    """Run the three measurements and print the figures as one JSON line."""
    t_import = time.perf_counter()
    import psutil

    from sessiontui.model.monitor import Monitor
    from sessiontui.ui.app import MainTable, make_app
    from status_latency import CYCLE, Agent, Armed, Probe, label

    import_s = time.perf_counter() - t_import
    agents = [Agent(**{**a, "path": Path(a["path"])}) for a in json.loads(agents_json)]
    expect = sum(1 for p in directory.iterdir() if p.name.endswith(".json"))

    async def run() -> dict[str, Any]:
        t0, cpu0 = time.perf_counter(), time.process_time()
        app = make_app(Monitor(sessions_dir=directory))
        probe = Probe(app)
        # No polling loop: it would wake the event loop every few ms and take the GIL from
        # the app's start-up worker. The table is checked right after each of the app's
        # renders of a snapshot (its _show, already wrapped by the probe) instead.
        full = asyncio.Event()
        marks: dict[str, float] = {}
        probe_show = app._show

        def show() -> None:
            probe_show()
            if "full" not in marks and app.query_one(MainTable).row_count >= expect:
                marks["full"], marks["full_cpu"] = time.perf_counter(), time.process_time()
                marks["frames"] = probe.frames
                full.set()

        setattr(app, "_show", show)  # noqa: B010 - timing hook on this instance only
        async with app.run_test(size=SIZE):
            try:
                await asyncio.wait_for(full.wait(), 120)
            except TimeoutError:
                rows = app.query_one(MainTable).row_count
                raise TimeoutError(f"table has {rows} of {expect} rows") from None
            t_full, cpu_full = marks["full"], marks["full_cpu"]
            deadline = time.monotonic() + 60
            while probe.frames == marks["frames"] and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            t_paint = time.perf_counter()
            if not all(probe.terminal.shows(a.name, label("idle")) for a in agents):
                raise RuntimeError("live agents not on screen:\n" + probe.terminal.text())
            if writes == 0:  # --startup-only
                return {
                    "import_s": import_s,
                    "rows": expect,
                    "full_s": t_full - t0,
                    "full_cpu_s": cpu_full - cpu0,
                    "paint_s": t_paint - t0,
                    "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6,
                }
            await asyncio.sleep(1.0)

            latencies: list[float] = []
            write_cpu_ms: list[float] = []
            timeouts = 0
            rng = random.Random(11)
            for i in range(writes + 2):
                agent = rng.choice(agents)
                agent.status = CYCLE[agent.turn % len(CYCLE)]
                agent.turn += 1
                armed = Armed(key=agent.key, name=agent.name, label=label(agent.status), t0=0.0)
                data = agent.entry()
                probe.armed = armed
                c_write = time.process_time()
                armed.t0 = time.perf_counter()
                write_like_claude(agent.path, data)
                try:
                    await asyncio.wait_for(armed.event.wait(), TIMEOUT_S)
                except TimeoutError:
                    timeouts += 1
                probe.armed = None
                if i >= 2:
                    write_cpu_ms.append((time.process_time() - c_write) * 1000)
                if i >= 2:  # two warm-up writes
                    end = armed.t_screen if armed.t_screen is not None else armed.t0 + TIMEOUT_S
                    latencies.append((end - armed.t0) * 1000)
                await asyncio.sleep(rng.uniform(0.1, 0.3))

            # Idle means idle: every live agent back to ``idle`` (a busy one is sampled every
            # 2 s and its sparkline grows, which is work, not idling).
            for agent in agents:
                agent.status = "idle"
                write_like_claude(agent.path, agent.entry())
            deadline = time.monotonic() + 10
            while not all(probe.terminal.shows(a.name, label("idle")) for a in agents):
                if time.monotonic() > deadline:
                    raise RuntimeError("agents not idle on screen:\n" + probe.terminal.text())
                await asyncio.sleep(0.05)
            await asyncio.sleep(SETTLE_S)
            me = psutil.Process()
            c0, m0, w0 = me.cpu_times(), main_thread_s(me), time.monotonic()
            await asyncio.sleep(idle_s)
            c1, m1, w1 = me.cpu_times(), main_thread_s(me), time.monotonic()
            cpu = (c1.user - c0.user) + (c1.system - c0.system)
            main_cpu = m1 - m0
            reads = app.monitor.store.reader.reads
        return {
            "import_s": import_s,
            "rows": expect,
            "full_s": t_full - t0,
            "full_cpu_s": cpu_full - cpu0,
            "write_cpu_ms": write_cpu_ms,
            "paint_s": t_paint - t0,
            "latency_ms": latencies,
            "timeouts": timeouts,
            "idle_percent": 100.0 * cpu / (w1 - w0),
            "idle_main_percent": 100.0 * main_cpu / (w1 - w0),
            "idle_window_s": w1 - w0,
            "registry_reads": reads,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6,
        }

    print(json.dumps(asyncio.run(run())), flush=True)


# -- parent ------------------------------------------------------------------------------------


def report_startup(runs: list[dict[str, Any]]) -> int:
    """Print the start-up figures of ``runs`` (fresh processes): min and median."""
    full = [r["full_s"] for r in runs]
    cpu = [r["full_cpu_s"] for r in runs]
    paint = [r["paint_s"] for r in runs]
    print(f"\nrows in the table: {runs[0]['rows']}; {len(runs)} fresh processes")
    for label, values in (
        ("construction → full table", full),
        ("  CPU time of the process until then", cpu),
        ("construction → first frame after it", paint),
    ):
        print(
            f"{label}: min {min(values):.3f} s, median {percentile(values, 50):.3f} s, "
            f"max {max(values):.3f} s"
        )
    print("load average at the end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    median = percentile(full, 50)
    print(
        f"target: start-up <= {TARGET_STARTUP_S:g} s (median) ... "
        f"{verdict(median <= TARGET_STARTUP_S)} ({median:.3f} s)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="10 writes, 12 s idle window")
    parser.add_argument("--files", type=int, default=10_000, help="stale files (default 10000)")
    parser.add_argument("--writes", type=int, default=None, help="status writes (default 40)")
    parser.add_argument("--seconds", type=float, default=None, help="idle window (default 30)")
    parser.add_argument(
        "--startup-only",
        action="store_true",
        help="only the start-up figure, in --runs fresh processes (min and median)",
    )
    parser.add_argument("--runs", type=int, default=5, help="with --startup-only (default 5)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        directory, agents_json, writes, idle_s = args.child
        child(Path(directory), agents_json, int(writes), float(idle_s))
        return 0
    writes = args.writes or (10 if args.quick else 40)
    idle_s = args.seconds or (12.0 if args.quick else 30.0)
    rng = random.Random(args.seed)

    with Cleanup() as cleanup:
        directory = cleanup.tempdir("stui-bench-scale-") / "sessions"
        directory.mkdir(mode=0o700)
        agents = []
        for i, proc in enumerate(cleanup.sleepers(N_LIVE)):
            start = read_proc_start(proc.pid)
            if start is None:
                print(f"cannot read /proc/{proc.pid}/stat", file=sys.stderr)
                return 1
            agent = {
                "pid": proc.pid,
                "path": str(directory / f"{proc.pid}.json"),
                "name": f"live-{i}",
                "proc_start": start,
                "session_id": f"11111111-0000-4000-8000-{i:012d}",
                "started_at_ms": int(time.time() * 1000) - 60_000,
            }
            agents.append(agent)
            write_like_claude(
                directory / f"{proc.pid}.json",
                registry_entry(
                    proc.pid,
                    name=agent["name"],
                    status="idle",
                    proc_start=start,
                    cwd=f"/home/dev/src/{agent['name']}",
                    session_id=agent["session_id"],
                    started_at_ms=agent["started_at_ms"],
                ),
            )
        made_s = make_stale(directory, args.files, rng)

        banner(f"scale: {args.files} stale registry files + {N_LIVE} live agents")
        print(
            f"stale files written in {made_s:.1f} s; headless app {SIZE[0]}x{SIZE[1]}, default "
            "MonitorTiming, no tmux, fresh process; load average at start: "
            + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        here = Path(__file__).parent
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(here), *filter(None, [env.get("PYTHONPATH", "")])])
        runs: list[dict[str, Any]] = []
        for _ in range(max(1, args.runs) if args.startup_only else 1):
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    str(directory),
                    json.dumps(agents),
                    "0" if args.startup_only else str(writes),
                    str(idle_s),
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
                env=env,
            )
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        r: dict[str, Any] = runs[0]

    if args.startup_only:
        return report_startup(runs)

    lat = r["latency_ms"]
    p50, p95 = percentile(lat, 50), percentile(lat, 95)
    print(f"\nrows in the table: {r['rows']}  (imports {r['import_s']:.2f} s, not included)")
    print(
        f"start-up: construction → full table {r['full_s']:.3f} s, → first frame after it "
        f"{r['paint_s']:.3f} s; peak RSS {r['maxrss_mb']:.0f} MB"
    )
    print(
        f"          CPU time of the process until the full table: {r['full_cpu_s']:.3f} s "
        "(all threads; less sensitive to the machine's load than the wall time)"
    )
    print(
        f"status write → screen: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(lat):.1f} ms "
        f"(n={len(lat)}, timeouts > {TIMEOUT_S:g} s: {r['timeouts']})"
    )
    cpu = r["write_cpu_ms"]
    print(
        f"          CPU time of the process per write (until on screen): p50 "
        f"{percentile(cpu, 50):.1f} ms, p95 {percentile(cpu, 95):.1f} ms"
    )
    print(
        f"idle CPU: {r['idle_percent']:.2f} % of one core over {r['idle_window_s']:.1f} s "
        f"(whole process; main thread {r['idle_main_percent']:.2f} %, the rest is the monitor "
        f"and watcher threads); registry file reads since start: {r['registry_reads']}"
    )
    print(
        f"target: start-up <= {TARGET_STARTUP_S:g} s ... "
        f"{verdict(r['full_s'] <= TARGET_STARTUP_S)} ({r['full_s']:.3f} s)"
    )
    print(
        f"target: status p95 <= {TARGET_P95_MS:g} ms ... "
        f"{verdict(p95 <= TARGET_P95_MS)} ({p95:.1f} ms)"
    )
    print(
        f"target: idle CPU <= {TARGET_IDLE_PERCENT:g} % ... "
        f"{verdict(r['idle_percent'] <= TARGET_IDLE_PERCENT)} ({r['idle_percent']:.2f} %)"
    )
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
