"""The Gradio page: a chat with clickable citations beside a sources panel, and document management.

>>> demo = build_ui(Service("index"))      # doctest: +SKIP

Each browser session keeps its own conversation in ``gr.State`` (a list of
:class:`ui.service.Turn`), so sessions never mix and follow-ups read only their own
turns. The chat messages carry the answer's text with its ``[n]`` markers; the page's
script (``assets/app.js``) turns each marker into a link to source ``n`` *of that turn*
in the sources panel, which holds every turn's sources (``rag-src-<turn>-<n>``).
"""

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.answer.llm import LLMTimeout
from rag.records import Answer
from ui.render import answer_markdown, escape_markdown, sources_html
from ui.service import UPLOAD_SUFFIXES, NoIndex, Service, Turn

log = logging.getLogger(__name__)

ASSETS = Path(__file__).with_name("assets")
MODES = {"离线（抽取式）": "offline", "大模型": "llm"}


def head_html() -> str:
    """The page's own script, inlined (nothing is fetched from anywhere else)."""
    return "<script>\n" + (ASSETS / "app.js").read_text(encoding="utf-8") + "\n</script>"


def css() -> str:
    return (ASSETS / "app.css").read_text(encoding="utf-8")


def theme() -> Any:
    """Gradio's default theme with system fonts: no web fonts are downloaded."""
    import gradio as gr

    fonts = ["PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", "Source Han Sans SC", "system-ui", "sans-serif"]
    mono = ["Noto Sans Mono CJK SC", "ui-monospace", "Consolas", "monospace"]
    return gr.themes.Default(font=fonts, font_mono=mono)


def _history(turns: list[Turn]) -> list[tuple[str, str]]:
    return [(t.answer.resolved_question or t.question, t.answer.text) for t in turns]


def _messages(turns: list[Turn]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for t in turns:
        out.append({"role": "user", "content": escape_markdown(t.question)})
        out.append({"role": "assistant", "content": answer_markdown(t.answer)})
    return out


def _doc_rows(service: Service) -> list[list[Any]]:
    added = service.added_at()
    rows: list[list[Any]] = []
    for d in service.documents():
        m = d.meta or {}
        rows.append([d.title, d.source, d.n_chunks, m.get("place", ""), m.get("org", ""), m.get("year", ""), added.get(d.source, "")])
    rows.sort(key=lambda r: str(r[6]), reverse=True)  # the latest uploads first (stable: index order otherwise)
    return rows


def build_ui(service: Service) -> Any:
    """The ``gr.Blocks`` page for ``service``."""
    import gradio as gr

    examples = service.examples()
    with gr.Blocks(title="文档问答", analytics_enabled=False, fill_width=True) as demo:
        turns = gr.State([])
        with gr.Tabs():
            with gr.Tab("问答", id="chat"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=380):
                    chatbot = gr.Chatbot(
                        label="对话",
                        elem_id="rag-chat",
                        height=560,
                        buttons=["copy"],
                        placeholder="就已载入的文档提问。答案中的 [n] 可点击，右侧显示对应原文。",
                        examples=[{"text": q} for q in examples] or None,
                        feedback_options=("Like", "Dislike"),
                        autoscroll=True,
                    )
                    with gr.Row():
                        box = gr.Textbox(
                            show_label=False,
                            placeholder="输入问题，Enter 发送，Shift+Enter 换行",
                            lines=1,
                            max_lines=6,
                            scale=8,
                            elem_id="rag-input",
                            autofocus=True,
                        )
                        send = gr.Button("发送", variant="primary", scale=1, min_width=80, elem_id="rag-send")
                    with gr.Row():
                        clear = gr.Button("清空对话", size="sm", elem_id="rag-clear")
                        comment = gr.Textbox(
                            show_label=False,
                            placeholder="反馈备注（可选）：点答案下的赞/踩时一并保存",
                            lines=1,
                            scale=4,
                            elem_id="rag-comment",
                        )
                    feedback_note = gr.Markdown("", elem_id="rag-feedback-note")
                    with gr.Accordion("设置", open=False, elem_id="rag-settings"):
                        k = gr.Slider(1, 20, value=service.settings.top_k, step=1, label="检索段落数")
                        mode = gr.Radio(
                            list(MODES),
                            value="大模型" if service.llm_available else "离线（抽取式）",
                            label="回答方式",
                            visible=service.llm_available,
                        )
                        restrict = gr.Dropdown(
                            choices=service.sources(),
                            multiselect=True,
                            label="只在这些文档中查找（不选则全部）",
                            elem_id="rag-restrict",
                        )
                with gr.Column(scale=2, min_width=320):
                    sources = gr.HTML(sources_html([]), elem_id="rag-sources", label="来源")
            with gr.Tab("文档管理", id="docs"):
                uploader = gr.File(
                    label=f"上传文档（{' '.join(UPLOAD_SUFFIXES)}，单个不超过 {service.settings.max_upload_mb} MB）",
                    file_count="multiple",
                    file_types=list(UPLOAD_SUFFIXES),
                    type="filepath",
                    elem_id="rag-upload",
                )
                upload_btn = gr.Button("加入索引", variant="primary", elem_id="rag-upload-btn")
                upload_result = gr.Dataframe(
                    headers=["文件", "结果", "原因"], interactive=False, elem_id="rag-upload-result", wrap=True
                )
                gr.Markdown("### 已索引的文档")
                docs = gr.Dataframe(
                    headers=["标题", "文件", "段落数", "地点", "机构", "年份", "加入时间"],
                    value=_doc_rows(service),
                    interactive=False,
                    elem_id="rag-docs",
                    wrap=True,
                )
                with gr.Row():
                    to_delete = gr.Dropdown(
                        choices=service.sources(), multiselect=True, label="选择要删除的文件", elem_id="rag-delete-pick"
                    )
                    delete_btn = gr.Button("删除", variant="stop", elem_id="rag-delete-btn")
                docs_note = gr.Markdown("", elem_id="rag-docs-note")

        def respond(
            message: str, conv: list[Turn], k_value: float, mode_label: str, chosen: list[str] | None
        ) -> Iterator[tuple[Any, ...]]:
            question = (message or "").strip()
            if not question:
                yield gr.update(), _messages(conv), conv, gr.update()
                return
            pending = [*_messages(conv), {"role": "user", "content": escape_markdown(question)}]
            yield "", [*pending, {"role": "assistant", "content": "正在查找…"}], conv, gr.update()
            # The box was emptied above; later updates leave it alone, so a next question typed
            # while this answer finishes is not wiped by the last update (or Gradio's replay of it).
            keep = gr.update()
            answer_mode = MODES.get(mode_label, "offline")
            final: Answer | None = None
            text = ""
            try:
                for piece in service.stream(
                    question, _history(conv), k=int(k_value), mode=answer_mode, sources=chosen or None
                ):
                    if isinstance(piece, Answer):
                        final = piece
                        break
                    text += piece
                    yield keep, [*pending, {"role": "assistant", "content": escape_markdown(text)}], conv, gr.update()
            except NoIndex as e:
                yield keep, [*pending, {"role": "assistant", "content": str(e)}], conv, gr.update()
                return
            except LLMTimeout as e:  # a slow or hung model: say so, keep the conversation as it was
                log.warning("%s", e)
                note = escape_markdown(e.user_message)
                yield keep, [*pending, {"role": "assistant", "content": note}], conv, gr.update()
                return
            except Exception as e:  # the page must never hang on an error
                log.exception("answer failed")
                msg = f"出错了：{type(e).__name__}: {e}"
                yield keep, [*pending, {"role": "assistant", "content": escape_markdown(msg)}], conv, gr.update()
                return
            assert final is not None
            conv = [*conv, Turn(question, final, answer_mode)]
            yield keep, _messages(conv), conv, sources_html(conv)

        def clear_all() -> tuple[Any, ...]:
            return [], [], sources_html([]), "", ""

        def on_like(conv: list[Turn], note: str, data: gr.LikeData) -> tuple[str, str]:
            index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
            turn = int(index) // 2
            if not 0 <= turn < len(conv):
                return note, ""
            liked = bool(data.liked) if not isinstance(data.liked, str) else data.liked.lower() == "like"
            service.record_feedback(conv[turn], liked, note or "")
            return "", f"已保存反馈（{'赞' if liked else '踩'}，第 {turn + 1} 问）。"

        def pick_example(data: gr.SelectData) -> str:
            v = data.value
            return str(v.get("text", "")) if isinstance(v, dict) else str(v)

        def do_upload(paths: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
            if not paths:
                return [["", "未选择文件", ""]], gr.update(), gr.update(), gr.update(), gr.update(), None

            def say(stage: str, done: int, total: int) -> None:
                progress((done, max(total, 1)), desc=stage)

            progress(0, desc="读取文件")
            results = service.upload([(p, Path(p).name) for p in paths], progress=say)
            labels = {"added": "已加入", "updated": "已更新", "unchanged": "未变化", "refused": "拒绝"}
            rows = [[r.name, labels.get(r.status, r.status), r.reason] for r in results]
            choices = service.sources()
            return (
                rows,
                _doc_rows(service),
                gr.update(choices=choices),
                gr.update(choices=choices),
                "",
                None,
            )

        def do_delete(names: list[str] | None) -> tuple[Any, ...]:
            if not names:
                return gr.update(), gr.update(), gr.update(), "请先选择要删除的文件。"
            try:
                removed = service.delete(names)
            except ValueError as e:
                return gr.update(), gr.update(), gr.update(), f"未删除：{e}"
            choices = service.sources()
            note = "已删除：" + "、".join(removed) if removed else "没有删除任何文件。"
            return _doc_rows(service), gr.update(choices=choices, value=[]), gr.update(choices=choices), note

        def refresh() -> tuple[Any, ...]:
            choices = service.sources()
            return _doc_rows(service), gr.update(choices=choices), gr.update(choices=choices)

        ask_inputs = [box, turns, k, mode, restrict]
        ask_outputs = [box, chatbot, turns, sources]
        # "always_last": a question sent while the previous answer is still finishing runs right
        # after it (Gradio's default, "once", drops it silently), never alongside it.
        box.submit(respond, ask_inputs, ask_outputs, concurrency_id="ask", trigger_mode="always_last")
        send.click(respond, ask_inputs, ask_outputs, concurrency_id="ask", trigger_mode="always_last")
        chatbot.example_select(pick_example, None, box).then(respond, ask_inputs, ask_outputs, concurrency_id="ask")
        clear.click(clear_all, None, [chatbot, turns, sources, box, feedback_note])
        chatbot.clear(clear_all, None, [chatbot, turns, sources, box, feedback_note])
        chatbot.like(on_like, [turns, comment], [comment, feedback_note])
        upload_btn.click(
            do_upload, uploader, [upload_result, docs, to_delete, restrict, docs_note, uploader],
            concurrency_id="write",
            concurrency_limit=1,
        )
        delete_btn.click(do_delete, to_delete, [docs, to_delete, restrict, docs_note], concurrency_id="write", concurrency_limit=1)
        demo.load(refresh, None, [docs, to_delete, restrict])
    demo.queue(default_concurrency_limit=service.settings.concurrency)
    return demo
