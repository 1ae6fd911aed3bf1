"""Nothing is fatal: duplicate registry files and failing workers leave the app running."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

from sessiontui.model.monitor import Monitor
from sessiontui.model.types import Status
from sessiontui.ui.app import MainTable, make_app
from tests.helpers import write_entry
from tests.ui.world import FAST, dead_pid, select, spawn_sleep, wait_for

if TYPE_CHECKING:
    from pathlib import Path


async def test_two_files_for_one_pid_are_listed_without_a_crash(tmp_path: Path):
    registry = tmp_path / "sessions"
    proc = spawn_sleep()
    try:
        path = write_entry(registry, proc.pid, name="canonical", status="idle")
        (registry / f"0{proc.pid}.json").write_bytes(
            path.read_bytes().replace(b"canonical", b"zero-padded")
        )
        app = make_app(Monitor(sessions_dir=registry, timing=FAST))
        async with app.run_test(size=(120, 30)) as pilot:
            table = app.query_one(MainTable)
            await wait_for(pilot, lambda: table.row_count == 2)
            names = {app.snapshot.get(key).name for key in table.row_keys}  # type: ignore[union-attr]
            assert names == {"canonical", "zero-padded"}
            # A status change reorders rows by sorting them in place; still both, no crash.
            write_entry(registry, proc.pid, name="canonical", status="waiting")
            await wait_for(
                pilot,
                lambda: app.snapshot.sessions and app.snapshot.sessions[0].status is Status.WAITING,
            )
            await pilot.pause()
            assert table.row_count == 2
            assert app.is_running
        assert not app.return_code  # None or 0: it did not crash
    finally:
        proc.kill()
        proc.wait()


async def test_an_unexpected_error_in_a_worker_is_a_notification(tmp_path: Path):
    registry = tmp_path / "sessions"
    write_entry(registry, dead_pid(), procStart="1", name="gone", status="idle")
    monitor = Monitor(sessions_dir=registry, timing=FAST)

    def broken(key: str) -> None:
        raise ValueError("boom from the model")

    monitor.dismiss = broken  # type: ignore[method-assign]
    app = make_app(monitor)
    notes: list[tuple[str, str]] = []
    notify = app.notify

    def recording(message: str, **options: object) -> None:
        notes.append((message, str(options.get("severity", "information"))))
        notify(message, **options)  # type: ignore[arg-type]

    app.notify = recording  # type: ignore[method-assign]
    async with app.run_test(size=(120, 30)) as pilot:
        await select(pilot, "gone")
        await pilot.press("D")
        await wait_for(pilot, lambda: any(severity == "error" for _, severity in notes))
        message = next(m for m, severity in notes if severity == "error")
        assert "ValueError: boom from the model" in message
        assert app.is_running
        # Still responsive: the selection and the table are intact.
        assert app.selected is not None
        assert app.selected.status is Status.DEAD
    assert not app.return_code  # None or 0: it did not crash


async def test_the_collector_waits_during_the_first_read_and_is_on_again_after_it(tmp_path: Path):
    registry = tmp_path / "sessions"
    for n in range(20):
        write_entry(registry, dead_pid(), procStart=str(10**12 + n), name=f"old-{n}")
    monitor = Monitor(sessions_dir=registry, timing=FAST)
    seen: list[bool] = []
    refresh = monitor.refresh

    def first_read() -> object:
        seen.append(gc.isenabled())
        return refresh()

    monitor.refresh = first_read  # type: ignore[assignment,method-assign]
    frozen = gc.get_freeze_count()
    app = make_app(monitor)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.query_one(MainTable).row_count == 20)
        await wait_for(pilot, lambda: gc.get_freeze_count() > frozen)
        await wait_for(pilot, gc.isenabled)
    assert seen == [False]
    assert gc.isenabled()


async def test_the_collector_is_on_again_after_a_failed_first_read(tmp_path: Path):
    monitor = Monitor(sessions_dir=tmp_path / "sessions", timing=FAST)

    def failing() -> None:
        assert not gc.isenabled()
        raise ValueError("first read broke")

    monitor.refresh = failing  # type: ignore[assignment,method-assign]
    app = make_app(monitor)
    notes: list[str] = []
    notify = app.notify

    def recording(message: str, **options: object) -> None:
        notes.append(message)
        notify(message, **options)  # type: ignore[arg-type]

    app.notify = recording  # type: ignore[method-assign]
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: any("first read broke" in n for n in notes))
        await wait_for(pilot, gc.isenabled)
        assert app.is_running
    assert gc.isenabled()
