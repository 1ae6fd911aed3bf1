"""Benchmark: the cost the display order adds to each refresh (sort mode, pins, groups, numbers).

Setup: N sessions (default 10,005, the size of ``scale.py``: 10,000 dead ones and 5 live ones)
spread over 50 working directories, each a real directory in a temporary tree, half of them
inside one of 5 git repositories (a ``.git`` directory; one a worktree with a ``.git`` file), and
over 20 tmux sessions. Measured, in this process, for each sort order and grouping: the wall time
of what the app's ``_show`` does before it hands rows to the table: the pins of the visible
sessions (2 pinned), :func:`sort_sessions`, :func:`group_rows` (one group folded), and
:meth:`StableNumbers.update`. The repository roots are cached after the first refresh, as in the
app; the first refresh (the ``stat`` calls) is printed apart. p50 / p95 over R refreshes.

Run: ``python benchmarks/ordering.py [--quick] [--sessions N] [--runs R]``.
"""

from __future__ import annotations

import argparse
import os
import time

from benchlib import Cleanup, banner, percentile
from sessiontui.model.ordering import (
    GroupMode,
    ProjectRoots,
    SortMode,
    StableNumbers,
    group_rows,
    is_header_key,
    sort_sessions,
)
from sessiontui.model.pins import PinStore
from sessiontui.model.types import MuxLocation, Session, Status

STATUSES = (Status.WAITING, Status.BUSY, Status.IDLE, Status.DEAD)


def sessions(count: int, cwds: list[str]) -> list[Session]:
    """``count`` sessions in urgency order, the last 5 live, the others dead."""
    out = []
    for n in range(count):
        live = n >= count - 5
        mux = MuxLocation(
            type="tmux",
            socket="/tmp/bench",
            session_id=f"${n % 20}",
            session=f"work{n % 20}",
            window="0",
            pane=f"%{n}",
        )
        out.append(
            Session(
                key=f"claude:{n}:1",
                pid=n,
                agent="claude",
                name=f"s{n}",
                status=STATUSES[n % 3] if live else Status.DEAD,
                cwd=cwds[n % len(cwds)],
                session_id=f"sid-{n}",
                last_activity_at=float(n % 997),
                mux=mux,
            )
        )
    out.sort(key=lambda s: s.status.sort_rank)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="5 refreshes per mode")
    parser.add_argument("--sessions", type=int, default=10_005)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args(argv)
    runs = 5 if args.quick else args.runs
    with Cleanup() as cleanup:
        root = cleanup.tempdir("stui-bench-ordering-")
        cwds = []
        for n in range(50):
            repo = root / f"repo{n % 5}"
            if n % 2 == 0:
                if n % 5 == 4:
                    repo.mkdir(exist_ok=True)
                    (repo / ".git").write_text("gitdir: /elsewhere\n")
                else:
                    (repo / ".git").mkdir(parents=True, exist_ok=True)
                cwd = repo / "src" / f"d{n}"
            else:
                cwd = root / f"plain{n}"
            cwd.mkdir(parents=True, exist_ok=True)
            cwds.append(str(cwd))
        rows = sessions(args.sessions, cwds)
        pins = PinStore(None)
        pins.toggle(rows[3])
        pins.toggle(rows[-2])

        banner("display order: cost per refresh")
        print(
            f"{len(rows)} sessions, 50 cwds (half in 5 git repositories), 20 tmux sessions, "
            f"2 pinned, {runs} refreshes per mode; load average at start: "
            + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
        print(f"{'sort':10}{'group':9}{'first':>9}{'p50':>9}{'p95':>9}   (ms)")
        for sort in SortMode:
            for group in GroupMode:
                roots = ProjectRoots()
                numbers = StableNumbers()

                def project_of(s: Session, roots: ProjectRoots = roots) -> str:
                    return roots.root(s.cwd)

                times = []
                for _ in range(runs + 1):
                    t0 = time.perf_counter()
                    pinned = pins.pinned(rows)
                    ordered = sort_sessions(rows, sort, pinned=pinned, project_of=project_of)
                    folded = {project_of(rows[0])} if group is GroupMode.PROJECT else set()
                    grouped = group_rows(ordered, group, collapsed=folded, project_of=project_of)
                    shown = (
                        ordered if not folded else [r for r in grouped if not is_header_key(r.key)]
                    )
                    numbers.update([s.key for s in shown], (sort, group))
                    times.append((time.perf_counter() - t0) * 1000)
                first, rest = times[0], times[1:]
                print(
                    f"{sort.value:10}{group.value:9}{first:9.1f}"
                    f"{percentile(rest, 50):9.1f}{percentile(rest, 95):9.1f}"
                )
        print("load average at end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
