"""The ``n`` dialog: name, directory, command (and multiplexer) of a new background session."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select

from sessiontui.errors import InvalidName
from sessiontui.model.registry import validate_name
from sessiontui.ui.screens.rename import NameValidator

if TYPE_CHECKING:
    from textual.app import ComposeResult


@dataclass(frozen=True, slots=True)
class NewSessionRequest:
    """What the user asked for: a session ``name`` of ``mux`` running ``command`` in ``cwd``.

    Attributes:
        name: The session name (validated).
        cwd: The working directory (exists).
        command: The argv.
        mux: The multiplexer to host it: ``tmux`` or ``zellij``.
    """

    name: str
    cwd: str
    command: tuple[str, ...]
    mux: str = "tmux"


class NewSessionScreen(ModalScreen[NewSessionRequest | None]):
    """Ask for name, directory (default: the current one) and command (default ``claude``).

    With more than one kind of multiplexer in view, also which one hosts the session.

    Args:
        cwd: The directory offered.
        command: The command offered.
        muxes: The multiplexer kinds that can host it (``tmux``, ``zellij``), in order.
        mux: The one chosen at first (default: the first of ``muxes``).
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(
        self,
        *,
        cwd: str,
        command: str = "claude",
        muxes: tuple[str, ...] = ("tmux",),
        mux: str | None = None,
    ) -> None:
        super().__init__()
        self.default_cwd = cwd
        self.default_command = command
        self.muxes = muxes or ("tmux",)
        self.default_mux = mux if mux in self.muxes else self.muxes[0]

    def compose(self) -> ComposeResult:
        """Three inputs and a message line."""
        with Vertical(id="dialog", classes="new-session"):
            title = self.muxes[0] if len(self.muxes) == 1 else "tmux or Zellij"
            yield Label(f"New background session ({title})", markup=False)
            yield Label("name", classes="field", markup=False)
            yield Input(placeholder="name", validators=[NameValidator()], id="name")
            yield Label("directory", classes="field", markup=False)
            yield Input(value=self.default_cwd, placeholder="directory", id="cwd")
            yield Label("command", classes="field", markup=False)
            yield Input(value=self.default_command, placeholder="command", id="command")
            if len(self.muxes) > 1:
                yield Label("multiplexer", classes="field", markup=False)
                yield Select(
                    [(kind, kind) for kind in self.muxes],
                    value=self.default_mux,
                    allow_blank=False,
                    id="mux",
                )
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
        self.dismiss(NewSessionRequest(clean, str(Path(cwd).expanduser()), argv, self._mux()))

    def _mux(self) -> str:
        """The multiplexer chosen (the only one when there is no choice)."""
        if len(self.muxes) == 1:
            return self.muxes[0]
        value = self.query_one("#mux", Select).value
        return value if isinstance(value, str) and value in self.muxes else self.default_mux

    def action_cancel(self) -> None:
        """Close without creating anything."""
        self.dismiss(None)
