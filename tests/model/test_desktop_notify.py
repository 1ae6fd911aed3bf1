"""The desktop notification policy: per-session minute, burst summaries, focus (a fake clock)."""

from __future__ import annotations

from sessiontui.model.desktop import BODY_MAX_CHARS, DesktopNotifier
from sessiontui.model.text import strip_controls
from sessiontui.model.types import Session, Status


class Clock:
    """A clock the test moves by hand, seconds."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def session(key: str, name: str | None = None, waiting_for: str | None = None) -> Session:
    return Session(
        key=key,
        pid=1,
        agent="claude",
        name=name or key,
        status=Status.WAITING,
        waiting_for=waiting_for,
    )


def test_one_session_one_notice_after_the_burst_window():
    clock = Clock()
    notifier = DesktopNotifier(clock, burst_s=1.5)
    notifier.offer([session("a", "api", "permission prompt")])
    assert notifier.flush() is None  # the window is open
    assert notifier.next_deadline() == 1001.5
    clock.now = 1001.5
    notice = notifier.flush()
    assert notice is not None
    assert notice.title == "Waiting for you"
    assert notice.body == "api is waiting (permission prompt)"
    assert notice.keys == ("a",)
    assert notifier.flush() is None
    assert notifier.next_deadline() is None


def test_a_burst_becomes_one_summary():
    clock = Clock()
    notifier = DesktopNotifier(clock, burst_s=1.5)
    notifier.offer([session("a", "api")])
    clock.now += 0.5
    notifier.offer([session("b", "web"), session("c", "docs")])
    clock.now += 1.0
    notice = notifier.flush()
    assert notice is not None
    assert notice.body == "3 sessions are waiting: api, web, docs"
    assert notice.keys == ("a", "b", "c")


def test_at_most_one_notice_per_session_per_minute():
    clock = Clock()
    notifier = DesktopNotifier(clock, burst_s=0.0, per_session_s=60.0)
    notifier.offer([session("a")])
    assert notifier.flush() is not None
    clock.now += 30.0  # it stopped waiting and waits again: still within the minute
    notifier.offer([session("a")])
    assert notifier.flush() is None
    assert notifier.next_deadline() is None
    clock.now += 30.0  # a minute after the first notice
    notifier.offer([session("a"), session("b")])
    notice = notifier.flush()
    assert notice is not None
    assert notice.keys == ("a", "b")


def test_focused_or_no_longer_waiting_sessions_are_left_out():
    clock = Clock()
    notifier = DesktopNotifier(clock, burst_s=1.0)
    notifier.offer([session("a", "api"), session("b", "web"), session("c", "docs")])
    clock.now += 1.0
    notice = notifier.flush(focused_key="a", waiting_keys={"a", "b"})
    assert notice is not None
    assert notice.body == "web is waiting"
    notifier.offer([session("a")])  # "a" was never announced: it may be now
    clock.now += 1.0
    assert notifier.flush(focused_key="a") is None  # nobody left: nothing sent


def test_many_sessions_are_counted_and_the_body_is_capped():
    clock = Clock()
    notifier = DesktopNotifier(clock, burst_s=0.0)
    notifier.offer([session(f"k{i}", "n" * 80 + str(i)) for i in range(8)])
    notice = notifier.flush()
    assert notice is not None
    assert notice.body.startswith("8 sessions are waiting: ")
    assert len(notice.body) <= BODY_MAX_CHARS


def test_hostile_names_lose_every_control_character():
    clock = Clock()
    notifier = DesktopNotifier(clock, burst_s=0.0)
    hostile = "x\x1b]777;notify;pwn;\x07\x1b\\\x9c\x9d\x90\u202e\x00y\nz"
    notifier.offer([session("a", hostile, "perm\x1b[31mission")])
    notice = notifier.flush()
    assert notice is not None
    for text in (notice.title, notice.body):
        assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in text), repr(text)
        assert "\u202e" not in text
    assert notice.body == "x]777;notify;pwn;\\y z is waiting (perm[31mission)"


def test_strip_controls_caps_and_collapses():
    assert strip_controls("a\t\tb\r\n c ") == "a b c"
    assert strip_controls("abcdef", max_len=4) == "abc…"
    assert strip_controls("\x1b\x07") == ""


def test_a_remote_session_is_named_with_its_host():
    from sessiontui.model.types import with_changes

    clock = Clock()
    notifier = DesktopNotifier(clock, burst_s=1.5)
    remote = with_changes(session("box/a", "api", "permission prompt"), host="box\x1b]0;x\x07")
    notifier.offer([remote])
    clock.now += 1.5
    notice = notifier.flush()
    assert notice is not None
    assert notice.body == "api on box]0;x is waiting (permission prompt)"
