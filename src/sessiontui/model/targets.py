"""Resolve a command-line TARGET (pid, sessionId or unique prefix, name) to one session."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sessiontui.errors import AmbiguousTarget, TargetNotFound
from sessiontui.model.text import printable

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sessiontui.model.types import Session


def resolve_target(sessions: Sequence[Session], target: str) -> Session:
    """Return the one session ``target`` names (SPEC 6).

    Tried in order, the first rule with a match wins: a PID (all digits), an exact sessionId
    or Claude background jobId, an exact name, a sessionId prefix. When a rule matches
    several sessions and exactly one of them is alive, that one is meant.

    >>> from sessiontui.model.types import Session, Status
    >>> a = Session(key="a", pid=10, agent="claude", name="api", status=Status.IDLE,
    ...             session_id="534ded02-9aa5")
    >>> resolve_target([a], "534d").name
    'api'

    Args:
        sessions: Candidates (a snapshot's sessions).
        target: What the user typed.

    Returns:
        The session.

    Raises:
        TargetNotFound: Nothing matches.
        AmbiguousTarget: A rule matches several sessions (the message lists them).
    """
    target = target.strip()
    if not target:
        raise TargetNotFound("empty target")
    rules: list[Callable[[Session], bool]] = []
    if target.isdigit():
        rules.append(lambda s: s.pid == int(target))
    rules.append(lambda s: s.session_id == target or s.job_id == target)
    rules.append(lambda s: s.name == target)
    rules.append(lambda s: s.session_id is not None and s.session_id.startswith(target))
    for rule in rules:
        found = [s for s in sessions if rule(s)]
        if len(found) > 1:
            alive = [s for s in found if s.alive]
            if len(alive) == 1:
                return alive[0]
            listed = ", ".join(f"{printable(s.name)} (pid {s.pid})" for s in found[:5])
            raise AmbiguousTarget(f"{printable(target)!r} matches {len(found)} sessions: {listed}")
        if found:
            return found[0]
    raise TargetNotFound(f"no session matches {printable(target)!r}")
