"""``sessiontui status`` and ``sessiontui watch`` as a user and a script run them.

Real subprocesses, real registry files for live ``sleep`` processes, real tmux servers. Codex is
left out (``--no-codex``): other people's Codex processes on a shared machine would count.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

import libtmux
import pytest
from tests.helpers import run_cli, write_entry

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ISOLATED = ("--no-codex", "--no-zellij")


@pytest.fixture
def agents() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Six live processes (``sleep 300``) standing in for agents; killed at teardown."""
    procs = [subprocess.Popen(["sleep", "300"]) for _ in range(6)]
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait()


def dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def status(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sessiontui status ARGS`` (``env`` replaces the environment if given)."""
    return subprocess.run(
        [sys.executable, "-m", "sessiontui", "status", *ISOLATED, *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )


# -- status -----------------------------------------------------------------------------------


def test_status_counts_each_status_and_prints_nothing_without_sessions(registry, agents):
    base = registry.parent / "claude-home" / "sessions"  # $CLAUDE_CONFIG_DIR (conftest)
    assert status().stdout == ""  # nothing at all: a status bar can hide the widget
    statuses = ["waiting", "waiting", "busy", "idle", "idle", "shell"]
    for proc, state in zip(agents, statuses, strict=True):
        write_entry(base, proc.pid, name=f"a{proc.pid}", status=state)
    write_entry(base, dead_pid(), procStart="1", name="gone", status="busy")
    result = status()
    assert result.returncode == 0, result.stderr
    assert result.stdout == "◆2 ●1 ○2 ◐1\n"  # the TUI header's order; dead is not counted
    for proc in agents[:2]:
        write_entry(base, proc.pid, name="calm", status="idle")
    assert status().stdout == "●1 ○4 ◐1\n"  # a zero count is left out


def test_status_format_fields_and_the_longest_waiting_session(registry, agents):
    now_ms = int(time.time() * 1000)
    write_entry(registry, agents[0].pid, name="newer", status="waiting", statusUpdatedAt=now_ms)
    write_entry(
        registry, agents[1].pid, name="older", status="waiting", statusUpdatedAt=now_ms - 60_000
    )
    write_entry(registry, agents[2].pid, name="worker", status="busy")
    write_entry(registry, dead_pid(), procStart="1", name="gone")
    fmt = "{waiting}|{busy}|{idle}|{shell}|{unknown}|{dead}|{total}|{first_waiting}"
    result = status("--sessions-dir", str(registry), "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2|1|0|0|0|1|3|older\n"
    fmt = "[{waiting:>3}] {first_waiting:.3}"
    padded = status("--sessions-dir", str(registry), "--format", fmt)
    assert padded.stdout == "[  2] old\n"
    write_entry(registry, agents[1].pid, name="older", status="busy")
    again = status("--sessions-dir", str(registry), "--format", "{first_waiting}")
    assert again.stdout == "newer\n"


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        ("{nope}", "unknown field {nope}"),
        ("{waiting.real}", "unknown field {waiting.real}"),
        ("{first_waiting[0]}", "unknown field {first_waiting[0]}"),
        ("{}", "unknown field {0}"),
        ("{waiting:.3}", "invalid format"),
        ("{waiting", "invalid format"),
    ],
)
def test_status_rejects_a_bad_format_as_a_usage_error(registry, fmt, message):
    result = status("--sessions-dir", str(registry), "--format", fmt)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def test_status_prints_hostile_names_as_plain_text(registry, sleeper):
    write_entry(registry, sleeper.pid, name="x\x1b]0;owned\x07\ny#{host}", status="waiting")
    args = ("--sessions-dir", str(registry), "--format", "{first_waiting}")
    plain = status(*args, env={k: v for k, v in os.environ.items() if k != "TMUX"})
    assert plain.stdout == "x\\x1b]0;owned\\x07 y#{host}\n"  # one line, no escape sequence
    # For tmux each '#' is written four times: no format, style or command is expanded.
    forced = status(*args, "--escape", "tmux")
    assert forced.stdout == "x\\x1b]0;owned\\x07 y####{host}\n"
    # tmux runs #() commands with TMUX set and no TMUX_PANE: escaped without being asked.
    job_env = {**os.environ, "TMUX": "/tmp/tmux-0/default,1,-1"}
    job = status(*args, env=job_env)
    assert job.stdout == forced.stdout
    pane = status(*args, env={**os.environ, "TMUX": "/tmp/tmux-0/default,1,0", "TMUX_PANE": "%1"})
    assert pane.stdout == plain.stdout  # a shell in a pane is not a status line
    unescaped = status(*args, "--escape", "none", env=job_env)
    assert unescaped.stdout == plain.stdout


def test_status_loads_no_ui_and_asks_no_multiplexer(registry, sleeper):
    write_entry(registry, sleeper.pid, name="a", status="busy")
    code = (
        "import sys, sessiontui.cli as c\n"
        "c.main(['status', '--sessions-dir', sys.argv[1]])\n"
        # mux.base (the Protocols and key names the model shares) is allowed: no backend is.
        "banned = ('textual', 'rich', 'libtmux', 'watchdog', 'sessiontui.mux.tmux',"
        " 'sessiontui.mux.zellij')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(banned))\n"
        "print(','.join(loaded) or 'NONE', file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(registry)], capture_output=True, text=True, check=True
    )
    assert result.stdout == "●1\n"
    assert result.stderr.strip().splitlines()[-1] == "NONE"


def test_status_writes_no_file(tmp_path, registry, sleeper):
    session_id = "534ded02-9aa5-4594-8426-d954ad357ae6"
    write_entry(
        registry,
        sleeper.pid,
        sessionId=session_id,
        name="proj-3f",
        nameSource="derived",
        status="waiting",
    )
    names = tmp_path / "state" / "sessiontui" / "names.json"  # $XDG_STATE_HOME (conftest)
    names.parent.mkdir(parents=True)
    names.write_text(
        json.dumps({"version": 1, "names": {session_id: {"name": "sticky", "set_at_ms": 1}}})
    )

    def tree() -> dict[str, tuple[int, int]]:
        return {
            str(p): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in tmp_path.rglob("*")
            if "__pycache__" not in p.parts
        }

    before = tree()
    result = status("--sessions-dir", str(registry), "--format", "{waiting} {first_waiting}")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "1 sticky\n"  # the sticky name is shown …
    assert tree() == before  # … and nothing anywhere under the test's HOME/state/config changed


# -- watch ------------------------------------------------------------------------------------


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Watch:
    """A running ``sessiontui watch``; its stdout lines are read by a thread."""

    def __init__(self, *args: str, python: tuple[str, ...] = ()) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, *python, "-m", "sessiontui", "watch", *ISOLATED, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            # As from an interactive shell: ctrl+c works even if the test runner ignores it.
            preexec_fn=_default_sigint,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.errors: list[str] = []  # stderr, read as it comes so a full pipe never blocks it
        threading.Thread(target=self._read, daemon=True).start()
        self._stderr = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        self.errors += self.proc.stderr

    def next_line(self, timeout_s: float = 15.0) -> str:
        """The next line (a complete one: the stream is flushed per line)."""
        try:
            return self.lines.get(timeout=timeout_s)
        except queue.Empty:
            raise AssertionError(f"no line within {timeout_s} s") from None

    def event(self, match: Callable[[dict[str, object]], bool], timeout_s: float = 15.0) -> dict:
        """The next JSON event ``match`` accepts (earlier ones are skipped)."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no matching event")
            event = json.loads(self.next_line(left))
            if match(event):
                return event

    def stop(self) -> tuple[int, str]:
        """Stop it (SIGTERM) and return its exit code and stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._stderr.join(timeout=10)
        return code, "".join(self.errors)


@pytest.fixture
def watches() -> Iterator[list[Watch]]:
    """Every ``Watch`` a test starts, stopped at teardown."""
    started: list[Watch] = []
    yield started
    for watch in started:
        watch.stop()


#: Fields of a session object that a process sets from its own observation (when it saw a
#: status change without a registry ``statusUpdatedAt``; its CPU and activity samples).
OBSERVED = frozenset({"status_changed_at", "activity", "cpu_percent"})


def _unobserved(session: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in session.items() if k not in OBSERVED}


def test_watch_json_streams_sessions_with_the_ls_json_objects(registry, agents, watches):
    a, b, c = agents[0].pid, agents[1].pid, agents[2].pid
    alpha = {"name": "alpha", "sessionId": "aaaa-1", "cwd": "/w/alpha"}
    write_entry(registry, a, status="idle", **alpha)
    path_b = write_entry(registry, b, name="beta", status="busy")
    listed = run_cli("ls", "--json", "--sessions-dir", str(registry), *ISOLATED)
    by_pid = {row["pid"]: row for row in json.loads(listed.stdout)}
    watch = Watch("--json", "--sessions-dir", str(registry))
    watches.append(watch)
    first = [json.loads(watch.next_line()) for _ in range(2)]
    assert {e["event"] for e in first} == {"added"}
    for event in first:  # the same encoder as ls --json: the same objects
        # ... but for what each process observed itself: when it saw the status, its samples.
        assert _unobserved(event["session"]) == _unobserved(by_pid[event["session"]["pid"]])
    keys = {e["session"]["pid"]: e["key"] for e in first}
    assert keys[a].startswith(f"claude:{a}:")

    write_entry(registry, a, status="waiting", waitingFor="permission prompt", **alpha)
    changed = watch.event(lambda e: e["event"] == "changed")
    assert changed["key"] == keys[a]
    assert [f for f in changed["fields"] if f not in OBSERVED] == ["status", "waiting_for"]
    assert changed["session"]["status"] == "waiting"
    assert changed["session"]["waiting_for"] == "permission prompt"

    agents[1].kill()
    agents[1].wait()
    died = watch.event(lambda e: e["event"] == "changed" and e["key"] == keys[b])
    assert died["session"]["status"] == "dead"
    assert died["session"]["alive"] is False
    path_b.unlink()
    removed = watch.event(lambda e: e["event"] == "removed")
    assert removed["key"] == keys[b]
    assert removed["session"]["name"] == "beta"

    write_entry(registry, c, name="gamma", status="idle")
    added = watch.event(lambda e: e["event"] == "added")
    assert added["session"]["name"] == "gamma"
    code, err = watch.stop()
    assert code == 0
    assert "Traceback" not in err


def test_watch_all_shows_sessions_already_dead(registry, sleeper, watches):
    write_entry(registry, sleeper.pid, name="alive", status="idle")
    write_entry(registry, dead_pid(), procStart="1", name="stale")
    live = Watch("--json", "--sessions-dir", str(registry))
    every = Watch("--json", "--all", "--sessions-dir", str(registry))
    watches += [live, every]
    assert json.loads(live.next_line())["session"]["name"] == "alive"
    names = {json.loads(every.next_line())["session"]["name"] for _ in range(2)}
    assert names == {"alive", "stale"}
    write_entry(registry, sleeper.pid, name="alive", status="busy")
    assert live.event(lambda e: e["event"] == "changed")["session"]["status"] == "busy"


def test_watch_reports_health_changes(registry, sleeper, watches):
    """The registry directory goes and comes back; a named tmux server stops and comes back."""
    server = libtmux.Server(socket_name=f"stui-health-{os.getpid()}")
    server.new_session("one", window_command="sleep 300")
    try:
        write_entry(registry, sleeper.pid, name="a", status="idle")
        # Only this server: another test's default server, dying in the shared socket
        # directory, once added its own problem to the first event (CI).
        name = server.socket_name or ""
        watch = Watch("--json", "--sessions-dir", str(registry), "-L", name, "--no-discover")
        watches.append(watch)
        assert json.loads(watch.next_line())["event"] == "added"  # no problem at the start
        moved = registry.with_name("elsewhere")
        registry.rename(moved)
        gone = watch.event(lambda e: e["event"] == "health")
        assert gone["problems"] == [f"{registry} does not exist"]
        moved.rename(registry)
        # Another problem may be reported in between (the events follow the sources' own
        # timing): what counts is that they clear once the directory is back.
        assert watch.event(lambda e: e["event"] == "health" and not e["problems"])["problems"] == []
        server.kill()
        # "unreachable" while the dying server still accepts connections, then "not running";
        # under load another problem may share the event, so look for the server's own.
        pattern = rf"tmux server {server.socket_name} (not running|unreachable)"
        watch.event(
            lambda e: e["event"] == "health" and any(re.match(pattern, p) for p in e["problems"])
        )
        server.new_session("two", window_command="sleep 300")
        watch.event(lambda e: e["event"] == "health" and e["problems"] == [])  # the text may
        # change while it is down (e.g. "exited unexpectedly", then "error connecting")
    finally:
        if server.is_alive():
            server.kill()


def test_watch_text_lines_escape_hostile_names(registry, sleeper, watches):
    write_entry(registry, sleeper.pid, name="evil\x1b]0;owned\x07", status="idle")
    watch = Watch("--sessions-dir", str(registry))
    watches.append(watch)
    line = watch.next_line()
    assert " added   evil\\x1b]0;owned\\x07 (claude pid " in line
    assert line.rstrip("\n").endswith("  idle")
    write_entry(registry, sleeper.pid, name="evil\x1b]0;owned\x07", status="waiting")
    changed = watch.next_line()
    assert " changed evil\\x1b]0;owned\\x07 " in changed
    assert changed.rstrip("\n").endswith(": status waiting")
    assert "\x1b" not in line + changed


def test_watch_runs_on_the_headless_model_without_textual(registry, sleeper):
    write_entry(registry, sleeper.pid, name="a", status="idle")
    watch = Watch("--json", "--sessions-dir", str(registry), python=("-X", "importtime"))
    try:
        assert json.loads(watch.next_line())["event"] == "added"
        # Written while the watcher may not be armed yet: found at once all the same (not by
        # the 5 s safety rescan); and the watcher runs, so watchdog is loaded.
        write_entry(registry, sleeper.pid, name="a", status="busy")
        watch.event(lambda e: e["event"] == "changed", timeout_s=3.0)
    finally:
        code, err = watch.stop()
    imported = {line.rsplit("|", 1)[-1].strip() for line in err.splitlines() if "|" in line}
    assert "sessiontui.model.monitor" in imported  # the monitor runs: watchers, timers
    assert "watchdog.observers" in imported
    assert not {m for m in imported if m.split(".")[0] in ("textual", "rich")}
    assert code == 0


# Once in ~25 runs of this file (never alone) SIGINT ended the process with -2 instead of
# 130: not understood yet (see the closing note of 2026-12-02); one rerun.
@pytest.mark.flaky(reruns=1)
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 0)])
def test_watch_ends_on_a_signal_without_a_traceback(registry, sleeper, sig, code):
    write_entry(registry, sleeper.pid, name="a", status="idle")
    watch = Watch("--json", "--sessions-dir", str(registry))
    try:
        assert json.loads(watch.next_line())["event"] == "added"
        watch.proc.send_signal(sig)
        assert watch.proc.wait(timeout=10) == code
    finally:
        _, err = watch.stop()
    assert "Traceback" not in err


def test_watch_ends_when_its_reader_goes_away_even_if_nothing_changes(registry, sleeper, tmp_path):
    """``watch --json | head -n 1``: head leaves after one line; watch follows at once."""
    write_entry(registry, sleeper.pid, name="a", status="idle")
    write_entry(registry, dead_pid(), procStart="1", name="b")
    err = tmp_path / "err.txt"
    script = (
        f"{sys.executable} -m sessiontui watch --json --all {' '.join(ISOLATED)} "
        f'--sessions-dir "$1" 2>"$2" | head -n 1; echo "${{PIPESTATUS[0]}}"'
    )
    started = time.monotonic()
    result = subprocess.run(
        ["bash", "-c", script, "bash", str(registry), str(err)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    first, code = result.stdout.splitlines()
    assert json.loads(first)["event"] == "added"
    assert code == "0"
    assert time.monotonic() - started < 10
    assert "Traceback" not in err.read_text()
    assert "Error" not in err.read_text()


def test_watch_changes_no_file(tmp_path, registry, sleeper, watches):
    path = write_entry(registry, sleeper.pid, name="a", status="idle", nameSource="derived")
    before = {str(p): p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    watch = Watch("--json", "--sessions-dir", str(registry))
    watches.append(watch)
    assert json.loads(watch.next_line())["event"] == "added"
    data = json.loads(path.read_text())
    data["status"] = "busy"
    path.write_text(json.dumps(data))
    watch.event(lambda e: e["event"] == "changed")
    after = {str(p): p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert {k: v for k, v in after.items() if k != str(path)} == {
        k: v for k, v in before.items() if k != str(path)
    }


# -- Claude Code's spare workers (SPEC 2.1) ---------------------------------------------------


def test_spare_workers_are_left_out_of_ls_and_status(registry, agents):
    """``spare: true`` rows (pre-warmed background workers) count nowhere; ``ls --all`` shows."""
    base = registry.parent / "claude-home" / "sessions"  # $CLAUDE_CONFIG_DIR (conftest)
    write_entry(base, agents[0].pid, name="real", status="waiting", waitingFor="elicitation")
    write_entry(
        base, agents[1].pid, name="0badf00d", kind="bg", jobId="0badf00d", spare=True, status="idle"
    )
    assert status().stdout == "◆1\n"
    listed = run_cli("ls", "--json", *ISOLATED, "-L", "sessiontui-none")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["status"], r["waiting_for"]) for r in rows] == [
        ("real", "waiting", "elicitation")
    ]
    everything = run_cli("ls", "--json", "--all", *ISOLATED, "-L", "sessiontui-none")
    assert sorted(r["name"] for r in json.loads(everything.stdout)) == ["0badf00d", "real"]
    text = run_cli("ls", *ISOLATED, "-L", "sessiontui-none")
    assert "0badf00d" not in text.stdout


def test_watch_leaves_spare_workers_out_until_they_are_claimed(registry, agents, watches):
    write_entry(registry, agents[0].pid, name="real", status="idle")
    spare = {"kind": "bg", "jobId": "0badf00d", "name": "0badf00d", "status": "idle"}
    write_entry(registry, agents[1].pid, spare=True, **spare)
    watch = Watch("--json", "--sessions-dir", str(registry))
    watches.append(watch)
    first = json.loads(watch.next_line())
    assert (first["event"], first["session"]["name"]) == ("added", "real")
    write_entry(registry, agents[1].pid, **{**spare, "name": "claimed"})  # spare dropped
    claimed = watch.event(lambda e: e["event"] == "added")
    assert claimed["session"]["name"] == "claimed"
    assert claimed["session"]["pid"] == agents[1].pid
