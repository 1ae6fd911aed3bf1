"""A simulated Claude Code agent that writes a real ``<pid>.json`` registry entry (SPEC 2.1).

Run as ``python -m sessiontui.demo.agent --registry DIR --name NAME --kind {interactive,bg}
[--seed N] [--cwd DIR] [--tick-s 1.0]``. The process behaves like Claude Code towards the
registry: it registers on start, rewrites its file (non-atomically, compact JSON, no trailing
newline) on every status change, re-reads the file before each patch so a name written by another
program survives, and removes the file on SIGTERM, SIGHUP or SIGINT. Meanwhile it prints a few
lines of fake activity for the tmux pane it runs in, and burns a little CPU while ``busy``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sessiontui.model.processes import read_proc_start

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

#: The ``version`` the simulated agent reports.
DEMO_VERSION = "2.1.197-demo"

#: ``waitingFor`` values the simulated agent uses (a subset of SPEC 2.1's).
WAITING_REASONS: tuple[str, ...] = ("permission prompt", "input needed", "dialog open")

#: Fraction of each tick spent in a busy loop while ``busy`` (keeps CPU use well under 30 %).
BUSY_CPU_FRACTION = 0.2

#: Signals that end the agent cleanly (its registry file is removed first).
_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

# Status -> (min ticks, max ticks) it lasts.
_DURATION_TICKS: dict[str, tuple[int, int]] = {
    "idle": (2, 6),
    "busy": (3, 8),
    "waiting": (3, 7),
    "shell": (2, 5),
}

# Status -> possible next statuses with weights.
_NEXT: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "idle": (("busy", "shell"), (4, 1)),
    "busy": (("waiting", "idle", "shell", "busy"), (3, 3, 1, 1)),
    "waiting": (("busy", "idle"), (4, 1)),
    "shell": (("busy", "idle"), (2, 1)),
}

_FILES = (
    "src/app.py",
    "src/models/user.py",
    "src/api/routes.py",
    "tests/test_routes.py",
    "docs/index.md",
    "pyproject.toml",
    "README.md",
)
_COMMANDS = ("pytest -q", "ruff check .", "git diff --stat", "npm run build", "make lint")
_VERBS = ("Reading", "Editing", "Searching", "Writing")


class _Terminate(BaseException):
    """Raised by the signal handler to unwind the main loop."""


def _now_ms() -> int:
    return int(time.time() * 1000)


class _Output:
    """Prints activity lines; once stdout is gone (EPIPE, EIO) it silently stops printing."""

    def __init__(self) -> None:
        self.alive = True

    def line(self, text: str) -> None:
        if not self.alive:
            return
        try:
            print(text, flush=True)
        except (OSError, ValueError):
            self.alive = False
            self._silence()

    @staticmethod
    def _silence() -> None:
        # Point fds 1 and 2 at /dev/null so the interpreter's final flush cannot fail either.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.close(devnull)


class DemoAgent:
    """One simulated agent: its registry entry, its status schedule and its pane output.

    Args:
        registry: The registry directory; the agent owns ``<registry>/<pid>.json``.
        name: The derived session name it starts with (``nameSource: "derived"``).
        kind: ``interactive`` or ``bg`` (written as ``kind``).
        cwd: The working directory it reports (``cwd``).
        seed: Seed of its random schedule (``None``: unpredictable).
        tick_s: Seconds per tick; statuses last a few ticks.
    """

    def __init__(
        self,
        *,
        registry: Path,
        name: str,
        kind: str,
        cwd: str,
        seed: int | None,
        tick_s: float,
    ) -> None:
        self.pid = os.getpid()
        self.path = registry / f"{self.pid}.json"
        self.tick_s = tick_s
        self.rng = random.Random(seed)
        self.out = _Output()
        self.name = name
        self.name_source: str | None = "derived"
        self.status = "idle"
        self.waiting_for: str | None = None
        self.ticks_left = self.rng.randint(1, 3)
        started_at_ms = _now_ms()
        self.fields: dict[str, Any] = {
            "pid": self.pid,
            "sessionId": str(uuid.uuid4()),
            "cwd": cwd,
            "startedAt": started_at_ms,
        }
        proc_start = read_proc_start(self.pid)
        if proc_start is not None:
            self.fields["procStart"] = proc_start
        self.fields.update(
            {
                "version": DEMO_VERSION,
                "peerProtocol": 1,
                "kind": kind,
                "entrypoint": "cli",
            }
        )
        self.status_updated_at_ms = started_at_ms

    # -- registry ------------------------------------------------------------------------

    def _adopt_foreign_name(self) -> None:
        """Re-read our file; keep a name another program wrote there (as Claude Code does)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # missing or half-written: keep what we know
        if not isinstance(data, dict):
            return
        name = data.get("name")
        if (
            isinstance(name, str)
            and name
            and data.get("nameSource") is None
            and (name != self.name or self.name_source is not None)
        ):
            self.name = name
            self.name_source = None
            self.out.line(f"● Session renamed to {name}")

    def write(self) -> None:
        """Patch the registry file: re-read it, then truncate-and-write the whole object."""
        self._adopt_foreign_name()
        now = _now_ms()
        data = dict(self.fields)
        data["name"] = self.name
        if self.name_source is not None:
            data["nameSource"] = self.name_source
        data["status"] = self.status
        data["updatedAt"] = now
        data["statusUpdatedAt"] = self.status_updated_at_ms
        if self.waiting_for is not None:
            data["waitingFor"] = self.waiting_for
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        # Deliberately not atomic, like Claude Code: readers may see an empty or partial file.
        with self.path.open("w", encoding="utf-8") as f:
            f.write(text)

    def remove(self) -> None:
        """Delete our registry file (clean exit)."""
        with contextlib.suppress(OSError):
            self.path.unlink()

    # -- behaviour -----------------------------------------------------------------------

    def _enter(self, status: str) -> None:
        if status != self.status:
            self.status_updated_at_ms = _now_ms()
        self.status = status
        lo, hi = _DURATION_TICKS[status]
        self.ticks_left = self.rng.randint(lo, hi)
        self.waiting_for = None
        if status == "waiting":
            self.waiting_for = self.rng.choice(WAITING_REASONS)
            if self.waiting_for == "permission prompt":
                cmd = self.rng.choice(_COMMANDS)
                self.out.line(f"⏺ Waiting for permission: Bash({cmd})")
            elif self.waiting_for == "input needed":
                self.out.line("⏺ Waiting for input: which approach should I take?")
            else:
                self.out.line("⏺ Dialog open: /help")
        elif status == "idle":
            self.out.line("✓ Done. > ")
        elif status == "shell":
            self.out.line(f"● Background shell running: {self.rng.choice(_COMMANDS)}")
        else:
            self.out.line("✻ Thinking…")
        # A vanished registry (e.g. its directory was removed) must not crash the agent.
        with contextlib.suppress(OSError):
            self.write()

    def _busy_tick(self) -> None:
        self.out.line(f"● {self.rng.choice(_VERBS)} {self.rng.choice(_FILES)}")
        deadline = time.monotonic() + self.tick_s * BUSY_CPU_FRACTION
        while time.monotonic() < deadline:
            sum(i * i for i in range(200))
        time.sleep(self.tick_s * (1 - BUSY_CPU_FRACTION))

    def step(self) -> None:
        """Run one tick: burn CPU or sleep, then maybe move to the next status."""
        if self.status == "busy":
            self._busy_tick()
        else:
            time.sleep(self.tick_s)
        self.ticks_left -= 1
        if self.ticks_left <= 0:
            choices, weights = _NEXT[self.status]
            self._enter(self.rng.choices(choices, weights)[0])

    def run(self) -> None:
        """Register, then simulate until a signal arrives; the file is removed on the way out."""
        try:
            self.out.line(f"✻ Claude Code (demo) {DEMO_VERSION} · {self.name}")
            self.out.line(f"  cwd: {self.fields['cwd']}")
            self.write()
            self.out.line("> ")
            while True:
                self.step()
        except _Terminate:
            pass
        finally:
            for sig in _SIGNALS:
                signal.signal(sig, signal.SIG_IGN)
            self.remove()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _Terminate


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sessiontui.demo.agent",
        description="A simulated Claude Code agent writing a real session registry entry.",
    )
    parser.add_argument("--registry", required=True, type=Path, help="registry directory")
    parser.add_argument("--name", required=True, help="derived session name")
    parser.add_argument("--kind", choices=("interactive", "bg"), default="interactive")
    parser.add_argument("--seed", type=int, default=None, help="seed of the status schedule")
    parser.add_argument("--cwd", default=None, help="working directory to report")
    parser.add_argument("--tick-s", type=float, default=1.0, help="seconds per tick")
    args = parser.parse_args(argv)
    if args.tick_s <= 0:
        parser.error("--tick-s must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulated agent until SIGTERM, SIGHUP or SIGINT.

    Args:
        argv: Command-line arguments (default ``sys.argv[1:]``).

    Returns:
        The exit code: 0 after a signal (the registry file is removed first).
    """
    args = _parse_args(argv)
    for sig in _SIGNALS:
        signal.signal(sig, _on_signal)
    try:
        agent = DemoAgent(
            registry=args.registry,
            name=args.name,
            kind=args.kind,
            cwd=args.cwd if args.cwd is not None else str(Path.cwd()),
            seed=args.seed,
            tick_s=args.tick_s,
        )
        agent.run()
    except _Terminate:
        pass  # a signal before registration: nothing to clean up
    return 0


if __name__ == "__main__":
    sys.exit(main())
