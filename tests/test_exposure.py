"""What the server exposes: every route behind the login, no file from outside its folders,
uploads checked on the server, hostile documents shown as text, no cross-origin access,
loopback by default.

The routes are enumerated from the app itself (FastAPI's and the mounted Gradio app's), so
a route added later -- by this project or by a Gradio upgrade -- is checked without anyone
listing it here.
"""

from __future__ import annotations

import base64
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

try:
    from tests.ui_server import LiveServer, ServerProcess, build_tiny_index
except ImportError:
    from ui_server import LiveServer, ServerProcess, build_tiny_index  # type: ignore[no-redef]

pytestmark = pytest.mark.slow

USER, PASSWORD = "alice", "s3cret-pw"
HOSTILE_NAME = "<img src=x onerror=window.__pwned=3>.txt"
HOSTILE_TEXT = (
    "<script>window.__pwned=1</script>星河镇图书馆年报\n\n"
    '2026年星河镇共建成<img src=x onerror="window.__pwned=2">乡村书屋37座，藏书12万册。\n'
)


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("exposure")
    hostile = root / "extra" / HOSTILE_NAME
    hostile.parent.mkdir(parents=True)
    hostile.write_text(HOSTILE_TEXT, encoding="utf-8")
    return build_tiny_index(root, extra=[hostile])


@pytest.fixture(scope="module")
def service(index):
    from ui.service import Service

    return Service(index)


@pytest.fixture(scope="module")
def guarded(index, service) -> Iterator[LiveServer]:
    from rag.settings import Settings

    with LiveServer(index, Settings(auth=f"{USER}:{PASSWORD}", max_upload_mb=1), service=service) as srv:
        yield srv


@pytest.fixture(scope="module")
def open_server(index, service) -> Iterator[LiveServer]:
    with LiveServer(index, service=service) as srv:
        yield srv


def basic() -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}


def routes(app: Any) -> list[tuple[str, str]]:
    """``(method, path)`` of every route of ``app``: through middleware (``.app``), FastAPI's
    included routers and mounted apps (Gradio's)."""
    while not hasattr(app, "routes"):
        app = app.app
    out: list[tuple[str, str]] = []

    def walk(items: Any, prefix: str) -> None:
        for r in items:
            kind = type(r).__name__
            if kind == "_IncludedRouter":  # FastAPI's wrapper of an included router
                walk(r.original_router.routes, prefix + (r.include_context.prefix or ""))
            elif hasattr(r, "routes") and hasattr(r, "path") and not hasattr(r, "methods"):  # a Mount
                walk(r.routes, prefix + r.path)
            else:
                methods = getattr(r, "methods", None) or {"WEBSOCKET"}
                out.extend((m, prefix + r.path) for m in sorted(methods))

    walk(app.routes, "")
    return out


def concrete(path: str) -> str:
    """A path template with each ``{param}`` filled in (``{size}`` and ids with digits)."""
    return re.sub(r"\{([^}:]+)(?::[^}]*)?\}", lambda m: "1" if m.group(1) in ("size", "component_id") else "x", path) or "/"


# --- the login guards everything ----------------------------------------------------------------


def test_every_route_refuses_without_credentials(guarded):
    found = routes(guarded._server.config.app)
    paths = {p for _, p in found}
    for known in ("/v1/chat/completions", "/rag/passage/{passage_id}", "/gradio_api/queue/join", "/gradio_api/upload", "/config"):
        assert known in paths, f"route enumeration missed {known}"
    assert any(p.startswith("/gradio_api/file=") for p in paths)
    assert len(found) > 50
    found += [("GET", "/no/such/route"), ("POST", "/gradio_api/upload"), ("GET", "/gradio_api/file=/etc/passwd")]
    wrong = {"Authorization": "Basic " + base64.b64encode(f"{USER}:nope".encode()).decode()}
    with httpx.Client(base_url=guarded.url, timeout=20) as anon:
        for method, path in found:
            url = concrete(path)
            if method == "WEBSOCKET":
                pytest.fail(f"a websocket route appeared ({path}): add a websocket check here")
            for headers in ({}, wrong, {"Authorization": "Bearer nobody:nothing"}):
                r = anon.request(method, url, headers=headers)
                assert r.status_code == 401, (method, path, r.status_code, r.text[:200])
            page = anon.request(method, url, headers={"Accept": "text/html"})
            if method == "GET" and not path.startswith("/v1"):  # a browser is sent to the login page, nothing else
                assert page.status_code == 303 and page.headers["location"].startswith("/login?next="), (path, page.status_code)
            else:
                assert page.status_code == 401, (method, path)
        # and with credentials the same server answers, so the refusals above mean something
        assert anon.get("/config", headers=basic()).status_code == 200
        assert anon.get("/v1/models", headers=basic()).status_code == 200


# --- files ----------------------------------------------------------------------------------------


def test_no_file_outside_the_upload_and_index_folders(guarded, index, tmp_path):
    c = httpx.Client(base_url=guarded.url, timeout=20, headers=basic())
    up = c.post("/gradio_api/upload", files={"files": ("note.txt", "上传的文件内容".encode())})
    assert up.status_code == 200, up.text
    uploaded = Path(up.json()[0])
    served = c.get(f"/gradio_api/file={uploaded}")
    assert served.status_code == 200 and "上传的文件内容" in served.text  # the route works for its own files

    link = uploaded.parent / "passwd-link.txt"  # a symlink inside the upload folder pointing out of it
    link.symlink_to("/etc/passwd")
    index_link = index / "passwd-link.txt"
    index_link.symlink_to("/etc/passwd")
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret", encoding="utf-8")
    rel = os.path.relpath("/etc/passwd", uploaded.parent)
    try:
        for target in (
            "/etc/passwd",
            str(secret),
            f"{uploaded.parent}/../../../../etc/passwd",
            f"{uploaded.parent}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
            f"{uploaded.parent}/{rel}",
            str(link),
            str(index_link),
            "../../../../../../etc/passwd",
            "http://127.0.0.1:1/",
            "https://example.com/x.txt",
        ):
            for prefix in ("/gradio_api/file=", "/gradio_api/file/", "/file="):
                r = c.get(prefix + target)
                assert r.status_code in (403, 404), (prefix + target, r.status_code)
                assert "root:" not in r.text and "top secret" not in r.text
        assert c.get("/gradio_api/proxy=https://example.com/").status_code == 404
    finally:
        link.unlink()
        index_link.unlink()


def test_uploads_are_checked_on_the_server(guarded, index, tmp_path):
    c = httpx.Client(base_url=guarded.url, timeout=60, headers=basic())
    big = b"x" * (1024 * 1024 + 10)  # over max_upload_mb=1
    r = c.post("/gradio_api/upload", files={"files": ("big.txt", big)})
    assert r.status_code == 413, (r.status_code, r.text[:200])

    from gradio_client import Client, handle_file

    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ\x90\x00 not a document")
    fake = tmp_path / "fake.pdf"  # the right suffix, not a PDF: the server's reader refuses it
    fake.write_bytes(b"this is not a pdf")
    client = Client(guarded.url, headers=basic(), verbose=False)
    results: list[str] = []
    for f in (exe, fake):
        try:
            out = client.predict([handle_file(str(f))], api_name="/do_upload")
            results.append(str(out[0]))
        except Exception as e:  # Gradio's own type check refused it before our code ran
            results.append(f"error: {e}")
    assert "拒绝" in results[1] or "error" in results[1], results
    assert "拒绝" in results[0] or "error" in results[0], results
    names = guarded.service.sources()
    assert not any(n.endswith((".exe", "fake.pdf")) for n in names)
    assert not (index / "uploads" / "tool.exe").exists()


# --- hostile documents ------------------------------------------------------------------------------


def test_hostile_document_is_escaped_everywhere(open_server, service):
    pid = next(c.id for c in service.assistant().data.chunks if "乡村书屋" in c.text)
    doc = httpx.get(f"{open_server.url}/rag/passage/{pid}", timeout=20).json()
    assert "<script>" not in doc["html"] and "&lt;script&gt;" in doc["html"] and "<img" not in doc["html"]

    if not os.access("/usr/bin/chromium", os.X_OK):
        pytest.fail("/usr/bin/chromium is missing: `make browsers` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    try:
        from tests.test_browser import ARGS, CHROMIUM, ask
    except ImportError:
        from test_browser import ARGS, CHROMIUM, ask  # type: ignore[no-redef]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(open_server.url + "/")
        page.wait_for_selector("#rag-input textarea")
        text = ask(page, "2026年星河镇共建成乡村书屋多少座？", 1)
        assert "37座" in text
        page.locator("#rag-src-0-1 button.rag-open").click()
        page.locator("#rag-doc-modal #rag-doc-hit").wait_for(timeout=10_000)
        shown = page.locator("#rag-sources").inner_text() + page.locator("#rag-doc-modal").inner_text()
        assert "<script>" in page.locator("#rag-doc-modal").inner_text()  # shown as text
        assert "onerror" in shown and HOSTILE_NAME in page.locator("#rag-sources").inner_text()
        page.keyboard.press("Escape")
        page.get_by_role("tab", name="文档管理").click()
        docs = page.locator("#rag-docs")
        docs.wait_for()
        page.wait_for_function("() => document.querySelector('#rag-docs').innerText.includes('onerror')")
        assert "<img src=x onerror=window.__pwned=3>" in docs.inner_text()  # its title and file, as text
        page.wait_for_timeout(500)
        assert page.evaluate("() => window.__pwned") is None
        assert dialogs == []
        injected = "#rag-chat img, #rag-chat script, #rag-sources img, #rag-sources script, #rag-doc-modal img, #rag-docs img, #rag-docs script"
        assert page.locator(injected).count() == 0
        browser.close()


# --- cross-origin, binding ----------------------------------------------------------------------------


@pytest.mark.parametrize("host", [None, "myserver.lan:7860"])
def test_cross_origin_requests_get_no_cors_grant(open_server, host):
    headers = {"Origin": "http://evil.example"}
    if host:
        headers["Host"] = host  # reached by a LAN name: Gradio alone would echo any origin here
    c = httpx.Client(base_url=open_server.url, timeout=20)
    for path in ("/gradio_api/queue/join", "/v1/chat/completions", "/config", "/gradio_api/upload"):
        pre = c.options(path, headers={**headers, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
        assert "access-control-allow-origin" not in pre.headers, (path, dict(pre.headers))
        assert pre.status_code == 403
    for method, path in (("GET", "/config"), ("GET", "/v1/models"), ("POST", "/v1/chat/completions")):
        r = c.request(method, path, headers=headers, json={"messages": [{"role": "user", "content": "你好"}]})
        assert r.status_code == 403 and "access-control-allow-origin" not in r.headers, (path, r.status_code)
        assert "access-control-allow-credentials" not in r.headers
    same = c.get("/config", headers={"Origin": open_server.url})  # the page's own requests still work
    assert same.status_code == 200 and "access-control-allow-origin" not in same.headers


def test_binds_loopback_by_default(index):
    from rag.settings import Settings

    assert Settings().host == "127.0.0.1"
    with ServerProcess(index) as srv:
        assert any(f"ready at http://127.0.0.1:{srv.port}/" in line for line in srv.log), srv.log[-5:]
        assert httpx.get(srv.url + "/v1/models", timeout=20).status_code == 200
        try:
            lan = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
        except OSError:
            lan = set()
        for ip in lan:
            if ip.startswith("127."):
                continue
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://{ip}:{srv.port}/v1/models", timeout=5)
