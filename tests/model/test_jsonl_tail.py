"""The shared JSON-lines tail reader, on real files: appends, cuts, rewrites and bad bytes."""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessiontui.model.jsonl_tail import (
    SKIP_PREFIX_BYTES,
    JsonlTail,
    Oversized,
    TailUnreadable,
    parse_object,
)

if TYPE_CHECKING:
    from typing import Any

BIG = 1 << 30


def tail_of(path: Path, **kw: int) -> JsonlTail:
    options = {"tail_bytes": BIG, "max_line_bytes": BIG, "max_read_bytes": BIG, **kw}
    return JsonlTail(path, **options)


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


def test_only_appended_complete_lines_and_the_partial_last_line_waits(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"a": 1}\n\n{"b": ')
    tail = tail_of(path)
    first = tail.read()
    assert (first.reset, first.lines, first.behind, first.tail_only) == (
        True,
        [b'{"a": 1}', b""],
        False,
        False,
    )
    assert tail.held_bytes == len(b'{"b": ')
    append(path, b"2}\n")
    second = tail.read()
    assert (second.reset, second.lines) == (False, [b'{"b": 2}'])
    assert tail.read().lines == []
    assert tail.offset == path.stat().st_size
    assert second.modified_at == path.stat().st_mtime


def test_truncation_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"one\ntwo\n")
    tail = tail_of(path)
    tail.read()
    with path.open("r+b") as handle:  # same inode, shorter
        handle.truncate(0)
        handle.write(b"x\n")
    read = tail.read()
    assert (read.reset, read.lines) == (True, [b"x"])


def test_rewrite_in_place_of_the_same_size_or_larger_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"aaaa\nbbbb\n")
    tail = tail_of(path)
    tail.read()
    with path.open("r+b") as handle:  # same inode and size; the byte before the offset moved
        handle.write(b"ccccccccc\n")
    assert tail.read().lines == []  # same size, a newline still ends it: nothing to tell
    with path.open("r+b") as handle:
        handle.write(b"ddddddddddddd\neeee\n")  # larger; offset 10 now falls inside a line
    read = tail.read()
    assert (read.reset, read.lines) == (True, [b"ddddddddddddd", b"eeee"])


def test_replaced_file_starts_over_from_its_tail(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"old\n")
    tail = tail_of(path, tail_bytes=16)
    tail.read()
    new = tmp_path / "new.jsonl"
    new.write_bytes(b"0123456789\nkeep me\nlast\n")  # the tail starts inside "0123456789"
    new.replace(path)
    read = tail.read()
    assert (read.reset, read.tail_only, read.lines) == (True, True, [b"keep me", b"last"])


def test_tail_start_on_a_line_boundary_keeps_that_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"first\nsecond\nthird\n")
    read = tail_of(path, tail_bytes=len(b"second\nthird\n")).read()
    assert read.lines == [b"second", b"third"]


def test_head_line_then_tail(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"meta": 1}\n' + b"x" * 100 + b"\nlast\n")
    read = tail_of(path, tail_bytes=10, head_line_bytes=64).read()
    assert read.lines == [b'{"meta": 1}', b"last"]
    too_long = tail_of(path, tail_bytes=10, head_line_bytes=5).read()
    assert too_long.lines == [b"last"]  # a head line longer than allowed is left out


def test_read_budget_goes_on_next_time(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    data = b"".join(b"line %d\n" % i for i in range(100))
    path.write_bytes(data)
    tail = tail_of(path, max_read_bytes=50)
    got: list[bytes | Oversized] = []
    reads = 0
    while True:
        read = tail.read()
        got += read.lines
        reads += 1
        if not read.behind:
            break
        assert reads < 100
    assert reads == -(-len(data) // 50)
    assert got == [b"line %d" % i for i in range(100)]


def test_ten_megabyte_line_is_skipped_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"before": 1}\n')
    tail = tail_of(path, max_line_bytes=1024 * 1024, max_read_bytes=4 * 1024 * 1024)
    tail.read()
    huge = b'{"type": "user", "pad": "' + b"y" * (10 * 1024 * 1024) + b'"}'
    append(path, huge + b'\n{"after": 2}\n')
    tracemalloc.start()
    try:
        lines: list[bytes | Oversized] = []
        while True:
            read = tail.read()
            lines += read.lines
            assert tail.held_bytes <= 1024 * 1024
            if not read.behind:
                break
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == [Oversized(huge[:SKIP_PREFIX_BYTES]), b'{"after": 2}']
    assert peak < 6 * 1024 * 1024  # the reads (4 MiB) and the held part, never the 10 MB


def test_a_line_cut_by_the_tail_start_is_dropped_not_reported(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"z" * 5000 + b"\nnext\n")
    read = tail_of(path, tail_bytes=100, max_line_bytes=50).read()
    assert read.lines == [b"next"]


def test_malformed_lines_parse_to_none_and_bad_utf8_is_replaced() -> None:
    assert parse_object(b'{"a": [1, 2]}') == {"a": [1, 2]}
    for bad in (b"not json", b"[1]", b'"s"', b"{", b"[" * 100_000 + b"]" * 100_000, b""):
        assert parse_object(bad) is None
    assert parse_object(b'{"t": "caf\xff"}') == {"t": "caf\ufffd"}
    assert parse_object(b'\xef\xbb\xbf{"bom": 1}') == {"bom": 1}


def json_loads_object(line: bytes) -> dict[str, Any] | None:
    """The meaning ``parse_object`` must keep: the standard library's, line by line."""
    text = line.decode("utf-8", "replace")
    try:
        value = json.loads(text[1:] if text.startswith("\ufeff") else text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def same(a: object, b: object) -> bool:
    """Equal values of the same types (NaN equals NaN; 1 is not 1.0 nor True)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) and repr(a) == repr(b)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(1 << 80), max_value=1 << 80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(
    value=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=6),
    ascii_only=st.booleans(),
    spaced=st.booleans(),
)
def test_parse_object_gives_what_json_loads_gives_for_any_object(
    value: dict[str, Any], ascii_only: bool, spaced: bool
) -> None:
    # NaN / Infinity literals, lone surrogate escapes and big integers included: the fast
    # decoder refuses some of them, and the standard one then reads the line.
    separators = (", ", ": ") if spaced else (",", ":")
    text = json.dumps(value, ensure_ascii=ascii_only, separators=separators)
    line = text.encode("utf-8", "surrogatepass")
    assert same(parse_object(line), json_loads_object(line))


@settings(max_examples=400, deadline=None)
@given(
    line=st.binary(max_size=60)
    | st.text(alphabet='{}[]":,.-+0123456789eEtrufalsnNI \\u\ufeff', max_size=60).map(
        lambda t: t.encode("utf-8", "surrogatepass")
    )
)
def test_parse_object_gives_what_json_loads_gives_for_any_bytes(line: bytes) -> None:
    assert same(parse_object(line), json_loads_object(line))


def test_parse_object_over_real_rollouts_and_claude_records(tmp_path: Path) -> None:
    fixtures = sorted((Path(__file__).parent / "fixtures" / "codex").glob("*.jsonl"))
    assert fixtures
    lines = [line for path in fixtures for line in path.read_bytes().splitlines()]
    claude = (
        b'{"parentUuid":null,"isSidechain":false,"type":"assistant","requestId":"req_1",'
        b'"timestamp":"2026-12-01T16:35:34.195Z","message":{"id":"msg_1","model":'
        b'"claude-opus-4-8","content":[{"type":"tool_use","name":"Bash","input":'
        b'{"command":"ls \\u00e9\\ud83d\\ude00"}}],"usage":{"input_tokens":3,'
        b'"cache_read_input_tokens":9000,"output_tokens":12}}}'
    )
    lines += [claude, claude[:-1], b"\xef\xbb\xbf" + claude, claude + b" x", b"  " + claude]
    assert len(lines) > 40
    for line in lines:
        assert same(parse_object(line), json_loads_object(line)), line
    assert parse_object(claude) is not None


def test_missing_fifo_directory_and_symlink(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        tail_of(tmp_path / "missing.jsonl").read()
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    folder = tmp_path / "dir.jsonl"
    folder.mkdir()
    target = tmp_path / "real.jsonl"
    target.write_bytes(b"{}\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    for path in (fifo, folder, link):
        with pytest.raises(TailUnreadable):
            tail_of(path).read()  # a FIFO would block without O_NONBLOCK


def test_a_file_that_disappears_and_comes_back_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"a\n")
    tail = tail_of(path)
    tail.read()
    path.unlink()
    with pytest.raises(FileNotFoundError):
        tail.read()
    assert tail.offset == 2  # kept while the file is gone
    # Even on the same inode (the file system may reuse it), the byte before the offset is
    # no longer the newline consumed there.
    path.write_bytes(b"bbb\nc\n")
    read = tail.read()
    assert (read.reset, read.lines) == (True, [b"bbb", b"c"])


def read_in_pieces(path: Path, data: bytes, cuts: list[int], limit: int) -> list[object]:
    """Append ``data`` in pieces cut at ``cuts``, reading after each; return every line."""
    path.write_bytes(b"")
    tail = tail_of(path, max_line_bytes=limit, max_read_bytes=997)
    got: list[object] = list(tail.read().lines)
    previous = 0
    for cut in [*sorted(set(cuts)), len(data)]:
        if previous < cut <= len(data):
            append(path, data[previous:cut])
            previous = cut
            got += tail.read().lines
            assert tail.held_bytes <= limit
    while (read := tail.read()).behind:
        got += read.lines
    got += read.lines
    assert tail.offset == len(data)
    return got


def expected_lines(data: bytes, limit: int) -> list[object]:
    """What reading ``data`` whole must give: complete lines, oversized ones as markers."""
    pieces = data.split(b"\n")[:-1]  # the part after the last newline is not a line yet
    return [Oversized(p[:SKIP_PREFIX_BYTES]) if len(p) > limit else p for p in pieces]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(max_size=6000),
    newlines=st.lists(st.integers(0, 6000), max_size=30),
    cuts=st.lists(st.integers(0, 6000), max_size=20),
    limit=st.integers(1, 3000),
)
def test_any_split_gives_the_lines_of_one_read_and_never_stalls(
    tmp_path: Path, data: bytes, newlines: list[int], cuts: list[int], limit: int
) -> None:
    raw = bytearray(data)
    for at in newlines:
        if at < len(raw):
            raw[at] = 0x0A
    path = tmp_path / "random.jsonl"
    assert read_in_pieces(path, bytes(raw), cuts, limit) == expected_lines(bytes(raw), limit)
