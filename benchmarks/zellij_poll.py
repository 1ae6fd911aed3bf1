"""Print what one Zellij poll costs: discovery, list_panes (cold and warm), list-sessions.

Starts N headless sessions of the real Zellij (``--sessions N``, default 10) in an isolated
socket/cache/config directory, then times ``ZellijServer.discover``, ``list_panes`` (first
call, then calls 1.5 s apart, when only changed sessions are asked again) and the
``list-sessions`` safety poll, with the CPU of the ``zellij`` children. Prints only; cleans up
its sessions, servers and directory.

    python benchmarks/zellij_poll.py [--sessions N]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sessiontui.mux.zellij import ZellijServer, find_zellij


def children_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=10)
    args = parser.parse_args()
    zellij = find_zellij()
    if zellij is None:
        print("zellij is not installed: nothing to measure")
        return
    print(f"load average: {os.getloadavg()}")
    root = Path(tempfile.mkdtemp(prefix="zb", dir="/tmp"))
    for sub in ("s", "c", "h", "cfg/zellij", "t"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "cfg/zellij/config.kdl").write_text(
        'show_startup_tips false\nshow_release_notes false\ndefault_shell "/bin/sh"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZELLIJ", "XDG_"))}
    env.update(
        HOME=str(root / "h"),
        ZELLIJ_SOCKET_DIR=str(root / "s"),
        ZELLIJ_CONFIG_DIR=str(root / "cfg/zellij"),
        XDG_CACHE_HOME=str(root / "c"),
        TMPDIR=str(root / "t"),
        SHELL="/bin/sh",
    )
    server = ZellijServer(binary=zellij, environ=env)
    try:
        started = time.monotonic()
        for i in range(args.sessions):
            subprocess.run([zellij, "attach", "-b", f"s{i}"], env=env, check=True)
        info = server.cache_dir
        while not all(
            (info / f"s{i}" / "session-metadata.kdl").exists() for i in range(args.sessions)
        ):
            time.sleep(0.05)
        print(f"{args.sessions} sessions up (metadata written): {time.monotonic() - started:.2f} s")
        t = time.monotonic()
        live = server.discover().live
        print(f"discover: {(time.monotonic() - t) * 1000:.1f} ms ({len(live)} live)")
        for label in ("cold", "warm", "warm", "warm"):
            cpu, t = children_cpu_ms(), time.monotonic()
            panes = server.list_panes()
            wall = (time.monotonic() - t) * 1000
            print(
                f"list_panes {label}: {wall:.1f} ms, zellij children CPU "
                f"{children_cpu_ms() - cpu:.1f} ms ({len(panes)} panes)"
            )
            time.sleep(1.5)
        t = time.monotonic()
        server.list_sessions(max_age_s=0)
        print(f"list-sessions safety poll: {(time.monotonic() - t) * 1000:.1f} ms")
    finally:
        subprocess.run([zellij, "kill-all-sessions", "--yes"], env=env, capture_output=True)
        time.sleep(0.5)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
