"""Benchmark: what a link costs while its host is down (issue 10, the reconnection schedule).

A real ``HostLink`` with the real ``ssh`` client points at a loopback port where nothing
listens (a host that is down: every attempt is refused at once, and no sshd logs anything),
for S seconds (default 60; ``--quick`` 15). A wrapper counts the ``ssh`` runs. Printed: the
attempts made, the pauses between them, and the CPU of this process and its reaped children
(the ``ssh`` runs) per attempt and as a share of one core: the price of retrying every 3 s
during the first 10 minutes of an outage (the schedule then doubles its pause up to 30 s).

Run: ``/work/venv/bin/python benchmarks/reconnect_cost.py [--quick] [--seconds S]``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sessiontui.remote.hosts import HostSpec
from sessiontui.remote.link import FAST_PHASE_S, RETRY_FAST_S, HostLink, SshTransport


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def cpu_s() -> float:
    """User + system seconds of this process and its reaped children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="15 s instead of 60 s")
    parser.add_argument("--seconds", type=float, default=None, help="window (default 60)")
    args = parser.parse_args(argv)
    if shutil.which("ssh") is None:
        print("cannot run: no ssh client")
        return 1
    seconds = args.seconds or (15.0 if args.quick else 60.0)
    root = Path(tempfile.mkdtemp(prefix="stui-bench-reconnect-"))
    log = root / "attempts"
    wrapper = root / "ssh"
    wrapper.write_text(f'#!/bin/sh\ndate +%s.%N >> {log}\nexec ssh "$@"\n')
    wrapper.chmod(0o755)
    transport = SshTransport(
        ssh=(str(wrapper),),
        options=(
            "-p",
            str(closed_port()),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            f"UserKnownHostsFile={os.devnull}",
        ),
    )
    link = HostLink(HostSpec(name="down", ssh="127.0.0.1"), transport=transport)
    print(
        f"link to a closed loopback port for {seconds:g} s; schedule: 1 s, 2 s, then every "
        f"{RETRY_FAST_S:g} s for {FAST_PHASE_S:g} s of outage; load average at start: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    t0, c0 = time.monotonic(), cpu_s()
    link.start()
    try:
        time.sleep(seconds)
    finally:
        link.close()
    elapsed, used = time.monotonic() - t0, cpu_s() - c0
    stamps = [float(x) for x in log.read_text().split()] if log.exists() else []
    pauses = [b - a for a, b in itertools.pairwise(stamps)]
    print(f"problem shown: {link.problem}")
    print(
        f"attempts: {len(stamps)} in {elapsed:.1f} s; pauses "
        + " ".join(f"{p:.1f}" for p in pauses[:6])
        + (" ..." if len(pauses) > 6 else "")
    )
    if stamps:
        print(
            f"CPU (this process + the ssh runs): {used * 1000:.0f} ms in all, "
            f"{used / len(stamps) * 1000:.1f} ms per attempt, {used / elapsed * 100:.2f} % of "
            "one core"
        )
    print("load average at the end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
