"""The detail panel's fields: laid out by hand exactly as the Rich grid they replace."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text

from sessiontui.ui.widgets.detail import Fields, fold_path

LABELS = ("name", "status", "why", "transcript", "was named", "tasks", "")
WORDS = ("a", "bb", "/tmp/x/projects/-home-u-src/534ded02.jsonl", "x" * 70, "ünï", "日本語", "  ")
STYLES = ("", "red", "bold red", "dim")


def grid(rows: list[tuple[str, Text | str]]) -> Table:
    """What the panel drew before: a two-column Rich grid."""
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for label, value in rows:
        if value:
            table.add_row(label, Text(value) if isinstance(value, str) else value)
    return table


def cells(console: Console, renderable: Fields | Table, width: int) -> list[list[object]]:
    """Each rendered line as (character, style) pairs (no style and the null style alike)."""
    lines = console.render_lines(renderable, console.options.update_width(width), pad=False)
    return [
        [(char, seg.style or Style.null()) for seg in Segment.simplify(line) for char in seg.text]
        for line in lines
    ]


value = st.builds(
    lambda words, style, as_str: " ".join(words) if as_str else Text(" ".join(words), style),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=6),
    st.sampled_from(STYLES),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(LABELS), value), min_size=1, max_size=8),
    st.integers(min_value=20, max_value=140),
)
def test_fields_draw_like_the_grid(rows: list[tuple[str, Text | str]], width: int) -> None:
    console = Console(width=200, file=io.StringIO(), color_system="truecolor")
    fields = Fields(rows)
    shown = cells(console, fields, width)
    assert shown == cells(console, grid(rows), width)
    assert fields.height(console, width) == len(shown)
    # Textual counts the newlines of the segments for the widget's height.
    segments = console.render(fields, console.options.update_width(width))
    assert sum(seg.text.count("\n") for seg in segments) == len(shown)


def test_narrow_fields_fall_back_to_the_grid() -> None:
    console = Console(width=200, file=io.StringIO(), color_system="truecolor")
    rows: list[tuple[str, Text | str]] = [("transcript", "a b c"), ("name", Text("n", "red"))]
    fields = Fields(rows)
    assert fields.height(console, 15) is None  # 4 cells for the values: the grid decides
    assert cells(console, fields, 15) == cells(console, grid(rows), 15)
    assert fields.height(console, 0) is None


def test_a_str_value_is_never_markup() -> None:
    console = Console(width=80, file=io.StringIO(), color_system=None)
    console.print(Fields([("why", "[bold]x[/]"), ("name", "")]))
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert shown.startswith("why [bold]x[/]")
    assert "name" not in shown


def test_a_long_path_breaks_after_a_slash():
    lines = fold_path(Text("/root/.claude/sessions/105.json"), 27)
    assert [line.plain for line in lines] == ["/root/.claude/sessions/", "105.json"]


def test_a_name_longer_than_the_line_is_folded():
    lines = fold_path(Text("/a/" + "x" * 30), 12)  # "/a/" alone would waste the line
    assert [line.plain for line in lines] == ["/a/" + "x" * 9, "x" * 12, "x" * 9]


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("/ab.-日ü"), max_size=80),
    st.integers(min_value=2, max_value=40),
)
def test_folded_paths_lose_nothing_and_fit(path, width):
    lines = fold_path(Text(path), width)
    assert "".join(line.plain for line in lines) == path
    assert all(line.cell_len <= width for line in lines)


def test_path_rows_of_the_fields_break_after_a_slash():
    rows: list[tuple[str, Text | str]] = [
        ("name", "flaky-tests"),
        ("registry", "/root/.claude/sessions/105.json"),
    ]
    console = Console(width=36, file=io.StringIO(), color_system=None)
    console.print(Fields(rows, frozenset({"registry"})))
    shown = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert [line.rstrip() for line in shown] == [
        "name     flaky-tests",
        "registry /root/.claude/sessions/",
        "         105.json",
    ]
