"""serve() in-process on a real Monitor: every line fits the limit, nothing is lost."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import threading
from typing import TYPE_CHECKING

import pytest
from tests.helpers import write_entry

from sessiontui.model.monitor import Monitor
from sessiontui.remote import protocol
from sessiontui.remote.serve import serve

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def six() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [subprocess.Popen(["sleep", "300"]) for _ in range(6)]
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait()


def test_a_snapshot_over_the_line_limit_goes_out_in_several_lines(
    registry: Path, six: list[subprocess.Popen[bytes]]
) -> None:
    """Five rows of ~220 KB (a long cwd) overflow one line; a 600 KB cwd is cut to fit."""
    for i, proc in enumerate(six[:5]):
        write_entry(registry, proc.pid, name=f"wide-{i}", status="idle", cwd="/" + "w" * 220_000)
    huge = six[5].pid
    write_entry(registry, huge, name="huge", status="idle", cwd="/" + "h" * 600_000)
    out = io.BytesIO()
    # stdin is empty: serve sends the hello and the snapshot, then sees stdin end and returns.
    code = serve(Monitor(sessions_dir=registry), io.BytesIO(b""), out, host="here", ping_s=30)
    assert code == 0
    lines = out.getvalue().splitlines(keepends=True)
    assert all(len(line) <= protocol.MAX_LINE_BYTES for line in lines)
    messages = [protocol.decode(line) for line in lines]
    assert [m["t"] for m in messages[:2]] == ["hello", "snapshot"]
    assert messages[0]["host"] == "here"
    rows = [s for m in messages for s in m.get("sessions", []) + m.get("upsert", [])]
    assert len(messages) >= 3  # the snapshot's line could not hold them all
    assert sorted(r["pid"] for r in rows) == sorted(p.pid for p in six)
    by_pid = {r["pid"]: r for r in rows}
    assert by_pid[huge]["cwd"] == "/" + "h" * 4095 + "…"
    assert by_pid[six[0].pid]["cwd"] == "/" + "w" * 220_000


def test_serve_ends_when_its_reader_goes_away(registry: Path) -> None:
    """The client's end of stdout closed (ssh gone), stdin still open: the next ping ends it."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    stdin, stdout, reader = os.fdopen(in_r, "rb"), os.fdopen(out_w, "wb"), os.fdopen(out_r, "rb")
    monitor = Monitor(sessions_dir=registry)
    done: list[int] = []
    thread = threading.Thread(
        target=lambda: done.append(serve(monitor, stdin, stdout, host="h", ping_s=0.1)),
        daemon=True,
    )
    try:
        thread.start()
        assert protocol.decode(reader.readline())["t"] == "hello"
        reader.close()
        thread.join(timeout=10)
        assert done == [0]
        # The service was closed: its worker thread is gone.
        assert not [t for t in threading.enumerate() if t.name == "sessiontui-monitor"]
    finally:
        os.close(in_w)
        stdin.close()
        with contextlib.suppress(BrokenPipeError):  # what the failed write left buffered
            stdout.close()
