"""Benchmark: idle CPU of ``sessiontui serve --stdio`` with 50 live sessions (SPEC 2.7).

Setup: private tmux servers "agents" (``-f /dev/null``; ``--servers N``, default 1) with 10
sessions x 5 windows in all, each pane running ``sleep 3600``; one registry entry per pane
process (status idle, never rewritten). The real ``sessiontui serve --stdio --sessions-dir DIR
-S <agents-1> ... --no-discover`` runs as a child in a temporary ``HOME`` (as ssh would start it
on a remote host, Codex scan and Zellij detection left as configured by default), its stdin a
pipe kept open, its stdout read by a thread that counts the messages. Once its stream has sent
all 50 sessions placed in their panes, and after a settling pause, CPU time is measured over
the window (60 s; ``--quick`` 10 s): user + system time of the process, its reaped children
(short-lived ``tmux`` clients) and its live children (one ``tmux -C`` control client per
server), split main thread / other threads / children; and the agents' tmux servers.

Then stdin is closed and the time to exit is printed.

Run: ``/work/venv/bin/python benchmarks/serve_idle.py [--quick] [--seconds S] [--servers N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING

import psutil

from benchlib import Cleanup, banner, isolated_env, thread_split, verdict, wait_for
from idle_cpu import N_SESSIONS, cpu_s, pct, start_agents, write_registry

if TYPE_CHECKING:
    from typing import IO

TARGET_PERCENT = 0.5
SETTLE_S = 5.0
QUICK_SETTLE_S = 2.0


class Stream:
    """Reads ``serve``'s stdout on a thread: counts messages, keeps the latest rows by key."""

    def __init__(self, stdout: IO[bytes]) -> None:
        self.counts: Counter[str] = Counter()
        self.bytes = 0
        self.rows: dict[str, dict[str, object]] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._read, args=(stdout,), daemon=True).start()

    def _read(self, stdout: IO[bytes]) -> None:
        for line in stdout:
            message = json.loads(line)
            with self._lock:
                self.bytes += len(line)
                self.counts[message["t"]] += 1
                for row in message.get("sessions", []) + message.get("upsert", []):
                    self.rows[row["key"]] = row
                for key in message.get("remove", []):
                    self.rows.pop(key, None)

    def placed(self) -> int:
        """Rows that are alive and placed in a tmux pane."""
        with self._lock:
            return sum(1 for r in self.rows.values() if r["alive"] and r["mux"])

    def totals(self) -> tuple[Counter[str], int]:
        """Messages sent so far by type, and bytes."""
        with self._lock:
            return Counter(self.counts), self.bytes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="10 s window (smoke test)")
    parser.add_argument("--seconds", type=float, default=None, help="window length (default 60)")
    parser.add_argument("--servers", type=int, default=1, help="tmux servers for the agents")
    args = parser.parse_args(argv)
    seconds = args.seconds or (10.0 if args.quick else 60.0)
    settle_s = QUICK_SETTLE_S if args.quick else SETTLE_S
    load0 = os.getloadavg()
    banner(f"serve --stdio idle CPU, {N_SESSIONS} sessions, {args.servers} tmux server(s)")
    print(f"load average at start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")

    with Cleanup() as cleanup:
        work = cleanup.tempdir("stui-bench-serve-")
        registry = work / "sessions"
        registry.mkdir(mode=0o700)
        servers = [cleanup.tmux(prefix=f"stui-bench-serve{i}") for i in range(args.servers)]
        pids = start_agents(servers)
        write_registry(registry, pids)
        env = isolated_env(work)
        # By path: the child's TMUX_TMPDIR is its own.
        paths = [s.cmd("display-message", "-p", "#{socket_path}").strip() for s in servers]
        sockets = [arg for path in paths for arg in ("-S", path)]
        argv_ = [sys.executable, "-m", "sessiontui", "serve", "--stdio", "--no-discover"]
        proc = subprocess.Popen(
            [*argv_, "--sessions-dir", str(registry), *sockets],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            assert proc.stdout is not None
            assert proc.stdin is not None
            stream = Stream(proc.stdout)
            started = time.monotonic()
            wait_for(lambda: stream.placed() == N_SESSIONS, 60, "50 placed rows on the stream")
            print(f"all {N_SESSIONS} rows placed after {time.monotonic() - started:.2f} s")
            time.sleep(settle_s)
            me = psutil.Process(proc.pid)
            tmux_servers = [psutil.Process(server.pid) for server in servers]
            cpu0, split0 = cpu_s(me), thread_split(me)
            srv0 = sum(cpu_s(p) for p in tmux_servers)
            counts0, bytes0 = stream.totals()
            t0 = time.monotonic()
            time.sleep(seconds)
            wall = time.monotonic() - t0
            cpu1, split1 = cpu_s(me), thread_split(me)
            srv1 = sum(cpu_s(p) for p in tmux_servers)
            counts1, bytes1 = stream.totals()
            children = len(me.children(recursive=True))
            rss_mb = me.memory_info().rss / 2**20

            closed = time.monotonic()
            proc.stdin.close()
            code = proc.wait(timeout=30)
            exit_s = time.monotonic() - closed
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    total = pct(cpu1 - cpu0, wall)
    main_t, other_t, reaped = (pct(b - a, wall) for a, b in zip(split0, split1, strict=True))
    live_children = total - main_t - other_t - reaped
    sent = counts1 - counts0
    load1 = os.getloadavg()
    print(
        f"window: {wall:.1f} s; load average at end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}"
    )
    print(
        f"serve: {total:.3f} % of a core (main thread {main_t:.3f} %, other threads "
        f"{other_t:.3f} %, reaped tmux clients {reaped:.3f} %, live children "
        f"{live_children:.3f} % ({children} running)); RSS {rss_mb:.0f} MB"
    )
    print(f"agents' tmux servers: {pct(srv1 - srv0, wall):.3f} %")
    print(
        f"sent in the window: {dict(sorted(sent.items()))}, {bytes1 - bytes0} bytes "
        f"({(bytes1 - bytes0) / wall:.0f} B/s)"
    )
    print(f"stdin closed -> exit {code} after {exit_s:.2f} s")
    print(f"target: <= {TARGET_PERCENT} % of a core: {verdict(total <= TARGET_PERCENT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
