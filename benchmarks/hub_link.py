"""Benchmark: the client side of remote hosts (SPEC 2.7): Hub + HostLinks over pipes, no ssh.

Setup: 50 ``sleep`` processes stand in for agents; 3 "hosts", each a real ``sessiontui serve
--stdio`` child (its own temporary ``HOME`` and a registry of 50 entries, one per sleep, status
idle; ``--no-zellij --no-discover``) reached by a transport that runs it directly instead of
through ``ssh`` (the OpenSSH figures are ``benchmarks/remote.py``'s). A :class:`Hub` merges
them with a local :class:`Monitor` on an empty registry: 150 rows.

Figures:

- latency from a registry rewrite on a host (truncate-and-write, like Claude Code) to the new
  status in the Hub's published snapshot (a subscriber's callback): p50 / p95 / max over N
  writes spread over the hosts;
- the cost of one merge of the 150 rows (what every change on any host costs), ms;
- idle CPU over a window: this process (Hub, links, local monitor) and the 3 ``serve``
  children, in percent of one core;
- link restored: ``kill`` of a host's transport until its rows are live again, seconds.

Run: ``/work/venv/bin/python benchmarks/hub_link.py [--quick] [--writes N] [--seconds S]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psutil

from benchlib import (
    Cleanup,
    banner,
    isolated_env,
    percentile,
    registry_entry,
    verdict,
    wait_for,
    write_like_claude,
)
from sessiontui.model.monitor import Monitor
from sessiontui.model.types import SnapshotChange, Status
from sessiontui.remote.hosts import HostSpec
from sessiontui.remote.hub import Hub
from sessiontui.remote.link import HostLink

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

N_HOSTS = 3
N_SESSIONS = 50


@dataclass(frozen=True)
class DirectTransport:
    """Runs the host's ``serve --stdio`` as a plain child (this machine, its own HOME)."""

    registry: Path
    env: Mapping[str, str] | None

    def serve_argv(self, host: HostSpec) -> list[str]:
        """``python -m sessiontui --sessions-dir DIR --no-zellij --no-discover serve --stdio``."""
        del host
        return [
            sys.executable, "-m", "sessiontui", "--sessions-dir", str(self.registry),
            "--no-zellij", "--no-discover", "serve", "--stdio",
        ]  # fmt: skip

    def attach_argv(self, host: HostSpec, remote_argv: Sequence[str]) -> list[str]:
        """Not used here."""
        del host
        return list(remote_argv)


def cpu_s(proc: psutil.Process) -> float:
    """User + system CPU seconds of ``proc`` and its reaped children."""
    times = proc.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (~20 s)")
    parser.add_argument("--writes", type=int, default=None, help="status rewrites (60)")
    parser.add_argument("--seconds", type=float, default=None, help="idle window (30 s)")
    args = parser.parse_args()
    writes = args.writes or (12 if args.quick else 60)
    seconds = args.seconds or (8.0 if args.quick else 30.0)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}  cores: {os.cpu_count()}")
    with Cleanup() as cleanup:
        root = cleanup.tempdir()
        sleepers = cleanup.sleepers(N_SESSIONS)
        registries: list[Path] = []
        links: list[HostLink] = []
        for h in range(N_HOSTS):
            home = root / f"host{h}"
            registry = home / "claude" / "sessions"
            registry.mkdir(parents=True)
            for i, proc in enumerate(sleepers):
                data = registry_entry(proc.pid, name=f"h{h}-agent{i}", status="idle")
                write_like_claude(registry / f"{proc.pid}.json", data)
            registries.append(registry)
            transport = DirectTransport(registry, isolated_env(home))
            links.append(HostLink(HostSpec(name=f"host{h}", ssh="unused"), transport=transport))
        local = root / "local" / "sessions"
        local.mkdir(parents=True)
        hub = Hub(Monitor(sessions_dir=local), links)
        seen = threading.Condition()
        statuses: dict[str, Status] = {}

        def on_change(change: SnapshotChange) -> None:
            with seen:
                for key in change.added | change.changed:
                    session = change.snapshot.get(key)
                    if session is not None:
                        statuses[key] = session.status
                seen.notify_all()

        hub.subscribe(on_change)
        started = time.monotonic()
        hub.start()
        try:
            wait_for(lambda: len(hub.snapshot.sessions) == N_HOSTS * N_SESSIONS, 60.0, "150 rows")
            banner("start-up")
            rows = N_HOSTS * N_SESSIONS
            print(f"all {rows} rows in the hub after {time.monotonic() - started:.2f} s")
            for link in links:
                pid = link.transport_pid
                if pid is not None:
                    cleanup.track_pid(pid)

            banner("host registry write -> hub snapshot")
            latencies: list[float] = []
            for n in range(writes):
                h, proc = n % N_HOSTS, sleepers[n % N_SESSIONS]
                status = "busy" if (n // N_HOSTS) % 2 == 0 else "idle"
                key = next(s.key for s in links[h].sessions if s.pid == proc.pid)
                data = registry_entry(proc.pid, name=f"h{h}-agent{n % N_SESSIONS}", status=status)
                t0 = time.monotonic()
                write_like_claude(registries[h] / f"{proc.pid}.json", data)
                with seen:
                    ok = seen.wait_for(lambda: statuses.get(key) == Status(status), 10.0)  # noqa: B023
                if ok:
                    latencies.append((time.monotonic() - t0) * 1000.0)
                time.sleep(0.05)
            p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
            print(
                f"{len(latencies)}/{writes} writes seen: p50 {p50:.1f} ms  p95 {p95:.1f} ms  "
                f"max {max(latencies, default=float('nan')):.1f} ms"
            )

            banner("one merge of the hub's rows")
            rounds = 200
            t0 = time.perf_counter()
            for _ in range(rounds):
                hub._merge()  # what every change of any host costs (under the hub's lock)
            merge_ms = (time.perf_counter() - t0) * 1000.0 / rounds
            print(f"{len(hub.snapshot.sessions)} rows: {merge_ms:.3f} ms per merge")

            banner(f"idle CPU over {seconds:g} s")
            time.sleep(2.0)
            me = psutil.Process()
            serves = [psutil.Process(p) for link in links if (p := link.transport_pid)]
            before = (cpu_s(me), [cpu_s(p) for p in serves])
            t0 = time.monotonic()
            time.sleep(seconds)
            wall = time.monotonic() - t0
            after = (cpu_s(me), [cpu_s(p) for p in serves])
            ours = 100.0 * (after[0] - before[0]) / wall
            theirs = [100.0 * (a - b) / wall for a, b in zip(after[1], before[1], strict=True)]
            print(f"this process (hub, {N_HOSTS} links, local monitor): {ours:.2f} % of a core")
            print("each serve: " + ", ".join(f"{x:.2f} %" for x in theirs))
            print(f"target: client idle <= 1 % of a core: {verdict(ours <= 1.0)}")

            banner("link restored -> rows live again")
            link = links[0]
            link.kill_transport()
            wait_for(lambda: not link.connected, 10.0, "the drop")
            t0 = time.monotonic()
            wait_for(
                lambda: link.connected and all(s.health is None for s in link.sessions),
                30.0,
                "live rows",
            )
            restored = time.monotonic() - t0
            print(f"rows live again {restored:.2f} s after the drop was noticed (backoff 1 s)")
            print(f"target: <= 5 s: {verdict(restored <= 5.0)}")
            print(f"target: p95 <= 150 ms (over pipes): {verdict(p95 <= 150.0)}")
        finally:
            hub.close()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
