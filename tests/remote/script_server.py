"""A scripted protocol peer for HostLink tests: fixed sessions, canned results, a skewed clock.

``python script_server.py STATE.json``: the file holds ``{"clock_skew_s": float,
"sessions": [session_json objects], "version": int, "continued": [session_json objects]}``
(``continued``: sent in a ``change`` 50 ms after the snapshot; ``"pings": N`` then sends N
pings 10 ms apart, and ``"after_pings"``, a list of session objects, in a ``change`` after
them). It sends hello (its clock is ours plus ``clock_skew_s``) and a snapshot, then
answers each call: ``attach_plan`` with ``{"argv": ["tmux", "attach", "-t", "=a b"]}``,
``rename`` by sending a change with the new name, ``detach`` with ``{"detached": 2}``, any
other verb with a ``TargetNotFound`` error. ``{"t": "call", "verb": "preview"}`` whose key
is ``"garbage"`` makes it print a non-JSON line. It exits when stdin closes. The real server
(``sessiontui serve --stdio``) is tested against the link in test_link_serve.py.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sessiontui.remote import protocol


def send(obj: dict[str, object]) -> None:
    sys.stdout.buffer.write(protocol.encode(obj))
    sys.stdout.buffer.flush()


def main() -> None:
    state = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    sessions = {s["key"]: s for s in state["sessions"] if isinstance(s, dict) and "pid" in s}
    hello = protocol.hello("scripted", time.time() + state.get("clock_skew_s", 0.0))
    hello["v"] = state.get("version", protocol.PROTOCOL_VERSION)
    send(hello)
    send(protocol.snapshot(state["sessions"], state.get("health", [])))  # bad rows too
    more = state.get("continued", [])  # a snapshot continued in a change line, a bit later
    if more:
        time.sleep(0.05)
        send(protocol.change(more, [], None))
    for _ in range(state.get("pings", 0)):
        time.sleep(0.01)
        send(protocol.ping())
    if "after_pings" in state:
        send(protocol.change(state["after_pings"], [], None))
    for line in sys.stdin.buffer:
        message = protocol.decode(line)
        call_id = message["id"]
        assert isinstance(call_id, int)
        verb, key = message["verb"], message["key"]
        if verb == "attach_plan":
            send(protocol.ok_result(call_id, argv=["tmux", "attach", "-t", "=a b"]))
        elif verb == "rename" and key in sessions:
            args = message["args"]
            assert isinstance(args, dict)
            sessions[key] = {**sessions[key], "name": args["name"]}  # type: ignore[index]
            send(protocol.change([sessions[key]], [], None))
            send(protocol.ok_result(call_id))
        elif verb == "detach":
            send(protocol.ok_result(call_id, detached=2))
        elif verb == "preview" and key == "garbage":
            sys.stdout.buffer.write(b"this is not json\n")
            sys.stdout.buffer.flush()
        else:
            send(protocol.error_result(call_id, "TargetNotFound", f"no session {key}"))


if __name__ == "__main__":
    main()
