"""Benchmark: remote hosts over real OpenSSH on loopback (issue 10, SPEC 2.7).

Setup: 3 "remote hosts" ``h1`` ``h2`` ``h3``, each a real Debian ``sshd`` on its own 127.0.0.1
port with throwaway keys and its own environment (registry, HOME, tmux socket directory), built
by ``tests/fakes/sshd.py``; each host has 50 live ``sleep`` processes with a registry entry each
(status idle). The remote side is the real ``sessiontui serve --stdio`` that sshd starts for
``ssh -F CONFIG -T hN -- sessiontui serve --stdio`` (the link's own command line).

1. Status write → local screen: a headless app (160x110: every row above the detail pane)
   over the real ``Hub`` of an empty local ``Monitor`` and one ``HostLink`` to ``h1`` (the
   CLI's path, ``SshTransport``). Each write
   rewrites one of h1's registry files as Claude Code does (open "w", compact JSON); the clock
   stops at the first frame Textual hands to the terminal driver whose output, applied to a
   virtual terminal, shows the row with the new status (``status_latency.py``'s probe). The time
   the table cell first holds it is printed as ``cell``.
2. Link restored → rows live again: in the same app, the ssh process is killed and h1's sshd
   stopped; once every h1 row is marked unreachable, the outage lasts 1, 3, 6 and 20 s in turn
   (``--quick``: 2 s), then sshd starts again on the same port. The clock starts when sshd
   accepts connections again and stops when every h1 row in the app's snapshot is live again
   (health cleared: the local snapshot, not the screen). The link's reconnection schedule
   (1 s, 2 s, then every 3 s for the first 10 minutes of an outage) is the main term.
3. Idle CPU, 3 hosts x 50 sessions: the real ``sessiontui`` TUI (``[[hosts]]`` h1..h3 in its
   config, no local sessions, no tmux to watch) in a 140x220 pane of a private tmux server; after
   every host's 50 rows are on its screen and a settling pause, CPU over S seconds (60;
   ``--quick`` 10) of the TUI process with its children (the 3 ``ssh`` clients), and of each
   host's ``serve`` process; the per-connection ``sshd`` processes are printed apart.

``--codex-daemons N`` also runs N stand-in Codex daemons on the machine (every host's Codex
scan meets them, as on a machine where Codex runs); ``--idle-only`` runs part 3 alone.

Run: ``/work/venv/bin/python benchmarks/remote.py [--quick] [--writes N] [--seconds S]
[--codex-daemons N] [--idle-only]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.fakes
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tests.fakes.sshd import RemoteHost, SshWorld, missing_tools

from benchlib import (
    Cleanup,
    banner,
    isolated_env,
    percentile,
    verdict,
    write_like_claude,
)
from idle_cpu import cpu_s
from sessiontui.model.monitor import Monitor
from sessiontui.model.processes import read_proc_start
from sessiontui.remote.hosts import HostSpec
from sessiontui.remote.hub import Hub
from sessiontui.remote.link import UNREACHABLE, HostLink, SshTransport
from sessiontui.ui.app import make_app
from status_latency import CYCLE, Agent, Armed, Probe, VirtualTerminal, label

if TYPE_CHECKING:
    from sessiontui.ui.app import SessionTUI

HOSTS = ("h1", "h2", "h3")
N_SESSIONS = 50
TERMINAL = (140, 220)
TARGET_P95_MS = 150.0
TARGET_LOCAL_PERCENT = 1.0
TARGET_SERVE_PERCENT = 0.5
TARGET_RESTORE_S = 5.0
TIMEOUT_S = 5.0
#: The headless app: tall enough for all 50 rows of h1 above the detail pane.
SIZE = (160, 110)
#: Rows of h1 the app must show before the writes start.
SHOWN_ROWS = 50


def start_agents(cleanup: Cleanup, host: RemoteHost) -> list[Agent]:
    """``N_SESSIONS`` live ``sleep`` processes with idle registry entries in ``host``'s registry."""
    agents = []
    for i, proc in enumerate(cleanup.sleepers(N_SESSIONS)):
        start = read_proc_start(proc.pid)
        if start is None:
            raise RuntimeError(f"cannot read /proc/{proc.pid}/stat")
        agent = Agent(
            pid=proc.pid,
            path=host.registry / f"{proc.pid}.json",
            name=f"{host.alias}-s{i:02d}",
            proc_start=start,
            session_id=f"00000000-0000-4000-8000-{i:012d}",
            started_at_ms=int(time.time() * 1000) - 60_000,
        )
        write_like_claude(agent.path, agent.entry())
        agents.append(agent)
    return agents


def start_codex_daemons(cleanup: Cleanup, root: Path, count: int) -> None:
    """``count`` stand-ins for Codex ``app-server`` daemons, seen by every host's scan.

    Each is a copy of bash named ``codex`` under ``<CODEX_HOME>/packages/app-server-daemon``
    with the daemon's argv, holding 2 rollouts and 36 other files open (a real daemon held
    ~40 when measured): what each host's (and the TUI's) Codex scan meets on a machine where
    Codex runs. The benchmark's hosts share this machine's processes.
    """
    for i in range(count):
        home = root / f"codex-{i}"
        exe = home / "packages" / "app-server-daemon" / "bin" / "codex"
        exe.parent.mkdir(parents=True)
        shutil.copy("/bin/bash", exe)
        day = home / "sessions" / "2026" / "12" / "01"
        day.mkdir(parents=True)
        paths = [
            day / f"rollout-2026-12-01T10-00-0{n}-01a23276-0000-7000-8000-00000000000{n}.jsonl"
            for n in (1, 2)
        ]
        for path in paths:
            path.write_text("")
        fds = [os.open(path, os.O_RDONLY) for path in paths]
        fds += [os.open(os.devnull, os.O_RDONLY) for _ in range(36)]
        try:
            proc = subprocess.Popen(
                [
                    str(exe),
                    "-c",
                    "read -r -t 3600 line",
                    "app-server",
                    "--listen",
                    "unix://",
                    "--managed-daemon",
                ],
                stdin=subprocess.PIPE,  # held open: bash's own read keeps it one process
                env={**os.environ, "CODEX_HOME": str(home)},
                pass_fds=fds,
            )
        finally:
            for fd in fds:
                os.close(fd)
        cleanup.track_pid(proc.pid)


def h1_rows(app: SessionTUI) -> list[object]:
    """The app's rows of host h1 (as sessions)."""
    return [s for s in app.snapshot.sessions if s.host == "h1"]


async def wait(predicate: object, timeout_s: float, what: str) -> float:
    """Poll ``predicate()`` every 5 ms in the event loop; return the time it held (perf_counter).

    Raises:
        TimeoutError: Not within ``timeout_s`` seconds.
    """
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")
        await asyncio.sleep(0.005)
    return time.perf_counter()


async def latency_and_restore(
    world: SshWorld, host: RemoteHost, agents: list[Agent], writes: int, outages: list[float]
) -> tuple[list[float], list[float], int, list[tuple[float, float]]]:
    """Parts 1 and 2; returns (screen ms, cell ms, timeouts, [(outage s, restore s)])."""
    rng = random.Random(7)
    empty = Path(os.environ["CLAUDE_CONFIG_DIR"]) / "sessions"
    empty.mkdir(parents=True, exist_ok=True)
    transport = SshTransport(ssh=("ssh", "-F", str(world.ssh_config)))
    link = HostLink(HostSpec(name=host.alias, ssh=host.alias), transport=transport)
    app = make_app(Hub(Monitor(sessions_dir=empty), [link]))
    probe = Probe(app)
    screen_ms: list[float] = []
    cell_ms: list[float] = []
    timeouts = 0
    restores: list[tuple[float, float]] = []
    probe.terminal = VirtualTerminal(*SIZE)
    async with app.run_test(size=SIZE):
        # Every row in the snapshot, and on the screen (above the detail pane).
        await wait(
            lambda: (
                len(h1_rows(app)) == len(agents)
                and all(getattr(s, "health", None) is None for s in h1_rows(app))
                and sum(probe.terminal.shows(a.name, label("idle")) for a in agents)
                >= min(len(agents), SHOWN_ROWS)
            ),
            60.0,
            "every h1 row listed and the screen full of them",
        )
        await asyncio.sleep(0.5)
        for i in range(writes + 5):
            agent = rng.choice(agents)
            agent.status = CYCLE[agent.turn % len(CYCLE)]
            agent.turn += 1
            armed = Armed(
                key=f"{host.alias}/{agent.key}", name=agent.name, label=label(agent.status), t0=0.0
            )
            probe.armed = armed
            armed.t0 = time.perf_counter()
            write_like_claude(agent.path, agent.entry())
            try:
                await asyncio.wait_for(armed.event.wait(), TIMEOUT_S)
            except TimeoutError:
                timeouts += 1
            probe.armed = None
            if i >= 5:
                screen = armed.t_screen if armed.t_screen is not None else armed.t0 + TIMEOUT_S
                screen_ms.append((screen - armed.t0) * 1000)
                if armed.t_cell is not None:
                    cell_ms.append((armed.t_cell - armed.t0) * 1000)
            await asyncio.sleep(rng.uniform(0.02, 0.06))
        for outage in outages:
            for proc in psutil.Process().children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if proc.name() == "ssh":
                        proc.kill()
            host.stop()
            await wait(
                lambda: all(getattr(s, "health", None) == UNREACHABLE for s in h1_rows(app)),
                30.0,
                "h1 rows unreachable",
            )
            await asyncio.sleep(outage)
            host.start()
            t0 = time.perf_counter()
            t1 = await wait(
                lambda: (
                    len(h1_rows(app)) == N_SESSIONS
                    and all(getattr(s, "health", None) is None for s in h1_rows(app))
                ),
                60.0,
                "h1 rows live again",
            )
            restores.append((outage, t1 - t0))
    # Part 3 measures idle sessions: the writes above left a third busy, a third waiting.
    for agent in agents:
        agent.status = "idle"
        write_like_claude(agent.path, agent.entry())
    return screen_ms, cell_ms, timeouts, restores


def serve_processes(host: RemoteHost) -> list[psutil.Process]:
    """The host's ``sessiontui serve`` processes (started by its sshd for a link)."""
    found = []
    for proc in host.sessions():
        with contextlib.suppress(psutil.Error):
            if "serve" in proc.cmdline():
                found.append(proc)
    return found


def own_cpu_s(proc: psutil.Process) -> float:
    """User + system seconds of ``proc`` alone (not its children; 0 once it is gone)."""
    with contextlib.suppress(psutil.Error):
        t = proc.cpu_times()
        return t.user + t.system
    return 0.0


def sshd_sessions(host: RemoteHost) -> list[psutil.Process]:
    """The host's per-connection ``sshd`` processes (privileged monitor and session child)."""
    if host.proc is None:
        return []
    with contextlib.suppress(psutil.Error):
        return [
            p for p in psutil.Process(host.proc.pid).children(recursive=True) if p.name() == "sshd"
        ]
    return []


def idle_cpu(
    cleanup: Cleanup, world: SshWorld, hosts: list[RemoteHost], seconds: float, settle_s: float
) -> None:
    """Part 3: the real TUI over 3 hosts in a tmux pane; CPU of it and of each serve."""
    root = cleanup.tempdir("stui-bench-remote-ui-")
    env = isolated_env(root)
    config = root / "config.toml"
    lines = [f'ssh_command = ["ssh", "-F", "{world.ssh_config}"]']
    for host in hosts:
        lines += ["[[hosts]]", f'name = "{host.alias}"', f'ssh = "{host.alias}"']
    config.write_text("\n".join(lines) + "\n")
    (root / "claude" / "sessions").mkdir(parents=True)
    ui = cleanup.tmux(prefix="stui-bench-remote-ui", env=env)
    command = (
        f"exec {sys.executable} -m sessiontui --config {config} --no-zellij --no-discover "
        f"-L stui-bench-none-{os.getpid()}"
    )
    ui.cmd("new-session", "-d", "-x", str(TERMINAL[0]), "-y", str(TERMINAL[1]), command)
    ui.remember_socket()
    tui = psutil.Process(ui.pane_pids()[0])
    cleanup.track_pid(tui.pid)

    deadline = time.monotonic() + 90
    while True:
        text = ui.cmd("capture-pane", "-p", check=False)
        # The header counts each host's rows ("h1 50"): the screen may not hold them all.
        counts = {m[1]: int(m[2]) for m in re.finditer(r"\b(h\d) (\d+)\b", text)}
        shown = [h.alias for h in hosts if counts.get(h.alias, 0) >= N_SESSIONS]
        if len(shown) == len(hosts) and all(serve_processes(h) for h in hosts):
            break
        if time.monotonic() > deadline:
            raise TimeoutError("the TUI never showed every host's 50 rows:\n" + text)
        time.sleep(0.2)
    time.sleep(settle_s)
    serves = {h.alias: serve_processes(h)[0] for h in hosts}
    sshds = {h.alias: sshd_sessions(h) for h in hosts}
    clients = [p for p in tui.children() if p.name() == "ssh"]
    print(f"TUI PID {tui.pid}, ssh clients {[p.pid for p in clients]}", flush=True)
    t0 = time.monotonic()
    local0 = cpu_s(tui)
    own0 = own_cpu_s(tui)
    clients0 = sum(own_cpu_s(p) for p in clients)
    serve0 = {alias: cpu_s(p) for alias, p in serves.items()}
    sshd0 = {alias: sum(own_cpu_s(p) for p in ps) for alias, ps in sshds.items()}
    time.sleep(seconds)
    elapsed = time.monotonic() - t0
    local = (cpu_s(tui) - local0) / elapsed * 100
    own = (own_cpu_s(tui) - own0) / elapsed * 100
    ssh = (sum(own_cpu_s(p) for p in clients) - clients0) / elapsed * 100
    print(
        f"local sessiontui TUI (+ its 3 ssh clients): {local:.2f} % of one core over "
        f"{elapsed:.0f} s  target <= {TARGET_LOCAL_PERCENT:g} %  {verdict(local <= 1.0)}\n"
        f"  of which the TUI process {own:.2f} %, the 3 ssh clients {ssh:.2f} %"
    )
    for alias, proc in serves.items():
        serve = (cpu_s(proc) - serve0[alias]) / elapsed * 100
        sshd = (sum(own_cpu_s(p) for p in sshds[alias]) - sshd0[alias]) / elapsed * 100
        print(
            f"  {alias}: serve {serve:.2f} % (target <= {TARGET_SERVE_PERCENT:g} % "
            f"{verdict(serve <= TARGET_SERVE_PERCENT)}), its sshd connection {sshd:.2f} %"
        )


def latency_and_restore_report(
    world: SshWorld, host: RemoteHost, agents: list[Agent], writes: int, outages: list[float]
) -> None:
    """Run parts 1 and 2 and print their figures."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    banner("remote status write → local screen (loopback ssh)")
    print(
        f"{N_SESSIONS} sessions on h1 behind a real sshd; headless app {SIZE[0]}x{SIZE[1]}"
        f" over Hub(empty Monitor, HostLink h1); load average at start: {load}"
    )
    screen_ms, cell_ms, timeouts, restores = asyncio.run(
        latency_and_restore(world, host, agents, writes, outages)
    )
    p95 = percentile(screen_ms, 95)
    print(
        f"screen: p50 {percentile(screen_ms, 50):.0f} ms, p95 {p95:.0f} ms, max "
        f"{max(screen_ms):.0f} ms over {len(screen_ms)} writes ({timeouts} timeouts of "
        f"{TIMEOUT_S:g} s)  target p95 <= {TARGET_P95_MS:g} ms  "
        f"{verdict(p95 <= TARGET_P95_MS and not timeouts)}"
    )
    if cell_ms:
        print(f"cell:   p50 {percentile(cell_ms, 50):.0f} ms, p95 {percentile(cell_ms, 95):.0f} ms")
    banner("link restored → rows live again (h1, 50 rows, local snapshot)")
    for outage, restore in restores:
        print(
            f"outage {outage:g} s: live again {restore:.2f} s after sshd accepts  "
            f"target <= {TARGET_RESTORE_S:g} s  {verdict(restore <= TARGET_RESTORE_S)}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke test (30 writes, 10 s idle)")
    parser.add_argument("--writes", type=int, default=None, help="measured writes (default 200)")
    parser.add_argument("--seconds", type=float, default=None, help="idle window (default 60)")
    parser.add_argument(
        "--codex-daemons",
        type=int,
        default=0,
        help="also run N stand-in Codex daemons on the machine (default 0)",
    )
    parser.add_argument(
        "--idle-only", action="store_true", help="only part 3 (idle CPU), e.g. to profile it"
    )
    args = parser.parse_args(argv)
    reason = missing_tools()
    if reason is not None:
        print(f"cannot run: {reason}")
        return 1
    writes = args.writes or (30 if args.quick else 200)
    seconds = args.seconds or (10.0 if args.quick else 60.0)
    outages = [2.0] if args.quick else [1.0, 3.0, 6.0, 20.0]
    with Cleanup() as cleanup:
        root = cleanup.tempdir("stui-bench-remote-")
        os.environ.update(isolated_env(root))  # this process's own Monitor: nothing of ours
        world = SshWorld(root / "ssh")
        try:
            hosts = [world.add_host(alias) for alias in HOSTS]
            agents = {host.alias: start_agents(cleanup, host) for host in hosts}
            start_codex_daemons(cleanup, root, args.codex_daemons)
            codex = sum(1 for p in psutil.process_iter(["name"]) if p.info["name"] == "codex")
            print(f"codex processes on the machine: {codex} ({args.codex_daemons} of ours)")
            if not args.idle_only:
                latency_and_restore_report(world, hosts[0], agents["h1"], writes, outages)
            banner(f"idle CPU, {len(hosts)} hosts x {N_SESSIONS} sessions, real TUI in tmux")
            print("load average before: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
            idle_cpu(cleanup, world, hosts, seconds, 1.0 if args.quick else 5.0)
            print("load average after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        finally:
            world.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
