"""Benchmark: Zellij sessions through the real monitor: discovery latency and idle CPU.

Everything runs against the real Zellij in an isolated world (its own ``ZELLIJ_SOCKET_DIR``,
cache, config, HOME and TMPDIR under a short ``/tmp`` path), put into this process's environment
the way a user's shell would have it, and the monitor is built as ``sessiontui`` builds it
(``make_muxset(parse_args([...]))`` + ``Monitor`` with the default timing), headless and
in-process (no Textual). The ``zellij`` executable the monitor runs is a tiny ``/bin/sh`` wrapper
(``SESSIONTUI_ZELLIJ_BIN``) that logs each call's arguments, so the calls are counted (its own
cost, < 1 ms a call, is included in the figures; ``--no-count`` drops it).

The agents are real processes in real panes: the sessions' ``default_shell`` is a script that
writes its PID to ``<dir>/<session>.<pane>.pid`` and ``exec``'s ``python3 -c 'time.sleep(900)'``
(so the pane process *is* the agent, with ``ZELLIJ_PANE_ID`` in its environment, as a Claude
started in a pane is); the benchmark writes a registry entry (status idle, like Claude Code
2.1.197's) for each as soon as its PID file appears.

1. **Created → listed** (``--sessions N``, default 20): one session at a time, the clock starts
   just before ``zellij attach --create-background sN`` and stops when the monitor publishes a
   snapshot (a subscriber callback, no polling) whose row for that session's agent is mapped to
   ``zellij:sN``. Split: created → the agent's PID file exists (Zellij starting the session and
   its shell: not ours) and registry entry written → mapped (ours). p50 / p95 / max.
2. **Idle CPU** (``--seconds S``, default 45): 10 sessions with 2 agents each (20 registry
   entries), the same monitor, after a settling pause: over the window, the process's own CPU
   (user + system, this process does nothing else; split main thread / the rest) plus its reaped
   children (every ``zellij`` call it made), and the count of ``zellij`` calls by verb. The
   Zellij servers' CPU in the window is printed too, beside a baseline window of the same
   length before the monitor started (what our polls cost the servers), and the file events
   the Zellij change trigger received and the polls the monitor made (counted by wrapping
   ``ZellijChangeTrigger._event`` and ``Monitor._poll_tmux``; product code unchanged).

The Zellij configuration is the default but for start-up tips and release notes (off) and the
agents' ``default_shell``: metadata and resurrection data at Zellij's own intervals.

Run: ``python benchmarks/zellij.py [--quick] [--sessions N] [--seconds S] [--no-count]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from benchlib import banner, median, percentile, thread_split, verdict
from sessiontui.cli import make_muxset, parse_args
from sessiontui.config import Config
from sessiontui.model.monitor import Monitor
from sessiontui.mux.zellij import ZellijChangeTrigger, find_zellij
from zellij_world import World, wait_pid

if TYPE_CHECKING:
    from sessiontui.model.types import SnapshotChange

LISTED_TARGET_S = 1.0
IDLE_TARGET_PERCENT = 0.5


#: File events the Zellij change trigger received (the benchmark wraps its ``_event``).
EVENTS: Counter[str] = Counter()
_event = ZellijChangeTrigger._event


def _counting_event(
    self: ZellijChangeTrigger, paths: list[str], kind: str, *, is_directory: bool
) -> None:
    EVENTS[f"{Path(paths[0]).name} {kind}" if paths else kind] += 1
    _event(self, paths, kind, is_directory=is_directory)


ZellijChangeTrigger._event = _counting_event  # type: ignore[method-assign]

#: Multiplexer polls made by the monitor (the benchmark wraps ``Monitor._poll_tmux``).
POLLS = [0]
_poll = Monitor._poll_tmux


def _counting_poll(self: Monitor) -> None:
    POLLS[0] += 1
    _poll(self)


Monitor._poll_tmux = _counting_poll  # type: ignore[method-assign]


def build_monitor(world: World) -> Monitor:
    """The monitor as ``sessiontui`` builds it, on the world's registry (no tmux in view)."""
    args = parse_args(["ls", "--no-discover", "-L", f"stui-bench-none-{os.getpid()}"])
    return Monitor(sessions_dir=world.registry, muxes=make_muxset(args, Config()))


def created_to_listed(world: World, sessions: int) -> None:
    banner(f"Zellij session created -> listed, {sessions} sessions one at a time")
    marks: dict[int, float] = {}
    wanted: dict[int, str] = {}
    lock = threading.Lock()

    def on_change(change: SnapshotChange) -> None:
        now = time.monotonic()
        with lock:
            for pid, session in list(wanted.items()):
                row = next((s for s in change.snapshot.sessions if s.pid == pid), None)
                if row is not None and row.mux is not None and row.mux.session == session:
                    marks[pid] = now
                    del wanted[pid]

    totals, zellij_part, ours = [], [], []
    monitor = build_monitor(world)
    with monitor:
        monitor.refresh()
        monitor.subscribe(on_change)
        monitor.start()
        time.sleep(1.0)
        for i in range(sessions):
            name = f"d{i}"
            t0 = time.monotonic()
            world.start(name)
            pid = None
            deadline = t0 + 20
            while pid is None and time.monotonic() < deadline:
                pid = world.agent_pid(name)
                if pid is None:
                    time.sleep(0.002)
            if pid is None:
                raise TimeoutError(f"the agent of {name} never started")
            t1 = time.monotonic()
            with lock:
                wanted[pid] = name
            world.register(pid, f"agent-{name}")
            t2 = time.monotonic()
            while pid not in marks and time.monotonic() < t2 + 20:
                time.sleep(0.005)
            if pid not in marks:
                raise TimeoutError(f"{name}'s agent never listed in its pane")
            totals.append(marks[pid] - t0)
            zellij_part.append(t1 - t0)
            ours.append(marks[pid] - t2)
            print(
                f"  {name}: listed after {totals[-1] * 1000:7.1f} ms "
                f"(agent started {zellij_part[-1] * 1000:6.1f} ms, "
                f"entry -> mapped {ours[-1] * 1000:6.1f} ms)",
                flush=True,
            )
            time.sleep(0.3)
    for label, values in (
        ("created -> listed", totals),
        ("created -> agent running (Zellij)", zellij_part),
        ("entry written -> mapped (sessiontui)", ours),
    ):
        ms = [v * 1000 for v in values]
        print(
            f"{label}: p50 {median(ms):.1f} ms, p95 {percentile(ms, 95):.1f} ms, "
            f"max {max(ms):.1f} ms"
        )
    p95 = percentile(totals, 95)
    print(f"target: p95 <= {LISTED_TARGET_S:g} s: {verdict(p95 <= LISTED_TARGET_S)}")


def servers_cpu(servers: list[psutil.Process]) -> float:
    total = 0.0
    for server in servers:
        with contextlib.suppress(psutil.Error):
            t = server.cpu_times()
            total += t.user + t.system
            for child in server.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    c = child.cpu_times()
                    total += c.user + c.system
    return total


def idle_cpu(world: World, seconds: float, settle_s: float) -> None:
    banner(f"idle CPU: 10 Zellij sessions, 20 agents, {seconds:g} s")
    names = [f"i{i}" for i in range(10)]
    pids: list[int] = []
    for name in names:
        world.start(name)
    for name in names:
        pid = wait_pid(world, name, 0)
        pids.append(pid)
        world.register(pid, f"agent-{name}-a")
    for name in names:
        # The second agent: a new pane running the same script (``run`` prints terminal_<n>).
        result = world.run("-s", name, "run", "--", world.env["SHELL"])
        if result.returncode != 0:
            raise RuntimeError(f"zellij run in {name}: {result.stderr.strip()}")
        pane = int(result.stdout.strip().removeprefix("terminal_"))
        pid = wait_pid(world, name, pane)
        pids.append(pid)
        world.register(pid, f"agent-{name}-b")
    servers = world.servers()
    print(f"{len(servers)} zellij servers, {len(pids)} agents registered", flush=True)
    time.sleep(settle_s)
    base = servers_cpu(servers)
    time.sleep(seconds)
    baseline_servers = servers_cpu(servers) - base

    me = psutil.Process()
    monitor = build_monitor(world)
    with monitor:
        monitor.refresh()
        monitor.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            mapped = [
                s for s in monitor.snapshot.sessions if s.mux is not None and s.mux.type == "zellij"
            ]
            if len(mapped) == len(pids):
                break
            time.sleep(0.2)
        print(f"{len(mapped)} of {len(pids)} agents mapped to their Zellij panes", flush=True)
        time.sleep(settle_s)
        calls_before = world.calls_by_verb()
        events_before = Counter(EVENTS)
        polls_before = POLLS[0]
        srv0 = servers_cpu(servers)  # before the window: its own cost is not counted
        main0, other0, kids0 = thread_split(me)
        t0 = time.monotonic()
        time.sleep(seconds)
        wall = time.monotonic() - t0
        main1, other1, kids1 = thread_split(me)
        srv1 = servers_cpu(servers)
        calls = world.calls_by_verb() - calls_before
        events = EVENTS - events_before
        polls = POLLS[0] - polls_before
    main, other, kids = main1 - main0, other1 - other0, kids1 - kids0
    total = main + other + kids
    percent = total / wall * 100
    print(
        f"sessiontui monitor + its zellij calls: {percent:.3f} % of a core "
        f"({total * 1000:.0f} ms CPU in {wall:.1f} s: main thread {main * 1000:.0f} ms, "
        f"monitor/watcher threads {other * 1000:.0f} ms, zellij children {kids * 1000:.0f} ms)"
    )
    n_calls = sum(calls.values())
    per_min = n_calls / wall * 60
    detail = ", ".join(f"{verb} {count}" for verb, count in calls.most_common()) or "none"
    print(f"zellij calls in the window: {n_calls} ({per_min:.1f}/min): {detail}")
    top = ", ".join(f"{what} {count}" for what, count in events.most_common(4)) or "none"
    print(
        f"trigger file events: {sum(events.values()) / wall:.1f}/s ({top}); "
        f"multiplexer polls: {polls} ({polls / wall * 60:.1f}/min)"
    )
    print(
        f"zellij servers (10): {(srv1 - srv0) / wall * 100:.3f} % of a core with the monitor, "
        f"{baseline_servers / seconds * 100:.3f} % without (baseline window before it started)"
    )
    ok = percent <= IDLE_TARGET_PERCENT
    print(f"target: <= {IDLE_TARGET_PERCENT:g} % of a core: {verdict(ok)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 sessions, a 10 s window")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--no-count", action="store_true", help="no call-counting wrapper")
    parser.add_argument("--skip-listed", action="store_true", help="only the idle CPU part")
    parser.add_argument("--skip-idle", action="store_true", help="only the created -> listed part")
    args = parser.parse_args()
    zellij = find_zellij()
    if zellij is None:
        print("zellij is not installed (set SESSIONTUI_ZELLIJ_BIN): nothing to measure")
        return
    sessions = 5 if args.quick else args.sessions
    seconds = 10.0 if args.quick else args.seconds
    settle_s = 2.0 if args.quick else 5.0
    version = subprocess.run([zellij, "--version"], capture_output=True, text=True, check=False)
    print(f"{version.stdout.strip()}; load average: {os.getloadavg()}; cores: {os.cpu_count()}")
    if not args.skip_listed:
        world = World(zellij, count_calls=not args.no_count)
        try:
            world.use()
            created_to_listed(world, sessions)
        finally:
            world.close()
    if not args.skip_idle:
        world = World(zellij, count_calls=not args.no_count)
        try:
            world.use()
            idle_cpu(world, seconds, settle_s)
        finally:
            world.close()
    print(json.dumps({"load_average_end": os.getloadavg()}))


if __name__ == "__main__":
    main()
