"""``rag serve``: the chat page, the document view and the OpenAI-compatible API on one server.

>>> app = create_app("index")                                    # doctest: +SKIP
>>> serve("index", host="127.0.0.1", port=7860)                  # doctest: +SKIP

Routes: ``/`` the Gradio page (and Gradio's own ``/gradio_api/...``), ``/rag/passage/{id}``
the whole document of a passage as escaped HTML, ``/v1/models`` and
``/v1/chat/completions``, ``/login`` when a login is configured.

One middleware guards every route when ``RAG_AUTH`` is set: a browser logs in once at
``/login`` (a random session cookie, HttpOnly, SameSite=Strict); programs send HTTP
Basic credentials, or a bearer token (``RAG_API_KEY``, or ``user:password`` when no key
is set). ``RAG_API_KEY`` alone guards only ``/v1``. Inside that gate
:class:`ui.guard.Exposure` refuses cross-origin requests, the Gradio routes the page does
not use, and files from outside the index folder and Gradio's upload folder; there are
no analytics.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import html
import logging
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from rag.settings import Settings
from ui.guard import Exposure
from ui.service import Service

log = logging.getLogger(__name__)

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_SESSION_COOKIE = "rag_session"
SESSION_SECONDS = 12 * 3600  # a browser logs in again after this long


def read_users(spec: str) -> dict[str, str]:
    """Users from ``RAG_AUTH``: "user:pw[,user2:pw2]" or a file of "user:pw" lines.

    >>> read_users("alice:secret,bob:pw")
    {'alice': 'secret', 'bob': 'pw'}
    >>> read_users("")
    {}
    """
    spec = spec.strip()
    if not spec:
        return {}
    path = Path(spec)
    if ":" not in spec or (path.is_file() and not spec.count(",")):
        if not path.is_file():
            raise ValueError(f"RAG_AUTH={spec!r} is neither 'user:password' nor a readable file of such lines")
        entries = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        entries = [e for e in entries if e and not e.startswith("#")]
    else:
        entries = [e.strip() for e in spec.split(",") if e.strip()]
    users: dict[str, str] = {}
    for e in entries:
        user, sep, pw = e.partition(":")
        if not sep or not user or not pw:
            raise ValueError(f"login entry {e.split(':')[0]!r}… must be 'user:password' with both parts non-empty")
        users[user] = pw
    return users


def _login_page(next_url: str, failed: bool) -> str:
    msg = '<p class="err">用户名或密码不对。</p>' if failed else ""
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>登录 · 文档问答</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;background:#f5f6f8;
display:flex;align-items:center;justify-content:center;height:100vh;margin:0}}form{{background:#fff;padding:2em 2.5em;
border-radius:10px;box-shadow:0 2px 12px #0001;min-width:280px}}input{{display:block;width:100%;margin:.4em 0 1em;
padding:.5em;font-size:1em;box-sizing:border-box}}button{{width:100%;padding:.6em;font-size:1em;background:#f97316;
color:#fff;border:0;border-radius:6px}}.err{{color:#b91c1c}}</style></head><body>
<form method="post" action="/login"><h2>文档问答 · 登录</h2>{msg}
<input type="hidden" name="next" value="{html.escape(next_url)}">
<label>用户名<input name="username" autocomplete="username" required autofocus></label>
<label>密码<input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">登录</button></form></body></html>"""


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


class AuthGate:
    """ASGI middleware: every request proves who it is, or gets 401 / the login page."""

    def __init__(self, app: Any, users: dict[str, str], api_key: str = ""):
        self.app = app
        self.users = users
        self.api_key = api_key
        self.sessions: dict[str, tuple[str, float]] = {}

    def _check_user(self, user: str, pw: str) -> bool:
        want = self.users.get(user)
        return want is not None and hmac.compare_digest(want.encode(), pw.encode())

    def _bearer_ok(self, token: str, path: str) -> bool:
        if self.api_key and hmac.compare_digest(token.encode(), self.api_key.encode()):
            return path.startswith("/v1")
        user, _, pw = token.partition(":")
        return bool(self.users) and not self.api_key and self._check_user(user, pw)

    def allowed(self, scope: dict[str, Any]) -> bool:
        path = scope.get("path", "")
        guarded = bool(self.users) or (bool(self.api_key) and path.startswith("/v1"))
        if not guarded:
            return True
        headers = _headers(scope)
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return self._bearer_ok(auth[7:].strip(), path)
        if auth.lower().startswith("basic ") and self.users:
            try:
                user, _, pw = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return self._check_user(user, pw)
        if not self.users:
            return False  # /v1 with a key set: the key is needed
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == _SESSION_COOKIE and value in self.sessions:
                if time.time() - self.sessions[value][1] < SESSION_SECONDS:
                    return True
                self.sessions.pop(value, None)
        return False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if scope["type"] == "http" and path == "/login" and self.users:
            await self._login(scope, receive, send)
            return
        if self.allowed(scope):
            await self.app(scope, receive, send)
            return
        from starlette.responses import JSONResponse, RedirectResponse, Response

        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        headers = _headers(scope)
        response: Any
        if path.startswith("/v1"):
            response = JSONResponse(
                {"error": {"message": "missing or wrong API key", "type": "invalid_request_error", "code": "invalid_api_key"}},
                status_code=401,
            )
        elif scope.get("method") == "GET" and "text/html" in headers.get("accept", ""):
            target = path + (("?" + scope["query_string"].decode("latin-1")) if scope.get("query_string") else "")
            response = RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)
        else:
            response = Response("login required", status_code=401, headers={"WWW-Authenticate": 'Basic realm="rag"'})
        await response(scope, receive, send)

    async def _login(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        from starlette.requests import Request
        from starlette.responses import HTMLResponse, RedirectResponse

        request = Request(scope, receive)
        next_url = request.query_params.get("next", "/")
        if request.method == "POST":
            form = await request.form()
            user, pw = str(form.get("username", "")), str(form.get("password", ""))
            next_url = str(form.get("next", "/"))
            if self._check_user(user, pw):
                token = secrets.token_urlsafe(32)
                self.sessions[token] = (user, time.time())
                parts = urlsplit(next_url)
                safe_next = next_url if (not parts.scheme and not parts.netloc and next_url.startswith("/")) else "/"
                response: Any = RedirectResponse(safe_next, status_code=303)
                response.set_cookie(_SESSION_COOKIE, token, httponly=True, samesite="strict")
                await response(scope, receive, send)
                return
            await asyncio.sleep(0.5)  # slows guessing
            await HTMLResponse(_login_page(next_url, True), status_code=401)(scope, receive, send)
            return
        await HTMLResponse(_login_page(next_url, False))(scope, receive, send)


def create_app(index_dir: str | Path, settings: Settings | None = None, *, service: Service | None = None) -> Any:
    """The whole server as one ASGI app (FastAPI with the Gradio page mounted at ``/``)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import gradio as gr
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    from ui.chat import build_ui, css, head_html, theme
    from ui.openai_api import router
    from ui.render import document_html

    settings = settings or Settings.from_env()
    users = read_users(settings.auth)
    service = service or Service(index_dir, settings)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, title="rag-zh")
    app.include_router(router(service))

    @app.get("/rag/passage/{passage_id}")
    def passage_document(passage_id: str) -> Any:
        """The document holding a passage, escaped, the passage marked."""
        found = service.passage(passage_id) if service.has_index() else None
        if found is None:
            return JSONResponse({"error": "no such passage"}, status_code=404)
        p, doc, text = found
        start, end = (doc.start, doc.end) if doc is not None and doc.end > doc.start else (0, len(text))
        body = text[start:end]
        return {
            "title": p.title,
            "source": p.source,
            "html": document_html(p.title, body, p.start - start, p.end - start),
        }

    demo = build_ui(service)
    app = gr.mount_gradio_app(
        app,
        demo,
        path="/",
        footer_links=[],
        max_file_size=f"{settings.max_upload_mb}mb",
        ssr_mode=False,
        theme=theme(),
        css=css(),
        head=head_html(),
        allowed_paths=[],
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
    )
    app.state.service = service
    uploads = [getattr(r.app, "uploaded_file_dir", None) for r in app.routes if hasattr(r, "app")]
    guarded: Any = Exposure(app, [Path(index_dir), *[Path(u) for u in uploads if u]])
    return AuthGate(guarded, users, settings.api_key) if (users or settings.api_key) else guarded


def serve(index_dir: str | Path, settings: Settings | None = None) -> None:
    """Start the server and block; prints the address when it is ready."""
    import uvicorn

    settings = settings or Settings.from_env()
    t0 = time.perf_counter()
    service = Service(index_dir, settings)
    if service.has_index():
        service.assistant().warm_up()
    else:
        print(f"rag: {index_dir} holds no documents yet; upload some in the page's 「文档管理」 tab", file=sys.stderr)
    app = create_app(index_dir, settings, service=service)
    if settings.host not in LOOPBACK and not settings.auth:
        print(
            f"rag: warning: listening on {settings.host} without a login: anyone who can reach this machine can "
            "read and change the documents. Set RAG_AUTH=user:password.",
            file=sys.stderr,
        )

    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    original = server.startup

    async def startup(*args: Any, **kwargs: Any) -> None:
        await original(*args, **kwargs)
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        print(f"rag: ready at http://{host}:{settings.port}/ in {time.perf_counter() - t0:.1f} s", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run()
