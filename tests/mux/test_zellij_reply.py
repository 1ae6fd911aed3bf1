"""Approve and reply through the real Zellij: ``write-chars`` / ``send-keys --pane-id``.

The pane runs the key recorder (``tests.helpers.KEY_RECORDER``) showing a permission box captured
from Claude Code 2.1.197; a registry entry makes it a waiting Claude row of the real CLI, whose
``approve`` must read the box through ``dump-screen`` and type the box's own "Yes" digit into
exactly that pane.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tests.helpers import recorded, recorder_argv, run_cli, wait_until, write_entry
from tests.mux.test_zellij import ZellijEnv, needs_zellij, zenv  # noqa: F401
from tests.mux.test_zellij_in_the_list import use_world

if TYPE_CHECKING:
    import pytest

PANES = Path(__file__).parent.parent / "model" / "fixtures" / "panes"


def recorder_in_zellij(world: ZellijEnv, session: str, record: Path, **screens: Path) -> int:
    """Run the recorder in a new pane of ``session``; return its PID once it is ready."""
    result = world.zellij("-s", session, "run", "--", *recorder_argv(record, **screens))
    assert result.returncode == 0, result.stderr
    wait_until(lambda: Path(f"{record}.ready").exists(), 15.0, "the recorder")
    pid_of = [p for p in Path("/proc").iterdir() if p.name.isdigit()]
    for proc in pid_of:
        try:
            if str(record) in (proc / "cmdline").read_bytes().decode(errors="replace"):
                return int(proc.name)
        except OSError:
            continue
    raise AssertionError("the recorder's PID")


@needs_zellij
def test_approve_and_send_through_zellij(
    zenv: ZellijEnv,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_world(monkeypatch, zenv)
    registry = tmp_path / "sessions"
    zenv.start("zreply")
    asking = tmp_path / "asking.keys"
    pid = recorder_in_zellij(
        zenv,
        "zreply",
        asking,
        screen=PANES / "claude-197-permission-60x30.txt",
        after=PANES / "claude-197-busy-120x40.txt",
    )
    write_entry(registry, pid, name="zasking", status="waiting", waitingFor="permission prompt")
    idle = tmp_path / "idle.keys"
    other = recorder_in_zellij(zenv, "zreply", idle, screen=PANES / "claude-197-idle-120x40.txt")
    write_entry(registry, other, name="zidle", status="idle")

    approve = run_cli("approve", "zasking", "--sessions-dir", str(registry), "--no-codex")
    assert approve.returncode == 0, approve.stderr
    assert approve.stdout.split("\t")[:2] == ["approved", "1. Yes"]
    assert recorded(asking) == b"1"
    assert recorded(idle) == b""  # the other pane of the session got nothing

    refused = run_cli("approve", "zidle", "--sessions-dir", str(registry), "--no-codex")
    assert refused.returncode == 1
    assert "idle" in refused.stderr

    # After "--", words that look like options are the reply.
    sent = run_cli("send", "--sessions-dir", str(registry), "zidle", "--", "-x", "--not-an-option")
    assert sent.returncode == 0, sent.stderr
    wait_until(lambda: recorded(idle) == b"-x --not-an-option\r", 10.0, "the reply")
    assert recorded(asking) == b"1"
