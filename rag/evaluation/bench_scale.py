"""Part B of ``rag bench`` (``--scale``): how ingest, memory and latency grow with the corpus.

For each size, the first N articles of the news corpus (``news-NN.jsonl.gz``, one
``{"id", "text"}`` a line) are written as ``.txt`` files, 1,000 to a folder, and

1. ``rag ingest`` runs on them in a subprocess: wall time, chunks/s, that process's peak
   RSS (``os.wait4`` gives the usage of exactly that child), the index version's size on disk;
2. a second subprocess (:func:`probe`) loads the index (seconds, RSS before and after) and
   times BM25, dense and hybrid retrieval and ``ask`` on questions cut from the index itself
   (a sentence of 12-80 characters from a random chunk; ``self_recall@5`` is the share whose
   sentence is found again in the hybrid top 5, a sanity check, not a quality figure), and
   measures the dense index's recall@10 against exact inner product over its own stored
   vectors (``dense/vectors.npy``), queries embedded with the index's embedder. Below
   ``Settings.exact_search_max`` chunks the index is exact (flat) and that recall is 1 by design.

``--million`` then writes ~1M chunks' worth of synthetic articles: the real sentences
shuffled across articles, pass after pass (:func:`shuffled_corpus`).

>>> import tempfile
>>> arts = [{"text": "第一句。第二句。"}, {"text": "第三句。"}]
>>> with tempfile.TemporaryDirectory() as d:
...     n = shuffled_corpus(arts, 30, Path(d))
...     total = sum(len(p.read_text(encoding="utf-8")) for p in Path(d).rglob("*.txt"))
>>> n >= 3, total >= 30
(True, True)
"""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from rag.evaluation.bench import _latency, say


def news_articles(folder: str | Path) -> Iterator[dict[str, Any]]:
    """Articles of ``folder/*.jsonl.gz`` (``{"id", "text", ...}`` a line), in file order."""
    files = sorted(Path(folder).glob("*.jsonl.gz"))
    if not files:
        raise FileNotFoundError(f"no *.jsonl.gz news files in {folder} (see --news)")
    for f in files:
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)


def write_articles(articles: Iterator[dict[str, Any]] | list[dict[str, Any]], n: int | None, out: Path) -> int:
    """The first ``n`` articles (all when None) as ``out/NNNN/ID.txt``, 1,000 to a folder; returns the count."""
    count = 0
    for art in articles:
        if n is not None and count >= n:
            break
        folder = out / f"{count // 1000:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{art.get('id', count)}.txt").write_text(str(art["text"]), encoding="utf-8")
        count += 1
    return count


def shuffled_corpus(articles: list[dict[str, Any]], target_chars: int, out: Path, seed: int = 0) -> int:
    """Synthetic articles of the real sentences, shuffled across articles, until ``target_chars``
    characters are written (articles keep the real lengths in sentences); returns the count.

    Pass after pass over the sentences of ``articles``, each pass shuffled anew, so a corpus
    larger than the source repeats sentences but rarely a run of them.
    """
    from rag.zh import sentence_spans

    rng = random.Random(seed)
    sentences = [t[a:b] for art in articles for t in [str(art["text"])] for a, b in sentence_spans(t)]
    lengths = [max(1, len(sentence_spans(str(art["text"])))) for art in articles]
    if not sentences:
        raise ValueError("no sentences to shuffle: the articles are empty")
    written = count = 0
    while written < target_chars:
        rng.shuffle(sentences)
        rng.shuffle(lengths)
        i = 0
        for n in lengths:
            if written >= target_chars or i >= len(sentences):
                break
            text = "".join(sentences[i : i + n])
            i += n
            folder = out / f"{count // 1000:05d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"shuffled-{count:07d}.txt").write_text(text, encoding="utf-8")
            written += len(text)
            count += 1
    return count


def parse_sizes(spec: str) -> list[int | None]:
    """``"1000,10000,all"`` → ``[1000, 10000, None]``.

    >>> parse_sizes("1k, 10000,all")
    [1000, 10000, None]
    """
    out: list[int | None] = []
    for raw in spec.split(","):
        s = raw.strip().lower()
        if not s:
            continue
        if s == "all":
            out.append(None)
            continue
        mult = 1000 if s.endswith("k") else 1
        try:
            n = int(s.removesuffix("k")) * mult
        except ValueError:
            raise ValueError(f"--sizes: {raw.strip()!r} is not a number of articles or 'all'") from None
        if n < 1:
            raise ValueError(f"--sizes: {raw.strip()!r} must be at least 1")
        out.append(n)
    if not out:
        raise ValueError(f"--sizes {spec!r} names no size")
    return out


# Runs ``python ARGS...`` (``-m module ...`` or ``-c code ...``) and, at exit, writes the
# process's VmHWM (peak resident set of its own address space) to the file named first.
_LAUNCH = """import atexit, runpy, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(str(next((int(x.split()[1]) for x in open("/proc/self/status")
    if x.startswith("VmHWM:")), 0))))
flag, target, sys.argv = sys.argv[1], sys.argv[2], [sys.argv[2], *sys.argv[3:]]
if flag == "-m":
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    exec(compile(target, "<bench>", "exec"), {"__name__": "__main__"})
"""


def run_measured(args: list[str], log: Path) -> dict[str, Any]:
    """Run ``python *args`` with output to ``log``: wall and CPU seconds (CPU time is what a
    shared machine disturbs least) and that process's peak RSS.

    The peak is the child's own ``VmHWM``, written by the child as it exits. Neither
    ``getrusage(RUSAGE_CHILDREN)`` (the largest child so far, not this one) nor the
    ``ru_maxrss`` of ``os.wait4`` will do on Linux: a child's ``ru_maxrss`` starts at its
    parent's resident size when it forks, so a 10 MB child of a 400 MB parent reports 400 MB.
    """
    import resource
    import subprocess

    if args[:1] not in (["-m"], ["-c"]):
        raise ValueError(f"run_measured takes python arguments starting with -m or -c, got {args[:2]!r}")
    hwm = log.with_suffix(".hwm")
    hwm.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with log.open("w", encoding="utf-8") as fh:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", _LAUNCH, str(hwm), *args], stdout=fh, stderr=subprocess.STDOUT, env=env
        )
        seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # times add up over children, so the difference is this one
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"python {' '.join(args[:3])} … exited with {proc.returncode}; end of {log}:\n{tail}")
    kb = int(hwm.read_text()) if hwm.is_file() and hwm.read_text().strip() else 0
    return {"seconds": round(seconds, 3), "cpu_s": round(cpu, 3), "peak_rss_mb": round(kb / 1024, 1)}


def _proc_mb(field: str = "VmRSS") -> float:
    """A memory figure of this process from Linux ``/proc/self/status`` (``VmRSS`` now, ``VmHWM``
    its peak), in MB; 0 where there is no ``/proc``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def probe(index: str | Path, n_queries: int = 100, n_ask: int = 20, k: int = 5, seed: int = 0) -> dict[str, Any]:
    """Load ``index`` and measure it (run in a fresh process by :func:`bench_scale`)."""
    import numpy as np

    from rag.assistant import Assistant
    from rag.evaluation.retrieval import evidence_found
    from rag.retrieval.retrievers import DenseRetriever, LexicalRetriever
    from rag.zh import sentence_spans

    rss0 = _proc_mb()
    t0 = time.perf_counter()
    a = Assistant.load(index)
    load_s = time.perf_counter() - t0
    rss_load = _proc_mb()
    rng = random.Random(seed)
    chunks = a.chunks()
    queries: list[str] = []
    for _ in range(n_queries * 20):
        if len(queries) >= n_queries:
            break
        text = chunks[rng.randrange(len(chunks))].text
        spans = [(x, y) for x, y in sentence_spans(text) if 12 <= y - x <= 80]
        if spans:
            x, y = spans[rng.randrange(len(spans))]
            queries.append(text[x:y])
    if not queries:
        raise ValueError(f"index {index}: no sentence of 12-80 characters to make questions from")
    out: dict[str, Any] = {"load_s": round(load_s, 3), "rss_before_load_mb": rss0, "rss_after_load_mb": rss_load}
    modes: dict[str, Any] = {"bm25": LexicalRetriever(a.data).search, "hybrid": a.retriever.search}
    if a.data.dense is not None:
        modes["dense"] = DenseRetriever(a.data).search
    out["latency"] = {}
    for name, fn in modes.items():
        fn(queries[0], k)
        out["latency"][name] = _latency(partial(fn, k=k), queries)
    found = [evidence_found(q, [p.text for p in a.retriever.search(q, k)]) is not None for q in queries]
    out["self_recall@5"] = round(sum(found) / len(found), 4)
    a.ask(queries[0])
    out["ask"] = _latency(a.ask, queries[:n_ask])
    if a.data.dense is not None and a.data.embedder is not None:
        vecs = a.data.embedder.embed(queries, query=True)
        stored = a.data.dense.vectors
        hits = []
        for v in vecs:
            if not np.any(v):
                continue
            approx = {i for i, _ in a.data.dense.search(v, 10)}
            exact = set(np.argpartition(-(stored @ v), min(10, len(stored) - 1))[:10].tolist())
            hits.append(len(approx & exact) / max(1, min(10, len(stored))))
        out["dense_recall@10"] = round(sum(hits) / len(hits), 4) if hits else None
        out["dense_exact_index"] = bool(a.data.dense.exact)
        describe = getattr(a.data.dense, "describe", None)  # flat / ivf / hnsw, where the index says
        kind = describe().get("kind") if describe else None
        out["dense_index_kind"] = kind or ("flat" if out["dense_exact_index"] else "approximate")
    out["queries"] = len(queries)
    out["rss_end_mb"] = _proc_mb()
    out["peak_rss_mb"] = _proc_mb("VmHWM")
    return out


def _probe_main(argv: Sequence[str]) -> None:
    index, out, n_queries, n_ask = argv
    Path(out).write_text(json.dumps(probe(index, int(n_queries), int(n_ask))), encoding="utf-8")


def _dir_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 2)


def bench_size(corpus: Path, workdir: Path, label: str, n_queries: int = 100, n_ask: int = 20) -> dict[str, Any]:
    """Ingest ``corpus`` into a fresh index in a subprocess, then probe it in another."""
    from rag.store import current_version, read_manifest

    index = workdir / f"index-{label}"
    shutil.rmtree(index, ignore_errors=True)
    say(f"{label}: rag ingest {corpus} …")
    ingest = run_measured(
        ["-m", "rag.cli", "ingest", str(corpus), "--index", str(index), "-q"],
        workdir / f"ingest-{label}.log",
    )
    live = current_version(index)
    if live is None:
        raise RuntimeError(f"rag ingest wrote no index at {index}")
    counts = read_manifest(live).get("counts", {})
    n_chunks = int(counts.get("chunks", 0))
    say(f"{label}: {n_chunks} chunks in {ingest['seconds']:.0f}s, peak RSS {ingest['peak_rss_mb']:.0f} MB; probing …")
    result = workdir / f"probe-{label}.json"
    code = "import sys; from rag.evaluation.bench_scale import _probe_main; _probe_main(sys.argv[1:])"
    proc = run_measured(
        ["-c", code, str(index), str(result), str(n_queries), str(n_ask)],
        workdir / f"probe-{label}.log",
    )
    p = json.loads(result.read_text(encoding="utf-8"))
    say(f"{label}: loaded in {p['load_s']:.1f}s, hybrid p50 {p['latency']['hybrid']['p50_ms']:.1f} ms")
    return {
        "label": label,
        "documents": int(counts.get("documents", 0)),
        "chunks": n_chunks,
        "ingest_s": ingest["seconds"],
        "ingest_cpu_s": ingest["cpu_s"],
        "chunks_per_s": round(n_chunks / ingest["seconds"], 1) if ingest["seconds"] else None,
        "ingest_peak_rss_mb": ingest["peak_rss_mb"],
        "index_mb": _dir_mb(live),
        "probe_peak_rss_mb": proc["peak_rss_mb"],
        **p,
    }


def bench_scale(
    news: str | Path, sizes: Sequence[int | None], workdir: Path, million: bool = False, n_queries: int = 100
) -> list[dict[str, Any]]:
    """Part B: one :func:`bench_size` per size (articles; None = all), then ~1M shuffled chunks."""
    rows = []
    for n in sizes:
        corpus = workdir / f"news-{n or 'all'}"
        shutil.rmtree(corpus, ignore_errors=True)
        count = write_articles(news_articles(news), n, corpus)
        if n is not None and count < n:
            say(f"only {count} articles in {news}, not {n}")
        rows.append(bench_size(corpus, workdir, f"{count}-articles", n_queries) | {"articles": count})
        shutil.rmtree(corpus, ignore_errors=True)
    if million:
        chars_per_chunk = 390.0  # the news at the default budget; measured below when a size ran
        if rows and rows[-1]["chunks"]:
            arts = list(news_articles(news))[: rows[-1]["articles"]]
            chars_per_chunk = sum(len(str(a["text"])) for a in arts) / rows[-1]["chunks"]
        arts = list(news_articles(news))
        corpus = workdir / "shuffled-1M"
        count = shuffled_corpus(arts, int(1_000_000 * chars_per_chunk), corpus)
        say(f"1M: wrote {count} shuffled articles")
        rows.append(bench_size(corpus, workdir, "1M-chunks", n_queries) | {"articles": count})
        shutil.rmtree(corpus, ignore_errors=True)
    return rows


def scale_table(rows: Sequence[dict[str, Any]]) -> str:
    """Part B as Markdown: one line per corpus size."""
    lines = [
        "| corpus | documents | chunks | ingest s (CPU s) | chunks/s | ingest peak RSS MB | index MB | load s "
        "| RSS after load MB | BM25 p50/p95 ms | dense p50/p95 ms | hybrid p50/p95 ms | ask p50 ms "
        "| dense recall@10 (index kind) | self recall@5 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def lat(r: dict[str, Any], mode: str) -> str:
        x = r["latency"].get(mode)
        return f"{x['p50_ms']:.1f} / {x['p95_ms']:.1f}" if x else "–"

    for r in rows:
        recall = r.get("dense_recall@10")
        dense = "–" if recall is None else f"{recall:.3f} ({r.get('dense_index_kind', '?')})"
        lines.append(
            f"| {r['label']} | {r['documents']:,} | {r['chunks']:,} | {r['ingest_s']:.1f} ({r['ingest_cpu_s']:.0f}) "
            f"| {r['chunks_per_s']:.0f} "
            f"| {r['ingest_peak_rss_mb']:.0f} | {r['index_mb']:.1f} | {r['load_s']:.2f} | {r['rss_after_load_mb']:.0f} "
            f"| {lat(r, 'bm25')} | {lat(r, 'dense')} | {lat(r, 'hybrid')} | {r['ask']['p50_ms']:.1f} "
            f"| {dense} | {r['self_recall@5']:.3f} |"
        )
    return "\n".join(lines)


def plot(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """Latency, memory and ingest time against the number of chunks, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["chunks"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for mode in ("bm25", "dense", "hybrid"):
        pts = [(c, r["latency"][mode]["p50_ms"]) for c, r in zip(x, rows, strict=True) if mode in r["latency"]]
        if pts:
            axes[0].plot(*zip(*pts, strict=True), marker="o", label=f"{mode} p50")
    axes[0].plot(x, [r["ask"]["p50_ms"] for r in rows], marker="s", label="ask p50")
    axes[0].set(title="latency per query", ylabel="ms", yscale="log")
    axes[1].plot(x, [r["ingest_peak_rss_mb"] for r in rows], marker="o", label="ingest peak RSS")
    axes[1].plot(x, [r["rss_after_load_mb"] for r in rows], marker="o", label="RSS after load")
    axes[1].plot(x, [r["index_mb"] for r in rows], marker="^", label="index on disk")
    axes[1].set(title="memory and disk", ylabel="MB")
    axes[2].plot(x, [r["ingest_s"] for r in rows], marker="o", label="rag ingest (wall)")
    axes[2].plot(x, [r["ingest_cpu_s"] for r in rows], marker="x", label="rag ingest (CPU)")
    axes[2].plot(x, [r["load_s"] for r in rows], marker="o", label="Assistant.load")
    axes[2].set(title="build and load time", ylabel="s")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("chunks in the index")
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
