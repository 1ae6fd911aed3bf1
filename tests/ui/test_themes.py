"""Themes: WCAG contrast of every text colour on every background, and ``theme`` in the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from rich.color import Color as RichColor
from rich.style import Style
from textual.color import Color

from sessiontui.config import THEME_NAMES, Config
from sessiontui.model.monitor import Monitor
from sessiontui.model.types import Status
from sessiontui.ui import render
from sessiontui.ui.app import make_app
from sessiontui.ui.messages import SnapshotChanged
from sessiontui.ui.themes import THEMES, UiTheme
from tests.ui.fixed_data import NOW, fixed_snapshot

if TYPE_CHECKING:
    from pathlib import Path

#: WCAG 2 AA for normal text.
MIN_CONTRAST = 4.5


def luminance(color: Color) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.r) + 0.7152 * channel(color.g) + 0.0722 * channel(color.b)


def contrast(a: Color, b: Color) -> float:
    """WCAG 2 contrast ratio, 1 to 21."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula() -> None:
    assert contrast(Color.parse("#000000"), Color.parse("#FFFFFF")) == pytest.approx(21.0)
    assert contrast(Color.parse("#777777"), Color.parse("#FFFFFF")) == pytest.approx(4.48, 0.01)
    # The old dead style ("dim red" on the dark panel) is what this check rejects.
    dim_red = Color.parse("#800000").blend(Color.parse("#242F38"), 0.5)
    assert contrast(dim_red, Color.parse("#242F38")) < MIN_CONTRAST


def text_pairs(theme: UiTheme) -> list[tuple[str, Color, Color]]:
    """(what, foreground, background) for every text the theme's cells and widgets draw."""
    variables = {**theme.textual.to_color_system().generate(), **theme.textual.variables}
    foreground = Color.parse(variables["foreground"])
    pairs: list[tuple[str, Color, Color]] = []
    cell_styles = {
        **{f"status {status.value}": style for status, style in theme.status.items()},
        "muted": theme.muted,
        "key": theme.key,
        "badge": theme.badge,
        "warning": theme.warning,
        "error": theme.error,
    }
    for what, text in cell_styles.items():
        style = Style.parse(text)
        assert not style.dim, f"{what}: dim halves the contrast"
        fg = Color.from_rich_color(style.color) if style.color else foreground
        if style.bgcolor is not None:  # a pill with its own background
            pairs.append((what, fg, Color.from_rich_color(style.bgcolor)))
            continue
        pairs += [(f"{what} on {bg}", fg, Color.parse(bg)) for bg in theme.backgrounds]
    for what in ("background", "surface", "panel"):
        pairs.append((f"foreground on {what}", foreground, Color.parse(variables[what])))
    footer = Color.parse(variables["footer-background"])
    for what in (
        "footer-key-foreground",
        "footer-description-foreground",
        "footer-disabled-foreground",
    ):
        pairs.append((what, Color.parse(variables[what]), footer))
    pairs.append(
        (
            "table cursor",
            Color.parse(variables["block-cursor-foreground"]),
            Color.parse(variables["block-cursor-background"]),
        )
    )
    return pairs


@pytest.mark.parametrize("name", ["dark", "light"])
def test_every_text_colour_has_at_least_4_5_to_1(name: str) -> None:
    low = [
        f"{what}: {contrast(fg, bg):.2f}:1"
        for what, fg, bg in text_pairs(THEMES[name])
        if contrast(fg, bg) < MIN_CONTRAST
    ]
    assert not low


def test_ansi_theme_uses_the_terminals_own_colours() -> None:
    """``ansi``: only ANSI colour names and the default colours, so the terminal decides."""
    theme = THEMES["ansi"]
    assert theme.textual.ansi
    assert theme.backgrounds == ()
    for text in [*theme.status.values(), theme.muted, theme.key, theme.badge]:
        style = Style.parse(text)
        assert not style.dim
        for color in (style.color, style.bgcolor):
            assert color is None or color.is_system_defined, text
    for text in (theme.warning, theme.error, theme.spark_min, theme.spark_max):
        assert RichColor.parse(text).is_system_defined


def test_every_config_theme_name_has_a_theme() -> None:
    assert tuple(THEMES) == THEME_NAMES
    for theme in THEMES.values():
        assert set(theme.status) == set(Status)


@pytest.mark.parametrize(
    ("name", "textual_name", "dark"),
    [
        (None, "sessiontui-dark", True),
        ("light", "sessiontui-light", False),
        ("ansi", "sessiontui-ansi", True),
    ],
)
async def test_config_theme_is_applied(tmp_path: Path, name, textual_name, dark) -> None:
    monitor = Monitor(sessions_dir=tmp_path / "sessions")
    app = make_app(monitor, clock=lambda: NOW, watch=False, config=Config(theme=name))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            app.post_message(SnapshotChanged(fixed_snapshot()))
            await pilot.pause()
            assert app.theme == textual_name
            assert app.current_theme.dark is dark
            assert dict(THEMES[name or "dark"].status) == render.STYLES
            assert app.native_ansi_color is (name == "ansi")
            background = app.screen.styles.background
            if name == "light":
                assert luminance(background) > 0.8  # a light background, not a dark one
    finally:
        render.use_theme(THEMES["dark"])
