"""The ``?`` help screen: every key with what it does, as currently bound."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from sessiontui.model.text import printable
from sessiontui.ui import render
from sessiontui.ui.actions import ACTIONS

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from rich.console import Console, ConsoleOptions, RenderResult
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


#: Below this many cells of text width, each key is shown above its description (indented)
#: instead of beside it, so descriptions keep whole words on their lines.
STACKED_WIDTH = 56


class KeyList:
    """A titled list of ``(keys, description)`` pairs that fits any width (a Rich renderable).

    Wide: two columns, keys then descriptions. Narrow (under :data:`STACKED_WIDTH` cells):
    each key on its own line and its description under it, indented. Descriptions wrap on
    word boundaries; a single word longer than the line is folded.

    Args:
        title: The list's title.
        rows: ``(keys, description)`` pairs, plain text.
        key_style: Rich style of the keys.
    """

    def __init__(self, title: str, rows: Sequence[tuple[str, str]], key_style: str = "") -> None:
        self.title = title
        self.rows = list(rows)
        self.key_style = key_style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Two columns when they fit, else stacked."""
        if options.max_width >= STACKED_WIDTH:
            table = Table(title=self.title, show_header=False, box=None, padding=(0, 2))
            table.add_column(style=self.key_style, no_wrap=True)
            table.add_column(overflow="fold")
            for key, description in self.rows:
                table.add_row(Text(key), Text(description))
            yield table
            return
        parts: list[Text | Padding] = [Text(self.title, style="italic", justify="center")]
        for key, description in self.rows:
            parts.append(Text(key, style=self.key_style))
            parts.append(Padding(Text(description, overflow="fold"), (0, 0, 0, 2)))
        yield Group(*parts)


class HelpScreen(ModalScreen[None]):
    """Lists key bindings, status glyphs and current problems; escape, q or ? closes it.

    Args:
        keys: ``(keys, description)`` pairs in display order.
        problems: The model's messages now (untrusted text; the header line may cut them),
            listed whole under "Problems" when there are any.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close", show=False)
    ]

    def __init__(self, keys: Sequence[tuple[str, str]], problems: Sequence[str] = ()) -> None:
        super().__init__()
        self.keys = list(keys)
        self.problems = [printable(problem) for problem in problems]

    def compose(self) -> ComposeResult:
        """Problems (when any), keys and statuses."""
        with VerticalScroll(id="dialog", classes="help"):
            if self.problems:
                rows = [("⚠", problem) for problem in self.problems]
                warning = render.current_theme().warning
                yield Static(KeyList("Problems", rows, key_style=warning), id="help-problems")
            keys = KeyList("Keys", self.keys, key_style=render.current_theme().key)
            yield Static(keys, id="help-keys")
            yield Static(KeyList("Status", STATUS_HELP), id="help-status")
            yield Static("escape closes", classes="hint")

    def action_close(self) -> None:
        """Close the help screen."""
        self.dismiss(None)
