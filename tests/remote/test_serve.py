"""``sessiontui serve --stdio`` as a real subprocess: the stream, the verbs, hostile input."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pytest
from tests.helpers import (
    client_sessions,
    is_gone,
    recorded,
    recorder_argv,
    spawn_in_pane,
    wait_until,
    write_entry,
)

from sessiontui.model.wire import session_from_json
from sessiontui.remote import protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import libtmux

ISOLATED = ("--no-codex", "--no-zellij")


class Serve:
    """A running ``sessiontui serve --stdio``; its stdout lines are decoded by a thread."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sessiontui", "serve", "--stdio", *ISOLATED, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.raw: list[bytes] = []
        self.stderr = b""
        self._ids = iter(range(1, 1_000_000))
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.raw.append(line)
            self.messages.put(protocol.decode(line))

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    def next(self, match: Callable[[dict[str, Any]], bool], timeout_s: float = 15.0) -> dict:
        """The next message ``match`` accepts (earlier ones are dropped)."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching message; stderr: {self.stderr!r}")
            with contextlib.suppress(queue.Empty):
                message = self.messages.get(timeout=left)
                if match(message):
                    return message

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def call(self, verb: str, key: str, timeout_s: float = 15.0, **args: object) -> dict:
        """Send one call and return its result."""
        call_id = next(self._ids)
        self.write(protocol.encode({"t": "call", "id": call_id, "verb": verb, "key": key,
                                    "args": args}))  # fmt: skip
        return self.next(lambda m: m["t"] == "result" and m["id"] == call_id, timeout_s)

    def start(self) -> tuple[dict, dict]:
        """The hello and the snapshot."""
        hello = self.next(lambda m: True)
        snapshot = self.next(lambda m: True)
        return hello, snapshot

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def serves() -> Iterator[Callable[..., Serve]]:
    """Start ``serve`` processes; each is stopped at teardown."""
    started: list[Serve] = []

    def start(*args: str) -> Serve:
        serve = Serve(*args)
        started.append(serve)
        return serve

    yield start
    for serve in started:
        serve.stop()


def _session(snapshot: dict, pid: int) -> dict:
    return next(s for s in snapshot["sessions"] if s["pid"] == pid)


def test_hello_snapshot_then_only_what_changed(
    registry: Path, sleeper, serves, tmp_path: Path
) -> None:
    path = write_entry(registry, sleeper.pid, name="alpha", status="idle", sessionId="s-1")
    serve = serves("--sessions-dir", str(registry))
    hello, snapshot = serve.start()
    assert hello["t"] == "hello"
    assert hello["v"] == protocol.PROTOCOL_VERSION
    assert hello["host"] == socket.gethostname()
    assert abs(hello["clock"] - time.time()) < 60
    assert snapshot["t"] == "snapshot"
    assert isinstance(snapshot["health"], list)
    row = _session(snapshot, sleeper.pid)
    assert (row["name"], row["status"], row["session_id"]) == ("alpha", "idle", "s-1")
    decoded = session_from_json(row, host="box", key_prefix="box/")
    assert decoded.key == f"box/{row['key']}"
    assert decoded.pid == sleeper.pid

    write_entry(registry, sleeper.pid, name="alpha", status="waiting", waitingFor="permission")
    change = serve.next(lambda m: m["t"] == "change" and m["upsert"])
    (upserted,) = change["upsert"]
    assert upserted["key"] == row["key"]
    assert (upserted["status"], upserted["waiting_for"]) == ("waiting", "permission")
    assert change["remove"] == []
    written = path.read_bytes(), path.stat().st_mtime_ns

    sleeper.kill()
    sleeper.wait()
    died = serve.next(lambda m: m["t"] == "change" and m["upsert"])
    assert died["upsert"][0]["status"] == "dead"
    # Listing changed no file: the registry entry as written, no names store.
    assert (path.read_bytes(), path.stat().st_mtime_ns) == written
    assert not [p for p in (tmp_path / "state").rglob("*") if p.is_file()]
    path.unlink()
    gone = serve.next(lambda m: m["t"] == "change" and m["remove"])
    assert gone["remove"] == [row["key"]]

    assert serve.proc.stdin is not None
    serve.proc.stdin.close()
    assert serve.proc.wait(timeout=10) == 0


def test_pings_come_every_ping_interval(registry: Path, serves) -> None:
    """The interval is 10 s in production; the test asks the function for a short one."""
    code = (
        "import io, sys, time\n"
        "from sessiontui.model.monitor import Monitor\n"
        "from sessiontui.remote.serve import serve\n"
        "m = Monitor(sessions_dir=__import__('pathlib').Path(sys.argv[1]))\n"
        "sys.exit(serve(m, sys.stdin.buffer, sys.stdout.buffer, host='h', ping_s=0.2))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(registry)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        kinds = [json.loads(proc.stdout.readline())["t"] for _ in range(4)]
        assert kinds[:2] == ["hello", "snapshot"]
        assert "ping" in kinds[2:]
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0


@pytest.fixture
def pane_agent(server: libtmux.Server, registry: Path, tmp_path: Path) -> Iterator[int]:
    """A process in a pane of the test's tmux server, listed in the registry as ``agent``."""
    argv = ["bash", "-c", "echo hello-from-the-pane; exec sleep 300"]
    _pane, pid = spawn_in_pane(server, "work", tmp_path, argv)
    wait_until(lambda: psutil.Process(pid).name() == "sleep", 10, "the pane's sleep")
    write_entry(registry, pid, name="agent", status="idle", sessionId="s-pane")
    yield pid
    with contextlib.suppress(psutil.Error):
        psutil.Process(pid).kill()


def test_verbs_on_a_tmux_pane(
    server: libtmux.Server, registry: Path, pane_agent: int, serves
) -> None:
    socket_name = server.socket_name or ""
    serve = serves("--sessions-dir", str(registry), "-L", socket_name, "--no-discover")
    _hello, snapshot = serve.start()
    row = _session(snapshot, pane_agent)
    while row["mux"] is None:  # placed by the first tmux poll after the snapshot
        change = serve.next(lambda m: m["t"] == "change")
        row = next((s for s in change["upsert"] if s["pid"] == pane_agent), row)
    key = row["key"]
    assert row["mux"]["session"] == "work"

    preview = serve.call("preview", key, lines=20)
    assert preview["ok"] is True
    assert "hello-from-the-pane" in preview["text"]

    plan = serve.call("attach_plan", key)
    assert plan["ok"] is True, plan
    argv = plan["argv"]
    assert all(isinstance(a, str) for a in argv)
    # The plan attaches from a plain terminal: run it as a client and see it attached.
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    client = subprocess.Popen(
        ["script", "-qfec", shlex.join(argv), "/dev/null"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**env, "TERM": "xterm-256color"},
        start_new_session=True,
    )
    try:
        wait_until(lambda: client_sessions(server.cmd) == ["work"], 10, "the attached client")
        detached = serve.call("detach", key)
        assert detached == {"t": "result", "id": detached["id"], "ok": True, "detached": 1}
        wait_until(lambda: client_sessions(server.cmd) == [], 10, "the client detached")
    finally:
        client.kill()
        client.wait()

    sent_before = len(serve.raw)
    renamed = serve.call("rename", key, name="renamed over the wire")
    assert renamed["ok"] is True, renamed
    assert json.loads((registry / f"{pane_agent}.json").read_text())["name"] == (
        "renamed over the wire"
    )

    def new_name_sent() -> bool:
        """A change with the new name came after the call was sent.

        It may come before the call's result (``call`` drops what precedes the result) or
        after it, behind an older change (the detach's) still on its way.
        """
        changes = (protocol.decode(line) for line in serve.raw[sent_before:])
        return any(
            m["t"] == "change"
            and any(s["key"] == key and s["name"] == "renamed over the wire" for s in m["upsert"])
            for m in changes
        )

    wait_until(new_name_sent, 15, "a change carrying the new name")

    agent = psutil.Process(pane_agent)
    killed = serve.call("kill", key, grace_s=2)
    assert killed["ok"] is True, killed
    assert killed["pid"] == pane_agent
    assert pane_agent in killed["terminated"] + killed["killed"]
    wait_until(lambda: is_gone(agent), 10, "the agent to end")

    gone = serve.call("preview", "claude:1:nothing", lines=5)
    assert (gone["ok"], gone["error"]) == (False, "TargetNotFound")


def test_hostile_lines_run_nothing_and_serving_goes_on(
    registry: Path, sleeper, serves, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    write_entry(registry, sleeper.pid, name="victim", status="idle")
    serve = serves("--sessions-dir", str(registry))
    _hello, snapshot = serve.start()
    key = _session(snapshot, sleeper.pid)["key"]
    touch = f"$(touch {marker})"

    def notice() -> dict:
        return serve.next(lambda m: m["t"] == "error")

    serve.write(b"\x00\xff\xfe garbage \x1b[31m\n")
    assert notice()["error"] == "ProtocolError"
    serve.write(b"[" * 200_000 + b"]" * 200_000 + b"\n")
    assert notice()["error"] == "ProtocolError"
    serve.write(b'{"t": "call", "id": 1, "verb": "preview", "key": "' + b"a" * (2 << 20) + b'"}\n')
    assert "size limit" in notice()["message"]
    serve.write(b'{"t": "call", "id": "7", "verb": "kill", "key": "x"}\n')
    assert "id" in notice()["message"]
    serve.write(b"[1, 2, 3]\n")
    notice()
    serve.write(b'{"t": "call", "id": 8, "verb": "dismiss", "key": "x", "v": NaN}\n')
    notice()

    def refused(result: dict, *words: str) -> None:
        assert (result["ok"], result["error"]) == (False, "ProtocolError"), result
        for word in words:
            assert word in result["message"]

    refused(serve.call("sh", f"; rm -rf {tmp_path}; {touch}"), "unknown verb")
    refused(serve.call(f"preview; {touch}", key), "unknown verb")
    refused(serve.call("preview", key, lines="10; reboot"), "lines")
    refused(serve.call("preview", key, lines=10**9), "lines")
    refused(serve.call("rename", key, name=["a", "b"]), "name")
    refused(serve.call("kill", key, grace_s="0"), "grace_s")
    serve.write(
        b'{"t": "call", "id": 98, "verb": "kill", "key": "k", "args": {"grace_s": 1e999}}\n'
    )
    refused(serve.next(lambda m: m.get("id") == 98), "grace_s")
    refused(serve.call("kill", key, delete_data="yes"), "delete_data")
    serve.write(b'{"t": "call", "id": 99, "verb": "preview", "key": 5}\n')
    refused(serve.next(lambda m: m.get("id") == 99), "key")
    serve.write(b'{"t": "call", "id": 100, "verb": "send", "key": "k", "args": "text"}\n')
    refused(serve.next(lambda m: m.get("id") == 100), "args")
    serve.write(b'{"t": "hello", "id": 101}\n')
    refused(serve.next(lambda m: m.get("id") == 101), "unexpected")

    # Shell text in a real verb's argument is a name, literally, never a command.
    for hostile in (touch, f"`touch {marker}`; rm -rf /", "a && touch x | cat"):
        for verb in ("send", "rename"):
            result = serve.call(verb, f"{key}; {touch}", text=hostile, name=hostile)
            assert (result["ok"], result["error"]) == (False, "TargetNotFound"), result
    renamed = serve.call("rename", key, name=touch)
    assert renamed["ok"] is True, renamed
    assert json.loads((registry / f"{sleeper.pid}.json").read_text())["name"] == touch

    time.sleep(0.5)
    assert not marker.exists()
    assert sleeper.poll() is None
    assert serve.proc.poll() is None
    later = serve.call("preview", key, lines=5)
    assert later["ok"] is False
    assert later["error"] == "NotApplicable"  # no pane: a typed answer, still serving
    assert b"Traceback" not in serve.stderr


def test_closing_stdin_ends_serve_and_everything_it_started(
    server: libtmux.Server, registry: Path, pane_agent: int, serves
) -> None:
    serve = serves("--sessions-dir", str(registry), "-L", server.socket_name or "")
    serve.start()
    proc = psutil.Process(serve.proc.pid)
    wait_until(lambda: proc.children(recursive=True), 10, "the tmux control-mode client")
    children = proc.children(recursive=True)
    assert serve.proc.stdin is not None
    started = time.monotonic()
    serve.proc.stdin.close()
    assert serve.proc.wait(timeout=10) == 0
    took = time.monotonic() - started
    assert took < 1.0, f"serve took {took:.2f} s to exit after stdin closed"
    assert all(is_gone(child) for child in children)
    assert b"Traceback" not in serve.stderr


def test_sigterm_ends_serve_cleanly(registry: Path, serves) -> None:
    serve = serves("--sessions-dir", str(registry))
    serve.start()
    serve.proc.send_signal(signal.SIGTERM)
    assert serve.proc.wait(timeout=10) == 0
    assert b"Traceback" not in serve.stderr


PANES = Path(__file__).parent.parent / "model" / "fixtures" / "panes"


def _recorder_pane(
    server: libtmux.Server, registry: Path, tmp_path: Path, name: str, screen: str, after: str,
    **fields: object,
) -> tuple[int, Path]:  # fmt: skip
    """A key-recording pane showing ``screen`` (then ``after``), listed in the registry."""
    record = tmp_path / f"keys-{name}"
    argv = recorder_argv(record, PANES / screen, PANES / after)
    _pane, pid = spawn_in_pane(server, name, tmp_path, argv)
    wait_until(lambda: Path(f"{record}.ready").exists(), 10.0, "the recorder")
    write_entry(registry, pid, cwd="/tmp", name=name, **fields)
    return pid, record


def test_replies_over_the_wire_type_text_literally(
    server: libtmux.Server, registry: Path, tmp_path: Path, serves
) -> None:
    asks, asks_keys = _recorder_pane(
        server, registry, tmp_path, "asks", "claude-197-permission-120x40.txt",
        "claude-197-idle-120x40.txt", status="waiting", waitingFor="permission prompt",
    )  # fmt: skip
    works, works_keys = _recorder_pane(
        server, registry, tmp_path, "works", "claude-197-busy-120x40.txt",
        "claude-197-after-interrupt-120x40.txt", status="busy",
    )  # fmt: skip
    serve = serves("--sessions-dir", str(registry), "-L", server.socket_name or "")
    _hello, snapshot = serve.start()
    rows = {s["pid"]: s for s in snapshot["sessions"] if s["mux"]}
    while len(rows) < 2:  # both placed in their panes (by the first poll after the snapshot)
        change = serve.next(lambda m: m["t"] == "change")
        rows.update({s["pid"]: s for s in change["upsert"] if s["mux"]})
    marker = tmp_path / "pwned"
    text = f"go on; $(touch {marker}) `touch {marker}` #{{x}} $HOME"

    refused = serve.call("send", rows[asks]["key"], text=text)
    assert (refused["ok"], refused["error"]) == (False, "PromptNotShown"), refused
    denied = serve.call("deny", rows[asks]["key"])
    assert denied["ok"] is True, denied
    assert denied["approved"] is False
    assert denied["option"]["label"].startswith("No")
    typed = recorded(asks_keys)  # the "No" digit (and Enter, had it been needed)
    assert typed in (
        f"{denied['option']['number']}".encode(),
        f"{denied['option']['number']}\r".encode(),
    )
    sent = serve.call("send", rows[asks]["key"], text=text)
    assert sent["ok"] is True, sent
    wait_until(lambda: recorded(asks_keys) == typed + f"{text}\r".encode(), 5.0, "the reply")

    stopped = serve.call("interrupt", rows[works]["key"])
    assert stopped == {"t": "result", "id": stopped["id"], "ok": True, "stopped": True}
    assert recorded(works_keys) == b"\x1b"
    assert not marker.exists()


def test_dismiss_over_the_wire_forgets_a_dead_session(registry: Path, serves) -> None:
    proc = subprocess.Popen(["sleep", "300"])
    path = write_entry(registry, proc.pid, name="ended", status="idle")
    proc.kill()
    proc.wait()
    serve = serves("--sessions-dir", str(registry))
    _hello, snapshot = serve.start()
    row = _session(snapshot, proc.pid)
    assert (row["status"], row["alive"]) == ("dead", False)
    alive = serve.call("dismiss", "claude:1:1")
    assert (alive["ok"], alive["error"]) == (False, "TargetNotFound")
    result = serve.call("dismiss", row["key"])
    assert result["ok"] is True, result
    assert not path.exists()
    gone = serve.next(lambda m: m["t"] == "change" and m["remove"])
    assert gone["remove"] == [row["key"]]
