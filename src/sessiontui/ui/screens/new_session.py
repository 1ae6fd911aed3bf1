"""The ``n`` dialog: name, directory and command of a new tmux-hosted background session."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from sessiontui.errors import InvalidName
from sessiontui.model.registry import validate_name
from sessiontui.ui.screens.rename import NameValidator

if TYPE_CHECKING:
    from textual.app import ComposeResult


@dataclass(frozen=True, slots=True)
class NewSessionRequest:
    """What the user asked for: a tmux session ``name`` running ``command`` in ``cwd``."""

    name: str
    cwd: str
    command: tuple[str, ...]


class NewSessionScreen(ModalScreen[NewSessionRequest | None]):
    """Ask for name, directory (default: the current one) and command (default ``claude``)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, *, cwd: str, command: str = "claude") -> None:
        super().__init__()
        self.default_cwd = cwd
        self.default_command = command

    def compose(self) -> ComposeResult:
        """Three inputs and a message line."""
        with Vertical(id="dialog", classes="new-session"):
            yield Label("New background session (tmux)", markup=False)
            yield Label("name", classes="field", markup=False)
            yield Input(placeholder="name", validators=[NameValidator()], id="name")
            yield Label("directory", classes="field", markup=False)
            yield Input(value=self.default_cwd, placeholder="directory", id="cwd")
            yield Label("command", classes="field", markup=False)
            yield Input(value=self.default_command, placeholder="command", id="command")
            yield Label("enter to start, escape to cancel", id="message", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in any field: validate everything and start, or say what is wrong."""
        event.stop()
        message = self.query_one("#message", Label)
        name = self.query_one("#name", Input).value
        cwd = self.query_one("#cwd", Input).value.strip() or self.default_cwd
        command = self.query_one("#command", Input).value.strip() or self.default_command
        try:
            clean = validate_name(name)
            argv = tuple(shlex.split(command))
        except (InvalidName, ValueError) as error:
            message.update(
                f"name: {error}" if isinstance(error, InvalidName) else f"command: {error}"
            )
            message.add_class("error")
            return
        if not Path(cwd).expanduser().is_dir():
            message.update(f"directory: {cwd} is not a directory")
            message.add_class("error")
            return
        if not argv:
            message.update("command: empty")
            message.add_class("error")
            return
        self.dismiss(NewSessionRequest(clean, str(Path(cwd).expanduser()), argv))

    def action_cancel(self) -> None:
        """Close without creating anything."""
        self.dismiss(None)
