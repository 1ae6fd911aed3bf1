"""An isolated Zellij world for the benchmarks: real sessions whose panes run stand-in agents.

Its own ``ZELLIJ_SOCKET_DIR``, cache, config, HOME and TMPDIR under a short ``/tmp`` path (socket
paths must fit 108 bytes). The sessions' ``default_shell`` is a script that writes its PID to
``<root>/pids/<session>.<pane>.pid`` and ``exec``'s ``python3 -c 'time.sleep(900)'``: the pane
process *is* the agent, with ``ZELLIJ_PANE_ID`` in its environment, as a Claude started in a pane
is. Used by ``zellij.py`` and ``status_latency.py --zellij``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil

from benchlib import registry_entry, write_like_claude

AGENT = "import time; time.sleep(900)"

CONFIG = """\
show_startup_tips false
show_release_notes false
session_serialization true
disable_session_metadata false
default_shell "{shell}"
"""


class World:
    """An isolated Zellij world; the agents' PID files and the registry live in it too."""

    def __init__(self, zellij: str, *, count_calls: bool) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="zb", dir="/tmp"))
        for sub in ("s", "c", "h", "cfg/zellij", "t", "pids", "sessions", "bin"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.zellij = zellij
        self.pids = self.root / "pids"
        self.registry = self.root / "sessions"
        self.calls = self.root / "calls.log"
        shell = self.root / "bin" / "agent.sh"
        shell.write_text(
            "#!/bin/sh\n"
            f'echo $$ > "{self.pids}/$ZELLIJ_SESSION_NAME.$ZELLIJ_PANE_ID.tmp"\n'
            f'mv "{self.pids}/$ZELLIJ_SESSION_NAME.$ZELLIJ_PANE_ID.tmp" '
            f'"{self.pids}/$ZELLIJ_SESSION_NAME.$ZELLIJ_PANE_ID.pid"\n'
            f'exec {sys.executable} -c "{AGENT}"\n'
        )
        shell.chmod(0o755)
        (self.root / "cfg/zellij/config.kdl").write_text(CONFIG.format(shell=shell))
        self.wrapper = self.root / "bin" / "zellij"
        if count_calls:
            self.wrapper.write_text(
                f'#!/bin/sh\necho "$*" >> "{self.calls}"\nexec "{zellij}" "$@"\n'
            )
            self.wrapper.chmod(0o755)
        else:
            self.wrapper = Path(zellij)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("ZELLIJ", "XDG_"))}
        self.env.update(
            HOME=str(self.root / "h"),
            ZELLIJ_SOCKET_DIR=str(self.root / "s"),
            ZELLIJ_CONFIG_DIR=str(self.root / "cfg/zellij"),
            XDG_CONFIG_HOME=str(self.root / "cfg"),
            XDG_CACHE_HOME=str(self.root / "c"),
            TMPDIR=str(self.root / "t"),
            SHELL=str(shell),
        )
        self.env.pop("TMUX", None)
        self.env.pop("TMUX_PANE", None)

    def use(self) -> None:
        """Make this process see the world as a user's shell would (``make_muxset`` reads it)."""
        for key in ("ZELLIJ_SOCKET_DIR", "ZELLIJ_CONFIG_DIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
            os.environ[key] = self.env[key]
        for key in ("ZELLIJ", "ZELLIJ_PANE_ID", "ZELLIJ_SESSION_NAME", "TMUX", "TMUX_PANE"):
            os.environ.pop(key, None)
        os.environ["SESSIONTUI_ZELLIJ_BIN"] = str(self.wrapper)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the real zellij (not the counting wrapper) in this world."""
        return subprocess.run(
            [self.zellij, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def start(self, name: str) -> None:
        """``zellij attach --create-background NAME`` (returns once the server runs)."""
        result = self.run("attach", "--create-background", name)
        if result.returncode != 0:
            raise RuntimeError(f"zellij attach -b {name}: {result.stderr.strip()}")

    def agent_pid(self, name: str, pane: int = 0) -> int | None:
        """The PID of the agent in pane ``pane`` of session ``name``, once it has started."""
        try:
            return int((self.pids / f"{name}.{pane}.pid").read_text())
        except (OSError, ValueError):
            return None

    def register(self, pid: int, name: str) -> None:
        """Write ``<pid>.json`` like Claude Code (status idle)."""
        data = registry_entry(pid, name=name, status="idle", cwd=str(self.root))
        write_like_claude(self.registry / f"{pid}.json", data)

    def servers(self) -> list[psutil.Process]:
        """Every ``zellij --server`` process of this world."""
        prefix = str(self.root / "s")
        found = []
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = proc.info["cmdline"] or []
            if "--server" in cmdline and any(arg.startswith(prefix) for arg in cmdline):
                found.append(proc)
        return found

    def calls_by_verb(self) -> Counter[str]:
        """``zellij`` calls so far, by verb (``action list-panes``, ``list-sessions``, ...)."""
        counts: Counter[str] = Counter()
        with contextlib.suppress(OSError):
            for line in self.calls.read_text().splitlines():
                words = line.split()
                if words[:1] == ["-s"]:
                    words = words[2:]
                verb = " ".join(words[:2]) if words[:1] == ["action"] else " ".join(words[:1])
                counts[verb or "?"] += 1
        return counts

    def close(self) -> None:
        """Kill every session and server of this world; delete its directory."""
        with contextlib.suppress(Exception):
            self.run("kill-all-sessions", "--yes")
        for server in self.servers():
            with contextlib.suppress(psutil.Error):
                for child in server.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        child.kill()
                server.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def wait_pid(world: World, name: str, pane: int) -> int:
    """The PID of the agent in pane ``pane`` of session ``name``, waiting up to 20 s for it."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pid = world.agent_pid(name, pane)
        if pid is not None:
            return pid
        time.sleep(0.02)
    raise TimeoutError(f"the agent in {name} pane {pane} never started")
