"""Claude Code's own background jobs through ClaudeJobs: attach viewers, end them, stop the job.

The first tests need no Claude: they use real processes whose command line looks like a viewer
(``/bin/sh`` started with ``argv[0]`` set to a ``claude`` path) and a fake ``claude`` script.
The tests marked ``claude`` drive the real CLI offline (fixtures in ``conftest.py``).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
from typing import TYPE_CHECKING

import psutil
import pytest
from tests.helpers import wait_until

from sessiontui.errors import SessiontuiError
from sessiontui.model.claude_jobs import (
    ClaudeJobs,
    find_claude,
    validate_job_id,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    import libtmux

    from conftest import (  # type: ignore[import-not-found,unused-ignore]
        ClaudeBgJob,
        ClaudeHome,
    )

JOB = "deadbeef"


def make_script(path: Path, body: str) -> Path:
    """Write an executable ``/bin/sh`` script and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


# --- job ids, executables ------------------------------------------------------------------


@pytest.mark.parametrize("job_id", ["c6cf844d", "ABCDEF12", "c6cf844d-afd4-4b30-b578-d0d33b317c90"])
def test_valid_job_id_gives_attach_argv(job_id: str) -> None:
    jobs = ClaudeJobs("/opt/claude/bin/claude")

    assert validate_job_id(job_id) == job_id
    assert jobs.attach_argv(job_id) == ["/opt/claude/bin/claude", "attach", job_id]


@pytest.mark.parametrize(
    "job_id",
    [
        "",
        "c6cf844",  # shorter than Claude's ids: it would match another job by prefix
        "-c6cf844d",
        "--resume",
        "c6cf844d;rm -rf ~",
        "c6cf 844d",
        "c6cf844d\n",
        "c6cf844d\x1b]0;x\x07",
        "\uff43" + "6cf844d",  # fullwidth c: alphanumeric for str.isalnum, not ASCII
        "../../etc/pw",
        "a" * 65,
    ],
)
def test_invalid_job_id_is_refused_everywhere(job_id: str, tmp_path: Path) -> None:
    log = tmp_path / "ran"
    claude = make_script(tmp_path / "bin" / "claude", f'echo "$@" > {shlex.quote(str(log))}')
    jobs = ClaudeJobs(str(claude))

    for call in (jobs.attach_argv, jobs.viewers, jobs.end_viewers, jobs.stop):
        with pytest.raises(ValueError, match="invalid Claude job id"):
            call(job_id)
    assert not log.exists()


def test_missing_executable_is_a_user_error() -> None:
    jobs = ClaudeJobs(None)

    with pytest.raises(SessiontuiError, match="claude executable not found; set it in the config"):
        jobs.attach_argv(JOB)
    with pytest.raises(SessiontuiError, match="claude executable not found"):
        jobs.stop(JOB)
    assert jobs.viewers(JOB) == []


def test_find_claude_prefers_configured_then_path(tmp_path: Path) -> None:
    configured = make_script(tmp_path / "opt" / "my-claude", "exit 0")
    on_path = make_script(tmp_path / "bin" / "claude", "exit 0")
    not_executable = tmp_path / "opt" / "plain"
    not_executable.write_text("", encoding="utf-8")
    env = {"PATH": str(on_path.parent)}

    assert find_claude(str(configured), env) == str(configured)
    assert find_claude(str(not_executable), env) == str(on_path)
    assert find_claude(None, env) == str(on_path)
    assert find_claude("claude", env) == str(on_path)
    assert find_claude(str(tmp_path / "missing"), {"PATH": str(tmp_path / "opt")}) is None
    assert find_claude(None, {"PATH": str(tmp_path)}) is None


# --- stop with a fake claude -----------------------------------------------------------------


def test_stop_runs_claude_stop_with_the_given_environment(tmp_path: Path) -> None:
    log = tmp_path / "argv"
    claude = make_script(
        tmp_path / "bin" / "claude",
        f'echo "$* $CLAUDE_CONFIG_DIR" > {shlex.quote(str(log))}; echo "stopped $2"',
    )
    env = {**os.environ, "CLAUDE_CONFIG_DIR": str(tmp_path / "cfg")}

    ClaudeJobs(str(claude), environ=env).stop(JOB)

    assert log.read_text(encoding="utf-8").split() == ["stop", JOB, str(tmp_path / "cfg")]


def test_stop_failure_carries_claudes_message_made_printable(tmp_path: Path) -> None:
    claude = make_script(
        tmp_path / "bin" / "claude",
        'printf "No job matching \'%s\'.\\033]0;pwned\\007\\n" "$2" >&2; exit 1',
    )

    with pytest.raises(SessiontuiError) as caught:
        ClaudeJobs(str(claude)).stop(JOB)

    message = str(caught.value)
    assert f"No job matching '{JOB}'." in message
    assert "\x1b" not in message
    assert "\x07" not in message


def test_stop_times_out_and_unrunnable_executable_fails(tmp_path: Path) -> None:
    slow = make_script(tmp_path / "bin" / "claude", "exec sleep 30")

    with pytest.raises(SessiontuiError, match=r"timed out after 0\.3 s"):
        ClaudeJobs(str(slow), timeout_s=0.3).stop(JOB)
    with pytest.raises(SessiontuiError, match="cannot run"):
        ClaudeJobs(str(tmp_path / "nowhere" / "claude")).stop(JOB)


# --- viewers among real processes ------------------------------------------------------------


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start real processes with a chosen ``argv`` (``argv[0]`` may differ from the program).

    Each gets its own session (no controlling terminal) and a stdin pipe kept open; all are
    killed at teardown.
    """
    started: list[subprocess.Popen[bytes]] = []

    def start(argv: list[str], program: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            argv,
            executable=program,
            cwd=tmp_path,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=5)


def test_viewers_are_exactly_the_attach_processes_of_that_job(
    tmp_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    # `sh attach <id>` runs the script ./attach, which blocks on its stdin pipe; argv[0] is
    # a claude path, so the command line reads `<claude> attach <id>` like a real viewer.
    make_script(tmp_path / "attach", "read -r line")
    make_script(tmp_path / "claude-code" / "cli.js", "read -r line")
    claude = str(tmp_path / "bin" / "claude")
    viewer = spawn([claude, "attach", JOB], "/bin/sh")
    node_viewer = spawn(
        ["node", str(tmp_path / "claude-code" / "cli.js"), "attach", JOB], "/bin/sh"
    )
    other_job = spawn([claude, "attach", "deadbee1"], "/bin/sh")
    not_claude = spawn([str(tmp_path / "bin" / "viewer"), "attach", JOB], "/bin/sh")
    # A job host's command line ends with its prompt, which may be the words "attach <id>".
    job_host = spawn([claude, "-c", "import time; time.sleep(60)", "attach", JOB], sys.executable)
    jobs = ClaudeJobs(claude)

    found = jobs.viewers(JOB)

    assert [proc.pid for proc in found] == sorted([viewer.pid, node_viewer.pid])
    assert [proc.pid for proc in jobs.viewers("deadbee1")] == [other_job.pid]
    assert jobs.viewers("0123abcd") == []
    assert not_claude.poll() is None
    assert job_host.poll() is None


def test_end_viewers_ends_only_that_jobs_viewers(
    tmp_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    make_script(tmp_path / "attach", "read -r line")
    claude = str(tmp_path / "bin" / "claude")
    viewers = [spawn([claude, "attach", JOB], "/bin/sh") for _ in range(2)]
    other_job = spawn([claude, "attach", "deadbee1"], "/bin/sh")
    job_host = spawn([claude, "-c", "import time; time.sleep(60)", "attach", JOB], sys.executable)
    jobs = ClaudeJobs(claude)

    ended = jobs.end_viewers(JOB, grace_s=5.0)

    assert ended == 2
    assert [viewer.wait(timeout=5) for viewer in viewers] == [-15, -15]
    assert jobs.viewers(JOB) == []
    assert other_job.poll() is None
    assert job_host.poll() is None
    assert jobs.end_viewers(JOB) == 0


def test_end_viewers_kills_a_viewer_that_ignores_sigterm(
    tmp_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    make_script(tmp_path / "attach", "trap '' TERM; echo ready > ready; read -r line")
    claude = str(tmp_path / "bin" / "claude")
    stubborn = spawn([claude, "attach", JOB], "/bin/sh")
    wait_until((tmp_path / "ready").exists, 5.0, "the viewer to ignore SIGTERM")

    ended = ClaudeJobs(claude).end_viewers(JOB, grace_s=0.3)

    assert ended == 1
    assert stubborn.wait(timeout=5) == -9


# --- the real Claude Code ------------------------------------------------------------------


def screen(pane: libtmux.Pane) -> str:
    """Return the pane's visible text."""
    return "\n".join(pane.capture_pane())


def pane_format(server: libtmux.Server, pane: libtmux.Pane, fmt: str) -> str:
    """Return a tmux format expanded for ``pane`` (e.g. ``#{alternate_on}``)."""
    assert pane.pane_id is not None
    out = server.cmd("display-message", "-p", "-t", pane.pane_id, fmt).stdout
    return out[0] if out else ""


def test_end_viewers_restores_the_viewers_terminal(tmp_path: Path, server: libtmux.Server) -> None:
    # A fake viewer in a tmux pane: enters the alternate screen with mouse reporting, like
    # `claude attach`, and is ended from outside (no signal makes the real one clean up).
    make_script(
        tmp_path / "attach",
        r"""printf '\033[?1049h\033[?1000h\033[2J\033[Hfake viewer of %s\n' "$1"; read -r line""",
    )
    claude = str(tmp_path / "bin" / "claude")
    session = server.new_session(session_name="fake", window_command="bash --norc --noprofile")
    pane = session.active_window.active_pane
    assert pane is not None
    jobs = ClaudeJobs(claude)
    start = f"(cd {shlex.quote(str(tmp_path))} && exec -a {shlex.quote(claude)} sh attach {JOB})"

    def run_viewer_and_end_it(*, restore_terminal: bool, round_no: int) -> str:
        pane.send_keys(f'{start}; echo "viewer-exit-{round_no}=$?"', enter=True)
        wait_until(lambda: f"fake viewer of {JOB}" in screen(pane), 10.0, "the fake viewer")
        assert pane_format(server, pane, "#{alternate_on} #{mouse_any_flag}") == "1 1"
        assert jobs.end_viewers(JOB, restore_terminal=restore_terminal) == 1
        wait_until(
            lambda: f"viewer-exit-{round_no}=143" in screen(pane),
            10.0,
            f"the fake viewer to end; screen:\n{screen(pane)}",
        )
        return pane_format(server, pane, "#{alternate_on} #{mouse_any_flag}")

    assert run_viewer_and_end_it(restore_terminal=False, round_no=1) == "1 1"
    pane.send_keys(r"printf '\033[?1000l\033[?1049l'", enter=True)  # clean up by hand
    wait_until(
        lambda: pane_format(server, pane, "#{alternate_on} #{mouse_any_flag}") == "0 0",
        10.0,
        "the shell to leave the alternate screen",
    )
    assert run_viewer_and_end_it(restore_terminal=True, round_no=2) == "0 0"


def new_window(server: libtmux.Server, home: ClaudeHome, argv: list[str]) -> libtmux.Pane:
    """Open a 120x40 window running ``exec env <Claude's env> ARGV``, kept after it exits."""
    sessions = server.sessions.filter(session_name="viewers")
    if sessions:
        session = sessions[0]
    else:
        session = server.new_session(
            session_name="viewers",
            window_command="cat",
            start_directory=str(home.project),
            x=120,
            y=40,
        )
    pane = session.new_window(window_shell="cat", start_directory=str(home.project)).active_pane
    assert pane is not None
    assert pane.pane_id is not None
    server.cmd("set-option", "-w", "-t", pane.pane_id, "remain-on-exit", "on")
    env_prefix = home.command()[:-1]  # env -u ... K=V ... (without the claude path)
    command = "exec " + shlex.join([*env_prefix, *argv])
    server.cmd("respawn-pane", "-k", "-t", pane.pane_id, "-c", str(home.project), command)
    return pane


def wait_for_job_screen(pane: libtmux.Pane, job: ClaudeBgJob) -> str:
    """Wait until the pane shows the job's Claude screen (prompt box named after the job)."""

    def shown() -> str | None:
        text = screen(pane)
        return text if f" {job.name} " in text and "for agents" in text else None

    try:
        return str(wait_until(shown, 20.0, "the attached job's screen"))
    except AssertionError as exc:
        raise AssertionError(f"{exc}; screen:\n{screen(pane)}") from None


def job_is_running(job: ClaudeBgJob) -> bool:
    """True when the job's registry file still names it and its process is alive."""
    data = job.read_registry()
    if data is None or data.get("jobId") != job.job_id or data.get("kind") != "bg":
        return False
    try:
        return psutil.Process(job.pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.claude
def test_attach_in_a_window_then_end_viewers_keeps_the_job(
    claude_bg_job: ClaudeBgJob, server: libtmux.Server
) -> None:
    job = claude_bg_job
    jobs = ClaudeJobs(str(job.home.claude_bin), environ=job.home.full_env())

    pane = new_window(server, job.home, jobs.attach_argv(job.job_id))
    text = wait_for_job_screen(pane, job)
    viewers = jobs.viewers(job.job_id)

    assert "\u276f hi" in text  # the transcript: the job's prompt after the U+276F mark
    assert [proc.pid for proc in viewers] == [int(pane_format(server, pane, "#{pane_pid}"))]
    assert job.pid not in [proc.pid for proc in viewers]

    ended = jobs.end_viewers(job.job_id)

    assert ended == 1
    wait_until(lambda: pane_format(server, pane, "#{pane_dead}") == "1", 10.0, "viewer exit")
    assert jobs.viewers(job.job_id) == []
    assert job_is_running(job)
    entry = job.agent_entry()
    assert entry is not None
    assert entry["kind"] == "background"
    assert entry["pid"] == job.pid


@pytest.mark.claude
def test_viewer_in_a_shell_leaves_with_left_or_ctrl_z_and_end_viewers_restores_it(
    claude_bg_job: ClaudeBgJob, server: libtmux.Server
) -> None:
    job = claude_bg_job
    jobs = ClaudeJobs(str(job.home.claude_bin), environ=job.home.full_env())
    pane = new_window(server, job.home, ["bash", "--norc", "--noprofile"])
    attach = shlex.join(jobs.attach_argv(job.job_id))

    def view_then_leave(round_no: int, how: Callable[[], object], expected_exit: int) -> None:
        marker = f"viewer-exit-{round_no}="
        pane.send_keys(f'clear; {attach}; echo "{marker}$?"', enter=True)
        wait_for_job_screen(pane, job)
        assert pane_format(server, pane, "#{alternate_on}") == "1"
        assert len(jobs.viewers(job.job_id)) == 1
        how()
        try:
            wait_until(lambda: marker in screen(pane), 10.0, f"{marker}N on the screen")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; screen:\n{screen(pane)}") from None
        assert f"{marker}{expected_exit}" in screen(pane)
        assert jobs.viewers(job.job_id) == []
        # The shell's screen is back: no alternate screen, no mouse reporting.
        assert pane_format(server, pane, "#{alternate_on} #{mouse_any_flag}") == "0 0"
        assert job_is_running(job)

    def left() -> None:
        """Press ``←`` at the empty prompt, the way a user leaves.

        2.1.197 leaves at once; 2.1.332 opens its agents view ("← for agents"), which ``Esc``
        leaves (exit status 0 too).
        """
        pane.send_keys("Left", enter=False)
        with contextlib.suppress(AssertionError):
            wait_until(lambda: "enter to return" in screen(pane), 3.0, "the agents view")
            pane.send_keys("Escape", enter=False)

    view_then_leave(1, left, 0)  # ← at the empty prompt
    view_then_leave(2, lambda: pane.send_keys("C-z", enter=False), 0)
    view_then_leave(3, lambda: jobs.end_viewers(job.job_id), 143)  # SIGTERM after the restore


@pytest.mark.claude
def test_stop_ends_the_job_and_reports_unknown_ones(claude_bg_job: ClaudeBgJob) -> None:
    job = claude_bg_job
    jobs = ClaudeJobs(str(job.home.claude_bin), environ=job.home.full_env())
    assert job.agent_entry() is not None

    jobs.stop(job.job_id)

    wait_until(lambda: not job.registry_path.exists(), 10.0, "the registry file to go")
    assert job.agent_entry() is None
    stopped = [row for row in job.agents(include_stopped=True) if row.get("id") == job.job_id]
    assert [row.get("state") for row in stopped] == ["stopped"]
    # 2.1.197: "No job matching 'X'"; 2.1.332: "No session matching 'X'". Claude's words reach
    # the user either way.
    with pytest.raises(SessiontuiError, match=r"No (job|session) matching 'deadbeef'"):
        jobs.stop("deadbeef")
