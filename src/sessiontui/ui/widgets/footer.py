"""The footer: the keys that fit the width, with help and quit always shown at the right.

While a text input has focus, it shows the keys that work there instead (``⏎ Send``,
``esc Cancel``, ``^c Quit``), never a key the input would type as a character.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from textual.binding import Binding
from textual.keys import _character_to_key, key_to_character
from textual.widgets import Footer, Input, Static
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from textual.app import ComposeResult
    from textual.events import Resize
    from textual.screen import Screen
    from textual.widget import Widget

#: One key a text input's footer shows: ``(key, description)``, e.g. ``("enter", "Send")``.
InputKey = tuple[str, str]

#: Actions whose keys are never dropped: shown at the right end at every width.
PINNED_ACTIONS: tuple[str, ...] = ("help", "leave")
#: Below this many columns the footer is compact (less padding around each key).
COMPACT_WIDTH = 100
#: Below this many columns the command palette key is left out (``ctrl+p`` still opens the
#: palette; the help screen lists it).
PALETTE_WIDTH = 60


def key_width(key_display: str, description: str, *, compact: bool) -> int:
    """Cells one footer key takes: ``⏎ Attach`` with Textual's padding and margin.

    Args:
        key_display: The key as shown (``⏎``, ``?``, ``^p``).
        description: The binding's short description.
        compact: Compact footer style (no key padding, one cell of margin after the key).

    Returns:
        Width in terminal cells (the padding and margins of Textual's ``FooterKey`` CSS).
    """
    if compact:
        return cell_len(key_display) + 1 + cell_len(description) + 1
    return 1 + cell_len(key_display) + 1 + cell_len(description) + 1


class SessionFooter(Footer):
    """A :class:`Footer` that drops keys from the end of the action table to fit its width.

    Keys keep the action table's order (its first keys matter most); the keys of
    :data:`PINNED_ACTIONS` (``?`` help, ``q`` quit) are reserved room first and shown at the
    right end, so they are never cut. When not every key fits, dimmed keys (they do not
    apply to the selected row) are left out before keys that apply. Keys of ``contextual``
    actions are shown only while they apply (``D`` on a dead row).

    While a text :class:`~textual.widgets.Input` has focus, the footer shows that input's
    own keys (``input_keys``, by the input's id; the first ones at the left, the last one at
    the right), then the screen's shown keys the input does not take as a character (the
    command palette's ``^p``); ``/``, ``?`` and ``q`` would be typed, so they are left out.

    Args:
        contextual: Binding action names (``app.dismiss``) shown only while enabled.
        input_keys: Keys shown while the input with that id has focus, in display order;
            the last one is pinned at the right end (quit). Keys the input types as a
            character are left out.
    """

    DEFAULT_CSS: ClassVar[str] = """
    SessionFooter #footer-gap {
        width: 1fr;
        height: 1;
        background: transparent;
    }
    /* Dimmed keys in italics and a muted colour that keeps 4.5:1 (Textual's dim does not). */
    SessionFooter FooterKey.-disabled {
        text-style: italic;
        .footer-key--key, .footer-key--description {
            color: $footer-disabled-foreground;
        }
    }
    """

    _width = 0
    #: What the last compose drew from (:meth:`_state`), or ``None`` before the first one.
    _composed: tuple[object, ...] | None = None

    def __init__(
        self,
        *,
        contextual: frozenset[str] = frozenset(),
        input_keys: Mapping[str, tuple[InputKey, ...]] | None = None,
    ) -> None:
        super().__init__()
        self.contextual = contextual
        self.input_keys = dict(input_keys or {})

    def compose(self) -> ComposeResult:
        """The keys that fit, a gap, then the pinned keys."""
        if not self._bindings_ready:
            return
        self._composed = self._state()
        width = self.size.width or self.app.size.width
        compact = width < COMPACT_WIDTH
        self.set_reactive(Footer.compact, compact)
        self.set_class(compact, "-compact")
        self._width = width
        focused = self.screen.focused
        if isinstance(focused, Input):
            yield from self._input_footer(focused, width, compact)
            return
        seen: set[str] = set()
        keys: list[tuple[Binding, bool, str]] = []
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            hidden = binding.action in self.contextual and not enabled
            if binding.show and not hidden and binding.action not in seen:
                seen.add(binding.action)
                keys.append((binding, enabled, tooltip))
        pinned = [k for k in keys if k[0].action.removeprefix("app.") in PINNED_ACTIONS]
        rest = [k for k in keys if k not in pinned]
        palette = self._palette_key() if width >= PALETTE_WIDTH else None
        room = width - sum(self._width_of(b, compact) for b, _e, _t in pinned)
        if palette is not None:
            room -= self._width_of(palette[0], compact) + 2  # its padding and left border
        need = [self._width_of(binding, compact) for binding, _e, _t in rest]
        if sum(need) > room:  # dimmed keys go first, then keys from the end of the table
            room -= sum(n for n, (_b, enabled, _t) in zip(need, rest, strict=True) if enabled)
            keep = [enabled or False for _b, enabled, _t in rest]
            for index, (_b, enabled, _t) in enumerate(rest):
                if not enabled and need[index] <= room:
                    keep[index] = True
                    room -= need[index]
            while room < 0 and any(keep):
                last = max(i for i, k in enumerate(keep) if k)
                keep[last] = False
                room += need[last]
            rest = [key for key, kept in zip(rest, keep, strict=True) if kept]
        for binding, enabled, tooltip in rest:
            yield self._key(binding, enabled, tooltip)
        yield Static(id="footer-gap")
        for binding, enabled, tooltip in pinned:
            yield self._key(binding, enabled, tooltip)
        if palette is not None:
            yield self._palette(*palette)

    def _input_footer(self, focused: Input, width: int, compact: bool) -> Iterator[Widget]:
        """The keys that work while ``focused`` has focus (see the class docstring)."""
        own = [
            Binding(key, "", description)
            for key, description in self.input_keys.get(focused.id or "", ())
            if not _typed(focused, key, self.app.get_key_display(Binding(key, "")))
        ]
        pinned = own[-1:]
        rest = own[:-1]
        palette = self._palette_key() if width >= PALETTE_WIDTH else None
        if palette is not None and _typed(
            focused, palette[0].key, self.app.get_key_display(palette[0])
        ):
            palette = None
        room = width - sum(self._width_of(b, compact) for b in pinned)
        if palette is not None:
            room -= self._width_of(palette[0], compact) + 2
        for binding in rest:
            room -= self._width_of(binding, compact)
            if room < 0:
                break
            yield self._hint(binding)
        yield Static(id="footer-gap")
        for binding in pinned:
            yield self._hint(binding)
        if palette is not None:
            yield self._palette(*palette)

    def _hint(self, binding: Binding) -> FooterKey:
        """A footer key that is no binding of ours: clicking it presses the key."""
        return self._sized(
            FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                "",
                tooltip=binding.description,
            )
        )

    def _palette(self, binding: Binding, enabled: bool, _tooltip: str) -> FooterKey:
        return FooterKey(
            binding.key,
            self.app.get_key_display(binding),
            binding.description,
            binding.action,
            classes="-command-palette",
            disabled=not enabled,
            tooltip=binding.tooltip or binding.description,
        )

    def _width_of(self, binding: Binding, compact: bool) -> int:
        return key_width(self.app.get_key_display(binding), binding.description, compact=compact)

    def _key(self, binding: Binding, enabled: bool, tooltip: str) -> FooterKey:
        return self._sized(
            FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            )
        )

    def _sized(self, key: FooterKey) -> FooterKey:
        """``key`` in the footer's compact style (a width change recomposes the footer).

        Set before it mounts, not data-bound: a binding costs every key a watcher and a
        second restyle each time the footer is composed.
        """
        key.set_reactive(FooterKey.compact, self.compact)
        key.set_class(self.compact, "-compact")  # set_reactive skips the watcher that sets it
        return key

    def _palette_key(self) -> tuple[Binding, bool, str] | None:
        """The command palette's binding, when the app shows it."""
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            return None
        found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if found is None:
            return None
        _node, binding, enabled, tooltip = found
        return binding, enabled, tooltip

    def _state(self) -> tuple[object, ...]:
        """What :meth:`compose` draws from: the width, the focused input, the screen's keys."""
        focused = self.screen.focused
        return (
            self.size.width or self.app.size.width,
            focused.id if isinstance(focused, Input) else None,
            tuple(
                (binding, enabled, tooltip)
                for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
            ),
        )

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Recompose only when what the footer shows changed.

        The screen signals after every focus change and cursor move, and each recompose
        mounts every key again (about 15 ms; three times while the app starts).
        """
        if (
            self._composed is not None
            and screen is self.screen
            and self.is_attached
            and self._state() == self._composed
        ):
            return
        super().bindings_changed(screen)

    def on_resize(self, event: Resize) -> None:
        """Lay the keys out again for a new width."""
        if event.size.width != self._width and self._bindings_ready:
            self.call_after_refresh(self.recompose)


def _typed(widget: Widget, key: str, display: str) -> bool:
    """True when ``widget`` would take ``key`` as a character (typed, not a command).

    Textual knows no character for some key names (``slash``): a key shown as one character
    whose own key name it is (``/`` is ``slash``) counts as that character.
    """
    character = key_to_character(key)
    if character is None and len(display) == 1 and _character_to_key(display) == key:
        character = display
    return widget.check_consume_key(key, character)
