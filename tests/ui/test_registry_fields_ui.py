"""The TUI shows Claude Code's newer registry fields (SPEC 2.1): jobs, subagents, elicitation.

Fixed data and a frozen clock: the subagent badge in the NAME cell, and in the detail panel
the background job's state, its ``fan[]``, its tokens, ``parkedJobId`` and ``formerNames``
(untrusted: shown as plain text), and a "why" that names an elicitation dialog.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from rich.console import Console
from textual.widgets import Static

from sessiontui.model.monitor import Monitor
from sessiontui.model.types import JobState, JobTask, Session, Snapshot, Status, StatusSource
from sessiontui.ui import render
from sessiontui.ui.app import MainTable, make_app
from sessiontui.ui.messages import SnapshotChanged
from tests.ui.fixed_data import HOME, NOW

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from sessiontui.ui.app import SessionTUI

JOB = "a1b2c3d4"


def job_snapshot() -> Snapshot:
    """A waiting job with subagents (elicitation, former names, a hostile label) and a peer."""
    job = JobState(
        path=Path(f"{HOME}/.claude/jobs/{JOB}/state.json"),
        state="working",
        detail="running the test suite",
        fan=(
            JobTask(id="t1", kind="subagent", label="explore the repo", started_at_ms=1),
            JobTask(id="t2", kind="bash", label="npm test", started_at_ms=1, done_at_ms=2),
            JobTask(id="t3", kind="subagent", label="[bold]x\x1b]0;t\x07", started_at_ms=1),
            JobTask(id="t4", kind="subagent", label="broke", failed=True),
        ),
        tokens=(("input", 1200), ("output", 34_000)),
    )
    sessions = (
        Session(
            key="claude:201:1",
            pid=201,
            agent="claude",
            name="release-notes",
            status=Status.WAITING,
            status_source=StatusSource.REGISTRY,
            kind="bg",
            cwd=f"{HOME}/src/app",
            waiting_for="elicitation",
            started_at=NOW - 600,
            updated_at=NOW - 5,
            status_changed_at=NOW - 5,
            job_id=JOB,
            parked_job_id="0badf00d",
            former_names=("draft", "[bold]old[/]\x1b]0;x\x07"),
            job=job,
            subagents=job.running_tasks,
            registry_path=Path(f"{HOME}/.claude/sessions/201.json"),
        ),
        Session(
            key="claude:202:1",
            pid=202,
            agent="claude",
            name="plain-one",
            status=Status.IDLE,
            status_source=StatusSource.REGISTRY,
            cwd=f"{HOME}/src/lib",
            started_at=NOW - 900,
            status_changed_at=NOW - 60,
        ),
    )
    return Snapshot(sessions=sessions, taken_at=NOW)


@pytest.fixture(autouse=True)
def fixed_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shorten paths (``~``) against the fixed data's home."""
    monkeypatch.setattr(render, "HOME", HOME)


def job_app(tmp_path: Path) -> SessionTUI:
    """The app on :func:`job_snapshot`: a monitor never started, a frozen clock."""
    return make_app(Monitor(sessions_dir=tmp_path / "sessions"), clock=lambda: NOW, watch=False)


async def show_jobs(pilot: Pilot[None]) -> None:
    pilot.app.post_message(SnapshotChanged(job_snapshot()))
    await pilot.pause()


def test_job_fields_snapshot(snap_compare, tmp_path):
    assert snap_compare(job_app(tmp_path), terminal_size=(100, 40), run_before=show_jobs)


async def test_job_fields_are_shown_as_plain_text(tmp_path: Path) -> None:
    app = job_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_jobs(pilot)
        table = app.query_one(MainTable)
        assert table.selected_key == "claude:201:1"
        console = Console(width=120, file=io.StringIO(), color_system=None)
        console.print(app.query_one("#detail-fields", Static).content)
        shown: str = console.file.getvalue()  # type: ignore[attr-defined]
        assert "waits for an elicitation dialog" in shown
        assert "job state  working — running the test suite" in shown
        assert "running: subagent explore the repo" in shown
        assert "running: subagent [bold]x\\x1b]0;t\\x07" in shown  # markup and escapes inert
        assert "failed: subagent broke" in shown
        assert "input 1.2k, output 34.0k" in shown
        assert "parked as  0badf00d" in shown
        assert "draft, [bold]old[/]\\x1b]0;x\\x07" in shown
        assert "\x1b" not in shown
        line = table.get_row_at(0)[0]
        assert f"release-notes {render.SUBAGENT_MARK}2" in str(line)
        assert render.SUBAGENT_MARK not in str(table.get_row_at(1)[0])
