"""OSC 777 through tmux passthrough, as the outer terminal receives it.

sessiontui runs in a pane of a real tmux server with ``allow-passthrough on``; a real client of
that server runs under ``script``, whose typescript is exactly what the outer terminal would
get. A session that starts waiting must arrive there as ``ESC ] 777 ; notify ; TITLE ; BODY
BEL`` (tmux unwraps the passthrough), with a hostile name unable to end or extend the sequence.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest
from tests.helpers import wait_until, write_entry

if TYPE_CHECKING:
    from collections.abc import Iterator

    import libtmux

README = Path(__file__).resolve().parents[2] / "README.md"

HOSTILE = "evil\x1b]777;notify;pwned;x\x07\x1b\\\x9c\x1b[2J\x1bPtmux;name"


def readme_passthrough_block() -> str:
    """The README's ```tmux block that allows passthrough."""
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^```tmux\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)
    (block,) = [b for b in blocks if "allow-passthrough" in b]
    return block


@pytest.fixture
def agents() -> Iterator[list[psutil.Popen]]:
    """Two live processes standing in for agents; killed at teardown."""
    procs = [psutil.Popen(["sleep", "300"]) for _ in range(2)]
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait()


@pytest.fixture
def client() -> Iterator[list[subprocess.Popen[bytes]]]:
    """The tmux client under ``script``; its process group is ended at teardown."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            proc.wait()


def test_waiting_session_reaches_the_outer_terminal_as_osc_777(
    server: libtmux.Server, tmp_path: Path, agents: list[psutil.Popen], client
) -> None:
    registry = tmp_path / "sessions"
    api, evil = agents
    write_entry(registry, api.pid, name="api", status="busy")
    write_entry(registry, evil.pid, name=HOSTILE, status="busy")
    config = tmp_path / "config.toml"
    config.write_text('notify = ["desktop"]\nwaiting_notify_delay_s = 0.2\n', encoding="utf-8")
    argv = [
        sys.executable, "-m", "sessiontui", "--no-codex",
        "--sessions-dir", str(registry), "--config", str(config),
    ]  # fmt: skip
    # The README's setting, loaded before sessiontui starts (it asks tmux once, at start-up).
    server.new_session("mon", window_command="cat", x=120, y=30)
    conf = tmp_path / "passthrough.conf"
    conf.write_text(readme_passthrough_block(), encoding="utf-8")
    assert server.cmd("source-file", str(conf)).returncode == 0
    assert server.cmd("show-options", "-gv", "allow-passthrough").stdout == ["on"]
    server.cmd("respawn-pane", "-k", "-t", "=mon:", "exec " + shlex.join(argv))

    typescript = tmp_path / "typescript"
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    env["TERM"] = "xterm-256color"
    attach = f"stty cols 120 rows 30; tmux -L {server.socket_name} attach-session -t =mon"
    client.append(
        subprocess.Popen(
            ["script", "-qfec", attach, str(typescript)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    )

    def screen() -> str:
        return "\n".join(server.cmd("capture-pane", "-p", "-t", "=mon:").stdout)

    wait_until(lambda: "api" in screen() and "evil" in screen(), 20, "the two sessions")
    write_entry(registry, api.pid, name="api", status="waiting", waitingFor="permission prompt")

    def output() -> bytes:
        return typescript.read_bytes() if typescript.exists() else b""

    expected = b"\x1b]777;notify;Waiting for you;api is waiting (permission prompt)\x07"
    wait_until(lambda: expected in output(), 15, "the OSC 777 sequence in the client's output")
    assert b"\x1bPtmux;" not in output()  # tmux unwrapped it for the outer terminal

    # A hostile name: what reaches the terminal is one sequence, with no ESC or BEL inside.
    write_entry(registry, evil.pid, name=HOSTILE, status="waiting")
    start = b"\x1b]777;notify;Waiting for you;evil"

    def hostile_sequence() -> bytes | None:
        data = output()
        at = data.find(start)
        end = data.find(b"\x07", at + 1) if at >= 0 else -1
        return data[at : end + 1] if end > 0 else None

    sequence = wait_until(hostile_sequence, 15, "the second OSC 777 sequence")
    payload = sequence[len(b"\x1b]777;notify;") : -1]
    assert not any(byte < 0x20 or byte == 0x7F for byte in payload), sequence
    assert payload == b"Waiting for you;evil]777;notify;pwned;x\\[2JPtmux;name is waiting"
