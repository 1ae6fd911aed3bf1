"""The protocol's line codec: compact lines, a size limit, and typed refusals."""

from __future__ import annotations

import json

import pytest

from sessiontui.errors import ProtocolError
from sessiontui.remote import protocol


def test_encode_writes_one_compact_utf8_line() -> None:
    line = protocol.encode(protocol.hello("box", 12.5))
    assert line == b'{"t":"hello","v":1,"host":"box","clock":12.5}\n'
    assert protocol.encode({"t": "x", "name": "é\n"}) == '{"t":"x","name":"é\\n"}\n'.encode()


def test_encode_refuses_a_line_over_the_limit() -> None:
    with pytest.raises(ValueError, match="over"):
        protocol.encode({"t": "x", "big": "a" * protocol.MAX_LINE_BYTES})


def test_encode_refuses_nan() -> None:
    with pytest.raises(ValueError, match="JSON"):
        protocol.encode({"t": "x", "v": float("nan")})


def test_decode_reads_what_encode_writes() -> None:
    message = protocol.call(3, "rename", "claude:1:2", {"name": "x"})
    assert protocol.decode(protocol.encode(message)) == message


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"\n",
        b"garbage\n",
        b"\xff\xfe{}\n",
        b"[1, 2]\n",
        b'"t"\n',
        b"{}\n",
        b'{"t": 5}\n',
        b'{"t": "call", "v": NaN}\n',
        b'{"t": "call", "v": Infinity}\n',
        b"[" * 200_000 + b"]" * 200_000 + b"\n",
        b'{"t": "call"',
    ],
)
def test_decode_refuses_malformed_lines(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        protocol.decode(line)


def test_decode_refuses_an_oversized_line() -> None:
    line = json.dumps({"t": "x", "pad": "a" * protocol.MAX_LINE_BYTES}).encode()
    with pytest.raises(ProtocolError, match="over the limit"):
        protocol.decode(line)


def test_a_call_names_only_a_listed_verb() -> None:
    assert "attach_plan" in protocol.VERBS
    assert len(protocol.VERBS) == 10
    with pytest.raises(ValueError, match="unknown verb"):
        protocol.call(1, "run_shell", "k")


def test_results_and_notices_have_the_agreed_shapes() -> None:
    assert protocol.ok_result(4, text="x") == {"t": "result", "id": 4, "ok": True, "text": "x"}
    assert protocol.error_result(4, "TargetNotFound", "gone") == {
        "t": "result",
        "id": 4,
        "ok": False,
        "error": "TargetNotFound",
        "message": "gone",
    }
    assert protocol.error_notice("ProtocolError", "bad")["t"] == "error"
    assert protocol.change([], ["k"], None) == {"t": "change", "upsert": [], "remove": ["k"]}
    assert protocol.change([], [], ["tmux down"])["health"] == ["tmux down"]
    assert protocol.snapshot([], []) == {"t": "snapshot", "sessions": [], "health": []}
    assert protocol.ping() == {"t": "ping"}


def test_a_lone_surrogate_travels_as_its_json_escape() -> None:
    line = protocol.encode({"t": "x", "name": "bad\udcff"})
    line.decode("utf-8")
    assert protocol.decode(line)["name"] == "bad\udcff"


def test_a_line_is_one_line_for_text_readers_too() -> None:
    name = "a\x85b\u2028c\u2029d\x1ce\r\nf"
    line = protocol.encode({"t": "x", "name": name})
    assert len(line.decode("utf-8").splitlines()) == 1
    assert protocol.decode(line)["name"] == name


def test_error_class_maps_only_the_projects_own_errors() -> None:
    from sessiontui import errors

    assert protocol.error_class("TargetNotFound") is errors.TargetNotFound
    assert protocol.error_class("PromptNotShown") is errors.PromptNotShown
    assert protocol.error_class("ProtocolError") is errors.ProtocolError
    for name in ("SystemExit", "Exception", "annotations", "__class__", "x", 5, None):
        assert protocol.error_class(name) is errors.SessiontuiError
