"""Parse the ``/`` filter: qualifiers like Claude's agent view plus free text."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sessiontui.model.types import Session

#: Qualifier prefixes and the session field each one matches.
QUALIFIERS: dict[str, str] = {
    "s": "status",
    "status": "status",
    "a": "agent",
    "agent": "agent",
    "k": "kind",
    "kind": "kind",
    "w": "where",
    "where": "where",
}


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """A parsed filter; every term must match (AND), each qualifier term by prefix.

    >>> f = SessionFilter.parse("s:wait k:bg api")
    >>> f.fields, f.words
    ((('status', 'wait'), ('kind', 'bg')), ('api',))

    Attributes:
        fields: ``(field, value)`` pairs from qualifiers (``s:`` status, ``a:`` agent,
            ``k:`` kind, ``w:`` where), lower-cased; a value matches as a prefix.
        words: Free-text words, lower-cased; each must occur in the name or the cwd.
    """

    fields: tuple[tuple[str, str], ...] = ()
    words: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> SessionFilter:
        """Parse ``text``; unknown ``x:`` prefixes are free text. Quotes group words."""
        try:
            tokens = shlex.split(text)
        except ValueError:  # an unbalanced quote while typing
            tokens = text.replace('"', " ").replace("'", " ").split()
        fields: list[tuple[str, str]] = []
        words: list[str] = []
        for token in tokens:
            prefix, sep, value = token.partition(":")
            if sep and prefix.lower() in QUALIFIERS and value:
                fields.append((QUALIFIERS[prefix.lower()], value.casefold()))
            else:
                words.append(token.casefold())
        return cls(tuple(fields), tuple(words))

    @property
    def empty(self) -> bool:
        """True when the filter lets every session through."""
        return not (self.fields or self.words)

    def matches(self, session: Session) -> bool:
        """True when ``session`` satisfies every term."""
        for name, value in self.fields:
            if not _field(session, name).casefold().startswith(value):
                return False
        haystack = f"{session.name}\n{session.cwd or ''}".casefold()
        return all(word in haystack for word in self.words)


def _field(session: Session, name: str) -> str:
    """The text a qualifier compares against."""
    if name == "status":
        return session.status.value
    if name == "agent":
        return session.agent
    if name == "kind":
        return "bg" if session.is_background else (session.kind or "")
    return session.mux.label if session.mux else ""
