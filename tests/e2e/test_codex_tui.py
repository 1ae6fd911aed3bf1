"""End-to-end: the real Codex CLI (0.171.0) in a tmux pane against a loopback fake API.

Codex runs interactively in a pane of an isolated tmux server (libtmux's ``server`` fixture), in
a trusted project folder, with a ``$CODEX_HOME/config.toml`` whose model provider is
``tests/fakes/openai_responses.py`` on 127.0.0.1 and proxies pointing at a closed loopback port,
so nothing leaves the machine (SPEC 2.3). :class:`sessiontui.model.codex.CodexSource` must find
the session paired with the TUI of that pane, follow it busy → idle, report the tokens and the
context the fake sent, show ``waiting`` (approval) while an escalated command waits and go idle
once it is approved from the pane, and show the thread as a background session after the TUI is
gone while its turn runs on in the daemon.

One ``CODEX_HOME`` serves the whole test session: the TUI copies ~385 MB of binaries into
``$CODEX_HOME/packages/`` on its first start. Teardown stops the daemon the tests started
(``codex app-server daemon stop``, then its ``pid-update-loop`` helper by PID) and every other
process of that home.

The binary comes from ``$SESSIONTUI_CODEX_BIN``, else the cache folder filled by
``.ci/install-codex.sh``, else ``codex`` on ``PATH``; without one the tests skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest
from tests.fakes.openai_responses import (
    FakeResponsesServer,
    TextTurn,
    ToolTurn,
    Usage,
    exec_command,
)
from tests.helpers import ci_cache_bin, is_gone, spawn_in_pane, wait_until

from sessiontui.model.codex import CodexSession, CodexSource, codex_status
from sessiontui.model.monitor import Monitor, MonitorTiming
from sessiontui.model.processes import read_proc_start
from sessiontui.model.types import Session, Status, StatusSource
from sessiontui.mux.tmux import TmuxBackend

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import libtmux

pytestmark = pytest.mark.codex

#: The composer's prompt mark (U+203A), shown once the TUI is ready.
PROMPT_MARK = "\u203a"

#: The version ``.ci/install-codex.sh`` pins (others are accepted; facts were observed on it).
CODEX_VERSION_PIN = "0.171.0"
#: The model to ask for: with it a plain ``function_call`` ``exec_command`` works (SPEC 2.3).
MODEL = "gpt-5-codex"
#: Variables of the developer's own setup that must not reach Codex.
SCRUBBED_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "CODEX_API_KEY",
    "CODEX_HOME",
    "TMUX",
    "TMUX_PANE",
)


CACHE_BIN = ci_cache_bin("codex", "codex")  # at import time, before HOME is faked
ENV_BIN = os.environ.get("SESSIONTUI_CODEX_BIN", "")


@dataclass
class CodexWorld:
    """The session-wide Codex user: binary, HOME, CODEX_HOME, trusted project and fake API."""

    codex_bin: Path
    home: Path
    codex_home: Path
    project: Path
    fake: FakeResponsesServer

    @property
    def env(self) -> dict[str, str]:
        """Variables for every Codex process: its homes, the fake key, loopback-only proxies."""
        closed = "http://127.0.0.1:9"
        return {
            "HOME": str(self.home),
            "CODEX_HOME": str(self.codex_home),
            "FAKE_OPENAI_KEY": "sk-fake-test",
            "HTTP_PROXY": closed,
            "HTTPS_PROXY": closed,
            "ALL_PROXY": closed,
            "http_proxy": closed,
            "https_proxy": closed,
            "all_proxy": closed,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }

    def command(self, *args: str) -> list[str]:
        """Return ``env -u … VARS codex ARGS`` (``env`` execs node, the npm launcher)."""
        unset = [arg for var in SCRUBBED_ENV for arg in ("-u", var)]
        assignments = [f"{key}={value}" for key, value in self.env.items()]
        return ["env", *unset, *assignments, str(self.codex_bin), *args]

    def run(self, *args: str, timeout_s: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run ``codex ARGS`` to completion in the project folder (stdin closed)."""
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        env.update(self.env)
        return subprocess.run(
            [str(self.codex_bin), *args],
            cwd=self.project,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def processes(self) -> list[psutil.Process]:
        """Live processes of this Codex home (by ``CODEX_HOME``; for cleanup only)."""
        found = []
        for proc in psutil.process_iter():
            try:
                if proc.pid == os.getpid() or proc.status() == psutil.STATUS_ZOMBIE:
                    continue
                if proc.environ().get("CODEX_HOME") == str(self.codex_home):
                    found.append(proc)
            except psutil.Error:
                continue
        return found

    def stop_everything(self, grace_s: float = 2.0) -> list[str]:
        """Stop the daemon, then its ``pid-update-loop`` by PID, then every process left.

        Returns:
            Descriptions of processes still running afterwards (empty when all ended).
        """
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            self.run("app-server", "daemon", "stop", timeout_s=20.0)
        helper = _pid_file(self.codex_home / "app-server-daemon" / "daemon-updater.pid")
        if helper is not None:
            with contextlib.suppress(psutil.Error):
                psutil.Process(helper).terminate()
        for signal_name in ("SIGTERM", "SIGKILL"):
            procs = self.processes()
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    proc.terminate() if signal_name == "SIGTERM" else proc.kill()
            with contextlib.suppress(AssertionError):
                wait_until(
                    lambda procs=procs: all(is_gone(p) for p in procs), grace_s, signal_name, 0.05
                )
        return [f"{p.pid} {' '.join(p.cmdline())[:120]}" for p in self.processes()]


def _pid_file(path: Path) -> int | None:
    """Return the PID in a Codex ``*.pid`` file if that process still has the recorded start.

    The file is JSON ``{"pid", "processStartTime", "processIdentity": {"bootId",
    "startTicks"}}``; ``startTicks`` is field 22 of ``/proc/<pid>/stat``.
    """
    try:
        data = json.loads(path.read_text())
        pid = int(data["pid"])
        ticks = str(data.get("processIdentity", {}).get("startTicks", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    start = read_proc_start(pid)
    return pid if start is not None and (not ticks or ticks == start) else None


def _write_config(codex_home: Path, project: Path, base_url: str) -> None:
    """Write ``config.toml``: the fake provider, no update check or analytics, trusted project."""
    codex_home.mkdir(parents=True, exist_ok=True)
    (codex_home / "config.toml").write_text(
        f"""model = "{MODEL}"
model_provider = "fake"
check_for_update_on_startup = false

[model_providers.fake]
name = "Fake Responses API"
base_url = "{base_url}"
env_key = "FAKE_OPENAI_KEY"
wire_api = "responses"

[analytics]
enabled = false

[projects."{project}"]
trust_level = "trusted"
""",
        encoding="utf-8",
    )


@pytest.fixture(scope="session")
def codex_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Codex launcher; skips when there is none or ``--version`` fails."""
    candidates = [ENV_BIN] if ENV_BIN else [str(CACHE_BIN), shutil.which("codex") or ""]
    found = next((c for c in candidates if c and os.access(c, os.X_OK)), None)
    if found is None:
        where = ENV_BIN or f"{CACHE_BIN} or PATH"
        pytest.skip(f"Codex CLI not found ({where}); run .ci/install-codex.sh")
    home = tmp_path_factory.mktemp("codex-version-home")
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update(HOME=str(home), CODEX_HOME=str(home / ".codex"))
    try:
        proc = subprocess.run(
            [found, "--version"], env=env, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"{found} --version failed: {exc}")
    if proc.returncode != 0 or "codex-cli" not in proc.stdout:
        pytest.skip(
            f"{found} --version failed (exit {proc.returncode}): {proc.stdout}{proc.stderr}"
        )
    return Path(found)


@pytest.fixture(scope="session")
def codex_world(codex_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodexWorld]:
    """One Codex user for the session: fake API, config, trusted project; stopped at the end."""
    root = tmp_path_factory.mktemp("codex-user")
    home = root / "home"
    project = (root / "project").resolve()
    home.mkdir()
    project.mkdir()
    with FakeResponsesServer(title="Greet the user") as fake:
        world = CodexWorld(codex_bin, home, home / ".codex", project, fake)
        _write_config(world.codex_home, project, fake.base_url)
        try:
            yield world
        finally:
            survivors = world.stop_everything()
            # ~385 MB of binaries the TUI copied; pytest keeps the last few temporary folders.
            shutil.rmtree(world.codex_home / "packages", ignore_errors=True)
        leaks = [r for r in fake.requests if not r.path.startswith("/v1/")]
        assert not leaks, f"unexpected requests: {leaks}"
    assert not survivors, f"Codex processes survived teardown: {survivors}"


@dataclass
class CodexPane:
    """A live interactive Codex in a pane: the pane, its launcher PID and the source."""

    pane: libtmux.Pane
    server: libtmux.Server
    launcher_pid: int
    world: CodexWorld
    source: CodexSource

    def type(self, text: str) -> None:
        """Type ``text`` literally, then press Enter in a separate call."""
        self.pane.send_keys(text, enter=False, literal=True)
        time.sleep(0.2)
        self.pane.send_keys("Enter", enter=False)

    def screen(self) -> str:
        """Return the pane's visible text."""
        try:
            return "\n".join(self.pane.capture_pane())
        except Exception as exc:  # the pane may be gone; diagnostics only
            return f"<no screen: {exc}>"

    def title(self) -> str | None:
        """Return tmux ``#{pane_title}`` (Codex sets it with OSC 0/2), or None if gone."""
        try:
            out = self.server.cmd(
                "display-message", "-p", "-t", self.pane.pane_id or "", "#{pane_title}"
            )
        except Exception:  # a gone pane or server
            return None
        return out.stdout[0] if out.stdout else None

    def session(self) -> CodexSession | None:
        """Scan and return the session whose TUI is this pane's launcher's child."""
        return next((s for s in self.source.scan() if s.launcher_pid == self.launcher_pid), None)

    def wait(
        self, predicate: Callable[[CodexSession], bool], what: str, timeout_s: float = 15.0
    ) -> CodexSession:
        """Poll :meth:`session` until ``predicate`` holds; return that session."""

        def check() -> CodexSession | None:
            found = self.session()
            return found if found is not None and predicate(found) else None

        try:
            result: CodexSession = wait_until(check, timeout_s, what)
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}; last: {self.session()!r}; title: {self.title()!r}; "
                f"screen:\n{self.screen()}"
            ) from None
        return result


@pytest.fixture
def codex_pane(server: libtmux.Server, codex_world: CodexWorld) -> Iterator[CodexPane]:
    """An interactive Codex in its own pane, at its prompt (no turn yet)."""
    pane, pid = spawn_in_pane(
        server, "codex-e2e", codex_world.project, codex_world.command("-m", MODEL)
    )
    codex = CodexPane(pane, server, pid, codex_world, CodexSource())

    def ready() -> bool:
        dead = server.cmd("display-message", "-p", "-t", pane.pane_id, "#{pane_dead}").stdout
        if dead and dead[0] == "1":
            raise AssertionError(f"codex exited at start; screen:\n{codex.screen()}")
        return "Ask Codex" in codex.screen() or PROMPT_MARK in codex.screen()

    try:
        wait_until(ready, 30.0, "the Codex prompt")
        yield codex
    finally:
        with contextlib.suppress(Exception):
            server.cmd("kill-session", "-t", str(pane.session_id))
        with contextlib.suppress(psutil.Error, AssertionError):
            launcher = psutil.Process(pid)
            wait_until(lambda: is_gone(launcher), 5.0, f"codex launcher {pid} to exit")


def monitor_row(
    monitor: Monitor, predicate: Callable[[Session], bool], what: str, timeout_s: float = 15.0
) -> Session:
    """Poll the product's monitor snapshot until a codex row satisfies ``predicate``."""

    def check() -> Session | None:
        return next(
            (s for s in monitor.snapshot.sessions if s.agent == "codex" and predicate(s)), None
        )

    try:
        result: Session = wait_until(check, timeout_s, what)
    except AssertionError as exc:
        rows = [s for s in monitor.snapshot.sessions if s.agent == "codex"]
        raise AssertionError(f"{exc}; codex rows: {rows!r}") from None
    return result


def test_codex_turns_tokens_and_approval(codex_pane: CodexPane, tmp_path: Path) -> None:
    codex, fake = codex_pane, codex_pane.world.fake
    (tmp_path / "sessions").mkdir()
    # The product: the monitor with the pane's tmux server and a Codex source of its own.
    monitor = Monitor(
        sessions_dir=tmp_path / "sessions",
        tmux=TmuxBackend(socket_name=codex.server.socket_name, environ={}),
        timing=MonitorTiming(rescan_s=1.0, sample_s=0.3, tmux_poll_s=0.5),
        codex=CodexSource(),
    )
    monitor.refresh()
    monitor.start()
    try:
        _turns_tokens_and_approval(codex, fake, monitor)
    finally:
        monitor.close()


def _turns_tokens_and_approval(
    codex: CodexPane, fake: FakeResponsesServer, monitor: Monitor
) -> None:
    # The TUI is found (a child of the npm launcher in the pane) before any turn: idle, no rollout.
    first = codex.wait(lambda s: s.kind == "interactive", "the TUI before its first turn")
    assert first.rollout_path is None
    assert first.status().status == "idle"
    assert first.cwd == str(codex.world.project)
    assert first.codex_home == codex.world.codex_home
    assert first.key == f"codex:{first.pid}:{first.proc_start}"
    assert first.kill_root == codex.launcher_pid
    tui = psutil.Process(first.pid)
    assert Path(tui.exe()).name == "codex"
    assert tui.ppid() == codex.launcher_pid
    row = monitor_row(monitor, lambda r: r.pid == first.pid and r.mux is not None, "the row")
    assert row.key == first.key
    assert row.mux is not None
    assert row.mux.pane == codex.pane.pane_id
    assert (row.kind, row.status, row.status_source) == (
        "interactive",
        Status.IDLE,
        StatusSource.ROLLOUT,
    )
    assert row.tokens_output is None

    # A streamed text turn: busy while the fake holds the answer, then idle with its usage.
    fake.add(TextTurn("Hello from the fake.", Usage(1200, 200, 30, 10), delay_s=2.0))
    codex.type("say hello")
    busy = codex.wait(lambda s: s.facts is not None and s.facts.status == "busy", "busy")
    assert busy.status(codex.title()).status == "busy"
    assert busy.rollout_path is not None
    assert busy.rollout_path.is_relative_to(codex.world.codex_home / "sessions")
    idle = codex.wait(lambda s: s.facts is not None and s.facts.status == "idle", "idle", 20.0)
    facts = idle.facts
    assert facts is not None
    assert facts.session_id is not None
    assert idle.rollout_path is not None
    assert facts.session_id in idle.rollout_path.name
    assert facts.cwd == str(codex.world.project)
    assert facts.cli_version == CODEX_VERSION_PIN or facts.cli_version
    assert facts.model == MODEL
    assert facts.output_tokens == 30
    assert facts.context_tokens == 1200 + 30  # the last response's total, not cumulative
    assert facts.context_window is not None
    assert facts.context_window > 0
    assert sum(n for _, n in facts.output_buckets) == 30
    assert facts.last_prompt == "say hello"
    # The daemon holds the rollout; the TUI is paired with it by cwd and start time.
    assert idle.daemon_pid is not None
    assert "--managed-daemon" in psutil.Process(idle.daemon_pid).cmdline()
    assert idle.kill_root != idle.daemon_pid
    named = codex.wait(lambda s: s.thread_name == fake.title, "the generated thread name")
    assert named.name == fake.title
    row = monitor_row(
        monitor,
        lambda r: (
            r.pid == first.pid
            and r.tokens_output == 30
            and r.name == fake.title
            and r.status is Status.IDLE  # the monitor reads rollouts on its own timer
        ),
        "the row after the first turn",
    )
    assert (row.status, row.context_used, row.model) == (Status.IDLE, 1200 + 30, MODEL)
    assert row.context_window == facts.context_window
    assert row.last_prompt == "say hello"
    assert row.session_id == facts.session_id
    assert row.transcript_path == idle.rollout_path
    assert row.activity_scale == 30

    # An escalated command: waiting (approval) until approved from the pane, then idle.
    marker = codex.world.project / "approved-marker"
    fake.add(
        ToolTurn(
            "exec_command",
            exec_command(f"touch {marker}", escalated=True, justification="Create the marker?"),
            Usage(1500, 0, 40),
        ),
        TextTurn("Command finished.", Usage(1700, 100, 20)),
    )
    codex.type("run the command")
    waiting = codex.wait(
        lambda s: s.status(codex.title()).why.endswith("pane title: Action Required"),
        "the approval prompt",
    )
    status = waiting.status(codex.title())
    assert (status.status, status.waiting_for) == ("waiting", "approval")
    pending = waiting.facts.pending_approval if waiting.facts else None
    assert pending is not None
    assert pending.command == f"touch {marker}"
    assert pending.reason == "Create the marker?"
    wait_until(
        lambda: "Would you like to run the following command?" in codex.screen(), 5.0, "prompt"
    )
    assert not marker.exists()
    row = monitor_row(
        monitor,
        lambda r: (
            r.pid == first.pid
            and r.status is Status.WAITING
            and (r.status_why or "").endswith("pane title: Action Required")
        ),
        "the row waiting for approval (rollout + pane title)",
    )
    assert row.waiting_for == "approval"
    codex.pane.send_keys("y", enter=False)
    done = codex.wait(
        lambda s: s.facts is not None and s.facts.status == "idle" and s.facts.turns == 2,
        "idle after the approval",
    )
    assert marker.exists()
    assert done.status(codex.title()).status == "idle"
    assert done.facts is not None
    assert done.facts.output_tokens == 30 + 40 + 20
    assert done.facts.context_tokens == 1700 + 20
    assert done.facts.pending_approval is None
    assert done.tokens == {
        "output": 90,
        "context": 1720,
        "context_window": done.facts.context_window,
    }
    assert done.model == MODEL

    # The TUI goes away during a turn: the daemon runs it on; the thread is a background session.
    thread_id = done.facts.session_id
    fake.add(TextTurn("A slow answer.", Usage(2000, 0, 300), delay_s=5.0))
    codex.type("something slow")
    codex.wait(
        lambda s: s.facts is not None and s.facts.turns == 3 and s.facts.status == "busy", "turn 3"
    )
    # "Kill" ends the launcher, the TUI and their children, never the shared daemon (which is the
    # TUI's child when that TUI started it).
    running = codex.session()
    assert running is not None
    targets = running.kill_targets()
    assert targets[0] == codex.launcher_pid
    assert first.pid in targets
    daemon = psutil.Process(done.daemon_pid)
    assert daemon.pid not in targets
    procs = [psutil.Process(pid) for pid in targets]
    row = monitor_row(
        monitor, lambda r: r.pid == first.pid and r.status is Status.BUSY, "the busy row"
    )
    report = monitor.kill(row.key, grace_s=5.0)  # the product's kill (key K)
    assert report.pid == codex.launcher_pid
    wait_until(lambda: all(is_gone(p) for p in procs), 10.0, "the TUI to exit")
    assert not is_gone(daemon)
    bg_row = monitor_row(
        monitor, lambda r: r.key == f"codex:rollout:{thread_id}", "the background row"
    )
    assert (bg_row.kind, bg_row.pid, bg_row.mux) == ("bg", 0, None)

    def background() -> CodexSession | None:
        return next((s for s in codex.source.scan() if s.key == f"codex:rollout:{thread_id}"), None)

    bg = wait_until(background, 10.0, "the background session")
    assert bg.kind == "bg"
    assert bg.pid is None
    assert bg.kill_root is None
    assert bg.status().status == "busy"
    ended = wait_until(
        lambda: (s := background()) is not None and s.status().status == "idle" and s,
        15.0,
        "the background turn to end",
    )
    assert ended.facts is not None
    assert ended.facts.output_tokens == 30 + 40 + 20 + 300
    assert codex_status(ended.facts).why == "rollout: task_complete"
