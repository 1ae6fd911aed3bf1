"""Tests for sessiontui.model.registry: parsing, the reader, atomic renames, dismissals."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from tests.helpers import wait_until

from sessiontui.errors import InvalidName, SessiontuiError
from sessiontui.model.files import read_small_file
from sessiontui.model.processes import read_proc_start
from sessiontui.model.registry import (
    MAX_FILE_BYTES,
    RegistryParseError,
    RegistryReader,
    child_path_maker,
    decode_json_object,
    default_sessions_dir,
    is_session_file,
    parse_entry,
    read_entry,
    remove_dead_entry,
    validate_name,
    write_name,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

EXAMPLE = (
    '{"pid":25673,"sessionId":"534ded02-9aa5-4594-8426-d954ad357ae6","cwd":"/tmp/ccproj/my.proj_dir",'
    '"startedAt":1795271260638,"procStart":"34661","version":"2.1.197","peerProtocol":1,'
    '"kind":"interactive","entrypoint":"cli","name":"my-proj-dir-67","nameSource":"derived",'
    '"status":"waiting","updatedAt":1795271276089,"statusUpdatedAt":1795271276089,'
    '"waitingFor":"dialog open"}'
)
HOSTILE_NAME = "\x1b]0;pwned\x07[bold red]boom[/bold red]\x1b[2J"
NON_SESSION_FILES = ("notes.txt", ".fleetview-heartbeat", "123.json.tmp", "12a.json")


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def entry_json(pid: int, **fields: object) -> str:
    return json.dumps({"pid": pid, **fields}, separators=(",", ":"))


def make_old(path: Path) -> None:
    """Give a file an mtime in the past, as for a file nobody is writing any more."""
    old = time.time() - 3600
    os.utime(path, (old, old), follow_symlinks=False)


@pytest.fixture
def reg(tmp_path: Path) -> Path:
    directory = tmp_path / "sessions"
    directory.mkdir(mode=0o700)
    return directory


@pytest.fixture
def bystanders(reg: Path) -> Iterator[dict[Path, tuple[bytes, int]]]:
    """Non-session files in the registry; the test ends by checking none was touched."""
    files: dict[Path, tuple[bytes, int]] = {}
    for name in NON_SESSION_FILES:
        path = reg / name
        path.write_text('{"pid": 1, "name": "do not touch"}')
        make_old(path)
        files[path] = (path.read_bytes(), path.stat().st_mtime_ns)
    yield files
    for path, (data, mtime_ns) in files.items():
        assert path.read_bytes() == data
        assert path.stat().st_mtime_ns == mtime_ns


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


# --- locations and names ------------------------------------------------------------------


def test_default_sessions_dir_uses_claude_config_dir(tmp_path: Path):
    env = {"CLAUDE_CONFIG_DIR": str(tmp_path / "cfg"), "HOME": "/nowhere"}
    assert default_sessions_dir(env) == tmp_path / "cfg" / "sessions"


def test_default_sessions_dir_falls_back_to_home(tmp_path: Path):
    assert default_sessions_dir({"HOME": str(tmp_path)}) == tmp_path / ".claude" / "sessions"
    assert default_sessions_dir({"HOME": str(tmp_path), "CLAUDE_CONFIG_DIR": ""}) == (
        tmp_path / ".claude" / "sessions"
    )


def test_default_sessions_dir_reads_os_environ(tmp_path: Path):
    # tests/conftest.py points CLAUDE_CONFIG_DIR into tmp_path.
    assert default_sessions_dir() == tmp_path / "claude-home" / "sessions"


@pytest.mark.parametrize("name", ["1.json", "25673.json", "007.json", "4194304.json"])
def test_is_session_file_accepts(name: str):
    assert is_session_file(name)


@pytest.mark.parametrize(
    "name",
    [
        *NON_SESSION_FILES,
        ".json",
        ".123.json",
        "123.JSON",
        "123.json\n",
        " 123.json",
        "-1.json",
        "\u0661\u0662.json",  # Arabic-Indic digits are not ASCII digits
        "\uff11.json",  # fullwidth 1
        ".123.json.a1b2.tmp",
    ],
)
def test_is_session_file_rejects(name: str):
    assert not is_session_file(name)


# --- parse_entry: the observed format ---------------------------------------------------


def test_parse_observed_example(tmp_path: Path):
    entry = parse_entry(tmp_path / "25673.json", EXAMPLE.encode())
    assert entry.pid == entry.file_pid == 25673
    assert entry.session_id == "534ded02-9aa5-4594-8426-d954ad357ae6"
    assert entry.cwd == "/tmp/ccproj/my.proj_dir"
    assert entry.started_at_ms == 1795271260638
    assert entry.proc_start == "34661"
    assert entry.version == "2.1.197"
    assert entry.kind == "interactive"
    assert entry.entrypoint == "cli"
    assert entry.name == "my-proj-dir-67"
    assert entry.name_source == "derived"
    assert entry.status == "waiting"
    assert entry.waiting_for == "dialog open"
    assert entry.updated_at_ms == entry.status_updated_at_ms == 1795271276089
    assert dict(entry.extra) == {"peerProtocol": 1}
    with pytest.raises(TypeError):
        entry.extra["peerProtocol"] = 2  # type: ignore[index]


def test_parse_older_build_subset(tmp_path: Path):
    data = b'{"pid":12,"sessionId":"s","cwd":"/w","startedAt":5}'
    entry = parse_entry(tmp_path / "12.json", data)
    assert (entry.pid, entry.session_id, entry.cwd, entry.started_at_ms) == (12, "s", "/w", 5)
    assert entry.status is None
    assert entry.proc_start is None
    assert dict(entry.extra) == {}


def test_parse_missing_pid_field_uses_file_name(tmp_path: Path):
    entry = parse_entry(tmp_path / "77.json", b'{"cwd":"/w"}')
    assert entry.pid == entry.file_pid == 77


def test_parse_bg_extras_are_kept(tmp_path: Path):
    data = entry_json(5, kind="bg", jobId="j1", logPath=None, agent="x", bridgeSessionId="b")
    entry = parse_entry(tmp_path / "5.json", data.encode())
    assert entry.kind == "bg"
    assert entry.job_id == "j1"
    assert dict(entry.extra) == {"logPath": None, "agent": "x", "bridgeSessionId": "b"}


# --- parse_entry: SPEC 8 hostile input -------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"  \n", "empty file"),
        (b'{"pid":12', "not JSON"),  # half-written
        (b'{"pid":12,"name":"ab', "not JSON"),
        (b"hello", "not JSON"),
        (b'{"pid": NaN}', "not JSON"),
        (b"{" * 100_000, "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),  # deeper than the parser's recursion
        (b"[1,2]", "not a JSON object"),
        (b"12", "not a JSON object"),
        (b'"12"', "not a JSON object"),
        (b"null", "not a JSON object"),
        (b"true", "not a JSON object"),
        (b'{"pid":12,"name":"\xff\xfe"}', "invalid UTF-8"),
        (b'{"pid":12,"name":"\xe6\x97"}', "invalid UTF-8"),  # truncated inside a character
    ],
)
def test_parse_rejects(tmp_path: Path, data: bytes, reason: str):
    with pytest.raises(RegistryParseError) as info:
        parse_entry(tmp_path / "12.json", data)
    assert str(info.value) == reason


def test_parse_wrong_field_types_become_none(tmp_path: Path):
    data = entry_json(
        12,
        status=5,
        name=[],
        startedAt="x",
        updatedAt=True,
        statusUpdatedAt=1.5,
        sessionId={"a": 1},
        cwd=None,
        procStart=34661,
        kind=0,
        waitingFor=False,
    )
    entry = parse_entry(tmp_path / "12.json", data.encode())
    assert entry.pid == 12
    for attr in (
        "status",
        "name",
        "started_at_ms",
        "updated_at_ms",
        "status_updated_at_ms",
        "session_id",
        "cwd",
        "proc_start",
        "kind",
        "waiting_for",
    ):
        assert getattr(entry, attr) is None, attr
    assert dict(entry.extra) == {}


@pytest.mark.parametrize("status", ["sleeping", "BUSY", "dead", "", "unknown"])
def test_parse_unknown_status_is_none(tmp_path: Path, status: str):
    entry = parse_entry(tmp_path / "12.json", entry_json(12, status=status).encode())
    assert entry.status is None


@pytest.mark.parametrize("status", ["busy", "idle", "waiting", "shell"])
def test_parse_known_status(tmp_path: Path, status: str):
    assert parse_entry(tmp_path / "12.json", entry_json(12, status=status).encode()).status == (
        status
    )


@pytest.mark.parametrize("pid", [-1, 0, 4_194_305, 10**30, True, "12", 12.0, None, [12]])
def test_parse_invalid_pid_field(tmp_path: Path, pid: object):
    data = json.dumps({"pid": pid}).encode()
    with pytest.raises(RegistryParseError, match=r"^invalid pid$"):
        parse_entry(tmp_path / "12.json", data)


@pytest.mark.parametrize("name", ["0.json", "4194305.json", "99999999999999999999.json"])
def test_parse_invalid_pid_in_file_name(tmp_path: Path, name: str):
    with pytest.raises(RegistryParseError, match=r"^invalid pid$"):
        parse_entry(tmp_path / name, b'{"cwd":"/w"}')


def test_parse_pid_field_disagreeing_with_file_name(tmp_path: Path):
    with pytest.raises(RegistryParseError) as info:
        parse_entry(tmp_path / "456.json", b'{"pid":123}')
    assert str(info.value) == "pid field 123 disagrees with file name 456"


def test_parse_keeps_hostile_names_verbatim(tmp_path: Path):
    data = json.dumps({"pid": 12, "name": HOSTILE_NAME, "cwd": "[link=x]y[/link]"}).encode()
    entry = parse_entry(tmp_path / "12.json", data)
    assert entry.name == HOSTILE_NAME
    assert entry.cwd == "[link=x]y[/link]"
    with pytest.raises(InvalidName):
        validate_name(entry.name)


# --- read_entry -------------------------------------------------------------------------


def test_read_entry(reg: Path):
    path = reg / "25673.json"
    path.write_text(EXAMPLE)
    assert read_entry(path) == parse_entry(path, EXAMPLE.encode())


def test_read_entry_missing_file_raises_file_not_found(reg: Path):
    with pytest.raises(FileNotFoundError):
        read_entry(reg / "12.json")


def rchar() -> int:
    """Bytes this process has read through read(2) so far (Linux /proc/self/io)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs /proc/self/io")
def test_read_entry_rejects_50_mb_file_without_reading_it(reg: Path):
    path = reg / "12.json"
    with path.open("wb") as f:
        f.write(b'{"pid":12,"name":"')
        f.truncate(50 * 1024 * 1024)  # sparse
    before = rchar()
    with pytest.raises(RegistryParseError, match=r"^too large \(50\.0 MB\)$"):
        read_entry(path)
    assert rchar() - before < MAX_FILE_BYTES


@pytest.mark.parametrize("name", ["12.json", "0.json", "4194304.json", "x y.json", ".12.json"])
def test_child_path_maker_gives_what_slash_gives(reg: Path, name: str):
    child = child_path_maker(reg)(name)
    expected = reg / name
    assert child == expected
    assert hash(child) == hash(expected)
    assert str(child) == str(expected)
    assert (child.name, child.parent, type(child)) == (expected.name, reg, type(expected))


def test_child_path_maker_falls_back_to_slash_when_pathlib_differs(reg: Path):
    class Odd(type(reg)):  # type: ignore[misc]
        def _make_child_relpath(self, name: str) -> Path:
            return Path("/elsewhere") / name

    maker = child_path_maker(Odd(reg))
    assert maker("12.json") == reg / "12.json"


def test_small_file_read_allocates_about_its_size(reg: Path):
    """A 200-byte entry costs a 200-byte buffer, not one of the 1 MiB limit.

    10,000 of them are read at start-up.
    """
    path = reg / "12.json"
    path.write_text(entry_json(12, name="x" * 100))
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        data, _ = read_small_file(path, MAX_FILE_BYTES)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert data == path.read_bytes()
    assert peak < 16 * 1024


@pytest.mark.parametrize("size", [0, 1, 65_535, 65_536, 65_537, 300_000])
def test_small_file_read_returns_every_byte(reg: Path, size: int):
    path = reg / "12.json"
    content = os.urandom(size)
    path.write_bytes(content)
    assert read_small_file(path, 300_000)[0] == content


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_small_file_read_of_a_file_larger_than_its_stat_size():
    """Files whose size ``fstat`` does not tell (``/proc``: 0) are read to their end."""
    data, st = read_small_file(Path("/proc/self/status"), MAX_FILE_BYTES)
    assert st.st_size == 0
    assert b"\nPid:\t" in data
    assert len(data) > 500


def test_read_entry_size_limit_is_inclusive(reg: Path):
    path = reg / "12.json"
    data = entry_json(12, name="x" * 20)
    path.write_text(data)
    assert read_entry(path, max_bytes=len(data)).name == "x" * 20
    with pytest.raises(RegistryParseError, match="too large"):
        read_entry(path, max_bytes=len(data) - 1)


def test_read_entry_ignores_symlink_and_leaves_target(reg: Path, tmp_path: Path):
    target = tmp_path / "secret.json"
    target.write_text(entry_json(12, name="target"))
    before = target.read_bytes()
    link = reg / "12.json"
    link.symlink_to(target)
    with pytest.raises(RegistryParseError, match=r"^symbolic link ignored$"):
        read_entry(link)
    assert target.read_bytes() == before


def test_read_entry_rejects_fifo_without_blocking(reg: Path):
    path = reg / "12.json"
    os.mkfifo(path)
    with pytest.raises(RegistryParseError, match=r"^not a regular file$"):
        read_entry(path)


def test_read_entry_rejects_directory(reg: Path):
    (reg / "12.json").mkdir()
    with pytest.raises(RegistryParseError, match=r"^not a regular file$"):
        read_entry(reg / "12.json")


def test_read_entry_unreadable_file(reg: Path):
    path = reg / "12.json"
    path.write_text(entry_json(12))
    path.chmod(0)
    if os.geteuid() == 0:
        assert read_entry(path).pid == 12  # root reads it regardless of the mode
    else:
        with pytest.raises(RegistryParseError, match=r"^permission denied$"):
            read_entry(path)


# --- RegistryReader -----------------------------------------------------------------------


def test_scan_reads_session_files_only(reg: Path, bystanders: dict[Path, tuple[bytes, int]]):
    (reg / "12.json").write_text(entry_json(12, name="a"))
    (reg / "34.json").write_text(entry_json(34, name="b"))
    reader = RegistryReader(reg)
    assert reader.scan() == {reg / "12.json", reg / "34.json"}
    assert reader.directory_problem is None
    assert {p: e.name for p, e in reader.entries.items()} == {
        reg / "12.json": "a",
        reg / "34.json": "b",
    }
    assert reader.paths() == {reg / "12.json", reg / "34.json"}
    with pytest.raises(TypeError):
        reader.entries[reg / "56.json"] = reader.entries[reg / "12.json"]  # type: ignore[index]
    assert len(bystanders) == len(NON_SESSION_FILES)


def test_scan_keeps_last_good_entry_across_half_written_read(reg: Path):
    clock = FakeClock()
    path = reg / "12.json"
    path.write_text(entry_json(12, status="busy"))
    reader = RegistryReader(reg, clock=clock)
    assert reader.scan() == {path}
    for partial in ("", '{"pid":12', '{"pid":12,"status":"id'):
        path.write_text(partial)
        clock.now += 0.5
        assert reader.scan() == set()
        assert reader.entries[path].status == "busy"
        assert reader.problem(path) is None
    path.write_text(entry_json(12, status="idle"))
    assert reader.scan() == {path}
    assert reader.entries[path].status == "idle"
    assert reader.problem(path) is None


def test_problem_shows_only_after_two_seconds_of_failures(reg: Path):
    clock = FakeClock()
    path = reg / "12.json"
    path.write_text(entry_json(12, status="busy"))
    reader = RegistryReader(reg, clock=clock)
    reader.scan()
    path.write_text('{"pid":12')
    assert reader.refresh(path) is False
    clock.now += 1.9
    assert reader.refresh(path) is False
    assert reader.problem(path) is None
    clock.now += 0.2  # 2.1 s of continuous failure
    assert reader.problem(path) == "not JSON"
    assert reader.refresh(path) is True  # the visible problem changed
    assert reader.refresh(path) is False
    assert reader.entries[path].status == "busy"  # still the last good value
    path.write_text(entry_json(12, status="idle"))
    assert reader.refresh(path) is True
    assert reader.problem(path) is None
    # A new run of failures starts a new 2 s period.
    path.write_text("")
    clock.now += 10
    reader.refresh(path)
    assert reader.problem(path) is None
    clock.now += 2.5
    assert reader.problem(path) == "empty file"


def test_file_bad_from_the_start(reg: Path):
    clock = FakeClock()
    path = reg / "12.json"
    path.write_bytes(b'{"pid":12,"name":"\xff"}')
    reader = RegistryReader(reg, clock=clock)
    assert reader.scan() == set()
    assert reader.paths() == {path}
    assert path not in reader.entries
    assert reader.problem(path) is None
    clock.now += 3
    assert reader.scan() == {path}
    assert reader.problem(path) == "invalid UTF-8"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("0.json", "{}", "invalid pid"),
        ("99999999999.json", "{}", "invalid pid"),
        ("12.json", '{"pid":-12}', "invalid pid"),
        ("12.json", '{"pid":13}', "pid field 13 disagrees with file name 12"),
        ("12.json", "[1]", "not a JSON object"),
    ],
)
def test_reader_reports_bad_files(reg: Path, name: str, content: str, reason: str):
    clock = FakeClock()
    (reg / name).write_text(content)
    reader = RegistryReader(reg, clock=clock)
    reader.scan()
    assert reader.entries == {}
    clock.now += 2.5
    reader.scan()
    assert reader.problem(reg / name) == reason


def test_scan_rejects_50_mb_file(reg: Path):
    clock = FakeClock()
    path = reg / "12.json"
    with path.open("wb") as f:
        f.truncate(50 * 1024 * 1024)
    (reg / "34.json").write_text(entry_json(34))
    reader = RegistryReader(reg, clock=clock)
    reader.scan()
    clock.now += 3
    reader.scan()
    assert reader.problem(path) == "too large (50.0 MB)"
    assert set(reader.entries) == {reg / "34.json"}


def test_scan_forgets_deleted_files(reg: Path):
    path = reg / "12.json"
    path.write_text(entry_json(12))
    reader = RegistryReader(reg)
    reader.scan()
    path.unlink()
    assert reader.scan() == {path}
    assert reader.entries == {}
    assert reader.paths() == set()


def test_refresh(reg: Path, tmp_path: Path):
    path = reg / "12.json"
    path.write_text(entry_json(12, name="a"))
    reader = RegistryReader(reg)
    assert reader.refresh(path) is True
    assert reader.refresh(path) is False  # same content
    path.write_text(entry_json(12, name="b"))
    assert reader.refresh(path) is True
    assert reader.entries[path].name == "b"
    path.unlink()
    assert reader.refresh(path) is True  # forgotten
    assert reader.refresh(path) is False
    assert reader.paths() == set()
    (reg / "notes.txt").write_text("{}")
    assert reader.refresh(reg / "notes.txt") is False
    elsewhere = tmp_path / "12.json"
    elsewhere.write_text(entry_json(12))
    assert reader.refresh(elsewhere) is False
    assert reader.paths() == set()


def test_scan_ignores_symlinks_and_leaves_targets(reg: Path, tmp_path: Path):
    target = tmp_path / "elsewhere.json"
    target.write_text(entry_json(12, name="target"))
    before = target.read_bytes()
    (reg / "12.json").symlink_to(target)
    (reg / "13.json").symlink_to(tmp_path / "dangling.json")
    (reg / "14.json").symlink_to(reg)
    reader = RegistryReader(reg)
    assert reader.scan() == set()
    assert reader.entries == {}
    assert reader.paths() == set()
    assert reader.refresh(reg / "12.json") is False
    with pytest.raises(RegistryParseError):
        write_name(reg / "12.json", "renamed")
    with pytest.raises(SessiontuiError):
        remove_dead_entry(reg / "12.json", None)
    assert target.read_bytes() == before
    assert (reg / "12.json").is_symlink()


def test_file_replaced_by_symlink_is_forgotten(reg: Path, tmp_path: Path):
    path = reg / "12.json"
    path.write_text(entry_json(12))
    reader = RegistryReader(reg)
    reader.scan()
    path.unlink()
    target = tmp_path / "t.json"
    target.write_text(entry_json(12))
    path.symlink_to(target)
    assert reader.refresh(path) is True
    assert reader.paths() == set()


def test_missing_directory(tmp_path: Path):
    reader = RegistryReader(tmp_path / "nope")
    assert reader.scan() == set()
    assert reader.entries == {}
    assert reader.directory_problem is not None
    assert "does not exist" in reader.directory_problem


def test_directory_deleted_and_recreated_between_scans(reg: Path):
    (reg / "12.json").write_text(entry_json(12))
    reader = RegistryReader(reg)
    reader.scan()
    shutil.rmtree(reg)
    assert reader.scan() == {reg / "12.json"}
    assert reader.entries == {}
    assert reader.directory_problem == f"{reg} does not exist"
    reg.mkdir()
    (reg / "34.json").write_text(entry_json(34))
    assert reader.scan() == {reg / "34.json"}
    assert reader.directory_problem is None


def test_registry_path_is_a_file(tmp_path: Path):
    path = tmp_path / "sessions"
    path.write_text("not a directory")
    reader = RegistryReader(path)
    assert reader.scan() == set()
    assert reader.directory_problem is not None
    assert path.read_text() == "not a directory"


def test_unreadable_directory(reg: Path):
    (reg / "12.json").write_text(entry_json(12, name="a"))
    reader = RegistryReader(reg)
    reader.scan()
    reg.chmod(0)
    try:
        changed = reader.scan()
        if os.geteuid() == 0:
            # root reads a mode-000 directory (CAP_DAC_OVERRIDE): nothing changes.
            assert changed == set()
            assert reader.directory_problem is None
        else:
            assert changed == set()
            assert reader.directory_problem is not None
            assert "cannot list" in reader.directory_problem
        assert reader.entries[reg / "12.json"].name == "a"  # last entries kept either way
    finally:
        reg.chmod(0o700)


def test_thousands_of_files_scan_once(reg: Path):
    for pid in range(100, 2100):
        path = reg / f"{pid}.json"
        path.write_text(entry_json(pid, name=f"s{pid}", status="idle"))
        make_old(path)
    reader = RegistryReader(reg)
    changed = reader.scan()
    assert len(changed) == 2000
    assert len(reader.entries) == 2000
    reads = reader.reads
    assert reader.scan() == set()
    assert reader.reads == reads  # nothing re-read: (mtime, size, inode) unchanged
    edited = reg / "777.json"
    edited.write_text(entry_json(777, name="edited", status="busy"))
    make_old(edited)
    assert reader.scan() == {edited}
    assert reader.reads == reads + 1
    assert reader.entries[edited].name == "edited"


def test_same_size_rewrite_within_one_timestamp_tick_is_seen(reg: Path):
    path = reg / "12.json"
    path.write_text(entry_json(12, status="busy"))
    reader = RegistryReader(reg)
    reader.scan()
    mtime_ns = path.stat().st_mtime_ns
    inode = path.stat().st_ino
    with path.open("r+") as f:  # in place, same size, same inode, same mtime
        f.write(entry_json(12, status="idle"))
    os.utime(path, ns=(mtime_ns, mtime_ns))
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (inode, mtime_ns)
    assert reader.scan() == {path}
    assert reader.entries[path].status == "idle"


# --- validate_name ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  my session  ", "my session"),
        ("[bold]x[/bold]", "[bold]x[/bold]"),  # markup is text: rendering escapes it
        ("café 日本 🚀", "café 日本 🚀"),
        ("x" * 100, "x" * 100),
        ("\n\tname\n", "name"),
    ],
)
def test_validate_name_accepts(raw: str, clean: str):
    assert validate_name(raw) == clean


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "x" * 101,
        HOSTILE_NAME,
        "a\x1bb",
        "a\nb",
        "a\x7fb",
        "a\x00b",
        "a\u202eb",  # right-to-left override
        "a\u2066b",  # left-to-right isolate
        "a\u200bb",  # zero-width space
        "a\u2028b",  # line separator
        "a\x9bb",  # C1 CSI
    ],
)
def test_validate_name_rejects(raw: str):
    with pytest.raises(InvalidName):
        validate_name(raw)


# --- write_name ---------------------------------------------------------------------------


def temp_files(directory: Path) -> list[str]:
    """Leftover temp files of write_name (``.<pid>.json.<random>.tmp``)."""
    return sorted(
        p.name for p in directory.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")
    )


def test_write_name_keeps_other_keys_and_order(
    reg: Path, bystanders: dict[Path, tuple[bytes, int]]
):
    path = reg / "25673.json"
    path.write_text(EXAMPLE)
    path.chmod(0o644)
    write_name(path, "  renamed  ")
    text = path.read_text()
    assert "\n" not in text
    assert " " not in text.replace("dialog open", "")  # compact
    obj = json.loads(text)
    original = json.loads(EXAMPLE)
    del original["nameSource"]
    original["name"] = "renamed"
    assert list(obj.items()) == list(original.items())  # same keys, same order
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert temp_files(reg) == []
    entry = read_entry(path)
    assert entry.name == "renamed"
    assert entry.name_source is None
    assert len(bystanders) == len(NON_SESSION_FILES)


def test_write_name_appends_missing_name_and_keeps_mode(reg: Path):
    path = reg / "12.json"
    path.write_text('{"pid":12,"zeta":[1,{"b":2}],"alpha":null}')
    path.chmod(0o600)
    write_name(path, "日本")
    assert path.read_bytes() == '{"pid":12,"zeta":[1,{"b":2}],"alpha":null,"name":"日本"}'.encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_write_name_rejects_bad_names_and_leaves_file(reg: Path):
    path = reg / "12.json"
    path.write_text(EXAMPLE.replace("25673", "12"))
    before = path.read_bytes()
    for bad in ("", HOSTILE_NAME, "x" * 101):
        with pytest.raises(InvalidName):
            write_name(path, bad)
    assert path.read_bytes() == before


@pytest.mark.parametrize("content", ["[1,2]", "12", '"x"'])
def test_write_name_refuses_non_object(reg: Path, content: str):
    path = reg / "12.json"
    path.write_text(content)
    with pytest.raises(RegistryParseError, match="not a JSON object"):
        write_name(path, "n")
    assert path.read_text() == content
    assert temp_files(reg) == []


def test_write_name_gives_up_on_a_file_that_stays_half_written(reg: Path):
    path = reg / "12.json"
    path.write_text('{"pid":12')
    with pytest.raises(RegistryParseError, match="not JSON"):
        write_name(path, "n")
    assert path.read_text() == '{"pid":12'
    assert temp_files(reg) == []


def test_write_name_to_missing_file(reg: Path):
    with pytest.raises(FileNotFoundError):
        write_name(reg / "12.json", "n")
    assert list(reg.iterdir()) == []


@pytest.mark.parametrize("name", NON_SESSION_FILES)
def test_write_name_refuses_non_session_files(
    reg: Path, bystanders: dict[Path, tuple[bytes, int]], name: str
):
    with pytest.raises(SessiontuiError):
        write_name(reg / name, "n")
    assert reg / name in bystanders  # the fixture checks it is untouched


def test_write_name_while_claude_rewrites_the_file(reg: Path):
    """Claude Code truncates then writes: write_name waits for the complete content."""
    path = reg / "12.json"
    path.write_text(entry_json(12, name="old", nameSource="derived", status="idle"))
    new = entry_json(12, name="old", nameSource="derived", status="busy", waitingFor="x")
    half = len(new) // 2
    done = threading.Event()

    def claude_write() -> None:
        with path.open("w") as f:  # truncate-and-write, in two steps
            f.write(new[:half])
            f.flush()
            time.sleep(0.1)
            f.write(new[half:])
        done.set()

    writer = threading.Thread(target=claude_write)
    writer.start()
    try:
        wait_until(lambda: done.is_set() or path.read_text() == new[:half])
        half_written_seen = not done.is_set()
        write_name(path, "mine")
    finally:
        writer.join()
    obj = json.loads(path.read_text())
    assert obj == {"pid": 12, "name": "mine", "status": "busy", "waitingFor": "x"}
    assert temp_files(reg) == []
    if not half_written_seen:
        pytest.skip("the half-written state passed before the test could see it")


def test_write_name_non_ascii_escapes_survive(reg: Path):
    path = reg / "12.json"
    path.write_text('{"pid":12,"note":"\\ud800","cwd":"/tmp/é"}')
    write_name(path, "n")
    obj = json.loads(path.read_text())
    assert obj == {"pid": 12, "note": "\ud800", "cwd": "/tmp/é", "name": "n"}


# --- remove_dead_entry ----------------------------------------------------------------------


def test_remove_dead_entry_refuses_live_process(reg: Path, sleeper: subprocess.Popen[bytes]):
    start = read_proc_start(sleeper.pid)
    path = reg / f"{sleeper.pid}.json"
    path.write_text(entry_json(sleeper.pid, procStart=start))
    with pytest.raises(SessiontuiError, match=f"process {sleeper.pid} is still alive"):
        remove_dead_entry(path, start)
    with pytest.raises(SessiontuiError, match="still alive"):
        remove_dead_entry(path, None)
    assert path.exists()


@pytest.mark.skipif(sys.platform != "linux", reason="procStart in /proc format")
def test_remove_dead_entry_refuses_when_file_now_names_the_live_process(
    reg: Path, sleeper: subprocess.Popen[bytes]
):
    # The caller knew an old process with this PID; a new one has rewritten the file since.
    start = read_proc_start(sleeper.pid)
    assert start is not None
    path = reg / f"{sleeper.pid}.json"
    path.write_text(entry_json(sleeper.pid, procStart=start))
    with pytest.raises(SessiontuiError, match="still alive"):
        remove_dead_entry(path, str(int(start) - 1))
    assert path.exists()


def test_remove_dead_entry_removes_dead(reg: Path, bystanders: dict[Path, tuple[bytes, int]]):
    pid = dead_pid()
    path = reg / f"{pid}.json"
    path.write_text(entry_json(pid, procStart="12345"))
    remove_dead_entry(path, "12345")
    assert not path.exists()
    assert len(bystanders) == len(NON_SESSION_FILES)


@pytest.mark.skipif(sys.platform != "linux", reason="procStart in /proc format")
def test_remove_dead_entry_removes_entry_whose_pid_was_reused(
    reg: Path, sleeper: subprocess.Popen[bytes]
):
    start = read_proc_start(sleeper.pid)
    assert start is not None
    old = str(int(start) - 1)
    path = reg / f"{sleeper.pid}.json"
    path.write_text(entry_json(sleeper.pid, procStart=old))
    remove_dead_entry(path, old)
    assert not path.exists()
    assert sleeper.poll() is None


def test_remove_dead_entry_of_half_written_file_uses_callers_start(reg: Path):
    pid = dead_pid()
    path = reg / f"{pid}.json"
    path.write_text('{"pid":')
    remove_dead_entry(path, None)
    assert not path.exists()


@pytest.mark.parametrize("name", NON_SESSION_FILES)
def test_remove_dead_entry_refuses_non_session_files(
    reg: Path, bystanders: dict[Path, tuple[bytes, int]], name: str
):
    with pytest.raises(SessiontuiError, match="not a session file"):
        remove_dead_entry(reg / name, None)
    assert (reg / name).exists()


def test_remove_dead_entry_refuses_directory(reg: Path):
    pid = dead_pid()
    (reg / f"{pid}.json").mkdir()
    with pytest.raises(SessiontuiError, match="not a regular file"):
        remove_dead_entry(reg / f"{pid}.json", None)
    assert (reg / f"{pid}.json").is_dir()


def test_remove_dead_entry_missing_file(reg: Path):
    with pytest.raises(FileNotFoundError):
        remove_dead_entry(reg / f"{dead_pid()}.json", None)


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def _strict_json(data: bytes) -> object:
    """The reference: strict ``json`` (NaN and Infinity refused), as the reader documents."""

    def refuse(name: str) -> object:
        raise ValueError(name)

    return json.loads(data.decode("utf-8"), parse_constant=refuse)


@given(
    st.one_of(
        _JSON_VALUES.map(lambda v: json.dumps(v).encode()),
        _JSON_VALUES.map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
        st.binary(max_size=40),
        st.sampled_from(
            [b'{"a": "\\ud800"}', b'{"a": 1e999}', b"\xef\xbb\xbf{}", b'{"a":1,"a":2}', b"[1e400]"]
        ),
    )
)
def test_decoding_gives_what_strict_json_gives(data: bytes) -> None:
    try:
        expected: object = ("value", _strict_json(data))
    except (ValueError, RecursionError):
        expected = ("error",)
    if not data.strip():
        expected = ("error",)
    try:
        got: object = ("value", decode_json_object(data))
    except RegistryParseError:
        got = ("error",)
    if expected[0] == "value" and not isinstance(expected[1], dict):  # type: ignore[index]
        expected = ("error",)
    assert repr(got) == repr(expected)


_KNOWN_KEYS = (
    "pid",
    "sessionId",
    "cwd",
    "startedAt",
    "procStart",
    "status",
    "updatedAt",
    "tmux",
    "spare",
    "formerNames",
    "name",
)
_FIELD_VALUES = st.one_of(
    _JSON_VALUES,
    st.integers(min_value=-2, max_value=253_402_300_800_001),
    st.sampled_from(["busy", "waiting", "nope", "w:@1.%2", "w:1.2", 77, 1 << 70, True, None]),
    st.lists(st.one_of(st.text(max_size=150), st.integers()), max_size=25),
)


@settings(max_examples=150)
@given(
    st.dictionaries(
        st.one_of(st.sampled_from(_KNOWN_KEYS), st.text(max_size=6)), _FIELD_VALUES, max_size=8
    )
)
def test_schema_decoding_gives_what_the_field_by_field_checks_give(obj: dict[str, object]) -> None:
    """The msgspec schema (the fast path) and the Python checks agree on every object."""
    from sessiontui.model.registry import _parse_object

    path = Path("/reg/77.json")
    try:
        data = json.dumps(obj, allow_nan=False).encode()
    except ValueError:
        assume(False)  # NaN and Infinity are not JSON; other tests cover their refusal

    def outcome(parse: Callable[[], object]) -> object:
        try:
            return ("entry", parse())
        except RegistryParseError as error:
            return ("error", str(error))

    assert outcome(lambda: parse_entry(path, data)) == outcome(
        lambda: _parse_object(path, 77, json.loads(data))
    )
