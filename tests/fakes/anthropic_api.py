"""A loopback fake of the Anthropic Messages API, as Claude Code calls it (SPEC Appendix A).

A stdlib ``ThreadingHTTPServer`` on ``127.0.0.1`` (random port) that answers
``POST /v1/messages?beta=true`` with a streamed SSE response (``message_start``,
``content_block_start`` / ``content_block_delta`` (``text_delta``, ``input_json_delta``) /
``content_block_stop``, ``message_delta`` with ``stop_reason`` and ``usage``, ``message_stop``),
driven by a script of :class:`Turn` values. Every request is logged (:attr:`FakeAnthropicAPI.log`).

Which requests consume the script: a *main-loop* request is a ``POST /v1/messages`` whose body
has a non-empty ``tools`` list (Claude Code's agent loop always sends its tools). Side requests
(title or topic generation, the background-job classifier, quota probes: no tools) get a harmless
short text answer (:attr:`FakeAnthropicAPI.side_answer`), streamed or not as asked. Token counting
(``/v1/messages/count_tokens``) answers ``{"input_tokens": 1}``; any other path answers 404 with
an Anthropic-style error body. Nothing here ever connects anywhere.

Wire format source: the public Messages API streaming documentation
(https://docs.anthropic.com/en/api/messages-streaming), checked against Claude Code 2.1.197.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

#: The model name the fake reports when a turn names none and the request names none.
DEFAULT_MODEL = "claude-opus-4-8"


@dataclass(frozen=True)
class Usage:
    """Token counts of one API message (``usage`` in ``message_start`` / ``message_delta``).

    Attributes:
        input_tokens: Uncached input tokens.
        output_tokens: Output tokens (sent in ``message_delta``; ``message_start`` says 1).
        cache_read_input_tokens: Input tokens read from the prompt cache.
        cache_creation_input_tokens: Input tokens written to the prompt cache.
    """

    input_tokens: int = 100
    output_tokens: int = 10
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    @property
    def context(self) -> int:
        """Context used after this message: all input kinds plus the output (SPEC 2.2)."""
        return (
            self.input_tokens
            + self.cache_read_input_tokens
            + self.cache_creation_input_tokens
            + self.output_tokens
        )

    def as_dict(self, *, output_tokens: int | None = None) -> dict[str, int]:
        """Return the ``usage`` object, optionally with another ``output_tokens`` value."""
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "output_tokens": self.output_tokens if output_tokens is None else output_tokens,
        }


@dataclass(frozen=True)
class Turn:
    """One scripted model answer (one API message).

    Attributes:
        text: Text to stream (in a few ``text_delta`` chunks); may be empty with a tool call.
        tool: A tool to call after the text: ``(name, input)``, e.g. ``("Bash", {"command":
            "ls", "description": "List"})``; the stop reason is then ``tool_use``.
        usage: The usage to report.
        model: The model name to report (default: the request's ``model``).
        delay_s: Seconds to wait before streaming (lets a test see ``busy``).
        chunks: How many ``text_delta`` events carry the text.
        chunk_delay_s: Seconds between two text deltas: a long answer that streams slowly
            (lets a test interrupt it while it streams).
    """

    text: str = "Done."
    tool: tuple[str, dict[str, Any]] | None = None
    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    delay_s: float = 0.0
    chunks: int = 3
    chunk_delay_s: float = 0.0


def bash_turn(command: str, *, text: str = "", usage: Usage | None = None) -> Turn:
    """Return a turn that asks to run ``command`` with Claude Code's ``Bash`` tool."""
    return Turn(
        text=text,
        tool=("Bash", {"command": command, "description": "Run a command"}),
        usage=usage or Usage(),
    )


@dataclass(frozen=True)
class LoggedRequest:
    """One request the fake received.

    Attributes:
        method: ``GET``, ``POST``, ...
        path: The path without the query, e.g. ``/v1/messages``.
        query: Parsed query string (``{"beta": ["true"]}``).
        headers: Request headers, lower-cased names (the API key is kept: it is a dummy).
        body: The parsed JSON body, or None when empty or not JSON.
        kind: ``main`` (consumed a scripted turn), ``side`` (a message without tools),
            ``count_tokens`` or ``other``.
        answer: For ``main``/``side``: the message id sent back, else the status code.
        at: ``time.time()`` when it arrived, seconds.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    kind: str
    answer: str
    at: float


class FakeAnthropicAPI:
    """The fake server; use as a context manager or through the ``fake_anthropic_api`` fixture.

    Args:
        script: Answers for main-loop requests, in order; when exhausted, :attr:`default_turn`.
        default_turn: The answer once the script is used up.
        side_answer: Text answered to side requests (no tools).

    Attributes:
        log: Every request, in arrival order (read it under no lock: appends are atomic).
        sent: ``(message id, request id, Turn)`` of every main-loop answer, in order.
    """

    def __init__(
        self,
        script: Sequence[Turn] = (),
        *,
        default_turn: Turn | None = None,
        side_answer: str = "ok",
    ) -> None:
        self._script = list(script)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.default_turn = default_turn or Turn(text="Done.")
        self.side_answer = side_answer
        self.log: list[LoggedRequest] = []
        self.sent: list[tuple[str, str, Turn]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- script -----------------------------------------------------------------------------

    def add(self, *turns: Turn) -> None:
        """Append turns to the script."""
        with self._lock:
            self._script.extend(turns)

    def _next_turn(self) -> Turn:
        with self._lock:
            return self._script.pop(0) if self._script else self.default_turn

    def _new_ids(self) -> tuple[str, str]:
        number = next(self._ids)
        return f"msg_fake{number:04d}", f"req_fake{number:04d}"

    def main_requests(self) -> list[LoggedRequest]:
        """Return the logged main-loop requests."""
        return [r for r in list(self.log) if r.kind == "main"]

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port (after :meth:`start`)."""
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, for ``ANTHROPIC_BASE_URL``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeAnthropicAPI:
        """Listen on 127.0.0.1 (random port) and serve in a daemon thread."""
        fake = self

        class Handler(_Handler):
            api = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-anthropic", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def __enter__(self) -> FakeAnthropicAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Handler(BaseHTTPRequestHandler):
    """Request handler; :attr:`api` is set on a subclass per server."""

    api: FakeAnthropicAPI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the default stderr access log (the fake keeps its own)."""

    # -- helpers ----------------------------------------------------------------------------

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def _log(self, body: Any, kind: str, answer: str) -> None:
        parts = urlsplit(self.path)
        self.api.log.append(
            LoggedRequest(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                kind=kind,
                answer=answer,
                at=time.time(),
            )
        )

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", "req_fake_other")
        self.end_headers()
        self.wfile.write(data)

    def _not_found(self, body: Any) -> None:
        self._log(body, "other", "404")
        self._send_json(
            404,
            {"type": "error", "error": {"type": "not_found_error", "message": "fake: no such"}},
        )

    # -- verbs ------------------------------------------------------------------------------

    def do_GET(self) -> None:
        """Answer every GET with 404 (logged)."""
        self._not_found(None)

    def do_HEAD(self) -> None:
        """Answer connectivity probes with an empty 200 (logged)."""
        self._log(None, "other", "200")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        """Route ``/v1/messages`` and ``/v1/messages/count_tokens``; 404 for the rest."""
        body = self._read_body()
        path = urlsplit(self.path).path
        if path == "/v1/messages/count_tokens":
            self._log(body, "count_tokens", "200")
            self._send_json(200, {"input_tokens": 1})
            return
        if path != "/v1/messages" or not isinstance(body, dict):
            self._not_found(body)
            return
        tools = body.get("tools")
        main = isinstance(tools, list) and len(tools) > 0
        model = body.get("model") if isinstance(body.get("model"), str) else DEFAULT_MODEL
        message_id, request_id = self.api._new_ids()
        if main:
            turn = self.api._next_turn()
            self.api.sent.append((message_id, request_id, turn))
        else:
            turn = Turn(text=self.api.side_answer, usage=Usage(input_tokens=10, output_tokens=1))
        self._log(body, "main" if main else "side", message_id)
        if turn.delay_s > 0:
            time.sleep(turn.delay_s)
        message = _message(turn, message_id, turn.model or model)
        if body.get("stream") is True:
            self._stream(message, turn, request_id)
        else:
            self.send_response(200)
            data = json.dumps(message).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("request-id", request_id)
            self.end_headers()
            self.wfile.write(data)

    def _stream(self, message: dict[str, Any], turn: Turn, request_id: str) -> None:
        try:
            self._stream_body(message, turn, request_id)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client went away before the headers (an interrupted turn)

    def _stream_body(self, message: dict[str, Any], turn: Turn, request_id: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("request-id", request_id)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for event, data in _events(message, turn):
            payload = f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()
            try:
                self.wfile.write(payload)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return  # the client went away (an interrupted turn)


def _message(turn: Turn, message_id: str, model: str) -> dict[str, Any]:
    """Return the full (non-streamed) message for ``turn``."""
    content: list[dict[str, Any]] = []
    if turn.text:
        content.append({"type": "text", "text": turn.text})
    if turn.tool is not None:
        name, tool_input = turn.tool
        content.append(
            {"type": "tool_use", "id": f"toolu_{message_id}", "name": name, "input": tool_input}
        )
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use" if turn.tool is not None else "end_turn",
        "stop_sequence": None,
        "usage": turn.usage.as_dict(),
    }


def _chunks(text: str, parts: int = 3) -> list[str]:
    """Split ``text`` into up to ``parts`` non-empty pieces."""
    size = max(1, -(-len(text) // parts))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _events(message: dict[str, Any], turn: Turn) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield the SSE ``(event, data)`` pairs of a streamed ``message``."""
    start = dict(message, content=[], stop_reason=None)
    start["usage"] = turn.usage.as_dict(output_tokens=1)
    yield "message_start", {"type": "message_start", "message": start}
    yield "ping", {"type": "ping"}
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            yield (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": dict(block, text=""),
                },
            )
            for number, piece in enumerate(_chunks(block["text"], turn.chunks)):
                if number and turn.chunk_delay_s > 0:
                    time.sleep(turn.chunk_delay_s)
                delta = {"type": "text_delta", "text": piece}
                yield (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
        else:
            yield (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": dict(block, input={}),
                },
            )
            for piece in _chunks(json.dumps(block["input"])):
                delta = {"type": "input_json_delta", "partial_json": piece}
                yield (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": turn.usage.as_dict(),
        },
    )
    yield "message_stop", {"type": "message_stop"}


@pytest.fixture
def fake_anthropic_api() -> Iterator[FakeAnthropicAPI]:
    """A started :class:`FakeAnthropicAPI` with an empty script; add turns with ``add``."""
    with FakeAnthropicAPI() as api:
        yield api
