"""Benchmark: a tmux change → the monitor's snapshot, through control-mode triggers.

Setup: three private tmux servers (``-f /dev/null``), a monitor built by the CLI's own
``make_muxset`` over them (``--no-discover -L a -L b -L c``) with its safety poll at 300 s, so
only control-mode notifications can make it poll. Each round creates a ``@sessiontui-kind bg``
session with one pane on a random server (it is listed without any registry file) and waits for
its row; then kills the session and waits for the row to go. The clock starts just before the
tmux command. Targets (issue 6): a new pane in ≤ 300 ms, a killed pane gone in ≤ 300 ms.

Run: ``/work/venv/bin/python benchmarks/tmux_events.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time

from benchlib import Cleanup, banner, percentile, verdict
from sessiontui.cli import make_muxset, parse_args
from sessiontui.config import Config
from sessiontui.model.monitor import Monitor, MonitorTiming

TARGET_MS = 300.0
TIMEOUT_S = 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    with Cleanup() as cleanup:
        registry = cleanup.tempdir("stui-bench-events-") / "sessions"
        registry.mkdir()
        servers = [cleanup.tmux(prefix=f"stui-bench-ev{i}") for i in range(3)]
        for server in servers:
            server.cmd("new-session", "-d", "-s", "home", "sleep", "3600")
            server.remember_socket()
        argv_ls = ["ls", "--no-discover", *(a for s in servers for a in ("-L", s.label))]
        monitor = Monitor(
            sessions_dir=registry,
            muxes=make_muxset(parse_args(argv_ls), Config()),
            timing=MonitorTiming(tmux_poll_s=300.0),
        )
        changed = threading.Event()
        monitor.subscribe(lambda change: changed.set())
        banner("tmux change → snapshot (control-mode triggers; safety poll 300 s)")
        appear: list[float] = []
        vanish: list[float] = []
        with monitor:
            monitor.refresh()
            monitor.start()
            time.sleep(1.0)  # control clients attached

            def wait_for(predicate: object, t0: float) -> float:
                deadline = t0 + TIMEOUT_S
                while not predicate():  # type: ignore[operator]
                    remaining = deadline - time.perf_counter()
                    if remaining <= 0:
                        return TIMEOUT_S * 1000
                    changed.wait(min(remaining, 0.05))
                    changed.clear()
                return (time.perf_counter() - t0) * 1000

            for i in range(args.rounds):
                server = rng.choice(servers)
                name = f"job{i}"

                def listed(name: str = name) -> bool:
                    return any(s.name == name for s in monitor.snapshot.sessions)

                changed.clear()
                t0 = time.perf_counter()
                server.cmd(
                    "new-session", "-d", "-s", name, "sleep", "3600", ";",
                    "set-option", "-t", f"={name}:", "@sessiontui-kind", "bg",
                )  # fmt: skip
                appear.append(wait_for(listed, t0))
                changed.clear()
                t0 = time.perf_counter()
                server.cmd("kill-session", "-t", f"={name}")
                vanish.append(wait_for(lambda listed=listed: not listed(), t0))
                time.sleep(rng.uniform(0.05, 0.15))
    print(f"{'':10}{'p50':>9}{'p95':>9}{'max':>9}   (ms, n={len(appear)})")
    for label, values in (("appears", appear), ("vanishes", vanish)):
        print(
            f"{label:10}{percentile(values, 50):9.1f}{percentile(values, 95):9.1f}"
            f"{max(values):9.1f}"
        )
    for label, values in (("new pane", appear), ("killed pane", vanish)):
        p95 = percentile(values, 95)
        print(
            f"target: {label} p95 <= {TARGET_MS:g} ms ... {verdict(p95 <= TARGET_MS)} ({p95:.1f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
