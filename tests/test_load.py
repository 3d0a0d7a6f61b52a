"""The server under load: 16 clients at once for a fixed time, against ``rag serve`` in its own process.

Clients, each with its own multi-turn conversation about one of four made-up towns
(question, then two follow-ups that name no town, so a follow-up answered in another
client's context shows up as another town's figure):

- 6 OpenAI-API clients (``/v1/chat/completions``, plain), 4 streaming (``stream=true``);
- 5 Gradio sessions through ``gradio_client`` (the page's own queue API; a session's
  conversation lives in server-side state, cleared between rounds);
- 1 real Chromium page (playwright, ``/usr/bin/chromium``).

Every answer must equal the answer the same client kind got for the same conversation
when asked alone, before the load. Latency (question sent -> whole answer) p50/p95 per
kind are printed and written to ``eval/runs/load/latest.json``.
``RAG_LOAD_SECONDS`` sets the duration (60 by default; ~15 for a quick run).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

try:
    from tests.ui_server import TOWNS, ServerProcess, build_tiny_index
except ImportError:
    from ui_server import TOWNS, ServerProcess, build_tiny_index  # type: ignore[no-redef]

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "eval" / "runs" / "load" / "latest.json"
KINDS = ["api"] * 6 + ["api_stream"] * 4 + ["gradio"] * 5 + ["browser"]
OFFLINE = "离线（抽取式）"
# Read at import: the suite's fixtures clear RAG_* variables before each test runs.
LOAD_SECONDS = float(os.environ.get("RAG_LOAD_SECONDS") or 60)


def conversation(town: str) -> list[str]:
    return [f"{town}新建了多少个图书馆？", "那普通中学有多少所？", "城市公园呢？"]


def expected_figures(i: int) -> list[str]:
    _, libraries, schools, parks = TOWNS[i]
    return [f"{libraries}个", f"{schools}所", f"{parks}座"]


# --- one conversation, per client kind -------------------------------------------------------


class ApiClient:
    def __init__(self, url: str, stream: bool):
        self.http = httpx.Client(base_url=url, timeout=120)
        self.stream = stream

    def ask(self, messages: list[dict[str, str]]) -> str:
        body: dict[str, Any] = {"model": "rag-zh", "messages": messages, "stream": self.stream}
        if not self.stream:
            r = self.http.post("/v1/chat/completions", json=body)
            r.raise_for_status()
            return str(r.json()["choices"][0]["message"]["content"])
        text = []
        with self.http.stream("POST", "/v1/chat/completions", json=body) as r:
            r.raise_for_status()
            for line in r.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                if "error" in chunk:
                    raise RuntimeError(f"stream error: {chunk['error']}")
                text.append(chunk["choices"][0]["delta"].get("content") or "")
        return "".join(text)

    def run(self, questions: list[str], timed: Callable[[Callable[[], str]], str]) -> list[str]:
        messages: list[dict[str, str]] = []
        answers = []
        for q in questions:
            messages.append({"role": "user", "content": q})
            a = timed(lambda m=list(messages): self.ask(m))
            messages.append({"role": "assistant", "content": a})
            answers.append(a)
        return answers


class GradioSession:
    def __init__(self, url: str):
        from gradio_client import Client

        self.client = Client(url, verbose=False)

    def run(self, questions: list[str], timed: Callable[[Callable[[], str]], str]) -> list[str]:
        self.client.predict(api_name="/clear_all")
        answers = []
        for q in questions:

            def one(q: str = q) -> str:
                _, chat, _ = self.client.predict(q, 5, OFFLINE, [], api_name="/respond")
                last = chat[-1]
                assert last["role"] == "assistant", last
                return "".join(p.get("text", "") for p in last["content"]) if isinstance(last["content"], list) else str(last["content"])

            answers.append(timed(one))
        return answers


class BrowserPage:
    """One Chromium page; must be made and used in one thread (playwright's sync API)."""

    def __init__(self, url: str):
        from playwright.sync_api import sync_playwright

        try:
            from tests.test_browser import ARGS, CHROMIUM
        except ImportError:
            from test_browser import ARGS, CHROMIUM  # type: ignore[no-redef]
        self.pw = sync_playwright().start()
        self.browser = self.pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        self.page = self.browser.new_page(viewport={"width": 1300, "height": 900}, locale="zh-CN")
        self.page.goto(url + "/")
        self.page.wait_for_selector("#rag-input textarea")

    def run(self, questions: list[str], timed: Callable[[Callable[[], str]], str]) -> list[str]:
        try:
            from tests.test_browser import ask
        except ImportError:
            from test_browser import ask  # type: ignore[no-redef]
        pg = self.page
        step = "clear"
        try:
            pg.locator("#rag-clear").click()
            pg.wait_for_function("() => document.querySelectorAll('#rag-chat [data-testid=\"bot\"]').length === 0")
            answers = []
            for n, q in enumerate(questions, 1):
                step = f"question {n}"
                answers.append(timed(lambda q=q, n=n: ask(pg, q, n)))
            return answers
        except Exception as e:  # say where the page was
            state = pg.evaluate(
                "() => ({bots: [...document.querySelectorAll('#rag-chat [data-testid=\"bot\"]')].map(b => b.innerText.slice(0, 60)),"
                " input: document.querySelector('#rag-input textarea').value})"
            )
            raise RuntimeError(f"{step}: {str(e)[:200]}; page: {state}") from e

    def close(self) -> None:
        self.browser.close()
        self.pw.stop()


def make(kind: str, url: str) -> Any:
    if kind in ("api", "api_stream"):
        return ApiClient(url, kind == "api_stream")
    return GradioSession(url) if kind == "gradio" else BrowserPage(url)


# --- the test ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    index = build_tiny_index(tmp_path_factory.mktemp("load"))
    with ServerProcess(index) as srv:
        yield srv


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def test_sixteen_clients_at_once(server):
    seconds = LOAD_SECONDS
    untimed: Callable[[Callable[[], str]], str] = lambda f: f()  # noqa: E731

    # 1. The reference: each kind's answers to each town's conversation, asked alone.
    reference: dict[tuple[str, int], list[str]] = {}
    for kind in dict.fromkeys(KINDS):
        client = make(kind, server.url)
        try:
            for t, (town, *_) in enumerate(TOWNS):
                answers = client.run(conversation(town), untimed)
                for answer, figure in zip(answers, expected_figures(t), strict=True):
                    assert town in answer and figure in answer, (kind, town, answers)
                reference[kind, t] = answers
        finally:
            if kind == "browser":
                client.close()

    # 2. The load: every client runs its conversation again and again until the time is up.
    lock = threading.Lock()
    latencies: dict[str, list[float]] = {k: [] for k in dict.fromkeys(KINDS)}
    errors: list[str] = []
    rounds = [0] * len(KINDS)
    stop_at = [0.0]
    began = [0.0]

    def go() -> None:  # runs once every client is ready: the clock starts
        began[0] = time.monotonic()
        stop_at[0] = began[0] + seconds

    start = threading.Barrier(len(KINDS), action=go)

    def worker(i: int, kind: str) -> None:
        town_i = i % len(TOWNS)
        town = TOWNS[town_i][0]
        client = None
        try:
            client = make(kind, server.url)
        except Exception as e:
            with lock:
                errors.append(f"{kind}#{i} could not start: {type(e).__name__}: {e}")
        start.wait(timeout=600)
        if client is None:
            return

        def timed(f: Callable[[], str]) -> str:
            t0 = time.perf_counter()
            out = f()
            with lock:
                latencies[kind].append(time.perf_counter() - t0)
            return out

        try:
            while time.monotonic() < stop_at[0]:
                try:
                    got = client.run(conversation(town), timed)
                except Exception as e:
                    with lock:
                        errors.append(f"{kind}#{i} round {rounds[i]}: {type(e).__name__}: {str(e)[:300]}")
                    continue
                if got != reference[kind, town_i]:
                    with lock:
                        errors.append(f"{kind}#{i} ({town}) round {rounds[i]}: {got} != {reference[kind, town_i]}")
                rounds[i] += 1
        finally:
            if kind == "browser":
                client.close()

    load_before = os.getloadavg()
    threads = [threading.Thread(target=worker, args=(i, k), daemon=True) for i, k in enumerate(KINDS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=seconds + 900)
    wall = time.monotonic() - began[0]
    assert not any(th.is_alive() for th in threads), "a client never finished"

    every = [x for v in latencies.values() for x in v]
    figures: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": seconds,
        "wall_seconds": round(wall, 1),
        "clients": {k: KINDS.count(k) for k in dict.fromkeys(KINDS)},
        "questions": len(every),
        "questions_per_second": round(len(every) / wall, 2),
        "conversations": sum(rounds),
        "errors": len(errors),
        "p50_s": round(_percentile(every, 0.5), 3),
        "p95_s": round(_percentile(every, 0.95), 3),
        "by_kind": {
            k: {
                "questions": len(v),
                "p50_s": round(_percentile(v, 0.5), 3),
                "p95_s": round(_percentile(v, 0.95), 3),
                "mean_s": round(statistics.fmean(v), 3) if v else None,
            }
            for k, v in latencies.items()
        },
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "note": "shared machine: other jobs ran at the same time",
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print("\nload:", json.dumps(figures, ensure_ascii=False, indent=2))
    assert not errors, "\n".join(errors[:20])
    assert all(r > 0 for r in rounds), f"a client finished no conversation: {rounds}"
