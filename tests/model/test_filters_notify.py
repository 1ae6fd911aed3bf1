"""The ``/`` filter qualifiers and the waiting notifier (pure logic on real values)."""

from __future__ import annotations

from sessiontui.model.filters import SessionFilter
from sessiontui.model.notify import WaitingNotifier
from sessiontui.model.types import MuxLocation, Session, Snapshot, Status


def session(key: str, status: Status, **kw: object) -> Session:
    fields: dict[str, object] = {"pid": 1, "agent": "claude", "name": key}
    fields.update(kw)
    return Session(key=key, status=status, **fields)  # type: ignore[arg-type]


BG_MUX = MuxLocation(
    type="tmux",
    socket="s",
    session_id="$1",
    session="nightly",
    window="0",
    pane="%1",
    session_kind="bg",
)


def test_qualifiers_and_free_text():
    api = session("api", Status.WAITING, cwd="/src/api")
    bg = session("nightly", Status.BUSY, cwd="/srv", mux=BG_MUX)
    codex = session("other", Status.IDLE, agent="codex")
    rows = [api, bg, codex]

    def keep(text: str) -> list[str]:
        f = SessionFilter.parse(text)
        return [s.key for s in rows if f.matches(s)]

    assert keep("") == ["api", "nightly", "other"]
    assert keep("s:waiting") == ["api"]
    assert keep("s:wait") == ["api"]
    assert keep("k:bg") == ["nightly"]
    assert keep("a:codex") == ["other"]
    assert keep("a:claude s:busy") == ["nightly"]
    assert keep("w:tmux:night") == ["nightly"]
    assert keep("src") == ["api"]
    assert keep("API") == ["api"]
    assert keep("x:unknown") == []  # an unknown qualifier is free text
    assert keep('"src/api') == ["api"]  # unbalanced quote while typing


def test_notifier_once_per_wait_after_delay():
    notifier = WaitingNotifier(delay_s=2.0)
    waiting = Snapshot(sessions=(session("a", Status.WAITING),))
    idle = Snapshot(sessions=(session("a", Status.IDLE),))
    notifier.observe(waiting, now=100.0)
    assert notifier.due(waiting, now=101.0) == []
    assert notifier.next_deadline() == 102.0
    assert [s.key for s in notifier.due(waiting, now=102.0)] == ["a"]
    assert notifier.due(waiting, now=110.0) == []  # never twice for the same wait
    notifier.observe(idle, now=111.0)
    notifier.observe(waiting, now=112.0)  # a new wait
    assert [s.key for s in notifier.due(waiting, now=114.5)] == ["a"]


def test_notifier_skips_the_focused_session():
    notifier = WaitingNotifier(delay_s=0.0)
    snap = Snapshot(sessions=(session("a", Status.WAITING), session("b", Status.WAITING)))
    notifier.observe(snap, now=1.0, focused_key="a")
    assert [s.key for s in notifier.due(snap, now=5.0, focused_key="a")] == ["b"]
    assert notifier.due(snap, now=9.0) == []  # "a"'s wait was seen while focused
