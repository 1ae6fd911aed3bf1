"""The status-bar summary and the watch events, on model values built by hand."""

from __future__ import annotations

import pytest

from sessiontui.model.summary import (
    FormatError,
    check_format,
    longest_waiting,
    render_summary,
    tmux_literal,
)
from sessiontui.model.types import Session, Snapshot, SnapshotChange, Status, with_changes
from sessiontui.model.wire import ChangeFeed, event_line, session_json


def session(key: str, status: Status, *, changed_at: float | None = None, **kw) -> Session:
    return Session(
        key=key,
        pid=100,
        agent="claude",
        name=key,
        status=status,
        status_changed_at=changed_at,
        alive=status is not Status.DEAD,
        **kw,
    )


def snap(*sessions: Session, messages: tuple[str, ...] = ()) -> Snapshot:
    return Snapshot(sessions=sessions, taken_at=1795271260.5, messages=messages)


def test_default_summary_counts_live_statuses_in_header_order():
    s = snap(
        session("a", Status.SHELL),
        session("b", Status.IDLE),
        session("c", Status.WAITING),
        session("d", Status.DEAD),
        session("e", Status.UNKNOWN),
        session("f", Status.WAITING),
    )
    assert render_summary(s) == "◆2 ○1 ◐1"
    assert render_summary(snap(session("d", Status.DEAD))) == ""
    assert render_summary(snap()) == ""


def test_format_fields_and_total():
    s = snap(session("w", Status.WAITING), session("d", Status.DEAD), session("u", Status.UNKNOWN))
    fmt = "{waiting} {busy} {idle} {shell} {unknown} {dead} {total} <{first_waiting}>"
    assert render_summary(s, fmt) == "1 0 0 0 1 1 2 <w>"
    assert render_summary(snap(), "{total}{first_waiting!r}") == "0''"


def test_longest_waiting_is_the_earliest_wait_and_unknown_times_count_as_oldest():
    early = session("early", Status.WAITING, changed_at=100.0)
    late = session("late", Status.WAITING, changed_at=200.0)
    busy = session("busy", Status.BUSY, changed_at=1.0)
    assert longest_waiting([late, busy, early]) is early
    unknown = session("unknown", Status.WAITING)
    assert longest_waiting([late, early, unknown]) is unknown
    assert longest_waiting([busy]) is None


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain", "plain"),
        ("#S", "####S"),
        ("a##b", "a########b"),
        ("#[fg=red]x", "##[fg=red]x"),
        ("##[x", "####[x"),
        ("#(touch f)#{host}", "####(touch f)####{host}"),
        ("end#", "end####"),
    ],
)
def test_tmux_literal(text, escaped):
    assert tmux_literal(text) == escaped


def test_tmux_escaping_applies_after_the_format_spec():
    s = snap(session("ab#[x", Status.WAITING))
    # Cut to 3 characters first ("ab#"), then escaped: a cut can never leave a lone '#'.
    assert render_summary(s, "{first_waiting:.3}[", tmux=True) == "ab####["
    assert render_summary(s, "#[bold]{waiting}", tmux=True) == "#[bold]1"  # the user's own


def test_names_are_made_printable_and_cut():
    s = snap(session("a\x1b]0;x\x07\tb" + "n" * 100, Status.WAITING))
    line = render_summary(s, "{first_waiting}")
    assert line.startswith("a\\x1b]0;x\\x07 b")
    assert len(line) == 60
    assert line.endswith("…")


@pytest.mark.parametrize("fmt", ["{x}", "{waiting.real}", "{0}", "{}", "{busy:q}", "{", "}"])
def test_check_format_rejects(fmt):
    with pytest.raises(FormatError):
        check_format(fmt)


def test_check_format_accepts_every_field():
    check_format("{waiting:>2}{busy}{idle}{shell}{unknown}{dead}{total}{first_waiting:.9}")


def test_feed_announces_live_sessions_then_changes_deaths_and_removals():
    a = session("a", Status.IDLE, cpu_percent=0.0)
    stale = session("stale", Status.DEAD)
    feed = ChangeFeed()
    start = feed.start(snap(a, stale))
    assert [(e["event"], e["key"]) for e in start] == [("added", "a")]
    assert start[0]["session"] == session_json(a)
    assert start[0]["at"] == "2026-11-21T14:27:40.500Z"

    busier = with_changes(a, cpu_percent=80.0)  # a CPU sample alone is no change
    assert feed.update(SnapshotChange(snap(busier, stale), changed=frozenset({"a"}))) == []
    waiting = with_changes(busier, status=Status.WAITING, waiting_for="permission prompt")
    (changed,) = feed.update(SnapshotChange(snap(waiting, stale), changed=frozenset({"a"})))
    assert changed["event"] == "changed"
    assert changed["fields"] == ["cpu_percent", "status", "waiting_for"]
    dead = with_changes(waiting, status=Status.DEAD, alive=False)
    (died,) = feed.update(SnapshotChange(snap(dead, stale), changed=frozenset({"a"})))
    assert died["session"]["status"] == "dead"
    gone = feed.update(SnapshotChange(snap(), removed=frozenset({"a", "stale"})))
    assert [(e["event"], e["key"]) for e in gone] == [("removed", "a")]  # stale was never shown
    assert gone[0]["session"]["status"] == "dead"  # the last known object


def test_feed_with_all_sessions_shows_the_dead_too():
    feed = ChangeFeed(all_sessions=True)
    assert [e["key"] for e in feed.start(snap(session("stale", Status.DEAD)))] == ["stale"]


def test_feed_health_events_follow_the_problem_list():
    feed = ChangeFeed()
    assert feed.start(snap()) == []
    problem = "tmux server work unreachable"
    (down,) = feed.update(SnapshotChange(snap(messages=(problem,))))
    assert down == {"event": "health", "at": "2026-11-21T14:27:40.500Z", "problems": [problem]}
    assert feed.update(SnapshotChange(snap(messages=(problem,)))) == []
    (up,) = feed.update(SnapshotChange(snap()))
    assert up["problems"] == []


def test_event_lines_for_people():
    a = session("a\x1b[31m", Status.BUSY)
    feed = ChangeFeed()
    (added,) = feed.start(snap(a))
    assert event_line(added) == "14:27:40 added   a\\x1b[31m (claude pid 100)  busy"
    tokens = with_changes(a, tokens_output=10)
    (only_tokens,) = feed.update(SnapshotChange(snap(tokens), changed=frozenset({a.key})))
    assert only_tokens["fields"] == ["tokens"]
    assert event_line(only_tokens) is None  # nothing a reader follows changed
    asks = with_changes(tokens, status=Status.WAITING, waiting_for="dialog open")
    (changed,) = feed.update(SnapshotChange(snap(asks), changed=frozenset({a.key})))
    assert (
        event_line(changed)
        == "14:27:40 changed a\\x1b[31m (claude pid 100): status waiting (dialog open)"
    )
