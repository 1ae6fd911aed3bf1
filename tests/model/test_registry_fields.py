"""Claude Code's newer registry fields (SPEC 2.1, issue 8 item 2) on real files and processes.

``tmux`` (a verified hint to the pane), ``spare`` (hidden pre-warmed workers), ``waitingFor:
elicitation``, ``parkedJobId``, ``formerNames`` and background jobs' ``jobs/<id>/state.json``.
Panes are :class:`PaneInfo` values such as a poll returns; the processes behind them are real.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.helpers import wait_until, write_entry

from sessiontui.errors import KillRefused, NotApplicable
from sessiontui.model.job_state import (
    MAX_STATE_BYTES,
    JobStateReader,
    parse_job_state,
    state_path,
)
from sessiontui.model.monitor import Monitor, MonitorTiming
from sessiontui.model.processes import local_pid_domain
from sessiontui.model.registry import parse_entry, parse_tmux_field
from sessiontui.model.store import FOREIGN_PID, SessionStore
from sessiontui.model.types import PaneInfo, Status
from sessiontui.model.wire import session_json
from sessiontui.mux.tmux import TmuxBackend

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    import libtmux

JOB = "a1b2c3d4"

#: A state.json as Claude Code 2.1.332 writes one for a job with two subagents.
STATE = {
    "state": "working",
    "detail": "running the test suite",
    "fan": [
        {"id": "t1", "kind": "subagent", "label": "explore the repo", "startedAt": 1795271260638},
        {
            "id": "t2",
            "kind": "bash",
            "label": "npm test",
            "startedAt": 1795271260638,
            "doneAt": 1795271270638,
        },
        {"id": "t3", "kind": "subagent", "label": "[bold]x\x1b]0;t\x07", "startedAt": 1},
        {"id": "t4", "kind": "subagent", "label": "broke", "failed": True},
        "not an object",
    ],
    "tokens": {"input": 1200, "output": 340, "bogus": "x"},
    "name": JOB,
    "updatedAt": 1795271276089,
}


def write_state(base: Path, job_id: str, state: object) -> Path:
    """Write ``<base>/jobs/<id>/state.json`` compactly, as Claude does."""
    folder = base / "jobs" / job_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "state.json"
    data = state if isinstance(state, bytes) else json.dumps(state, separators=(",", ":"))
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def pane(pane_id: str, pane_pid: int, server: str = "/tmp/tmux-0/default") -> PaneInfo:
    """A pane as one ``list-panes`` poll reports it."""
    return PaneInfo(
        pane_id=pane_id,
        pane_pid=pane_pid,
        pane_tty="/dev/null",
        session_id="$0",
        session_name="work",
        window_index="0",
        window_id="@0",
        pane_index="0",
        current_command="claude",
        session_attached=0,
        server=server,
    )


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    """A ``sleep`` whose parent is this test process (so our PID is its pane PID)."""
    proc = subprocess.Popen(["sleep", "300"])
    yield proc
    proc.kill()
    proc.wait()


# -- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["work:@0.%0", "a.b-c_d:@12.%345", "w:0.0", "x:@999999.%999999", "s" * 64 + ":@1.%2"],
)
def test_tmux_field_accepts_the_strict_form(value: str) -> None:
    assert parse_tmux_field(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "work",
        "work:@0",
        "work:@0.%0\n",
        "work:@0.%0 ",
        "wo rk:@0.%0",
        "work:@0.%1234567",
        "s" * 65 + ":@1.%2",
        "work:$0.%0",
        "wörk:@0.%0",
        "work:@\u0660.%\u0660",  # Arabic-Indic digits are no ASCII digits
        "-t=work:@0.%0;kill",
        12,
        None,
        ["work:@0.%0"],
    ],
)
def test_tmux_field_rejects_anything_else(value: object) -> None:
    assert parse_tmux_field(value) is None


def test_parse_entry_reads_the_newer_fields(registry: Path) -> None:
    data = {
        "pid": 4242,
        "tmux": "work:@3.%7",
        "spare": True,
        "parkedJobId": JOB,
        "formerNames": ["old-name", 5, "\x1b]0;pwned\x07", None],
        "pidDomain": "linux:abc:pid:[4026531836]",
    }
    entry = parse_entry(registry / "4242.json", json.dumps(data).encode())
    assert entry.tmux == "work:@3.%7"
    assert entry.tmux_pane == "%7"
    assert entry.spare is True
    assert entry.parked_job_id == JOB
    assert entry.former_names == ("old-name", "\x1b]0;pwned\x07")  # kept verbatim, shown plain
    assert entry.extra == {"pidDomain": "linux:abc:pid:[4026531836]"}


@pytest.mark.parametrize("spare", ["true", 1, "yes", None, False])
def test_only_json_true_is_spare(registry: Path, spare: object) -> None:
    data = json.dumps({"pid": 10, "spare": spare, "tmux": "bad", "formerNames": "x"})
    entry = parse_entry(registry / "10.json", data.encode())
    assert (entry.spare, entry.tmux, entry.former_names) == (False, None, ())


def test_a_pane_id_without_percent_is_normalized(registry: Path) -> None:
    entry = parse_entry(registry / "10.json", b'{"pid":10,"tmux":"w:0.12"}')
    assert entry.tmux_pane == "%12"


# -- state.json ------------------------------------------------------------------------


def test_state_json_is_parsed_defensively(tmp_path: Path) -> None:
    path = write_state(tmp_path, JOB, STATE)
    job = parse_job_state(path, path.read_bytes())
    assert (job.state, job.detail, job.problem) == ("working", "running the test suite", None)
    assert [task.id for task in job.fan] == ["t1", "t2", "t3", "t4"]
    assert [task.running for task in job.fan] == [True, False, True, False]
    assert job.running_tasks == 2
    assert job.tokens == (("input", 1200), ("output", 340))
    assert parse_job_state(path, b'{"tokens": 99}').tokens == (("total", 99),)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty file"),
        (b'{"state":"work', "not JSON"),
        (b"[1,2]", "not a JSON object"),
        (b"\xff\xfe", "invalid UTF-8"),
        (b'{"state": NaN}', "not JSON"),
        (b"[" * 200_000, "not JSON"),
    ],
)
def test_broken_state_json_is_a_problem_never_an_exception(
    tmp_path: Path, data: bytes, problem: str
) -> None:
    assert parse_job_state(tmp_path / "state.json", data).problem == problem


@settings(
    max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=4000))
def test_random_state_bytes_never_raise(tmp_path: Path, data: bytes) -> None:
    path = write_state(tmp_path, JOB, data)
    job = JobStateReader(unreadable_after_s=0.0).read(path)
    assert job is not None
    assert job.problem is not None or isinstance(job.fan, tuple)


@settings(max_examples=200, deadline=2000)
@given(
    obj=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=30,
    )
)
def test_random_json_shapes_never_raise(obj: object) -> None:
    data = json.dumps({"state": obj, "detail": obj, "fan": [obj, obj], "tokens": obj})
    job = parse_job_state(Path("/x/state.json"), data.encode())
    assert job.problem is None or job.problem == "not JSON"


def test_job_ids_that_could_name_another_directory_are_refused(tmp_path: Path) -> None:
    assert state_path(tmp_path, "../../etc") is None
    assert state_path(tmp_path, "abc") is None  # too short: a prefix of another job
    assert state_path(tmp_path, JOB) == tmp_path / "jobs" / JOB / "state.json"


def test_reader_keeps_the_last_good_state_then_reports(tmp_path: Path) -> None:
    now = [100.0]
    reader = JobStateReader(clock=lambda: now[0], unreadable_after_s=2.0)
    path = write_state(tmp_path, JOB, STATE)
    good = reader.read(path)
    assert good is not None
    assert good.state == "working"
    path.write_bytes(b'{"state":"wor')  # half-written, as Claude's truncate-and-write shows
    assert reader.read(path) == good
    now[0] += 2.5
    broken = reader.read(path)
    assert broken is not None
    assert broken.problem == "not JSON"
    write_state(tmp_path, JOB, {**STATE, "state": "done"})
    again = reader.read(path)
    assert again is not None
    assert (again.state, again.problem) == ("done", None)
    path.unlink()
    assert reader.read(path) is None


def test_reader_refuses_large_and_odd_files(tmp_path: Path) -> None:
    reader = JobStateReader(unreadable_after_s=0.0)
    path = write_state(tmp_path, JOB, b" " * (MAX_STATE_BYTES + 1))
    big = reader.read(path)
    assert big is not None
    assert big.problem is not None
    assert big.problem.startswith("too large")
    path.unlink()
    path.mkdir()
    odd = reader.read(path)
    assert odd is not None
    assert odd.problem == "not a regular file"
    path.rmdir()
    os.mkfifo(path)
    fifo = reader.read(path)  # never blocks on a FIFO
    assert fifo is not None
    assert fifo.problem is not None
    path.unlink()
    path.symlink_to(tmp_path / "elsewhere.json")
    link = reader.read(path)
    assert link is not None
    assert link.problem == "symbolic link ignored"


# -- the store -------------------------------------------------------------------------


def _store(
    registry: Path,
    panes: Sequence[PaneInfo] = (),
    located: PaneInfo | None = None,
) -> SessionStore:
    store = SessionStore(registry, clock=time.time)
    store.set_locator(lambda pid, _panes: located)
    store.set_panes(panes)
    store.rescan()
    return store


def test_tmux_hint_finds_the_pane_when_the_agent_runs_in_it(
    registry: Path, child: subprocess.Popen[bytes], sleeper: subprocess.Popen[bytes]
) -> None:
    # Our PID is the child's parent: the pane whose first process we are holds the agent.
    ours = pane("%7", os.getpid())
    other = pane("%7", sleeper.pid, server="/tmp/tmux-0/other")  # same id, another server
    write_entry(registry, child.pid, status="idle", tmux="work:@0.%7")
    store = _store(registry, [other, ours], located=None)  # locate would find nothing
    (session,) = store.build().sessions
    assert session.mux is not None
    assert session.mux.address == ("/tmp/tmux-0/default", "%7")


def test_tmux_hint_is_never_trusted_blindly(
    registry: Path, child: subprocess.Popen[bytes], sleeper: subprocess.Popen[bytes]
) -> None:
    named = pane("%7", sleeper.pid)  # a pane with that id, but the agent is not in it
    real = pane("%9", os.getpid())
    write_entry(registry, child.pid, status="idle", tmux="work:@0.%7")
    store = _store(registry, [named, real], located=real)
    (session,) = store.build().sessions
    assert session.mux is not None
    assert session.mux.pane == "%9"
    # Without a pane id in the poll, or with a malformed field, locate decides too.
    write_entry(registry, child.pid, status="idle", tmux="work:@0.%7;rm -rf /")
    store = _store(registry, [named, real], located=real)
    (session,) = store.build().sessions
    assert session.mux is not None
    assert session.mux.pane == "%9"


def test_spare_workers_are_hidden_unless_asked_for(
    registry: Path, child: subprocess.Popen[bytes], sleeper: subprocess.Popen[bytes]
) -> None:
    write_entry(registry, child.pid, status="idle", kind="bg", name=JOB, jobId=JOB, spare=True)
    write_entry(registry, sleeper.pid, status="busy", name="real")
    store = _store(registry)
    snapshot = store.build()
    assert [s.name for s in snapshot.sessions] == ["real"]
    assert snapshot.counts() == {Status.BUSY: 1}
    store.include_spare = True
    store.rescan()
    shown = store.build()
    assert sorted(s.name for s in shown.sessions) == [JOB, "real"]
    assert next(s for s in shown.sessions if s.name == JOB).spare


def test_elicitation_is_a_wait(registry: Path, child: subprocess.Popen[bytes]) -> None:
    write_entry(registry, child.pid, status="waiting", waitingFor="elicitation")
    (session,) = _store(registry).build().sessions
    assert (session.status, session.waiting_for) == (Status.WAITING, "elicitation")


def test_job_state_fills_the_session_and_follows_rewrites(
    tmp_path: Path, registry: Path, child: subprocess.Popen[bytes]
) -> None:
    write_state(tmp_path, JOB, STATE)
    write_entry(
        registry,
        child.pid,
        status="busy",
        kind="bg",
        jobId=JOB,
        formerNames=["first", "[bold]second"],
    )
    store = _store(registry)
    (session,) = store.build().sessions
    assert session.job is not None
    assert (session.job.state, session.subagents) == ("working", 2)
    assert session.former_names == ("first", "[bold]second")
    encoded = session_json(session)
    assert encoded["subagents"] == 2
    assert encoded["former_names"] == ["first", "[bold]second"]
    assert encoded["parked_job_id"] is None
    assert encoded["job"] == {
        "state": "working",
        "detail": "running the test suite",
        "problem": None,
        "path": str(session.job.path),
    }
    write_state(tmp_path, JOB, {**STATE, "state": "done", "fan": []})
    store.sample()
    (session,) = store.build().sessions
    assert session.job is not None
    assert (session.job.state, session.subagents) == ("done", 0)


def test_parked_job_id_names_the_state_to_read(
    tmp_path: Path, registry: Path, child: subprocess.Popen[bytes]
) -> None:
    write_state(tmp_path, JOB, {"state": "blocked", "detail": "needs an answer"})
    write_entry(registry, child.pid, status="idle", parkedJobId=JOB)
    (session,) = _store(registry).build().sessions
    assert session.parked_job_id == JOB
    assert session.job is not None
    assert session.job.detail == "needs an answer"
    assert session_json(session)["parked_job_id"] == JOB


def test_an_unreadable_state_shows_as_such(
    tmp_path: Path, registry: Path, child: subprocess.Popen[bytes]
) -> None:
    write_state(tmp_path, JOB, b"\x00garbage")
    write_entry(registry, child.pid, status="busy", kind="bg", jobId=JOB)
    store = _store(registry)
    store.job_states = JobStateReader(unreadable_after_s=0.0)
    store.sample()
    (session,) = store.build().sessions
    assert session.job is not None
    assert session.job.problem == "not JSON"
    assert session.subagents is None
    assert session_json(session)["job"] == {
        "state": None,
        "detail": None,
        "problem": "not JSON",
        "path": str(session.job.path),
    }


def test_the_innermost_pane_wins_over_the_tmux_hint(registry: Path) -> None:
    """Zellij started from a tmux pane: the nearer (Zellij) pane decides, through locate.

    Its agents inherit ``TMUX_PANE``, so the hint names the outer tmux pane.
    """
    shell = subprocess.Popen(["bash", "-c", "sleep 300 & wait"])
    try:
        agent = wait_until(lambda: [p.pid for p in psutil.Process(shell.pid).children()])[0]
        outer = pane("%7", os.getpid())  # the tmux pane: our PID is the shell's parent
        inner = replace(pane("terminal_1", shell.pid, server="zellij"), mux_type="zellij")
        write_entry(registry, agent, status="idle", tmux="work:@0.%7")
        store = _store(registry, [outer, inner], located=inner)
        (session,) = store.build().sessions
        assert session.mux is not None
        assert (session.mux.type, session.mux.pane) == ("zellij", "terminal_1")
    finally:
        shell.kill()
        shell.wait()


def test_real_tmux_pane_with_a_stale_or_wrong_hint(registry: Path, server: libtmux.Server) -> None:
    """Two real panes; the hint of one agent names the other pane: each is still placed right."""
    first = server.new_session("one", window_command="bash -c 'sleep 300 & wait'")
    second = server.new_session("two", window_command="bash -c 'sleep 300 & wait'")
    placed: dict[int, str] = {}
    for session, hint_session in ((first, second), (second, first)):
        here = session.active_window.active_pane
        there = hint_session.active_window.active_pane
        assert here is not None
        assert there is not None
        shell = int(here.pane_pid or 0)
        agent = wait_until(lambda shell=shell: [p.pid for p in psutil.Process(shell).children()])
        write_entry(registry, agent[0], status="idle", tmux=f"x:@0.{there.pane_id}")
        placed[agent[0]] = str(here.pane_id)
    good = first.active_window.active_pane
    assert good is not None
    shell = subprocess.Popen(["sleep", "300"])  # an agent outside tmux with a plausible hint
    try:
        write_entry(registry, shell.pid, status="idle", tmux=f"one:@0.{good.pane_id}")
        with Monitor(
            sessions_dir=registry,
            tmux=TmuxBackend(socket_name=server.socket_name),
            timing=MonitorTiming(debounce_s=0.005, rescan_s=0.3, sample_s=0.3, tmux_poll_s=60.0),
        ) as monitor:
            snapshot = monitor.refresh()
    finally:
        shell.kill()
        shell.wait()
    where = {s.pid: s.mux.pane if s.mux else None for s in snapshot.sessions}
    assert where == {**placed, shell.pid: None}


# -- pidDomain (2.1.332): a PID from another machine or PID namespace ----------------------


@pytest.mark.skipif(local_pid_domain() is None, reason="no machine id or PID namespace here")
def test_our_pid_domain_is_what_claude_writes() -> None:
    domain = local_pid_domain()
    assert domain is not None
    machine, namespace = domain.split(":", 2)[1:]
    assert re.fullmatch(r"[0-9a-f]{32}", machine), domain
    assert re.fullmatch(r"pid:\[\d+\]", namespace), domain
    assert namespace == str(Path("/proc/self/ns/pid").readlink())


@pytest.mark.skipif(local_pid_domain() is None, reason="no machine id or PID namespace here")
def test_a_foreign_pid_is_never_judged_signalled_or_deleted_here(
    registry: Path, child: subprocess.Popen[bytes]
) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    foreign = "linux:0123456789abcdef0123456789abcdef:pid:[4026531999]"
    # The same PID as a live local process, and a PID that is dead here.
    write_entry(registry, child.pid, status="busy", name="remote-live", pidDomain=foreign)
    write_entry(registry, gone.pid, status="idle", name="remote-gone", pidDomain=foreign)
    with Monitor(sessions_dir=registry) as monitor:
        monitor.refresh()
        rows = {s.name: s for s in monitor.snapshot.sessions}
        for name in ("remote-live", "remote-gone"):
            row = rows[name]
            assert row.status is Status.UNKNOWN, row  # neither alive nor dead
            assert not row.alive
            assert row.health == FOREIGN_PID
            assert row.status_why == FOREIGN_PID
        with pytest.raises(KillRefused, match="another machine"):
            monitor.kill(rows["remote-live"].key, grace_s=0.1)
        assert child.poll() is None  # never signalled
        with pytest.raises(NotApplicable):
            monitor.dismiss(rows["remote-gone"].key)
        assert (registry / f"{gone.pid}.json").exists()  # never deleted as dead


@pytest.mark.skipif(local_pid_domain() is None, reason="no machine id or PID namespace here")
def test_our_own_pid_domain_is_judged_as_usual(
    registry: Path, child: subprocess.Popen[bytes]
) -> None:
    write_entry(registry, child.pid, status="busy", name="here", pidDomain=local_pid_domain())
    (session,) = _store(registry).build().sessions
    assert session.alive
    assert session.status is Status.BUSY
    assert session.health is None
