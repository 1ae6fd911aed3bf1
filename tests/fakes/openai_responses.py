"""A loopback fake of the OpenAI Responses API, as the Codex CLI calls it (SPEC 2.3).

A stdlib HTTP server on ``127.0.0.1`` (random port) that answers ``POST /v1/responses`` with a
streamed SSE response built from a script of turns, one turn per request:

- :class:`TextTurn`: an assistant ``message`` whose text arrives in ``response.output_text.delta``
  events;
- :class:`ToolTurn`: a ``function_call`` item (e.g. ``exec_command`` with
  ``"sandbox_permissions": "require_escalated"``, which makes Codex ask for approval).

Codex 0.171.0 also sends, in parallel with the first turn of a thread, a *title* request (header
``x-codex-turn-metadata`` with ``"thread_source": "thread_title"``, no tools, a JSON schema
``{"title": str}`` in ``text.format``). Those never consume the script: they get
``{"title": <title>}`` (:attr:`FakeResponsesServer.title`), which Codex stores as the thread name
in ``$CODEX_HOME/session_index.jsonl``.

Every response ends with ``response.completed`` carrying ``usage``, so the tokens Codex records
in its rollout (``token_count`` events) equal what the script says. Requests are logged (method,
path, headers, parsed JSON body). Anything but ``POST …/responses`` gets a 404 (logged too).
Nothing leaves the machine: the server binds to the loopback address only.

Event shapes follow the public Responses API streaming format; Codex 0.171.0 was observed to
accept them (``tests/e2e/test_codex_tui.py``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence


@dataclass(frozen=True)
class Usage:
    """Token usage of one response (``response.completed`` → ``response.usage``).

    Attributes:
        input_tokens: Prompt tokens (cached ones included).
        cached_tokens: Of which served from the prompt cache.
        output_tokens: Generated tokens (reasoning ones included).
        reasoning_tokens: Of which reasoning.
    """

    input_tokens: int = 1000
    cached_tokens: int = 0
    output_tokens: int = 50
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """``input_tokens + output_tokens``, as the API reports ``total_tokens``."""
        return self.input_tokens + self.output_tokens

    def as_json(self) -> dict[str, Any]:
        """Return the API's ``usage`` object."""
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_tokens},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True)
class TextTurn:
    """An assistant answer streamed as text deltas.

    Attributes:
        text: The answer.
        usage: Usage reported at the end.
        delay_s: Seconds to wait between the first delta and ``response.completed`` (lets a
            test see the turn running).
    """

    text: str
    usage: Usage = field(default_factory=Usage)
    delay_s: float = 0.0


@dataclass(frozen=True)
class ToolTurn:
    """A ``function_call`` item (the model asks Codex to run a tool).

    Attributes:
        name: Tool name, e.g. ``exec_command``.
        arguments: The tool's arguments (sent JSON-encoded, as the API does).
        usage: Usage reported at the end.
        delay_s: Seconds to wait before ``response.completed``.
    """

    name: str
    arguments: dict[str, Any]
    usage: Usage = field(default_factory=Usage)
    delay_s: float = 0.0


Turn = TextTurn | ToolTurn


def exec_command(
    cmd: str, *, escalated: bool = False, justification: str = "Run it?", **extra: Any
) -> dict[str, Any]:
    """Return ``exec_command`` arguments; ``escalated`` asks to run outside the sandbox.

    Args:
        cmd: The shell command.
        escalated: Add ``"sandbox_permissions": "require_escalated"`` and a justification
            (Codex then asks the user for approval in a trusted folder).
        justification: The question shown to the user.
        **extra: More arguments (``workdir``, ``yield_time_ms`` …).

    Returns:
        The arguments object.
    """
    arguments: dict[str, Any] = {"cmd": cmd, **extra}
    if escalated:
        arguments["sandbox_permissions"] = "require_escalated"
        arguments["justification"] = justification
    return arguments


def is_title_request(headers: dict[str, str], body: Any) -> bool:
    """Tell whether a request is Codex's thread-title request (not a turn of the script).

    Args:
        headers: Request headers.
        body: The parsed JSON body.

    Returns:
        True when ``x-codex-turn-metadata`` says ``"thread_source": "thread_title"``.
    """
    raw = next((v for k, v in headers.items() if k.lower() == "x-codex-turn-metadata"), None)
    if raw is None and isinstance(body, dict):
        raw = (body.get("client_metadata") or {}).get("x-codex-turn-metadata")
    try:
        meta = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return False
    return isinstance(meta, dict) and meta.get("thread_source") == "thread_title"


@dataclass
class LoggedRequest:
    """One request the fake received.

    Attributes:
        method: ``GET``, ``POST`` …
        path: The request path with its query.
        headers: Headers (last value wins).
        body: The parsed JSON body, or the raw bytes when it is not JSON, or None.
        at: ``time.time()`` on arrival, seconds since the epoch.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float


class FakeResponsesServer:
    """The fake API: a script of turns served in order, and a request log.

    When the script runs out, every further request gets :attr:`default` (a short text).
    Use as a context manager, or call :meth:`start` and :meth:`close`.

    Attributes:
        requests: Every request received, in order.
        default: The turn answered when the script is exhausted.
        title: The thread title answered to Codex's title requests.
        served: The turns served to (non-title) requests, in order.
    """

    def __init__(
        self, turns: Sequence[Turn] = (), *, default: Turn | None = None, title: str = "Fake task"
    ) -> None:
        self._lock = threading.Lock()
        self.title = title
        self._turns: list[Turn] = list(turns)
        self.default: Turn = default or TextTurn("Done.", Usage(500, 0, 5))
        self.requests: list[LoggedRequest] = []
        self.served: list[Turn] = []
        self._ids = itertools.count(1)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The TCP port it listens on (on 127.0.0.1)."""
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``, the provider's ``base_url``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def add(self, *turns: Turn) -> None:
        """Append turns to the script."""
        with self._lock:
            self._turns.extend(turns)

    def responses_requests(self, *, titles: bool = False) -> list[LoggedRequest]:
        """Return the logged ``POST …/responses`` requests (without title requests by default)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.method == "POST"
                and r.path.split("?", 1)[0].endswith("/responses")
                and is_title_request(r.headers, r.body) == titles
            ]

    def start(self) -> FakeResponsesServer:
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5.0)

    def __enter__(self) -> FakeResponsesServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next_turn(self, headers: dict[str, str], body: Any) -> Turn:
        if is_title_request(headers, body):
            return TextTurn(json.dumps({"title": self.title}), Usage(100, 0, 5))
        with self._lock:
            turn = self._turns.pop(0) if self._turns else self.default
            self.served.append(turn)
            return turn

    def _log(self, request: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _events(self, turn: Turn) -> Iterator[tuple[dict[str, Any], float]]:
        """Yield ``(event, seconds to wait after it)`` for one response."""
        n = next(self._ids)
        response_id = f"resp_fake_{n}"
        created = {"id": response_id, "object": "response", "status": "in_progress"}
        yield {"type": "response.created", "response": created}, 0.0
        if isinstance(turn, TextTurn):
            item_id = f"msg_fake_{n}"
            item: dict[str, Any] = {
                "type": "message",
                "id": item_id,
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            }
            yield {"type": "response.output_item.added", "output_index": 0, "item": item}, 0.0
            words = turn.text.split(" ")
            for i, word in enumerate(words):
                delta = word if i == 0 else " " + word
                event = {
                    "type": "response.output_text.delta",
                    "item_id": item_id,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": delta,
                }
                yield event, (turn.delay_s if i == 0 else 0.0)
            done = {
                **item,
                "status": "completed",
                "content": [{"type": "output_text", "text": turn.text, "annotations": []}],
            }
        else:
            done = {
                "type": "function_call",
                "id": f"fc_fake_{n}",
                "call_id": f"call_fake_{n}",
                "name": turn.name,
                "arguments": json.dumps(turn.arguments),
                "status": "completed",
            }
            added = {**done, "arguments": "", "status": "in_progress"}
            yield (
                {"type": "response.output_item.added", "output_index": 0, "item": added},
                (turn.delay_s),
            )
        yield {"type": "response.output_item.done", "output_index": 0, "item": done}, 0.0
        completed = {
            "id": response_id,
            "object": "response",
            "status": "completed",
            "output": [done],
            "usage": turn.usage.as_json(),
        }
        yield {"type": "response.completed", "response": completed}, 0.0

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Stay quiet (the request log is in ``fake.requests``)."""

            def _read_body(self) -> Any:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length > 0 else b""
                if not raw:
                    return None
                try:
                    return json.loads(raw)
                except ValueError:
                    return raw

            def _record(self) -> Any:
                body = self._read_body()
                fake._log(
                    LoggedRequest(
                        method=self.command,
                        path=self.path,
                        headers=dict(self.headers.items()),
                        body=body,
                        at=time.time(),
                    )
                )
                return body

            def _not_found(self) -> None:
                payload = json.dumps({"error": {"message": "not found", "type": "fake"}}).encode()
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._record()
                self._not_found()

            def do_POST(self) -> None:
                body = self._record()
                if not self.path.split("?", 1)[0].endswith("/responses"):
                    self._not_found()
                    return
                turn = fake._next_turn(dict(self.headers.items()), body)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                with contextlib.suppress(OSError):
                    for event, pause_s in fake._events(turn):
                        frame = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
                        self.wfile.write(frame.encode())
                        self.wfile.flush()
                        if pause_s > 0:
                            time.sleep(pause_s)

        return Handler


@pytest.fixture
def fake_openai() -> Iterator[FakeResponsesServer]:
    """A running :class:`FakeResponsesServer` with an empty script (add turns with ``add``)."""
    with FakeResponsesServer() as server:
        yield server
