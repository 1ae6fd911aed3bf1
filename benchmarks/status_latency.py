"""Benchmark: latency from a ``<pid>.json`` status write to the new status on screen.

Setup: 50 live ``sleep`` processes in the panes of 3 private tmux servers (``--servers N``; 0:
plain processes, no tmux), one registry entry each in a temporary registry directory, and the
real app (:func:`sessiontui.ui.app.make_app` over a real :class:`Monitor` with default timing,
its tmux servers built by the CLI's own ``make_muxset``: control-mode triggers included) running
headless with ``App.run_test`` in a 160x100 terminal, big enough to show every row.

Each write picks a session, moves it to its next status (busy → waiting → idle → busy …) and
rewrites its file the way Claude Code does (open "w", compact JSON, not atomic). The clock
starts just before the ``open``. Two instants are recorded, both in the app's event loop:

* cell: the app's ``_show`` has run and the table cell holds the new status;
* screen (the headline figure): Textual hands the next frame to the terminal driver
  (``App._display``) and that frame, applied to a virtual terminal (a character grid fed with
  the exact bytes Textual would write to a real terminal), shows the session's row with the
  new status. This is what the user sees.

With ``--zellij [N]`` the agents run in real Zellij panes instead: N sessions (default 10) of
the real Zellij with two agents each (``zellij_world.World``: each pane process is the agent, as
a Claude started in a pane is), in an isolated world put into this process's environment, and
the monitor built by ``make_muxset`` sees them through its ``ZellijServer`` (no tmux server: a
``-L`` name nobody runs). The app waits until every row is mapped to its Zellij pane before the
writes start; the rest is the same path as with tmux.

Run: ``python benchmarks/status_latency.py [--quick] [--writes N] [--servers N] [--sessions N]``
``[--zellij [N]]`` (``--servers 1 --sessions 20`` is the tmux counterpart of ``--zellij``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from textual._compositor import CompositorUpdate

from benchlib import (
    Cleanup,
    banner,
    percentile,
    registry_entry,
    verdict,
    write_like_claude,
)
from sessiontui.cli import make_muxset, parse_args
from sessiontui.config import Config
from sessiontui.model.monitor import Monitor
from sessiontui.model.ordering import GROUP_MODES, SORT_MODES
from sessiontui.model.processes import read_proc_start
from sessiontui.model.types import Status
from sessiontui.mux.zellij import find_zellij
from sessiontui.ui.app import MainTable, make_app
from sessiontui.ui.render import GLYPHS
from sessiontui.ui.widgets.session_table import ROW_COLUMN
from zellij_world import World, wait_pid

if TYPE_CHECKING:
    from pathlib import Path

    from sessiontui.ui.app import SessionTUI

N_SESSIONS = 50
SIZE = (160, 100)  # the table takes at most 60 % of the height: 50 rows need ~90 lines
TARGET_P95_MS = 60.0
FASTEST_PEER_S = 1.5
TIMEOUT_S = 5.0
#: Each session's statuses, in turn, after the initial ``idle``.
CYCLE = ("busy", "waiting", "idle")

_CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")


class VirtualTerminal:
    """A character grid fed with terminal output: cursor moves (``CSI row;col H``) and text.

    Other escape sequences (colours, modes) are skipped: only the characters matter here.
    """

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.rows: list[list[str]] = [[" "] * width for _ in range(height)]
        self.x = 0
        self.y = 0

    def feed(self, data: str) -> None:
        """Apply a chunk of terminal output."""
        pos = 0
        for match in _CSI.finditer(data):
            self._text(data[pos : match.start()])
            params, final = match.groups()
            if final == "H":
                parts = params.split(";")
                self.y = int(parts[0] or 1) - 1
                self.x = int(parts[1] or 1) - 1 if len(parts) > 1 else 0
            pos = match.end()
        self._text(data[pos:])

    def _text(self, text: str) -> None:
        for i, piece in enumerate(text.split("\n")):
            if i:
                self.y, self.x = self.y + 1, 0
            if not piece or not 0 <= self.y < self.height:
                self.x += cell_len(piece)
                continue
            row = self.rows[self.y]
            if piece.isascii() and "\r" not in piece:
                end = min(self.x + len(piece), self.width)
                if self.x < end:
                    row[self.x : end] = piece[: end - self.x]
                self.x += len(piece)
                continue
            for ch in piece:
                if ch == "\r":
                    self.x = 0
                    continue
                width = cell_len(ch)
                if 0 <= self.x < self.width:
                    row[self.x] = ch
                    if width == 2 and self.x + 1 < self.width:
                        row[self.x + 1] = ""
                self.x += width

    def shows(self, *needles: str) -> bool:
        """True when one screen line contains every needle."""
        for row in self.rows:
            line = "".join(row)
            if all(n in line for n in needles):
                return True
        return False

    def text(self) -> str:
        """The whole screen as text."""
        return "\n".join("".join(row).rstrip() for row in self.rows)


@dataclass
class Armed:
    """One write in flight: what to look for and when the write started."""

    key: str
    name: str
    label: str
    t0: float
    t_cell: float | None = None
    t_screen: float | None = None
    event: asyncio.Event = field(default_factory=asyncio.Event)


class Probe:
    """Hooks the app instance to time the cell update and the frame that shows it."""

    def __init__(self, app: SessionTUI) -> None:
        self.app = app
        self.terminal = VirtualTerminal(*SIZE)
        self.armed: Armed | None = None
        self.frames = 0
        self._orig_display = app._display
        self._orig_show = app._show
        # Instance attributes shadow the methods; SessionTUI binds self._show at mount.
        setattr(app, "_display", self._display)  # noqa: B010
        setattr(app, "_show", self._show)  # noqa: B010

    def _show(self) -> None:
        self._orig_show()
        armed = self.armed
        if armed is None or armed.t_cell is not None:
            return
        try:
            # The table has one column holding the whole line; the status word starts it.
            cell: Any = self.app.query_one(MainTable).get_cell(armed.key, ROW_COLUMN)
        except Exception:
            return
        if self.cell_shows(getattr(cell, "plain", str(cell)), armed.label):
            armed.t_cell = time.perf_counter()

    def cell_shows(self, line: str, label: str) -> bool:
        """True when the row's line shows ``label`` (here: the status word that starts it)."""
        return line.lstrip().startswith(label)

    def _display(self, screen: Any, renderable: Any) -> None:
        t = time.perf_counter()
        self._orig_display(screen, renderable)
        if (
            renderable is None
            or self.app._batch_count
            or not isinstance(renderable, CompositorUpdate)
        ):
            return
        self.frames += 1
        self.terminal.feed(renderable.render_segments(self.app.console))
        armed = self.armed
        if (
            armed is not None
            and armed.t_screen is None
            and self.terminal.shows(armed.name, armed.label)
        ):
            armed.t_screen = t
            armed.event.set()


@dataclass
class Agent:
    """A stand-in agent: a live process and its registry file."""

    pid: int
    path: Path
    name: str
    proc_start: str
    session_id: str
    started_at_ms: int
    turn: int = 0
    status: str = "idle"

    @property
    def key(self) -> str:
        """The table row key (``Session.key``)."""
        return f"claude:{self.pid}:{self.proc_start}"

    def entry(self) -> dict[str, object]:
        """The registry object for the current status."""
        return registry_entry(
            self.pid,
            name=self.name,
            status=self.status,
            proc_start=self.proc_start,
            cwd=f"/home/dev/src/{self.name}",
            session_id=self.session_id,
            started_at_ms=self.started_at_ms,
        )


def all_in_zellij(app: SessionTUI, agents: list[Agent]) -> bool:
    """True when every agent's row is mapped to its Zellij pane."""
    for agent in agents:
        session = app.snapshot.get(agent.key)
        if session is None or session.mux is None or session.mux.type != "zellij":
            return False
    return True


def label(status: str) -> str:
    """The status cell text, e.g. ``● busy``."""
    st = Status(status)
    return f"{GLYPHS[st]} {st.value}"


async def run(
    agents: list[Agent],
    directory: Path,
    writes: int,
    warmup: int,
    seed: int,
    labels: list[str],
    *,
    zellij: bool = False,
    config: Config | None = None,
) -> dict[str, Any]:
    rng = random.Random(seed)
    if zellij and not labels:
        labels = [f"stui-bench-none-{os.getpid()}"]  # no tmux server in view
    argv = ["ls", "--no-discover", *(arg for label in labels for arg in ("-L", label))]
    muxes = make_muxset(parse_args(argv), Config()) if labels else None
    app = make_app(Monitor(sessions_dir=directory, muxes=muxes), config=config)
    probe = Probe(app)
    screen_ms: list[float] = []
    cell_ms: list[float] = []
    timeouts = 0
    async with app.run_test(size=SIZE):
        deadline = time.monotonic() + (60.0 if zellij else 20.0)
        while not all(probe.terminal.shows(a.name, label("idle")) for a in agents) or (
            zellij and not all_in_zellij(app, agents)
        ):
            if time.monotonic() > deadline:
                raise TimeoutError("the app never showed all sessions:\n" + probe.terminal.text())
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        frames_before = probe.frames
        t_start = time.perf_counter()
        for i in range(warmup + writes):
            agent = rng.choice(agents)
            agent.status = CYCLE[agent.turn % len(CYCLE)]
            agent.turn += 1
            data = agent.entry()
            armed = Armed(key=agent.key, name=agent.name, label=label(agent.status), t0=0.0)
            probe.armed = armed
            armed.t0 = time.perf_counter()
            write_like_claude(agent.path, data)
            try:
                await asyncio.wait_for(armed.event.wait(), TIMEOUT_S)
            except TimeoutError:
                timeouts += 1
            probe.armed = None
            if i >= warmup:
                screen = armed.t_screen if armed.t_screen is not None else armed.t0 + TIMEOUT_S
                screen_ms.append((screen - armed.t0) * 1000)
                if armed.t_cell is not None:
                    cell_ms.append((armed.t_cell - armed.t0) * 1000)
            await asyncio.sleep(rng.uniform(0.02, 0.06))
        elapsed = time.perf_counter() - t_start
        frames = probe.frames - frames_before
    return {
        "screen": screen_ms,
        "cell": cell_ms,
        "timeouts": timeouts,
        "frames": frames,
        "elapsed": elapsed,
    }


def zellij_agents(world: World, sessions: int) -> list[int]:
    """Start ``sessions`` Zellij sessions with two agent panes each; return the agents' PIDs."""
    names = [f"lat{i}" for i in range(sessions)]
    for name in names:
        world.start(name)
    pids = [wait_pid(world, name, 0) for name in names]
    for name in names:
        result = world.run("-s", name, "run", "--", world.env["SHELL"])
        if result.returncode != 0:
            raise RuntimeError(f"zellij run in {name}: {result.stderr.strip()}")
        pids.append(wait_pid(world, name, int(result.stdout.strip().removeprefix("terminal_"))))
    return pids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="30 writes (smoke test)")
    parser.add_argument("--writes", type=int, default=None, help="measured writes (default 200)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--servers", type=int, default=3, help="tmux servers (0: no tmux)")
    parser.add_argument("--sort", choices=SORT_MODES, default="urgency", help="sort order (o)")
    parser.add_argument("--group", choices=GROUP_MODES, default="none", help="grouping (g)")
    parser.add_argument(
        "--sessions", type=int, default=N_SESSIONS, help="agents, without --zellij (default 50)"
    )
    parser.add_argument(
        "--zellij",
        type=int,
        nargs="?",
        const=10,
        default=0,
        metavar="N",
        help="agents in N real Zellij sessions, 2 each (default 10), instead of tmux",
    )
    args = parser.parse_args(argv)
    writes = args.writes or (30 if args.quick else 200)
    warmup = 3 if args.quick else 5
    world: World | None = None
    if args.zellij:
        zellij = find_zellij()
        if zellij is None:
            print("zellij is not installed (set SESSIONTUI_ZELLIJ_BIN): nothing to measure")
            return 1
        args.servers = 0
        world = World(zellij, count_calls=False)

    with Cleanup() as cleanup:
        directory = cleanup.tempdir("stui-bench-latency-") / "sessions"
        directory.mkdir(mode=0o700)
        servers = [cleanup.tmux(prefix=f"stui-bench-lat{i}") for i in range(args.servers)]
        if world is not None:
            try:
                world.use()
                pids = zellij_agents(world, args.zellij)
            except BaseException:
                world.close()
                raise
        elif servers:
            for i in range(args.sessions):
                server = servers[i % len(servers)]
                verb = "new-window" if server.cmd("list-sessions", check=False) else "new-session"
                server.cmd(verb, "-d", "sleep", "3600")
            pids = [pid for server in servers for pid in server.pane_pids()]
            for server in servers:
                server.remember_socket()
        else:
            pids = [proc.pid for proc in cleanup.sleepers(args.sessions)]
        agents: list[Agent] = []
        for i, pid in enumerate(pids):
            start = read_proc_start(pid)
            if start is None:
                print(f"cannot read /proc/{pid}/stat", file=sys.stderr)
                return 1
            agent = Agent(
                pid=pid,
                path=directory / f"{pid}.json",
                name=f"bench-s{i:02d}",
                proc_start=start,
                session_id=f"00000000-0000-4000-8000-{i:012d}",
                started_at_ms=int(time.time() * 1000) - 60_000,
            )
            write_like_claude(agent.path, agent.entry())
            agents.append(agent)

        banner("status write → screen latency")
        where = f"in the panes of {len(servers)} tmux servers" if servers else "no tmux"
        if world is not None:
            where = f"in the panes of {args.zellij} real Zellij sessions, 2 each"
        print(
            f"{len(agents)} live sessions (sleep processes {where}), temporary registry, headless "
            f"app {SIZE[0]}x{SIZE[1]}, default MonitorTiming, sort {args.sort}, group "
            f"{args.group}; load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        print(
            f"{writes} measured writes (+{warmup} warm-up), statuses cycling busy → waiting → "
            "idle; non-atomic open('w') + compact JSON, 20-60 ms apart"
        )
        print(
            "method: t0 just before the write; 'screen' = the first frame Textual hands to the\n"
            "        terminal driver (App._display) whose output, applied to a virtual terminal,\n"
            "        shows the session's row with the new status; 'cell' = the app's _show ran\n"
            "        and the DataTable cell holds the new status (no paint yet)."
        )
        labels = [server.label for server in servers]
        try:
            result = asyncio.run(
                run(
                    agents,
                    directory,
                    writes,
                    warmup,
                    args.seed,
                    labels,
                    zellij=world is not None,
                    config=Config(sort=args.sort, group=args.group),
                )
            )
        finally:
            if world is not None:
                world.close()

    screen, cell = result["screen"], result["cell"]
    p95 = percentile(screen, 95)
    print()
    print(f"{'':8}{'p50':>9}{'p95':>9}{'max':>9}   (ms, n={len(screen)})")
    for name, values in (("screen", screen), ("cell", cell)):
        print(
            f"{name:8}{percentile(values, 50):9.1f}{percentile(values, 95):9.1f}{max(values):9.1f}"
        )
    print(f"timeouts (> {TIMEOUT_S:g} s, counted as {TIMEOUT_S:g} s): {result['timeouts']}")
    print(f"frames painted during the run: {result['frames']} in {result['elapsed']:.1f} s")
    print(
        f"target: screen p95 <= {TARGET_P95_MS:g} ms ... "
        f"{verdict(p95 <= TARGET_P95_MS)} ({p95:.1f} ms)"
    )
    print(
        f"peers take {FASTEST_PEER_S:g} s to 30 s: {FASTEST_PEER_S * 1000 / p95:.0f}x faster than "
        "the fastest peer measured"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
