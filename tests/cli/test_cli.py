"""The command line as a user runs it: real subprocesses, real registry files, real tmux."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import psutil
from tests.helpers import run_cli, wait_until, write_entry

if TYPE_CHECKING:
    import libtmux


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("sessiontui ")


def test_ls_json_fields(registry, sleeper):
    write_entry(
        registry,
        sleeper.pid,
        sessionId="534ded02-9aa5-4594-8426-d954ad357ae6",
        cwd="/tmp/proj",
        startedAt=1795271260638,
        status="waiting",
        waitingFor="permission prompt",
        name="alpha",
        kind="interactive",
        futureKey={"kept": True},
    )
    result = run_cli("ls", "--json", "--sessions-dir", str(registry), "-L", "sessiontui-none")
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["pid"] == sleeper.pid
    assert row["session_id"] == "534ded02-9aa5-4594-8426-d954ad357ae6"
    assert row["name"] == "alpha"
    assert row["status"] == "waiting"
    assert row["waiting_for"] == "permission prompt"
    assert row["kind"] == "interactive"
    assert row["agent"] == "claude"
    assert row["cwd"] == "/tmp/proj"
    assert row["started_at"] == "2026-11-21T14:27:40.638Z"
    assert row["alive"] is True
    assert row["registry_path"] == str(registry / f"{sleeper.pid}.json")
    assert row["mux"] is None


def test_ls_all_includes_dead(registry, sleeper):
    dead = subprocess.Popen(["true"])
    dead.wait()
    write_entry(registry, dead.pid, procStart="1", name="gone")
    write_entry(registry, sleeper.pid, name="here")
    live = json.loads(run_cli("ls", "--json", "--sessions-dir", str(registry)).stdout)
    every = json.loads(run_cli("ls", "--json", "--all", "--sessions-dir", str(registry)).stdout)
    assert [r["name"] for r in live] == ["here"]
    assert sorted(r["name"] for r in every) == ["gone", "here"]
    assert next(r for r in every if r["name"] == "gone")["status"] == "dead"


def test_ls_maps_tmux_pane(registry, server: libtmux.Server):
    session = server.new_session("work", window_command="sleep 300")
    pane = session.active_window.active_pane
    assert pane is not None
    pane_pid = int(pane.pane_pid or 0)
    wait_until(lambda: psutil.Process(pane_pid).name() == "sleep")
    write_entry(registry, pane_pid, name="in-tmux", status="busy")
    result = run_cli(
        "ls", "--json", "--sessions-dir", str(registry), "-L", server.socket_name or ""
    )
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["mux"]["type"] == "tmux"
    assert row["mux"]["pane"] == pane.pane_id
    assert row["mux"]["session"] == "work"
    # global options after or before the subcommand mean the same
    before = run_cli(
        "-L", server.socket_name or "", "ls", "--json", "--sessions-dir", str(registry)
    )
    assert json.loads(before.stdout)[0]["mux"]["pane"] == pane.pane_id


def test_ls_text_escapes_hostile_names(registry, sleeper):
    write_entry(registry, sleeper.pid, name="bad\x1b]0;owned\x07[bold]x")
    result = run_cli("ls", "--sessions-dir", str(registry))
    assert result.returncode == 0
    assert "\x1b" not in result.stdout
    assert "\\x1b]0;owned\\x07[bold]x" in result.stdout


def test_rename_by_pid_keeps_unknown_keys(registry, sleeper):
    path = write_entry(registry, sleeper.pid, name="old", nameSource="derived", futureKey=7)
    result = run_cli("rename", str(sleeper.pid), "new name", "--sessions-dir", str(registry))
    assert result.returncode == 0, result.stderr
    data = json.loads(path.read_text())
    assert data["name"] == "new name"
    assert "nameSource" not in data
    assert data["futureKey"] == 7


def test_rename_rejects_bad_name_with_usage_error(registry, sleeper):
    path = write_entry(registry, sleeper.pid, name="old")
    result = run_cli("rename", str(sleeper.pid), "a\x1bb", "--sessions-dir", str(registry))
    assert result.returncode == 2
    assert "control" in result.stderr
    assert json.loads(path.read_text())["name"] == "old"


def test_unknown_target_is_a_runtime_failure(registry):
    result = run_cli("rename", "nobody", "x", "--sessions-dir", str(registry))
    assert result.returncode == 1
    assert "no session matches 'nobody'" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_2():
    assert run_cli("ls", "--bogus").returncode == 2
    assert run_cli("rename", "only-one-arg").returncode == 2
    assert run_cli("frobnicate").returncode == 2


def test_kill_needs_confirmation_without_tty(registry, sleeper):
    write_entry(registry, sleeper.pid, name="victim")
    result = run_cli("kill", "victim", "--sessions-dir", str(registry))
    assert result.returncode == 2
    assert "--force" in result.stderr
    assert sleeper.poll() is None


def test_kill_force_ends_process_tree(registry):
    tree = subprocess.Popen(["bash", "-c", "sleep 300 & sleep 300 & wait"])
    kids = wait_until(lambda: psutil.Process(tree.pid).children())
    write_entry(registry, tree.pid, name="tree", sessionId="feedface-0000")
    result = run_cli("kill", "feed", "--force", "--sessions-dir", str(registry))
    assert result.returncode == 0, result.stderr
    assert tree.wait(timeout=10) is not None
    for kid in kids:  # type: ignore[union-attr]
        wait_until(lambda kid=kid: not kid.is_running() or kid.status() == psutil.STATUS_ZOMBIE)


def test_missing_registry_dir_is_not_an_error(tmp_path):
    result = run_cli("ls", "--json", "--sessions-dir", str(tmp_path / "nope"))
    assert result.returncode == 0
    assert json.loads(result.stdout) == []


def test_new_creates_marked_bg_session_and_refuses_duplicates(server: libtmux.Server, tmp_path):
    sock = server.socket_name or ""
    first = run_cli(
        "new", "--name", "nightly", "--cwd", str(tmp_path), "-L", sock, "--", "sleep", "300"
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("nightly\t$")
    session_id = first.stdout.strip().split("\t")[1]
    kind = server.cmd("show-options", "-qv", "-t", session_id, "@sessiontui-kind").stdout
    assert kind == ["bg"]
    pane_pid = int(server.cmd("list-panes", "-t", session_id, "-F", "#{pane_pid}").stdout[0])
    env = psutil.Process(pane_pid).environ()
    assert env["CLAUDE_CODE_SESSION_KIND"] == "bg"
    assert env["CLAUDE_CODE_SESSION_NAME"] == "nightly"
    assert psutil.Process(pane_pid).cwd() == str(tmp_path)
    listed = json.loads(run_cli("ls", "--json", "-L", sock, "--sessions-dir", str(tmp_path)).stdout)
    assert [(r["name"], r["kind"]) for r in listed] == [("nightly", "bg")]
    again = run_cli("new", "--name", "nightly", "-L", sock, "--", "sleep", "300")
    assert again.returncode == 1
    assert "already named 'nightly'" in again.stderr
    assert server.cmd("list-sessions", "-F", "#{session_name}").stdout.count("nightly") == 1


def test_attach_waiting_switches_our_client(registry, server: libtmux.Server):
    from tests.helpers import attach_client, client_sessions

    home = server.new_session("home")
    target = server.new_session("asks", window_command="sleep 300")
    pane = target.active_window.active_pane
    assert pane is not None
    pid = int(pane.pane_pid or 0)
    wait_until(lambda: psutil.Process(pid).name() == "sleep")
    write_entry(registry, pid, name="asks", status="waiting")
    client = attach_client(server.socket_name or "", "=home")
    try:
        wait_until(lambda: client_sessions(server.cmd) == ["home"])
        socket = server.cmd("display-message", "-p", "#{socket_path}").stdout[0]
        our_pane = home.active_window.active_pane
        assert our_pane is not None
        env = {**os.environ, "TMUX": f"{socket},1,0", "TMUX_PANE": our_pane.pane_id or ""}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "sessiontui",
                "attach",
                "--waiting",
                "--sessions-dir",
                str(registry),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        wait_until(lambda: client_sessions(server.cmd) == ["asks"])
    finally:
        client.kill()
        client.wait()


def test_attach_waiting_without_any_waiting_fails_cleanly(registry, sleeper):
    write_entry(registry, sleeper.pid, name="calm", status="idle")
    result = run_cli("attach", "--waiting", "--sessions-dir", str(registry))
    assert result.returncode == 1
    assert "no session is waiting" in result.stderr


def test_invalid_config_is_a_usage_error_naming_the_line(tmp_path, registry):
    config = tmp_path / "config.toml"
    config.write_text("grace_period_s = 5\nbell_on_wating = true\n")
    result = run_cli("ls", "--config", str(config), "--sessions-dir", str(registry))
    assert result.returncode == 2
    assert ":2:" in result.stderr
    assert "bell_on_wating" in result.stderr
    assert "Traceback" not in result.stderr


def test_ambiguous_target_message_escapes_names(registry, sleeper):
    other = subprocess.Popen(["sleep", "300"])
    try:
        write_entry(registry, sleeper.pid, name="x\x1b]0;PWNED\x07y", sessionId="ab-1")
        write_entry(registry, other.pid, name="plain", sessionId="ab-2")
        result = run_cli("kill", "ab", "--force", "--sessions-dir", str(registry))
        assert result.returncode == 1
        assert "matches 2 sessions" in result.stderr
        assert "\x1b" not in result.stderr
        assert "\x07" not in result.stderr
        assert sleeper.poll() is None
    finally:
        other.kill()
        other.wait()


def test_ls_survives_absurd_timestamps(registry, sleeper):
    (registry / f"{sleeper.pid}.json").write_text(
        f'{{"pid":{sleeper.pid},"startedAt":100000000000000000000,"name":"odd"}}'
    )
    result = run_cli("ls", "--json", "--sessions-dir", str(registry))
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["started_at"] is None


def pane_environ(server: libtmux.Server, session: str) -> dict[str, str]:
    """The environment of the first process of ``session``'s pane."""
    pid = int(server.cmd("list-panes", "-t", f"={session}:", "-F", "#{pane_pid}").stdout[0])
    return psutil.Process(pid).environ()


def test_new_passes_the_callers_environment_not_the_servers(
    registry, server: libtmux.Server, tmp_path, monkeypatch
):
    server.new_session("already-running")  # the server keeps the environment it started with
    mine = tmp_path / "my-claude"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(mine))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("no_proxy", "localhost")
    monkeypatch.delenv("ALL_PROXY", raising=False)
    result = run_cli(
        "new", "--name", "envcheck", "-L", server.socket_name or "", "--", "sleep", "300"
    )
    assert result.returncode == 0, result.stderr
    env = pane_environ(server, "envcheck")
    assert env["CLAUDE_CONFIG_DIR"] == str(mine)
    assert env["HTTPS_PROXY"] == "http://127.0.0.1:3128"
    assert env["no_proxy"] == "localhost"
    assert env["PATH"] == os.environ["PATH"]
    assert env["HOME"] == os.environ["HOME"]
    assert env["CLAUDE_CODE_SESSION_KIND"] == "bg"
    assert "ALL_PROXY" not in env


def test_bg_monitor_gets_the_callers_home_and_claude_dir(
    registry, server: libtmux.Server, tmp_path, monkeypatch
):
    server.new_session("already-running")
    home = tmp_path / "caller-home"
    home.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "caller-claude"))
    monkeypatch.setenv("HOME", str(home))
    # No terminal and no --client: the monitor starts, then attaching fails (exit 1).
    run_cli("--bg", "-L", server.socket_name or "")
    wait_until(lambda: server.has_session("sessiontui"))
    env = pane_environ(server, "sessiontui")
    assert env["CLAUDE_CONFIG_DIR"] == str(tmp_path / "caller-claude")
    assert env["HOME"] == str(home)
    assert env["PATH"] == os.environ["PATH"]
    assert env["SESSIONTUI_BG"] == "1"


def test_demo_keeps_names_out_of_the_users_state(server: libtmux.Server):
    from sessiontui.model.names import default_names_path

    session = server.new_session(
        "demo", window_command=f"{sys.executable} -m sessiontui --demo --no-zellij", x=120, y=40
    )
    pane = session.active_window.active_pane
    assert pane is not None

    def screen() -> str:
        return "\n".join(pane.capture_pane())

    wait_until(lambda: "api-refactor" in screen(), 60, "the demo's rows")
    pane.send_keys("r", enter=False)
    wait_until(lambda: "enter to rename" in screen(), 10, "the rename dialog")
    pane.send_keys("C-a", enter=False)
    pane.send_keys("C-k", enter=False)
    wait_until(lambda: "new name" in screen(), 10, "the emptied input")
    pane.send_keys("demo-renamed", enter=False, literal=True)
    wait_until(lambda: "demo-renamed" in screen(), 10, "the typed name")
    pane.send_keys("Enter", enter=False)
    wait_until(lambda: "enter to rename" not in screen(), 10, "the dialog to close")
    try:
        wait_until(lambda: "demo-renamed" in screen(), 15, "the new name in the table")
    except AssertionError as error:
        raise AssertionError(f"{error}; screen:\n{screen()}") from None
    pane.send_keys("q", enter=False)
    # The pane (and its session) ends only once the demo has stopped everything it started;
    # tearing the server down earlier would SIGHUP the demo in the middle of its cleanup.
    wait_until(lambda: not server.has_session("demo"), 30, "the demo to quit and clean up")
    assert not default_names_path().exists()


def test_attach_for_an_unknown_client_fails_cleanly(registry, server: libtmux.Server, sleeper):
    server.new_session("home")
    write_entry(registry, sleeper.pid, name="asks", status="waiting")
    result = run_cli(
        "attach", "--waiting", "--client", "/dev/pts/999", "-L", server.socket_name or "",
        "--sessions-dir", str(registry),
    )  # fmt: skip
    assert result.returncode == 1
    assert "no tmux client on /dev/pts/999" in result.stderr


def test_ls_writes_no_file(registry, sleeper, tmp_path):
    session_id = "534ded02-9aa5-4594-8426-d954ad357ae6"
    entry = write_entry(
        registry, sleeper.pid, sessionId=session_id, name="proj-3f", nameSource="derived"
    )
    names = tmp_path / "state" / "sessiontui" / "names.json"  # $XDG_STATE_HOME (conftest)
    names.parent.mkdir(parents=True)
    names.write_text(
        json.dumps({"version": 1, "names": {session_id: {"name": "sticky", "set_at_ms": 1}}})
    )
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (entry, names)}
    listing = set(registry.iterdir()) | set(names.parent.iterdir())
    for args in (("ls",), ("ls", "--json", "--all")):
        result = run_cli(*args, "--sessions-dir", str(registry), "-L", "sessiontui-none")
        assert result.returncode == 0, result.stderr
        assert "sticky" in result.stdout  # the sticky name is shown …
    # … but nothing is written: same bytes, same mtimes, no new (temp) files.
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (entry, names)} == before
    assert set(registry.iterdir()) | set(names.parent.iterdir()) == listing


def test_a_crashed_tui_exits_1_with_a_message(capsys):
    from textual.app import App

    from sessiontui.cli import run_app

    class Crashing(App[None]):
        def on_mount(self) -> None:
            raise RuntimeError("crash in the UI")

    assert run_app(Crashing(), headless=True) == 1
    assert "unexpected error" in capsys.readouterr().err

    class Fine(App[None]):
        def on_mount(self) -> None:
            self.exit()

    assert run_app(Fine(), headless=True) == 0


def test_ls_json_tokens_model_and_last_activity(tmp_path, sleeper):
    """A Claude row's transcript gives ``tokens``, ``model``, ``last_activity_at`` (SPEC 6)."""
    from tests.model.test_transcripts import CWD, SID, assistant, lines, usage

    from sessiontui.model.transcripts import encode_project_dir

    base = tmp_path / "claude-home"  # $CLAUDE_CONFIG_DIR (tests/conftest.py)
    folder = base / "projects" / encode_project_dir(CWD)
    folder.mkdir(parents=True)
    at = 1795271262.5
    use = usage(inp=1000, out=42, read=5000, create=0)
    (folder / f"{SID}.jsonl").write_bytes(lines(assistant(at, use=use)))
    write_entry(base / "sessions", sleeper.pid, sessionId=SID, cwd=CWD, status="idle")
    other = subprocess.Popen(["sleep", "300"])
    try:
        write_entry(base / "sessions", other.pid, cwd="/nowhere", status="idle")
        result = run_cli("ls", "--json", "-L", "sessiontui-none")
    finally:
        other.kill()
        other.wait()
    assert result.returncode == 0, result.stderr
    rows = {row["pid"]: row for row in json.loads(result.stdout)}
    row = rows[sleeper.pid]
    assert row["agent"] == "claude"
    assert row["tokens"] == {"output": 42, "context": 6042, "context_window": 200_000}
    assert row["model"] == "claude-opus-4-8"
    assert row["last_activity_at"] == "2026-11-21T14:27:42.500Z"
    assert row["subagents"] is None
    assert row["mux"] is None
    bare = rows[other.pid]
    assert (bare["tokens"], bare["model"], bare["last_activity_at"]) == (None, None, None)


def test_ls_json_lists_a_codex_session(tmp_path):
    """A process named ``codex`` holding a real rollout open is listed with ``agent: codex``."""
    import shutil
    from pathlib import Path

    fixture = Path(__file__).parent.parent / "model" / "fixtures" / "codex" / "approved.jsonl"
    home = tmp_path / "codex-home"
    folder = home / "sessions" / "2026" / "12" / "01"
    folder.mkdir(parents=True)
    rollout = folder / "rollout-2026-12-01T16-35-24-01a23276-0100-7152-a617-661ebd73a864.jsonl"
    shutil.copy(fixture, rollout)
    exe = tmp_path / "npm" / "codex"
    exe.parent.mkdir()
    shutil.copy("/bin/bash", exe)
    tui = subprocess.Popen(
        [str(exe), "-c", f"exec 3<{rollout}; read -r -t 60 line", "codex"],
        stdin=subprocess.PIPE,
        env={**os.environ, "CODEX_HOME": str(home)},
    )
    try:
        wait_until(
            lambda: any(f.path == str(rollout) for f in psutil.Process(tui.pid).open_files())
        )
        result = run_cli("ls", "--json", "-L", "sessiontui-none")
        no_codex = run_cli("ls", "--json", "--no-codex", "-L", "sessiontui-none")
    finally:
        tui.kill()
        tui.wait()
    assert result.returncode == 0, result.stderr
    (row,) = [row for row in json.loads(result.stdout) if row["pid"] == tui.pid]
    assert row["agent"] == "codex"
    assert row["kind"] == "interactive"
    assert row["status"] == "idle"
    assert row["session_id"] == "01a23276-0100-7152-a617-661ebd73a864"
    assert row["tokens"] == {"output": 90, "context": 1720, "context_window": 258_400}
    assert row["model"] == "gpt-5-codex"
    assert row["last_activity_at"] == "2026-12-01T16:35:42.163Z"
    assert row["registry_path"] is None
    assert row["mux"] is None
    assert all(row["pid"] != tui.pid for row in json.loads(no_codex.stdout))


def _user_config(text: str) -> None:
    """Write the user's configuration file where the CLI looks by default (temp HOME)."""
    from pathlib import Path

    path = Path(os.environ["XDG_CONFIG_HOME"]) / "sessiontui" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_ls_json_context_window_from_the_config_table(tmp_path, sleeper):
    """``[context_windows]`` in the user's config sets ``tokens.context_window`` (SPEC 2.2, 7)."""
    from tests.model.test_transcripts import CWD, SID, assistant, lines, usage

    from sessiontui.model.transcripts import encode_project_dir

    base = tmp_path / "claude-home"
    folder = base / "projects" / encode_project_dir(CWD)
    folder.mkdir(parents=True)
    use = usage(inp=1000, out=42, read=5000, create=0)
    transcript = folder / f"{SID}.jsonl"
    transcript.write_bytes(lines(assistant(1795271262.5, use=use)))  # claude-opus-4-8
    write_entry(base / "sessions", sleeper.pid, sessionId=SID, cwd=CWD, status="idle")

    def window() -> int:
        result = run_cli("ls", "--json", "-L", "sessiontui-none")
        assert result.returncode == 0, result.stderr
        (row,) = [r for r in json.loads(result.stdout) if r["pid"] == sleeper.pid]
        assert row["tokens"]["context"] == 6042
        return int(row["tokens"]["context_window"])

    assert window() == 200_000  # no config file: the default
    _user_config('[context_windows]\n"claude-opus-4" = 300000\n')
    assert window() == 300_000  # a prefix
    _user_config('[context_windows]\n"claude-opus-4" = 300000\n"claude-opus-4-8" = 500000\n')
    assert window() == 500_000  # the exact name beats the prefix
    transcript.write_bytes(lines(assistant(1795271262.5, model="claude-opus-4-8[1m]", use=use)))
    assert window() == 500_000  # a prefix covers the [1m] variant too (prefix before [1m])
    _user_config('[context_windows]\n"claude-haiku" = 100000\n')
    assert window() == 1_000_000  # not in the table: [1m]
    _user_config('[context_windows]\n"claude-opus-4-8[1m]" = 2000000\n')
    assert window() == 2_000_000


def test_bad_context_windows_stop_with_the_line_and_exit_2(tmp_path):
    _user_config('zellij = true\n[context_windows]\n"o3" = 0\ngpt-5.1 = 400000\n')
    result = run_cli("ls", "--json", "-L", "sessiontui-none")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if "config.toml:" in line]
    assert [line.split("config.toml:", 1)[1].split(":", 1)[0] for line in lines] == ["3", "4"]
    assert "context_windows 'o3' must be a whole number of tokens" in lines[0]
    assert 'quote a model name that has a dot in it, e.g. "gpt-5.1"' in lines[1]


def test_unknown_theme_and_a_key_bound_twice_are_config_errors(tmp_path, registry):
    config = tmp_path / "config.toml"
    config.write_text('theme = "solarized"\n[keymap]\nhelp = "q"\n', encoding="utf-8")
    result = run_cli("--config", str(config), "ls", "--sessions-dir", str(registry))
    assert result.returncode == 2
    assert f'{config}:1: \'theme\' must be one of "dark", "light", "ansi"' in result.stderr
    assert f"{config}:3: keymap: key 'q' would run both 'help' and 'quit'" in result.stderr
    assert "Traceback" not in result.stderr
