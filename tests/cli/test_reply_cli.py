"""``sessiontui send``, ``approve``, ``deny``, ``interrupt`` as a user runs them (real processes).

The happy paths run against the real Claude Code (``tests/e2e/test_claude_reply.py``), a
real Zellij (``tests/mux/test_zellij_reply.py``) and real tmux panes (``tests/model/``); here,
the usage errors and refusals a script must be able to tell apart by exit code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from tests.helpers import run_cli, write_entry

if TYPE_CHECKING:
    import subprocess
    from pathlib import Path


@pytest.mark.parametrize(
    "args",
    [
        ("send",),
        ("send", "alpha"),  # no text
        ("approve",),
        ("deny", "a", "b"),
        ("interrupt",),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    assert "usage: sessiontui" in result.stderr


def test_refusals_exit_1_and_say_why(registry: Path, sleeper: subprocess.Popen[bytes]) -> None:
    # A live agent outside any pane, waiting for a permission: nothing can be typed to it.
    write_entry(
        registry, sleeper.pid, name="alpha", status="waiting", waitingFor="permission prompt"
    )
    where = ("--sessions-dir", str(registry), "--no-zellij", "--no-codex", "--no-discover")

    for verb in ("approve", "deny"):
        result = run_cli(verb, "alpha", *where)
        assert result.returncode == 1
        assert "runs in no terminal pane" in result.stderr
    result = run_cli("interrupt", "alpha", *where)
    assert result.returncode == 1
    assert "only a busy turn is interrupted" in result.stderr
    result = run_cli("send", "alpha", "hello", *where)
    assert result.returncode == 1
    assert "runs in no terminal pane" in result.stderr
    result = run_cli("approve", "nobody", *where)
    assert result.returncode == 1
    assert "nobody" in result.stderr
