"""The three themes of config ``theme``: ``dark``, ``light`` and ``ansi`` (the terminal's colours).

Each :class:`UiTheme` pairs a Textual :class:`~textual.theme.Theme` (widgets, footer, cursor)
with the Rich styles sessiontui's own cells use (status words, muted text, sparkline ends).
The ``dark`` and ``light`` colours are explicit so their contrast can be checked (WCAG 2
ratio at least 4.5:1 for every text colour on every background it is drawn on, see
``tests/ui/test_themes.py``). ``ansi`` is Textual's ``ansi-dark`` theme (``Theme.ansi``: the
terminal's own 16 colours and default foreground/background are used, not converted to
RGB); its cells use ANSI colour names and never ``dim``, so the terminal's palette decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from textual.theme import BUILTIN_THEMES, Theme

from sessiontui.config import THEME_NAMES
from sessiontui.model.types import Status

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True, slots=True)
class UiTheme:
    """One theme: the Textual theme and the Rich styles of sessiontui's cells.

    Attributes:
        name: The config name (``dark``, ``light``, ``ansi``).
        textual: The Textual theme the app switches to.
        status: Rich style of each status word and glyph (``"bold #5fd75f"``).
        muted: Rich style of secondary text (a dead session's name, hints, the preview).
        key: Rich style of a key name on the help screen.
        badge: Rich style of the subagent count after a name (``↳3``).
        warning: Rich colour of warnings (a problem with a file, a message in the header).
        error: Rich colour of errors (a session's health problem).
        spark_min: Colour of an empty sparkline bar (a Rich colour: ``#rrggbb`` or a name).
        spark_max: Colour of a full sparkline bar.
        backgrounds: Background colours (``#rrggbb``) the cells are drawn on: the table, the
            header line, the panels (for the contrast check; empty for ``ansi``).
    """

    name: str
    textual: Theme
    status: Mapping[Status, str]
    muted: str
    key: str
    badge: str
    warning: str
    error: str
    spark_min: str
    spark_max: str
    backgrounds: tuple[str, ...] = field(default=())


_DARK = Theme(
    name="sessiontui-dark",
    primary="#0178D4",
    secondary="#004578",
    accent="#FFA62B",
    warning="#FFA62B",
    error="#E06C75",
    success="#4EBF71",
    foreground="#E0E0E0",
    background="#121212",
    surface="#1E1E1E",
    panel="#242F38",
    dark=True,
    variables={
        "footer-background": "#242F38",
        "footer-key-foreground": "#FFA62B",
        "footer-description-foreground": "#E0E0E0",
        "block-cursor-background": "#005A9E",
        "block-cursor-foreground": "#FFFFFF",
        "footer-disabled-foreground": "#A0A8B0",
    },
)

_LIGHT = Theme(
    name="sessiontui-light",
    primary="#0B5CAD",
    secondary="#0178D4",
    accent="#8A4B00",
    warning="#8A4B00",
    error="#B3261E",
    success="#176F2C",
    foreground="#1B1B1B",
    background="#F5F5F5",
    surface="#FFFFFF",
    panel="#E4E9F0",
    dark=False,
    variables={
        "footer-background": "#E4E9F0",
        "footer-key-foreground": "#0B4F94",
        "footer-description-foreground": "#1B1B1B",
        "block-cursor-background": "#0B5CAD",
        "block-cursor-foreground": "#FFFFFF",
        "footer-disabled-foreground": "#555B61",
    },
)

#: Textual's own ANSI theme, plus the colour of dimmed footer keys (the default foreground: they
#: are told apart by italics, see ``SessionFooter``).
_ANSI = replace(
    BUILTIN_THEMES["ansi-dark"],
    name="sessiontui-ansi",
    variables={
        **BUILTIN_THEMES["ansi-dark"].variables,
        "footer-disabled-foreground": "ansi_default",
    },
)

THEMES: dict[str, UiTheme] = {
    "dark": UiTheme(
        name="dark",
        textual=_DARK,
        status={
            Status.WAITING: "bold #121212 on #F5C542",
            Status.BUSY: "bold #5FD75F",
            Status.SHELL: "#5FD7D7",
            Status.IDLE: "",
            Status.UNKNOWN: "#A8A8A8",
            Status.DEAD: "#FF8A80",
        },
        muted="#A8A8A8",
        key="bold #FFA62B",
        badge="bold #E08AE0",
        warning="#F5C542",
        error="#FF8A80",
        spark_min="#3A3A3A",
        spark_max="#5FD75F",
        backgrounds=("#121212", "#1E1E1E", "#242F38"),
    ),
    "light": UiTheme(
        name="light",
        textual=_LIGHT,
        status={
            Status.WAITING: "bold #000000 on #F5C542",
            Status.BUSY: "bold #176F2C",
            Status.SHELL: "#0B6570",
            Status.IDLE: "",
            Status.UNKNOWN: "#595959",
            Status.DEAD: "#B3261E",
        },
        muted="#595959",
        key="bold #0B4F94",
        badge="bold #8E24AA",
        warning="#8A4B00",
        error="#B3261E",
        spark_min="#C8C8C8",
        spark_max="#176F2C",
        backgrounds=("#F5F5F5", "#FFFFFF", "#E4E9F0"),
    ),
    "ansi": UiTheme(
        name="ansi",
        textual=_ANSI,
        status={
            Status.WAITING: "bold black on yellow",
            Status.BUSY: "bold green",
            Status.SHELL: "cyan",
            Status.IDLE: "",
            Status.UNKNOWN: "italic",
            Status.DEAD: "red",
        },
        muted="italic",
        key="bold",
        badge="bold magenta",
        warning="yellow",
        error="red",
        spark_min="bright_black",
        spark_max="green",
    ),
}
assert tuple(THEMES) == THEME_NAMES

#: sessiontui's own CSS variables with the values used before a theme of this module is set.
THEME_VARIABLE_DEFAULTS: Mapping[str, str] = {"footer-disabled-foreground": "#A0A8B0"}

#: The theme used when the config names none.
DEFAULT_THEME = "dark"


def theme_named(name: str | None) -> UiTheme:
    """The theme called ``name`` (config ``theme``); ``None`` gives :data:`DEFAULT_THEME`.

    Raises:
        KeyError: An unknown name (the configuration rejects those before the UI starts).
    """
    return THEMES[name or DEFAULT_THEME]
