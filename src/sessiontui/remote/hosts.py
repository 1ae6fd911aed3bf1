"""Which remote hosts to show: :class:`HostSpec`, from ``[[hosts]]`` or ``-H/--host`` (SPEC 2.7).

A host is reached by running OpenSSH (``ssh``) with a destination and options the user
chose; nothing here runs a shell, and every value reaches ``ssh`` as one argv element.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

__all__ = [
    "DEFAULT_COMMAND",
    "MAX_HOST_NAME",
    "HostSpec",
    "check_host_name",
    "check_ssh_destination",
    "command_argv",
    "host_from_destination",
]

#: The remote program run by default: ``sessiontui`` found on the remote ``PATH``.
DEFAULT_COMMAND: tuple[str, ...] = ("sessiontui",)

#: Longest host name accepted, characters.
MAX_HOST_NAME: int = 64


@dataclass(frozen=True, slots=True)
class HostSpec:
    """One remote host.

    Attributes:
        name: The name shown in the HOST column and used as the key prefix (``name/key``):
            printable, no whitespace and no ``/``, at most :data:`MAX_HOST_NAME` characters.
        ssh: The OpenSSH destination (``host``, ``user@host``, an ``ssh_config`` alias or
            ``ssh://user@host:port``); never starts with ``-``.
        ssh_options: Extra ``ssh`` arguments placed before the destination, e.g.
            ``("-p", "2222", "-i", "~/.ssh/box")``.
        command: The remote ``sessiontui`` as an argv (default :data:`DEFAULT_COMMAND`);
            ``serve --stdio`` is appended. OpenSSH hands the remote side one command line,
            so each element is shell-quoted (``shlex.join``) before it is sent.
    """

    name: str
    ssh: str
    ssh_options: tuple[str, ...] = ()
    command: tuple[str, ...] = DEFAULT_COMMAND


def check_host_name(name: object) -> str | None:
    """Why ``name`` cannot name a host, or ``None`` when it can.

    >>> check_host_name("build-box") is None
    True
    >>> check_host_name("a/b")
    'must not contain "/" or whitespace'
    """
    if not isinstance(name, str) or not name:
        return "must be a non-empty string"
    if len(name) > MAX_HOST_NAME:
        return f"must be at most {MAX_HOST_NAME} characters"
    if not name.isprintable() or any(ch.isspace() or ch == "/" for ch in name):
        return 'must not contain "/" or whitespace'
    return None


def check_ssh_destination(destination: object) -> str | None:
    """Why ``destination`` cannot be given to ``ssh``, or ``None`` when it can.

    A leading ``-`` would make ``ssh`` read it as an option (``-oProxyCommand=...``).

    >>> check_ssh_destination("-oProxyCommand=x")
    'must not start with "-"'
    """
    if not isinstance(destination, str) or not destination.strip():
        return "must be a non-empty string"
    if destination.startswith("-"):
        return 'must not start with "-"'
    if not destination.isprintable() or any(ch.isspace() for ch in destination):
        return "must not contain whitespace or control characters"
    return None


def host_from_destination(destination: str) -> HostSpec:
    """The host for ``-H/--host DEST``: named by its destination, default options.

    An ``ssh://[user@]host[:port]`` destination is named without its scheme.

    >>> host_from_destination("ssh://me@box:2222").name
    'me@box:2222'

    Raises:
        ValueError: ``destination`` is no valid destination, or no valid host name.
    """
    problem = check_ssh_destination(destination)
    name = destination
    if name.startswith("ssh://"):
        name = name.removeprefix("ssh://").rstrip("/")
    if problem is None:
        problem = check_host_name(name)
    if problem is not None:
        raise ValueError(f"host {destination!r}: {problem}")
    return HostSpec(name=name, ssh=destination)


def command_argv(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The remote command as an argv: a string is split the way a POSIX shell would.

    Raises:
        ValueError: Empty, unbalanced quotes, or an element that is not a printable string.
    """
    argv = tuple(shlex.split(value)) if isinstance(value, str) else tuple(value)
    if not argv or not all(isinstance(item, str) and item and item.isprintable() for item in argv):
        raise ValueError("must be a program path or a non-empty array of non-empty strings")
    return argv
