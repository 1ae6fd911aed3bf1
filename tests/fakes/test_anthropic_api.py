"""The loopback fake Messages API speaks the wire format Claude Code expects (SSE, usage, log)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

import pytest

from tests.fakes.anthropic_api import FakeAnthropicAPI, Turn, Usage, bash_turn, fake_anthropic_api

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["fake_anthropic_api"]  # the fixture, imported to be used here


def post(api: FakeAnthropicAPI, path: str, body: dict[str, Any]) -> tuple[int, str, bytes]:
    request = urllib.request.Request(
        api.base_url + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "x-api-key": "sk-ant-test"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-type", ""), error.read()


def sse(raw: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
    for block in raw.decode().split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        yield fields["event"], json.loads(fields["data"])


MAIN = {"model": "claude-test", "stream": True, "tools": [{"name": "Bash"}], "messages": []}


def test_streams_text_then_tool_use(fake_anthropic_api: FakeAnthropicAPI) -> None:
    api = fake_anthropic_api
    api.add(
        Turn(text="Hello there.", usage=Usage(input_tokens=7, output_tokens=5)),
        bash_turn("sleep 4 && touch x", text="Running.", usage=Usage(output_tokens=9)),
    )
    status, kind, raw = post(api, "/v1/messages?beta=true", MAIN)
    assert status == 200
    assert kind == "text/event-stream"
    events = list(sse(raw))
    names = [name for name, _ in events]
    assert names[0] == "message_start"
    assert names[-2:] == ["message_delta", "message_stop"]
    assert events[0][1]["message"]["usage"]["output_tokens"] == 1
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == "Hello there."
    delta = events[-2][1]
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"]["output_tokens"] == 5
    assert delta["usage"]["input_tokens"] == 7

    _, _, raw = post(api, "/v1/messages?beta=true", MAIN)
    events = list(sse(raw))
    starts = [d["content_block"] for n, d in events if n == "content_block_start"]
    assert [block["type"] for block in starts] == ["text", "tool_use"]
    assert starts[1]["name"] == "Bash"
    partial = "".join(
        d["delta"]["partial_json"]
        for n, d in events
        if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta"
    )
    assert json.loads(partial)["command"] == "sleep 4 && touch x"
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    assert [r.kind for r in api.log] == ["main", "main"]
    assert api.log[0].query == {"beta": ["true"]}
    assert [message_id for message_id, _, _ in api.sent] == ["msg_fake0001", "msg_fake0002"]


def test_side_requests_and_other_paths_are_answered_and_logged(
    fake_anthropic_api: FakeAnthropicAPI,
) -> None:
    api = fake_anthropic_api
    api.add(Turn(text="scripted"))
    status, kind, raw = post(api, "/v1/messages", {"model": "m", "messages": []})
    assert status == 200
    assert kind == "application/json"
    assert json.loads(raw)["content"] == [{"type": "text", "text": "ok"}]
    status, _, raw = post(api, "/v1/messages/count_tokens?beta=true", {"messages": []})
    assert (status, json.loads(raw)) == (200, {"input_tokens": 1})
    status, _, raw = post(api, "/api/whatever", {})
    assert status == 404
    assert json.loads(raw)["type"] == "error"
    assert [r.kind for r in api.log] == ["side", "count_tokens", "other"]
    assert api.main_requests() == []
    # The side request did not consume the script.
    _, _, raw = post(api, "/v1/messages", {**MAIN, "stream": False})
    assert json.loads(raw)["content"][0]["text"] == "scripted"


@pytest.mark.parametrize("turns", [0, 2])
def test_default_turn_after_the_script(fake_anthropic_api: FakeAnthropicAPI, turns: int) -> None:
    api = fake_anthropic_api
    api.add(*(Turn(text=f"t{i}") for i in range(turns)))
    texts = []
    for _ in range(turns + 1):
        _, _, raw = post(api, "/v1/messages", {**MAIN, "stream": False})
        texts.append(json.loads(raw)["content"][0]["text"])
    assert texts == [*(f"t{i}" for i in range(turns)), "Done."]
