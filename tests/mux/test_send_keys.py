"""Typing into panes: ``send_text`` and ``send_keys`` of tmux and Zellij, on real servers.

The pane runs a key recorder (``tests.helpers.KEY_RECORDER``) that writes the exact bytes it
receives on its terminal, so each test checks what the program in the pane really got.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
from tests.helpers import recorded, recorder_argv, spawn_in_pane, wait_until
from tests.mux.test_zellij import ZellijEnv, needs_zellij, zenv  # noqa: F401

from sessiontui.mux.base import KEY_ENTER, KEY_ESCAPE

if TYPE_CHECKING:
    from pathlib import Path

    from libtmux import Server

    from sessiontui.mux.tmux import TmuxBackend

#: Text that tmux or a shell would read as something else if it were not typed literally: a
#: leading dash (an option), a trailing ``;`` (tmux's command separator), ``#{…}`` (a tmux
#: format), ``$HOME``, a key name, and characters beyond ASCII.
TRICKY = "-x Enter C-c #{pane_id} $HOME `id` \\; é ✓ 漢字 end;"


def _settled(record: Path, expected: bytes) -> bytes:
    """Wait until the recorder got ``expected`` (or 5 s), then a little more; return all."""
    wait_until(lambda: recorded(record) == expected, 5.0, f"the recorder to get {expected!r}")
    time.sleep(0.2)  # nothing more may arrive
    return recorded(record)


def test_tmux_types_text_literally_and_presses_keys(
    backend: TmuxBackend, server: Server, tmp_path: Path
) -> None:
    record = tmp_path / "keys"
    pane, _ = spawn_in_pane(server, "keys", tmp_path, recorder_argv(record))
    wait_until(lambda: (tmp_path / "keys.ready").exists(), 10.0, "the recorder")
    assert pane.pane_id is not None

    backend.send_text(pane.pane_id, TRICKY)
    assert _settled(record, TRICKY.encode()) == TRICKY.encode()

    backend.send_keys(pane.pane_id, [KEY_ENTER, KEY_ESCAPE, "1", "y", ";"])
    expected = TRICKY.encode() + b"\r\x1b1y;"
    assert _settled(record, expected) == expected
    backend.send_text(pane.pane_id, "")  # nothing to type: nothing typed
    assert recorded(record) == expected


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("line one\nline two", None),  # a newline would submit half of it
        ("\x1b[31m", None),  # an escape sequence
        ("ok\x9b", None),  # an 8-bit CSI
        ("a\u2028b", None),  # a line separator
        ("x" * 5000, None),  # longer than MAX_TEXT_CHARS
        (None, ["1", "C-c"]),  # a tmux key name is never passed on, not even after a good key
        (None, ["12"]),
        (None, ["\x03"]),
    ],
)
def test_tmux_refuses_control_text_and_unknown_keys_before_sending(
    backend: TmuxBackend,
    server: Server,
    tmp_path: Path,
    text: str | None,
    keys: list[str] | None,
) -> None:
    record = tmp_path / "keys"
    pane, _ = spawn_in_pane(server, "refuse", tmp_path, recorder_argv(record))
    wait_until(lambda: (tmp_path / "keys.ready").exists(), 10.0, "the recorder")
    assert pane.pane_id is not None

    pane_id = pane.pane_id

    def send() -> None:
        if text is not None:
            backend.send_text(pane_id, text)
        else:
            backend.send_keys(pane_id, keys or [])

    with pytest.raises(ValueError):  # noqa: PT011 - the message varies with the input
        send()

    time.sleep(0.3)
    assert recorded(record) == b""


def test_tmux_refuses_inexact_pane_targets(backend: TmuxBackend) -> None:
    for target in ("keys", "=keys", "%1;", "$0"):
        with pytest.raises(ValueError, match="exact tmux pane"):
            backend.send_text(target, "hi")
        with pytest.raises(ValueError, match="exact tmux pane"):
            backend.send_keys(target, [KEY_ENTER])


@needs_zellij
def test_zellij_types_text_literally_and_presses_keys(
    zenv: ZellijEnv,  # noqa: F811
    tmp_path: Path,
) -> None:
    zenv.start("keys")
    record = tmp_path / "keys"
    result = zenv.zellij("-s", "keys", "run", "--", *recorder_argv(record))
    assert result.returncode == 0, result.stderr
    pane = result.stdout.strip()
    wait_until(lambda: (tmp_path / "keys.ready").exists(), 15.0, "the recorder")
    server = zenv.server()

    server.send_text(pane, TRICKY, session="keys")
    assert _settled(record, TRICKY.encode()) == TRICKY.encode()
    server.send_keys(pane, [KEY_ENTER, KEY_ESCAPE, "1", "y"], session="keys")
    expected = TRICKY.encode() + b"\r\x1b1y"
    assert _settled(record, expected) == expected

    with pytest.raises(ValueError, match="control character"):
        server.send_text(pane, "two\nlines", session="keys")
    with pytest.raises(ValueError, match="not a key"):
        server.send_keys(pane, ["1", "Ctrl c"], session="keys")
    with pytest.raises(ValueError, match="needs its session"):
        server.send_keys(pane, [KEY_ENTER])
    time.sleep(0.3)
    assert recorded(record) == expected
