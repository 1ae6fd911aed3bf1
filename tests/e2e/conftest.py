"""Fixtures that run the real Claude Code CLI offline in an isolated tmux server (SPEC Appendix A).

The binary comes from ``$SESSIONTUI_CLAUDE_BIN``, else the cache folder filled by
``.ci/install-claude.sh``, else ``claude`` on ``PATH``; without one, every test that asks for
these fixtures skips. Claude gets a temporary HOME whose ``.claude.json`` skips onboarding and
trusts the project folder, and proxies pointing at a closed loopback port, so nothing leaves the
machine. Teardown ends every process started with that HOME, including Claude's background
daemon (which is re-parented to PID 1, outside any tmux tree).

Facts behind the details below are recorded from Claude Code 2.1.197:
- with ``CLAUDE_CONFIG_DIR=D`` set, Claude reads its global config from ``D/.claude.json`` (not
  ``$HOME/.claude.json``) and writes its registry to ``D/sessions``;
- ``exec env ... claude`` in a pane makes the pane's PID the Claude PID, hence ``<pid>.json``;
- a spare ``--bg-pty-host`` of the daemon ignores SIGTERM for seconds, so survivors get SIGKILL;
- PID 1 here may not reap orphans: zombies count as gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pytest
from tests.helpers import ci_cache_bin, is_gone, spawn_in_pane, wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import libtmux

#: The version ``.ci/install-claude.sh`` pins; other 2.1.x builds are accepted.
CLAUDE_VERSION_PIN = "2.1.197"

#: Claude's environment in every test: a closed loopback port as proxy (nothing leaves the
#: machine) and no updater, telemetry or other background traffic (SPEC Appendix A).
OFFLINE_ENV: dict[str, str] = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "NO_PROXY": "",
    "no_proxy": "",
    "DISABLE_AUTOUPDATER": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_TELEMETRY": "1",
}

#: Removed from Claude's environment: credentials or endpoints of the developer's own setup.
SCRUBBED_ENV: tuple[str, ...] = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_SESSION_KIND",
    "CLAUDE_CODE_SESSION_NAME",
)


# Read at import time: the autouse fixture in tests/conftest.py replaces HOME for each test.
CACHE_BIN = ci_cache_bin("claude", "claude")
ENV_BIN = os.environ.get("SESSIONTUI_CLAUDE_BIN", "")


@dataclass
class ClaudeHome:
    """A throwaway Claude Code user: HOME, config dir, registry and a trusted project folder.

    Attributes:
        claude_bin: The Claude Code executable.
        home: The temporary ``HOME``.
        config_dir: ``<home>/.claude``, also passed as ``CLAUDE_CONFIG_DIR``.
        sessions_dir: The registry, ``<config_dir>/sessions``.
        project: Claude's working directory (trusted in ``.claude.json``).
        env: Variables set for every Claude process (offline settings, HOME, config dir).
    """

    claude_bin: Path
    home: Path
    config_dir: Path
    sessions_dir: Path
    project: Path
    env: dict[str, str] = field(default_factory=dict)

    def full_env(self) -> dict[str, str]:
        """Return this process's environment with :attr:`env` applied and credentials removed."""
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        env.update(self.env)
        return env

    def command(self, *args: str) -> list[str]:
        """Return an argv that runs Claude with :attr:`env` via ``env`` (for a tmux pane).

        ``env`` execs Claude, so a pane started with ``exec`` + this command has Claude's PID.
        """
        unset = [arg for var in SCRUBBED_ENV for arg in ("-u", var)]
        assignments = [f"{key}={value}" for key, value in self.env.items()]
        return ["env", *unset, *assignments, str(self.claude_bin), *args]

    def run_claude(self, *args: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run ``claude ARGS`` to completion in :attr:`project` (stdin closed, output captured).

        Raises:
            subprocess.TimeoutExpired: after ``timeout_s`` seconds.
        """
        return subprocess.run(
            [str(self.claude_bin), *args],
            cwd=self.project,
            env=self.full_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def processes(self) -> list[psutil.Process]:
        """Return the live processes whose HOME is this home (every Claude we started).

        Found by environment, not by process tree: Claude's daemon is re-parented to PID 1. Only
        Claude and its children get this HOME (the tmux server and sessiontui keep the test's).
        """
        found = []
        for proc in psutil.process_iter():
            try:
                if proc.pid == os.getpid() or proc.status() == psutil.STATUS_ZOMBIE:
                    continue
                home = proc.environ().get("HOME")
            except psutil.Error:
                continue
            if home == str(self.home):
                found.append(proc)
        return found

    def daemon_socket_dirs(self) -> list[Path]:
        """Return the daemon's socket folders (``/tmp/cc-daemon-<uid>/<hash>``) from its roster."""
        try:
            roster = json.loads((self.config_dir / "daemon" / "roster.json").read_text())
        except (OSError, ValueError):
            return []
        dirs = set()
        workers = roster.get("workers") if isinstance(roster, dict) else None
        for worker in (workers or {}).values():
            sock = worker.get("ptySock") if isinstance(worker, dict) else None
            if isinstance(sock, str) and Path(sock).parent.parent.parent.name.startswith(
                "cc-daemon-"
            ):
                dirs.add(Path(sock).parent.parent)
        return sorted(dirs)

    def stop_everything(self, grace_s: float = 1.5) -> list[str]:
        """End the daemon (``claude daemon stop --any``) and every process of this home.

        Survivors of SIGTERM get SIGKILL after ``grace_s`` seconds.

        Returns:
            Descriptions of processes still running afterwards (empty when all ended).
        """
        socket_dirs = self.daemon_socket_dirs()
        if (self.config_dir / "daemon.lock").exists() or any(
            "daemon" in _cmdline(proc) for proc in self.processes()
        ):
            with contextlib.suppress(subprocess.TimeoutExpired, OSError):
                self.run_claude("daemon", "stop", "--any", timeout_s=15.0)
        for signal_name in ("SIGTERM", "SIGKILL"):
            procs = self.processes()
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    if signal_name == "SIGTERM":
                        proc.terminate()
                    else:
                        proc.kill()
            with contextlib.suppress(AssertionError):
                wait_until(_all_gone(procs), grace_s, f"{signal_name} to end {procs}")
        for folder in socket_dirs:
            shutil.rmtree(folder, ignore_errors=True)
        return [f"{proc.pid} {' '.join(_cmdline(proc))[:120]}" for proc in self.processes()]


def _all_gone(procs: list[psutil.Process]) -> Callable[[], bool]:
    """Return a predicate telling whether every process of ``procs`` has exited."""
    return lambda: all(is_gone(proc) for proc in procs)


def _cmdline(proc: psutil.Process) -> list[str]:
    """Return the command line of ``proc``, or an empty list when it is gone or hidden."""
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


@dataclass
class ClaudePane:
    """A live interactive Claude Code in a pane of an isolated tmux server.

    Attributes:
        pane: The libtmux pane (``pane.pane_id`` is ``%N``).
        pid: Claude's PID (the pane's PID; the registry file is ``<pid>.json``).
        home: The temporary Claude user it runs as.
        socket_path: The tmux server's socket path (for ``sessiontui -S``).
    """

    pane: libtmux.Pane
    pid: int
    home: ClaudeHome
    socket_path: str

    @property
    def registry_dir(self) -> Path:
        """The registry folder, ``<config_dir>/sessions``."""
        return self.home.sessions_dir

    @property
    def registry_path(self) -> Path:
        """This session's registry file, ``<registry_dir>/<pid>.json``."""
        return self.home.sessions_dir / f"{self.pid}.json"

    def read_registry(self) -> dict[str, Any] | None:
        """Return the registry file as a dict, or None when missing, empty or half-written."""
        try:
            data = json.loads(self.registry_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def wait_for_registry(
        self,
        status: str | None = None,
        *,
        waiting_for: str | None = None,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout_s: float = 15.0,
    ) -> dict[str, Any]:
        """Wait until the registry file parses and matches, and return its content.

        Args:
            status: Required ``status`` value (``busy``, ``idle``, ``waiting``, ``shell``), if any.
            waiting_for: Required ``waitingFor`` value, if any.
            predicate: Extra test on the parsed dict, if any.
            timeout_s: Seconds to wait.

        Raises:
            AssertionError: on timeout; the message holds the last content and the screen.
        """

        def matches() -> dict[str, Any] | None:
            data = self.read_registry()
            if data is None:
                return None
            if status is not None and data.get("status") != status:
                return None
            if waiting_for is not None and data.get("waitingFor") != waiting_for:
                return None
            if predicate is not None and not predicate(data):
                return None
            return data

        try:
            result: dict[str, Any] = wait_until(matches, timeout_s, f"status {status!r}")
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}; registry: {self.read_registry()!r}; screen:\n{self.screen()}"
            ) from None
        return result

    def type(self, text: str, *, enter: bool = True) -> None:
        """Type ``text`` literally (``send-keys -l``), then press Enter in a separate call."""
        self.pane.send_keys(text, enter=False, literal=True)
        if enter:
            self.pane.send_keys("Enter", enter=False)

    def press(self, *keys: str) -> None:
        """Press tmux key names (``Escape``, ``Left``, ``C-z``) one call each."""
        for key in keys:
            self.pane.send_keys(key, enter=False)

    def screen(self) -> str:
        """Return the pane's visible text."""
        try:
            return "\n".join(self.pane.capture_pane())
        except Exception as exc:  # the pane may be gone; this is diagnostics only
            return f"<no screen: {exc}>"


@pytest.fixture(scope="session")
def claude_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Claude Code executable; skips when there is none or it does not run.

    Looked up in ``$SESSIONTUI_CLAUDE_BIN``, then the ``.ci/install-claude.sh`` cache folder,
    then ``PATH``. ``claude --version`` must print ``<version> (Claude Code)``.
    """
    candidates = [ENV_BIN] if ENV_BIN else [str(CACHE_BIN), shutil.which("claude") or ""]
    found = next((c for c in candidates if c and os.access(c, os.X_OK)), None)
    if found is None:
        where = ENV_BIN or f"{CACHE_BIN} or PATH"
        pytest.skip(f"Claude Code CLI not found ({where}); run .ci/install-claude.sh")
    home = tmp_path_factory.mktemp("claude-version-home")
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update(OFFLINE_ENV, HOME=str(home), CLAUDE_CONFIG_DIR=str(home / ".claude"))
    try:
        proc = subprocess.run(
            [found, "--version"],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"{found} --version failed: {exc}")
    if proc.returncode != 0 or "Claude Code" not in proc.stdout:
        detail = (proc.stdout + proc.stderr).strip()[:300]
        pytest.skip(f"{found} --version failed (exit {proc.returncode}): {detail}")
    return Path(found)


@pytest.fixture
def claude_home(
    claude_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ClaudeHome]:
    """A temporary Claude user with onboarding done and the project folder trusted.

    ``CLAUDE_CONFIG_DIR`` is ``<home>/.claude`` for Claude and for this test process (so
    sessiontui's default registry is the same folder). Teardown ends every process that runs with
    this home and fails the test if any survives SIGKILL.
    """
    home = tmp_path / "claude-user"
    config_dir = home / ".claude"
    project = (tmp_path / "project").resolve()
    config_dir.mkdir(parents=True)
    project.mkdir()
    config = {
        "hasCompletedOnboarding": True,
        "theme": "dark",
        "projects": {str(project): {"hasTrustDialogAccepted": True}},
    }
    # Claude reads $CLAUDE_CONFIG_DIR/.claude.json when the variable is set, else ~/.claude.json.
    for path in (home / ".claude.json", config_dir / ".claude.json"):
        path.write_text(json.dumps(config), encoding="utf-8")
    env = {**OFFLINE_ENV, "HOME": str(home), "CLAUDE_CONFIG_DIR": str(config_dir)}
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config_dir))
    claude = ClaudeHome(
        claude_bin=claude_bin,
        home=home,
        config_dir=config_dir,
        sessions_dir=config_dir / "sessions",
        project=project,
        env=env,
    )
    yield claude
    survivors = claude.stop_everything()
    assert not survivors, f"processes of the test's Claude survived teardown: {survivors}"


@pytest.fixture
def claude_in_tmux(server: libtmux.Server, claude_home: ClaudeHome) -> Iterator[ClaudePane]:
    """An interactive Claude Code in its own pane of an isolated tmux server, registered and idle.

    The pane starts as a placeholder, gets ``remain-on-exit`` (so a failed start leaves its
    output to read) and is respawned with ``exec env ... claude``: the pane PID is Claude's PID.
    """
    pane, pid = spawn_in_pane(server, "claude-e2e", claude_home.project, claude_home.command())
    socket_path = server.cmd("display-message", "-p", "#{socket_path}").stdout[0]
    claude = ClaudePane(pane=pane, pid=pid, home=claude_home, socket_path=socket_path)

    def registered_or_dead() -> bool:
        dead = server.cmd("display-message", "-p", "-t", pane.pane_id, "#{pane_dead}").stdout
        if dead and dead[0] == "1":
            raise AssertionError(f"claude exited at start; screen:\n{claude.screen()}")
        return claude.read_registry() is not None

    try:
        wait_until(registered_or_dead, 30.0, f"{claude.registry_path} to appear")
        claude.wait_for_registry("idle", timeout_s=15.0)
        yield claude
    finally:
        # Closing the pane sends SIGHUP: Claude removes its registry file and exits.
        with contextlib.suppress(Exception):
            server.cmd("kill-session", "-t", str(pane.session_id))
        with contextlib.suppress(psutil.Error, AssertionError):
            proc = psutil.Process(pid)
            wait_until(lambda: is_gone(proc), 5.0, f"claude {pid} to exit")


@dataclass
class ClaudeBgJob:
    """A live ``claude --bg`` job hosted by Claude's daemon (not by tmux), registered.

    Attributes:
        home: The temporary Claude user it runs as.
        job_id: ``jobId`` (the first 8 hex digits of ``sessionId``).
        name: ``--name`` given at the start.
        pid: The job's Claude process (the registry file is ``<pid>.json``).
        registry_path: ``<sessions_dir>/<pid>.json``.
        registry: The first registry content seen with ``kind: "bg"`` and a ``jobId``.
    """

    home: ClaudeHome
    job_id: str
    name: str
    pid: int
    registry_path: Path
    registry: dict[str, Any]

    def read_registry(self) -> dict[str, Any] | None:
        """Return the job's registry file as a dict, or None when missing or half-written."""
        try:
            data = json.loads(self.registry_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def agents(self, *, include_stopped: bool = False) -> list[dict[str, Any]]:
        """Return ``claude agents --json [--all]``: jobs have ``id`` and kind ``background``.

        Raises:
            AssertionError: Claude failed or printed something other than a JSON array.
        """
        args = ["agents", "--json", *(["--all"] if include_stopped else [])]
        proc = self.home.run_claude(*args, timeout_s=30.0)
        assert proc.returncode == 0, f"claude agents failed: {proc.stderr}"
        rows = json.loads(proc.stdout)
        assert isinstance(rows, list), proc.stdout
        return rows

    def agent_entry(self) -> dict[str, Any] | None:
        """Return this job's ``claude agents --json`` entry, or None when it is not listed."""
        return next((row for row in self.agents() if row.get("id") == self.job_id), None)


def find_bg_registry(sessions_dir: Path, name: str) -> tuple[Path, dict[str, Any]] | None:
    """Return ``(path, content)`` of the registry file of the bg job called ``name``, if any.

    Only entries with ``kind: "bg"`` and a string ``jobId`` count (the first write of a new job
    may lack ``status``, which is not required here).
    """
    for path in sorted(sessions_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (
            isinstance(data, dict)
            and data.get("kind") == "bg"
            and data.get("name") == name
            and isinstance(data.get("jobId"), str)
        ):
            return path, data
    return None


@pytest.fixture
def claude_bg_job(claude_home: ClaudeHome) -> ClaudeBgJob:
    """A ``claude --bg --name e2e-bg "hi"`` job, waited for until its registry entry appears.

    Claude returns after ~1 s; the entry (``kind: "bg"``, ``jobId``) follows 1-2.5 s later.
    Teardown is ``claude_home``'s: ``claude daemon stop --any`` ends the job, then every
    process of that home is killed.
    """
    name = "e2e-bg"
    started = claude_home.run_claude("--bg", "--name", name, "hi")
    assert started.returncode == 0, f"claude --bg failed: {started.stdout}{started.stderr}"
    found = wait_until(
        lambda: find_bg_registry(claude_home.sessions_dir, name),
        30.0,
        f"the registry entry of bg job {name}",
    )
    path, data = found
    job_id = data["jobId"]
    assert job_id in started.stdout, started.stdout
    return ClaudeBgJob(
        home=claude_home,
        job_id=job_id,
        name=name,
        pid=int(data["pid"]),
        registry_path=path,
        registry=data,
    )
