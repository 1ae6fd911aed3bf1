"""Acting on an agent from outside its pane: type a reply, answer its permission box, interrupt.

Keys go only to the pane that holds the session's own process, checked again just before
sending (:func:`verified_pane`: the process still has its recorded start time, and a fresh
poll of its server still maps it to that pane), and only when a fresh capture of that pane
shows what the action answers (:mod:`sessiontui.model.prompts`). Nothing is ever sent blind:
every refusal raises :class:`~sessiontui.errors.PromptNotShown` or
:class:`~sessiontui.errors.NotApplicable` before the first key.

Text from panes and registries is untrusted; it is parsed, compared and shown, never turned
into a command: only digits, ``Enter``, ``Escape`` and the user's own one-line reply are sent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sessiontui.errors import NotApplicable, PromptNotShown, SessiontuiError
from sessiontui.model import registry
from sessiontui.model.processes import is_alive
from sessiontui.model.prompts import (
    PERMISSION_WAITS,
    Answer,
    PermissionBox,
    PromptOption,
    find_permission_box,
    shows_busy,
)
from sessiontui.model.text import printable
from sessiontui.model.types import Status
from sessiontui.mux.base import CAP_SEND_KEYS, KEY_ENTER, KEY_ESCAPE, check_text

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from sessiontui.model.muxset import MuxSet
    from sessiontui.model.types import PaneInfo, Session
    from sessiontui.mux.base import Multiplexer

__all__ = [
    "Answer",
    "ReplyTiming",
    "answer_prompt",
    "interrupt_turn",
    "send_reply",
    "verified_pane",
]

#: Lines captured for a check: more than any pane is tall, so the whole screen is read.
SCREEN_LINES = 200


@dataclass(frozen=True, slots=True)
class ReplyTiming:
    """How long the confirmation of an answer or interrupt may take, all in seconds.

    Attributes:
        poll_s: Time between two reads of Claude's registry file while confirming.
        capture_s: Time between two captures of the pane while confirming (each is a
            multiplexer subprocess).
        confirm_s: Longest wait for the box (or the busy hint) to go away.
        settle_s: How long the cursor must rest on the chosen option before ``Enter``
            confirms it (Claude 2.1.332 ignores a digit typed just after the box appears).
        retry_s: When the cursor is not on the chosen option this long after the digit,
            the digit is typed again (only while the registry shows the same wait).
        text_settle_s: Pause between a reply's text and its ``Enter``, per agent (Codex
            treats an Enter that follows a burst of typing as part of a paste).
    """

    poll_s: float = 0.01
    capture_s: float = 0.04
    confirm_s: float = 2.0
    settle_s: float = 0.3
    retry_s: float = 0.4
    text_settle_s: float = 0.05
    codex_text_settle_s: float = 0.25


def verified_pane(muxes: MuxSet, session: Session) -> tuple[Multiplexer, PaneInfo]:
    """The pane that holds ``session``'s own process, checked afresh (SPEC 4, "pane is agent").

    The process must still run with its recorded start time (a reused PID is not the agent),
    its server must offer ``send_keys``, and a fresh poll of that server must map the
    process to the same pane the snapshot shows.

    Args:
        muxes: Every server in view.
        session: The row from the latest snapshot.

    Returns:
        The server and the fresh pane.

    Raises:
        NotApplicable: No pane, the process ended, the server cannot send keys, or the
            process no longer runs in that pane.
        MuxUnavailable, MuxError: The server failed.
    """
    name = printable(session.name)
    if session.mux is None:
        raise NotApplicable(f"{name!r} runs in no terminal pane")
    if not session.alive or session.pid <= 0 or not is_alive(session.pid, session.proc_start):
        raise NotApplicable(f"{name!r} is not running")
    mux = muxes.get(session.mux.socket)
    if CAP_SEND_KEYS not in mux.capabilities:
        raise NotApplicable(f"{mux.type} cannot send keys to a pane")
    found = mux.locate(session.pid, mux.list_panes())
    if (
        found is None
        or found.pane_id != session.mux.pane
        or (mux.type != "tmux" and found.session_id != session.mux.session_id)
    ):
        raise NotApplicable(
            f"{name!r} no longer runs in pane {printable(session.mux.pane)}; nothing was sent"
        )
    return mux, found


def _capture(mux: Multiplexer, pane: PaneInfo) -> str:
    """A fresh capture of the whole screen of ``pane``."""
    return mux.capture_pane(pane.pane_id, lines=SCREEN_LINES, session=pane.session_id)


def send_reply(
    muxes: MuxSet, session: Session, text: str, *, timing: ReplyTiming | None = None
) -> None:
    """Type ``text`` into the agent's pane, then press Enter (SPEC 4, key ``s``).

    Refused while the pane shows a permission box: a reply such as ``1`` would answer it.

    Args:
        muxes: Every server in view.
        session: The row from the latest snapshot.
        text: One line of printable text, not empty.
        timing: Pauses (default :class:`ReplyTiming`).

    Raises:
        NotApplicable: Empty or multi-line text, control characters, no verified pane.
        PromptNotShown: The pane shows a permission box (answer it with approve or deny).
        MuxUnavailable, MuxError: The server failed.
    """
    timing = timing or ReplyTiming()
    if not text.strip():
        raise NotApplicable("nothing to send: the reply is empty")
    try:
        check_text(text)
    except ValueError as error:
        raise NotApplicable(f"cannot send that reply: {error}") from None
    mux, pane = verified_pane(muxes, session)
    if find_permission_box(_capture(mux, pane)) is not None:
        raise PromptNotShown(
            f"{printable(session.name)!r} shows a permission prompt: approve (a) or deny (A) "
            "it first; nothing was sent"
        )
    mux.send_text(pane.pane_id, text, session=pane.session_id)
    pause = timing.codex_text_settle_s if session.agent == "codex" else timing.text_settle_s
    time.sleep(pause)
    mux.send_keys(pane.pane_id, [KEY_ENTER], session=pane.session_id)


def _check_waiting_for_permission(session: Session) -> None:
    """Refuse unless the row says the agent waits on a permission box."""
    name = printable(session.name)
    if session.agent not in ("claude", "codex"):
        raise NotApplicable(f"{name!r} is not an agent whose prompts sessiontui knows")
    if session.status is not Status.WAITING:
        raise NotApplicable(f"{name!r} is {session.status.value}, not waiting for a permission")
    if (session.waiting_for or "").lower() not in PERMISSION_WAITS:
        what = printable(session.waiting_for or "input")
        raise NotApplicable(f"{name!r} waits for {what}, not for a permission prompt")


def _wait_stamp(path: Path | None) -> tuple[str | None, str | None, int | None] | None:
    """``(status, waitingFor, statusUpdatedAt)`` of a registry file now, or ``None`` unreadable."""
    if path is None:
        return None
    try:
        entry = registry.read_entry(path)
    except (OSError, SessiontuiError):
        return None
    return entry.status, entry.waiting_for, entry.status_updated_at_ms


def answer_prompt(
    muxes: MuxSet,
    session: Session,
    *,
    approve: bool,
    timing: ReplyTiming | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Answer:
    """Choose the permission box's own "Yes" (``approve``) or "No" option (SPEC 4, ``a``/``A``).

    Checks, in order, before any key: the row waits for a permission prompt (for Claude the
    registry file is read again and must still say so); the pane holds the agent's process
    (:func:`verified_pane`); a fresh capture shows a permission box with a "Yes…" and a
    "No…" option. Then the option's number is typed, and captures follow until the box is
    gone. Claude 2.1.332 may ignore a digit typed just after the box appeared: while the
    registry still shows the *same* wait, the digit is typed again, and once the cursor rests
    on the chosen option ``Enter`` confirms it. Codex takes the digit at once; nothing else is
    sent to it.

    Args:
        muxes: Every server in view.
        session: The row from the latest snapshot.
        approve: True chooses "Yes" (this once), False chooses "No".
        timing: Poll and confirmation times (default :class:`ReplyTiming`).
        clock: Monotonic clock, seconds.

    Returns:
        What was chosen.

    Raises:
        NotApplicable: Not waiting for a permission, or no verified pane.
        PromptNotShown: The pane does not show a permission box (nothing was sent).
        SessiontuiError: The box was still shown ``confirm_s`` seconds later.
        MuxUnavailable, MuxError: The server failed.
    """
    timing = timing or ReplyTiming()
    _check_waiting_for_permission(session)
    name = printable(session.name)
    claude = session.agent == "claude"
    stamp = _wait_stamp(session.registry_path) if claude else None
    if stamp is not None and (stamp[0] != "waiting" or (stamp[1] or "") != "permission prompt"):
        raise NotApplicable(f"{name!r} no longer waits for a permission prompt")
    mux, pane = verified_pane(muxes, session)
    box = find_permission_box(_capture(mux, pane))
    if box is None:
        raise PromptNotShown(f"{name!r} does not show a permission prompt; nothing was sent")
    option = box.yes if approve else box.no
    keys_at = clock()
    mux.send_keys(pane.pane_id, [option.key], session=pane.session_id)
    entered = _confirm_answer(mux, pane, session, box, option, stamp, keys_at, timing, clock)
    return Answer(approved=approve, option=option, question=box.question, confirmed_enter=entered)


def _confirm_answer(
    mux: Multiplexer,
    pane: PaneInfo,
    session: Session,
    box: PermissionBox,
    option: PromptOption,
    stamp: tuple[str | None, str | None, int | None] | None,
    keys_at: float,
    timing: ReplyTiming,
    clock: Callable[[], float],
) -> bool:
    """Capture until ``box`` is gone (see :func:`answer_prompt`); True when Enter was pressed.

    Raises:
        SessiontuiError: The box is still shown after ``timing.confirm_s`` seconds.
    """
    deadline = keys_at + timing.confirm_s
    resting_since: float | None = None
    entered = False
    # Claude reports leaving the wait in its registry: one small file read per poll, while
    # each capture is a multiplexer subprocess that would compete with Claude for the CPU
    # just when it handles the key. So the screen is read only once the key had time to work.
    watch_registry = stamp is not None and session.agent == "claude"
    captured_at = keys_at
    while True:
        time.sleep(timing.poll_s if watch_registry else timing.capture_s)
        now = clock()
        current = _wait_stamp(session.registry_path) if watch_registry else None
        if current is not None and current != stamp:
            return entered  # Claude left that wait; a new box is not ours to answer
        if watch_registry and (
            now - keys_at < timing.settle_s or now - captured_at < timing.capture_s
        ):
            continue
        captured_at = now
        later = find_permission_box(_capture(mux, pane))
        if later is None or not later.same_box(box):
            return entered
        # The same box: only for Claude, and only while the registry shows the same wait
        # (not a new, identical prompt), may the answer be helped along.
        if watch_registry and current == stamp:
            if later.selected == option.number:
                resting_since = resting_since or now
                rested = now - resting_since >= timing.settle_s
                if not entered and rested and now - keys_at >= timing.settle_s:
                    mux.send_keys(pane.pane_id, [KEY_ENTER], session=pane.session_id)
                    entered, keys_at = True, now
            else:
                resting_since = None
                if now - keys_at >= timing.retry_s:
                    mux.send_keys(pane.pane_id, [option.key], session=pane.session_id)
                    keys_at = now
        if now >= deadline:
            raise SessiontuiError(
                f"{printable(session.name)!r} still shows its permission prompt after "
                f"{timing.confirm_s:g} s; attach to answer it"
            )


def interrupt_turn(
    muxes: MuxSet,
    session: Session,
    *,
    timing: ReplyTiming | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Press the agent's own interrupt key, Escape, once (SPEC 4, key ``i``).

    Claude and Codex (0.171.0, checked on the real binary) both stop a running turn on
    Escape. Sent only when the row is busy and a fresh capture shows a running turn (Claude:
    ``esc to interrupt`` in its footer; Codex: a braille spinner in the pane title): an Escape
    at an idle prompt is not harmless (Claude clears the input on a second one). Never sent
    twice.

    Args:
        muxes: Every server in view.
        session: The row from the latest snapshot.
        timing: Poll and confirmation times (default :class:`ReplyTiming`).
        clock: Monotonic clock, seconds.

    Returns:
        True when the pane stopped showing a running turn within ``timing.confirm_s``.

    Raises:
        NotApplicable: Not an agent sessiontui knows, not busy, or no verified pane.
        PromptNotShown: The pane does not show a running turn (nothing was sent).
        MuxUnavailable, MuxError: The server failed.
    """
    timing = timing or ReplyTiming()
    name = printable(session.name)
    if session.agent not in ("claude", "codex"):
        raise NotApplicable(f"{name!r} is not an agent whose interrupt key sessiontui knows")
    if session.status is not Status.BUSY:
        raise NotApplicable(f"{name!r} is {session.status.value}; only a busy turn is interrupted")
    mux, pane = verified_pane(muxes, session)
    if not shows_busy(session.agent, _capture(mux, pane), pane.title):
        raise PromptNotShown(f"{name!r} does not show a running turn; nothing was sent")
    sent_at = clock()
    mux.send_keys(pane.pane_id, [KEY_ESCAPE], session=pane.session_id)
    while clock() - sent_at < timing.confirm_s:
        time.sleep(timing.capture_s)
        fresh = mux.locate(session.pid, mux.list_panes()) if session.agent == "codex" else pane
        title = fresh.title if fresh is not None else ""
        if not shows_busy(session.agent, _capture(mux, pane), title):
            return True
    return False
