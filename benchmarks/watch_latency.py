"""Benchmark: registry write → the ``watch --json`` line on stdout, with 50 live sessions.

Setup: 50 live ``sleep`` processes, one Claude-Code-shaped ``<pid>.json`` each, in the default
registry of a temporary ``HOME`` / ``CLAUDE_CONFIG_DIR``; an empty private tmux socket directory
(so no server of the machine is watched); everything else as a user runs it:
``python -m sessiontui watch --json`` (this checkout's code) with default timing, Codex scan on.

Measured: a random session's file is rewritten the way Claude Code writes it (truncate and write
compact JSON, not atomic), its status cycling busy → waiting → idle; the clock starts just before
the write and stops when the ``changed`` line for that session with the new status has arrived
on the pipe (a reader thread blocked in ``os.read`` stamps each line as it comes). Writes are
20-60 ms apart. p50 / p95 / max in ms.

Run: ``python benchmarks/watch_latency.py [--quick] [--writes N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchlib import (
    Cleanup,
    banner,
    isolated_env,
    percentile,
    registry_entry,
    verdict,
    write_like_claude,
)
from sessiontui.model.processes import read_proc_start

if TYPE_CHECKING:
    from pathlib import Path

TARGET_P95_MS = 30.0
N_SESSIONS = 50
CYCLE = ("busy", "waiting", "idle")
TIMEOUT_S = 5.0


@dataclass
class Agent:
    """A stand-in agent: its registry file, its entry, its turn and its ``watch`` key."""

    path: Path
    entry: dict[str, object]
    pid: int
    turn: int = 0
    key: str = ""


class Lines:
    """Reads a pipe in a thread; keeps ``(arrival time, parsed JSON)`` of every line."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.cond = threading.Condition()
        self.events: list[tuple[float, dict[str, object]]] = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        pending = b""
        while chunk := os.read(self.fd, 65536):
            now = time.perf_counter()
            pending += chunk
            *complete, pending = pending.split(b"\n")
            with self.cond:
                self.events += [(now, json.loads(line)) for line in complete if line]
                self.cond.notify_all()

    def wait_for(self, start: int, key: str, status: str, timeout_s: float) -> float | None:
        """Arrival time of the first event from index ``start`` on about ``key`` with ``status``."""
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while True:
                for at, event in self.events[start:]:
                    session = event.get("session")
                    if (
                        event.get("key") == key
                        and isinstance(session, dict)
                        and session.get("status") == status
                    ):
                        return at
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="30 writes (smoke test)")
    parser.add_argument("--writes", type=int, default=None, help="measured writes (default 200)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    writes = args.writes or (30 if args.quick else 200)
    warmup = 5
    rng = random.Random(args.seed)

    with Cleanup() as cleanup:
        root = cleanup.tempdir("stui-bench-watch-")
        registry = root / "claude" / "sessions"
        registry.mkdir(parents=True, mode=0o700)
        env = isolated_env(root)
        agents: list[Agent] = []
        for i, proc in enumerate(cleanup.sleepers(N_SESSIONS)):
            start = read_proc_start(proc.pid)
            entry = registry_entry(proc.pid, name=f"agent-{i:02d}", status="idle", proc_start=start)
            path = registry / f"{proc.pid}.json"
            write_like_claude(path, entry)
            agents.append(Agent(path=path, entry=entry, pid=proc.pid))

        banner("registry write → watch --json line")
        print(
            f"{N_SESSIONS} live sessions, temporary registry, no tmux server, default timing; "
            f"{writes} measured writes (+{warmup} warm-up), 20-60 ms apart; load average at "
            "start: " + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        read, write = os.pipe()
        watch = subprocess.Popen(
            [sys.executable, "-m", "sessiontui", "watch", "--json"],
            stdout=write,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        cleanup.track_pid(watch.pid)
        os.close(write)
        lines = Lines(read)
        deadline = time.monotonic() + 30
        while True:
            with lines.cond:
                added = {
                    session["pid"]: str(e["key"])
                    for _, e in lines.events
                    if e.get("event") == "added" and isinstance(session := e["session"], dict)
                }
            if len(added) >= N_SESSIONS:
                break
            if time.monotonic() > deadline:
                print("watch never listed every session", file=sys.stderr)
                return 1
            time.sleep(0.05)
        for agent in agents:
            agent.key = added[agent.pid]
        time.sleep(1.0)

        latencies: list[float] = []
        timeouts = 0
        for i in range(warmup + writes):
            agent = rng.choice(agents)
            status = CYCLE[agent.turn % len(CYCLE)]
            agent.turn += 1
            entry = dict(agent.entry)
            entry["status"] = status
            if status == "waiting":
                entry["waitingFor"] = "permission prompt"
            else:
                entry.pop("waitingFor", None)
            with lines.cond:
                mark = len(lines.events)
            t0 = time.perf_counter()
            write_like_claude(agent.path, entry)
            arrived = lines.wait_for(mark, agent.key, status, TIMEOUT_S)
            if i >= warmup:
                if arrived is None:
                    timeouts += 1
                    latencies.append(TIMEOUT_S * 1000)
                else:
                    latencies.append((arrived - t0) * 1000)
            time.sleep(rng.uniform(0.02, 0.06))
        watch.terminate()
        code = watch.wait(timeout=10)

    p95 = percentile(latencies, 95)
    print(f"\n{'':8}{'p50':>9}{'p95':>9}{'max':>9}   (ms, n={len(latencies)})")
    print(
        f"{'line':8}{percentile(latencies, 50):9.1f}{p95:9.1f}{max(latencies):9.1f}"
        f"   (min {min(latencies):.1f})"
    )
    print(f"timeouts (> {TIMEOUT_S:g} s, counted as {TIMEOUT_S:g} s): {timeouts}")
    print(f"watch exit code after SIGTERM: {code}")
    print(
        f"target: write → line p95 <= {TARGET_P95_MS:g} ms ... "
        f"{verdict(p95 <= TARGET_P95_MS)} ({p95:.1f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
