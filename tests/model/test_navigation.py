"""The one jump algorithm (``w``, ``tab``, ``1``-``9``, ``attach --waiting``), without tmux."""

from __future__ import annotations

from sessiontui.model.navigation import JumpHistory, next_waiting, nth_row
from sessiontui.model.types import MuxLocation, Session, Status


def session(key: str, status: Status = Status.WAITING, pane: str | None = None) -> Session:
    mux = None
    if pane is not None:
        mux = MuxLocation(
            type="tmux", socket="/s", session_id="$1", session="s", window="0", pane=pane
        )
    return Session(key=key, pid=1, agent="claude", name=key, status=status, mux=mux)


A, B, C = session("a", pane="%1"), session("b", pane="%2"), session("c", pane="%3")
IDLE = session("idle", Status.IDLE, pane="%9")


def test_no_waiting_session() -> None:
    assert next_waiting([]) is None
    assert next_waiting([IDLE]) is None
    assert JumpHistory().next_waiting([IDLE]) is None


def test_first_waiting_without_any_hint() -> None:
    assert next_waiting([IDLE, A, B]) is A


def test_the_one_after_the_shown_pane_cycles() -> None:
    sessions = [A, B, C, IDLE]
    assert next_waiting(sessions, shown_pane=("/s", "%1")) is B
    assert next_waiting(sessions, shown_pane=("/s", "%3")) is A
    assert next_waiting(sessions, shown_pane=("/s", "%9")) is A  # an idle pane is no position


def test_shown_pane_wins_over_the_last_jump() -> None:
    assert next_waiting([A, B, C], shown_pane=("/s", "%2"), last_key="a") is C
    assert next_waiting([A, B, C], shown_pane=("/s", "%7"), last_key="a") is B


def test_a_last_jump_that_stopped_waiting_starts_over() -> None:
    assert next_waiting([A, C], last_key="b") is A


def test_history_cycles_and_remembers() -> None:
    history = JumpHistory()
    order = [history.next_waiting([A, B, C]) for _ in range(4)]
    assert [s.key for s in order if s] == ["a", "b", "c", "a"]
    assert history.last_waiting == "a"


def test_back_goes_to_the_one_attached_before() -> None:
    history = JumpHistory()
    assert history.back([A, B]) is None
    history.attached("a")
    assert history.back([A, B]) is None
    history.attached("b")
    history.attached("b")  # attaching the same one again changes nothing
    assert history.back([A, B]) is A
    assert (history.attached_key, history.previous_key) == ("b", "a")
    assert history.back([B]) is None  # the earlier one is gone


def test_nth_row() -> None:
    keys = ["x", "y", "z"]
    assert [nth_row(keys, n) for n in range(5)] == [None, "x", "y", "z", None]


def test_docstring_examples() -> None:
    import doctest

    from sessiontui.model import navigation

    assert doctest.testmod(navigation).failed == 0


def test_the_same_pane_id_on_another_server_is_not_the_shown_pane() -> None:
    other = Session(
        key="other",
        pid=2,
        agent="claude",
        name="other",
        status=Status.WAITING,
        mux=MuxLocation(
            type="tmux", socket="/t", session_id="$1", session="s", window="0", pane="%1"
        ),
    )
    # Our client shows %1 on server /t (not %1 on /s): the next waiting one is after it.
    assert next_waiting([A, other, B], shown_pane=("/t", "%1")) is B
    assert next_waiting([A, other, B], shown_pane=("/s", "%1")) is other
