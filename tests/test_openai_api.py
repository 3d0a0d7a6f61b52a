"""The OpenAI-compatible API, driven by the real ``openai`` client against the running server;
and a slow or hung LLM behind it (the API and the chat page end in a clear timeout message,
other users are answered meanwhile)."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import httpx
import pytest

try:
    from tests.llm_server import NEVER, ScriptedLLMServer
    from tests.ui_server import LiveServer, build_tiny_index
except ImportError:
    from llm_server import NEVER, ScriptedLLMServer  # type: ignore[no-redef]
    from ui_server import LiveServer, build_tiny_index  # type: ignore[no-redef]

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


# --- a slow or hung LLM ---------------------------------------------------------------------------

LLM_TIMEOUT = 8.0
HANGS = "临江市共有普通中学多少所？"  # the scripted model never answers (or only after 30 s) this one
QUICK = "全年青川县新建图书馆多少个？"  # ... and answers this one at once


def _from_passages(messages):
    """Cite whichever numbered passage holds the asked town's library figure."""
    user = messages[-1]["content"]
    for m in re.finditer(r'<passage id="(\d+)">(.*?)</passage>', user, re.S):
        found = re.search(r"全年(\S+?)新建图书馆(\d+)个", m.group(2))
        if found and found.group(1) in user.split("问题：")[-1]:
            return f"全年{found.group(1)}新建图书馆{found.group(2)}个[{m.group(1)}]。"
    return "资料中没有相关信息。"


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory):
    return build_tiny_index(tmp_path_factory.mktemp("slow_llm"))


@pytest.fixture(params=[30.0, NEVER], ids=["after-30s", "never"])
def slow_llm(request, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    hang = request.param
    def delay(messages: list[dict[str, Any]]) -> float:  # by the question, not the passages around it
        return hang if "普通中学" in str(messages[-1]["content"]).split("问题：")[-1] else 0.0

    srv = ScriptedLLMServer(_from_passages, delay=delay)
    with srv:
        yield srv


@pytest.fixture
def slow_server(tiny_index, slow_llm):
    from rag.settings import Settings
    from ui.service import Service

    settings = Settings(llm="openai:test-model", llm_base_url=slow_llm.base_url, llm_api_key="test", llm_timeout=LLM_TIMEOUT)
    service = Service(tiny_index, settings)
    service.assistant().warm_up()
    with LiveServer(tiny_index, settings, service=service) as srv:
        yield srv


def _timed(f):
    t0 = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t0


def test_hung_llm_ends_in_a_timeout_and_blocks_no_one(slow_server):
    """One API request waits on a model that does not answer; others are answered meanwhile."""
    from gradio_client import Client

    url = slow_server.url
    body = {"model": "rag-zh", "messages": [{"role": "user", "content": HANGS}]}
    results: dict[str, Any] = {}

    ui = Client(url, verbose=False)

    def hung(key: str, stream: bool) -> None:
        results[key] = _timed(lambda: httpx.post(url + "/v1/chat/completions", json={**body, "stream": stream}, timeout=120))
        results[key + "_end"] = time.monotonic()

    threads = [threading.Thread(target=hung, args=(k, s)) for k, s in (("plain", False), ("stream", True))]
    for th in threads:
        th.start()
    time.sleep(0.5)  # both are waiting on the model now
    quick, quick_s = _timed(
        lambda: httpx.post(url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": QUICK}]}, timeout=60)
    )
    (_, offline_chat, _), offline_s = _timed(lambda: ui.predict(HANGS, 5, "离线（抽取式）", [], api_name="/respond"))
    others_done = time.monotonic()
    for th in threads:
        th.join(timeout=60)

    assert quick.status_code == 200 and "7个" in quick.json()["choices"][0]["message"]["content"]
    assert "8所" in str(offline_chat[-1]["content"])  # the page's offline answer to the very question that hangs
    assert others_done < min(results["plain_end"], results["stream_end"]), "others were answered while the hung ones waited"
    for key in ("plain", "stream"):
        r, seconds = results[key]
        assert r.status_code == 504, (key, r.status_code, r.text[:300])
        err = r.json()["error"]
        assert err["code"] == "llm_timeout" and err["type"] == "timeout"
        assert "超时" in err["message"] and f"{LLM_TIMEOUT:g}" in err["message"] and "llm_timeout" in err["message"]
        assert LLM_TIMEOUT - 0.5 <= seconds <= LLM_TIMEOUT + 10, (key, seconds)
    print(
        f"\nhung request ended after {results['plain'][1]:.1f} s (llm_timeout {LLM_TIMEOUT:g}); meanwhile an LLM "
        f"answer took {quick_s:.2f} s and an offline answer in the page {offline_s:.2f} s (shared machine)"
    )


def test_hung_llm_in_the_chat_page_says_it_timed_out(slow_server):
    from gradio_client import Client

    ui = Client(slow_server.url, verbose=False)
    (_, chat, _), seconds = _timed(lambda: ui.predict(HANGS, 5, "大模型", [], api_name="/respond"))
    last = chat[-1]
    text = "".join(p.get("text", "") for p in last["content"]) if isinstance(last["content"], list) else str(last["content"])
    assert last["role"] == "assistant" and "超时" in text and f"{LLM_TIMEOUT:g} 秒" in text, text
    assert seconds <= LLM_TIMEOUT + 10
    # the conversation goes on: the next question is answered by the model, no stale state
    (_, chat, _) = ui.predict(QUICK, 5, "大模型", [], api_name="/respond")
    assert "7个" in str(chat[-1]["content"])


def test_llm_timeout_setting_is_validated():
    from rag.settings import Settings

    assert Settings().llm_timeout == 60.0
    assert Settings.from_env({"RAG_LLM_TIMEOUT": "2.5"}).llm_timeout == 2.5
    with pytest.raises(ValueError, match="llm_timeout=0"):
        Settings(llm_timeout=0)


class _StallingModel:
    """A LangChain-like chat model that starts its reply, then stalls (or never replies)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def stream(self, messages):
        from langchain_core.messages import AIMessageChunk

        yield AIMessageChunk(content="全年临江市")
        self.release.wait(30)
        yield AIMessageChunk(content="新建图书馆12个[1]。")

    def invoke(self, messages):
        self.release.wait(30)
        raise AssertionError("never reached in time")


def test_deadline_covers_a_reply_that_stalls_midway():
    from rag.answer.llm import LLMAnswerer, LLMTimeout
    from rag.records import Passage
    from rag.settings import Settings

    model = _StallingModel()
    llm = LLMAnswerer(Settings(llm_timeout=1.0), model=model)
    passages = [Passage("a", "全年临江市新建图书馆12个。", "a.txt", "t", (), 1.0)]
    pieces: list[Any] = []
    t0 = time.perf_counter()
    with pytest.raises(LLMTimeout, match=r"within 1 s \(Settings.llm_timeout"):
        for piece in llm.stream("新建图书馆多少个？", passages):
            pieces.append(piece)
    assert pieces == ["全年临江市"] and time.perf_counter() - t0 < 5
    t0 = time.perf_counter()
    with pytest.raises(LLMTimeout) as e:
        llm.answer("新建图书馆多少个？", passages)
    assert "超时" in e.value.user_message and time.perf_counter() - t0 < 5
    model.release.set()
