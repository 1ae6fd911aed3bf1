"""Sort modes, pins, groups, repository roots and the stable ``1``-``9`` numbers."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from hypothesis import given, settings
from hypothesis import strategies as st

from sessiontui.model.ordering import (
    JOBS_GROUP,
    NO_MUX_GROUP,
    GroupHeader,
    GroupMode,
    ProjectRoots,
    SortMode,
    StableNumbers,
    group_rows,
    is_header_key,
    mux_group,
    sort_sessions,
)
from sessiontui.model.pins import PinStore
from sessiontui.model.types import MuxLocation, Session, Status

if TYPE_CHECKING:
    from pathlib import Path


def session(
    n: int,
    status: Status = Status.IDLE,
    *,
    cwd: str | None = None,
    activity: float | None = None,
    mux: str | None = None,
    job: str | None = None,
    sid: str | None = None,
) -> Session:
    loc = None
    if mux is not None:
        loc = MuxLocation(
            type="tmux", socket="/tmp/s", session_id="$1", session=mux, window="0", pane="%1"
        )
    return Session(
        key=f"claude:{n}:1",
        pid=n,
        agent="claude",
        name=f"s{n}",
        status=status,
        cwd=cwd,
        last_activity_at=activity,
        mux=loc,
        job_id=job,
        session_id=sid,
    )


def keys(rows: list[Session] | list[Session | GroupHeader]) -> list[str]:
    return [r.key for r in rows]


def test_sort_modes() -> None:
    a = session(1, Status.WAITING, cwd="/w/zeta", activity=10.0)
    b = session(2, Status.BUSY, cwd="/w/alpha", activity=30.0)
    c = session(3, Status.IDLE, cwd="/w/Beta", activity=20.0)
    d = session(4, Status.DEAD, cwd="/w/alpha", activity=None)
    urgency = [a, b, c, d]
    assert sort_sessions(urgency, SortMode.URGENCY) == urgency
    # project: by name (case-insensitive), urgency inside a project
    assert sort_sessions(urgency, SortMode.PROJECT) == [b, d, c, a]
    # activity: most recent first; unknown last
    assert sort_sessions(urgency, SortMode.ACTIVITY) == [b, c, a, d]
    assert SortMode.URGENCY.next() is SortMode.PROJECT
    assert SortMode.ACTIVITY.next() is SortMode.URGENCY
    assert GroupMode.MUX.next() is GroupMode.HOST
    assert GroupMode.HOST.next() is GroupMode.NONE


def test_pinned_sessions_go_first_in_every_mode() -> None:
    rows = [session(n, Status.WAITING if n < 3 else Status.IDLE, cwd=f"/p{n}") for n in range(6)]
    pinned = {rows[4].key, rows[5].key}
    for mode in SortMode:
        ordered = sort_sessions(rows, mode, pinned=pinned)
        assert {s.key for s in ordered[:2]} == pinned, mode
        assert sorted(keys(ordered)) == sorted(keys(rows))


@given(
    st.lists(
        st.tuples(st.sampled_from(list(Status)), st.integers(0, 5), st.booleans()),
        max_size=30,
    ),
    st.sampled_from(list(SortMode)),
    st.sampled_from(list(GroupMode)),
    st.sets(st.integers(0, 5)),
)
@settings(max_examples=200, deadline=None)
def test_rows_are_a_partition_of_the_sessions(
    spec: list[tuple[Status, int, bool]],
    sort: SortMode,
    group: GroupMode,
    folded: set[int],
) -> None:
    sessions = [
        session(n, status, cwd=f"/r/p{p}", mux=f"m{p}" if has_mux else None)
        for n, (status, p, has_mux) in enumerate(spec)
    ]
    pinned = {s.key for s in sessions[::3]}
    ordered = sort_sessions(sessions, sort, pinned=pinned)
    assert sorted(keys(ordered)) == sorted(keys(sessions))
    head = [s.key in pinned for s in ordered]
    assert head == sorted(head, reverse=True)  # every pinned one before every other
    collapsed = {f"/r/p{p}" for p in folded} | {f"tmux:m{p}" for p in folded}
    rows = group_rows(ordered, group, collapsed=collapsed)
    headers = [r for r in rows if isinstance(r, GroupHeader)]
    shown = [r for r in rows if isinstance(r, Session)]
    if group is GroupMode.NONE:
        assert rows == ordered
        return
    assert len({h.key for h in headers}) == len(headers)
    assert sum(h.size for h in headers) == len(sessions)  # collapsed groups still count
    assert sum(n for h in headers for _, n in h.counts) == len(sessions)
    assert all(is_header_key(h.key) and not is_header_key(s.key) for h in headers for s in shown)
    hidden = sum(h.size for h in headers if h.collapsed)
    assert len(shown) == len(sessions) - hidden
    # within a group, sessions keep the sort order
    position = {s.key: i for i, s in enumerate(ordered)}
    run: list[int] = []
    for row in [*rows, None]:
        if row is None or isinstance(row, GroupHeader):
            assert run == sorted(run)
            run = []
        else:
            run.append(position[row.key])


def test_group_headers_count_each_status_and_fold() -> None:
    rows = [
        session(1, Status.WAITING, mux="work"),
        session(2, Status.BUSY, mux="work"),
        session(3, Status.IDLE, job="j1"),
        session(4, Status.IDLE),
        session(5, Status.IDLE, mux="work"),
    ]
    grouped = group_rows(rows, GroupMode.MUX, collapsed={JOBS_GROUP})
    headers = [r for r in grouped if isinstance(r, GroupHeader)]
    assert [h.label for h in headers] == ["tmux:work", JOBS_GROUP, NO_MUX_GROUP]
    assert headers[0].counts == ((Status.WAITING, 1), (Status.BUSY, 1), (Status.IDLE, 1))
    assert headers[1].collapsed
    assert headers[1].size == 1
    assert keys(grouped)[1:4] == ["claude:1:1", "claude:2:1", "claude:5:1"]
    assert "claude:3:1" not in keys(grouped)  # folded, but counted
    assert mux_group(rows[3]) == NO_MUX_GROUP


def test_project_roots_walk_up_to_git_and_cache(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    deep = repo / "src" / "pkg"
    deep.mkdir(parents=True)
    worktree = tmp_path / "wt"
    (worktree / "sub").mkdir(parents=True)
    (worktree / ".git").write_text("gitdir: /elsewhere\n")  # a worktree: .git is a file
    plain = tmp_path / "plain"
    plain.mkdir()
    calls: list[str] = []

    def exists(path: str) -> bool:
        calls.append(path)
        return os.path.lexists(path)

    roots = ProjectRoots(exists)
    assert roots.root(str(deep)) == str(repo)
    assert roots.root(str(worktree / "sub")) == str(worktree)
    assert roots.root(str(plain)) in (str(plain), str(tmp_path.parent))  # its own, unless above
    assert roots.root(str(tmp_path / "gone" / "x")) != str(repo)
    assert roots.root(None) == "(no directory)"
    assert roots.root("relative/dir") == "relative/dir"
    before = len(calls)
    assert roots.root(str(deep)) == str(repo)
    assert len(calls) == before  # cached: no file system access on the next refresh
    grouped = group_rows(
        [session(1, cwd=str(deep)), session(2, cwd=str(repo))],
        GroupMode.PROJECT,
        project_of=lambda s: roots.root(s.cwd),
    )
    assert [r.key for r in grouped if isinstance(r, GroupHeader)] == [f"group\x1f{repo}"]
    header = grouped[0]
    assert isinstance(header, GroupHeader)
    assert (header.label, header.size) == ("repo", 2)


def test_numbers_stay_with_their_sessions_while_rows_move() -> None:
    numbers = StableNumbers()
    first = numbers.update(["a", "b", "c"], ("urgency",))
    assert first == {"a": 1, "b": 2, "c": 3}
    # a status change moves c to the top: nobody's number changes
    assert numbers.update(["c", "a", "b"], ("urgency",)) == first
    assert numbers.key_of(3) == "c"
    # a newcomer takes the lowest free number
    assert numbers.update(["d", "c", "a", "b"], ("urgency",))["d"] == 4
    # a numbered session leaves: numbered again from the display order
    assert numbers.update(["d", "c", "b"], ("urgency",)) == {"d": 1, "c": 2, "b": 3}
    # the user re-arranges (another sort): numbered again
    assert numbers.update(["b", "c", "d"], ("project",)) == {"b": 1, "c": 2, "d": 3}
    assert numbers.key_of(9) is None


@given(
    st.lists(st.permutations(list("abcdefghijkl")), min_size=1, max_size=20),
)
@settings(max_examples=100, deadline=None)
def test_numbers_never_shift_when_only_the_order_changes(orders: list[list[str]]) -> None:
    numbers = StableNumbers()
    first = numbers.update(orders[0], "same")
    assert sorted(first.values()) == list(range(1, 10))
    for order in orders[1:]:
        assert numbers.update(order, "same") == first


def test_pins_persist_by_session_id_and_by_key_for_the_app(tmp_path: Path) -> None:
    path = tmp_path / "state" / "pins.json"
    with_id = session(1, sid="534ded02-9aa5-4594-8426-d954ad357ae6")
    without = session(2)
    store = PinStore(path, clock_ms=lambda: 1000)
    assert store.toggle(with_id)
    assert store.toggle(without)
    assert store.pinned([with_id, without]) == {with_id.key, without.key}
    saved = json.loads(path.read_text())
    assert saved == {"version": 1, "pins": {with_id.session_id: 1000}}
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again = PinStore(path)  # a restart: the sessionId pin is back, the key pin is not
    resumed = session(7, sid=with_id.session_id)  # a new process resuming the conversation
    assert again.pinned([resumed, without]) == {resumed.key}
    assert not again.toggle(resumed)
    assert json.loads(path.read_text())["pins"] == {}


def test_a_bad_pins_file_is_ignored_and_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / "pins.json"
    path.write_text('{"version": 1, "pins": [1, 2]}')
    store = PinStore(path, clock_ms=lambda: 42)
    one = session(1, sid="abc")
    assert store.pinned([one]) == frozenset()
    assert store.problem is not None
    assert "ignored" in store.problem
    assert store.toggle(one)
    assert (tmp_path / "pins.json.corrupt-42").read_text() == '{"version": 1, "pins": [1, 2]}'
    path.write_text('{"version": 1, "pins": {"../x y": 5, "ok": true, "good": 7}}')
    assert PinStore(path).pinned([session(2, sid="good"), session(3, sid="ok")]) == {"claude:2:1"}
