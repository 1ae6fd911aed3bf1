"""Small shared test helpers: polling waits, registry entries for real processes."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from sessiontui.model.processes import read_proc_start

if TYPE_CHECKING:
    from collections.abc import Callable

    import libtmux


def wait_until(
    predicate: Callable[[], Any],
    timeout_s: float = 15.0,
    what: str = "condition",
    interval_s: float = 0.02,
) -> Any:
    """Poll ``predicate`` until it returns a truthy value, and return that value.

    Raises:
        AssertionError: ``timeout_s`` seconds passed first (the message names ``what``).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


def ci_cache_bin(package: str, executable: str) -> Path:
    """Where a ``.ci/install-*.sh`` script puts ``executable`` of an npm package.

    ``${SESSIONTUI_CACHE:-${XDG_CACHE_HOME:-~/.cache}/sessiontui-ci}/<package>/node_modules/
    .bin/<executable>``. Call it at import time: the autouse fixture replaces HOME per test.
    """
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    root = os.environ.get("SESSIONTUI_CACHE") or str(Path(xdg) / "sessiontui-ci")
    return Path(root) / package / "node_modules" / ".bin" / executable


def is_gone(proc: psutil.Process) -> bool:
    """Return True when ``proc`` has exited (a zombie nobody reaps counts as exited)."""
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:
        return False


def write_entry(directory: Path, pid: int, **fields: object) -> Path:
    """Write ``<pid>.json`` like Claude Code does (compact, no newline), with a real procStart."""
    directory.mkdir(parents=True, exist_ok=True)
    data: dict[str, object] = {"pid": pid}
    start = read_proc_start(pid)
    if start is not None:
        data["procStart"] = start
    data.update(fields)
    path = directory / f"{pid}.json"
    path.write_text(json.dumps(data, separators=(",", ":")))
    return path


def run_cli(
    *args: str, timeout_s: float = 30.0, stdin: int | None = subprocess.DEVNULL
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sessiontui ARGS`` as a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "sessiontui", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        stdin=stdin,
        check=False,
    )


def attach_client(socket_name: str, target: str) -> subprocess.Popen[bytes]:
    """Start a real tmux client attached to ``target`` (under ``script`` for a pty).

    The caller must wait until ``list-clients`` shows it, and kill it at teardown.
    """
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    env["TERM"] = "xterm-256color"
    command = f"tmux -L {socket_name} attach-session -t {target}"
    return subprocess.Popen(
        ["script", "-qfec", command, "/dev/null"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )


def client_sessions(server_cmd: Callable[..., object]) -> list[str]:
    """Session names of the attached (non-control) clients, via ``list-clients``."""
    result = server_cmd("list-clients", "-F", "#{client_control_mode} #{session_name}")
    lines: list[str] = getattr(result, "stdout", [])
    return [line.split(" ", 1)[1] for line in lines if line.startswith("0 ")]


def spawn_in_pane(
    server: libtmux.Server, session_name: str, cwd: Path, argv: list[str]
) -> tuple[libtmux.Pane, int]:
    """Run ``argv`` in the pane of a new 120x40 session, as that pane's own process.

    The pane starts as a placeholder, gets ``remain-on-exit`` (a failed start leaves its output
    to read) and is respawned with ``exec ARGV``: the pane PID is the program's PID.

    Returns:
        The pane and the program's PID.
    """
    session = server.new_session(
        session_name=session_name, window_command="cat", start_directory=str(cwd), x=120, y=40
    )
    pane = session.active_window.active_pane
    assert pane is not None
    assert pane.pane_id is not None
    server.cmd("set-option", "-w", "-t", pane.pane_id, "remain-on-exit", "on")
    server.cmd("respawn-pane", "-k", "-t", pane.pane_id, "-c", str(cwd), "exec " + shlex.join(argv))
    pid = int(server.cmd("display-message", "-p", "-t", pane.pane_id, "#{pane_pid}").stdout[0])
    return pane, pid


#: A stand-in pane program that records every byte typed into it, raw, in ``argv[1]``: it
#: first prints the file ``argv[2]`` if given (a screen to show, e.g. a captured permission
#: box), touches ``argv[1] + ".ready"``, then reads its terminal in raw mode (no echo, so what
#: is typed never changes the screen). With ``argv[3]``, the first key typed clears the screen
#: and shows that file instead (as an agent closes its box once answered).
KEY_RECORDER = (
    "import os, sys, tty\n"
    "def show(path):\n"
    "    text = open(path, encoding='utf-8').read().rstrip('\\n')\n"
    "    sys.stdout.write(text.replace('\\n', '\\r\\n'))\n"
    "    sys.stdout.flush()\n"
    "if len(sys.argv) > 2:\n"
    "    show(sys.argv[2])\n"
    "else:\n"
    "    sys.stdout.write('recorder ready')\n"
    "    sys.stdout.flush()\n"
    "tty.setraw(0)\n"
    "out = open(sys.argv[1], 'ab', buffering=0)\n"
    "open(sys.argv[1] + '.ready', 'w').close()\n"
    "after = sys.argv[3] if len(sys.argv) > 3 else None\n"
    "while True:\n"
    "    data = os.read(0, 4096)\n"
    "    if not data:\n"
    "        break\n"
    "    out.write(data)\n"
    "    if after:\n"
    "        sys.stdout.write('\\x1b[2J\\x1b[H')\n"
    "        show(after)\n"
    "        after = None\n"
)


def recorder_argv(record: Path, screen: Path | None = None, after: Path | None = None) -> list[str]:
    """The argv of :data:`KEY_RECORDER`: record into ``record``, show ``screen``, then ``after``."""
    extra = [str(screen)] if screen else []
    if after is not None:
        extra = [str(screen or "/dev/null"), str(after)]
    return [sys.executable, "-c", KEY_RECORDER, str(record), *extra]


def recorded(record: Path) -> bytes:
    """What the key recorder has received so far (``b""`` before anything)."""
    try:
        return record.read_bytes()
    except FileNotFoundError:
        return b""
