"""The OpenAI-compatible API, driven by the real ``openai`` client against the running server."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.slow

QUESTION = "2025年铜仁市发放了多少职工医疗互助金？"


@pytest.fixture(scope="module")
def client(live_server):
    from openai import OpenAI

    return OpenAI(base_url=live_server.url + "/v1", api_key="unused", max_retries=0, timeout=60)


def test_models(client):
    ids = [m.id for m in client.models.list()]
    assert ids == ["rag-zh"]


def test_plain_answer_has_figure_citations_and_sources(client):
    r = client.chat.completions.create(model="rag-zh", messages=[{"role": "user", "content": QUESTION}])
    text = r.choices[0].message.content
    assert "3234万元" in text and "[1]" in text
    assert "来源：" in text  # the text list under the answer
    sources = r.model_extra["sources"]
    assert sources and sources[0]["n"] == 1
    short = r.model_extra["short_answer"]
    assert "3234" in short and text.startswith(short)  # the asked span alone, and it opens the answer
    assert "3234" in sources[0]["quote"] and sources[0]["quote"] in sources[0]["text"]
    assert r.model_extra["refused"] is False
    assert r.usage.total_tokens > 0


def test_streamed_answer(client):
    stream = client.chat.completions.create(
        model="rag-zh", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    pieces, last = [], None
    for chunk in stream:
        last = chunk
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
    text = "".join(pieces)
    assert "3234万元" in text and "[1]" in text and "来源：" in text
    assert last is not None and last.choices[0].finish_reason == "stop"
    assert last.model_extra["sources"][0]["n"] == 1


def test_follow_up_uses_the_conversation(client):
    first_q = "2025年铜仁市工会指导企业签订了多少份综合集体合同？"
    first = client.chat.completions.create(model="rag-zh", messages=[{"role": "user", "content": first_q}])
    r = client.chat.completions.create(
        model="rag-zh",
        messages=[
            {"role": "user", "content": first_q},
            {"role": "assistant", "content": first.choices[0].message.content},
            {"role": "user", "content": "那2024年呢？"},
        ],
    )
    resolved = r.model_extra["resolved_question"]
    assert "2024" in resolved and "铜仁" in resolved


def test_refusal_is_plain(client):
    r = client.chat.completions.create(
        model="rag-zh", messages=[{"role": "user", "content": "广州市总工会2023年建成了多少个户外劳动者驿站？"}]
    )
    assert r.model_extra["refused"] is True
    assert r.choices[0].message.content.startswith("资料中没有相关信息")


def test_bad_requests_are_clear_errors(client, live_server):
    from openai import BadRequestError

    with pytest.raises(BadRequestError, match="user message"):
        client.chat.completions.create(model="rag-zh", messages=[{"role": "system", "content": "hi"}])
    r = httpx.post(live_server.url + "/v1/chat/completions", content=b"{not json", timeout=10)
    assert r.status_code == 400 and "JSON" in r.json()["error"]["message"]


def test_langchain_chat_openai_can_use_it(live_server):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model="rag-zh", base_url=live_server.url + "/v1", api_key="unused", max_retries=0)
    assert "3234万元" in llm.invoke(QUESTION).content


def test_api_key_is_required_when_set(live_server):
    from openai import AuthenticationError, OpenAI

    try:
        from tests.ui_server import LiveServer
    except ImportError:
        from ui_server import LiveServer  # type: ignore[no-redef]
    from rag.settings import Settings

    with LiveServer(live_server.index, Settings(api_key="k-123"), service=live_server.service) as srv:
        bad = OpenAI(base_url=srv.url + "/v1", api_key="wrong", max_retries=0)
        with pytest.raises(AuthenticationError):
            bad.models.list()
        good = OpenAI(base_url=srv.url + "/v1", api_key="k-123", max_retries=0)
        assert [m.id for m in good.models.list()] == ["rag-zh"]
        assert httpx.get(srv.url + "/v1/models", timeout=10).status_code == 401
        assert httpx.get(srv.url + "/", timeout=10).status_code == 200  # a key alone guards only the API


def test_login_guards_every_route(live_server):
    from openai import OpenAI

    try:
        from tests.ui_server import LiveServer
    except ImportError:
        from ui_server import LiveServer  # type: ignore[no-redef]
    from rag.settings import Settings

    with LiveServer(live_server.index, Settings(auth="alice:s3cret"), service=live_server.service) as srv:
        anon = httpx.Client(base_url=srv.url, timeout=10)
        page = anon.get("/", headers={"Accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        for path in ("/gradio_api/info", "/config", "/rag/passage/x", "/v1/models", "/gradio_api/file=/etc/passwd"):
            assert anon.get(path).status_code == 401, path
        assert anon.post("/gradio_api/upload", files={"files": ("a.txt", b"x")}).status_code == 401
        assert anon.post("/login", data={"username": "alice", "password": "nope"}).status_code == 401
        logged = httpx.Client(base_url=srv.url, timeout=10)
        r = logged.post("/login", data={"username": "alice", "password": "s3cret", "next": "https://evil.example/"})
        assert r.status_code == 303 and r.headers["location"] == "/"  # no open redirect
        assert logged.get("/", headers={"Accept": "text/html"}).status_code == 200
        assert logged.get("/gradio_api/info").status_code == 200
        assert httpx.get(srv.url + "/v1/models", auth=("alice", "s3cret"), timeout=10).status_code == 200
        api = OpenAI(base_url=srv.url + "/v1", api_key="alice:s3cret", max_retries=0)
        assert [m.id for m in api.models.list()] == ["rag-zh"]


def test_llm_mode_streams_through_the_api(live_server, server):
    """With an LLM configured (a local scripted OpenAI-compatible server), the API streams its tokens."""
    from openai import OpenAI

    try:
        from tests.ui_server import LiveServer
    except ImportError:
        from ui_server import LiveServer  # type: ignore[no-redef]
    from rag.settings import Settings
    from ui.service import Service

    try:
        from tests.test_assistant_llm import _reply
    except ImportError:
        from test_assistant_llm import _reply  # type: ignore[no-redef]

    server.reply = _reply
    settings = Settings(llm="openai:test-model", llm_base_url=server.base_url, llm_api_key="test")
    svc = Service(live_server.index, settings)
    assert svc.llm_available and svc.variant(mode="offline").settings.llm == ""
    with LiveServer(live_server.index, settings, service=svc) as srv:
        client = OpenAI(base_url=srv.url + "/v1", api_key="unused", max_retries=0)
        pieces = [
            c.choices[0].delta.content
            for c in client.chat.completions.create(
                model="rag-zh", messages=[{"role": "user", "content": "拉萨全市建立了多少个基层工会组织？"}], stream=True
            )
            if c.choices and c.choices[0].delta.content
        ]
    text = "".join(pieces)
    assert "2123" in text and "[1]" in text and "来源：" in text
    assert len(pieces) > 2  # tokens as they came, not one block
    assert server.requests


def test_restricting_to_documents(live_server):
    svc = live_server.service
    other = next(s for s in svc.sources() if not s.startswith("000_"))
    ans = svc.ask(QUESTION, sources=[other])
    assert all(p.source == other for p in ans.passages)
    assert "3234万元" not in ans.text
