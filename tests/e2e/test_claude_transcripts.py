"""End-to-end: the real Claude Code through real turns against the loopback fake Messages API.

Claude runs in a tmux pane with ``ANTHROPIC_BASE_URL`` pointing at
:class:`tests.fakes.anthropic_api.FakeAnthropicAPI` on 127.0.0.1 (proxies still point at a closed
loopback port, so nothing leaves the machine). The transcript Claude writes is read with
:mod:`sessiontui.model.transcripts`, and what it reports must equal what the fake server sent.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
from typing import TYPE_CHECKING, Any

import psutil
import pytest
from tests.e2e.conftest import ClaudeHome, ClaudePane
from tests.fakes.anthropic_api import FakeAnthropicAPI, Turn, Usage, bash_turn
from tests.helpers import spawn_in_pane, wait_until

from sessiontui.model.monitor import Monitor, MonitorTiming
from sessiontui.model.transcripts import (
    DEFAULT_CONTEXT_WINDOW,
    TranscriptSettings,
    TranscriptTracker,
    encode_project_dir,
    find_transcript,
    transcript_path,
)
from sessiontui.model.types import Session, Status, StatusSource
from sessiontui.mux.tmux import TmuxBackend

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import libtmux

    from sessiontui.model.transcripts import TranscriptFacts

pytestmark = pytest.mark.claude

API_KEY = "sk-ant-test"


def claude_version(claude_bin: Path) -> tuple[int, ...]:
    """Return the version ``claude --version`` prints (``2.1.197 (Claude Code)``) as a tuple."""
    out = subprocess.run(
        [str(claude_bin), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"HOME": "/nonexistent", "PATH": "/usr/bin:/bin", "DISABLE_AUTOUPDATER": "1"},
    ).stdout
    match = re.match(r"\s*(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(part) for part in match.groups()) if match else (0,)


@pytest.fixture
def fake_api() -> Iterator[FakeAnthropicAPI]:
    """A started fake Messages API; tests add their scripted turns."""
    with FakeAnthropicAPI() as api:
        yield api


@pytest.fixture
def claude_home(claude_home: ClaudeHome, fake_api: FakeAnthropicAPI) -> ClaudeHome:
    """The conftest's throwaway Claude user, pointed at the fake API with a pre-approved key."""
    for path in (claude_home.home / ".claude.json", claude_home.config_dir / ".claude.json"):
        config = json.loads(path.read_text(encoding="utf-8"))
        config["customApiKeyResponses"] = {"approved": [API_KEY], "rejected": []}
        config["hasSeenAutoDefaultNudge"] = True
        path.write_text(json.dumps(config), encoding="utf-8")
    claude_home.env.update(
        ANTHROPIC_BASE_URL=fake_api.base_url,
        ANTHROPIC_API_KEY=API_KEY,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return claude_home


@pytest.fixture
def claude_pane(server: libtmux.Server, claude_home: ClaudeHome) -> Iterator[ClaudePane]:
    """Claude Code, idle in a pane of an isolated tmux server, talking to the fake API.

    2.1.3xx starts in auto mode with a custom base URL; ``--permission-mode manual`` brings the
    permission prompts back (SPEC Appendix A).
    """
    args = (
        ["--permission-mode", "manual"]
        if claude_version(claude_home.claude_bin)
        >= (
            2,
            1,
            300,
        )
        else []
    )
    pane, pid = spawn_in_pane(server, "claude-api", claude_home.project, claude_home.command(*args))
    socket_path = server.cmd("display-message", "-p", "#{socket_path}").stdout[0]
    claude = ClaudePane(pane=pane, pid=pid, home=claude_home, socket_path=socket_path)
    try:
        wait_until(lambda: claude.read_registry() is not None, 30.0, "the registry entry")
        claude.wait_for_registry("idle", timeout_s=20.0)
        yield claude
    finally:
        with contextlib.suppress(Exception):
            server.cmd("kill-session", "-t", str(pane.session_id))
        with contextlib.suppress(psutil.Error, AssertionError):
            proc = psutil.Process(pid)
            wait_until(lambda: not proc.is_running(), 5.0, f"claude {pid} to exit")


def follow(claude: ClaudePane, registry: dict[str, Any]) -> tuple[TranscriptTracker, str]:
    """Return a tracker following the pane's session (keyed by its PID) once it has a file."""
    tracker = TranscriptTracker(
        claude.home.config_dir / "projects", TranscriptSettings(quiet_s=3600.0)
    )
    key = str(claude.pid)

    def located() -> bool:
        tracker.track(
            key,
            cwd=registry["cwd"],
            session_id=registry["sessionId"],
            started_at_ms=registry["startedAt"],
        )
        return tracker.facts(key) is not None

    wait_until(located, 10.0, "the transcript file")
    return tracker, key


@contextlib.contextmanager
def watching(claude: ClaudePane) -> Iterator[Monitor]:
    """The product's monitor on the pane's registry, tmux server and transcripts (started)."""
    monitor = Monitor(
        sessions_dir=claude.registry_dir,
        tmux=TmuxBackend(socket_path=claude.socket_path, environ={}),
        timing=MonitorTiming(rescan_s=0.5, sample_s=0.2, tmux_poll_s=2.0),
        transcripts={claude.registry_dir: TranscriptTracker(claude.home.config_dir / "projects")},
    )
    try:
        monitor.refresh()
        monitor.start()
        yield monitor
    finally:
        monitor.close()


def row_when(monitor: Monitor, claude: ClaudePane, check: Any, what: str) -> Session:
    """Wait until the monitor's snapshot has the pane's row and ``check(row)`` holds."""

    def ready() -> Session | None:
        row = next((s for s in monitor.snapshot.sessions if s.pid == claude.pid), None)
        return row if row is not None and check(row) else None

    try:
        result: Session = wait_until(ready, 15.0, what)
    except AssertionError as exc:
        rows = [s for s in monitor.snapshot.sessions if s.pid == claude.pid]
        raise AssertionError(f"{exc}; rows: {rows!r}") from None
    return result


def facts_when(
    tracker: TranscriptTracker, key: str, check: Any, what: str, timeout_s: float = 10.0
) -> TranscriptFacts:
    """Poll the tracker (as the store's timer would) until ``check(facts)`` holds."""

    def ready() -> TranscriptFacts | None:
        tracker.refresh()
        facts = tracker.facts(key)
        return facts if facts is not None and check(facts) else None

    try:
        result: TranscriptFacts = wait_until(ready, timeout_s, what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; facts: {tracker.facts(key)!r}") from None
    return result


def test_text_turn_tokens_and_context(claude_pane: ClaudePane, fake_api: FakeAnthropicAPI) -> None:
    claude = claude_pane
    usage = Usage(
        input_tokens=1234,
        output_tokens=37,
        cache_read_input_tokens=300,
        cache_creation_input_tokens=50,
    )
    fake_api.add(Turn(text="Hello there, friend.", usage=usage, delay_s=1.5))
    registry = claude.wait_for_registry("idle")

    claude.type("say hello")
    claude.wait_for_registry("busy")
    registry = claude.wait_for_registry("idle", timeout_s=30.0)

    main = fake_api.main_requests()
    assert len(main) == 1, [(r.path, r.kind) for r in fake_api.log]
    request = main[0]
    assert request.query == {"beta": ["true"]}
    assert request.body["stream"] is True
    assert request.headers.get("x-claude-code-session-id") == registry["sessionId"]
    assert request.headers.get("x-api-key") == API_KEY
    # The transcript is where SPEC 2.2 says.
    expected = transcript_path(
        claude.home.config_dir / "projects", registry["cwd"], registry["sessionId"]
    )
    assert expected is not None
    assert expected.is_file(), sorted(p.name for p in expected.parent.parent.glob("*/*"))

    tracker, key = follow(claude, registry)
    facts = facts_when(tracker, key, lambda f: f.status is Status.IDLE, "idle in the transcript")
    message_id, request_id, _ = fake_api.sent[0]
    assert facts.output_tokens == usage.output_tokens
    assert facts.api_calls == 1
    assert facts.context_used == usage.context
    assert facts.model == request.body["model"]
    assert facts.context_window == DEFAULT_CONTEXT_WINDOW
    assert facts.turns == 1
    assert facts.last_prompt == "say hello"
    assert facts.bad_lines == 0
    assert facts.last_activity_at is not None
    assert sum(facts.series(facts.last_activity_at)) == usage.output_tokens
    records = [json.loads(line) for line in expected.read_text().splitlines()]
    assistants = [r for r in records if r.get("type") == "assistant"]
    assert {(r["message"]["id"], r["requestId"]) for r in assistants} == {(message_id, request_id)}

    # What the product shows: the monitor's snapshot has exactly what the fake server sent.
    with watching(claude) as monitor:
        row = row_when(
            monitor, claude, lambda r: r.tokens_output is not None and r.mux, "the row with tokens"
        )
    assert row.agent == "claude"
    assert row.tokens_output == usage.output_tokens
    assert row.context_used == usage.context
    assert row.context_window == DEFAULT_CONTEXT_WINDOW
    assert row.context_percent == pytest.approx(100.0 * usage.context / DEFAULT_CONTEXT_WINDOW)
    assert row.model == request.body["model"]
    assert row.turns == 1
    assert row.last_prompt == "say hello"
    assert row.transcript_path == expected
    assert row.activity_scale == usage.output_tokens  # one bucket holds the whole turn
    assert max(row.activity) == 1.0
    assert (row.status, row.status_source) == (Status.IDLE, StatusSource.REGISTRY)
    assert row.mux is not None
    assert row.mux.pane == claude.pane.pane_id


def test_bash_permission_prompt_then_approved(
    claude_pane: ClaudePane, fake_api: FakeAnthropicAPI
) -> None:
    with contextlib.ExitStack() as stack:
        _permission_turn(claude_pane, fake_api, stack)


def _permission_turn(
    claude: ClaudePane, fake_api: FakeAnthropicAPI, stack: contextlib.ExitStack
) -> None:
    first = Usage(input_tokens=1500, output_tokens=55, cache_read_input_tokens=400)
    final = Usage(input_tokens=1700, output_tokens=21, cache_read_input_tokens=500)
    fake_api.add(
        bash_turn("sleep 4 && touch x", text="I'll run it.", usage=first),
        Turn(text="All done.", usage=final),
    )
    registry = claude.wait_for_registry("idle")

    monitor = stack.enter_context(watching(claude))
    claude.type("touch the file")
    waiting = claude.wait_for_registry("waiting", waiting_for="permission prompt", timeout_s=30.0)
    wait_until(lambda: "Do you want to proceed?" in claude.screen(), 10.0, "the permission box")
    row = row_when(
        monitor,
        claude,
        lambda r: r.status is Status.WAITING and r.tokens_output == first.output_tokens,
        "waiting with the tool_use's tokens",
    )
    assert row.waiting_for == "permission prompt"
    assert row.status_source is StatusSource.REGISTRY  # the registry wins over the transcript
    assert row.context_used == first.context

    tracker, key = follow(claude, waiting)
    # The text block and the tool_use block are two records with the same usage: wait for the
    # second (the tokens alone already match after the first).
    facts = facts_when(
        tracker,
        key,
        lambda f: (
            f.output_tokens == first.output_tokens and (f.status_reason or "").endswith("running")
        ),
        "the tool_use record",
    )
    assert facts.status is Status.BUSY
    assert facts.status_reason == "transcript: tool_use Bash running"
    assert facts.context_used == first.context
    # The waiting heuristic: the same tail read with a short quiet time says "waiting".
    quick = TranscriptTracker(claude.home.config_dir / "projects", TranscriptSettings(quiet_s=0.0))
    quick.track("q", cwd=registry["cwd"], session_id=registry["sessionId"], started_at_ms=None)
    quick_facts = quick.facts("q")
    assert quick_facts is not None
    assert quick_facts.status is Status.WAITING

    # Approve with the option the box shows for "Yes" (never a hard-coded digit).
    option = re.search(r"(\d)\.\s+Yes\b", claude.screen())
    assert option is not None, claude.screen()
    claude.press(option.group(1))
    with contextlib.suppress(AssertionError):
        claude.wait_for_registry("busy", timeout_s=3.0)
    if "Do you want to proceed?" in claude.screen():
        # 2.1.332 moves the cursor to the option on a digit and confirms it with Enter.
        claude.press("Enter")
    claude.wait_for_registry("busy", timeout_s=10.0)
    claude.wait_for_registry("idle", timeout_s=30.0)

    assert (claude.home.project / "x").exists()
    main = fake_api.main_requests()
    assert len(main) == 2, [(r.path, r.kind) for r in fake_api.log]
    sent_back = json.dumps(main[1].body["messages"][-1])
    assert "tool_result" in sent_back
    facts = facts_when(tracker, key, lambda f: f.status is Status.IDLE, "idle after the turn")
    assert facts.output_tokens == first.output_tokens + final.output_tokens
    assert facts.api_calls == 2
    assert facts.context_used == final.context
    assert facts.turns == 1
    assert facts.last_prompt == "touch the file"
    row = row_when(
        monitor,
        claude,
        lambda r: (
            r.status is Status.IDLE and r.tokens_output == first.output_tokens + final.output_tokens
        ),
        "idle with both calls' tokens",
    )
    assert row.context_used == final.context
    assert row.turns == 1
    assert row.last_prompt == "touch the file"
    assert row.activity_scale is not None
    assert row.activity_scale <= first.output_tokens + final.output_tokens


def test_long_cwd_uses_the_hashed_folder(
    claude_home: ClaudeHome, fake_api: FakeAnthropicAPI
) -> None:
    """``claude -p`` in a working directory whose encoded name exceeds 200 characters."""
    project = claude_home.project / ("a" * 120) / ("b.c" * 40)
    project.mkdir(parents=True)
    fake_api.add(Turn(text="Short.", usage=Usage(input_tokens=10, output_tokens=3)))
    proc = subprocess.run(
        [str(claude_home.claude_bin), "-p", "hi", "--output-format", "json"],
        cwd=project,
        env=claude_home.full_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    session_id = json.loads(proc.stdout)["session_id"]
    projects = claude_home.config_dir / "projects"
    assert len(encode_project_dir(str(project))) > 200
    found = find_transcript(projects, str(project), session_id, None)
    assert found is not None, sorted(p.name for p in projects.iterdir())
    assert found.parent.name == encode_project_dir(str(project))
