"""Fixed sessions and a frozen clock for deterministic snapshots."""

from __future__ import annotations

from pathlib import Path

from sessiontui.model.types import MuxLocation, Session, Snapshot, Status, StatusSource

#: 2026-11-21 12:00:00 UTC, seconds since the epoch.
NOW = 1795262400.0
#: The home directory the fixed sessions live under, whatever ``$HOME`` the tests run with
#: (the SVG snapshots were rendered with it; tests patch ``render.HOME`` to match).
HOME = "/root"


def _mux(session: str, window: str, pane: str, kind: str | None = None) -> MuxLocation:
    return MuxLocation(
        type="tmux",
        socket="/tmp/tmux-0/default",
        session_id="$1",
        session=session,
        window=window,
        pane=pane,
        pane_index="0",
        session_kind=kind,
    )


def _activity(*pattern: float) -> tuple[float, ...]:
    return tuple(pattern[i % len(pattern)] for i in range(30))


def fixed_snapshot() -> Snapshot:
    """Seven sessions: every status, a hostile name, a background session and a Codex one."""
    sessions = (
        Session(
            key="claude:101:1",
            pid=101,
            agent="claude",
            name="api-refactor",
            status=Status.WAITING,
            status_source=StatusSource.REGISTRY,
            session_id="534ded02-9aa5-4594-8426-d954ad357ae6",
            kind="interactive",
            cwd=f"{HOME}/src/api",
            waiting_for="permission prompt",
            started_at=NOW - 3 * 3600,
            status_changed_at=NOW - 12,
            cpu_percent=1.0,
            activity=_activity(0.0, 0.25, 0.75, 1.0, 0.5),
            mux=_mux("work", "1", "%1"),
            registry_path=Path(f"{HOME}/.claude/sessions/101.json"),
            version="2.1.197",
            proc_start="34661",
            activity_scale=2400,
            tokens_output=48_213,
            context_used=131_072,
            context_window=200_000,
            model="claude-opus-4-8",
            last_activity_at=NOW - 12,
            last_prompt="fix the flaky retry in api/client.py and run the tests",
            turns=7,
            transcript_path=Path(
                f"{HOME}/.claude/projects/-root-src-api/534ded02-9aa5-4594-8426-d954ad357ae6.jsonl"
            ),
        ),
        Session(
            key="claude:102:1",
            pid=102,
            agent="claude",
            name="flaky-tests",
            status=Status.BUSY,
            status_source=StatusSource.REGISTRY,
            kind="interactive",
            cwd=f"{HOME}/src/ci",
            started_at=NOW - 40 * 60,
            status_changed_at=NOW - 30,
            cpu_percent=23.0,
            activity=_activity(0.5, 1.0, 0.875),
            mux=_mux("work", "2", "%2"),
            registry_path=Path(f"{HOME}/.claude/sessions/102.json"),
            activity_scale=900,
            tokens_output=12_400,
            context_used=45_000,
            context_window=200_000,
            model="claude-opus-4-8",
            last_activity_at=NOW - 30,
            last_prompt="why does test_retry fail only on CI?",
            turns=3,
        ),
        Session(
            key="codex:108:1",
            pid=108,
            agent="codex",
            name="Add retries to the fetcher",
            status=Status.BUSY,
            status_source=StatusSource.ROLLOUT,
            kind="interactive",
            cwd=f"{HOME}/src/fetch",
            started_at=NOW - 15 * 60,
            status_changed_at=NOW - 45,
            cpu_percent=12.0,
            activity=_activity(0.0, 0.5, 1.0),
            mux=_mux("work", "4", "%4"),
            version="0.171.0",
            status_why="rollout: task_started",
            activity_scale=1300,
            tokens_output=5_210,
            context_used=62_000,
            context_window=258_400,
            model="gpt-5-codex",
            turns=3,
        ),
        Session(
            key="claude:103:1",
            pid=103,
            agent="claude",
            name="nightly-bg",
            status=Status.BUSY,
            status_source=StatusSource.REGISTRY,
            kind="bg",
            cwd="/srv/nightly",
            started_at=NOW - 26 * 3600,
            status_changed_at=NOW - 90,
            cpu_percent=8.0,
            activity=_activity(0.125, 0.25),
            mux=_mux("nightly-bg", "0", "%7", kind="bg"),
            registry_path=Path(f"{HOME}/.claude/sessions/103.json"),
        ),
        Session(
            key="claude:104:1",
            pid=104,
            agent="claude",
            name="evil\x1b]0;pwned\x07[bold red]markup[/]",
            status=Status.IDLE,
            status_source=StatusSource.REGISTRY,
            cwd=f"{HOME}/tmp",
            started_at=NOW - 5 * 60,
            status_changed_at=NOW - 200,
            activity=_activity(0.0),
            registry_path=Path(f"{HOME}/.claude/sessions/104.json"),
        ),
        Session(
            key="claude:105:1",
            pid=105,
            agent="claude",
            name="docs-site",
            status=Status.SHELL,
            status_source=StatusSource.REGISTRY,
            cwd=f"{HOME}/src/docs",
            started_at=NOW - 50,
            status_changed_at=NOW - 20,
            activity=_activity(0.0, 0.0, 0.25),
            mux=_mux("work", "3", "%3"),
            registry_path=Path(f"{HOME}/.claude/sessions/105.json"),
        ),
        Session(
            key="claude:106:1",
            pid=106,
            agent="claude",
            name="old-spike",
            status=Status.DEAD,
            status_source=StatusSource.PROCESS,
            alive=False,
            cwd=f"{HOME}/src/spike",
            started_at=NOW - 2 * 86400,
            status_changed_at=NOW - 3600,
            activity=_activity(0.0),
            registry_path=Path(f"{HOME}/.claude/sessions/106.json"),
        ),
    )
    return Snapshot(sessions=sessions, taken_at=NOW)


#: The Zellij socket directory of :func:`zellij_snapshot` (a ``ZellijServer`` whose
#: ``ZELLIJ_SOCKET_DIR`` is ``/run/user/0/zellij`` has this identity).
ZELLIJ_SERVER = "/run/user/0/zellij/contract_version_1"


def _zellij(session: str, tab: str, pane: str, index: str, **kwargs: object) -> MuxLocation:
    return MuxLocation(
        type="zellij",
        socket=ZELLIJ_SERVER,
        session_id=session,
        session=session,
        window=tab,
        pane=pane,
        pane_index=index,
        **kwargs,  # type: ignore[arg-type]
    )


def zellij_snapshot() -> Snapshot:
    """Zellij rows beside a tmux one.

    An agent in the user's Zellij session, one in a background session sessiontui made,
    and an exited (resurrectable) session of ours.
    """
    sessions = (
        Session(
            key="claude:201:1",
            pid=201,
            agent="claude",
            name="zellij-api",
            status=Status.WAITING,
            status_source=StatusSource.REGISTRY,
            kind="interactive",
            cwd=f"{HOME}/src/api",
            waiting_for="permission prompt",
            started_at=NOW - 2 * 3600,
            status_changed_at=NOW - 8,
            activity=_activity(0.0, 0.5, 1.0),
            mux=_zellij("work", "0", "terminal_3", "1", attached_clients=1, panes_in_session=2),
            registry_path=Path(f"{HOME}/.claude/sessions/201.json"),
        ),
        Session(
            key="claude:202:1",
            pid=202,
            agent="claude",
            name="zjob",
            status=Status.BUSY,
            status_source=StatusSource.REGISTRY,
            kind="bg",
            cwd=f"{HOME}/src/jobs",
            started_at=NOW - 20 * 60,
            status_changed_at=NOW - 40,
            cpu_percent=17.0,
            activity=_activity(0.25, 0.75, 1.0),
            mux=_zellij("zjob", "0", "terminal_1", "0", session_kind="bg"),
            registry_path=Path(f"{HOME}/.claude/sessions/202.json"),
        ),
        Session(
            key="claude:203:1",
            pid=203,
            agent="claude",
            name="in-tmux",
            status=Status.IDLE,
            status_source=StatusSource.REGISTRY,
            kind="interactive",
            cwd=f"{HOME}/src/web",
            started_at=NOW - 3600,
            status_changed_at=NOW - 600,
            activity=_activity(0.0, 0.125),
            mux=_mux("web", "1", "%5"),
            registry_path=Path(f"{HOME}/.claude/sessions/203.json"),
        ),
        Session(
            key=f"zellij:{ZELLIJ_SERVER}:nightly:0",
            pid=0,
            agent="zellij",
            name="nightly",
            status=Status.DEAD,
            alive=False,
            kind="bg",
            mux=_zellij("nightly", "", "", "", session_kind="bg", exited=True),
        ),
    )
    return Snapshot(sessions=sessions, taken_at=NOW)
