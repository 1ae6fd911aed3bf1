"""The README's tmux status-bar examples, drawn by a real tmux client (README and test never drift).

Each ```tmux block of README.md that runs ``sessiontui status`` is loaded with ``source-file``
into the test's tmux server (the user's tmux). A real client of that server runs in a pane of a
second server (a pane is a terminal), so the status line is read from what the client drew
(``capture-pane`` of that pane), after tmux ran the ``#()`` command, expanded its output and drew
it. ``sessiontui`` on ``PATH`` is a wrapper that runs the code under test; it adds ``--no-codex``
because other people's Codex processes on a shared machine would be counted. The first example
also runs with the TUI open in the user's tmux: the line then comes from the summary the TUI
publishes, through tmux's own environment for ``#()`` commands.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import stat
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import libtmux
import psutil
import pytest
from tests.helpers import wait_until, write_entry

if TYPE_CHECKING:
    from collections.abc import Iterator

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_status_blocks() -> list[list[str]]:
    """The lines of each README ```tmux block that runs ``sessiontui status``, comments left out."""
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^```tmux\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)
    found = [
        [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
        for block in blocks
        if "sessiontui status" in block
    ]
    assert len(found) == 2, "README.md should show two status-bar examples"
    return found


class Bar:
    """The user's tmux server with the README's settings and one real client drawing it."""

    def __init__(self, server: libtmux.Server, registry: Path, tmp_path: Path) -> None:
        self.server = server
        self.registry = registry
        self.tmp_path = tmp_path
        self.outer = libtmux.Server(socket_name=f"sessiontui-outer-{uuid.uuid4().hex[:8]}")
        self.pane = ""

    def load(self, lines: list[str]) -> None:
        """``source-file`` the given configuration lines into the user's server."""
        conf = self.tmp_path / f"status-{uuid.uuid4().hex[:6]}.conf"
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        loaded = self.server.cmd("source-file", str(conf))
        assert loaded.returncode == 0, loaded.stderr

    def attach(self) -> None:
        """A real UTF-8 client of the user's server, 120 columns wide, in an outer pane."""
        command = (
            "env -u TMUX -u TMUX_PANE TERM=xterm-256color LANG=C.UTF-8 "
            f"tmux -u -L {shlex.quote(self.server.socket_name or '')} attach-session -t =home"
        )
        created = self.outer.new_session("desk", window_command=command, x=120, y=10)
        pane = created.active_window.active_pane
        assert pane is not None
        self.pane = pane.pane_id or ""

    def status_line(self) -> str:
        """The last line the client drew: its status line."""
        lines = self.outer.cmd("capture-pane", "-p", "-t", self.pane).stdout
        return lines[-1] if lines else ""

    def shows(self, text: str, timeout_s: float = 15.0) -> str:
        """Wait until the status line contains ``text``; return the line."""
        return wait_until(
            lambda: self.status_line() if text in self.status_line() else None,
            timeout_s,
            f"{text!r} in the status line (last: {self.status_line()!r})",
        )

    def close(self) -> None:
        if self.outer.is_alive():
            self.outer.kill()


@pytest.fixture
def bar(server: libtmux.Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bar]:
    """The user's tmux (started with ``sessiontui`` on PATH) and a registry, no client yet."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "sessiontui"
    wrapper.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m sessiontui "$@" --no-codex\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    registry = Path(os.environ["CLAUDE_CONFIG_DIR"]) / "sessions"
    registry.mkdir(parents=True)
    # The user's server starts now, with this environment: its #() commands inherit it.
    server.new_session("home", window_command="cat", x=120, y=10)
    bar = Bar(server, registry, tmp_path)
    try:
        yield bar
    finally:
        bar.close()


@pytest.fixture
def agents() -> Iterator[list[psutil.Popen]]:
    """Four live processes standing in for agents; killed at teardown."""
    procs = [psutil.Popen(["sleep", "300"]) for _ in range(4)]
    yield procs
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()
            proc.wait()


def test_readme_status_right_shows_the_counts(bar: Bar, agents):
    counts, _ = readme_status_blocks()
    for proc, status in zip(agents, ("waiting", "waiting", "busy", "shell"), strict=True):
        write_entry(bar.registry, proc.pid, name=f"agent-{proc.pid}", status=status)
    bar.load(counts)
    assert bar.server.cmd("show", "-gv", "status-interval").stdout == ["2"]
    bar.attach()
    line = bar.shows("◆2 ●1 ◐1")
    assert re.search(r"◆2 ●1 ◐1 \d\d:\d\d$", line), line  # then the clock, as configured
    write_entry(bar.registry, agents[0].pid, name="calm", status="idle")
    bar.shows("◆1 ●1 ○1 ◐1")  # within the status interval
    for proc in agents:
        proc.kill()
        proc.wait()

    def counts_gone() -> str | None:
        now = bar.status_line()
        return now if not any(glyph in now for glyph in "◆●○◐") else None

    line = wait_until(counts_gone, 15, "the counts to go when every agent is dead")
    assert re.search(r" \d\d:\d\d$", line), line  # only the clock is left


@pytest.fixture
def witness() -> Iterator[Path]:
    """A short path nothing should create (names are cut at 60 characters)."""
    path = Path("/tmp") / f"st-pwn-{uuid.uuid4().hex[:6]}"
    yield path
    path.unlink(missing_ok=True)


def test_readme_first_waiting_shows_hostile_names_literally(bar: Bar, agents, witness):
    _, first = readme_status_blocks()
    name = f"x#[fg=red]#{{session_name}}#S##(touch {witness})"
    write_entry(bar.registry, agents[0].pid, name=name, status="waiting", statusUpdatedAt=1000)
    write_entry(bar.registry, agents[1].pid, name="later", status="waiting")
    bar.load(first)
    bar.attach()
    line = bar.shows("2 waiting ")
    # The name as it is in the file: no style, no format, no command taken from it.
    assert line.rstrip().endswith(f"2 waiting {name}"), line
    time.sleep(2.5)  # another status interval: whatever the line ran has had time to run
    assert not witness.exists()


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private ``XDG_RUNTIME_DIR`` (mode 0700); ask for it before ``bar`` (tmux inherits it)."""
    directory = Path(tempfile.mkdtemp(prefix="st-run-", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(directory))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def test_readme_status_right_with_the_tui_open_reads_its_summary(
    runtime: Path, bar: Bar, agents, tmp_path
):
    """With the TUI open in the user's tmux, the status line comes from its published summary."""
    counts, _ = readme_status_blocks()
    for proc, status in zip(agents, ("waiting", "waiting", "busy", "shell"), strict=True):
        write_entry(bar.registry, proc.pid, name=f"agent-{proc.pid}", status=status)
    log = tmp_path / "imports.log"
    wrapper = tmp_path / "bin" / "sessiontui"  # the same command, which records its imports
    wrapper.write_text(
        f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -X importtime -m sessiontui "
        f'"$@" --no-codex 2>>{shlex.quote(str(log))}\n'
    )
    tui = f"env TERM=xterm-256color {shlex.quote(sys.executable)} -m sessiontui --no-codex"
    bar.server.new_session("tui", window_command=tui, x=120, y=40)
    published = runtime / "sessiontui"
    wait_until(lambda: list(published.glob("status-*.json")), 20, "the TUI's summary")
    bar.load(counts)
    bar.attach()
    bar.shows("◆2 ●1 ◐1")
    write_entry(bar.registry, agents[0].pid, name="calm", status="idle")
    bar.shows("◆1 ●1 ○1 ◐1")
    imported = {line.rsplit("|", 1)[-1].strip() for line in log.read_text().splitlines()}
    assert "sessiontui.entry" in imported  # status ran …
    assert "sessiontui.cli" not in imported  # … and never needed the full read
    assert "psutil" not in imported
