"""The desktop transport: exact OSC bytes, tmux passthrough, the choice, a real notify-send."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from typing import TYPE_CHECKING

import pytest

from sessiontui.desktop import (
    Transport,
    choose_transport,
    notify_send_argv,
    osc9,
    osc777,
    tmux_passthrough,
    tmux_passthrough_allowed,
)
from sessiontui.model.text import strip_controls

if TYPE_CHECKING:
    from pathlib import Path

#: A name that tries every way out of an OSC payload: ESC, BEL, 7-bit ST, C1 ST/OSC/DCS, NUL.
HOSTILE = "a\x1b]777;notify;x;y\x07b\x1b\\c\x9cd\x9de\x90f\x00g\x1bPtmux;h\u202ei"

#: ``notify-send`` as a real program on PATH: appends its argv (JSON, one line a run) to a file.
RECEIVER = (
    "#!{python}\n"
    "import json, os, sys\n"
    "with open(os.environ['NOTIFY_RECORD'], 'a', encoding='utf-8') as out:\n"
    "    out.write(json.dumps(sys.argv[1:]) + '\\n')\n"
)


def install_receiver(bin_dir: Path) -> Path:
    """Write the ``notify-send`` receiver into ``bin_dir``; return its record file."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    program = bin_dir / "notify-send"
    program.write_text(RECEIVER.format(python=sys.executable), encoding="utf-8")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return bin_dir / "record.jsonl"


def received(record: Path) -> list[list[str]]:
    """Every argv the receiver got so far (without the program name)."""
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]


def test_exact_osc_bytes():
    assert osc777("Waiting for you", "api is waiting") == (
        "\x1b]777;notify;Waiting for you;api is waiting\x07"
    )
    assert osc9("Waiting for you", "api is waiting") == "\x1b]9;Waiting for you: api is waiting\x07"
    wrapped = tmux_passthrough(osc777("T", "B"))
    assert wrapped == "\x1bPtmux;\x1b\x1b]777;notify;T;B\x07\x1b\\"
    assert Transport("osc777", in_tmux=True).sequence("T", "B") == wrapped
    assert Transport("osc9").sequence("T", "B") == "\x1b]9;T: B\x07"
    assert Transport("notify-send").sequence("T", "B") == ""


@pytest.mark.parametrize("build", [osc777, osc9])
def test_hostile_text_never_puts_a_control_character_in_the_payload(build):
    sequence = build(HOSTILE, HOSTILE)
    prefix = "\x1b]777;notify;" if build is osc777 else "\x1b]9;"
    assert sequence.startswith(prefix)
    assert sequence.endswith("\x07")
    payload = sequence[len(prefix) : -1]
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in payload), repr(payload)
    assert "\u202e" not in payload
    if build is osc777:
        title, body = payload.split(";", 1)
        assert title == strip_controls(HOSTILE).replace(";", "")  # it cannot add a field
        assert body == strip_controls(HOSTILE)
    wrapped = tmux_passthrough(sequence)
    inner = wrapped[len("\x1bPtmux;") : -2]
    # Inside the passthrough only the doubled ESC that opens the OSC appears.
    assert inner.count("\x1b") == 2
    assert inner.startswith("\x1b\x1b]")


def test_text_is_capped():
    sequence = osc777("t" * 500, "b" * 5000)
    assert len(sequence) < 400
    argv = notify_send_argv("-t" * 300, "b" * 5000)
    assert argv[:2] == ["notify-send", "--"]  # a title starting with "-" is no option
    assert len(argv[2]) <= 80
    assert len(argv[3]) <= 240


def test_choice_of_transport(tmp_path):
    with_program = str(tmp_path / "bin")
    install_receiver(tmp_path / "bin")
    without = str(tmp_path / "empty")
    tmux = {"TMUX": "/tmp/tmux-1/default,1,0", "TMUX_PANE": "%1"}

    def choose(method: str, env: dict[str, str], allowed: bool = True) -> Transport:
        return choose_transport(method, env, passthrough=lambda: allowed)

    assert choose("auto", {**tmux, "PATH": with_program}) == Transport("osc777", in_tmux=True)
    sent = choose("auto", {**tmux, "PATH": with_program}, allowed=False)
    assert (sent.kind, sent.program) == ("notify-send", str(tmp_path / "bin" / "notify-send"))
    nothing = choose("auto", {**tmux, "PATH": without}, allowed=False)
    assert nothing.kind == "none"
    assert "allow-passthrough" in nothing.warning
    assert choose("auto", {"PATH": with_program}).kind == "notify-send"
    assert choose("auto", {"PATH": without}) == Transport("osc777")
    assert choose("osc9", {**tmux, "PATH": with_program}) == Transport("osc9", in_tmux=True)
    assert "allow-passthrough" in choose("osc777", {**tmux, "PATH": ""}, allowed=False).warning
    assert choose("notify-send", {"PATH": without}).kind == "none"
    with pytest.raises(ValueError, match="unknown desktop method"):
        choose("growl", {})


def test_a_real_notify_send_receives_clean_argv(tmp_path, monkeypatch):
    record = install_receiver(tmp_path / "bin")
    monkeypatch.setenv("NOTIFY_RECORD", str(record))
    transport = choose_transport("notify-send", {"PATH": str(tmp_path / "bin")})
    assert transport.kind == "notify-send"
    written: list[str] = []
    transport.send("Waiting for you", HOSTILE, written.append)
    assert written == []  # nothing goes to the terminal
    ((dashdash, title, body),) = received(record)
    assert (dashdash, title) == ("--", "Waiting for you")
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in body), repr(body)
    assert body.startswith("a]777")


def test_tmux_passthrough_query_on_a_real_server():
    socket = f"pt-{uuid.uuid4().hex[:6]}"
    base = ["tmux", "-L", socket, "-f", "/dev/null"]
    subprocess.run([*base, "new-session", "-d", "-s", "a", "cat"], check=True)
    try:
        pane = subprocess.run(
            [*base, "list-panes", "-F", "#{pane_id}"], capture_output=True, text=True, check=True
        ).stdout.strip()
        server = subprocess.run(
            [*base, "display-message", "-p", "#{socket_path}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        # tmux finds the server through $TMUX, as it does inside the pane.
        env = {**os.environ, "TMUX": f"{server},1,0", "TMUX_PANE": pane}
        assert tmux_passthrough_allowed(env) is False
        subprocess.run([*base, "set-option", "-g", "allow-passthrough", "on"], check=True)
        assert tmux_passthrough_allowed(env) is True
        subprocess.run([*base, "set-option", "-p", "-t", pane, "allow-passthrough", "off"])
        assert tmux_passthrough_allowed(env) is False  # the pane's own value wins
    finally:
        subprocess.run([*base, "kill-server"], check=False)
