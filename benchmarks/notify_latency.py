"""Benchmark: a session turning ``waiting`` to its notification: the configured delay + overhead.

Setup: one live ``sleep`` process with a Claude-Code-shaped ``<pid>.json`` (status busy) in a
temporary registry directory, and the real app (``make_app``) over a real :class:`Monitor`
(default timing, no tmux) with ``Config(waiting_notify_delay_s=D)``, headless
(``App.run_test``, 120x30). D is 2.0 s (``--quick``: 0.5 s).

Each trial rewrites the file with ``status: waiting`` the way Claude Code does (open "w",
compact JSON, not atomic); the clock starts just before the ``open``. Instants recorded, all in
the app's event loop, by wrapping methods of the app instance in this script (product code is
unchanged):

* seen: the app's :class:`WaitingNotifier` observes a snapshot in which the session waits
  (``notifier.observe`` wrapped): the wait starts here, so this is where D starts;
* notify (the headline figure): the app calls ``App.notify`` for the wait (``notify``
  wrapped; no polling, so no polling resolution to add);
* screen: the first frame Textual hands to the terminal driver (``App._display``) whose output,
  applied to a virtual terminal (``status_latency.VirtualTerminal``), shows the toast text.

Between trials the file goes back to ``busy`` (the wait ends), the toast is cleared and the
screen checked free of it, then a random 0.2-0.4 s pause. Printed: (observed - D) in ms.

Run: ``/work/venv/bin/python benchmarks/notify_latency.py [--quick] [--delay D] [--trials N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual._compositor import CompositorUpdate

from benchlib import Cleanup, banner, percentile, registry_entry, verdict, write_like_claude
from sessiontui.config import Config
from sessiontui.model.monitor import Monitor
from sessiontui.model.processes import read_proc_start
from sessiontui.model.types import Status
from sessiontui.ui.app import make_app
from status_latency import VirtualTerminal

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from sessiontui.model.types import Snapshot
    from sessiontui.ui.app import SessionTUI

SIZE = (120, 30)
NAME = "notify-bench"
#: The toast text the app shows (``"<name> is waiting (<waitingFor>)"``), as searched on screen.
NEEDLE = f"{NAME} is waiting"
TARGET_OVERHEAD_MS = 100.0
TIMEOUT_S = 10.0


@dataclass
class Trial:
    """One wait: when it was written, seen, notified and painted (``time.perf_counter``)."""

    key: str
    t0: float = 0.0
    t_seen: float | None = None
    t_notify: float | None = None
    t_screen: float | None = None
    notified: asyncio.Event = field(default_factory=asyncio.Event)
    painted: asyncio.Event = field(default_factory=asyncio.Event)


class Probe:
    """Hooks the app instance: ``notifier.observe``, ``notify`` and ``_display``."""

    def __init__(self, app: SessionTUI) -> None:
        self.app = app
        self.terminal = VirtualTerminal(*SIZE)
        self.trial: Trial | None = None
        self.extra_notes = 0
        orig_observe = app.notifier.observe
        orig_notify = app.notify
        self._orig_display = app._display

        def observe(snapshot: Snapshot, now: float, focused_key: str | None = None) -> None:
            trial = self.trial
            if trial is not None and trial.t_seen is None:
                session = snapshot.get(trial.key)
                if session is not None and session.status is Status.WAITING:
                    trial.t_seen = time.perf_counter()
            orig_observe(snapshot, now, focused_key)

        def notify(message: str, **kwargs: Any) -> None:
            t = time.perf_counter()
            orig_notify(message, **kwargs)
            trial = self.trial
            if trial is not None and trial.t_notify is None and NEEDLE in message:
                trial.t_notify = t
                trial.notified.set()
            elif NEEDLE in message:
                self.extra_notes += 1

        # Instance attributes shadow the methods; product code is unchanged.
        setattr(app.notifier, "observe", observe)  # noqa: B010
        setattr(app, "notify", notify)  # noqa: B010
        setattr(app, "_display", self._display)  # noqa: B010

    def _display(self, screen: Any, renderable: Any) -> None:
        t = time.perf_counter()
        self._orig_display(screen, renderable)
        if (
            renderable is None
            or self.app._batch_count
            or not isinstance(renderable, CompositorUpdate)
        ):
            return
        self.terminal.feed(renderable.render_segments(self.app.console))
        trial = self.trial
        if (
            trial is not None
            and trial.t_notify is not None
            and trial.t_screen is None
            and self.terminal.shows(NEEDLE)
        ):
            trial.t_screen = t
            trial.painted.set()


async def until(predicate: Callable[[], object], timeout_s: float, what: str) -> None:
    """Let the app run (5 ms steps) until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")
        await asyncio.sleep(0.005)


async def run(
    path: Path,
    entry: Callable[[str], dict[str, object]],
    key: str,
    delay_s: float,
    trials: int,
    warmup: int,
    seed: int,
) -> tuple[list[Trial], int]:
    """Run the trials; return the measured ones and the count of unexpected notifications."""
    rng = random.Random(seed)
    app = make_app(Monitor(sessions_dir=path.parent), config=Config(waiting_notify_delay_s=delay_s))
    probe = Probe(app)
    done: list[Trial] = []

    def status() -> Status | None:
        session = app.snapshot.get(key)
        return session.status if session is not None else None

    async with app.run_test(size=SIZE, notifications=True):  # toasts are off by default
        await until(lambda: status() is Status.BUSY, 20.0, "the session, busy")
        await asyncio.sleep(0.5)
        for i in range(warmup + trials):
            trial = Trial(key)
            probe.trial = trial
            trial.t0 = time.perf_counter()
            write_like_claude(path, entry("waiting"))
            await asyncio.wait_for(trial.notified.wait(), delay_s + TIMEOUT_S)
            await asyncio.wait_for(trial.painted.wait(), TIMEOUT_S)
            probe.trial = None
            if i >= warmup:
                done.append(trial)
            # End the wait, clear the toast, check the screen is free of it.
            write_like_claude(path, entry("busy"))
            await until(lambda: status() is Status.BUSY, TIMEOUT_S, "busy again")
            app.clear_notifications()
            await until(lambda: not probe.terminal.shows(NEEDLE), TIMEOUT_S, "the toast to go")
            await asyncio.sleep(rng.uniform(0.2, 0.4))
    return done, probe.extra_notes


def row(name: str, values: Sequence[float], width: int = 46) -> str:
    """``name  p50  p95  max`` in ms."""
    return (
        f"{name:<{width}}{percentile(values, 50):8.1f}{percentile(values, 95):8.1f}"
        f"{max(values):8.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="D = 0.5 s, 8 trials")
    parser.add_argument("--delay", type=float, default=None, help="D in seconds (2.0)")
    parser.add_argument("--trials", type=int, default=None, help="measured trials (30)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    delay_s = args.delay if args.delay is not None else (0.5 if args.quick else 2.0)
    trials = args.trials or (8 if args.quick else 30)
    warmup = 1

    with Cleanup() as cleanup:
        directory = cleanup.tempdir("stui-bench-notify-") / "sessions"
        directory.mkdir(mode=0o700)
        (proc,) = cleanup.sleepers(1)
        start = read_proc_start(proc.pid)
        if start is None:
            print(f"cannot read /proc/{proc.pid}/stat", file=sys.stderr)
            return 1
        path = directory / f"{proc.pid}.json"
        started_at_ms = int(time.time() * 1000) - 60_000
        session_id = "00000000-0000-4000-8000-000000000001"

        def entry(status: str) -> dict[str, object]:
            return registry_entry(
                proc.pid,
                name=NAME,
                status=status,
                proc_start=start,
                cwd="/home/dev/src/notify",
                session_id=session_id,
                started_at_ms=started_at_ms,
            )

        write_like_claude(path, entry("busy"))
        key = f"claude:{proc.pid}:{start}"

        banner(f"status → waiting to notification (D = {delay_s:g} s)")
        print(
            f"one live session (sleep), temporary registry, headless app {SIZE[0]}x{SIZE[1]}, "
            f"real Monitor, default MonitorTiming, no tmux, Config(waiting_notify_delay_s="
            f"{delay_s:g}); load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        print(
            f"{trials} measured trials (+{warmup} warm-up): busy → waiting (non-atomic open('w') "
            "+ compact JSON), then back to busy, toast cleared, 0.2-0.4 s pause"
        )
        print(
            "method: t0 just before the write; 'notify' = the app calls App.notify for the wait\n"
            "        (the app instance's notify wrapped: exact, no polling); 'screen' = the first\n"
            "        frame handed to the terminal driver (App._display) that shows the toast\n"
            "        text on a virtual terminal; 'seen' = the app's WaitingNotifier observes the\n"
            "        waiting snapshot (the wait, and D, start there)."
        )
        done, extra = asyncio.run(run(path, entry, key, delay_s, trials, warmup, args.seed))

    def ms(a: float | None, b: float | None) -> float:
        assert a is not None
        assert b is not None
        return (b - a) * 1000

    d_ms = delay_s * 1000
    notify = [ms(t.t0, t.t_notify) - d_ms for t in done]
    screen = [ms(t.t0, t.t_screen) - d_ms for t in done]
    print(f"\n{'':46}{'p50':>8}{'p95':>8}{'max':>8}   (ms, n={len(done)})")
    print(row("notify - D (write → App.notify, minus D)", notify))
    print(row("screen - D (write → toast on screen, minus D)", screen))
    print("breakdown:")
    print(row("  write → seen (registry → snapshot → app)", [ms(t.t0, t.t_seen) for t in done]))
    print(
        row(
            "  seen → notify, minus D (the app's timer)",
            [ms(t.t_seen, t.t_notify) - d_ms for t in done],
        )
    )
    print(row("  notify → toast on screen", [ms(t.t_notify, t.t_screen) for t in done]))
    print(f"notifications beyond one per wait: {extra}")
    for what, values in (("notify", notify), ("on screen", screen)):
        p95 = percentile(values, 95)
        print(
            f"target: {what} <= D + {TARGET_OVERHEAD_MS:g} ms (p95) ... "
            f"{verdict(p95 <= TARGET_OVERHEAD_MS)} (D + {p95:.1f} ms)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
