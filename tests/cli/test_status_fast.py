"""``sessiontui status`` answered from a running monitor's published summary (issue 9).

Live fake agents (``sleep`` processes with Claude-shaped registry entries), a real monitor
publishing (in-process, or a child process for the crash cases), and ``status`` run as a real
subprocess. The fast path must print exactly what the full read prints for the same state,
import neither the command line nor psutil, and never trust a summary whose publisher is gone,
stopped, or counting other sessions.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tests.helpers import spawn_in_pane, wait_until, write_entry

from sessiontui import cli
from sessiontui.entry import _parse_status
from sessiontui.model.summary_file import (
    SummaryPublisher,
    read_summary,
    runtime_dir,
    scope_key,
    summary_path,
)
from sessiontui.model.types import Session, Snapshot, Status

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sessiontui.model.monitor import Monitor

#: The status formats compared between the two paths (None: the default).
FORMATS: tuple[str | None, ...] = (
    None,
    "{waiting} {busy} {idle} {shell} {unknown} {dead} {total} [{first_waiting}]",
    "{waiting:>3}|{first_waiting:.6}",
)


@pytest.fixture(autouse=True)
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private ``XDG_RUNTIME_DIR`` (short, mode 0700) for the summaries of this test.

    Set here rather than for every test: Claude Code and Zellij may keep sockets there.
    """
    directory = Path(tempfile.mkdtemp(prefix="st-run-", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(directory))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def run_status(registry: Path, *args: str, env: dict[str, str] | None = None) -> tuple[bytes, bool]:
    """``python -X importtime -m sessiontui status --sessions-dir REG ARGS``.

    Returns:
        Its stdout (bytes) and whether it took the fast path (never imported the CLI).
    """
    result = subprocess.run(
        [
            *(sys.executable, "-X", "importtime", "-m", "sessiontui", "status", "--no-zellij"),
            *("--sessions-dir", str(registry), *args),
        ],
        capture_output=True,
        timeout=30,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.decode().splitlines()}
    fast = "sessiontui.cli" not in imported
    if fast:  # none of the heavy imports the fast path exists to avoid
        heavy = {"psutil", "dataclasses", "typing", "pathlib", "argparse", "platformdirs"}
        assert not imported & (heavy | {"sessiontui.model.types", "sessiontui.config"})
    return result.stdout, fast


def fields_args(fmt: str | None) -> list[str]:
    return [] if fmt is None else ["--format", fmt]


@pytest.fixture
def agents(registry: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Seven live agents in the registry (every status, hostile names), plus one dead entry."""
    procs = [subprocess.Popen(["sleep", "300"]) for _ in range(7)]
    statuses = ["waiting", "waiting", "busy", "idle", "idle", "shell", "busy"]
    names = ["late-waiter", "#[fg=red]first#{host}", "b", "i1", "i2", "sh", "b2"]
    for i, (proc, st, name) in enumerate(zip(procs, statuses, names, strict=True)):
        wait_until(lambda p=proc: Path(f"/proc/{p.pid}/stat").exists())
        write_entry(
            registry,
            proc.pid,
            name=name,
            status=st,
            statusUpdatedAt=1_700_000_000_000 + (1000 - i if i == 1 else 5000 + i),
            sessionId=f"534ded02-9aa5-4594-8426-d954ad357a{i:02d}",
        )
    gone = subprocess.Popen(["true"])
    gone.wait()
    (registry / f"{gone.pid}.json").write_text(
        json.dumps({"pid": gone.pid, "procStart": "1", "status": "busy", "name": "ghost"})
    )
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait()


def start_monitor(registry: Path) -> tuple[Monitor, SummaryPublisher]:
    """A real monitor over ``registry`` publishing as the TUI does (``cli.publish_summary``)."""
    args = cli.parse_args(["--sessions-dir", str(registry), "--no-zellij"])
    monitor = cli.make_monitor(args)
    publisher = cli.publish_summary(monitor, args)
    monitor.refresh()
    monitor.start()
    return monitor, publisher


def stop_monitor(monitor: Monitor, publisher: SummaryPublisher) -> None:
    monitor.unsubscribe(publisher.on_change)
    publisher.close()
    monitor.close()


def test_fast_path_prints_what_the_full_read_prints(registry, agents, monkeypatch):
    monitor, publisher = start_monitor(registry)
    try:
        assert Path(publisher.path).exists()
        fast = {}
        for fmt in FORMATS:
            fast[fmt] = run_status(registry, *fields_args(fmt))
        # tmux runs a #() command with TMUX set and no TMUX_PANE: names are made literal.
        tmux_env = {**os.environ, "TMUX": "/tmp/x,1,0"}
        fast["tmux"] = run_status(registry, "--format", FORMATS[1], env=tmux_env)
    finally:
        stop_monitor(monitor, publisher)
    assert not Path(publisher.path).exists()  # the publisher removed its file on close
    full = {fmt: run_status(registry, *fields_args(fmt)) for fmt in FORMATS}
    full["tmux"] = run_status(registry, "--format", FORMATS[1], env=tmux_env)
    for key, (out, was_fast) in fast.items():
        assert was_fast, key
        assert full[key] == (out, False), key
    assert fast[None][0] == "◆2 ●2 ○2 ◐1\n".encode()
    assert fast[FORMATS[1]][0] == b"2 2 2 1 0 1 7 [#[fg=red]first#{host}]\n"
    assert fast["tmux"][0] == b"2 2 2 1 0 1 7 [##[fg=red]first####{host}]\n"


def test_fast_path_follows_live_changes(registry, agents):
    monitor, publisher = start_monitor(registry)
    try:
        assert run_status(registry) == ("◆2 ●2 ○2 ◐1\n".encode(), True)
        write_entry(registry, agents[0].pid, name="late-waiter", status="busy")
        agents[5].kill()  # the shell session dies: its entry stays, dead
        agents[5].wait()
        wait_until(lambda: run_status(registry)[0] == "◆1 ●3 ○2\n".encode(), timeout_s=10)
        assert run_status(registry, "--format", "{dead}") == (b"2\n", True)
    finally:
        stop_monitor(monitor, publisher)
    assert run_status(registry) == ("◆1 ●3 ○2\n".encode(), False)


def test_the_file_is_private_and_rewritten_only_on_change(registry, agents):
    monitor, publisher = start_monitor(registry)
    try:
        path = Path(publisher.path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert path.parent == Path(os.environ["XDG_RUNTIME_DIR"]) / "sessiontui"
        before = path.stat().st_ino, path.stat().st_mtime_ns
        assert not publisher.publish(monitor.snapshot)  # same summary: nothing written
        monitor.request_rescan(poll_tmux=True)
        time.sleep(0.5)
        assert (path.stat().st_ino, path.stat().st_mtime_ns) == before
        write_entry(registry, agents[3].pid, name="i1", status="waiting")
        wait_until(lambda: path.stat().st_ino != before[0], timeout_s=10)
        data = json.loads(path.read_text())
        assert data["fields"]["waiting"] == 3
        assert data["generation"] == publisher.generation >= 2
        assert abs(data["written_at_ms"] / 1000 - time.time()) < 60
        assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
        path.unlink()  # removed behind its back (a tmp cleaner): the next snapshot writes it
        assert publisher.publish(monitor.snapshot)
        assert json.loads(path.read_text())["fields"]["waiting"] == 3
    finally:
        stop_monitor(monitor, publisher)


PUBLISHER = """
import sys
from sessiontui import cli
args = cli.parse_args(["--sessions-dir", sys.argv[1], "--no-zellij"])
monitor = cli.make_monitor(args)
publisher = cli.publish_summary(monitor, args)
monitor.refresh()
monitor.start()
print(publisher.path, flush=True)
sys.stdin.read()
"""


@pytest.fixture
def publisher_process(registry: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """A monitor publishing in a child process; yields it and the path of its summary."""
    proc = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(registry)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    path = Path(proc.stdout.readline().strip())
    wait_until(path.exists)
    yield proc, path
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
    proc.wait()


@pytest.mark.parametrize("how", ["killed", "stopped"])
def test_a_summary_whose_publisher_is_gone_or_stopped_is_not_trusted(
    registry, agents, publisher_process, how
):
    proc, path = publisher_process
    assert run_status(registry) == ("◆2 ●2 ○2 ◐1\n".encode(), True)
    if how == "killed":
        proc.kill()
        proc.wait()
    else:
        os.kill(proc.pid, signal.SIGSTOP)
        wait_until(
            lambda: Path(f"/proc/{proc.pid}/stat").read_text().split(")")[-1].split()[0] == "T"
        )
    write_entry(registry, agents[0].pid, name="late-waiter", status="idle")
    assert path.exists()  # the stale summary is still there (SIGKILL, SIGSTOP) …
    assert run_status(registry) == ("◆1 ●2 ○3 ◐1\n".encode(), False)  # … and not used


def test_a_summary_for_other_options_or_an_edited_config_is_not_trusted(
    registry, agents, publisher_process, tmp_path
):
    _proc, path = publisher_process
    assert run_status(registry)[1]
    other = tmp_path / "other"
    other.mkdir()
    assert run_status(other) == (b"", False)  # another registry: another scope, another file
    env = {**os.environ, "HOME": str(tmp_path)}
    assert run_status(registry, env=env)[1] is False  # another HOME: another scope
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "sessiontui" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("grace_period_s = 3.0\n")  # the monitor read no config: it may differ now
    assert run_status(registry) == ("◆2 ●2 ○2 ◐1\n".encode(), False)
    config.unlink()
    assert run_status(registry)[1]
    assert path.exists()


# -- the file and its reader, directly ----------------------------------------------------------


def _snapshot() -> Snapshot:
    return Snapshot(
        sessions=(
            Session(key="a", pid=1, agent="claude", name="w", status=Status.WAITING),
            Session(key="b", pid=2, agent="claude", name="b", status=Status.BUSY),
        )
    )


def test_reader_rejects_malformed_or_foreign_files(tmp_path):
    scope = scope_key(sessions_dir=str(tmp_path))
    publisher = SummaryPublisher(scope, config=None)
    assert publisher.publish(_snapshot())
    fields = read_summary(scope)
    assert fields is not None
    assert fields["waiting"] == 1
    assert fields["first_waiting"] == "w"
    path = Path(summary_path(scope))
    good = json.loads(path.read_text())

    def variant(**changes: object) -> dict[str, object] | None:
        path.write_text(json.dumps({**good, **changes}))
        return read_summary(scope)

    assert variant() == fields
    assert variant(version=2) is None
    assert variant(scope="other") is None
    assert variant(pid=True) is None
    assert variant(start="1") is None  # not our start time: a reused PID
    assert variant(fields={**fields, "waiting": -1}) is None
    assert variant(fields={**fields, "busy": 1.5}) is None
    assert variant(fields={**fields, "first_waiting": "a\x1b]52;c;x\x07"}) is None
    assert variant(fields={**fields, "first_waiting": "x" * 61}) is None
    assert variant(fields={k: v for k, v in fields.items() if k != "total"}) is None
    assert variant(fields={**fields, "extra": 1}) is None
    assert variant(config={"path": 3, "stat": None}) is None
    for raw in (b"", b"{", b"[" * 200_000, b"NaN", b"x" * 20_000, b"\xff\xfe"):
        path.write_bytes(raw)
        assert read_summary(scope) is None
    path.unlink()
    path.symlink_to(tmp_path / "elsewhere.json")
    (tmp_path / "elsewhere.json").write_text(json.dumps(good))
    assert read_summary(scope) is None  # a symlink is not followed
    path.unlink()
    path.write_text(json.dumps(good))
    path.parent.chmod(0o755)  # a directory others can use: nothing in it is trusted
    assert read_summary(scope) is None
    path.parent.chmod(0o700)
    assert read_summary(scope) == fields


def test_publishing_never_raises_and_says_why(tmp_path, monkeypatch):
    blocked = tmp_path / "blocked"
    blocked.mkdir(mode=0o700)
    (blocked / "sessiontui").write_text("a file where the directory should be")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(blocked))
    publisher = SummaryPublisher(scope_key(), config=None)
    assert not publisher.publish(_snapshot())
    assert publisher.problem is not None
    assert "cannot publish" in publisher.problem
    publisher.close()
    assert (blocked / "sessiontui").read_text().startswith("a file")


def test_runtime_dir_needs_a_private_xdg_runtime_dir(tmp_path):
    private = tmp_path / "xdg"
    private.mkdir(mode=0o700)
    assert runtime_dir({"XDG_RUNTIME_DIR": str(private)}) == str(private / "sessiontui")
    private.chmod(0o755)
    uid = os.getuid()
    assert runtime_dir({"XDG_RUNTIME_DIR": str(private)}) == f"/tmp/sessiontui-{uid}"
    assert runtime_dir({"XDG_RUNTIME_DIR": "relative", "TMPDIR": "/var/tmp"}) == (
        f"/var/tmp/sessiontui-{uid}"
    )


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["status"], {}),
        (["-L", "x", "status", "--format", "{busy}"], {"format": "{busy}"}),
        (["status", "--format={busy}", "--escape", "tmux"], {"format": "{busy}", "escape": "tmux"}),
        (["status", "--no-codex", "--no-zellij", "--client", "/dev/pts/1"], {"no_codex": "1"}),
        (["status", "--config", "c.toml"], {"config": "c.toml"}),
        (["ls"], None),
        (["status", "--form", "x"], None),  # an abbreviation: argparse decides
        (["status", "--format"], None),
        (["status", "--format", "-x"], None),
        (["status", "--escape", "bogus"], None),
        (["status", "--help"], None),
        (["status", "status"], None),
        ([], None),
    ],
)
def test_only_plain_status_command_lines_take_the_fast_path(argv, expected):
    assert _parse_status(argv) == expected


def test_an_invalid_format_is_reported_by_the_full_command(registry, agents):
    monitor, publisher = start_monitor(registry)
    try:
        result = subprocess.run(
            [
                *(sys.executable, "-m", "sessiontui", "status", "--no-zellij"),
                *("--sessions-dir", str(registry), "--format", "{nope}"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        stop_monitor(monitor, publisher)
    assert result.returncode == 2
    assert "unknown field {nope}" in result.stderr


@pytest.mark.parametrize("monitor_running", [True, False])
def test_a_format_that_fails_only_on_the_real_values_is_a_usage_error(
    registry, agents, monitor_running
):
    # The spec comes from the waiting session's name: the check (with "") cannot see it fail.
    running = start_monitor(registry) if monitor_running else None
    try:
        result = subprocess.run(
            [
                *(sys.executable, "-m", "sessiontui", "status", "--no-zellij"),
                *("--sessions-dir", str(registry), "--format", "{waiting:{first_waiting}}"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        if running is not None:
            stop_monitor(*running)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("sessiontui: invalid format")
    assert "Traceback" not in result.stderr


def test_the_full_read_without_a_config_file_loads_no_ui_module(registry, agents):
    result = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "sessiontui",
            "status",
            "--no-zellij",
            "--sessions-dir",
            str(registry),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert "sessiontui.cli" in imported  # no monitor runs: the full read
    assert not {m for m in imported if m.startswith("sessiontui.ui")}
    assert "secrets" not in imported
    assert result.stdout == "◆2 ●2 ○2 ◐1\n"


def test_the_tui_in_a_tmux_pane_publishes_until_it_quits(server, registry, agents, tmp_path):
    argv = [sys.executable, "-m", "sessiontui", "--no-zellij", "--sessions-dir", str(registry)]
    pane, pid = spawn_in_pane(server, "tui", tmp_path, ["env", "TERM=xterm-256color", *argv])
    runtime = Path(os.environ["XDG_RUNTIME_DIR"]) / "sessiontui"
    published = wait_until(lambda: list(runtime.glob("status-*.json")), 20.0, "the summary")
    assert json.loads(published[0].read_text())["pid"] == pid
    assert run_status(registry) == ("◆2 ●2 ○2 ◐1\n".encode(), True)
    write_entry(registry, agents[2].pid, name="b", status="waiting")
    wait_until(lambda: run_status(registry) == ("◆3 ●1 ○2 ◐1\n".encode(), True), 10.0)
    server.cmd("send-keys", "-t", pane.pane_id, "q")
    wait_until(lambda: not published[0].exists(), 10.0, "the TUI to remove its summary")
    assert run_status(registry) == ("◆3 ●1 ○2 ◐1\n".encode(), False)
