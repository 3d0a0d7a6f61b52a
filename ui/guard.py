"""What the server refuses whoever asks: other sites' pages, Gradio routes the page does not
use, and files outside the two folders it may serve.

``Exposure`` is ASGI middleware around the whole app (inside the login gate, so a caller
without credentials gets 401 before any of this):

- **Cross-origin requests** are refused (403): a request whose ``Origin`` is not the
  server's own address (its ``Host``) never reaches a route, preflights included, and no
  response carries ``Access-Control-Allow-*``. Gradio's own CORS layer echoes any origin
  with credentials allowed once the server is reached by a name that is not loopback
  (``--host 0.0.0.0``, ``Host: myserver.lan``); this is what stops that. Requests without
  ``Origin`` (programs, same-origin page loads) are not affected.
- **Routes the page does not use** answer 404: Gradio's URL proxy, its developer and
  "vibe" editor routes, run history, monitoring, media streams and custom components.
- **Files**: ``/gradio_api/file=PATH`` (and ``/gradio_api/file/PATH``) is served only when
  PATH, with every symlink and ``..`` resolved, lies inside Gradio's upload folder or the
  index folder; a URL is never fetched.

>>> allowed_file("/etc/passwd", ["/tmp/gradio"]), allowed_file("/tmp/gradio/ab/x.txt", ["/tmp/gradio"])
(False, True)
>>> allowed_file("/tmp/gradio/../../etc/passwd", ["/tmp/gradio"]), allowed_file("http://example.com/", ["/tmp"])
(False, False)
>>> same_origin("http://127.0.0.1:7860", "127.0.0.1:7860"), same_origin("http://evil.example", "127.0.0.1:7860")
(True, False)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Gradio routes the chat page never calls; each answers 404 here.
BLOCKED_PREFIXES = (
    "/gradio_api/proxy=",
    "/gradio_api/vibe",
    "/gradio_api/undo-vibe",
    "/gradio_api/dev/",
    "/gradio_api/run-history",
    "/gradio_api/runs",
    "/gradio_api/stream/",
    "/gradio_api/custom_component/",
    "/gradio_api/process_recording",
    "/monitoring",
)
FILE_PREFIXES = ("/gradio_api/file=", "/gradio_api/file/", "/file=")


def allowed_file(target: str, roots: Sequence[str | Path]) -> bool:
    """Whether ``target`` (a path from a file URL) resolves to a file inside one of ``roots``."""
    if "://" in target or target.startswith("//") or not target.strip():
        return False
    try:
        real = Path(os.path.realpath(os.path.abspath(target)))
    except (OSError, ValueError):
        return False
    for root in roots:
        base = Path(os.path.realpath(os.path.abspath(root)))
        if real == base or base in real.parents:
            return True
    return False


def same_origin(origin: str, host: str) -> bool:
    """Whether an ``Origin`` header names the address the request was sent to (``Host``)."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False  # "null", file://, garbage
    default = "443" if parts.scheme == "https" else "80"

    def norm(netloc: str) -> str:
        netloc = netloc.lower().rstrip(".")
        return netloc if (":" in netloc.rsplit("]", 1)[-1]) else f"{netloc}:{default}"

    return bool(host) and norm(parts.netloc) == norm(host)


class Exposure:
    """ASGI middleware: refuses cross-origin requests, unused Gradio routes and files outside ``roots``."""

    def __init__(self, app: Any, roots: Sequence[str | Path]):
        self.app = app
        self.roots = [Path(r) for r in roots]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        path = scope.get("path", "")
        origin = headers.get("origin")
        refusal: tuple[int, str] | None = None
        if origin is not None and not same_origin(origin, headers.get("x-forwarded-host") or headers.get("host", "")):
            refusal = (403, f"cross-origin requests are refused (Origin {origin})")
        elif path.startswith(BLOCKED_PREFIXES):
            refusal = (404, "not served")
        else:
            for prefix in FILE_PREFIXES:
                if path.startswith(prefix) and not allowed_file(path[len(prefix) :], self.roots):
                    refusal = (403, "file not served: only uploads and the index folder are")
                    break
        if refusal is not None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            from starlette.responses import JSONResponse

            await JSONResponse({"error": refusal[1]}, status_code=refusal[0])(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        async def without_cors(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (k, v) for k, v in message.get("headers", []) if not k.lower().startswith(b"access-control-")
                ]
            await send(message)

        await self.app(scope, receive, without_cors)
