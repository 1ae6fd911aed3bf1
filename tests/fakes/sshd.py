"""Real OpenSSH "remote hosts" on loopback ports, for the remote tests (issue 10, SPEC 2.7).

Each :class:`RemoteHost` is Debian's ``/usr/sbin/sshd -D -e`` on a free ``127.0.0.1`` port with a
throwaway ed25519 host key, accepting only a throwaway ed25519 user key. The environment of
everything run through it (``sshd_config`` ``SetEnv``) makes it a separate machine as far as
sessiontui can tell: its own ``HOME``, Claude registry (``CLAUDE_CONFIG_DIR``), tmux socket
directory (``TMUX_TMPDIR``), XDG directories, and ``PATH`` starting with a ``bin`` holding a
``sessiontui`` that runs ``python -m sessiontui`` with the test interpreter and ``PYTHONPATH`` on
the source under test, so the remote command is literally ``sessiontui serve --stdio``.

:class:`SshWorld` owns the keys, one ssh client config (``ssh -F CONFIG ALIAS``: port, identity,
pinned host key, ``BatchMode yes``, ``StrictHostKeyChecking yes``) and its hosts. Nothing listens
on anything but 127.0.0.1. ``close()`` stops every sshd with all it started (sessions, the
``serve`` processes) and every tmux server of the hosts.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from sessiontui.model.processes import read_proc_start

if TYPE_CHECKING:
    from collections.abc import Mapping

SSHD = Path("/usr/sbin/sshd")
#: sshd refuses to start without its privilege separation directory (Debian's init creates it).
PRIVSEP_DIR = Path("/run/sshd")
#: The ``src`` directory of the code under test (each worktree has its own).
SOURCE_ROOT = Path(__file__).resolve().parents[2] / "src"


def missing_tools() -> str | None:
    """Why the OpenSSH tests cannot run here (``None``: they can).

    They need sshd, ssh and ssh-keygen, and sshd's privilege separation directory (created by
    :meth:`RemoteHost.start` when we are root).
    """
    if not SSHD.exists():
        return f"{SSHD} is not installed (Debian package openssh-server; .ci/run installs it)"
    for tool in ("ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian package openssh-client; .ci/run installs it)"
    if not PRIVSEP_DIR.is_dir() and os.geteuid() != 0:
        return f"sshd needs {PRIVSEP_DIR}, which only root can create (Debian's sshd start does)"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def keygen(path: Path, comment: str) -> str:
    """Make an unencrypted ed25519 key pair ``path`` / ``path.pub``; return the public line."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return path.with_suffix(".pub").read_text().strip()


def sshd_banner(port: int, timeout_s: float = 1.0) -> bytes:
    """Connect to 127.0.0.1:``port`` and return the first bytes the server sends (b"" if none)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
            return sock.recv(64)
    except OSError:
        return b""


def stop_tree(pid: int, grace_s: float = 3.0) -> None:
    """SIGTERM ``pid`` and all its descendants, SIGKILL what is left after ``grace_s`` seconds."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signal.SIGTERM)
    _gone, alive = psutil.wait_procs(procs, timeout=grace_s)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=grace_s)


class RemoteHost:
    """One simulated machine: an sshd on its own loopback port with its own environment.

    Attributes:
        alias: The ``Host`` name in the world's ssh config (what ``ssh -F CONFIG`` connects to).
        port: The TCP port on 127.0.0.1 (kept across :meth:`stop` / :meth:`start`).
        root: Its private directory (config, log, HOME, XDG dirs, registry).
        registry: The Claude registry directory ``serve`` reads (``<claude-home>/sessions``).
        tmux_tmpdir: Its ``TMUX_TMPDIR`` (short, under /tmp: socket paths are ≤ 108 bytes).
        env: The environment sshd gives every session (``SetEnv``).
    """

    def __init__(self, alias: str, root: Path, host_key: Path, authorized_keys: Path) -> None:
        self.alias = alias
        self.root = root
        self.port = free_port()
        home = root / "home"
        home.mkdir(parents=True)
        claude_home = root / "claude-home"
        self.registry = claude_home / "sessions"
        self.registry.mkdir(parents=True)
        self.tmux_tmpdir = Path(tempfile.mkdtemp(prefix="st-h-", dir="/tmp"))
        # ``sessiontui`` on the host's PATH runs the code under test with this interpreter,
        # however it is installed (or not) in the test environment.
        bin_dir = root / "bin"
        bin_dir.mkdir()
        program = bin_dir / "sessiontui"
        program.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m sessiontui "$@"\n')
        program.chmod(0o755)
        self.env: dict[str, str] = {
            "HOME": str(home),
            "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
            "PYTHONPATH": str(SOURCE_ROOT),
            "LANG": "C.UTF-8",
            "CLAUDE_CONFIG_DIR": str(claude_home),
            "TMUX_TMPDIR": str(self.tmux_tmpdir),
            "ZELLIJ_SOCKET_DIR": str(self.tmux_tmpdir / "zellij"),
            "XDG_STATE_HOME": str(root / "state"),
            "XDG_CONFIG_HOME": str(root / "config"),
            "XDG_CACHE_HOME": str(root / "cache"),
        }
        self.config = root / "sshd_config"
        self.log = root / "sshd.log"
        set_env = " ".join(f"{key}={value}" for key, value in self.env.items())
        self.config.write_text(
            f"Port {self.port}\n"
            "ListenAddress 127.0.0.1\n"
            f"HostKey {host_key}\n"
            f"PidFile {root / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {authorized_keys}\n"
            "StrictModes no\n"
            "UsePAM no\n"
            "PermitRootLogin prohibit-password\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "X11Forwarding no\n"
            "AllowTcpForwarding no\n"
            "PrintMotd no\n"
            "PrintLastLog no\n"
            f"SetEnv {set_env}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self._tmux_sockets: set[str] = set()

    @property
    def running(self) -> bool:
        """Whether this host's sshd listener is running (started and not stopped)."""
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout_s: float = 10.0) -> None:
        """Start sshd on :attr:`port` and wait until it answers with an SSH banner.

        Raises:
            RuntimeError: sshd exited or did not answer within ``timeout_s`` seconds (the
                message holds its log).
        """
        if self.running:
            return
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while not sshd_banner(self.port).startswith(b"SSH-"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sshd for {self.alias} did not start:\n{self.log.read_text()}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the sshd listener and everything it started (sessions, ``serve`` processes).

        The port stays this host's: :meth:`start` listens on it again (the link-cut tests).
        """
        if self.proc is None:
            return
        stop_tree(self.proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.proc = None

    def restart(self) -> None:
        """:meth:`stop`, then :meth:`start` on the same port."""
        self.stop()
        self.start()

    def sessions(self) -> list[psutil.Process]:
        """The processes sshd runs for connected clients (children of its per-connection sshd)."""
        if self.proc is None:
            return []
        with contextlib.suppress(psutil.NoSuchProcess):
            return [
                proc
                for proc in psutil.Process(self.proc.pid).children(recursive=True)
                if proc.name() != "sshd"
            ]
        return []

    def tmux(self, socket_name: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``tmux -L SOCKET_NAME -f /dev/null ARGS`` as this host would (its ``TMUX_TMPDIR``).

        Raises:
            subprocess.CalledProcessError: tmux failed.
        """
        self._tmux_sockets.add(socket_name)
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        env.update(self.env)
        return subprocess.run(
            ["tmux", "-L", socket_name, "-f", "/dev/null", *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            stdin=subprocess.DEVNULL,
        )

    def agent(
        self, name: str, socket_name: str = "agents", *, mark: str | None = None, **fields: object
    ) -> int:
        """A ``sleep 300`` in its own session of this host's tmux server, with a registry entry.

        The entry is ``<registry>/<pid>.json`` like Claude Code writes it (``pid``, real
        ``procStart``, ``name`` defaulting to ``name``, ``cwd`` ``/work/<name>``, plus ``fields``).
        With ``mark``, the pane prints that text first (its shell then execs the ``sleep``).

        Returns:
            The PID of the ``sleep`` (the pane's own process).
        """
        command = f"echo {shlex.quote(mark)}; exec sleep 300" if mark else "sleep 300"
        self.tmux(socket_name, "new-session", "-d", "-s", name, "-x", "120", "-y", "40", command)
        pid = int(
            self.tmux(
                socket_name, "display-message", "-p", "-t", f"={name}:", "#{pane_pid}"
            ).stdout.strip()
        )
        deadline = time.monotonic() + 10
        while read_proc_start(pid) is None or psutil.Process(pid).name() != "sleep":
            if time.monotonic() > deadline:
                raise RuntimeError(f"pane of {name} did not start sleep")
            time.sleep(0.02)
        fields.setdefault("name", name)
        fields.setdefault("cwd", f"/work/{name}")
        write_registry_entry(self.registry, pid, fields)
        return pid

    def close(self) -> None:
        """Stop sshd and this host's tmux servers, and remove its socket directory."""
        self.stop()
        for socket_name in sorted(self._tmux_sockets):
            with contextlib.suppress(subprocess.CalledProcessError):
                self.tmux(socket_name, "kill-server")
        for proc in psutil.process_iter(["name"]):
            if (proc.info.get("name") or "").startswith("tmux"):
                with contextlib.suppress(psutil.Error):
                    if proc.environ().get("TMUX_TMPDIR") == str(self.tmux_tmpdir):
                        proc.kill()
        shutil.rmtree(self.tmux_tmpdir, ignore_errors=True)


def write_registry_entry(directory: Path, pid: int, fields: Mapping[str, object]) -> Path:
    """Write ``<pid>.json`` as Claude Code does (compact JSON, real ``procStart``), atomically."""
    import json

    data: dict[str, object] = {"pid": pid}
    start = read_proc_start(pid)
    if start is not None:
        data["procStart"] = start
    data.update(fields)
    path = directory / f"{pid}.json"
    tmp = directory / f".{pid}.json.tmp"
    tmp.write_text(json.dumps(data, separators=(",", ":")))
    tmp.replace(path)
    return path


class SshWorld:
    """Throwaway keys, one ssh client config, and the remote hosts behind it.

    Attributes:
        root: The world's directory (keys, ``ssh_config``, ``known_hosts``, one dir per host).
        ssh_config: The client config; ``ssh -F ssh_config ALIAS`` reaches host ``ALIAS``.
        hosts: The hosts by alias.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.host_key = root / "host_ed25519"
        self.user_key = root / "user_ed25519"
        host_public = keygen(self.host_key, "sessiontui-test-host")
        user_public = keygen(self.user_key, "sessiontui-test-user")
        self.authorized_keys = root / "authorized_keys"
        self.authorized_keys.write_text(user_public + "\n")
        self._host_public = host_public
        self.known_hosts = root / "known_hosts"
        self.known_hosts.write_text("")
        self.ssh_config = root / "ssh_config"
        self.ssh_config.write_text("")
        self.hosts: dict[str, RemoteHost] = {}

    def add_host(self, alias: str) -> RemoteHost:
        """Create host ``alias`` (its sshd started, its config and pinned key added)."""
        host = RemoteHost(alias, self.root / alias, self.host_key, self.authorized_keys)
        self.hosts[alias] = host
        with self.known_hosts.open("a") as known:
            known.write(f"[127.0.0.1]:{host.port} {self._host_public}\n")
        with self.ssh_config.open("a") as config:
            config.write(
                f"Host {alias}\n"
                "  HostName 127.0.0.1\n"
                f"  Port {host.port}\n"
                f"  User {getpass.getuser()}\n"
                f"  IdentityFile {self.user_key}\n"
                "  IdentitiesOnly yes\n"
                f"  UserKnownHostsFile {self.known_hosts}\n"
                "  GlobalKnownHostsFile /dev/null\n"
                "  StrictHostKeyChecking yes\n"
                "  CheckHostIP no\n"
                "  BatchMode yes\n"
                "  ConnectTimeout 5\n"
                "  LogLevel ERROR\n"
            )
        host.start()
        return host

    def ssh_argv(self, alias: str, *remote: str, tty: bool = False) -> list[str]:
        """``ssh -F CONFIG [-t|-T] ALIAS -- REMOTE…`` (the remote words are run by its shell)."""
        return ["ssh", "-F", str(self.ssh_config), "-t" if tty else "-T", alias, "--", *remote]

    def close(self) -> None:
        """Stop every host (sshd, its sessions, its tmux servers)."""
        for host in self.hosts.values():
            host.close()
