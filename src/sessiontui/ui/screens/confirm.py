"""A yes/no confirmation dialog (kill, quit), optionally with one more choice to tick."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Label

if TYPE_CHECKING:
    from textual.app import ComposeResult


class ConfirmScreen(ModalScreen[bool]):
    """Ask a question; dismisses with ``True`` only for an explicit yes (``y`` or the button).

    With ``option``, a checkbox (off by default, toggled with ``d``, or ``space`` when it
    has focus) offers one more thing to do; read :attr:`option_chosen` once the screen has
    answered yes.

    Args:
        question: Plain text (rendered without markup).
        yes_label: Text of the confirming button, e.g. ``Kill``.
        option: Plain text of the extra choice (e.g. also deleting what is kept), or ``None``.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", show=False),
        Binding("n,escape", "answer(False)", "No", show=False),
        Binding("d", "toggle_option", "Toggle the option", show=False),
    ]

    def __init__(self, question: str, *, yes_label: str = "Yes", option: str | None = None) -> None:
        super().__init__()
        self.question = question
        self.yes_label = yes_label
        self.option = option
        self.option_chosen = False
        """The option's checkbox was ticked when the user answered (always false without one)."""

    def compose(self) -> ComposeResult:
        """The question, the option if any, and two buttons; the safe one has focus."""
        with Vertical(id="dialog", classes="confirm"):
            yield Label(self.question, id="question", markup=False)
            if self.option is not None:
                yield Checkbox(f"{self.option} (d)", False, id="option")
            with Horizontal(id="buttons"):
                yield Button(f"{self.yes_label} (y)", variant="error", id="yes")
                yield Button("Cancel (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        """Focus Cancel so a stray enter does not confirm."""
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Answer with the pressed button."""
        self.action_answer(event.button.id == "yes")

    def action_toggle_option(self) -> None:
        """``d``: tick or untick the option (nothing without one)."""
        for box in self.query("#option").results(Checkbox):
            box.toggle()

    def action_answer(self, answer: bool) -> None:
        """Answer; a yes takes the option's state along."""
        if answer:
            boxes = list(self.query("#option").results(Checkbox))
            self.option_chosen = bool(boxes) and boxes[0].value
        self.dismiss(answer)
