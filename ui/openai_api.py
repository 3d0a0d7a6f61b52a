"""An OpenAI-compatible chat API over the assistant: ``GET /v1/models``, ``POST /v1/chat/completions``.

The ``openai`` SDK, LangChain's ``ChatOpenAI``, Open WebUI or Chatbox can use the
assistant as a model::

    from openai import OpenAI
    client = OpenAI(base_url="http://127.0.0.1:7860/v1", api_key="…")
    r = client.chat.completions.create(model="rag-zh", messages=[{"role": "user", "content": "…"}])
    r.choices[0].message.content      # the answer with [n] markers, then a 来源 list
    r.sources                         # the same sources, structured

The conversation comes as OpenAI messages: earlier user/assistant turns are the history
follow-ups are resolved against (the source list this API appended to an assistant
message is taken off again). ``stream=true`` sends server-sent events in the OpenAI
chunk format, the sources in the last chunk. Extra body fields: ``k`` (passages),
``sources`` (only these files).

When the configured LLM does not answer within ``Settings.llm_timeout`` seconds the
reply is an OpenAI-style error, status 504, ``{"error": {"type": "timeout", "code":
"llm_timeout", "message": "…"}}`` -- for ``stream=true`` too, as long as nothing was
sent yet (the first piece is awaited before the stream opens); a timeout later in a
stream ends it with a ``data: {"error": {…}}`` event, which the ``openai`` SDK raises as
an ``APIError``. Other failures inside an open stream end it the same way.
"""

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

from rag.answer.llm import LLMTimeout
from rag.records import Answer
from ui.render import citation_dict, sources_text
from ui.service import NoIndex, Service

MODEL_ID = "rag-zh"
_SOURCES_HEAD = "\n\n来源："


def _error(status: int, message: str, kind: str = "invalid_request_error") -> Any:
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": None}}, status_code=status)


def _timeout_error(e: LLMTimeout) -> dict[str, Any]:
    return {"message": f"{e.user_message} ({e})", "type": "timeout", "param": None, "code": "llm_timeout"}


def _text_of(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def parse_messages(messages: Any) -> tuple[str, list[tuple[str, str]]]:
    """``(question, history)`` from OpenAI messages; ValueError when there is no question.

    >>> parse_messages([{"role": "user", "content": "A？"}, {"role": "assistant", "content": "甲[1]\\n\\n来源：\\n[1] …"},
    ...                 {"role": "user", "content": "那B呢？"}])
    ('那B呢？', [('A？', '甲[1]')])
    """
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty list")
    turns: list[tuple[str, str]] = []
    pending: str | None = None
    last_user = ""
    for m in messages:
        if not isinstance(m, dict):
            raise ValueError("each message must be an object with 'role' and 'content'")
        role, text = m.get("role"), _text_of(m.get("content"))
        if role == "user":
            if pending is not None:
                turns.append((pending, ""))
            pending, last_user = text, text
        elif role == "assistant" and pending is not None:
            turns.append((pending, text.split(_SOURCES_HEAD, 1)[0].strip()))
            pending = None
    if pending is None or not last_user.strip():
        raise ValueError("the last message must be a user message with a question")
    return last_user, turns


def _usage(question: str, text: str) -> dict[str, int]:
    from rag.tokens import count_tokens

    try:
        p, c = count_tokens(question), count_tokens(text)
    except Exception:  # token counts are a courtesy
        p, c = len(question), len(text)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def _content(ans: Answer) -> str:
    listing = sources_text(ans.citations)
    return ans.text + ("\n\n" + listing if listing else "")


def _extra(ans: Answer) -> dict[str, Any]:
    return {
        "sources": [citation_dict(c) for c in ans.citations],
        "refused": ans.refused,
        "short_answer": ans.short_answer,
        "resolved_question": ans.resolved_question,
    }


def router(service: Service) -> Any:
    """The ``/v1`` routes for ``service`` (authentication is the server's middleware)."""
    from fastapi import APIRouter, Request
    from fastapi.responses import StreamingResponse

    api = APIRouter(prefix="/v1")

    @api.get("/models")
    def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "rag-zh"}],
        }

    @api.post("/chat/completions")
    async def chat(request: Request) -> Any:
        from starlette.concurrency import run_in_threadpool

        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "the request body is not JSON")
        if not isinstance(body, dict):
            return _error(400, "the request body must be a JSON object")
        try:
            question, history = parse_messages(body.get("messages"))
            k = body.get("k")
            if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 100):
                raise ValueError("'k' must be a whole number from 1 to 100")
            only = body.get("sources")
            if only is not None and not (isinstance(only, list) and all(isinstance(s, str) for s in only)):
                raise ValueError("'sources' must be a list of file names")
        except ValueError as e:
            return _error(400, str(e))
        model = str(body.get("model") or MODEL_ID)
        cid = "chatcmpl-" + secrets.token_hex(12)
        created = int(time.time())
        if not body.get("stream"):
            try:
                ans = await run_in_threadpool(service.ask, question, history, k=k, sources=only)
            except NoIndex as e:
                return _error(503, str(e), "server_error")
            except LLMTimeout as e:
                from fastapi.responses import JSONResponse

                return JSONResponse({"error": _timeout_error(e)}, status_code=504)
            except ValueError as e:
                return _error(400, str(e))
            text = _content(ans)
            return {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
                "usage": _usage(question, text),
                **_extra(ans),
            }

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            obj = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return "data: " + json.dumps(obj, ensure_ascii=False) + "\n\n"

        pieces = service.stream(question, history, k=k, sources=only)
        try:  # the first piece before the stream opens, so an early failure is a plain HTTP error
            first = await run_in_threadpool(next, pieces, None)
        except NoIndex as e:
            return _error(503, str(e), "server_error")
        except LLMTimeout as e:
            from fastapi.responses import JSONResponse

            return JSONResponse({"error": _timeout_error(e)}, status_code=504)
        except ValueError as e:
            return _error(400, str(e))

        def events() -> Iterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            try:
                final: Answer | None = None
                piece = first
                while piece is not None:
                    if isinstance(piece, Answer):
                        final = piece
                        break
                    yield chunk({"content": piece})
                    piece = next(pieces, None)
                if final is not None:
                    listing = sources_text(final.citations)
                    if listing:
                        yield chunk({"content": "\n\n" + listing})
                    yield chunk({}, "stop", **_extra(final))
            except LLMTimeout as e:
                yield "data: " + json.dumps({"error": _timeout_error(e)}, ensure_ascii=False) + "\n\n"
            except Exception as e:  # the stream is open: report in it, then end it
                err = {"message": f"{type(e).__name__}: {e}", "type": "server_error", "param": None, "code": None}
                yield "data: " + json.dumps({"error": err}, ensure_ascii=False) + "\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    return api
