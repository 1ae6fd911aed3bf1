"""Benchmark: the once-a-second AGE tick (issue 9.6) with 50, 1,000 and 10,000 rows.

Setup: the real app (:func:`sessiontui.ui.app.make_app` over a :class:`Monitor` that is never
started, so nothing but the tick changes the table) runs headless (``App.run_test``, 160x72) on
a fixed snapshot of N idle sessions whose start times are spread over the last day (ages from
seconds to hours, so every tick changes some ages and not others). The test clock moves by one
second before each tick. Figures per N, over 60 ticks (``--quick``: 15):

* tick: wall time of ``SessionTable.tick_ages`` (age texts of the drawn rows compared, the
  changed rows patched through the table's one-row path), p50 / p95 / max in ms;
* frame: wall time from the tick to the next frame painted (Textual's ``App._display``), p50 /
  p95 in ms;
* rows repainted per tick (mean): only drawn rows whose AGE text changed.

Run: ``/work/venv/bin/python benchmarks/age_tick.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from benchlib import banner, percentile, verdict
from sessiontui.model.monitor import Monitor
from sessiontui.model.types import Session, Snapshot, Status, StatusSource
from sessiontui.ui.app import MainTable, make_app
from sessiontui.ui.messages import SnapshotChanged

SIZE = (160, 72)
#: The tick must stay far below its one-second period; a frame budget (60 fps) is the target.
TARGET_TICK_P95_MS = 16.0
NOW = 1_795_262_400.0


def sessions(count: int) -> tuple[Session, ...]:
    """``count`` idle sessions started 7 s apart going back from :data:`NOW`."""
    return tuple(
        Session(
            key=f"claude:{1000 + i}:1",
            pid=1000 + i,
            agent="claude",
            name=f"agent-{i:05d}",
            status=Status.IDLE,
            status_source=StatusSource.REGISTRY,
            cwd=f"/srv/project-{i % 37}",
            started_at=NOW - 5 - (i * 7) % 86_400,
        )
        for i in range(count)
    )


async def measure(count: int, ticks: int) -> dict[str, float]:
    """Run the app on ``count`` rows and time ``ticks`` AGE ticks."""
    clock = [NOW]
    with TemporaryDirectory() as tmp:
        monitor = Monitor(sessions_dir=Path(tmp) / "sessions")
        app = make_app(monitor, clock=lambda: clock[0], watch=False)
        frames: list[float] = []
        async with app.run_test(size=SIZE) as pilot:
            display = app._display

            def timed_display(*args: object, **kwargs: object) -> object:
                frames.append(time.perf_counter())
                return display(*args, **kwargs)  # type: ignore[arg-type]

            app._display = timed_display  # type: ignore[method-assign]
            app.post_message(SnapshotChanged(Snapshot(sessions=sessions(count), taken_at=NOW)))
            await pilot.pause(1.0)
            table = app.query_one(MainTable)
            assert table.row_count == count
            tick_ms: list[float] = []
            frame_ms: list[float] = []
            repainted: list[int] = []
            for _ in range(ticks):
                clock[0] += 1.0
                frames.clear()
                start = time.perf_counter()
                repainted.append(table.tick_ages(clock[0]))
                tick_ms.append((time.perf_counter() - start) * 1000)
                await pilot.pause(0.1)
                if frames and repainted[-1]:
                    frame_ms.append((frames[0] - start) * 1000)
    return {
        "tick_p50": percentile(tick_ms, 50),
        "tick_p95": percentile(tick_ms, 95),
        "tick_max": max(tick_ms),
        "frame_p50": percentile(frame_ms, 50),
        "frame_p95": percentile(frame_ms, 95),
        "repainted": sum(repainted) / len(repainted),
    }


def main() -> None:
    """Print the figures for each table size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="15 ticks, 50 and 1,000 rows")
    args = parser.parse_args()
    ticks = 15 if args.quick else 60
    counts = (50, 1000) if args.quick else (50, 1000, 10_000)
    banner("AGE tick")
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    for count in counts:
        r = asyncio.run(measure(count, ticks))
        print(
            f"{count:>6} rows: tick p50 {r['tick_p50']:.2f} ms, p95 {r['tick_p95']:.2f} ms, "
            f"max {r['tick_max']:.2f} ms; tick -> frame p50 {r['frame_p50']:.1f} ms, "
            f"p95 {r['frame_p95']:.1f} ms; rows repainted per tick {r['repainted']:.1f}",
            flush=True,
        )
        print(
            f"        target: tick p95 <= {TARGET_TICK_P95_MS:g} ms "
            f"{verdict(r['tick_p95'] <= TARGET_TICK_P95_MS)}"
        )
    print("load average at end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
