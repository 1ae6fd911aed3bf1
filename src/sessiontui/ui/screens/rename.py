"""The rename dialog: an Input prefilled with the current name, validated before it closes."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label

from sessiontui.errors import InvalidName
from sessiontui.model.registry import validate_name
from sessiontui.model.text import printable

if TYPE_CHECKING:
    from textual.app import ComposeResult


class NameValidator(Validator):
    """Textual validator wrapping :func:`sessiontui.model.registry.validate_name`."""

    def validate(self, value: str) -> ValidationResult:
        """Fail with the model's message for empty, control-character or too-long names."""
        try:
            validate_name(value)
        except InvalidName as error:
            return self.failure(str(error))
        return self.success()


class RenameScreen(ModalScreen[str | None]):
    """Ask for a new name; dismisses with the cleaned name, or ``None`` when cancelled.

    Args:
        current: The session's current name (untrusted; shown as plain text).
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        """Title, input and a line for validation messages."""
        with Vertical(id="dialog", classes="rename"):
            yield Label(f"Rename {printable(self.current, max_len=60)}", markup=False)
            yield Input(
                value=printable(self.current),
                placeholder="new name",
                validators=[NameValidator()],
                validate_on=["changed", "submitted"],
                id="name",
            )
            yield Label("enter to rename, escape to cancel", id="message", markup=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        """Show why the name is not acceptable, as the user types."""
        self._show(event.validation_result)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Close with the name when it is valid; otherwise keep the dialog open."""
        if event.validation_result is not None and not event.validation_result.is_valid:
            self._show(event.validation_result)
            return
        self.dismiss(validate_name(event.value))

    def _show(self, result: ValidationResult | None) -> None:
        """Update the message line."""
        label = self.query_one("#message", Label)
        if result is None or result.is_valid:
            label.update("enter to rename, escape to cancel")
            label.remove_class("error")
        else:
            label.update("; ".join(result.failure_descriptions))
            label.add_class("error")

    def action_cancel(self) -> None:
        """Close without renaming."""
        self.dismiss(None)
