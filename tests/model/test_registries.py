"""Several Claude registry directories as one source: real files, real processes, the real CLI."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from tests.helpers import run_cli, wait_until, write_entry

from sessiontui.model.monitor import Monitor, MonitorTiming
from sessiontui.model.registries import RegistrySet, default_registry_dirs

if TYPE_CHECKING:
    import subprocess
    from pathlib import Path

    import pytest


def test_default_dirs_are_config_dir_home_and_extra_without_duplicates(tmp_path: Path) -> None:
    env = {"CLAUDE_CONFIG_DIR": str(tmp_path / "work-claude"), "HOME": str(tmp_path / "home")}
    extra = [tmp_path / "other" / "sessions", tmp_path / "work-claude" / "sessions"]
    assert default_registry_dirs(extra, env) == [
        tmp_path / "work-claude" / "sessions",
        tmp_path / "home" / ".claude" / "sessions",
        tmp_path / "other" / "sessions",
    ]
    assert default_registry_dirs((), {"HOME": str(tmp_path)}) == [tmp_path / ".claude/sessions"]


def test_every_directory_is_read_watched_and_routed(
    tmp_path: Path, sleepers: list[subprocess.Popen[bytes]]
) -> None:
    one, two, missing = tmp_path / "a" / "sessions", tmp_path / "b" / "sessions", tmp_path / "c"
    write_entry(one, sleepers[0].pid, name="in-a", status="idle")
    write_entry(two, sleepers[1].pid, name="in-b", status="busy")
    dead = write_entry(two, 999_999, name="gone")
    monitor = Monitor(
        sessions_dir=[one, two, missing], timing=MonitorTiming(rescan_s=60.0), grace_s=1.0
    )
    with monitor:
        monitor.refresh()
        names = {s.name: s for s in monitor.snapshot.sessions}
        assert {"in-a", "in-b", "gone"} <= set(names)
        assert names["in-b"].registry_path == two / f"{sleepers[1].pid}.json"
        # A base the user never used is no warning while the others work.
        assert monitor.snapshot.messages == ()
        monitor.start()
        # A file appearing in the second directory arrives through its own watcher.
        write_entry(two, sleepers[2].pid, name="late", status="waiting")
        wait_until(
            lambda: any(s.name == "late" for s in monitor.snapshot.sessions), what="late entry"
        )
        # Dismiss deletes the dead file in its own directory only.
        monitor.dismiss(names["gone"].key)
        assert not dead.exists()
        assert (one / f"{sleepers[0].pid}.json").exists()


def test_registry_set_reports_a_missing_directory_only_when_none_works(tmp_path: Path) -> None:
    registries = RegistrySet([tmp_path / "x", tmp_path / "y"])
    registries.scan()
    assert registries.directory_problem is not None
    assert "does not exist" in registries.directory_problem
    (tmp_path / "y").mkdir()
    registries.scan()
    assert registries.directory_problem is None


def test_ls_lists_every_base_and_config_registry_dirs(
    tmp_path: Path, sleepers: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "claude-home"  # $CLAUDE_CONFIG_DIR (conftest)
    home_dir = tmp_path / "me"
    monkeypatch.setenv("HOME", str(home_dir))
    extra = tmp_path / "team" / "sessions"
    write_entry(config_dir / "sessions", sleepers[0].pid, name="from-config-dir")
    write_entry(home_dir / ".claude" / "sessions", sleepers[1].pid, name="from-home")
    write_entry(extra, sleepers[2].pid, name="from-extra")
    config = tmp_path / "config.toml"
    config.write_text(f'registry_dirs = ["{extra}"]\n')

    result = run_cli("ls", "--json", "--config", str(config), "--no-discover")
    assert result.returncode == 0, result.stderr
    # Codex sessions running elsewhere on this machine are listed too: look at Claude rows.
    rows = {row["name"]: row for row in json.loads(result.stdout) if row["agent"] == "claude"}
    assert set(rows) == {"from-config-dir", "from-home", "from-extra"}
    assert rows["from-extra"]["registry_path"] == os.fspath(extra / f"{sleepers[2].pid}.json")
    assert "not supported" not in result.stderr

    # --sessions-dir names the one registry to read.
    only = run_cli("ls", "--json", "--sessions-dir", str(extra), "--no-discover")
    assert {row["name"] for row in json.loads(only.stdout)} == {"from-extra"}


def test_entry_of_one_file_from_the_set_and_from_each_reader(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "sessions", tmp_path / "b" / "sessions"
    a = write_entry(first, 4_000_001, name="in-a")
    b = write_entry(second, 4_000_002, name="in-b")
    registries = RegistrySet([first, second])
    registries.scan()
    assert registries.entry(a).name == "in-a"  # type: ignore[union-attr]
    assert registries.entry(b).name == "in-b"  # type: ignore[union-attr]
    assert registries.entry(first / "4000002.json") is None  # the other directory's file
    assert registries.entry(tmp_path / "elsewhere" / "4000001.json") is None
    assert registries.readers[second].entry(b) == registries.entries[b]
    b.unlink()
    registries.scan()
    assert registries.entry(b) is None
