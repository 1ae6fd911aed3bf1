"""The one table of user actions: footer bindings, help, palette and keymap ids are made from it.

Adding an action is one :class:`Action` line in :data:`ACTIONS` plus its ``action_<name>``
method on the app. This module imports no Textual at load time (the configuration reads
:data:`BINDING_IDS` from it, and ``sessiontui ls`` must not load Textual); :func:`bindings`
imports it when the UI builds its key bindings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sessiontui.model.prompts import PERMISSION_WAITS
from sessiontui.model.types import Status

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from textual.binding import BindingType

    from sessiontui.model.types import Session, Snapshot


@dataclass(frozen=True, slots=True)
class ActionContext:
    """What decides whether an action applies now (see :attr:`Action.applies`).

    Attributes:
        session: The session under the cursor, or ``None``.
        snapshot: The latest snapshot.
        can_go_back: A previous jump exists (``tab``).
        on_header: The cursor is on a group header row (``session`` is ``None``).
        grouped: The table is grouped (``g``), so it has group headers.
    """

    session: Session | None
    snapshot: Snapshot
    can_go_back: bool
    on_header: bool = False
    grouped: bool = False


def _reachable(c: ActionContext) -> bool:
    s = c.session
    return s is not None and s.alive and (s.mux is not None or s.job_id is not None)


def _renamable(c: ActionContext) -> bool:
    s = c.session
    return (
        s is not None
        and s.alive
        and (
            s.registry_path is not None
            or (s.mux is not None and s.mux.session_kind is not None)
            or (s.agent == "codex" and s.session_id is not None)  # kept in the names file
        )
    )


def _attach_or_fold(c: ActionContext) -> bool:
    return c.on_header or _reachable(c)


def _on_session(c: ActionContext) -> bool:
    return c.session is not None


def _on_header(c: ActionContext) -> bool:
    return c.on_header


def _grouped(c: ActionContext) -> bool:
    return c.grouped and (c.on_header or c.session is not None)


def _alive(c: ActionContext) -> bool:
    return c.session is not None and c.session.alive


def _dead(c: ActionContext) -> bool:
    return c.session is not None and c.session.status is Status.DEAD


def attach_blocker(c: ActionContext) -> str | None:
    """Why ``enter`` (attach) and ``d`` (detach) do not apply now, or ``None`` when they do."""
    s = c.session
    if s is None:
        return "no session is selected"
    if not s.alive:
        return f"{s.name} has ended: there is nothing to attach (D dismisses it)"
    if s.mux is None and s.job_id is None:
        return f"{s.name} runs in no tmux or Zellij pane and is no Claude background job"
    return None


def dismiss_blocker(c: ActionContext) -> str | None:
    """Why ``D`` (dismiss) does not apply now, or ``None`` when it does."""
    s = c.session
    if s is None:
        return "no session is selected"
    if s.status is not Status.DEAD:
        return f"{s.name} is {s.status.value}: only a dead session is dismissed (K kills)"
    return None


def alive_blocker(c: ActionContext) -> str | None:
    """Why ``x``/``K`` (end, kill) and ``r`` (rename) do not apply now, or ``None``."""
    s = c.session
    if s is None:
        return "no session is selected"
    if not s.alive:
        return f"{s.name} has ended (D dismisses it)"
    return None


def rename_blocker(c: ActionContext) -> str | None:
    """Why ``r`` (rename) does not apply now, or ``None`` when it does."""
    reason = alive_blocker(c)
    if reason is None and not _renamable(c):
        assert c.session is not None
        return f"{c.session.name} has no registry file or session sessiontui can rename"
    return reason


def _someone_waits(c: ActionContext) -> bool:
    return bool(c.snapshot.counts().get(Status.WAITING))


def _can_go_back(c: ActionContext) -> bool:
    return c.can_go_back


#: Agents whose permission boxes and interrupt key sessiontui knows (SPEC 4).
_PROMPT_AGENTS = ("claude", "codex")


def _pane_blocker(s: Session | None) -> str | None:
    """Why keys cannot be typed into ``s``'s pane, or ``None`` when they can."""
    if s is None:
        return "no session is selected"
    if not s.alive:
        return f"{s.name} has ended"
    if s.mux is None:
        if s.job_id:
            return "a Claude background job has no pane to type into; attach (enter) to answer"
        return f"{s.name} runs in no terminal pane"
    return None


def _asks_permission(s: Session) -> bool:
    return s.status is Status.WAITING and (s.waiting_for or "").lower() in PERMISSION_WAITS


def send_blocker(c: ActionContext) -> str | None:
    """Why ``s`` (send a reply) does not apply now, or ``None`` when it does.

    A Claude background job has no pane, but takes a reply through a hidden ``claude attach``.
    """
    s = c.session
    if s is not None and s.alive and s.mux is None and s.job_id:
        if _asks_permission(s):
            return f"{s.name} waits for a permission: attach (enter) to answer it"
        return None
    reason = _pane_blocker(s)
    if reason is None and s is not None and _asks_permission(s):
        return f"{s.name} shows a permission prompt: approve (a) or deny (A) it first"
    return reason


def answer_blocker(c: ActionContext) -> str | None:
    """Why ``a``/``A`` (approve, deny) do not apply now, or ``None`` when they do."""
    s = c.session
    reason = _pane_blocker(s)
    if reason is not None or s is None:
        return reason
    if s.agent not in _PROMPT_AGENTS:
        return f"sessiontui does not know the prompts of {s.agent}"
    if s.status is not Status.WAITING:
        return f"{s.name} is {s.status.value}, not waiting for a permission"
    if not _asks_permission(s):
        return f"{s.name} waits for {s.waiting_for or 'input'}, not for a permission"
    return None


def interrupt_blocker(c: ActionContext) -> str | None:
    """Why ``i`` (interrupt) does not apply now, or ``None`` when it does."""
    s = c.session
    reason = _pane_blocker(s)
    if reason is not None or s is None:
        return reason
    if s.agent not in _PROMPT_AGENTS:
        return f"sessiontui does not know the interrupt key of {s.agent}"
    if s.status is not Status.BUSY:
        return f"{s.name} is {s.status.value}; only a running turn is interrupted"
    return None


def _can_send(c: ActionContext) -> bool:
    return send_blocker(c) is None


def _can_answer(c: ActionContext) -> bool:
    return answer_blocker(c) is None


def _can_interrupt(c: ActionContext) -> bool:
    return interrupt_blocker(c) is None


@dataclass(frozen=True, slots=True)
class Action:
    """One user action.

    Attributes:
        id: Stable binding id, remappable in the config's ``[keymap]`` (``None``: fixed key).
        keys: Default keys, comma-separated (Textual key names).
        action: The app's action name (``action_<name>``).
        label: Short footer text.
        description: What it does, for the help screen and the command palette.
        title: Command palette title, or ``None`` to leave it out of the palette.
        scope: ``"table"`` keys work while the session table has focus (they act on its
            row); ``"app"`` keys work everywhere.
        show: Shown in the footer.
        priority: Checked before any focused widget's own keys (``ctrl+c``, ``ctrl+q``).
        per_key: Each key passes itself as the argument: ``"1"`` runs ``action(1)``.
        help_keys: How the help screen shows the keys (default: as currently bound).
        applies: When the action applies; ``None``: always. A key that does not apply is
            dimmed in the footer and does nothing.
        why_not: The reason the action does not apply now (shown when its dimmed key is
            pressed), or ``None`` when it applies; ``None`` here: no reason is told.
        contextual: Shown in the footer only while it applies (``D`` on a dead row).
    """

    id: str | None
    keys: str
    action: str
    label: str
    description: str
    title: str | None = None
    scope: Literal["table", "app"] = "table"
    show: bool = True
    priority: bool = False
    per_key: bool = False
    help_keys: str | None = None
    applies: Callable[[ActionContext], bool] | None = None
    why_not: Callable[[ActionContext], str | None] | None = None
    contextual: bool = False


# fmt: off
ACTIONS: tuple[Action, ...] = (
    Action(None, "1,2,3,4,5,6,7,8,9", "jump", "Attach n-th", "Attach to the n-th session (the number shown at the left of its row)", show=False, per_key=True, help_keys="1 … 9"),  # noqa: E501
    Action("attach", "enter", "attach", "Attach", "Attach: jump to the session's tmux pane", "Attach", applies=_attach_or_fold, why_not=attach_blocker),  # noqa: E501
    Action("detach", "d", "detach", "Detach", "Detach every client from the session's tmux session (it keeps running)", "Detach", applies=_reachable, why_not=attach_blocker),  # noqa: E501
    Action("rename", "r", "rename", "Rename", "Rename the session (and the tmux session sessiontui made for it)", "Rename", applies=_renamable, why_not=rename_blocker),  # noqa: E501
    Action("end", "x", "end", "End", "End: detach a background session; confirm a kill for others", "End", applies=_alive, why_not=alive_blocker),  # noqa: E501
    Action("kill", "K", "kill", "Kill", "Kill, confirmed: SIGTERM, grace period, then SIGKILL", "Kill", applies=_alive, why_not=alive_blocker),  # noqa: E501
    Action("send", "s", "send", "Send", "Send a one-line reply to the session's pane (enter sends, escape cancels)", "Send a reply", applies=_can_send, why_not=send_blocker),  # noqa: E501
    Action("approve", "a", "approve", "Approve", "Approve: choose the permission prompt's own \"Yes\" (checked on a fresh capture)", "Approve", applies=_can_answer, why_not=answer_blocker),  # noqa: E501
    Action("deny", "A", "deny", "Deny", "Deny: choose the permission prompt's own \"No\" (checked on a fresh capture)", "Deny", applies=_can_answer, why_not=answer_blocker),  # noqa: E501
    Action("interrupt", "i", "interrupt", "Interrupt", "Interrupt the running turn with the agent's own key (Escape); K kills", "Interrupt", applies=_can_interrupt, why_not=interrupt_blocker),  # noqa: E501
    Action("dismiss", "D", "dismiss", "Dismiss", "Dismiss a dead session (removes its registry file once verified dead; an exited Zellij session: deleted, confirmed)", "Dismiss", applies=_dead, why_not=dismiss_blocker, contextual=True),  # noqa: E501
    Action("jump_waiting", "w", "jump_waiting", "Waiting", "Attach the next session waiting for input (cycles)", "Next waiting", applies=_someone_waits),  # noqa: E501
    Action("jump_back", "tab", "jump_back", "Back", "Back to the session attached before", "Back", show=False, applies=_can_go_back),  # noqa: E501
    Action("sort", "o", "cycle_sort", "Sort", "Sort order: urgency, project, last activity (cycles; pinned sessions first)", "Cycle sort order", show=False),  # noqa: E501
    Action("group", "g", "cycle_group", "Group", "Group by project (git repository), by multiplexer session, by host (with remote rows), or not (cycles)", "Cycle grouping", show=False),  # noqa: E501
    Action("pin", "p", "toggle_pin", "Pin", "Pin or unpin the session: pinned sessions come first (kept across restarts)", "Pin / unpin session", show=False, applies=_on_session),  # noqa: E501
    Action("fold", "space", "fold", "Fold", "Fold or unfold the group under the cursor (enter on its header too)", "Fold group", show=False, applies=_on_header),  # noqa: E501
    Action("collapse", "left", "collapse", "Fold", "Fold the group of the row under the cursor", show=False, applies=_grouped),  # noqa: E501
    Action("expand", "right", "expand", "Unfold", "Unfold the group under the cursor", show=False, applies=_on_header),  # noqa: E501
    Action("new", "n", "new_session", "New", "New background session in tmux (name, directory, command)", "New background session"),  # noqa: E501
    Action("filter", "slash", "filter", "Filter", "Filter: text in name or cwd; s:waiting a:claude k:bg w:tmux:work (escape clears)", "Filter", scope="app"),  # noqa: E501
    Action("help", "question_mark", "help", "Help", "This help", scope="app"),
    Action("quit", "q", "leave", "Quit", "Quit (the --bg monitor keeps running and returns you to your last session)", scope="app"),  # noqa: E501
    Action(None, "ctrl+c", "leave", "Quit", "Quit (the --bg monitor keeps running and returns you to your last session)", scope="app", show=False, priority=True),  # noqa: E501
    Action("quit_bg", "ctrl+q", "really_quit", "Quit", "Quit, also the --bg monitor (asks first)", scope="app", show=False, priority=True),  # noqa: E501
)
# fmt: on

#: Binding ids the config's ``[keymap]`` may remap, in table order.
BINDING_IDS: tuple[str, ...] = tuple(a.id for a in ACTIONS if a.id is not None)

#: Actions by their app action name (the first entry wins for shared names).
BY_ACTION: dict[str, Action] = {}
for _entry in ACTIONS:
    BY_ACTION.setdefault(_entry.action, _entry)


def bindings(scope: Literal["table", "app"]) -> list[BindingType]:
    """The Textual bindings of one scope, in table order.

    Table-scope bindings run the app's action (``app.<name>``) so the table can own the keys
    while the app owns the behaviour.

    Args:
        scope: ``"table"`` or ``"app"``.

    Returns:
        ``Binding`` objects carrying the action ids (for ``App.set_keymap``).
    """
    from textual.binding import Binding

    prefix = "app." if scope == "table" else ""
    out: list[BindingType] = []
    for entry in ACTIONS:
        if entry.scope != scope:
            continue
        if entry.per_key:
            out += [
                Binding(
                    key,
                    f"{prefix}{entry.action}({key})",
                    f"{entry.label} {key}",
                    show=entry.show,
                    priority=entry.priority,
                )
                for key in entry.keys.split(",")
            ]
            continue
        out.append(
            Binding(
                entry.keys,
                f"{prefix}{entry.action}",
                entry.label,
                show=entry.show,
                priority=entry.priority,
                id=entry.id,
            )
        )
    return out


def contextual_actions(scope: Literal["table", "app"]) -> frozenset[str]:
    """Binding actions (as :func:`bindings` names them) the footer shows only while they apply."""
    prefix = "app." if scope == "table" else ""
    return frozenset(f"{prefix}{a.action}" for a in ACTIONS if a.contextual and a.scope == scope)


def applies(action: str, context: ActionContext) -> bool:
    """True when the app action ``action`` applies now (unknown actions always apply)."""
    entry = BY_ACTION.get(action)
    return entry is None or entry.applies is None or entry.applies(context)


def why_not(action: str, context: ActionContext) -> str | None:
    """Why the app action ``action`` does not apply now (``None``: it applies, or no reason)."""
    entry = BY_ACTION.get(action)
    if entry is None or entry.why_not is None:
        return None
    return entry.why_not(context)


def applicability(context: ActionContext) -> tuple[bool, ...]:
    """Whether each action applies now, in table order (the footer's state; cheap)."""
    return tuple(entry.applies is None or entry.applies(context) for entry in ACTIONS)


def key_conflicts(keymap: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """Keys that would run two different actions once ``keymap`` is applied (SPEC 7: an error).

    Every action keeps its default keys unless ``keymap`` names its binding id; the fixed
    keys (``1``-``9``, ``ctrl+c``) cannot be remapped. So ``attach = "d"`` conflicts with
    ``detach``'s default ``d`` unless ``detach`` is remapped too.

    Args:
        keymap: Binding id -> comma-separated keys (ids not in the table are ignored).

    Returns:
        ``(key, first, second)`` per conflict, in table order: the key and the binding ids (or
        action names, for fixed keys) of the two actions.
    """
    owner: dict[str, tuple[str, str]] = {}  # key -> (action, who)
    conflicts: list[tuple[str, str, str]] = []
    for entry in ACTIONS:
        keys = keymap[entry.id] if entry.id is not None and entry.id in keymap else entry.keys
        who = entry.id or entry.action
        for key in keys.split(","):
            first = owner.setdefault(key, (entry.action, who))
            if first[0] != entry.action:
                conflicts.append((key, first[1], who))
    return conflicts


def palette() -> list[Action]:
    """The actions shown in the command palette, in table order."""
    return [entry for entry in ACTIONS if entry.title is not None]
