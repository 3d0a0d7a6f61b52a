"""Answer from retrieved passages with an LLM through LangChain, with checked ``[n]`` citations.

>>> from rag.settings import Settings
>>> a = LLMAnswerer(Settings(llm="openai:deepseek-chat", llm_base_url="https://api.deepseek.com/v1",
...                          llm_api_key="sk-..."))
>>> a.provider, a.model_name
('openai', 'deepseek-chat')

``Settings.llm`` is ``provider:model``; the model is built on first use with
``langchain.chat_models.init_chat_model`` (https://docs.langchain.com/oss/python/langchain/models),
so any provider LangChain knows works when its package is installed. DeepSeek, Qwen
(DashScope), Ollama, vLLM and Xinference all speak the OpenAI API: use ``openai:<model>``
with ``llm_base_url`` pointing at the endpoint. LangChain is imported only when the model
is first needed, so importing this module is cheap.

The reply's markers are checked by ``rag.answer.citations.repair_citations`` (ALCE
format, https://arxiv.org/abs/2305.14627) against the passages as the prompt showed them
(sentences that instruct the assistant left out, see ``rag.answer.prompt``), so a reply
that only repeats an instruction planted in a passage gets no citation, and a reply no
passage supports at all is a refusal, never an answer.

Every call has one deadline, ``Settings.llm_timeout`` seconds: the model runs in a worker
thread and the caller stops waiting when the time is up, raising :class:`LLMTimeout`
(not an :class:`LLMError`, so the pipeline does not quietly answer offline instead: the
user sees that the model timed out). The worker's own HTTP timeout is the same, so it
ends soon after; its late reply is dropped.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlparse

from rag.answer.citations import parse_citations, repair_citations, strip_markers
from rag.answer.prompt import (
    REFUSAL,
    build_answer_messages,
    build_rewrite_messages,
    clean_rewrite,
    drop_echoed_instructions,
    drop_instructions,
)
from rag.records import Answer, Passage
from rag.settings import Settings

__all__ = [
    "LLMAnswerer",
    "LLMConfigError",
    "LLMError",
    "LLMTimeout",
    "finish_answer",
    "is_refusal",
    "parse_llm_setting",
]

log = logging.getLogger(__name__)

_PROVIDER_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*):(.*)$")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "::1", "host.docker.internal"}
# Placeholder key for local OpenAI-compatible servers (Ollama, vLLM) that ignore it.
_NO_KEY = "EMPTY"
# Other ways a model says the passages lack the answer, when it has cited nothing.
_ABSENCE_START_RE = re.compile(
    r"(?:抱歉|对不起|很抱歉)?[，,：:\s]*(?:根据|在)?(?:所?提供的|现有的?|给定的|检索到的)?(?:资料|材料|文档|信息|段落)中?"
    r"(?:并?没有|未|不)(?:提供|提及|提到|包含|涉及|找到|记载|给出)?(?:相关|有关|这方面)?(?:的)?(?:信息|内容|数据|说明|答案|记录)?"
)
# The refusal phrase may follow a short preamble such as "抱歉，根据资料，".
_REFUSAL_PREAMBLE_CHARS = 12
_THINK_RE = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL)


class LLMConfigError(ValueError):
    """The LLM settings are missing or wrong; the message names the setting and its value."""


class LLMError(RuntimeError):
    """The LLM call failed (network, HTTP error, bad reply)."""


class LLMTimeout(TimeoutError):
    """The LLM did not answer within ``Settings.llm_timeout`` seconds; the message says so
    in Chinese for the user (``user_message``) and names the model and the setting."""

    def __init__(self, where: str, seconds: float):
        self.seconds = seconds
        self.user_message = f"大模型在 {seconds:g} 秒内没有回答（超时），请稍后再试，或改用离线回答。"
        super().__init__(f"LLM {where} did not answer within {seconds:g} s (Settings.llm_timeout, RAG_LLM_TIMEOUT)")


# Said instead of a reply that no passage supports (an obeyed injection, a made-up answer).
UNSUPPORTED_NOTE = "（大模型的回答在资料中找不到依据，未采用。）"


def parse_llm_setting(llm: str, base_url: str = "") -> tuple[str, str]:
    """``(provider, model)`` from ``Settings.llm``.

    >>> parse_llm_setting("openai:deepseek-chat")
    ('openai', 'deepseek-chat')
    >>> parse_llm_setting("ollama:qwen2.5:7b")
    ('ollama', 'qwen2.5:7b')
    >>> parse_llm_setting("qwen-plus", base_url="https://dashscope.aliyuncs.com/compatible-mode/v1")
    ('openai', 'qwen-plus')
    """
    value = llm.strip()
    if not value:
        raise LLMConfigError(
            "Settings.llm is empty: set it (RAG_LLM or --llm) to 'provider:model', e.g. 'openai:deepseek-chat'"
        )
    m = _PROVIDER_RE.match(value)
    if m and "." not in m.group(1):
        provider, model = m.group(1).lower().replace("-", "_"), m.group(2).strip()
    elif base_url.strip():
        provider, model = "openai", value  # an OpenAI-compatible endpoint
    else:
        raise LLMConfigError(
            f"Settings.llm={llm!r} names no provider: write 'provider:model', e.g. 'openai:{value}' "
            "together with Settings.llm_base_url for an OpenAI-compatible endpoint"
        )
    if not model:
        raise LLMConfigError(f"Settings.llm={llm!r} names no model after {provider!r}: write '{provider}:<model>'")
    return provider, model


def is_refusal(text: str) -> bool:
    """Whether a reply says the passages do not contain the answer.

    >>> is_refusal("资料中没有相关信息。"), is_refusal("发放3234万元[1]。")
    (True, False)
    """
    t = _strip_decoration(text)
    i = t.find(REFUSAL)
    if 0 <= i <= _REFUSAL_PREAMBLE_CHARS:  # "抱歉，资料中没有相关信息……"
        return True
    if parse_citations(t):
        return False
    return REFUSAL in t or _ABSENCE_START_RE.match(t) is not None


def _strip_decoration(text: str) -> str:
    return _THINK_RE.sub("", text).strip().lstrip('*#>"“「 \t\n')


def finish_answer(
    question: str,
    raw: str,
    passages: Sequence[Passage],
    prompt_passages: Sequence[Passage] | None = None,
    latency_ms: float = 0.0,
) -> tuple[Answer, list[str]]:
    """The ``Answer`` for a model reply ``raw``, and the sentences no passage supports.

    ``prompt_passages`` are the passages numbered in the prompt (default: all of
    ``passages``); markers are checked against them. ``passages`` are all retrieved ones.
    """
    shown = tuple(passages if prompt_passages is None else prompt_passages)
    t = _strip_decoration(raw)
    if not shown or not t or is_refusal(t):
        i = t.find(REFUSAL)
        text = strip_markers(t[i:]).strip() if i >= 0 else REFUSAL + "。"
        return Answer(question, text, (), True, tuple(passages), latency_ms=latency_ms), []
    seen = tuple(dataclasses.replace(p, text=drop_instructions(p.text)) for p in shown)  # as the prompt had them
    t, echoed = drop_echoed_instructions(t, shown, seen)
    text, citations, unsupported = repair_citations(t, seen)
    unsupported = echoed + unsupported
    if unsupported:
        log.info("answer sentences without support: %s", unsupported)
    if not citations:  # nothing in it rests on a passage: not an answer
        text = REFUSAL + "。" + UNSUPPORTED_NOTE
        return Answer(question, text, (), True, tuple(passages), latency_ms=latency_ms), unsupported
    citations = [dataclasses.replace(c, passage=shown[seen.index(c.passage)]) for c in citations]
    return Answer(question, text, tuple(citations), False, tuple(passages), latency_ms=latency_ms), unsupported


class _ThinkFilter:
    """Drops ``<think>…</think>`` (Qwen3, DeepSeek-R1 on vLLM/Ollama) from a token stream."""

    def __init__(self) -> None:
        self.full = ""
        self.sent = 0

    def feed(self, piece: str) -> str:
        """The new visible text after ``piece`` arrives."""
        self.full += piece
        return self._emit(hold=True)

    def flush(self) -> str:
        """Whatever visible text was held back at the end."""
        return self._emit(hold=False)

    def _emit(self, hold: bool) -> str:
        visible = _THINK_RE.sub("", self.full).lstrip()
        if hold:  # keep back an unfinished "<think" at the end
            for k in range(min(len("<think>") - 1, len(visible)), 0, -1):
                if "<think>".startswith(visible[-k:]):
                    visible = visible[:-k]
                    break
        out = visible[self.sent :]
        self.sent = max(self.sent, len(visible))
        return out


def _message_text(message: Any) -> str:
    content = getattr(message, "content", message)
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and block.get("type") == "text":
                parts.append(str(block.get("text", "")))
        return "".join(parts)
    return str(content or "")


def _to_langchain(messages: Sequence[dict[str, str]]) -> list[Any]:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[m["role"]](content=m["content"]) for m in messages]


class LLMAnswerer:
    """Answers questions from passages with a chat model named by ``Settings.llm``.

    >>> from rag.settings import Settings
    >>> try:
    ...     LLMAnswerer(Settings(llm=""))
    ... except LLMConfigError as e:
    ...     print(str(e)[:21])
    Settings.llm is empty
    """

    def __init__(
        self, settings: Settings, *, model: Any | None = None, timeout: float | None = None, max_retries: int = 2
    ):
        """Check the settings now; build the model (or use ``model``, any LangChain chat model) on first use.

        ``timeout``: seconds a call may take in all (default ``settings.llm_timeout``).
        """
        self.settings = settings
        self.timeout = float(settings.llm_timeout if timeout is None else timeout)
        self.max_retries = max_retries
        self._model = model
        self._lock = threading.Lock()
        base_url = settings.llm_base_url.strip()
        if model is not None and not settings.llm.strip():
            self.provider, self.model_name = "custom", type(model).__name__
        else:
            self.provider, self.model_name = parse_llm_setting(settings.llm, base_url)
        if base_url:
            parsed = urlparse(base_url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise LLMConfigError(
                    f"Settings.llm_base_url={settings.llm_base_url!r} is not an http(s) URL, "
                    "e.g. 'https://api.deepseek.com/v1'"
                )
        self._api_key = settings.llm_api_key.strip()
        if model is None and self.provider == "openai" and not self._api_key and not os.environ.get("OPENAI_API_KEY"):
            host = (urlparse(base_url).hostname or "") if base_url else ""
            if host in _LOCAL_HOSTS:
                self._api_key = _NO_KEY
            else:
                raise LLMConfigError(
                    f"Settings.llm_api_key is empty (set RAG_LLM_API_KEY or OPENAI_API_KEY) and "
                    f"{base_url or 'the OpenAI API'} needs a key for Settings.llm={settings.llm!r}"
                )

    # --- model ------------------------------------------------------------------------

    @property
    def model(self) -> Any:
        """The LangChain chat model, built on first use."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._build_model()
        return self._model

    def check(self) -> None:
        """Build the model now, so bad settings fail at start-up rather than on the first question."""
        _ = self.model

    def _build_model(self) -> Any:
        s = self.settings
        try:
            from langchain.chat_models import init_chat_model
        except ImportError as e:
            raise LLMConfigError(f"Settings.llm={s.llm!r} needs LangChain: pip install langchain ({e})") from e
        kwargs: dict[str, Any] = {"temperature": s.llm_temperature}
        base_url = s.llm_base_url.strip()
        if base_url:
            kwargs["base_url"] = base_url
        if self._api_key:
            kwargs["api_key"] = self._api_key
        if self.provider == "openai":
            kwargs.update(timeout=self.timeout, max_retries=self.max_retries)
            if base_url:  # OpenAI-compatible servers speak chat completions, not the Responses API
                kwargs["use_responses_api"] = False
        try:
            return init_chat_model(self.model_name, model_provider=self.provider, **kwargs)
        except ImportError as e:
            raise LLMConfigError(
                f"Settings.llm={s.llm!r}: the package for provider {self.provider!r} is not installed ({e}). "
                f"For an OpenAI-compatible endpoint use 'openai:{self.model_name}' with Settings.llm_base_url."
            ) from e
        except ValueError as e:
            if "provider" in str(e).lower():
                raise LLMConfigError(
                    f"Settings.llm={s.llm!r}: LangChain does not know provider {self.provider!r}. "
                    f"For an OpenAI-compatible endpoint use 'openai:{s.llm.strip()}' with Settings.llm_base_url."
                ) from e
            raise LLMConfigError(f"Settings.llm={s.llm!r}: cannot create the chat model: {e}") from e
        except Exception as e:
            raise LLMConfigError(f"Settings.llm={s.llm!r}: cannot create the chat model: {e}") from e

    def _where(self) -> str:
        return f"{self.settings.llm!r} at {self.settings.llm_base_url or self.provider}"

    def _invoke(self, messages: Sequence[dict[str, str]]) -> str:
        model = self.model
        for kind, value in self._within_deadline(lambda: [model.invoke(_to_langchain(messages))]):
            if kind == "error":
                if isinstance(value, LLMConfigError):
                    raise value
                raise LLMError(f"LLM call to {self._where()} failed: {type(value).__name__}: {value}") from value
            return _message_text(value)
        raise LLMError(f"LLM call to {self._where()} returned nothing")

    def _within_deadline(self, produce: Any) -> Iterator[tuple[str, Any]]:
        """``("item", x)`` for each ``x`` of ``produce()`` (an iterable, run in a worker thread),
        or one ``("error", exception)``; :class:`LLMTimeout` once ``self.timeout`` seconds
        have passed since the call, whether the model is silent or still streaming."""
        box: queue.Queue[tuple[str, Any]] = queue.Queue()
        stop = threading.Event()

        def work() -> None:
            try:
                for item in produce():
                    if stop.is_set():  # the caller gave up: drop the rest
                        return
                    box.put(("item", item))
                box.put(("end", None))
            except BaseException as e:  # handed to the caller's thread
                box.put(("error", e))

        threading.Thread(target=work, name="llm-call", daemon=True).start()
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                try:
                    kind, value = box.get(timeout=max(deadline - time.monotonic(), 0.0))
                except queue.Empty:
                    raise LLMTimeout(self._where(), self.timeout) from None
                if kind == "end":
                    return
                yield kind, value
                if kind == "error":
                    return
        finally:
            stop.set()

    # --- public API -------------------------------------------------------------------

    def answer(self, question: str, passages: Sequence[Passage], history: Sequence[tuple[str, str]] = ()) -> Answer:
        """Answer ``question`` from ``passages`` (best first) with ``[n]`` citations.

        No passages, or a reply starting "资料中没有相关信息", gives ``refused=True``.
        """
        passages = tuple(passages)
        if not passages:
            return finish_answer(question, "", passages)[0]
        prompt = build_answer_messages(question, passages, self.settings, history)
        t0 = time.perf_counter()
        raw = self._invoke(prompt.messages)
        ms = (time.perf_counter() - t0) * 1000
        return finish_answer(question, raw, passages, prompt.passages, latency_ms=ms)[0]

    def stream(
        self, question: str, passages: Sequence[Passage], history: Sequence[tuple[str, str]] = ()
    ) -> Iterator[str | Answer]:
        """Yield the reply's text pieces as they arrive, then the checked ``Answer`` last.

        The pieces carry the model's raw markers; show ``Answer.text`` once it arrives.
        """
        passages = tuple(passages)
        if not passages:
            final = finish_answer(question, "", passages)[0]
            yield final.text
            yield final
            return
        prompt = build_answer_messages(question, passages, self.settings, history)
        model = self.model
        t0 = time.perf_counter()
        think = _ThinkFilter()
        for kind, value in self._within_deadline(lambda: model.stream(_to_langchain(prompt.messages))):
            if kind == "error":
                if isinstance(value, LLMConfigError):
                    raise value
                raise LLMError(f"LLM stream from {self._where()} failed: {type(value).__name__}: {value}") from value
            if piece := think.feed(_message_text(value)):
                yield piece
        if tail := think.flush():
            yield tail
        ms = (time.perf_counter() - t0) * 1000
        yield finish_answer(question, think.full, passages, prompt.passages, latency_ms=ms)[0]

    def rewrite(self, question: str, history: Sequence[tuple[str, str]]) -> str:
        """A follow-up such as "那2024年呢？" rewritten as a standalone question (unchanged without history)."""
        if not history:
            return question
        messages = build_rewrite_messages(question, history, self.settings)
        raw = _THINK_RE.sub("", self._invoke(messages))
        return clean_rewrite(raw, question, self.settings.max_question_chars)
