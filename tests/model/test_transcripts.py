"""Claude transcripts (SPEC 2.2): paths, the incremental reader, derived facts, the tracker.

Records are shaped like those Claude Code 2.1.197 wrote in the end-to-end test; every test
writes real files in ``tmp_path`` (no mocked file system).
"""

from __future__ import annotations

import json
import os
import tracemalloc
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessiontui.model.transcripts import (
    DEFAULT_CONTEXT_WINDOW,
    LARGE_CONTEXT_WINDOW,
    LOCATE_BACKOFF_MAX,
    TranscriptFacts,
    TranscriptReader,
    TranscriptSettings,
    TranscriptTracker,
    context_window_for,
    encode_project_dir,
    find_transcript,
    java_string_hash,
    transcript_path,
    valid_session_id,
)
from sessiontui.model.types import Status

if TYPE_CHECKING:
    from pathlib import Path

SID = "534ded02-9aa5-4594-8426-d954ad357ae6"
CWD = "/tmp/ccproj/my.proj_dir"
T0 = 1_795_271_260.0  # seconds since the epoch; 2026-11-20


class Clock:
    """A settable clock (seconds since the epoch)."""

    def __init__(self, now: float = T0 + 120) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def iso(seconds: float) -> str:
    """Return ``seconds`` as Claude's ISO-8601 UTC timestamp (milliseconds, ``Z``)."""
    text = datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def chain(kind: str, at: float, **extra: Any) -> dict[str, Any]:
    """Return a chain record with the common fields Claude writes."""
    record: dict[str, Any] = {
        "parentUuid": None,
        "isSidechain": False,
        "userType": "external",
        "cwd": CWD,
        "sessionId": SID,
        "version": "2.1.197",
        "gitBranch": "",
        "type": kind,
        "uuid": f"u-{at}",
        "timestamp": iso(at),
    }
    record.update(extra)
    return record


def user(text: str, at: float, **extra: Any) -> dict[str, Any]:
    return chain("user", at, message={"role": "user", "content": text}, **extra)


def tool_result(at: float) -> dict[str, Any]:
    content = [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]
    return chain("user", at, message={"role": "user", "content": content})


def usage(inp: int = 100, out: int = 10, read: int = 0, create: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": inp,
        "cache_creation_input_tokens": create,
        "cache_read_input_tokens": read,
        "output_tokens": out,
        "service_tier": "standard",
    }


def assistant(
    at: float,
    *,
    msg: str = "msg_1",
    req: str = "req_1",
    content: list[dict[str, Any]] | None = None,
    stop: str | None = "end_turn",
    model: str = "claude-opus-4-8",
    use: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    message = {
        "id": msg,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content if content is not None else [{"type": "text", "text": "Hi."}],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": use if use is not None else usage(),
    }
    return chain("assistant", at, message=message, requestId=req, **extra)


def tool_use(name: str = "Bash") -> dict[str, Any]:
    return {"type": "tool_use", "id": "toolu_1", "name": name, "input": {"command": "ls"}}


def turn_duration(at: float) -> dict[str, Any]:
    return chain("system", at, subtype="turn_duration", durationMs=1500, isMeta=True)


def lines(*records: dict[str, Any] | str) -> bytes:
    """Return JSON lines (a ``str`` is written verbatim, for garbage)."""
    out = []
    for record in records:
        out.append(record if isinstance(record, str) else json.dumps(record))
    return ("\n".join(out) + "\n").encode()


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def transcript(tmp_path: Path) -> Path:
    folder = tmp_path / "projects" / encode_project_dir(CWD)
    folder.mkdir(parents=True)
    return folder / f"{SID}.jsonl"


def read(path: Path, clock: Clock, **kw: Any) -> TranscriptFacts:
    reader = TranscriptReader(path, TranscriptSettings(**kw), clock=clock)
    reader.poll()
    return reader.facts


# -- paths ------------------------------------------------------------------------------------


def test_java_hash_matches_java() -> None:
    assert java_string_hash("") == 0
    assert java_string_hash("hello") == 99162322
    assert java_string_hash("polygenelubricants") == -(2**31)
    assert java_string_hash("😀") == 0xD83D * 31 + 0xDE00  # two UTF-16 units


def test_encode_short_cwd() -> None:
    assert encode_project_dir("/tmp/ccproj/my.proj_dir") == "-tmp-ccproj-my-proj-dir"
    assert encode_project_dir("/home/é") == "-home--"
    assert encode_project_dir("/a/😀") == "-a---"  # one character, two UTF-16 units


def test_encode_long_cwd_gets_hash_suffix() -> None:
    # Expected values computed with Claude's JavaScript rule in node.
    long_cwd = "/tmp/" + "a" * 250
    encoded = encode_project_dir(long_cwd)
    assert encoded == ("-tmp-" + "a" * 195) + "-bxbzwn"
    assert len(encode_project_dir("/" + "b" * 199)) == 200  # exactly 200: no suffix
    assert encode_project_dir("/" + "b" * 200).startswith("-" + "b" * 199 + "-")
    unicode_cwd = "/home/u/" + "é😀" * 80 + "/x" + "b" * 100
    assert encode_project_dir(unicode_cwd).endswith("-------------uujli4")


@pytest.mark.parametrize(
    "session_id",
    ["../../etc/passwd", "", "abc", "x" * 36, SID + "/x", "a" * 65, None, 12345678, f"{SID}\n"],
)
def test_invalid_session_ids_name_no_file(tmp_path: Path, session_id: Any) -> None:
    assert not valid_session_id(session_id)
    if isinstance(session_id, str):
        assert transcript_path(tmp_path, CWD, session_id) is None
        assert find_transcript(tmp_path, CWD, session_id, 0) is None


def test_transcript_path_exact(tmp_path: Path) -> None:
    assert transcript_path(tmp_path, CWD, SID) == tmp_path / "-tmp-ccproj-my-proj-dir" / (
        SID + ".jsonl"
    )
    assert transcript_path(tmp_path, "", SID) is None


def test_find_transcript_exact_then_newest_after_start(tmp_path: Path) -> None:
    folder = tmp_path / encode_project_dir(CWD)
    folder.mkdir()
    old = folder / "11111111-1111-1111-1111-111111111111.jsonl"
    new = folder / "22222222-2222-2222-2222-222222222222.jsonl"
    newer_other = folder / "notes.txt"
    for path, mtime in ((old, T0 - 100), (new, T0 + 50), (newer_other, T0 + 90)):
        path.write_text("{}\n")
        os.utime(path, (mtime, mtime))
    started_ms = int(T0 * 1000)
    # The exact file wins even when it is older.
    assert find_transcript(tmp_path, CWD, old.stem, started_ms) == old
    # Missing exact file: the newest *.jsonl modified after startedAt.
    assert find_transcript(tmp_path, CWD, SID, started_ms) == new
    assert find_transcript(tmp_path, CWD, None, started_ms) == new
    assert find_transcript(tmp_path, CWD, SID, int((T0 + 60) * 1000)) is None
    assert find_transcript(tmp_path, CWD, SID, None) is None
    assert find_transcript(tmp_path, "/no/such/project", SID, 0) is None


def test_find_transcript_ignores_symlinks_and_directories(tmp_path: Path) -> None:
    folder = tmp_path / encode_project_dir(CWD)
    folder.mkdir()
    (folder / "dir.jsonl").mkdir()
    (folder / "link.jsonl").symlink_to("/etc/passwd")
    (folder / f"{SID}.jsonl").symlink_to("/etc/passwd")
    assert find_transcript(tmp_path, CWD, SID, 0) is None


def test_context_window_table() -> None:
    assert context_window_for(None) == DEFAULT_CONTEXT_WINDOW
    assert context_window_for("claude-opus-4-8") == DEFAULT_CONTEXT_WINDOW
    assert context_window_for("claude-sonnet-4-5[1m]") == LARGE_CONTEXT_WINDOW
    table = {"claude-opus-4-8": 1_000_000, "claude-haiku": 100_000, "claude-haiku-4": 150_000}
    assert context_window_for("claude-opus-4-8", table) == 1_000_000
    assert context_window_for("claude-haiku-4-5", table) == 150_000  # longest prefix
    assert context_window_for("other", table, default=32_000) == 32_000


# -- derived facts ----------------------------------------------------------------------------


def test_facts_of_a_real_shaped_session(transcript: Path, clock: Clock) -> None:
    transcript.write_bytes(
        lines(
            {"type": "mode", "mode": "normal", "sessionId": SID},
            {"type": "permission-mode", "permissionMode": "default", "sessionId": SID},
            user("say hello", T0),
            chain("attachment", T0 - 0.001, attachment={"type": "x"}),
            assistant(T0 + 1, msg="m1", req="r1", use=usage(1200, 37, 300, 50)),
            turn_duration(T0 + 1.1),
            user("touch  the\nfile", T0 + 2),
            # One API message written as two records (text, then tool_use): counted once.
            assistant(T0 + 3, msg="m2", req="r2", stop="tool_use", use=usage(1500, 55, 400)),
            assistant(
                T0 + 3.1,
                msg="m2",
                req="r2",
                stop="tool_use",
                content=[tool_use()],
                use=usage(1500, 55, 400),
            ),
            tool_result(T0 + 8),
            assistant(T0 + 9, msg="m3", req="r3", use=usage(1700, 21, 500)),
            turn_duration(T0 + 9.1),
            {"type": "some-future-type", "x": 1},
        )
    )
    facts = read(transcript, clock)
    assert facts.exists
    assert facts.output_tokens == 37 + 55 + 21
    assert facts.api_calls == 3
    assert facts.turns == 2
    assert facts.model == "claude-opus-4-8"
    assert facts.context_used == 1700 + 500 + 0 + 21
    assert facts.context_window == DEFAULT_CONTEXT_WINDOW
    assert facts.context_fraction == pytest.approx(2221 / 200_000)
    assert facts.last_prompt == "touch the file"
    assert facts.last_activity_at == pytest.approx(T0 + 9.1)
    assert facts.status is Status.IDLE
    assert facts.status_reason == "transcript: turn ended"
    assert facts.bad_lines == 0
    assert not facts.partial
    assert sum(facts.series(clock.now)) == 113
    assert len(facts.series(clock.now)) == 30


def test_dedupe_keeps_the_largest_repeat(transcript: Path, clock: Clock) -> None:
    transcript.write_bytes(
        lines(
            assistant(T0, msg="m1", req="r1", use=usage(out=5)),
            assistant(T0 + 1, msg="m1", req="r1", use=usage(out=40)),
            assistant(T0 + 2, msg="m1", req="r1", use=usage(out=40)),
            assistant(T0 + 3, msg="m1", req="r2", use=usage(out=7)),  # another request
            assistant(T0 + 4, msg="m9", req="r9", use=usage(out=3), isSidechain=True),
        )
    )
    facts = read(transcript, clock)
    assert facts.output_tokens == 40 + 7 + 3
    assert facts.api_calls == 3
    assert facts.context_used == 100 + 7  # the sidechain record does not count for context


def test_synthetic_messages_do_not_change_model_or_context(transcript: Path, clock: Clock) -> None:
    transcript.write_bytes(
        lines(
            assistant(T0, use=usage(1000, 20)),
            assistant(
                T0 + 1,
                msg="m2",
                req="r2",
                model="<synthetic>",
                use=usage(0, 0),
                isApiErrorMessage=True,
                stop="stop_sequence",
            ),
        )
    )
    facts = read(transcript, clock)
    assert facts.model == "claude-opus-4-8"
    assert facts.context_used == 1020
    assert facts.status is Status.IDLE
    assert facts.status_reason == "transcript: API error"


def test_one_m_model_window(transcript: Path, clock: Clock) -> None:
    transcript.write_bytes(lines(assistant(T0, model="claude-sonnet-4-5[1m]")))
    assert read(transcript, clock).context_window == LARGE_CONTEXT_WINDOW
    facts = read(transcript, clock, context_windows={"claude-sonnet-4-5": 500_000})
    assert facts.context_window == 500_000


def test_buckets_and_window(transcript: Path, clock: Clock) -> None:
    transcript.write_bytes(
        lines(
            assistant(T0 - 3600, msg="old", use=usage(out=1000)),  # outside the window
            assistant(T0 + 5, msg="a", use=usage(out=10)),
            assistant(T0 + 65, msg="b", use=usage(out=20)),
            assistant(T0 + 66, msg="c", use=usage(out=1)),
        )
    )
    facts = read(transcript, clock, bucket_s=60.0, window_s=600.0)
    assert facts.output_tokens == 1031  # totals keep everything read
    series = facts.series(clock.now)
    assert len(series) == 10
    assert sum(series) == 31
    assert all(index * 60 >= clock.now - 660 for index, _ in facts.buckets)
    # Rebinning to fewer, wider bins keeps the sum.
    assert sum(facts.series(clock.now, 3)) == 31
    assert facts.series(clock.now + 3600) == (0,) * 10


def test_prompts_commands_and_interrupts(transcript: Path, clock: Clock) -> None:
    transcript.write_bytes(
        lines(
            user("first prompt", T0),
            user("<command-name>/rename</command-name>\n<command-args>X</command-args>", T0 + 1),
            user("<local-command-stdout>done</local-command-stdout>", T0 + 2),
            user("hidden", T0 + 3, isMeta=True),
            user("sidechain", T0 + 4, isSidechain=True),
        )
    )
    facts = read(transcript, clock)
    assert facts.last_prompt == "/rename X"
    assert facts.turns == 1
    append(transcript, lines(user("evil \x1b]0;title\x07 " + "x" * 500, T0 + 5)))
    reader = TranscriptReader(transcript, clock=clock)
    reader.poll()
    prompt = reader.facts.last_prompt
    assert prompt is not None
    assert "\x1b" not in prompt
    assert len(prompt) <= 200
    append(transcript, lines(user("[Request interrupted by user]", T0 + 6)))
    reader.poll()
    assert reader.facts.status is Status.IDLE
    assert reader.facts.status_reason == "transcript: interrupted by user"
    assert reader.facts.last_prompt == prompt


def test_names_from_metadata(transcript: Path, clock: Clock) -> None:
    transcript.write_bytes(
        lines(
            {"type": "custom-title", "customTitle": "first", "sessionId": SID},
            {"type": "agent-name", "agentName": "second", "sessionId": SID},
        )
    )
    assert read(transcript, clock).title == "second"


# -- fallback status --------------------------------------------------------------------------


def test_fallback_status_sequence(transcript: Path, clock: Clock) -> None:
    reader = TranscriptReader(transcript, TranscriptSettings(quiet_s=30.0), clock=clock)
    reader.poll()
    assert reader.facts.status is None
    steps: list[tuple[dict[str, Any], Status, str]] = [
        (user("go", T0), Status.BUSY, "user prompt"),
        (assistant(T0 + 1, stop=None), Status.BUSY, "model answering"),
        (
            assistant(T0 + 2, stop="tool_use", content=[tool_use("Bash")]),
            Status.BUSY,
            "tool_use Bash running",
        ),
        (tool_result(T0 + 3), Status.BUSY, "tool result"),
        (assistant(T0 + 4, msg="m2"), Status.IDLE, "end_turn"),
        (chain("system", T0 + 5, subtype="api_error"), Status.IDLE, "API error"),
    ]
    for record, status, reason in steps:
        append(transcript, lines(record))
        os.utime(transcript, (clock.now, clock.now))
        assert reader.poll()
        assert reader.facts.status is status, record
        assert reason in (reader.facts.status_reason or "")


def test_a_prompt_written_after_its_answer_does_not_decide(transcript: Path, clock: Clock) -> None:
    """A user record written after the assistant records answering it does not decide.

    Claude Code 2.1.197 sometimes writes it so (seen in a real transcript: text, tool_use,
    then the prompt that asked for them); ``timestamp`` keeps the true order.
    """
    transcript.write_bytes(
        lines(
            assistant(T0 + 1, stop=None),
            assistant(T0 + 1.002, stop="tool_use", content=[tool_use("Bash")]),
            chain("file-history-snapshot", T0 + 1.01),
            user("touch the file", T0 + 0.9),
            chain("attachment", T0 + 0.9),
        )
    )
    os.utime(transcript, (clock.now, clock.now))
    facts = read(transcript, clock, quiet_s=30.0)
    assert facts.status is Status.BUSY
    assert facts.status_reason == "transcript: tool_use Bash running"
    assert facts.last_prompt == "touch the file"  # still the latest prompt
    assert facts.turns == 1
    append(transcript, lines(tool_result(T0 + 3)))  # a newer record decides again
    reader = TranscriptReader(transcript, TranscriptSettings(quiet_s=30.0), clock=clock)
    reader.poll()
    assert reader.facts.status_reason == "transcript: tool result sent"


def test_quiet_tool_use_turns_waiting(transcript: Path, clock: Clock) -> None:
    transcript.write_bytes(
        lines(user("go", T0), assistant(T0 + 1, stop="tool_use", content=[tool_use("Bash")]))
    )
    os.utime(transcript, (clock.now, clock.now))
    reader = TranscriptReader(transcript, TranscriptSettings(quiet_s=30.0), clock=clock)
    reader.poll()
    assert reader.facts.status is Status.BUSY
    clock.now += 31
    assert reader.poll()  # no new bytes, but the heuristic changed the status
    assert reader.facts.status is Status.WAITING
    assert "permission prompt" in (reader.facts.status_reason or "")
    assert not reader.poll()  # nothing changed since


def test_metadata_and_sidechain_do_not_decide(transcript: Path, clock: Clock) -> None:
    transcript.write_bytes(
        lines(
            assistant(T0),
            user("sub", T0 + 1, isSidechain=True),
            {"type": "last-prompt", "lastPrompt": "x", "sessionId": SID},
            chain("attachment", T0 + 2, attachment={}),
            chain("system", T0 + 3, subtype="local_command"),
        )
    )
    assert read(transcript, clock).status is Status.IDLE


# -- incremental reading ----------------------------------------------------------------------


def test_reads_only_appended_bytes_and_partial_lines(transcript: Path, clock: Clock) -> None:
    first = lines(user("one", T0))
    transcript.write_bytes(first)
    reader = TranscriptReader(transcript, clock=clock)
    assert reader.poll()
    assert reader.offset == len(first)
    assert not reader.poll()  # nothing new
    record = lines(assistant(T0 + 1, use=usage(out=77)))
    append(transcript, record[:20])  # half a line: nothing to parse yet
    reader.poll()
    assert reader.facts.output_tokens == 0
    append(transcript, record[20:])
    assert reader.poll()
    assert reader.facts.output_tokens == 77
    assert reader.offset == len(first) + len(record)
    assert reader.facts.lines == 2


def test_first_open_of_a_large_file_reads_only_the_tail(transcript: Path, clock: Clock) -> None:
    filler = lines(*(assistant(T0, msg=f"m{i}", use=usage(out=1)) for i in range(4000)))
    last = lines(user("latest", T0 + 1), assistant(T0 + 2, msg="last", use=usage(5, 9)))
    transcript.write_bytes(filler + last)
    assert len(filler) > 1_000_000
    reader = TranscriptReader(transcript, TranscriptSettings(tail_bytes=64 * 1024), clock=clock)
    reader.poll()
    facts = reader.facts
    assert facts.partial
    assert facts.last_prompt == "latest"
    assert facts.context_used == 14
    assert facts.bad_lines == 0  # the cut first line was dropped, not parsed
    assert facts.lines < 1000  # only the tail was parsed
    assert reader.offset == len(filler) + len(last)


def test_read_budget_never_stalls(transcript: Path, clock: Clock) -> None:
    data = lines(*(assistant(T0, msg=f"m{i}", use=usage(out=1)) for i in range(500)))
    transcript.write_bytes(data)
    settings = TranscriptSettings(max_read_bytes=10_000, tail_bytes=len(data))
    reader = TranscriptReader(transcript, settings, clock=clock)
    polls = 0
    while True:
        reader.poll()
        polls += 1
        if not reader.facts.behind:
            break
        assert polls < 1000
    assert polls == -(-len(data) // 10_000)
    assert reader.facts.output_tokens == 500


def test_truncated_file_restarts_from_its_tail(transcript: Path, clock: Clock) -> None:
    transcript.write_bytes(lines(user("a", T0), assistant(T0 + 1, use=usage(out=500))))
    reader = TranscriptReader(transcript, clock=clock)
    reader.poll()
    assert reader.facts.output_tokens == 500
    with transcript.open("r+b") as handle:  # same inode, shorter content
        handle.truncate(0)
        handle.write(lines(assistant(T0 + 2, msg="n", use=usage(out=3))))
    assert reader.poll()
    assert reader.facts.output_tokens == 3
    assert reader.facts.last_prompt is None


def test_replaced_file_restarts_from_its_tail(transcript: Path, clock: Clock) -> None:
    transcript.write_bytes(lines(assistant(T0, use=usage(out=500))))
    reader = TranscriptReader(transcript, TranscriptSettings(tail_bytes=4096), clock=clock)
    reader.poll()
    replacement = transcript.with_suffix(".tmp")
    # Longer than the old file, so only the inode tells it is new; only its tail is read.
    replacement.write_bytes(
        lines(*(assistant(T0, msg=f"m{i}", use=usage(out=1)) for i in range(300)))
        + lines(assistant(T0 + 5, msg="z", use=usage(out=8)))
    )
    replacement.replace(transcript)
    assert reader.poll()
    facts = reader.facts
    assert facts.partial
    assert 8 < facts.output_tokens < 300
    assert facts.context_used == 108


def test_missing_file_then_appearing_then_deleted(transcript: Path, clock: Clock) -> None:
    reader = TranscriptReader(transcript, clock=clock)
    assert not reader.poll()
    assert not reader.facts.exists
    transcript.write_bytes(lines(user("hi", T0)))
    assert reader.poll()
    assert reader.facts.exists
    assert reader.facts.last_prompt == "hi"
    transcript.unlink()
    assert reader.poll()
    assert not reader.facts.exists
    assert reader.facts.last_prompt == "hi"  # the last known facts stay


def test_ten_megabyte_line_is_skipped_with_bounded_memory(transcript: Path, clock: Clock) -> None:
    big = user("x" * (10 * 1024 * 1024), T0 + 1)
    transcript.write_bytes(lines(assistant(T0, use=usage(out=4))))
    reader = TranscriptReader(
        transcript, TranscriptSettings(max_line_bytes=1024 * 1024), clock=clock
    )
    reader.poll()
    append(transcript, lines(big, assistant(T0 + 2, msg="m2", use=usage(out=6))))
    tracemalloc.start()
    try:
        polls = 0
        while reader.poll() or reader.facts.behind:
            polls += 1
            assert polls < 100
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    facts = reader.facts
    assert facts.oversized_lines == 1
    assert facts.output_tokens == 10
    assert facts.status is Status.IDLE  # the line after the big one was parsed
    assert peak < 4 * 1024 * 1024  # never holds the 10 MB line


def test_ten_megabyte_tool_result_marks_busy(transcript: Path, clock: Clock) -> None:
    big = chain(
        "user",
        T0,
        message={"role": "user", "content": [{"type": "tool_result", "content": "y" * 3_000_000}]},
    )
    transcript.write_bytes(lines(assistant(T0 - 1, stop="tool_use", content=[tool_use()]), big))
    facts = read(transcript, clock, max_line_bytes=1024 * 1024, tail_bytes=10_000_000)
    assert facts.oversized_lines == 1
    assert facts.status is Status.BUSY


def test_garbage_is_skipped(transcript: Path, clock: Clock) -> None:
    transcript.write_bytes(
        lines(
            "not json",
            "[1, 2, 3]",
            '"a string"',
            "{",
            "[" * 200_000 + "]" * 200_000,
            '{"type": "assistant", "message": {"usage": {"output_tokens": NaN}}}',
            '{"type": "assistant", "message": {"usage": {"output_tokens": 1e999}}}',
            '{"type": "assistant", "message": {"usage": {"output_tokens": true}}}',
            '{"type": "assistant", "message": "text"}',
            '{"type": "user", "message": {"content": [1, null, {"type": "text"}]}}',
            '{"type": "user", "timestamp": "yesterday", "message": {"content": 5}}',
            '{"type": ["user"]}',
            "",
            "   ",
        )
        + b'{"type": "user", "message": {"content": "caf\xff\xfe"}}\n'
        + lines(assistant(T0, use=usage(out=2)))
    )
    facts = read(transcript, clock, tail_bytes=1 << 30)
    assert facts.output_tokens == 2
    assert facts.bad_lines == 5
    assert facts.last_prompt == "caf\ufffd\ufffd"


def test_fifo_and_directory_are_refused_without_blocking(tmp_path: Path, clock: Clock) -> None:
    fifo = tmp_path / f"{SID}.jsonl"
    os.mkfifo(fifo)
    reader = TranscriptReader(fifo, clock=clock)
    reader.poll()  # would hang without O_NONBLOCK
    assert not reader.facts.exists
    folder = tmp_path / "dir.jsonl"
    folder.mkdir()
    reader = TranscriptReader(folder, clock=clock)
    reader.poll()
    assert not reader.facts.exists


def test_unreadable_file_keeps_last_facts(transcript: Path, clock: Clock) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads mode-000 files")
    transcript.write_bytes(lines(user("hi", T0)))
    reader = TranscriptReader(transcript, clock=clock)
    reader.poll()
    transcript.chmod(0)
    reader.poll()
    assert reader.facts.last_prompt == "hi"


# -- property tests ---------------------------------------------------------------------------

RECORD_POOL = [
    lines(user("go", T0)),
    lines(assistant(T0 + 1, msg="m1", use=usage(out=3))),
    lines(assistant(T0 + 1, msg="m1", use=usage(out=3))),
    lines(assistant(T0 + 61, msg="m2", stop="tool_use", content=[tool_use()])),
    lines(tool_result(T0 + 62)),
    lines(turn_duration(T0 + 63)),
    lines({"type": "summary", "summary": "s"}),
    b"garbage line\n",
    b'{"type": "assistant", "message": {"usage": {"output_tokens": -1}}}\n',
    b"\xff\xfe\x00\n",
]


def feed_in_pieces(path: Path, data: bytes, cuts: list[int], clock: Clock) -> TranscriptReader:
    """Append ``data`` to ``path`` in pieces cut at ``cuts``, polling after each piece."""
    reader = TranscriptReader(path, TranscriptSettings(tail_bytes=1 << 30), clock=clock)
    path.write_bytes(b"")
    reader.poll()
    previous = 0
    for cut in [*sorted(set(cuts)), len(data)]:
        if cut <= previous or cut > len(data):
            continue
        append(path, data[previous:cut])
        previous = cut
        reader.poll()
    while reader.facts.behind:
        reader.poll()
    return reader


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=4096), cuts=st.lists(st.integers(0, 4096), max_size=20))
def test_random_bytes_never_raise_or_stall(
    tmp_path: Path, clock: Clock, data: bytes, cuts: list[int]
) -> None:
    path = tmp_path / "random.jsonl"
    reader = feed_in_pieces(path, data, cuts, clock)
    assert reader.offset == len(data)
    assert reader.tail.held_bytes <= len(data)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    picks=st.lists(st.integers(0, len(RECORD_POOL) - 1), max_size=30),
    cuts=st.lists(st.integers(0, 20_000), max_size=15),
)
def test_any_split_gives_the_same_facts_as_one_read(
    tmp_path: Path, clock: Clock, picks: list[int], cuts: list[int]
) -> None:
    data = b"".join(RECORD_POOL[i] for i in picks)
    whole_path = tmp_path / "whole.jsonl"
    whole_path.write_bytes(data)
    whole = TranscriptReader(whole_path, TranscriptSettings(tail_bytes=1 << 30), clock=clock)
    whole.poll()
    pieces = feed_in_pieces(tmp_path / "pieces.jsonl", data, cuts, clock)
    a, b = whole.facts, pieces.facts
    for name in ("output_tokens", "api_calls", "turns", "context_used", "status", "buckets"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.lines == b.lines
    assert a.bad_lines == b.bad_lines


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sizes=st.lists(st.integers(0, 3000), min_size=1, max_size=6),
    limit=st.integers(1, 2000),
)
def test_long_lines_around_the_limit(
    tmp_path: Path, clock: Clock, sizes: list[int], limit: int
) -> None:
    data = b"".join(b"a" * size + b"\n" for size in sizes)
    path = tmp_path / "long.jsonl"
    path.write_bytes(data)
    settings_ = TranscriptSettings(max_line_bytes=limit, max_read_bytes=997, tail_bytes=1 << 30)
    reader = TranscriptReader(path, settings_, clock=clock)
    for _ in range(len(data) // 997 + 2):
        reader.poll()
    assert reader.offset == len(data)
    assert reader.facts.oversized_lines == sum(1 for size in sizes if size > limit)
    assert reader.facts.lines == sum(1 for size in sizes if size > limit or size > 0)
    assert reader.tail.held_bytes <= limit


# -- tracker ----------------------------------------------------------------------------------


def test_tracker_follows_sessions(tmp_path: Path, clock: Clock) -> None:
    projects = tmp_path / "projects"
    tracker = TranscriptTracker(projects, clock=clock)
    started_ms = int(T0 * 1000)
    # Registered before its transcript exists (Claude writes it at the first prompt).
    assert not tracker.track("k1", cwd=CWD, session_id=SID, started_at_ms=started_ms)
    assert tracker.facts("k1") is None
    assert tracker.folders() == {projects / encode_project_dir(CWD)}
    path = projects / encode_project_dir(CWD) / f"{SID}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(lines(user("hi", T0)))
    assert tracker.update(path)  # a watcher "created" event
    facts = tracker.facts("k1")
    assert facts is not None
    assert facts.last_prompt == "hi"
    assert tracker.keys_for(path) == ["k1"]
    # A second session on the same file shares the reader.
    assert tracker.track("k2", cwd=CWD, session_id=SID, started_at_ms=started_ms)
    assert tracker.facts("k2") == tracker.facts("k1")
    append(path, lines(assistant(T0 + 1, use=usage(out=12))))
    assert tracker.update(path)
    assert tracker.facts("k1").output_tokens == 12  # type: ignore[union-attr]
    assert not tracker.update(path)
    assert not tracker.update(tmp_path / "unrelated.txt")
    # The timer: nothing new, then a quiet tool_use becomes waiting.
    assert tracker.refresh() == set()
    append(path, lines(assistant(T0 + 2, msg="m2", stop="tool_use", content=[tool_use()])))
    os.utime(path, (clock.now, clock.now))
    assert tracker.refresh() == {"k1", "k2"}
    clock.now += 3600
    assert tracker.refresh() == {"k1", "k2"}
    assert tracker.facts("k1").status is Status.WAITING  # type: ignore[union-attr]
    # Unchanged identity: no work.
    assert not tracker.track("k1", cwd=CWD, session_id=SID, started_at_ms=started_ms)
    assert tracker.forget("k2")
    assert not tracker.forget("k2")


def test_a_missing_transcript_is_looked_for_on_the_refresh_backoff_not_on_each_track(
    tmp_path: Path, clock: Clock
) -> None:
    """The store's rescan tracks every live session again: that costs no look for a file."""
    projects = tmp_path / "projects"
    tracker = TranscriptTracker(projects, clock=clock)
    started_ms = int(T0 * 1000)
    assert not tracker.track("k", cwd=CWD, session_id=SID, started_at_ms=started_ms)
    path = projects / encode_project_dir(CWD) / f"{SID}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(lines(user("hi", T0)))  # no watcher event reports it
    assert not tracker.track("k", cwd=CWD, session_id=SID, started_at_ms=started_ms)
    assert tracker.facts("k") is None
    found = [tracker.refresh() for _ in range(LOCATE_BACKOFF_MAX)]
    assert {"k"} in found
    assert tracker.facts("k").last_prompt == "hi"  # type: ignore[union-attr]


def test_tracker_uses_the_configured_context_windows(tmp_path: Path, clock: Clock) -> None:
    """The config table reaches every reader: exact name, longest prefix, [1m], default."""
    from sessiontui.config import load_config

    config_file = tmp_path / "config.toml"
    config_file.write_text(
        '[context_windows]\n"claude-opus-4" = 300000\n"claude-opus-4-8" = 500000\n',
        encoding="utf-8",
    )
    table = load_config(config_file).context_windows
    projects = tmp_path / "projects"
    tracker = TranscriptTracker(projects, TranscriptSettings(context_windows=table), clock=clock)
    folder = projects / encode_project_dir(CWD)
    folder.mkdir(parents=True)
    expected = {
        "claude-opus-4-8": 500_000,  # exact
        "claude-opus-4-1": 300_000,  # prefix
        "claude-sonnet-4-5[1m]": LARGE_CONTEXT_WINDOW,
        "claude-haiku-4-5": DEFAULT_CONTEXT_WINDOW,
    }
    for number, model in enumerate(expected):
        sid = f"{number:08d}-0000-0000-0000-000000000000"
        (folder / f"{sid}.jsonl").write_bytes(lines(assistant(T0, model=model)))
        tracker.track(model, cwd=CWD, session_id=sid, started_at_ms=int(T0 * 1000))
    got = {model: tracker.facts(model) for model in expected}
    assert {m: f.context_window for m, f in got.items() if f is not None} == expected


def test_tracker_switches_file_when_session_id_changes(tmp_path: Path, clock: Clock) -> None:
    projects = tmp_path / "projects"
    folder = projects / encode_project_dir(CWD)
    folder.mkdir(parents=True)
    other = "99999999-9999-9999-9999-999999999999"
    (folder / f"{SID}.jsonl").write_bytes(lines(user("old", T0)))
    (folder / f"{other}.jsonl").write_bytes(lines(user("new", T0)))
    tracker = TranscriptTracker(projects, clock=clock)
    assert tracker.track("k", cwd=CWD, session_id=SID, started_at_ms=None)
    assert tracker.facts("k").last_prompt == "old"  # type: ignore[union-attr]
    assert tracker.track("k", cwd=CWD, session_id=other, started_at_ms=None)
    assert tracker.facts("k").last_prompt == "new"  # type: ignore[union-attr]
    assert tracker.track("k", cwd=CWD, session_id="../../etc/passwd", started_at_ms=0)
    assert tracker.facts("k") is None
    assert tracker.track("k", cwd=None, session_id=SID, started_at_ms=None) is True
    assert list(tracker.keys()) == []


def test_records_of_2_1_332_are_ignored_or_used(transcript: Path, clock: Clock) -> None:
    # Seen in 2.1.332 transcripts: request metadata with timestamps, large blobs, last-prompt.
    blob = {"type": "text", "text": "system prompt " * 5000}
    padding = lines(*(assistant(T0, msg=f"p{i}", use=usage(out=1)) for i in range(400)))
    transcript.write_bytes(
        padding
        + lines(
            user("the prompt before the tail", T0),
            {"type": "atis-latch", "atis": "", "sessionId": SID},
            {"type": "api-request-shape", "sessionId": SID, "shape": {}, "timestamp": iso(T0)},
            {"type": "api-request-blob", "hash": "h", "sessionId": SID, "content": [blob]},
            {"type": "api-request", "sessionId": SID, "timestamp": iso(T0 + 90), "params": {}},
            {"type": "tools-used", "sessionId": SID, "tools": ["Bash"]},
            assistant(T0 + 1, msg="last", model="claude-opus-5-5", use=usage(1200, 37, 300, 50)),
            turn_duration(T0 + 2),
            {"type": "last-prompt", "lastPrompt": "say hello", "leafUuid": "x", "sessionId": SID},
        )
    )
    facts = read(transcript, clock, tail_bytes=48 * 1024)
    assert facts.partial
    assert facts.model == "claude-opus-5-5"
    assert facts.context_used == 1587
    assert facts.status is Status.IDLE
    assert facts.last_prompt == "say hello"  # the user record was before the tail
    assert facts.last_activity_at == pytest.approx(T0 + 2)  # api-request is not a chain record
    assert facts.bad_lines == 0
