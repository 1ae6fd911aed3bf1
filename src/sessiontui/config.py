"""The TOML configuration file (SPEC 7): a frozen :class:`Config` and clear errors.

The file is ``platformdirs.user_config_path("sessiontui")/config.toml`` (on Linux
``$XDG_CONFIG_HOME/sessiontui/config.toml``), or the file named by ``$SESSIONTUI_CONFIG``, or by
``--config FILE`` (which wins). Every key is optional; an example with every key::

    registry_dirs = ["~/other-claude/sessions"]   # extra Claude registry directories
    tmux_sockets = ["/tmp/tmux-1000/work"]        # extra tmux server sockets to watch
    tmux_discover = true                          # also every live server in tmux's socket dir
    zellij = true                                 # look for Zellij sessions
    grace_period_s = 5.0                          # SIGTERM -> SIGKILL delay, (0, 600]
    notify = ["bell", "toast", "desktop"]         # how a waiting session is announced
    desktop_method = "auto"                       # "auto", "osc777", "osc9", "notify-send"
    waiting_notify_delay_s = 2.0                  # wait this long before notifying, [0, 3600]
    theme = "light"                               # "dark" (default), "light" or "ansi"
    columns = ["status", "name", "where", "activity"]
    sort = "urgency"                              # "urgency", "project", "activity" (o cycles)
    group = "none"                                # "none", "project", "mux", "host" (g cycles)
    claude_executable = "~/.local/bin/claude"
    tmux_popup = true                             # claude attach in a display-popup in tmux
    ssh_command = ["ssh"]                         # OpenSSH client (argv) for [[hosts]]

    [keymap]                                      # binding id -> comma-separated keys
    attach = "enter,l"
    quit = "q,Q"

    [context_windows]                             # model name or prefix -> tokens
    "claude-opus-4" = 200000                      # quote names: "gpt-5.1" has a dot
    "gpt-5" = 400000

    [[hosts]]                                     # a remote host, over OpenSSH (SPEC 2.7)
    name = "build"                                # HOST column and key prefix (default: ssh)
    ssh = "me@build.example"                      # the ssh destination
    ssh_options = ["-p", "2222"]                  # extra ssh arguments (optional)
    command = "~/.local/bin/sessiontui"           # remote program, a path or an argv array

Any mistake (bad TOML, invalid UTF-8, an unknown key, a wrong type or range) raises one
:class:`ConfigError` listing every problem as ``FILE:LINE: message``.

The older ``bell_on_waiting`` / ``notify_waiting`` booleans still work when ``notify`` is not
set (``notify_waiting = false`` turns every announcement off); with ``notify`` set they are
ignored, with a warning.
"""

from __future__ import annotations

import math
import os
import re
import stat
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from sessiontui.errors import SessiontuiError
from sessiontui.model.ordering import GROUP_MODES, SORT_MODES
from sessiontui.remote.hosts import (
    HostSpec,
    check_host_name,
    check_ssh_destination,
    command_argv,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping

#: Column ids accepted in ``columns``, in their default order.
COLUMN_IDS: tuple[str, ...] = (
    "status",
    "name",
    "agent",
    "where",
    "cwd",
    "age",
    "activity",
    "ctx",
    "cpu",
)

#: Entries accepted in ``notify``: the ways a session that starts waiting is announced.
NOTIFY_CHANNELS: tuple[str, ...] = ("bell", "toast", "desktop")
#: Values of ``theme``: sessiontui's dark and light themes, and ``ansi`` (the terminal's own
#: colours); the UI defines them in ``sessiontui.ui.themes``.
THEME_NAMES: tuple[str, ...] = ("dark", "light", "ansi")

#: Largest context window ``[context_windows]`` accepts, tokens (anything larger is a typo).
MAX_CONTEXT_WINDOW: int = 100_000_000

#: Longest model name or prefix ``[context_windows]`` accepts, characters.
MAX_MODEL_NAME: int = 200

#: Environment variable naming the configuration file.
CONFIG_ENV: str = "SESSIONTUI_CONFIG"

#: Configuration files larger than this many bytes are refused.
MAX_CONFIG_BYTES: int = 1 << 20

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TOML_AT_END = re.compile(r"\s*\(at end of document\)$")
_TABLE_HEADER = re.compile(r"^\s*\[\[?\s*(.+?)\s*\]\]?\s*(?:#.*)?$")


class ConfigError(SessiontuiError):
    """The configuration file is missing, unreadable or invalid.

    ``str(error)`` is the whole message: one ``FILE:LINE: problem`` line per problem (no line
    number when it is unknown). The CLI prints it and exits with status 2.

    Attributes:
        path: The configuration file.
        problems: Each problem's line of the message, in file order.
    """

    def __init__(self, path: Path, problems: Collection[str]) -> None:
        self.path = path
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True, slots=True)
class Config:
    """Validated settings; the defaults apply to every key the file does not set.

    Attributes:
        registry_dirs: Extra Claude registry directories, besides ``<claude base>/sessions``
            (``~`` expanded; relative paths are relative to the config file's directory).
        tmux_sockets: Extra tmux server socket paths to watch (``~`` expanded).
        tmux_discover: Also show every live tmux server found in the user's socket directory
            (``false``: only the named servers: ``-L``/``-S``, ``tmux_sockets``, else ours).
        zellij: Look for Zellij sessions.
        grace_period_s: Seconds between SIGTERM and SIGKILL when killing; in ``(0, 600]``.
        notify: How a session that starts waiting is announced, entries of
            :data:`NOTIFY_CHANNELS` (``"bell"``, ``"toast"``, ``"desktop"``); ``None`` when the
            file does not set it: then the older two keys below decide (see
            :attr:`notify_channels`).
        desktop_method: How desktop notifications are delivered, one of
            :data:`~sessiontui.desktop.DESKTOP_METHODS` (see :mod:`sessiontui.desktop`).
        bell_on_waiting: Older key: ring the terminal bell when a session starts waiting.
        notify_waiting: Older key: announce at all (``False`` silences bell and toast).
        waiting_notify_delay_s: Seconds a session must keep waiting before the notification;
            in ``[0, 3600]``.
        theme: One of :data:`THEME_NAMES`, or ``None`` for the default (``dark``).
        columns: Table columns to show, a subset of :data:`COLUMN_IDS` in the user's order,
            or ``None`` for all.
        sort: The sort order at start, one of
            :data:`~sessiontui.model.ordering.SORT_MODES` (``o`` cycles it while the app runs).
        group: The grouping at start, one of
            :data:`~sessiontui.model.ordering.GROUP_MODES` (``g`` cycles it).
        keymap: Binding id (:data:`BINDING_IDS`) -> comma-separated keys, e.g.
            ``{"attach": "enter,l"}``; the shape ``App.set_keymap`` takes. Read-only.
        claude_executable: The ``claude`` program to run (``~`` expanded), or ``None`` to
            find it on ``PATH``.
        tmux_popup: Inside tmux, attach Claude's own background jobs in a
            ``display-popup``; ``False`` opens a new window instead.
        context_windows: Model name or name prefix -> context window in tokens (an integer
            in ``[1, MAX_CONTEXT_WINDOW]``), e.g. ``{"gpt-5": 400000}``. The exact name wins,
            then the longest prefix; models it does not cover get 1,000,000 tokens when the
            name has ``[1m]``, else 200,000 (SPEC 2.2). Read-only.
        hosts: Remote hosts from ``[[hosts]]`` (SPEC 2.7), in file order, names distinct.
        ssh_command: The OpenSSH client as an argv (``~`` expanded), default ``("ssh",)``;
            e.g. ``["ssh", "-F", "~/.ssh/work_config"]``.
    """

    registry_dirs: tuple[Path, ...] = ()
    tmux_sockets: tuple[str, ...] = ()
    tmux_discover: bool = True
    zellij: bool = True
    grace_period_s: float = 5.0
    notify: tuple[str, ...] | None = None
    desktop_method: str = "auto"
    bell_on_waiting: bool = True
    notify_waiting: bool = True
    waiting_notify_delay_s: float = 2.0
    theme: str | None = None
    columns: tuple[str, ...] | None = None
    sort: str = "urgency"
    group: str = "none"
    keymap: Mapping[str, str] = field(default_factory=lambda: types.MappingProxyType({}))
    claude_executable: str | None = None
    tmux_popup: bool = True
    context_windows: Mapping[str, int] = field(default_factory=lambda: types.MappingProxyType({}))
    hosts: tuple[HostSpec, ...] = ()
    ssh_command: tuple[str, ...] = ("ssh",)

    @property
    def notify_channels(self) -> frozenset[str]:
        """The announcements in effect: ``notify`` when set, else from the older keys.

        Without ``notify``: ``{"bell", "toast"}`` (today's default), less ``"bell"`` when
        ``bell_on_waiting`` is false, and nothing when ``notify_waiting`` is false.
        """
        if self.notify is not None:
            return frozenset(self.notify)
        if not self.notify_waiting:
            return frozenset()
        return frozenset({"toast", "bell"} if self.bell_on_waiting else {"toast"})

    def warnings(self) -> list[str]:
        """Messages for settings that are valid but have no effect."""
        if self.notify is not None and not (self.bell_on_waiting and self.notify_waiting):
            return ["'bell_on_waiting' and 'notify_waiting' are ignored when 'notify' is set"]
        return []


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Return the configuration file to read when no ``--config`` is given.

    Args:
        environ: Environment to consult (default ``os.environ``).

    Returns:
        ``$SESSIONTUI_CONFIG`` when set and non-empty (``~`` expanded), else
        ``platformdirs.user_config_path("sessiontui")/config.toml``.
    """
    env = os.environ if environ is None else environ
    override = env.get(CONFIG_ENV, "")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path("sessiontui") / "config.toml"


# -- finding lines ------------------------------------------------------------------------


def _key_pattern(key: str) -> re.Pattern[str]:
    """Match ``key =``, ``"key" =``, ``'key' =`` or ``key.sub =`` at the start of a line."""
    quoted = re.escape(key)
    return re.compile(rf"""^\s*(?:{quoted}|"{quoted}"|'{quoted}')\s*[=.]""")


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def find_line(text: str, key: str, table: str | None = None) -> int | None:
    r"""Find the 1-based line where ``key`` is set, by scanning the text.

    :mod:`tomllib` reports no positions for valid documents, so lines are found by matching
    ``^\s*key\s*=`` (also quoted keys and dotted keys) inside the right table: before any
    ``[table]`` header for top-level keys, under ``[table]`` (or as ``table.key =`` at the top)
    for keys of a table. A top-level ``[key]`` header also counts. Good enough for messages;
    a key spelled inside a multi-line string could be found instead of the real one.

    Args:
        text: The whole file.
        key: The key as tomllib returned it.
        table: The enclosing table's name, or ``None`` for the top level.

    Returns:
        The line number, or ``None`` when it cannot be found.
    """
    key_re = _key_pattern(key)
    table_re = _key_pattern(table) if table is not None else None
    current: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE_HEADER.match(line)
        if header:
            current = _unquote(header.group(1))
            if table is None and current == key:
                return number
            continue
        if table is None:
            if current is None and key_re.match(line):
                return number
        elif current == table and key_re.match(line):
            return number
        elif current is None and table_re is not None and table_re.match(line):
            rest = line.split(".", 1)[1] if "." in line else ""
            if key_re.match(rest):
                return number
    if table is not None:
        return find_line(text, table)
    return None


# -- validation -----------------------------------------------------------------------------

_Check = tuple[object | None, str | None]  # (converted value, or None with an expectation)


def _describe(value: object) -> str:
    """A short, escaped rendering of an untrusted value for an error message."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _expand(text: str) -> str:
    """Expand a leading ``~`` (``./x`` stays ``./x``: no path normalisation)."""
    return os.path.expanduser(text)  # noqa: PTH111 - Path() would drop a leading "./"


def _bool(value: object) -> _Check:
    if isinstance(value, bool):
        return value, None
    return None, "true or false"


def _number(low: float, high: float, *, low_open: bool) -> Callable[[object], _Check]:
    bound = "greater than" if low_open else "at least"
    expected = f"a number {bound} {low:g} and at most {high:g}"

    def check(value: object) -> _Check:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, expected
        # Compare before converting: a huge TOML integer overflows float(); NaN fails here.
        if not low <= value <= high or (low_open and value == low):
            return None, expected
        number = float(value)
        return (number, None) if math.isfinite(number) else (None, expected)

    return check


def _text(value: object) -> _Check:
    if isinstance(value, str) and value.strip() and value.isprintable():
        return value, None
    return None, "a non-empty string"


def _text_list(value: object) -> _Check:
    if isinstance(value, list) and all(
        isinstance(item, str) and item.strip() and item.isprintable() for item in value
    ):
        return tuple(_expand(item) for item in value), None
    return None, "an array of non-empty strings"


def _columns(value: object) -> _Check:
    expected = "a non-empty array of distinct column ids from: " + ", ".join(COLUMN_IDS)
    if not isinstance(value, list) or not value:
        return None, expected
    if not all(isinstance(item, str) and item in COLUMN_IDS for item in value):
        return None, expected
    if len(set(value)) != len(value):
        return None, expected
    return tuple(value), None


def _notify(value: object) -> _Check:
    expected = "an array of distinct entries from: " + ", ".join(NOTIFY_CHANNELS)
    if not isinstance(value, list):
        return None, expected
    for item in value:
        if not isinstance(item, str) or item not in NOTIFY_CHANNELS:
            hint = _suggest(item, NOTIFY_CHANNELS) if isinstance(item, str) else ""
            return None, f"{expected}; {_describe(item)} is not one{hint}"
    if len(set(value)) != len(value):
        return None, expected + " (each once)"
    return tuple(value), None


def _one_of(choices: tuple[str, ...]) -> Callable[[object], _Check]:
    def check(value: object) -> _Check:
        if isinstance(value, str) and value in choices:
            return value, None
        hint = _suggest(value, choices) if isinstance(value, str) else ""
        return None, "one of " + ", ".join(f'"{c}"' for c in choices) + hint

    return check


def _desktop_method(value: object) -> _Check:
    from sessiontui.desktop import DESKTOP_METHODS

    if isinstance(value, str) and value in DESKTOP_METHODS:
        return value, None
    return None, "one of " + ", ".join(f'"{m}"' for m in DESKTOP_METHODS)


def _theme(value: object) -> _Check:
    if isinstance(value, str) and value in THEME_NAMES:
        return value, None
    return None, "one of " + ", ".join(f'"{name}"' for name in THEME_NAMES)


def _executable(value: object) -> _Check:
    converted, expected = _text(value)
    if expected is not None:
        return None, expected
    return _expand(str(converted)), None


def _ssh_command(value: object) -> _Check:
    if isinstance(value, str):
        value = [value]
    converted, expected = _text_list(value)
    if expected is not None or not converted:
        return None, "a program path or a non-empty array of non-empty strings"
    return converted, None


_CHECKS: dict[str, Callable[[object], _Check]] = {
    "registry_dirs": _text_list,
    "tmux_sockets": _text_list,
    "tmux_discover": _bool,
    "zellij": _bool,
    "grace_period_s": _number(0, 600, low_open=True),
    "notify": _notify,
    "desktop_method": _desktop_method,
    "bell_on_waiting": _bool,
    "notify_waiting": _bool,
    "waiting_notify_delay_s": _number(0, 3600, low_open=False),
    "theme": _theme,
    "columns": _columns,
    "sort": _one_of(SORT_MODES),
    "group": _one_of(GROUP_MODES),
    "keymap": lambda value: (value, None),  # checked entry by entry below
    "claude_executable": _executable,
    "tmux_popup": _bool,
    "context_windows": lambda value: (value, None),  # checked entry by entry below
    "hosts": lambda value: (value, None),  # checked entry by entry below
    "ssh_command": lambda value: _ssh_command(value),
}

#: Top-level keys a configuration file may set.
CONFIG_KEYS: tuple[str, ...] = tuple(_CHECKS)


def _suggest(key: str, choices: Collection[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_keys(keys: object) -> bool:
    """True for a comma-separated list of non-empty key names without whitespace."""
    if not isinstance(keys, str) or not keys:
        return False
    return all(
        part and part.isprintable() and not any(ch.isspace() for ch in part)
        for part in keys.split(",")
    )


class _Problems:
    """Collects ``(line, message)`` pairs and renders them as ``FILE:LINE: message``."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text
        self.items: list[tuple[int, str]] = []

    def add(self, message: str, key: str, table: str | None = None) -> None:
        line = find_line(self.text, key, table)
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        self.items.append((line or 0, f"{where}: {message}"))

    def raise_if_any(self) -> None:
        if self.items:
            self.items.sort(key=lambda item: item[0])
            raise ConfigError(self.path, [message for _line, message in self.items])


def _check_keymap(
    value: object, problems: _Problems, binding_ids: Collection[str]
) -> dict[str, str]:
    if not isinstance(value, dict):
        problems.add(f"'keymap' must be a table, not {_describe(value)}", "keymap")
        return {}
    keymap: dict[str, str] = {}
    for binding, keys in value.items():
        if binding not in binding_ids:
            problems.add(
                f"unknown binding id {binding!r} in [keymap]{_suggest(binding, binding_ids)}; "
                f"known: {', '.join(binding_ids)}",
                binding,
                "keymap",
            )
        elif not _check_keys(keys):
            problems.add(
                f"keymap '{binding}' must be a string of comma-separated keys without spaces, "
                f'e.g. "enter,l" (got {_describe(keys)})',
                binding,
                "keymap",
            )
        else:
            keymap[binding] = keys
    from sessiontui.ui.actions import key_conflicts

    for key, first, second in key_conflicts(keymap):
        where = second if second in keymap else first
        problems.add(
            f"keymap: key {key!r} would run both '{first}' and '{second}'"
            f"{'' if first in keymap and second in keymap else ' (its default key)'}; "
            "give one of them another key",
            where,
            "keymap",
        )
    return keymap


def _check_context_windows(value: object, problems: _Problems) -> dict[str, int]:
    """Validate ``[context_windows]``: model name or prefix -> tokens.

    Args:
        value: What tomllib gave for the key.
        problems: Where each bad entry is reported (with its line).

    Returns:
        The valid entries (the bad ones are reported and left out).
    """
    if not isinstance(value, dict):
        problems.add(
            f"'context_windows' must be a table of model name = tokens, not {_describe(value)}",
            "context_windows",
        )
        return {}
    windows: dict[str, int] = {}
    for model, tokens in value.items():
        if not (
            isinstance(model, str)
            and model.strip()
            and model.isprintable()
            and len(model) <= MAX_MODEL_NAME
        ):
            problems.add(
                f"[context_windows] model names must be non-empty printable strings of at most "
                f"{MAX_MODEL_NAME} characters (got {_describe(model)})",
                str(model),
                "context_windows",
            )
        elif isinstance(tokens, dict):
            problems.add(
                f"context_windows {model!r} must be a number of tokens, not a table; quote a "
                'model name that has a dot in it, e.g. "gpt-5.1" = 400000',
                model,
                "context_windows",
            )
        elif (
            isinstance(tokens, bool)
            or not isinstance(tokens, int)
            or not 0 < tokens <= MAX_CONTEXT_WINDOW
        ):
            problems.add(
                f"context_windows {model!r} must be a whole number of tokens greater than 0 "
                f"and at most {MAX_CONTEXT_WINDOW:,} (got {_describe(tokens)})",
                model,
                "context_windows",
            )
        else:
            windows[model] = tokens
    return windows


#: Keys a ``[[hosts]]`` entry may set.
HOST_KEYS: tuple[str, ...] = ("name", "ssh", "ssh_options", "command")


def _hosts_header_line(text: str, index: int) -> int | None:
    """The 1-based line of the ``index``-th (0-based) ``[[hosts]]`` header, or ``None``."""
    seen = -1
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE_HEADER.match(line)
        if header and line.lstrip().startswith("[[") and _unquote(header.group(1)) == "hosts":
            seen += 1
            if seen == index:
                return number
    return None


def _check_hosts(value: object, problems: _Problems) -> tuple[HostSpec, ...]:
    """Validate the ``[[hosts]]`` array of tables (see :class:`~sessiontui.remote.hosts.HostSpec`).

    Args:
        value: What tomllib gave for the key.
        problems: Where each bad entry is reported (with the line of its ``[[hosts]]``).

    Returns:
        The valid hosts (bad entries are reported and left out).
    """
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        problems.add("'hosts' must be an array of tables ([[hosts]] with ssh = \"DEST\")", "hosts")
        return ()
    hosts: list[HostSpec] = []
    names: set[str] = set()
    for index, entry in enumerate(value):
        line = _hosts_header_line(problems.text, index)

        def report(message: str, line: int | None = line, index: int = index) -> None:
            where = f"{problems.path}:{line}" if line is not None else str(problems.path)
            problems.items.append((line or 0, f"{where}: [[hosts]] #{index + 1}: {message}"))

        unknown = [key for key in entry if key not in HOST_KEYS]
        for key in unknown:
            report(f"unknown key {key!r}{_suggest(key, HOST_KEYS)}; known: {', '.join(HOST_KEYS)}")
        ssh = entry.get("ssh")
        problem = check_ssh_destination(ssh)
        if problem is not None:
            report(f"'ssh' (the ssh destination) {problem} (got {_describe(ssh)})")
            continue
        assert isinstance(ssh, str)
        name = entry.get("name", ssh)
        problem = check_host_name(name)
        if problem is not None:
            report(f"'name' {problem} (got {_describe(name)})")
            continue
        assert isinstance(name, str)
        if name in names:
            report(f"host name {name!r} is used twice; names must be distinct")
            continue
        options, expected = _text_list(entry.get("ssh_options", []))
        if expected is not None:
            report(f"'ssh_options' must be {expected} (got {_describe(entry['ssh_options'])})")
            continue
        raw_command = entry.get("command", "sessiontui")
        try:
            if not isinstance(raw_command, str | list):
                raise ValueError("must be a program path or a non-empty array of strings")
            command = command_argv(raw_command)
        except ValueError as error:
            report(f"'command' {error} (got {_describe(raw_command)})")
            continue
        if unknown:
            continue
        names.add(name)
        assert isinstance(options, tuple)
        hosts.append(HostSpec(name=name, ssh=ssh, ssh_options=options, command=command))
    return tuple(hosts)


def parse_config(text: str, path: Path, *, binding_ids: Collection[str] | None = None) -> Config:
    """Parse and validate the text of a configuration file.

    Args:
        text: The file's content.
        path: The file, for messages; relative ``registry_dirs`` are resolved against its
            directory.
        binding_ids: Binding ids ``[keymap]`` may name (default
            :data:`sessiontui.ui.actions.BINDING_IDS`).

    Returns:
        The configuration.

    Raises:
        ConfigError: TOML syntax error (with line and column), unknown key (with a close
            match when there is one), or a value of the wrong type or range.
    """
    import tomllib  # only when there is a file: ``sessiontui status`` runs every second

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, [_syntax_message(path, text, str(error))]) from None
    problems = _Problems(path, text)
    values: dict[str, Any] = {}
    for key, value in data.items():
        check = _CHECKS.get(key)
        if check is None:
            problems.add(f"unknown key {key!r}{_suggest(key, CONFIG_KEYS)}", key)
            continue
        if key == "keymap":
            if binding_ids is None:
                from sessiontui.ui.actions import BINDING_IDS

                binding_ids = BINDING_IDS
            values[key] = types.MappingProxyType(_check_keymap(value, problems, binding_ids))
            continue
        if key == "context_windows":
            values[key] = types.MappingProxyType(_check_context_windows(value, problems))
            continue
        if key == "hosts":
            values[key] = _check_hosts(value, problems)
            continue
        converted, expected = check(value)
        if expected is not None:
            problems.add(f"{key!r} must be {expected} (got {_describe(value)})", key)
            continue
        values[key] = converted
    problems.raise_if_any()
    if "registry_dirs" in values:
        values["registry_dirs"] = tuple(path.parent / item for item in values["registry_dirs"])
    return Config(**values)


def _syntax_message(path: Path, text: str, message: str) -> str:
    """Turn tomllib's ``Reason (at line N, column M)`` into ``FILE:N:M: invalid TOML: Reason``."""
    position = _TOML_POSITION.search(message)
    if position:
        reason = message[: position.start()]
        return f"{path}:{position.group(1)}:{position.group(2)}: invalid TOML: {reason}"
    at_end = _TOML_AT_END.search(message)
    if at_end:
        lines = text.splitlines() or [""]
        where = f"{path}:{len(lines)}:{len(lines[-1]) + 1}"
        return f"{where}: invalid TOML: {message[: at_end.start()]} (at end of file)"
    return f"{path}: invalid TOML: {message}"


def _read_text(path: Path) -> str:
    """Read a configuration file as strict UTF-8 (never blocking on a FIFO).

    Raises:
        FileNotFoundError: The file does not exist.
        ConfigError: Not a regular file, too large, unreadable, or not UTF-8.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise
    except OSError as error:
        raise ConfigError(path, [f"{path}: cannot open: {error.strerror or error}"]) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError(path, [f"{path}: not a regular file"])
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_CONFIG_BYTES:
            chunk = os.read(fd, MAX_CONFIG_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise ConfigError(path, [f"{path}: cannot read: {error.strerror or error}"]) from None
    finally:
        os.close(fd)
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(path, [f"{path}: too large (over {MAX_CONFIG_BYTES} bytes)"])
    data = b"".join(chunks)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise ConfigError(
            path, [f"{path}:{line}:{column}: not valid UTF-8 (byte 0x{data[error.start]:02x})"]
        ) from None


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    binding_ids: Collection[str] | None = None,
) -> Config:
    """Load the configuration.

    Args:
        path: The ``--config FILE`` argument, or ``None`` to use ``$SESSIONTUI_CONFIG`` or
            the default location (:func:`default_config_path`).
        environ: Environment to consult (default ``os.environ``).
        binding_ids: Binding ids ``[keymap]`` may name (default
            :data:`sessiontui.ui.actions.BINDING_IDS`).

    Returns:
        The configuration; all defaults when no file was named and the default file does
        not exist.

    Raises:
        ConfigError: A file named by ``path`` or ``$SESSIONTUI_CONFIG`` does not exist, or
            the file is unreadable or invalid (see :func:`parse_config`).
    """
    env = os.environ if environ is None else environ
    explicit = path is not None or bool(env.get(CONFIG_ENV, ""))
    target = path if path is not None else default_config_path(env)
    try:
        text = _read_text(target)
    except FileNotFoundError:
        if explicit:
            raise ConfigError(target, [f"{target}: no such configuration file"]) from None
        return Config()
    return parse_config(text, target, binding_ids=binding_ids)
