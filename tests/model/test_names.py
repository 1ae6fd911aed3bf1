"""Tests for sessiontui.model.names: persistent names keyed by sessionId."""

from __future__ import annotations

import json
import os
import stat
import threading
from typing import TYPE_CHECKING

import pytest

from sessiontui.errors import InvalidName
from sessiontui.model.names import (
    MAX_ENTRIES,
    NameStore,
    NameStoreError,
    adopt_user_name,
    default_names_path,
    name_to_apply,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

SID_A = "534ded02-9aa5-4594-8426-d954ad357ae6"
SID_B = "11111111-2222-3333-4444-555555555555"
SID_C = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


class Clock:
    """A settable millisecond clock, advanced by one on every read."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self.now_ms = start_ms

    def __call__(self) -> int:
        self.now_ms += 1
        return self.now_ms


def write_state(path: Path, names: Mapping[str, object], version: object = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": version, "names": names}), encoding="utf-8")


def corrupt_files(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".corrupt-*"))


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "sessiontui" / "names.json"


# -- paths ------------------------------------------------------------------------------


def test_default_path_is_in_the_xdg_state_dir(tmp_path: Path) -> None:
    # tests/conftest.py points XDG_STATE_HOME at tmp_path / "state".
    assert default_names_path() == tmp_path / "state" / "sessiontui" / "names.json"


# -- round trip, restart ----------------------------------------------------------------


def test_names_survive_a_restart(state_path: Path) -> None:
    store = NameStore(state_path)
    assert store.get(SID_A) is None
    assert not state_path.exists()  # reading never creates the file
    store.set(SID_A, "  refactor auth  ")
    store.set(SID_B, "docs ✍")
    assert store.get(SID_A) == "refactor auth"

    again = NameStore(state_path)
    assert again.get(SID_A) == "refactor auth"
    assert again.get(SID_B) == "docs ✍"
    assert len(again) == 2
    assert again.problem is None

    data = json.loads(state_path.read_text(encoding="utf-8"))
    assert data["version"] == 1
    assert data["names"][SID_A]["name"] == "refactor auth"
    assert isinstance(data["names"][SID_A]["set_at_ms"], int)


def test_file_is_private_and_parent_dirs_are_0700(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "deeper" / "names.json"
    NameStore(path).set(SID_A, "x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["names.json"]  # no temp file left


def test_forget_is_saved(state_path: Path) -> None:
    store = NameStore(state_path)
    store.set(SID_A, "one")
    store.set(SID_B, "two")
    store.forget(SID_A)
    store.forget("never-stored")
    assert store.get(SID_A) is None
    again = NameStore(state_path)
    assert again.get(SID_A) is None
    assert again.get(SID_B) == "two"


def test_alias_keeps_the_name_after_clear(state_path: Path) -> None:
    store = NameStore(state_path)
    store.set(SID_A, "api work")
    store.alias(SID_A, SID_B)
    assert store.get(SID_B) == "api work"
    assert store.get(SID_A) == "api work"  # copied, not moved
    store.alias(SID_C, SID_A)  # no name under SID_C: nothing changes
    assert store.get(SID_A) == "api work"
    assert NameStore(state_path).get(SID_B) == "api work"


def test_alias_replaces_a_different_name(state_path: Path) -> None:
    store = NameStore(state_path)
    store.set(SID_A, "new")
    store.set(SID_B, "old")
    store.alias(SID_A, SID_B)
    assert NameStore(state_path).get(SID_B) == "new"


def test_two_processes_saving_merge_instead_of_losing_names(state_path: Path) -> None:
    first = NameStore(state_path)
    second = NameStore(state_path)
    first.set(SID_A, "from first")
    second.set(SID_B, "from second")  # second loaded before first saved
    third = NameStore(state_path)
    assert third.get(SID_A) == "from first"
    assert third.get(SID_B) == "from second"


def test_forget_is_not_undone_by_merging(state_path: Path) -> None:
    first = NameStore(state_path)
    first.set(SID_A, "a")
    second = NameStore(state_path)
    assert second.get(SID_A) == "a"
    second.forget(SID_A)
    assert NameStore(state_path).get(SID_A) is None


# -- hostile input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["", "   ", "evil\x1b]0;title\x07", "line\nbreak", "bidi\u202eevil", "x" * 101],
)
def test_hostile_names_are_rejected(state_path: Path, name: str) -> None:
    store = NameStore(state_path)
    with pytest.raises(InvalidName):
        store.set(SID_A, name)
    assert store.get(SID_A) is None
    assert not state_path.exists()


def test_rich_markup_is_stored_as_plain_text(state_path: Path) -> None:
    NameStore(state_path).set(SID_A, "[bold]x[/bold]")
    assert NameStore(state_path).get(SID_A) == "[bold]x[/bold]"


@pytest.mark.parametrize("session_id", ["", "has space", "ctl\x1b", "é", "x" * 201])
def test_invalid_session_ids_are_rejected(state_path: Path, session_id: str) -> None:
    store = NameStore(state_path)
    with pytest.raises(ValueError, match="invalid session id"):
        store.set(session_id, "ok")
    assert len(store) == 0


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b"[1, 2]",
        b'{"version": 2, "names": {}}',
        b'{"version": true, "names": {}}',
        b'{"version": 1, "names": []}',
        b'{"version": 1, "names": {}, "x": NaN}',
        b"\xff\xfe\x00garbage",
        b"[" * 100_000,
    ],
    ids=["empty", "syntax", "array", "v2", "bool-version", "names-list", "nan", "utf8", "deep"],
)
def test_corrupt_file_is_moved_aside_before_the_first_save(
    state_path: Path, content: bytes
) -> None:
    state_path.parent.mkdir(parents=True)
    state_path.write_bytes(content)
    store = NameStore(state_path)
    assert store.get(SID_A) is None
    assert store.problem is not None
    assert "moved aside" in store.problem
    assert state_path.read_bytes() == content  # reading alone changes nothing
    assert corrupt_files(state_path) == []

    store.set(SID_A, "fresh")
    aside = corrupt_files(state_path)
    assert len(aside) == 1
    assert aside[0].read_bytes() == content
    assert aside[0].name in (store.problem or "")
    assert NameStore(state_path).get(SID_A) == "fresh"


def test_invalid_entries_are_skipped_and_the_original_kept(state_path: Path) -> None:
    names = {
        SID_A: {"name": "good", "set_at_ms": 5},
        SID_B: {"name": "evil\x1b[31m", "set_at_ms": 6},
        SID_C: {"name": "no time"},
        "bad id\n": {"name": "x", "set_at_ms": 7},
        "x" * 10: {"name": "neg", "set_at_ms": -1},
        "y" * 10: {"name": "bool", "set_at_ms": True},
        "z" * 10: "not an object",
    }
    write_state(state_path, names)
    original = state_path.read_bytes()
    store = NameStore(state_path)
    assert store.get(SID_A) == "good"
    assert store.get(SID_B) is None
    assert len(store) == 1
    assert store.problem is not None
    assert "6 invalid entries" in store.problem

    store.set(SID_C, "new")
    assert [p.read_bytes() for p in corrupt_files(state_path)] == [original]
    again = NameStore(state_path)
    assert again.get(SID_A) == "good"
    assert again.get(SID_C) == "new"
    assert again.problem is None


def test_huge_file_is_not_read(state_path: Path) -> None:
    state_path.parent.mkdir(parents=True)
    with state_path.open("wb") as handle:
        handle.write(b'{"version": 1, "names": {}, "pad": "')
        handle.write(b"x" * (5 << 20))
        handle.write(b'"}')
    store = NameStore(state_path)
    assert len(store) == 0
    assert "too large" in (store.problem or "")
    store.set(SID_A, "x")
    assert len(corrupt_files(state_path)) == 1
    assert corrupt_files(state_path)[0].stat().st_size > 5 << 20


def test_symlink_is_not_followed_nor_its_target_overwritten(
    state_path: Path, tmp_path: Path
) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("do not touch", encoding="utf-8")
    state_path.parent.mkdir(parents=True)
    state_path.symlink_to(target)
    store = NameStore(state_path)
    assert "symbolic link" in (store.problem or "")
    store.set(SID_A, "x")
    assert target.read_text(encoding="utf-8") == "do not touch"
    assert not state_path.is_symlink()
    assert [p.is_symlink() for p in corrupt_files(state_path)] == [True]


def test_fifo_does_not_block(state_path: Path) -> None:
    state_path.parent.mkdir(parents=True)
    os.mkfifo(state_path)
    store = NameStore(state_path)
    assert store.get(SID_A) is None
    assert "not a regular file" in (store.problem or "")


def test_failed_save_raises_and_keeps_the_name_for_this_run(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the state directory should be", encoding="utf-8")
    store = NameStore(blocker / "names.json")
    with pytest.raises(NameStoreError, match="cannot save names"):
        store.set(SID_A, "kept")
    assert store.get(SID_A) == "kept"
    assert "cannot save names" in (store.problem or "")
    assert blocker.read_text(encoding="utf-8").startswith("a file")


# -- bound ------------------------------------------------------------------------------


def test_at_most_max_entries_are_kept_oldest_dropped(state_path: Path) -> None:
    total = MAX_ENTRIES + 50
    # Written newest first, so file order and age disagree.
    names = {
        f"sid-{i:05d}": {"name": f"n{i}", "set_at_ms": 1000 + i} for i in reversed(range(total))
    }
    write_state(state_path, names)
    store = NameStore(state_path, clock_ms=Clock(start_ms=10_000))
    assert len(store) == MAX_ENTRIES
    assert store.get("sid-00049") is None  # the 50 oldest are gone
    assert store.get("sid-00050") == "n50"
    assert store.problem is None  # bounding is not a problem

    store.set("sid-new", "newest")
    assert len(store) == MAX_ENTRIES
    assert store.get("sid-00050") is None  # the next-oldest made room
    again = NameStore(state_path)
    assert len(again) == MAX_ENTRIES
    assert again.get("sid-new") == "newest"
    assert again.get(f"sid-{total - 1:05d}") == f"n{total - 1}"


# -- threads ----------------------------------------------------------------------------


def test_concurrent_sets_from_threads_lose_nothing(state_path: Path) -> None:
    store = NameStore(state_path)
    threads_n, per_thread = 8, 10
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                store.set(f"sid-{t}-{i}", f"name {t}/{i}")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(store) == threads_n * per_thread
    again = NameStore(state_path)
    assert len(again) == threads_n * per_thread
    assert again.get("sid-7-9") == "name 7/9"
    assert [p.name for p in state_path.parent.iterdir()] == ["names.json"]


# -- decisions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("registry_name", "name_source", "stored", "apply", "adopt"),
    [
        # derived (automatic) registry name
        ("my-proj-dir-67", "derived", "mine", "mine", False),
        ("my-proj-dir-67", "derived", None, None, False),
        ("mine", "derived", "mine", None, False),
        # no registry name at all
        (None, None, "mine", "mine", False),
        ("", None, "mine", "mine", False),
        (None, "derived", "mine", "mine", False),
        (None, None, None, None, False),
        # set by the user with Claude's /rename (no nameSource)
        ("user pick", None, "mine", None, True),
        ("user pick", None, None, None, True),
        ("user pick", None, "user pick", None, False),
        ("evil\x1b]0;x\x07", None, "mine", None, False),  # never adopt hostile text
        # 2.1.3xx: --name and /rename write nameSource "user"; bg workers "peer"
        ("user pick", "user", "mine", None, True),
        ("user pick", "user", "user pick", None, False),
        ("worker", "peer", "mine", None, False),
        # unknown source: left alone, not adopted
        ("other", "something-new", "mine", None, False),
    ],
)
def test_name_to_apply_and_adopt_truth_table(
    registry_name: str | None,
    name_source: str | None,
    stored: str | None,
    apply: str | None,
    adopt: bool,
) -> None:
    assert name_to_apply(registry_name, name_source, stored) == apply
    assert adopt_user_name(registry_name, name_source, stored) is adopt


def test_reconcile_reapplies_then_adopts_a_user_rename(state_path: Path) -> None:
    store = NameStore(state_path)
    store.set(SID_A, "mine")
    # After --resume Claude writes a derived name again: ours is to be re-applied.
    assert store.reconcile(SID_A, "proj-12", "derived") == "mine"
    # Once written (write_name drops nameSource) nothing more to do.
    assert store.reconcile(SID_A, "mine", None) is None
    # The user renames in Claude: adopted, never overwritten.
    assert store.reconcile(SID_A, "theirs", None) is None
    assert NameStore(state_path).get(SID_A) == "theirs"
    assert store.reconcile(SID_A, "proj-12", "derived") == "theirs"
    # Unknown session: nothing stored, nothing to apply.
    assert store.reconcile(SID_B, "proj-12", "derived") is None
    assert store.reconcile("bad id", "user", None) is None
    assert store.get("bad id") is None
