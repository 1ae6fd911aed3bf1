"""The ``?`` help screen: every key with what it does, as currently bound."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from sessiontui.ui.actions import ACTIONS

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from textual.app import ComposeResult

STATUS_HELP = (
    ("◆ waiting", "the agent waits for you (permission prompt, question, dialog)"),
    ("● busy", "working"),
    ("◐ shell", "idle, with a background shell task"),
    ("○ idle", "ready for a prompt"),
    ("✕ dead", "process gone (or its PID reused); D dismisses"),
)


def action_rows(
    key_display: Callable[[str], str], keymap: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """The help screen's key rows, made from the action table (one row per app action).

    Args:
        key_display: How a single key is shown (e.g. ``App.get_key_display`` of a binding).
        keymap: The user's remapped keys by binding id (they replace the defaults).

    Returns:
        ``(keys, description)`` pairs: moving the cursor first, the palette last.
    """
    rows = [("↑ ↓ pgup pgdn", "Move the selection")]
    shown: dict[str, list[str]] = {}
    descriptions: dict[str, str] = {}
    for entry in ACTIONS:
        descriptions.setdefault(entry.action, entry.description)
        keys = (keymap or {}).get(entry.id, entry.keys) if entry.id else entry.keys
        if entry.help_keys is not None:
            shown.setdefault(entry.action, []).append(entry.help_keys)
        else:
            shown.setdefault(entry.action, []).extend(key_display(k) for k in keys.split(","))
    rows += [(", ".join(keys), descriptions[action]) for action, keys in shown.items()]
    rows.append(("ctrl+p", "Command palette"))
    return rows


class HelpScreen(ModalScreen[None]):
    """Lists key bindings and status glyphs; any of escape, q, ? closes it.

    Args:
        keys: ``(keys, description)`` pairs in display order.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close", show=False)
    ]

    def __init__(self, keys: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = list(keys)

    def compose(self) -> ComposeResult:
        """Two tables: keys and statuses."""
        table = Table(title="Keys", show_header=False, box=None, padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, description in self.keys:
            table.add_row(key, description)
        statuses = Table(title="Status", show_header=False, box=None, padding=(0, 2))
        statuses.add_column(no_wrap=True)
        statuses.add_column()
        for glyph, meaning in STATUS_HELP:
            statuses.add_row(glyph, meaning)
        with VerticalScroll(id="dialog", classes="help"):
            yield Static(table)
            yield Static(statuses)
            yield Static("escape closes", classes="hint")

    def action_close(self) -> None:
        """Close the help screen."""
        self.dismiss(None)
