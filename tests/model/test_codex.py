"""Tests for sessiontui.model.codex: rollout reading, status, argv, pairing, real processes.

The fixtures under ``fixtures/codex/`` are rollouts written by the real Codex CLI 0.171.0 (an
interactive TUI in tmux, against ``tests/fakes/openai_responses.py``):

- ``two_turns.jsonl``: "say hello" (1200 in / 30 out, 10 reasoning) and "run the command" (the
  script was exhausted: 500 in / 5 out); the title request failed, so the thread name is the
  prompt;
- ``approved.jsonl``: a text turn, then an ``exec_command`` asking ``require_escalated`` that
  was approved with ``y`` after ~8 s (1500 in / 40 out), then a text answer (1700 in / 20 out);
- ``denied.jsonl``: the same call cancelled with Escape (``turn_aborted``, ``interrupted``);
- ``exec.jsonl``: ``codex exec --skip-git-repo-check "say hi"`` (300 in / 7 out);
- ``background.jsonl``: ``denied.jsonl`` continued by two turns; the TUI was killed during the
  last (12 s, 300 out), which the daemon finished on its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.helpers import wait_until

from sessiontui.model.codex import (
    FULL_PASS_EVERY,
    CodexProcess,
    CodexSession,
    CodexSource,
    PendingApproval,
    ProcessScanner,
    RolloutFacts,
    RolloutReader,
    RolloutUnreadable,
    SessionIndex,
    classify_argv,
    codex_status,
    find_rollouts,
    pair_sessions,
    parse_timestamp,
    table_window,
)
from sessiontui.model.processes import read_proc_start

if TYPE_CHECKING:
    from collections.abc import Iterator

FIXTURES = Path(__file__).parent / "fixtures" / "codex"
THREAD = "01a23276-0100-7152-a617-661ebd73a864"


def fixture_lines(name: str) -> list[bytes]:
    return (FIXTURES / name).read_bytes().splitlines(keepends=True)


def record(kind: str, payload: dict[str, Any], ts: str = "2026-12-01T16:35:34.195Z") -> bytes:
    return (
        json.dumps({"timestamp": ts, "ordinal": 0, "type": kind, "payload": payload}).encode()
        + b"\n"
    )


def rollout_path(tmp_path: Path, thread: str = THREAD) -> Path:
    folder = tmp_path / "codex-home" / "sessions" / "2026" / "12" / "01"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"rollout-2026-12-01T16-35-24-{thread}.jsonl"


# ---------------------------------------------------------------------------------------------
# Facts from the real rollouts


def test_real_rollout_facts() -> None:
    facts = RolloutReader(FIXTURES / "approved.jsonl").read()
    assert facts.session_id == THREAD
    assert facts.cwd == "/tmp/cx/proj"
    assert facts.cli_version == "0.171.0"
    assert facts.originator == "codex-tui"
    assert facts.source == "vscode"  # what 0.171.0 writes for a TUI thread via its daemon
    assert facts.model == "gpt-5-codex"
    assert facts.approval_policy == "on-request"
    assert facts.status == "idle"
    assert facts.abort_reason is None
    assert facts.pending_approval is None
    assert facts.turns == 2
    assert facts.last_prompt == "run the command"
    # Cumulative output 30 + 40 + 20; context = the last response's total (1700 + 20).
    assert facts.output_tokens == 90
    assert facts.context_tokens == 1720
    assert facts.context_window == 258_400
    assert sum(tokens for _, tokens in facts.output_buckets) == 90
    assert facts.last_activity_at == parse_timestamp("2026-12-01T16:35:42.163Z")
    meta = json.loads(fixture_lines("approved.jsonl")[0])
    assert facts.started_at == parse_timestamp(meta["payload"]["timestamp"])  # thread creation
    assert not facts.partial


def test_denied_is_idle_interrupted() -> None:
    facts = RolloutReader(FIXTURES / "denied.jsonl").read()
    assert facts.status == "idle"
    assert facts.abort_reason == "interrupted"
    assert facts.pending_approval is None
    assert codex_status(facts).why == "rollout: turn_aborted (interrupted)"


def test_exec_rollout() -> None:
    facts = RolloutReader(FIXTURES / "exec.jsonl").read()
    assert (facts.source, facts.originator) == ("exec", "codex_exec")
    assert facts.status == "idle"
    assert facts.output_tokens == 7
    assert facts.context_tokens == 307


def test_background_rollout_totals() -> None:
    facts = RolloutReader(FIXTURES / "background.jsonl").read()
    assert facts.output_tokens == 40 + 10 + 300
    assert facts.context_tokens == 2300
    assert facts.turns == 3
    assert facts.status == "idle"


def replay(name: str, tmp_path: Path) -> Iterator[tuple[dict[str, Any], RolloutFacts]]:
    """Append a fixture line by line to a new file; yield each record and the facts after it."""
    path = rollout_path(tmp_path)
    reader = RolloutReader(path)
    path.write_bytes(b"")
    for line in fixture_lines(name):
        with path.open("ab") as f:
            f.write(line)
        yield json.loads(line), reader.read()


def test_status_while_a_turn_runs_and_waits_for_approval(tmp_path: Path) -> None:
    seen: list[tuple[str, str | None, bool]] = []
    for rec, facts in replay("approved.jsonl", tmp_path):
        payload = rec["payload"]
        event = (
            payload.get("type") if rec["type"] in ("event_msg", "response_item") else rec["type"]
        )
        seen.append((event, facts.status, facts.pending_approval is not None))
        if event == "function_call":
            pending = facts.pending_approval
            assert pending == PendingApproval(
                call_id="call_fake_3",
                tool="exec_command",
                command="touch /tmp/cx/escalated && echo ok",
                reason="Create a file?",
                since=parse_timestamp(rec["timestamp"]),
            )
            assert codex_status(facts).status == "waiting"
            assert codex_status(facts).waiting_for == "approval"
    statuses = [status for _, status, _ in seen]
    assert statuses[0] is None  # session_meta only
    assert "busy" in statuses
    assert statuses[-1] == "idle"
    # Pending from the call until its output (the token_usage_record in between keeps it).
    pending_events = [event for event, _, pending in seen if pending]
    assert pending_events == ["function_call", "token_usage_record"]


def test_incremental_equals_one_shot(tmp_path: Path) -> None:
    steps = list(replay("background.jsonl", tmp_path))
    facts = steps[-1][1]
    whole = RolloutReader(FIXTURES / "background.jsonl").read()
    assert facts == RolloutFacts(**{**_fields(whole), "path": facts.path})


def _fields(facts: RolloutFacts) -> dict[str, Any]:
    return {name: getattr(facts, name) for name in RolloutFacts.__dataclass_fields__}


def test_unchanged_file_returns_same_object(tmp_path: Path) -> None:
    path = rollout_path(tmp_path)
    shutil.copy(FIXTURES / "two_turns.jsonl", path)
    reader = RolloutReader(path)
    first = reader.read()
    assert reader.read() is first


# ---------------------------------------------------------------------------------------------
# Hostile input (SPEC 8)

META = {
    "id": THREAD,
    "cwd": "/p",
    "cli_version": "0.171.0",
    "timestamp": "2026-12-01T16:35:24.000Z",
}


def test_garbage_lines_and_unknown_types_are_skipped(tmp_path: Path) -> None:
    path = rollout_path(tmp_path)
    deep = b"[" * 200_000 + b"]" * 200_000
    path.write_bytes(
        record("session_meta", META)
        + b"not json\n"
        + b"\xff\xfe\x00invalid utf-8\n"
        + b"[1,2,3]\n"
        + b'"a string"\n'
        + deep
        + b"\n"
        + b'{"type": "event_msg", "payload": {"type": "task_started",'
        b' "model_context_window": NaN}}\n'
        + b'{"type": "event_msg", "payload": {"type": "token_count", "info": {"last_token_usage":'
        b' {"total_tokens": 1e999}, "total_token_usage": {"output_tokens": -5}}}}\n'
        + record("world_state", {"full": True})
        + record("some_future_type", {"x": 1})
        + record("event_msg", {"type": "token_count", "info": None})
        + record("event_msg", {"type": "token_count", "info": "wrong"})
        + record("turn_context", {"model": 12, "approval_policy": ["x"]})
        + record("event_msg", {"type": "task_complete"})
    )
    facts = RolloutReader(path).read()
    assert facts.session_id == THREAD
    assert facts.cwd == "/p"
    assert facts.status == "idle"
    assert facts.turns == 1
    assert facts.context_tokens is None
    assert facts.context_window is None
    assert facts.output_tokens == 0
    assert facts.model is None


def test_ten_megabyte_line(tmp_path: Path) -> None:
    path = rollout_path(tmp_path)
    big_output = {"type": "function_call_output", "call_id": "c1", "output": "x" * 10_000_000}
    call = {
        "type": "function_call",
        "call_id": "c1",
        "name": "exec_command",
        "arguments": json.dumps({"cmd": "ls", "sandbox_permissions": "require_escalated"}),
    }
    path.write_bytes(record("session_meta", META) + record("response_item", call))
    reader = RolloutReader(path)
    assert reader.read().pending_approval is not None
    with path.open("ab") as f:
        f.write(record("response_item", big_output))
    assert reader.read().pending_approval is None  # the 10 MB line was parsed


def test_line_over_the_limit_is_skipped_not_held(tmp_path: Path) -> None:
    path = rollout_path(tmp_path)
    path.write_bytes(record("session_meta", META))
    reader = RolloutReader(path, max_line_bytes=1000, tail_bytes=0)
    reader.read()
    with path.open("ab") as f:
        f.write(b'{"type": "event_msg", "payload": {"type": "task_started", "pad": "')
        f.write(b"y" * 5000)
    reader.read()
    assert reader._tail.held_bytes == 0
    with path.open("ab") as f:
        f.write(b'"}}\n' + record("event_msg", {"type": "task_started"}))
    facts = reader.read()
    assert facts.turns == 1  # only the second task_started counted
    assert facts.status == "busy"


def test_truncated_and_rewritten_file_starts_over(tmp_path: Path) -> None:
    path = rollout_path(tmp_path)
    shutil.copy(FIXTURES / "approved.jsonl", path)
    reader = RolloutReader(path)
    assert reader.read().output_tokens == 90
    path.write_bytes(record("session_meta", META) + record("event_msg", {"type": "task_started"}))
    facts = reader.read()
    assert facts.cwd == "/p"
    assert facts.output_tokens == 0
    assert facts.status == "busy"


def test_rewrite_in_place_to_a_larger_file_is_noticed(tmp_path: Path) -> None:
    path = rollout_path(tmp_path)
    path.write_bytes(record("session_meta", META))
    reader = RolloutReader(path)
    reader.read()
    # Same inode, longer content, and the byte before the old offset is no longer a newline.
    other = {**META, "cwd": "/rewritten/" + "z" * 50}
    with path.open("r+b") as f:
        f.write(record("session_meta", other) + record("event_msg", {"type": "task_complete"}))
    facts = reader.read()
    assert facts.cwd == other["cwd"]
    assert facts.status == "idle"


def test_replaced_file_is_read_from_the_start(tmp_path: Path) -> None:
    path = rollout_path(tmp_path)
    shutil.copy(FIXTURES / "two_turns.jsonl", path)
    reader = RolloutReader(path)
    reader.read()
    replacement = path.with_suffix(".tmp")
    shutil.copy(FIXTURES / "denied.jsonl", replacement)
    replacement.replace(path)
    assert reader.read().abort_reason == "interrupted"


def test_first_read_of_a_big_file_reads_head_and_tail(tmp_path: Path) -> None:
    path = rollout_path(tmp_path)
    filler = record("response_item", {"type": "reasoning", "summary": ["." * 1000]})
    with path.open("wb") as f:
        f.write(record("session_meta", META))
        f.write(
            record(
                "event_msg",
                {"type": "token_count", "info": {"total_token_usage": {"output_tokens": 1000}}},
            )
        )
        for _ in range(3000):  # ~3.1 MB
            f.write(filler)
        f.write(record("event_msg", {"type": "task_started"}, ts="2026-12-01T16:40:00.000Z"))
        f.write(
            record(
                "event_msg",
                {
                    "type": "token_count",
                    "info": {
                        "total_token_usage": {"output_tokens": 1500},
                        "last_token_usage": {"total_tokens": 7000},
                    },
                },
                ts="2026-12-01T16:40:01.000Z",
            )
        )
    reader = RolloutReader(path, tail_bytes=64 * 1024)
    facts = reader.read()
    assert facts.partial
    assert facts.session_id == THREAD  # from the head line
    assert facts.status == "busy"
    assert facts.context_tokens == 7000
    assert facts.output_tokens == 1500
    assert facts.output_buckets == ()  # the first cumulative count of a tail is a baseline
    assert reader._tail.offset == path.stat().st_size
    with path.open("ab") as f:
        f.write(
            record(
                "event_msg",
                {"type": "token_count", "info": {"total_token_usage": {"output_tokens": 1600}}},
                ts="2026-12-01T16:41:00.000Z",
            )
        )
    facts = reader.read()
    assert sum(n for _, n in facts.output_buckets) == 100


def test_fifo_directory_and_symlink_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    folder = tmp_path / "dir.jsonl"
    folder.mkdir()
    link = tmp_path / "link.jsonl"
    link.symlink_to(FIXTURES / "approved.jsonl")
    for path in (fifo, folder, link):
        with pytest.raises(RolloutUnreadable):
            RolloutReader(path).read()
    with pytest.raises(FileNotFoundError):
        RolloutReader(tmp_path / "missing.jsonl").read()


@settings(
    max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chunks=st.lists(st.binary(max_size=2000), max_size=8))
def test_random_bytes_never_raise_or_stall(tmp_path: Path, chunks: list[bytes]) -> None:
    path = tmp_path / "rollout-2026-12-01T16-35-24-random.jsonl"
    path.write_bytes(b"")
    reader = RolloutReader(path, max_line_bytes=512, tail_bytes=1024)
    started = time.monotonic()
    for chunk in chunks:
        with path.open("ab") as f:
            f.write(chunk)
        facts = reader.read()
        assert facts.output_tokens >= 0
    assert time.monotonic() - started < 2.0


@settings(
    max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cuts=st.lists(st.integers(min_value=0, max_value=70_000), max_size=12))
def test_any_split_of_a_real_rollout_gives_the_same_facts(tmp_path: Path, cuts: list[int]) -> None:
    data = (FIXTURES / "approved.jsonl").read_bytes()
    path = tmp_path / f"rollout-2026-12-01T16-35-24-{THREAD}.jsonl"
    path.write_bytes(b"")
    reader = RolloutReader(path)
    previous = 0
    for cut in sorted({min(c, len(data)) for c in cuts} | {len(data)}):
        with path.open("ab") as f:
            f.write(data[previous:cut])
        previous = cut
        reader.read()
    whole = RolloutReader(FIXTURES / "approved.jsonl").read()
    assert _fields(reader.read()) == {**_fields(whole), "path": path}


@settings(
    max_examples=100, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(
        st.dictionaries(
            st.text(max_size=8),
            st.recursive(
                st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                lambda c: (
                    st.lists(c, max_size=3)
                    | st.dictionaries(
                        st.sampled_from(
                            [
                                "type",
                                "payload",
                                "info",
                                "item",
                                "usage",
                                "call_id",
                                "arguments",
                                "timestamp",
                            ]
                        ),
                        c,
                        max_size=4,
                    )
                ),
                max_leaves=12,
            ),
            max_size=5,
        ),
        max_size=10,
    )
)
def test_random_json_objects_never_raise(tmp_path: Path, lines: list[dict[str, Any]]) -> None:
    path = tmp_path / "rollout-2026-12-01T16-35-24-objects.jsonl"
    path.write_bytes(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
    RolloutReader(path).read()


# ---------------------------------------------------------------------------------------------
# Thread names


def test_session_index_last_name_wins(tmp_path: Path) -> None:
    home = tmp_path / "codex-home"
    home.mkdir()
    index = SessionIndex(home)
    assert index.names() == {}
    (home / "session_index.jsonl").write_text(
        '{"id":"a","thread_name":"say hello","updated_at":"2026-12-01T16:34:46.99Z"}\n'
        "garbage\n"
        '{"id":"b","thread_name":"Greet the user","updated_at":"2026-12-01T16:35:29.39Z"}\n'
    )
    assert index.names() == {"a": "say hello", "b": "Greet the user"}
    with (home / "session_index.jsonl").open("a") as f:
        f.write('{"id":"a","thread_name":"Renamed","updated_at":"2026-12-01T16:40:00Z"}\n')
    assert index.names()["a"] == "Renamed"


# ---------------------------------------------------------------------------------------------
# Status


def facts_with(**fields: Any) -> RolloutFacts:
    return RolloutFacts(path=Path("r.jsonl"), **fields)


PENDING = PendingApproval(call_id="c", tool="exec_command", command="touch x", reason="ok?")


@pytest.mark.parametrize(
    ("facts", "title", "expected"),
    [
        (None, None, ("idle", None)),
        (None, "[ . ] Action Required | t | proj", ("waiting", "approval")),
        (facts_with(status="busy", turns=1), "⠋ t | proj", ("busy", None)),
        (facts_with(status="idle", turns=1), "t | proj", ("idle", None)),
        (
            facts_with(status="busy", turns=1, pending_approval=PENDING),
            None,
            ("waiting", "approval"),
        ),
        (
            facts_with(status="busy", turns=1, pending_approval=PENDING),
            "[ ! ] Action Required | t",
            ("waiting", "approval"),
        ),
        (
            facts_with(status="busy", turns=1, pending_approval=PENDING),
            "⠴ t | proj",
            ("busy", None),
        ),
        (facts_with(status="busy", turns=1), "[ . ] Action Required | t", ("waiting", "approval")),
        (facts_with(turns=0), None, ("idle", None)),
        (facts_with(turns=2, partial=True), None, ("unknown", None)),
    ],
)
def test_codex_status(
    facts: RolloutFacts | None, title: str | None, expected: tuple[str, str | None]
) -> None:
    result = codex_status(facts, title)
    assert (result.status, result.waiting_for) == expected
    assert result.why


def test_activity_buckets() -> None:
    facts = facts_with(output_buckets=((0.0, 10), (600.0, 5), (1740.0, 7)))
    assert facts.activity(1800.0, window_s=1800.0, buckets=3) == (10, 5, 7)
    assert facts.activity(1800.0, window_s=600.0, buckets=2) == (0, 7)
    assert facts.activity(1800.0, buckets=0) == ()


# ---------------------------------------------------------------------------------------------
# argv and pairing


@pytest.mark.parametrize(
    ("argv", "role"),
    [
        (["codex"], "tui"),
        (["codex", "-m", "gpt-5-codex"], "tui"),
        (["codex", "-m", "exec", "hello"], "tui"),  # "exec" is -m's value here
        (["codex", "resume", "--last"], "tui"),
        (["codex", "fix the bug"], "tui"),
        (["codex", "exec", "hi"], "exec"),
        (["codex", "-c", "x=1", "exec", "hi"], "exec"),
        (
            [
                "codex",
                "app-server",
                "--listen",
                "unix://",
                "--analytics-default-enabled",
                "--managed-daemon",
            ],
            "daemon",
        ),
        (["codex", "app-server", "daemon", "pid-update-loop"], None),
        (["codex", "app-server", "daemon", "stop"], None),
        (["codex", "app-server", "--listen", "stdio://"], None),
        (["codex", "login"], None),
        (["codex", "mcp-server"], None),
    ],
)
def test_classify_argv(argv: list[str], role: str | None) -> None:
    assert classify_argv(argv) == role


def proc(
    pid: int,
    role: str,
    start: float,
    cwd: str | None = "/p",
    rollouts: tuple[Path, ...] = (),
    home: str = "/h",
) -> CodexProcess:
    return CodexProcess(
        pid=pid,
        role=role,
        create_time=start,
        proc_start=str(pid * 10),
        codex_home=Path(home),
        cwd=cwd,
        launcher_pid=pid - 1 if role == "tui" else None,
        rollouts=rollouts,
        argv=("codex",),
    )


def test_pairing_newest_rollout_to_newest_tui_started_before_it() -> None:
    ra, rb, rc, rd = (Path(f"/h/sessions/2026/12/01/rollout-x-{n}.jsonl") for n in "abcd")
    facts = {
        ra: facts_with(session_id="a", cwd="/p", started_at=101.0),
        rb: facts_with(session_id="b", cwd="/p", started_at=201.0),
        rc: facts_with(session_id="c", cwd="/elsewhere", started_at=150.0),
        rd: facts_with(session_id="d", cwd="/p", started_at=301.0),
    }
    daemon = proc(50, "daemon", 100.5, rollouts=(ra, rb, rc))
    other_home_daemon = proc(60, "daemon", 90.0, rollouts=(rd,), home="/other")
    tui_a = proc(11, "tui", 100.0)
    tui_b = proc(21, "tui", 200.0)
    tui_new = proc(31, "tui", 400.0)  # started after every rollout: no turn yet
    sessions = pair_sessions(
        [daemon, other_home_daemon, tui_a, tui_b, tui_new],
        facts.get,
        lambda home: {"b": "Named thread"} if home == Path("/h") else {},
    )
    by_key = {s.key: s for s in sessions}
    assert by_key["codex:11:110"].rollout_path == ra
    assert by_key["codex:21:210"].rollout_path == rb
    assert by_key["codex:21:210"].name == "Named thread"
    assert by_key["codex:21:210"].daemon_pid == 50
    assert by_key["codex:21:210"].kill_root == 20  # the npm launcher, never the daemon
    assert by_key["codex:21:210"].tokens is None  # no usage in these facts
    assert by_key["codex:21:210"].last_activity_at == 200.0
    assert by_key["codex:31:310"].rollout_path is None
    assert by_key["codex:31:310"].status().status == "idle"
    assert by_key["codex:31:310"].name == "p"
    bg = {s.key: s for s in sessions if s.kind == "bg"}
    assert set(bg) == {"codex:rollout:c", "codex:rollout:d"}
    assert all(s.pid is None and s.kill_root is None for s in bg.values())


def test_a_tui_holding_its_own_rollout_owns_it() -> None:
    own = Path("/h/sessions/2026/12/01/rollout-own.jsonl")
    tui = proc(11, "tui", 100.0, rollouts=(own,))
    sessions = pair_sessions(
        [tui], {own: facts_with(session_id="own", cwd="/p", started_at=99.0)}.get
    )
    assert [(s.kind, s.rollout_path) for s in sessions] == [("interactive", own)]


# ---------------------------------------------------------------------------------------------
# Real processes (not the real Codex: copies of bash named ``codex``; see tests/e2e for that)


@pytest.fixture
def fake_codex_world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A daemon-like and a TUI-like real process, both executables named ``codex``.

    The "daemon" lives at ``<home>/packages/app-server-daemon/bin/codex`` with the daemon's argv
    and holds two rollouts open; the "TUI" runs in the project folder with ``CODEX_HOME`` set.
    Both are bash (builtin ``read`` keeps them in one process).
    """
    home = tmp_path / "codex-home"
    project = tmp_path / "proj"
    project.mkdir()
    daemon_exe = home / "packages" / "app-server-daemon" / "bin" / "codex"
    daemon_exe.parent.mkdir(parents=True)
    shutil.copy("/bin/bash", daemon_exe)
    tui_exe = tmp_path / "npm" / "codex"
    tui_exe.parent.mkdir()
    shutil.copy("/bin/bash", tui_exe)
    env = {**os.environ, "CODEX_HOME": str(home)}
    hold = "read -r -t 60 line"
    procs: list[subprocess.Popen[bytes]] = []
    tui = subprocess.Popen(
        [str(tui_exe), "-c", hold, "codex"], cwd=project, env=env, stdin=subprocess.PIPE
    )
    procs.append(tui)
    time.sleep(0.05)
    mine = rollout_path(tmp_path, "01a23276-0000-7000-8000-000000000001")
    other = rollout_path(tmp_path, "01a23276-0000-7000-8000-000000000002")
    mine.write_bytes(
        record(
            "session_meta",
            {
                **META,
                "id": mine.stem[-36:],
                "cwd": str(project),
                "timestamp": _iso(time.time() + 1),
            },
        )
        + record("event_msg", {"type": "task_started"})
    )
    other.write_bytes(
        record(
            "session_meta",
            {
                **META,
                "id": other.stem[-36:],
                "cwd": "/somewhere/else",
                "timestamp": _iso(time.time()),
            },
        )
        + record("event_msg", {"type": "task_complete"})
    )
    fds = [os.open(p, os.O_RDONLY) for p in (mine, other)]
    try:
        daemon = subprocess.Popen(
            [str(daemon_exe), "-c", hold, "app-server", "--listen", "unix://", "--managed-daemon"],
            cwd=project,
            env=env,
            stdin=subprocess.PIPE,
            pass_fds=fds,
        )
        procs.append(daemon)
    finally:
        for fd in fds:
            os.close(fd)
    yield {
        "home": home,
        "project": project,
        "tui": tui,
        "daemon": daemon,
        "mine": mine,
        "other": other,
    }
    for p in procs:
        with contextlib.suppress(OSError):
            p.kill()
        p.wait(5)


def _iso(epoch_s: float) -> str:
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s))
        + f".{int(epoch_s % 1 * 1000):03d}Z"
    )


def test_scanner_tells_processes_apart_by_executable(fake_codex_world: dict[str, Any]) -> None:
    world = fake_codex_world
    scanner = ProcessScanner()

    def ours() -> dict[int, CodexProcess]:
        found = {p.pid: p for p in scanner.scan() if p.codex_home == world["home"]}
        return (
            found
            if len(found) == 2
            and found.get(world["daemon"].pid)
            and found[world["daemon"].pid].rollouts
            else {}
        )

    found = wait_until(ours, 5.0, "both fake codex processes")
    tui, daemon = found[world["tui"].pid], found[world["daemon"].pid]
    assert tui.role == "tui"
    assert tui.cwd == str(world["project"])
    assert daemon.role == "daemon"
    assert set(daemon.rollouts) == {world["mine"], world["other"]}
    assert tui.rollouts == ()


def test_source_pairs_and_reports_background(fake_codex_world: dict[str, Any]) -> None:
    world = fake_codex_world
    (world["home"] / "session_index.jsonl").write_text(
        json.dumps({"id": world["mine"].stem[-36:], "thread_name": "Fix the bug"}) + "\n"
    )
    source = CodexSource()

    def ours() -> list[Any]:
        sessions = [s for s in source.scan() if s.codex_home == world["home"]]
        return sessions if len(sessions) == 2 else []

    sessions = wait_until(ours, 5.0, "two codex sessions")
    interactive = next(s for s in sessions if s.kind == "interactive")
    bg = next(s for s in sessions if s.kind == "bg")
    assert interactive.pid == world["tui"].pid
    assert interactive.rollout_path == world["mine"]
    assert interactive.name == "Fix the bug"
    assert interactive.status().status == "busy"
    assert interactive.daemon_pid == world["daemon"].pid
    assert interactive.kill_root != world["daemon"].pid
    assert bg.rollout_path == world["other"]
    assert bg.key == f"codex:rollout:{world['other'].stem[-36:]}"
    assert bg.status().status == "idle"
    assert world["home"] / "sessions" in source.watch_paths()
    assert find_rollouts(world["home"]) == sorted([world["mine"], world["other"]], reverse=True)


def test_source_takes_the_window_from_the_rollout_else_the_config_table(
    fake_codex_world: dict[str, Any],
) -> None:
    """A rollout's ``model_context_window`` wins; without one the table names the window."""
    world = fake_codex_world

    def usage_records(window: int | None) -> bytes:
        info: dict[str, Any] = {
            "last_token_usage": {"total_tokens": 1720},
            "total_token_usage": {"output_tokens": 90},
        }
        if window is not None:
            info["model_context_window"] = window
        return record("turn_context", {"model": "gpt-5-codex"}) + record(
            "event_msg", {"type": "token_count", "info": info}
        )

    with world["mine"].open("ab") as f:
        f.write(usage_records(None))
    with world["other"].open("ab") as f:
        f.write(usage_records(258_400))
    source = CodexSource(context_windows={"gpt-5": 400_000, "gpt": 1})

    def ours() -> dict[str, Any]:
        sessions = {s.kind: s for s in source.scan() if s.codex_home == world["home"]}
        return sessions if len(sessions) == 2 else {}

    sessions = wait_until(ours, 5.0, "two codex sessions")
    assert sessions["interactive"].tokens == {
        "output": 90,
        "context": 1720,
        "context_window": 400_000,  # the longest prefix
    }
    assert sessions["bg"].tokens["context_window"] == 258_400  # the rollout's own
    source = CodexSource()  # no table: a rollout without a window has none
    unconfigured = wait_until(ours, 5.0, "two codex sessions")
    assert unconfigured["interactive"].tokens["context_window"] is None


def test_table_window_exact_then_longest_prefix() -> None:
    table = {"gpt-5": 400_000, "gpt-5-codex": 258_400, "gpt": 8_000}
    assert table_window("gpt-5-codex", table) == 258_400
    assert table_window("gpt-5.1", table) == 400_000
    assert table_window("gpt-4o", table) == 8_000
    assert table_window("o3", table) is None
    assert table_window("o3", {"": 5}) is None  # an empty key names nothing


def test_kill_targets_spare_the_daemon_the_tui_started(tmp_path: Path) -> None:
    """A TUI that started the daemon is its parent: "kill" must still leave the daemon alone."""
    daemon_exe = tmp_path / "home" / "packages" / "app-server-daemon" / "bin" / "codex"
    daemon_exe.parent.mkdir(parents=True)
    shutil.copy("/bin/bash", daemon_exe)
    tui_exe = tmp_path / "codex"
    shutil.copy("/bin/bash", tui_exe)
    script = (
        f"{daemon_exe} -c 'read -r -t 60 x' app-server --listen unix:// --managed-daemon"
        " </dev/zero & sleep 60 & read -r -t 60 line"
    )
    tui = subprocess.Popen([str(tui_exe), "-c", script, "codex"], stdin=subprocess.PIPE)
    try:

        def two_children() -> list[psutil.Process] | None:
            children = psutil.Process(tui.pid).children()
            # Right after the fork a child still shows bash's argv: wait for the exec.
            execed = any("app-server" in c.cmdline() for c in children)
            return children if len(children) == 2 and execed else None

        children = wait_until(two_children, 5.0, "the TUI's two children")
        session = CodexSession(
            key="k",
            kind="interactive",
            pid=tui.pid,
            proc_start=read_proc_start(tui.pid),
            started_at=None,
            codex_home=tmp_path / "home",
            cwd=None,
            rollout_path=None,
            facts=None,
        )
        daemon = next(c for c in children if "app-server" in c.cmdline())
        sleeper = next(c for c in children if c.pid != daemon.pid)
        assert session.kill_targets() == (tui.pid, sleeper.pid)
        reused = CodexSession(**{**_session_fields(session), "proc_start": "1"})
        assert reused.kill_targets() == ()  # a reused PID is never a target
        bg = CodexSession(**{**_session_fields(session), "pid": None})
        assert bg.kill_targets() == ()
    finally:
        for proc in psutil.Process(tui.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                proc.kill()
        tui.kill()
        tui.wait(5)


def _session_fields(session: CodexSession) -> dict[str, Any]:
    return {name: getattr(session, name) for name in CodexSession.__dataclass_fields__}


def test_a_shell_that_execs_codex_in_place_is_found_within_a_full_pass(tmp_path: Path) -> None:
    """A PID first seen as a shell is read again: found once it has become ``codex``."""
    tui_exe = tmp_path / "npm" / "codex"
    tui_exe.parent.mkdir()
    shutil.copy("/bin/bash", tui_exe)
    env = {**os.environ, "CODEX_HOME": str(tmp_path / "home")}
    shell = subprocess.Popen(
        ["sh", "-c", f'read -r go; exec "{tui_exe}" -c "read -r -t 60 line" codex'],
        env=env,
        stdin=subprocess.PIPE,
    )
    scanner = ProcessScanner()
    try:
        wait_until(lambda: psutil.Process(shell.pid).name() == "sh", 5.0, "the shell")
        assert shell.pid not in {p.pid for p in scanner.scan()}  # seen as "sh"
        assert shell.stdin is not None
        shell.stdin.write(b"go\n")
        shell.stdin.flush()
        wait_until(lambda: psutil.Process(shell.pid).name() == "codex", 5.0, "the exec")
        found = [shell.pid in {p.pid for p in scanner.scan()} for _ in range(FULL_PASS_EVERY)]
        assert any(found), found
        newcomer = subprocess.Popen(  # stdin a pipe: `read` must wait, not see end of file
            [str(tui_exe), "-c", "read -r -t 60 line", "codex"], env=env, stdin=subprocess.PIPE
        )
        try:
            # Popen can return before the child's exec shows in /proc ("python" still, or
            # "codex" with no command line yet while the kernel loads it; a scan then reads
            # it again later). Once it is there, a new PID is found by the next scan, full
            # pass or not; one that a non-Codex process had at the last scan (reused since)
            # waits for the full pass.
            wait_until(lambda: psutil.Process(newcomer.pid).cmdline(), 5.0, "the newcomer")
            reused = str(newcomer.pid) in scanner._others
            scans = FULL_PASS_EVERY if reused else 1
            found = [newcomer.pid in {p.pid for p in scanner.scan()} for _ in range(scans)]
            assert any(found), (reused, found)
        finally:
            newcomer.kill()
            newcomer.wait(5)
    finally:
        shell.kill()
        shell.wait(5)


def test_a_codex_process_without_a_command_line_is_read_again_not_remembered(
    tmp_path: Path,
) -> None:
    """An empty ``cmdline`` (inside its exec, or a zombie) is not cached as "not Codex".

    Cached, it would hide a TUI for the whole life of its PID.
    """
    tui_exe = tmp_path / "npm" / "codex"
    tui_exe.parent.mkdir()
    shutil.copy("/bin/bash", tui_exe)
    gone = subprocess.Popen([str(tui_exe), "-c", "exit 0"], stdin=subprocess.DEVNULL)
    try:
        wait_until(
            lambda: psutil.Process(gone.pid).status() == psutil.STATUS_ZOMBIE, 5.0, "a zombie"
        )
        assert psutil.Process(gone.pid).name() == "codex"
        scanner = ProcessScanner()
        assert gone.pid not in {p.pid for p in scanner.scan()}
        assert not [key for key in scanner._known if key[0] == gone.pid]
    finally:
        gone.wait(5)
