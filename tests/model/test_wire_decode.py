"""session_from_json reads back what session_json writes, and refuses what it would not write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessiontui.errors import ProtocolError, SessiontuiError
from sessiontui.model.types import JobState, MuxLocation, Session, Status, StatusSource
from sessiontui.model.wire import session_from_json, session_json

# Times as whole milliseconds: the schema writes ISO-8601 with milliseconds.
times = st.none() | st.integers(0, 4_102_444_800_000).map(lambda ms: ms / 1000)
texts = st.text(max_size=20)
opt_texts = st.none() | texts
opt_ints = st.none() | st.integers(-(2**40), 2**40)
paths = st.none() | st.text(min_size=1, max_size=20).map(Path)
finite = st.floats(allow_nan=False, allow_infinity=False)

muxes = st.none() | st.builds(
    MuxLocation,
    type=st.sampled_from(["tmux", "zellij"]),
    socket=texts,
    session_id=texts,
    session=texts,
    window=texts,
    pane=texts,
    pane_index=texts,
    attached_clients=st.integers(0, 50),
    panes_in_session=st.integers(0, 50),
    session_kind=opt_texts,
    exited=st.booleans(),
)
jobs = st.none() | st.builds(
    JobState,
    path=st.text(max_size=20).map(Path),
    state=opt_texts,
    detail=opt_texts,
    problem=opt_texts,
)


@st.composite
def sessions(draw: st.DrawFn) -> Session:
    tokens_output = draw(opt_ints)
    context_used = draw(opt_ints)
    # The schema has no tokens object when neither count is known: the window goes with it.
    has_tokens = tokens_output is not None or context_used is not None
    return Session(
        key=draw(texts),
        pid=draw(st.integers(-(2**63), 2**63)),
        agent=draw(texts),
        name=draw(texts),
        status=draw(st.sampled_from(Status)),
        status_source=draw(st.sampled_from(StatusSource)),
        alive=draw(st.booleans()),
        session_id=draw(opt_texts),
        kind=draw(opt_texts),
        cwd=draw(opt_texts),
        waiting_for=draw(opt_texts),
        started_at=draw(times),
        updated_at=draw(times),
        status_changed_at=draw(times),
        cpu_percent=draw(finite),
        activity=tuple(draw(st.lists(st.floats(0.0, 1.0), max_size=8))),
        mux=draw(muxes),
        registry_path=draw(paths),
        version=draw(opt_texts),
        job_id=draw(opt_texts),
        unreadable=draw(opt_texts),
        proc_start=draw(opt_texts),
        health=draw(opt_texts),
        status_why=draw(opt_texts),
        activity_scale=draw(opt_ints),
        tokens_output=tokens_output,
        context_used=context_used,
        context_window=draw(opt_ints) if has_tokens else None,
        model=draw(opt_texts),
        last_activity_at=draw(times),
        last_prompt=draw(opt_texts),
        turns=draw(opt_ints),
        transcript_path=draw(paths),
        subagents=draw(opt_ints),
        parked_job_id=draw(opt_texts),
        former_names=tuple(draw(st.lists(texts, max_size=3))),
        job=draw(jobs),
        host=draw(opt_texts),
    )


@settings(max_examples=300, deadline=None)
@given(sessions())
def test_a_session_survives_the_json_round_trip(session: Session) -> None:
    line = json.dumps(session_json(session))
    assert session_from_json(json.loads(line)) == session


@settings(max_examples=100, deadline=None)
@given(sessions(), st.text(min_size=1, max_size=10))
def test_a_remote_session_gets_the_host_and_a_prefixed_key(session: Session, host: str) -> None:
    decoded = session_from_json(session_json(session), host=host, key_prefix=f"{host}/")
    assert decoded.key == f"{host}/{session.key}"
    assert decoded.host == host
    assert session_json(decoded) == {
        **session_json(session),
        "key": f"{host}/{session.key}",
        "host": host,
    }


def _valid() -> dict[str, Any]:
    return session_json(
        Session(
            key="claude:100:5",
            pid=100,
            agent="claude",
            name="[bold]x\x1b]0;title\x07",
            status=Status.BUSY,
            started_at=1.5,
            mux=MuxLocation("tmux", "/tmp/s", "$1", "work", "1", "%3"),
        )
    )


def test_text_stays_the_senders_own_plain_string() -> None:
    decoded = session_from_json(json.loads(json.dumps(_valid())))
    assert decoded.name == "[bold]x\x1b]0;title\x07"
    assert decoded.started_at == 1.5
    assert decoded.mux is not None
    assert decoded.mux.pane == "%3"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pid", "100"),
        ("pid", True),
        ("pid", 1.5),
        ("pid", None),
        ("key", None),
        ("key", 7),
        ("name", ["x"]),
        ("status", "sleeping"),
        ("status", None),
        ("status_source", "guess"),
        ("alive", "yes"),
        ("started_at", "yesterday"),
        ("started_at", "2026-12-01T10:00:00"),
        ("started_at", 1700000000),
        ("cpu_percent", "5"),
        ("cpu_percent", float("inf")),
        ("activity", [0.5, "x"]),
        ("activity", "0.5"),
        ("former_names", ["a", 1]),
        ("mux", "tmux:work"),
        ("mux", {"type": "tmux"}),
        ("tokens", [1, 2]),
        ("job", {"state": 5}),
        ("registry_path", 5),
    ],
)
def test_a_field_of_the_wrong_type_is_a_protocol_error(field: str, value: object) -> None:
    obj = _valid()
    obj[field] = value
    with pytest.raises(ProtocolError) as raised:
        session_from_json(obj)
    assert field in str(raised.value) or field in ("status", "status_source", "mux")
    assert isinstance(raised.value, SessiontuiError)


@pytest.mark.parametrize("obj", [None, [], "session", 5])
def test_a_non_object_is_a_protocol_error(obj: Any) -> None:
    with pytest.raises(ProtocolError):
        session_from_json(obj)


def test_mux_field_of_wrong_type_names_it() -> None:
    obj = _valid()
    obj["mux"] = {**obj["mux"], "attached_clients": "2"}
    with pytest.raises(ProtocolError, match=r"mux\.attached_clients"):
        session_from_json(obj)
