"""The ``rag`` command: ingest, search, ask, docs, eval.

    rag ingest seeds --index index
    rag search "2023年临江市的地区生产总值是多少？" --index index -k 5
    rag ask "2023年临江市的地区生产总值是多少？" --index index [--json]
    rag eval run eval/datasets/dev_qa.jsonl --index index --out eval/runs/dev
    rag bench [--scale --sizes 1000,10000]     # beside LangChain's tutorial pipeline; eval/runs/bench/

Settings come from ``RAG_*`` environment variables; flags override them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_INDEX = "index"


def _settings(args: argparse.Namespace) -> Any:
    from rag.settings import Settings

    return Settings.from_env(
        chunk_tokens=getattr(args, "chunk_tokens", None),
        chunk_overlap_tokens=getattr(args, "chunk_overlap", None),
        embedding_model=getattr(args, "embedding_model", None),
        top_k=getattr(args, "k", None),
        llm=getattr(args, "llm", None),
        llm_base_url=getattr(args, "llm_base_url", None),
    )


def _load(args: argparse.Namespace) -> Any:
    from rag.assistant import Assistant

    return Assistant.load(args.index, _settings(args))


class _Bar:
    """A tqdm bar per ingest stage, on stderr."""

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(total=total, desc=stage, unit="", leave=True, file=sys.stderr)
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()


def cmd_ingest(args: argparse.Namespace) -> int:
    from rag.build import build_index

    report = build_index(args.paths, args.index, _settings(args), progress=None if args.quiet else _Bar())
    print(report)
    if not (report.added or report.updated or report.unchanged):
        print("rag: error: no readable .txt/.md/.pdf/.docx file in " + " ".join(args.paths), file=sys.stderr)
        return 1
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    from rag.build import build_index

    report = build_index([], args.index, _settings(args), progress=None if args.quiet else _Bar(), retrain=True)
    print(report)
    return 0 if report.written else 1


def cmd_serve(args: argparse.Namespace) -> int:
    from ui.server import serve

    serve(args.index, _settings(args).replace(host=args.host, port=args.port))
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from rag.build import build_index

    report = build_index([], args.index, _settings(args), progress=None if args.quiet else _Bar(), remove=args.sources)
    print(report)
    return 0 if report.removed else 1


def _passage_line(i: int, p: Any) -> str:
    path = " > ".join(p.heading_path)
    return f"[{i}] {p.score:.4f}  {p.title}" + (f"  ›  {path}" if path else "") + f"  ({p.source})"


def cmd_search(args: argparse.Namespace) -> int:
    a = _load(args)
    _warn_unknown_filters(a, args)
    passages = a.retrieve(args.question, k=args.k, sources=args.source or None, titles=args.title or None)
    if args.json:
        print(json.dumps([p.to_dict() for p in passages], ensure_ascii=False, indent=2))
        return 0
    for i, p in enumerate(passages, 1):
        print(_passage_line(i, p))
        print("    " + p.text.replace("\n", "\n    "))
        print()
    return 0


def _read_history(path: str) -> list[tuple[str, str]]:
    """``[[question, answer], ...]`` from a JSON file, or a ValueError that says what is wrong."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"--history {path}: cannot read a JSON file ({e})") from None
    if not isinstance(data, list) or not all(
        isinstance(x, list | tuple) and len(x) == 2 and all(isinstance(y, str) for y in x) for x in data
    ):
        raise ValueError(f"--history {path}: expected a JSON list of [question, answer] pairs")
    return [(q, a) for q, a in data]


def _warn_unknown_filters(a: Any, args: argparse.Namespace) -> None:
    for source in args.source or []:
        if source not in a.data.files:
            print(f"rag: warning: no indexed file {source!r} (see `rag docs`)", file=sys.stderr)
    for title in args.title or []:
        if not any(title in d.title for d in a.data.documents):
            print(f"rag: warning: no indexed document title contains {title!r}", file=sys.stderr)


def cmd_ask(args: argparse.Namespace) -> int:
    a = _load(args)
    _warn_unknown_filters(a, args)
    history = _read_history(args.history) if args.history else []
    ans = a.ask(args.question, history=history, sources=args.source or None, titles=args.title or None)
    if args.json:
        print(json.dumps(ans.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(ans.text)
    print()
    if ans.citations:
        print("来源：")
        for c in ans.citations:
            path = " > ".join(c.passage.heading_path)
            print(f"[{c.n}] {c.passage.title}" + (f" › {path}" if path else "") + f"  ({c.passage.source})")
            print(f"    “{c.quote}”")
    elif ans.refused and ans.passages:
        print("最接近的段落：")
        for i, p in enumerate(ans.passages[:3], 1):
            print(_passage_line(i, p))
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    a = _load(args)
    docs = a.documents()
    if args.json:
        print(json.dumps([d.to_dict() for d in docs], ensure_ascii=False, indent=2))
        return 0
    for d in docs:
        meta = " ".join(f"{k}={v}" for k, v in d.meta.items() if k != "collection")
        print(f"{d.n_chunks:4d}  {d.title}  [{d.source}]  {meta}")
    print(f"{len(docs)} documents, {sum(d.n_chunks for d in docs)} chunks")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    if args.eval_cmd == "run":
        from rag.evaluation.dataset import load_datasets
        from rag.evaluation.harness import format_summary, run_eval

        items = load_datasets(args.dataset)
        datasets = [str(d) for d in args.dataset]
        assistant = _load(args)
        cold_ms = assistant.warm_up()  # latency figures are for a warm assistant; cold start reported apart
        summary = run_eval(
            items,
            assistant,
            args.out,
            judge=_judge(args),
            k=args.k or 5,
            progress=not args.quiet,
            config={
                "dataset": datasets[0] if len(datasets) == 1 else datasets,
                "index": str(args.index),
                "warm_up_ms": round(cold_ms, 1),
            },
        )
        print(format_summary(summary))
        print(f"\nwarm-up (first question, loads dictionaries and models): {cold_ms:.0f} ms")
        print(f"written: {args.out}/summary.json results.jsonl report.md report.html")
        return 0
    if args.eval_cmd == "retrieval":
        from rag.evaluation.retrieval_table import retrieval_table

        print(retrieval_table(_load(args), args.dataset, k=args.k or 5))
        return 0
    if args.eval_cmd == "compare":
        from rag.evaluation.compare import compare_runs

        print(compare_runs(args.a, args.b))
        return 0
    if args.eval_cmd == "judge":
        from rag.evaluation.judging import judge_file

        result = judge_file(args.input, args.output, _judge(args))
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    if args.eval_cmd == "meta":
        from rag.evaluation.judging import format_meta, meta_file

        print(format_meta(meta_file(args.file, _judge(args))))
        return 0
    raise AssertionError(args.eval_cmd)


def _judge(args: argparse.Namespace) -> Any:
    settings = _settings(args)
    if settings.llm and getattr(args, "llm_judge", False):
        from rag.judge.llm import LLMJudge

        return LLMJudge(settings)
    from rag.judge import OfflineJudge

    return OfflineJudge()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rag", description="Question answering with citations over Chinese documents.")
    sub = p.add_subparsers(dest="cmd", required=True)

    def index_arg(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--index", default=DEFAULT_INDEX, help="index folder (default: %(default)s)")

    ing = sub.add_parser("ingest", help="build or update an index from files and folders")
    ing.add_argument("paths", nargs="+")
    index_arg(ing)
    ing.add_argument("--chunk-tokens", type=int, help="chunk budget in tiktoken tokens (RAG_CHUNK_TOKENS)")
    ing.add_argument("--chunk-overlap", type=int, help="overlap between split pieces (RAG_CHUNK_OVERLAP_TOKENS)")
    ing.add_argument(
        "--embedding-model",
        help="'corpus' (default for a new index), 'none', or a local sentence-transformers model path/name; "
        "an existing index keeps its model unless this is given",
    )
    ing.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    ing.set_defaults(func=cmd_ingest)

    rx = sub.add_parser("reindex", help="re-tokenise every chunk and retrain the corpus embedder")
    index_arg(rx)
    rx.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    rx.set_defaults(func=cmd_reindex)

    sv = sub.add_parser("serve", help="the chat page and the OpenAI-compatible API")
    index_arg(sv)
    sv.add_argument("--host", help="address to listen on (RAG_HOST, default 127.0.0.1)")
    sv.add_argument("--port", type=int, help="port (RAG_PORT, default 7860)")
    sv.add_argument("-k", type=int, default=None, help="passages per answer (RAG_TOP_K)")
    sv.add_argument("--llm", help="provider:model, e.g. openai:deepseek-chat (RAG_LLM)")
    sv.add_argument("--llm-base-url", help="OpenAI-compatible endpoint (RAG_LLM_BASE_URL)")
    sv.set_defaults(func=cmd_serve)

    rm = sub.add_parser("remove", help="drop documents from an index by source (as `rag docs` lists them)")
    rm.add_argument("sources", nargs="+")
    index_arg(rm)
    rm.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    rm.set_defaults(func=cmd_remove)

    for name, func, helptext in (
        ("search", cmd_search, "print the best passages for a question"),
        ("ask", cmd_ask, "answer a question with citations"),
    ):
        sp = sub.add_parser(name, help=helptext)
        sp.add_argument("question")
        index_arg(sp)
        sp.add_argument("-k", type=int, default=None, help="passages to retrieve (RAG_TOP_K)")
        sp.add_argument("--source", action="append", help="only this file (repeatable)")
        sp.add_argument("--title", action="append", help="only documents whose title contains this (repeatable)")
        sp.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "ask":
            sp.add_argument("--history", help="JSON file with [[question, answer], ...] for follow-ups")
            sp.add_argument("--llm", help="provider:model, e.g. openai:deepseek-chat (RAG_LLM)")
            sp.add_argument("--llm-base-url", help="OpenAI-compatible endpoint (RAG_LLM_BASE_URL)")
        sp.set_defaults(func=func)

    docs = sub.add_parser("docs", help="list the indexed documents")
    index_arg(docs)
    docs.add_argument("--json", action="store_true")
    docs.set_defaults(func=cmd_docs)

    ev = sub.add_parser("eval", help="evaluate retrieval, answers, faithfulness and citations")
    evs = ev.add_subparsers(dest="eval_cmd", required=True)
    run = evs.add_parser("run", help="run JSONL datasets and write summary.json, results.jsonl, report.md/html")
    run.add_argument(
        "dataset",
        nargs="+",
        help="one or more JSONL files; figures are also given per corpus (a row's 'corpus', else the file's stem)",
    )
    index_arg(run)
    run.add_argument("--out", required=True)
    run.add_argument("-k", type=int, default=None)
    run.add_argument("-q", "--quiet", action="store_true")
    run.add_argument("--llm-judge", action="store_true", help="judge with the configured LLM instead of offline")
    ret = evs.add_parser("retrieval", help="recall@k / MRR per type for BM25, dense and hybrid")
    ret.add_argument("dataset")
    index_arg(ret)
    ret.add_argument("-k", type=int, default=None)
    cmp_ = evs.add_parser("compare", help="metric deltas between two runs and the questions that flipped")
    cmp_.add_argument("a")
    cmp_.add_argument("b")
    jd = evs.add_parser("judge", help="score the faithfulness of any system's answers")
    jd.add_argument("--input", required=True)
    jd.add_argument("--output", required=True)
    meta = evs.add_parser("meta", help="ROC-AUC of the judge against labelled answers")
    meta.add_argument("file")
    for sp in (run, jd, meta):
        if sp is not run:
            sp.add_argument("--llm-judge", action="store_true", help="judge with the configured LLM instead of offline")
        sp.add_argument("--llm", help="provider:model for the LLM judge (RAG_LLM)")
        sp.add_argument("--llm-base-url", help="OpenAI-compatible endpoint (RAG_LLM_BASE_URL)")
    ev.set_defaults(func=cmd_eval)

    from rag.evaluation import bench  # stdlib imports only at its top

    bn = sub.add_parser("bench", help="our pipeline beside LangChain's tutorial pipeline; --scale for corpus size")
    bench.add_arguments(bn)
    bn.set_defaults(func=bench.run_from_args)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from rag.ingest.loaders import UnreadableFile
    from rag.store import IndexFormatError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, IndexFormatError, UnreadableFile, FileNotFoundError) as e:
        print(f"rag: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `rag ... | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
