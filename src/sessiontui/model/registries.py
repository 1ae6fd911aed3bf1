"""Several Claude Code registry directories read as one (SPEC 2.1, 3).

A user may run Claude Code under several configuration bases (``$CLAUDE_CONFIG_DIR``,
``~/.claude``, extra ``registry_dirs`` from the config); each base has its own ``sessions/``
registry. :class:`RegistrySet` offers the interface of one
:class:`~sessiontui.model.registry.RegistryReader` over all of them, routing each file to the
reader of its directory. File paths are unique across directories, so they stay the identity.
"""

from __future__ import annotations

import collections
import os
from pathlib import Path
from typing import TYPE_CHECKING

from sessiontui.model.registry import RegistryReader

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from sessiontui.model.types import RegistryEntry

__all__ = ["RegistrySet", "default_registry_dirs"]


def default_registry_dirs(
    extra: Iterable[Path] = (), environ: Mapping[str, str] | None = None
) -> list[Path]:
    """The registries to read by default, without duplicates, in this order.

    ``$CLAUDE_CONFIG_DIR/sessions`` (when set), ``~/.claude/sessions``, then ``extra`` (the
    config's ``registry_dirs``). Directories that do not exist yet are kept: they are watched
    and appear when Claude Code creates them.

    Args:
        extra: More registry directories.
        environ: Environment to read (default :data:`os.environ`).

    Returns:
        Absolute paths.
    """
    env = os.environ if environ is None else environ
    candidates: list[Path] = []
    if env.get("CLAUDE_CONFIG_DIR"):
        candidates.append(Path(env["CLAUDE_CONFIG_DIR"]) / "sessions")
    home = env.get("HOME")
    candidates.append((Path(home) if home else Path.home()) / ".claude" / "sessions")
    candidates += list(extra)
    out: list[Path] = []
    seen: set[str] = set()
    for directory in candidates:
        absolute = directory.expanduser().absolute()
        key = os.path.realpath(absolute)
        if key not in seen:
            seen.add(key)
            out.append(absolute)
    return out


class RegistrySet:
    """The :class:`RegistryReader` interface over several registry directories.

    Args:
        directories: The registry directories (at least one).
        make_reader: Builds the reader of one directory (default: :class:`RegistryReader`).

    Raises:
        ValueError: No directory was given.
    """

    def __init__(self, directories: Sequence[Path], make_reader: type = RegistryReader) -> None:
        if not directories:
            raise ValueError("no registry directory")
        self.readers: dict[Path, RegistryReader] = {}
        for directory in directories:
            self.readers.setdefault(directory, make_reader(directory))
        self._only = next(iter(self.readers.values())) if len(self.readers) == 1 else None

    @property
    def directory(self) -> Path:
        """The first directory (the one actions such as ``new`` treat as the user's own)."""
        return next(iter(self.readers))

    @property
    def directories(self) -> list[Path]:
        """Every directory, in order."""
        return list(self.readers)

    def _reader(self, path: Path) -> RegistryReader | None:
        return self.readers.get(path.parent)

    @property
    def entries(self) -> Mapping[Path, RegistryEntry]:
        """The last good entry of every session file of every directory (read-only view)."""
        if self._only is not None:
            return self._only.entries
        return collections.ChainMap(*(reader.entries for reader in self.readers.values()))  # type: ignore[arg-type]

    @property
    def directory_problem(self) -> str | None:
        """Why directories could not be listed on the last scan (joined), or ``None``."""
        problems = [r.directory_problem for r in self.readers.values() if r.directory_problem]
        if not problems:
            return None
        if self._only is None and len(problems) < len(self.readers):
            # A default base the user never used is not worth a warning while another works.
            problems = [p for p in problems if not p.endswith("does not exist")]
        return "; ".join(problems) or None

    @property
    def reads(self) -> int:
        """File reads done so far by every reader (for tests and benchmarks)."""
        return sum(reader.reads for reader in self.readers.values())

    @property
    def file_count(self) -> int:
        """Number of known session files, readable or failing."""
        return sum(reader.file_count for reader in self.readers.values())

    def set_quiet(self, path: Path, quiet: bool) -> None:
        """See :meth:`RegistryReader.set_quiet`."""
        reader = self._reader(path)
        if reader is not None:
            reader.set_quiet(path, quiet)

    def failing(self) -> frozenset[Path]:
        """The files whose last read failed, in every directory."""
        if self._only is not None:
            return self._only.failing()
        return frozenset().union(*(r.failing() for r in self.readers.values()))

    def paths(self) -> set[Path]:
        """Every known session file of every directory."""
        if self._only is not None:
            return self._only.paths()
        return set().union(*(r.paths() for r in self.readers.values()))

    def entry(self, path: Path) -> RegistryEntry | None:
        """See :meth:`RegistryReader.entry`."""
        reader = self._reader(path)
        return None if reader is None else reader.entry(path)

    def problem(self, path: Path) -> str | None:
        """See :meth:`RegistryReader.problem`."""
        reader = self._reader(path)
        return None if reader is None else reader.problem(path)

    def scan(self, *, skip_quiet: bool = False) -> set[Path]:
        """Scan every directory (see :meth:`RegistryReader.scan`); return what it returns."""
        out: set[Path] = set()
        for reader in self.readers.values():
            out |= reader.scan(skip_quiet=skip_quiet)
        return out

    def refresh(self, path: Path) -> bool:
        """Re-read one file of any directory (see :meth:`RegistryReader.refresh`)."""
        reader = self._reader(path)
        return False if reader is None else reader.refresh(path)
