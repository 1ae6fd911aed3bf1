"""The row of an exited Zellij session (kept for resurrection): its place whole, ``exited``."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual.widgets import Static

from sessiontui.ui import render
from sessiontui.ui.app import MainTable
from tests.ui.fixed_data import HOME
from tests.ui.test_snapshots import show_zellij, zellij_app
from tests.ui.world import select


@pytest.fixture(autouse=True)
def fixed_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "HOME", HOME)


@pytest.mark.parametrize("width", [50, 120])
async def test_exited_session_row_names_its_place_and_says_exited(tmp_path, width):
    app = zellij_app(tmp_path)
    async with app.run_test(size=(width, 24)) as pilot:
        await show_zellij(pilot)
        table = app.query_one(MainTable)
        rows = {app.snapshot.get(k).name: str(table.get_row(k)[0]) for k in table.row_keys}
        exited = rows["nightly"]
        if width >= 60:  # wide: STATUS word and WHERE
            assert "exited" in exited
            assert "zellij:nightly" in exited
            assert "(…" not in exited
            assert "…" not in exited
        assert "exited" not in rows["zellij-api"]
        await select(pilot, "nightly")
        await pilot.pause()
        console = Console(width=width, file=io.StringIO(), color_system=None)
        console.print(app.query_one("#detail-fields", Static).content)
        shown: str = console.file.getvalue()  # type: ignore[attr-defined]
        assert "zellij:nightly (exited)" in shown  # the detail panel keeps the full place
