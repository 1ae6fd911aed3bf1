"""Benchmark: idle CPU of the real TUI watching 50 live sessions spread over 3 tmux servers.

Setup: private tmux servers "agents" (``-f /dev/null``; ``--servers N``, default 3) with 10
sessions x 5 windows in all, each pane running ``sleep 3600``; one registry entry per pane
process (status idle, never rewritten). The real ``sessiontui --sessions-dir DIR -L <agents-1>
-L <agents-2> ... --no-discover`` runs in a 140x220 pane (all 50 rows visible) of another
private tmux server "ui", i.e. in a real terminal. Once its screen shows the 50 sessions mapped to
their panes, and after a settling pause, CPU time is measured over the window (60 s; ``--quick``
10 s):

* the sessiontui process: user + system time of the process, of its reaped children (the
  short-lived ``tmux`` clients it runs) and of its live children (one ``tmux -C`` control
  client per server), psutil ``cpu_times``;
* the "agents" tmux servers (the tmux side of our polls) and the "ui" server (the terminal);
* the tmux commands sessiontui ran, counted by a tiny ``/bin/sh`` wrapper named ``tmux`` first
  on its PATH (its own cost, < 1 ms per call, is included in the figure; ``--no-count`` drops it).

Baseline: after the TUI quits, the same process-CPU measure over the same duration for a bare
libtmux poll, ``libtmux.Server(...).panes`` (a ``list-panes -a`` with every field, building
Pane objects) once per second, in the benchmark process itself.

Run: ``/work/venv/bin/python benchmarks/idle_cpu.py [--quick] [--seconds S]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

import libtmux
import psutil

from benchlib import (
    Cleanup,
    TmuxServer,
    banner,
    clean_env,
    registry_entry,
    thread_split,
    verdict,
    write_like_claude,
)
from sessiontui.model.processes import read_proc_start

N_SESSIONS = 50
TMUX_SESSIONS = 10
TERMINAL = (140, 220)
TARGET_PERCENT = 0.3
SETTLE_S = 5.0
QUICK_SETTLE_S = 1.0
QUICK_BASELINE_S = 2.0


def cpu_s(proc: psutil.Process) -> float:
    """User + system seconds of ``proc``, its reaped and its live children (``cpu_times``)."""
    t = proc.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            c = child.cpu_times()
            total += c.user + c.system
    return total


def tmux_calls(path: Path) -> list[str]:
    """The tmux commands the wrapper logged, one per call (empty when none)."""
    try:
        return path.read_text(errors="replace").splitlines()
    except OSError:
        return []


def start_agents(servers: list[TmuxServer]) -> list[int]:
    """Start ``TMUX_SESSIONS`` sessions with ``N_SESSIONS`` panes in all, round-robin."""
    per = N_SESSIONS // TMUX_SESSIONS
    commands: list[list[str]] = [[] for _ in servers]
    for s in range(TMUX_SESSIONS):
        args = commands[s % len(servers)]
        if args:
            args.append(";")
        args += ["new-session", "-d", "-s", f"agents-{s}", "-x", "120", "-y", "30", "sleep", "3600"]
        for _ in range(per - 1):
            args += [";", "new-window", "-d", "-t", f"agents-{s}:", "sleep", "3600"]
    pids: list[int] = []
    for server, args in zip(servers, commands, strict=True):
        server.cmd(*args)
        server.remember_socket()
        pids += server.pane_pids()
    if len(pids) != N_SESSIONS:
        raise RuntimeError(f"expected {N_SESSIONS} panes, got {len(pids)}")
    return pids


def write_registry(directory: Path, pids: list[int], age_s: float = 3600.0) -> None:
    """One static ``idle`` entry per pane process, started and last updated ``age_s`` ago.

    An idle fleet is usually older than a minute: under a minute, every row's AGE (and the
    detail panel's "Ns ago") changes every second, which is real work (see ``--age 0``).
    """
    then_ms = int((time.time() - age_s) * 1000)
    for i, pid in enumerate(pids):
        start = read_proc_start(pid)
        if start is None:
            raise RuntimeError(f"pane process {pid} is gone")
        entry = registry_entry(
            pid,
            name=f"idle-{i:02d}",
            status="idle",
            proc_start=start,
            cwd=f"/home/dev/src/p{i:02d}",
            started_at_ms=then_ms,
        )
        entry["updatedAt"] = entry["statusUpdatedAt"] = then_ms
        write_like_claude(directory / f"{pid}.json", entry)


def tmux_wrapper(directory: Path, count_file: Path) -> Path:
    """A ``tmux`` shell wrapper that appends a line to ``count_file`` and execs the real tmux."""
    real = shutil.which("tmux")
    if real is None:
        raise RuntimeError("tmux is not installed")
    wrapper = directory / "tmux"
    # "$1 $2 $3" is "-L <label> <command>" or "-S <path> <command>" for sessiontui's calls.
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$3" >> "{count_file}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    return directory


def sessiontui_argv() -> list[str]:
    """The venv's ``sessiontui`` entry point, else ``python -m sessiontui``."""
    exe = Path(sys.executable).with_name("sessiontui")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "sessiontui"]


def shows_all(screen: str) -> bool:
    """True when the TUI's screen shows 50 idle sessions placed in tmux panes."""
    return f"{N_SESSIONS} idle" in screen and ":agents-" in screen


def libtmux_baseline(
    label: str, seconds: float, server_pid: int, expected: int
) -> tuple[float, float, int]:
    """Poll ``Server.panes`` of one server (``expected`` panes) once a second for ``seconds``.

    Returns:
        (our CPU seconds incl. tmux clients, tmux server CPU seconds, polls made).
    """
    server = libtmux.Server(socket_name=label)
    me = psutil.Process()
    tmux_server = psutil.Process(server_pid)
    polls = 0
    srv0, cpu0 = cpu_s(tmux_server), cpu_s(me)
    start = time.monotonic()
    while True:
        due = start + polls
        now = time.monotonic()
        if due >= start + seconds:
            break
        if due > now:
            time.sleep(due - now)
        panes = server.panes
        if len(panes) != expected:
            raise RuntimeError(f"libtmux saw {len(panes)} panes, not {expected}")
        polls += 1
    remaining = start + seconds - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
    return cpu_s(me) - cpu0, cpu_s(tmux_server) - srv0, polls


def pct(cpu_seconds: float, wall_s: float) -> float:
    """Percent of one core."""
    return 100.0 * cpu_seconds / wall_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="10 s windows (smoke test)")
    parser.add_argument("--seconds", type=float, default=None, help="window length (default 60)")
    parser.add_argument("--no-count", action="store_true", help="no tmux wrapper, no command count")
    parser.add_argument("--servers", type=int, default=3, help="tmux servers for the agents")
    parser.add_argument(
        "--age",
        type=float,
        default=3600.0,
        help="seconds since the agents started and last changed status (default 3600; 0: "
        "just started, so every AGE cell changes every second for the first minute)",
    )
    args = parser.parse_args(argv)
    seconds = args.seconds or (10.0 if args.quick else 60.0)
    settle_s = QUICK_SETTLE_S if args.quick else SETTLE_S
    baseline_s = QUICK_BASELINE_S if args.quick else seconds

    with Cleanup() as cleanup:
        work = cleanup.tempdir("stui-bench-idle-")
        registry = work / "sessions"
        registry.mkdir(mode=0o700)
        count_file = work / "tmux-calls"
        servers = [cleanup.tmux(prefix=f"stui-bench-agents{i}") for i in range(args.servers)]
        pids = start_agents(servers)
        write_registry(registry, pids, args.age)

        path = os.environ.get("PATH", "")
        if not args.no_count:
            bindir = work / "bin"
            bindir.mkdir()
            path = f"{tmux_wrapper(bindir, count_file)}:{path}"
        ui_env = clean_env(PATH=path, HOME=os.environ.get("HOME", str(work)))
        ui = cleanup.tmux(prefix="stui-bench-ui", env=ui_env)
        width, height = TERMINAL
        ui.cmd(
            "start-server", ";",
            "set-option", "-g", "remain-on-exit", "on", ";",
            "new-session", "-d", "-s", "ui", "-x", str(width), "-y", str(height),
            *sessiontui_argv(), "--sessions-dir", str(registry), "--no-discover",
            *(arg for server in servers for arg in ("-L", server.label)),
        )  # fmt: skip
        ui.remember_socket()
        tui_pid = int(ui.cmd("display-message", "-p", "-t", "ui", "#{pane_pid}").strip())
        cleanup.track_pid(tui_pid)
        tui = psutil.Process(tui_pid)

        def screen() -> str:
            return ui.cmd("capture-pane", "-p", "-t", "ui")

        banner(f"idle CPU with 50 live sessions in 50 tmux panes of {len(servers)} servers")
        tui_name = " ".join(Path(a).name for a in sessiontui_argv())
        print(
            f"{N_SESSIONS} panes running 'sleep 3600' in {TMUX_SESSIONS} sessions of a private "
            f"tmux server; static idle registry entries ({args.age:.0f} s old); "
            f"TUI: {tui_name} in a {width}x{height} "
            "tmux pane; load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        try:
            startup_t0 = time.monotonic()
            with contextlib.suppress(TimeoutError):
                while not shows_all(screen()):
                    if time.monotonic() - startup_t0 > 30 or not tui.is_running():
                        raise TimeoutError
                    time.sleep(0.1)
            if not shows_all(screen()):
                print(
                    "the TUI never showed the 50 sessions; its screen:\n" + screen(),
                    file=sys.stderr,
                )
                return 1
            shown_s = time.monotonic() - startup_t0
            print(f"TUI shows all {N_SESSIONS} sessions with their panes after {shown_s:.1f} s")
            time.sleep(settle_s)

            agent_srvs = [psutil.Process(server.pid) for server in servers]
            ui_srv = psutil.Process(ui.pid)

            def agents_cpu() -> float:
                return sum(cpu_s(p) for p in agent_srvs)

            c0, a0, u0, n0 = cpu_s(tui), agents_cpu(), cpu_s(ui_srv), tmux_calls(count_file)
            split0 = thread_split(tui)
            w0 = time.monotonic()
            time.sleep(seconds)
            wall = time.monotonic() - w0
            c1, a1, u1, n1 = cpu_s(tui), agents_cpu(), cpu_s(ui_srv), tmux_calls(count_file)
            split1 = thread_split(tui)
            threads = tui.num_threads()
            rss_mb = tui.memory_info().rss / 1e6
            still_ok = shows_all(screen())
        finally:
            quit_t0 = time.monotonic()
            with contextlib.suppress(RuntimeError):
                ui.cmd("send-keys", "-t", "ui", "q", check=False)
            # Exited = gone or a zombie: tmux (remain-on-exit) reaps its pane's process late.
            with contextlib.suppress(psutil.Error):
                while tui.status() != psutil.STATUS_ZOMBIE and time.monotonic() - quit_t0 < 5:
                    time.sleep(0.02)
            quit_s = time.monotonic() - quit_t0

        tui_pct = pct(c1 - c0, wall)
        print(
            f"\nwindow: {wall:.1f} s (after {settle_s:g} s settling); screen still ok: {still_ok}"
        )
        print(
            f"sessiontui process + reaped children: {c1 - c0:.3f} s CPU = {tui_pct:.2f} % of a core"
        )
        main_t, other_t, kids_t = (b - a for a, b in zip(split0, split1, strict=True))
        print(
            f"  main thread (Textual event loop) {pct(main_t, wall):.2f} %, other threads "
            f"(monitor, watcher; {threads - 1} threads) {pct(other_t, wall):.2f} %, tmux clients "
            f"{pct(kids_t, wall):.2f} %; RSS {rss_mb:.0f} MB"
        )
        print(
            f"agents tmux servers (answer our polls): {a1 - a0:.3f} s = {pct(a1 - a0, wall):.2f} %"
        )
        total_pct = tui_pct + pct(a1 - a0, wall)
        print(
            f"target: sessiontui + the servers' cost of its polls <= {TARGET_PERCENT:g} % of one "
            f"core ... {verdict(total_pct <= TARGET_PERCENT)} ({total_pct:.2f} %)"
        )
        print(f"ui tmux server (the TUI's terminal): {u1 - u0:.3f} s = {pct(u1 - u0, wall):.2f} %")
        if args.no_count:
            print("tmux commands run by sessiontui: not counted (--no-count)")
        else:
            calls = n1[len(n0) :]
            kinds = Counter(calls)
            detail = ", ".join(f"{name} {n}" for name, n in kinds.most_common())
            print(
                f"tmux commands run by sessiontui: {len(calls)} "
                f"({len(calls) / wall * 60:.1f} per minute: {detail or 'none'})"
            )

        print(f"the TUI quit {quit_s:.1f} s after the 'q' key")

        banner("baseline: libtmux Server.panes once per second, on each server")
        base_cpu = base_srv = 0.0
        for server in servers:
            cpu, srv, polls = libtmux_baseline(
                server.label, baseline_s / len(servers), server.pid, len(server.pane_pids())
            )
            base_cpu, base_srv = base_cpu + cpu, base_srv + srv
        # Each server polled for 1/N of the window: the sum is N servers polled for all of it.
        base_cpu, base_srv = base_cpu * len(servers), base_srv * len(servers)
        base_pct = pct(base_cpu, baseline_s)
        print(
            f"{polls} polls in {baseline_s:g} s: {base_cpu:.3f} s CPU = {base_pct:.2f} % of a core"
        )
        print(
            f"  agents tmux server meanwhile: {base_srv:.3f} s = {pct(base_srv, baseline_s):.2f} %"
        )
        if tui_pct > 0 and base_pct > 0:
            print(
                f"ratio: sessiontui (whole app) uses {tui_pct / base_pct:.2f}x the CPU of the bare "
                f"1 s libtmux poll ({base_pct / tui_pct:.2f}x the other way round)"
            )

        banner("floor: a bare Textual app (one Static) in the same kind of pane")
        floor_pct = textual_floor(ui, baseline_s)
        print(
            f"{baseline_s:g} s: {floor_pct:.2f} % of a core (Textual's input thread wakes every "
            "0.1 s); sessiontui above it: "
            f"{tui_pct - floor_pct:.2f} %"
        )
    return 0


BARE_APP = (
    "from textual.app import App\n"
    "from textual.widgets import Static\n"
    "class Bare(App):\n"
    "    def compose(self):\n"
    "        yield Static('idle')\n"
    "Bare().run()\n"
)


def textual_floor(ui: TmuxServer, seconds: float) -> float:
    """CPU of a bare Textual app idling in a new window of ``ui``, percent of one core."""
    ui.cmd("new-window", "-t", "ui", sys.executable, "-c", BARE_APP)
    pid = int(ui.cmd("display-message", "-p", "-t", "ui", "#{pane_pid}").strip())
    proc = psutil.Process(pid)
    time.sleep(3.0)  # started and drawn
    c0 = cpu_s(proc)
    time.sleep(seconds)
    c1 = cpu_s(proc)
    with contextlib.suppress(psutil.Error):
        proc.kill()
    return 100.0 * (c1 - c0) / seconds


if __name__ == "__main__":
    sys.exit(main())
