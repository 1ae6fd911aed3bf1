"""Which transcripts count as streaming: growth at read after read, and cooling off."""

from __future__ import annotations

from pathlib import Path

from sessiontui.model.streaming import StreamingFiles

A = Path("/p/a.jsonl")
B = Path("/p/b.jsonl")


def test_three_growing_reads_close_together_make_a_file_streaming() -> None:
    files = StreamingFiles(streak=3, gap_s=0.3, cool_s=0.5)
    files.note(A, grew=True, now=10.0)
    files.note(A, grew=True, now=10.1)
    assert files.paths == frozenset()
    files.note(A, grew=True, now=10.2)
    assert files.paths == {A}
    files.note(B, grew=True, now=10.2)
    assert files.paths == {A}


def test_a_gap_or_a_read_without_growth_breaks_the_streak() -> None:
    files = StreamingFiles(streak=3, gap_s=0.3, cool_s=0.5)
    files.note(A, grew=True, now=10.0)
    files.note(A, grew=True, now=10.1)
    files.note(A, grew=True, now=10.5)  # 0.4 s later: a new streak of one
    files.note(A, grew=True, now=10.6)
    assert files.paths == frozenset()
    files.note(A, grew=False, now=10.7)  # nothing new: starts over
    files.note(A, grew=True, now=10.8)
    files.note(A, grew=True, now=10.9)
    assert files.paths == frozenset()
    files.note(A, grew=True, now=11.0)
    assert files.paths == {A}


def test_a_streaming_file_cools_off_after_cool_s_without_growth() -> None:
    files = StreamingFiles(streak=2, gap_s=0.3, cool_s=0.5)
    files.note(A, grew=True, now=0.0)
    files.note(A, grew=True, now=0.1)
    files.note(A, grew=False, now=0.2)
    files.note(A, grew=False, now=0.5)
    assert files.paths == {A}  # 0.4 s without growth
    files.note(A, grew=True, now=0.55)
    files.note(A, grew=False, now=1.0)
    assert files.paths == {A}
    files.note(A, grew=False, now=1.05)
    assert files.paths == frozenset()


def test_cool_drops_files_no_longer_read_and_forget_drops_one() -> None:
    files = StreamingFiles(streak=2, gap_s=0.3, cool_s=0.5)
    for path in (A, B):
        files.note(path, grew=True, now=0.0)
        files.note(path, grew=True, now=0.1)
    files.cool(0.5)
    assert files.paths == {A, B}
    files.forget(B)
    assert files.paths == {A}
    files.cool(0.6)
    assert files.paths == frozenset()
