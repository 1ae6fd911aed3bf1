"""Claude Code's own background jobs (``claude --bg``): attach, find and end viewers, stop.

A job is hosted by Claude's per-user daemon (``claude daemon run`` with one ``--bg-pty-host``
process per job), not by tmux; its registry entry has ``kind: "bg"`` and a ``jobId`` (SPEC 5).
``claude attach <jobId>`` is a *viewer*: it takes over a terminal and shows the job; the user
leaves it with ``←`` at an empty prompt (2.1.332: ``←`` opens the agents view, ``Esc`` there
leaves) or with Ctrl+Z, and the job keeps running. ``claude stop
<jobId>`` ends the job. This module never runs ``claude --resume`` on a job (Claude refuses
that for a running background session).

Facts behind the details, observed on Claude Code 2.1.197:

- ``claude stop``, ``attach`` and ``logs`` accept any unique *prefix* of a job id, so a short
  id read from a broken registry file could name another job; ids here must have at least
  :data:`MIN_JOB_ID_LEN` characters (Claude's are 8 hex digits, the start of the sessionId).
- ``claude attach`` of a *stopped* job resumes it.
- A viewer's command line is ``<claude as invoked> attach <jobId>``; viewers do not register.
- No signal makes a viewer leave cleanly: SIGTERM, SIGHUP, SIGINT, SIGQUIT and SIGUSR1 all end
  it without its exit sequence (its terminal stays in the alternate screen with mouse
  reporting on), and SIGTSTP merely stops it. Only keys typed into its terminal (``←`` at an
  empty prompt, Ctrl+Z) detach cleanly. :meth:`ClaudeJobs.end_viewers` therefore writes the
  viewer's own exit sequence (:data:`TERMINAL_RESTORE`) to its terminal and then sends SIGTERM.
- Claude Code has no command that hands a job a message (2.1.197 and 2.1.332: ``--help``,
  ``agents``, ``attach``, ``logs``, ``stop``, ``respawn``; the registry's
  ``messagingSocketPath`` is its private peer protocol). What works is what a user does: a
  viewer, the text, Enter, ``←``. :meth:`ClaudeJobs.send` runs the viewer on a pseudo-terminal
  of its own, never shown: the text arrives as the job's next user message, and the viewer
  leaves on ``←`` (2.1.197) or ``←`` then ``Esc`` (2.1.332 opens its agents view first).
- A job's host does not pass ``ANTHROPIC_BASE_URL`` from the shell that ran ``claude --bg``
  to the job (the ``env`` of Claude's ``settings.json`` does reach it).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import shutil
import stat
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from sessiontui.errors import SessiontuiError
from sessiontui.model.text import printable

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Shortest job id accepted: Claude matches job-id prefixes, and its ids have 8 characters.
MIN_JOB_ID_LEN = 8

#: Longest job id accepted (a whole sessionId UUID has 36 characters).
MAX_JOB_ID_LEN = 64

_JOB_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")

#: What ``claude attach`` 2.1.197 writes to its terminal when it detaches on ``←``: leave
#: synchronized output, focus, paste and mouse modes, show the cursor, reset attributes and the
#: scroll region, pop the kitty keyboard mode, leave the alternate screen, reset modifyOtherKeys.
TERMINAL_RESTORE: bytes = (
    b"\x1b[?2026l\x1b[?2031l\x1b[?1004l\x1b[?2004l\x1b[?1006l\x1b[?1003l\x1b[?1002l"
    b"\x1b[?1000l\x1b[?25h\x1b[0m\x1b7\x1b[r\x1b8\x1b[<u\x1b[?1049l\x1b[>4m"
)

#: Seconds to wait for viewers to vanish after SIGKILL.
_KILL_WAIT_S = 2.0

#: Size of the hidden terminal :meth:`ClaudeJobs.send` runs a viewer in: (rows, columns).
VIEWER_SIZE = (40, 120)
#: What a viewer is fed to leave: ``←`` (at the empty prompt after the reply), then, if it is
#: still there after a moment, ``Esc`` (2.1.332 shows its agents view on ``←``).
_LEFT = b"\x1b[D"
_ESCAPE = b"\x1b"
#: Claude's prompt mark (U+276F): the viewer has drawn the job's input.
_PROMPT_MARK = "\u276f".encode()

_ON_LINUX = sys.platform.startswith("linux")
_MISSING = "claude executable not found; set it in the config"
_INTERPRETERS = ("node", "bun", "deno")


def validate_job_id(job_id: str) -> str:
    """Check a job id read from an untrusted registry file and return it unchanged.

    Args:
        job_id: The registry's ``jobId``.

    Returns:
        ``job_id``.

    Raises:
        ValueError: Not :data:`MIN_JOB_ID_LEN` to :data:`MAX_JOB_ID_LEN` ASCII letters, digits
            and ``-``, starting with a letter or digit (so never an option, and never a short
            prefix that Claude would match against another job).
    """
    if (
        not isinstance(job_id, str)
        or not MIN_JOB_ID_LEN <= len(job_id) <= MAX_JOB_ID_LEN
        or not job_id.isascii()
        or _JOB_ID_RE.fullmatch(job_id) is None
    ):
        raise ValueError(f"invalid Claude job id: {printable(str(job_id), max_len=80)!r}")
    return job_id


def find_claude(
    configured: str | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """Locate the Claude Code executable.

    Args:
        configured: A path from the config (``~`` is expanded) or a bare command name looked
            up on ``PATH``; used when it names an executable file.
        environ: Environment whose ``PATH`` is searched (default: this process's).

    Returns:
        ``configured`` when it is executable, else ``claude`` found on ``PATH``, else ``None``.
    """
    env = os.environ if environ is None else environ
    search_path = env.get("PATH", os.defpath)
    if configured:
        if os.sep in configured or configured.startswith("~"):
            path = Path(configured).expanduser()
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
        else:
            found = shutil.which(configured, path=search_path)
            if found is not None:
                return found
    return shutil.which("claude", path=search_path)


def _real(path: str) -> str:
    with contextlib.suppress(OSError, ValueError):
        return str(Path(path).resolve())
    return path


class ClaudeJobs:
    """Runs and watches ``claude`` commands for background jobs (no Textual, blocking calls).

    Args:
        executable: The Claude Code executable (see :func:`find_claude`), or ``None`` when
            there is none: :meth:`attach_argv` and :meth:`stop` then raise.
        environ: Environment for ``claude stop`` (default: this process's). It must carry the
            job's ``CLAUDE_CONFIG_DIR``: the daemon, and so the job, belongs to a config dir.
        timeout_s: Seconds ``claude stop`` may take (0.4 s is usual).
    """

    def __init__(
        self,
        executable: str | None,
        *,
        environ: Mapping[str, str] | None = None,
        timeout_s: float = 15.0,
    ) -> None:
        self.executable = executable
        self.environ: dict[str, str] | None = None if environ is None else dict(environ)
        self.timeout_s = timeout_s

    def _require_executable(self) -> str:
        if not self.executable:
            raise SessiontuiError(_MISSING)
        return self.executable

    def attach_argv(self, job_id: str) -> list[str]:
        """Return the command that shows a job in a terminal: ``[claude, "attach", job_id]``.

        Run it in a terminal (tmux window or popup, or a suspended TUI's terminal) with the
        job's ``CLAUDE_CONFIG_DIR``. The user leaves with ``←`` at an empty prompt or Ctrl+Z.
        Attaching to a stopped job resumes it.

        Args:
            job_id: The registry's ``jobId`` (untrusted).

        Returns:
            The argv.

        Raises:
            ValueError: ``job_id`` is invalid (see :func:`validate_job_id`).
            SessiontuiError: There is no Claude executable.
        """
        validate_job_id(job_id)
        return [self._require_executable(), "attach", job_id]

    def _is_claude(self, arg: str) -> bool:
        """Tell whether a command-line word runs Claude Code (binary, link or JS entry)."""
        name = Path(arg).name
        if name.startswith("claude") or "claude-code" in arg:
            return True
        return bool(self.executable) and _real(arg) == _real(str(self.executable))

    def _is_viewer_cmdline(self, cmdline: list[str], job_id: str) -> bool:
        """``[claude, "attach", id]`` or ``[node, <claude entry>, "attach", id]``; nothing else.

        Anything longer is refused on purpose: a job host's command line ends with the job's
        prompt, which could be the words ``attach <id>``.
        """
        if cmdline[-2:] != ["attach", job_id]:
            return False
        if len(cmdline) == 3:
            return self._is_claude(cmdline[0])
        if len(cmdline) == 4:
            return Path(cmdline[0]).name.startswith(_INTERPRETERS) and self._is_claude(cmdline[1])
        return False

    def viewers(self, job_id: str) -> list[psutil.Process]:
        """Return the running ``claude attach <job_id>`` processes of this user.

        Only viewers of exactly this job: the command line must be ``<claude> attach <job_id>``
        (so never the job's ``--bg-pty-host``, its Claude process or the daemon). Zombies,
        this process and other users' processes are left out. One pass over the process table.

        Args:
            job_id: The registry's ``jobId`` (untrusted).

        Returns:
            The viewers, by PID.

        Raises:
            ValueError: ``job_id`` is invalid.
        """
        validate_job_id(job_id)
        uid = os.getuid()
        me = os.getpid()
        found: list[psutil.Process] = []
        for proc in psutil.process_iter(["cmdline", "uids", "status"]):
            info = proc.info
            if proc.pid == me or info.get("status") == psutil.STATUS_ZOMBIE:
                continue
            uids = info.get("uids")
            cmdline = info.get("cmdline")
            if uids is None or uids.real != uid or not cmdline:
                continue
            if self._is_viewer_cmdline(list(cmdline), job_id):
                found.append(proc)
        return sorted(found, key=lambda proc: proc.pid)

    def end_viewers(
        self, job_id: str, *, grace_s: float = 2.0, restore_terminal: bool = True
    ) -> int:
        """End every viewer of a job, leaving the job itself running.

        For each viewer: write :data:`TERMINAL_RESTORE` to its controlling terminal (when
        ``restore_terminal``, the terminal is ours and it is a character device; no signal makes
        the viewer do that itself), then SIGTERM; viewers alive after ``grace_s`` seconds get
        SIGKILL. A job's daemon processes never match :meth:`viewers`.

        Args:
            job_id: The registry's ``jobId`` (untrusted).
            grace_s: Seconds between SIGTERM and SIGKILL.
            restore_terminal: Put the viewer's terminal back in its normal state.

        Returns:
            How many viewers were signalled.

        Raises:
            ValueError: ``job_id`` is invalid.
        """
        procs = self.viewers(job_id)
        signalled: list[psutil.Process] = []
        for proc in procs:
            if restore_terminal:
                _restore_terminal_of(proc)
            try:
                proc.terminate()
            except psutil.Error:
                continue  # gone meanwhile, or the PID was reused (psutil checks identity)
            signalled.append(proc)
        alive = _wait_exited(signalled, grace_s)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        _wait_exited(alive, _KILL_WAIT_S)
        return len(signalled)

    def send(
        self,
        job_id: str,
        text: str,
        *,
        ready_timeout_s: float = 15.0,
        quiet_s: float = 0.4,
        leave_s: float = 2.0,
    ) -> None:
        """Type ``text`` and Enter into a background job, as its next user message.

        Runs ``claude attach <job_id>`` on a pseudo-terminal of its own (nothing is shown;
        nothing is typed before the viewer has drawn the job's prompt and gone quiet), types
        the text, pauses, presses Enter, then leaves the viewer the way a user does (``←``,
        then ``Esc`` if needed) and ends it if it is still there. The job keeps running.
        Attaching to a stopped job would resume it: call this for a live job only.

        Args:
            job_id: The registry's ``jobId`` (untrusted).
            text: One line of printable text (the caller checks it).
            ready_timeout_s: Longest wait for the viewer to show the job, in seconds.
            quiet_s: How long the viewer's output must pause before typing, in seconds.
            leave_s: How long each way of leaving may take before the next, in seconds.

        Raises:
            ValueError: ``job_id`` is invalid.
            SessiontuiError: No executable, the viewer could not start or did not show the
                job in time (then nothing was typed).
        """
        argv = self.attach_argv(job_id)
        env = dict(os.environ if self.environ is None else self.environ)
        for name in ("TMUX", "TMUX_PANE", "ZELLIJ", "ZELLIJ_PANE_ID", "ZELLIJ_SESSION_NAME"):
            env.pop(name, None)
        env.setdefault("TERM", "xterm-256color")
        viewer = _HiddenViewer(argv, env)
        try:
            if not viewer.wait_ready(ready_timeout_s, quiet_s):
                raise SessiontuiError(
                    f"claude attach {job_id} did not show the job within "
                    f"{ready_timeout_s:g} s; nothing was sent"
                )
            viewer.write(text.encode())
            time.sleep(0.15)
            viewer.write(b"\r")
            time.sleep(0.3)
            viewer.leave(leave_s)
        finally:
            viewer.close()

    def stop(self, job_id: str) -> None:
        """End a job with ``claude stop <job_id>``; its conversation is kept by Claude.

        Claude removes the job's registry file at once and its host processes exit.

        Args:
            job_id: The registry's ``jobId`` (untrusted).

        Raises:
            ValueError: ``job_id`` is invalid.
            SessiontuiError: No executable, it could not run, it timed out after
                :attr:`timeout_s` seconds, or it failed (the message carries Claude's, e.g.
                ``No job matching 'deadbeef'. Run 'claude agents' to list running sessions.``;
                2.1.332 says ``No session matching 'deadbeef'. …``).
        """
        validate_job_id(job_id)
        argv = [self._require_executable(), "stop", job_id]
        try:
            proc = subprocess.run(
                argv,
                env=self.environ,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise SessiontuiError(
                f"claude stop {job_id} timed out after {self.timeout_s:g} s"
            ) from error
        except OSError as error:
            raise SessiontuiError(f"cannot run {argv[0]}: {error.strerror or error}") from error
        if proc.returncode != 0:
            detail = (proc.stderr.strip() or proc.stdout.strip())[:500]
            message = printable(detail) if detail else f"exit status {proc.returncode}"
            raise SessiontuiError(f"claude stop {job_id} failed: {message}")


class _HiddenViewer:
    """A ``claude attach`` on a pseudo-terminal of ours, read by a thread, never shown.

    Args:
        argv: The viewer's command.
        env: Its environment.

    Raises:
        SessiontuiError: It could not start.
    """

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        rows, columns = VIEWER_SIZE
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                start_new_session=True,
            )
        except OSError as error:
            os.close(master)
            raise SessiontuiError(f"cannot run {argv[0]}: {error.strerror or error}") from error
        finally:
            os.close(slave)
        self._master = master
        self._lock = threading.Lock()
        self._seen_prompt = False
        self._last_output = time.monotonic()
        self._reader = threading.Thread(target=self._read, name="claude-attach", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        """Drain the viewer's output (it would block on a full terminal otherwise)."""
        tail = b""
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:
                return  # EIO: the viewer closed its terminal
            if not data:
                return
            with self._lock:
                self._last_output = time.monotonic()
                tail = (tail + data)[-8:]
                if _PROMPT_MARK in tail or _PROMPT_MARK in data:
                    self._seen_prompt = True

    def wait_ready(self, timeout_s: float, quiet_s: float) -> bool:
        """True once the job's prompt was drawn and the output paused ``quiet_s`` seconds."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.proc.poll() is None:
            with self._lock:
                ready = self._seen_prompt and time.monotonic() - self._last_output >= quiet_s
            if ready:
                return True
            time.sleep(0.05)
        return False

    def write(self, data: bytes) -> None:
        """Type ``data`` into the viewer's terminal."""
        with contextlib.suppress(OSError):
            os.write(self._master, data)

    def leave(self, timeout_s: float) -> None:
        """Leave as a user does: ``←``, then ``Esc``; wait ``timeout_s`` after each."""
        for key in (_LEFT, _ESCAPE):
            if self.proc.poll() is not None:
                return
            self.write(key)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout_s)

    def close(self) -> None:
        """End the viewer if it is still there (SIGTERM, then SIGKILL) and close the terminal."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(2.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(2.0)
        self._reader.join(1.0)  # it ends when the viewer's side of the terminal closes
        with contextlib.suppress(OSError):
            os.close(self._master)


def _has_exited(proc: psutil.Process) -> bool:
    """True when ``proc`` is gone, a zombie (an orphan may never be reaped here), or reused."""
    try:
        if proc.status() == psutil.STATUS_ZOMBIE:
            return True
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        pass
    return not proc.is_running()


def _wait_exited(procs: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    """Poll until every process has exited or ``timeout_s`` passed; return those still alive."""
    deadline = time.monotonic() + timeout_s
    alive = [proc for proc in procs if not _has_exited(proc)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [proc for proc in alive if not _has_exited(proc)]
    return alive


def _terminal_of(proc: psutil.Process) -> str | None:
    """Return the terminal ``proc`` draws on (its stdout, else stdin or stderr), if any.

    On Linux this reads ``/proc/<pid>/fd/{1,0,2}``: ``psutil.Process.terminal()`` memoizes its
    device map on first use, so it misses terminals created later (a new tmux pane).
    """
    if _ON_LINUX:
        for fd in (1, 0, 2):
            with contextlib.suppress(OSError):
                target = str(Path(f"/proc/{proc.pid}/fd/{fd}").readlink())
                if target.startswith("/dev/"):
                    return target
        return None
    try:
        return proc.terminal()
    except psutil.Error:
        return None


def _restore_terminal_of(proc: psutil.Process) -> None:
    """Write :data:`TERMINAL_RESTORE` to ``proc``'s terminal if it is ours; never blocks."""
    tty = _terminal_of(proc)
    if not tty:
        return
    flags = os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK
    try:
        fd = os.open(tty, flags)
    except OSError:
        return
    try:
        info = os.fstat(fd)
        if stat.S_ISCHR(info.st_mode) and info.st_uid == os.getuid() and os.isatty(fd):
            with contextlib.suppress(OSError):
                os.write(fd, TERMINAL_RESTORE)
    finally:
        os.close(fd)
