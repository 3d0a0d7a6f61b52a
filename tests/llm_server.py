"""A tiny OpenAI-compatible chat-completions server for tests, with scripted replies.

>>> with ScriptedLLMServer(lambda messages: "你好[1]。") as server:
...     server.base_url.startswith("http://127.0.0.1:")
True

It answers ``POST /v1/chat/completions`` as JSON, or as server-sent events when the
request has ``"stream": true`` (``data: {chunk}`` lines with ``choices[0].delta.content``,
then ``data: [DONE]``), like https://platform.openai.com/docs/api-reference/chat-streaming.
Every request body and its headers are kept in ``requests`` so tests can check the prompt.

A slow or hung model: ``delay`` seconds before the reply starts (``NEVER`` = no reply at
all until the server stops), a number or a function of the messages, so one question can
hang while others are answered at once:

>>> slow = ScriptedLLMServer("好[1]。", delay=lambda messages: NEVER if "慢" in str(messages) else 0.0)
>>> slow.delay_for([{"role": "user", "content": "慢一点"}]) == NEVER
True
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[list[dict[str, Any]]], str]
Delay = Callable[[list[dict[str, Any]]], float]
NEVER = float("inf")  # a delay that never ends: the model hangs until the server stops


@dataclass
class Recorded:
    """One request the server got."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def content(self, role: str) -> str:
        """All ``role`` message contents joined by newlines."""
        return "\n".join(_text(m.get("content")) for m in self.messages if m.get("role") == role)


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return str(content or "")


@dataclass
class ScriptedLLMServer:
    """An OpenAI-compatible server on 127.0.0.1 whose reply is ``reply(messages)`` (or a fixed string)."""

    reply: Reply | str = "资料中没有相关信息。"
    chunk_chars: int = 3  # characters per streamed chunk
    status: int = 200  # anything else answers every request with this HTTP error
    requests: list[Recorded] = field(default_factory=list)
    delay: float | Delay = 0.0  # seconds before replying (NEVER: no reply until stop())

    def __post_init__(self) -> None:
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()  # wakes requests held by ``delay`` when the server stops

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> ScriptedLLMServer:
        server = self
        self._stopping.clear()

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ScriptedLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def last(self) -> Recorded:
        assert self.requests, "the server got no request"
        return self.requests[-1]

    # --- behaviour --------------------------------------------------------------------

    def record(self, rec: Recorded) -> None:
        with self._lock:
            self.requests.append(rec)

    def reply_for(self, messages: list[dict[str, Any]]) -> str:
        return self.reply(messages) if callable(self.reply) else self.reply

    def delay_for(self, messages: list[dict[str, Any]]) -> float:
        return float(self.delay(messages) if callable(self.delay) else self.delay)

    def wait(self, seconds: float) -> bool:
        """Hold a request ``seconds`` (forever for NEVER); False when the server stopped meanwhile."""
        if seconds <= 0:
            return True
        return not self._stopping.wait(None if seconds == NEVER else seconds)


class _Handler(BaseHTTPRequestHandler):
    owner: ScriptedLLMServer
    protocol_version = "HTTP/1.0"  # one request per connection; streamed bodies end at close

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._send_json(200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]})
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw.decode("utf-8") or "{}")
        except ValueError:
            self._send_json(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
            return
        owner = self.owner
        owner.record(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        if owner.status != 200:
            self._send_json(owner.status, {"error": {"message": "scripted failure", "type": "server_error"}})
            return
        if not owner.wait(owner.delay_for(list(body.get("messages", [])))):
            return  # stopped while hanging: close without a reply
        text = owner.reply_for(list(body.get("messages", [])))
        model = str(body.get("model", "test-model"))
        created = int(time.time())
        if body.get("stream"):
            self._stream(text, model, created, bool((body.get("stream_options") or {}).get("include_usage")))
            return
        self._send_json(
            200,
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 10, "completion_tokens": len(text), "total_tokens": 10 + len(text)},
            },
        )

    def _stream(self, text: str, model: str, created: int, usage: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

        def event(choices: list[dict[str, Any]], **extra: Any) -> None:
            chunk = {
                "id": "chatcmpl-test",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": choices,
                **extra,
            }
            self.wfile.write(b"data: " + json.dumps(chunk, ensure_ascii=False).encode("utf-8") + b"\n\n")
            self.wfile.flush()

        step = max(self.owner.chunk_chars, 1)
        event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        for i in range(0, len(text), step):
            event([{"index": 0, "delta": {"content": text[i : i + step]}, "finish_reason": None}])
        event([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        if usage:
            event([], usage={"prompt_tokens": 10, "completion_tokens": len(text), "total_tokens": 10 + len(text)})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
