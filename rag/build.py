"""Build or update an index folder from files: parse, chunk, BM25, embed, publish atomically.

>>> report = build_index(["seeds"], "index")          # doctest: +SKIP
>>> report.documents, report.chunks, report.skipped    # doctest: +SKIP
(39, 869, [])

Unchanged files (same SHA-256) keep their chunks; a changed file replaces its old
chunks; an unreadable file is skipped with a reason and its previously indexed version,
if any, stays. Nothing is written when nothing changed.

Updates are incremental: the chunks of unchanged files keep their BM25 tokens and their
vectors, and the corpus embedder is not retrained; only the added chunks are tokenised
and embedded, so adding a small file costs about a second however large the index is
(the BM25 matrix and the FAISS index are rebuilt from the stored rows, which is fast).
The corpus embedder is retrained when asked (``rag reindex``, ``retrain=True``) or when
the chunks added since it was trained exceed ``Settings.embedder_retrain_fraction`` of
the index: its vocabulary was learnt from the corpus it was trained on, and a corpus
that has grown by a quarter is no longer that corpus.

How the hybrid retriever fuses BM25 and dense lists, and which of its scoping rules it
applies, is measured on each corpus at a full build (:mod:`rag.retrieval.fusion_fit`,
questions made from the corpus itself; about a second for 256 articles) and stored in
the manifest under ``"retrieval"``. An update keeps that choice until the chunks added
since it was fitted exceed ``Settings.fusion_refit_fraction`` of the index, or the
corpus embedder is retrained; then it is measured again.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.ingest.loaders import UnreadableFile
from rag.ingest.pipeline import file_checksum, iter_sources, parse_file, parse_text
from rag.integrity import fingerprint
from rag.parallel import map_slices, workers_for
from rag.records import Chunk, Document
from rag.settings import Settings
from rag.store import (
    FORMAT_VERSION,
    FileRecord,
    IndexData,
    IndexFormatError,
    current_version,
    discard,
    load_vectors,
    new_version_dir,
    publish,
    read_manifest,
    read_records,
    write_lock,
    write_records,
)

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class BuildReport:
    """What an ingest did; ``str()`` gives the summary the CLI prints."""

    index_dir: str
    documents: int = 0
    chunks: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    token_sizes: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    written: bool = False
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage, in order

    def __str__(self) -> str:
        lines = [
            f"index: {self.index_dir}",
            f"documents: {self.documents}   chunks: {self.chunks}   time: {self.seconds:.1f}s",
            f"files: {len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed, {len(self.skipped)} skipped",
        ]
        if self.token_sizes:
            a = np.array(self.token_sizes)
            lines.append(
                f"chunk tokens: min {a.min()} / p10 {int(np.percentile(a, 10))} / median {int(np.median(a))} / mean {a.mean():.0f} / p90 {int(np.percentile(a, 90))} / max {a.max()}"
            )
        if self.stages:
            lines.append("time by stage: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.stages.items()))
        lines += [f"skipped {name}: {reason}" for name, reason in self.skipped]
        lines += [f"warning: {w}" for w in self.warnings]
        if not self.written:
            lines.append("nothing changed; the index was left as it was")
        return "\n".join(lines)


CHUNK_SETTINGS = ("chunk_tokens", "chunk_overlap_tokens", "tiktoken_encoding")


def build_index(
    paths: Iterable[str | Path],
    index_dir: str | Path,
    settings: Settings | None = None,
    progress: Progress | None = None,
    remove: Iterable[str] = (),
    retrain: bool = False,
) -> BuildReport:
    """Add or update ``paths`` (files or folders) in the index at ``index_dir``, and drop
    the sources named in ``remove`` (keys as ``rag docs`` lists them). ``retrain`` re-tokenises
    every chunk and retrains the corpus embedder even when nothing changed.

    Concurrent ingests into one index run one after the other (a lock file); readers
    keep using the previous version until the new one is published.
    """
    settings = settings or Settings.from_env()
    root = Path(index_dir)
    with write_lock(root):
        return _build(paths, root, settings, progress, list(remove), retrain)


def _build(
    paths: Iterable[str | Path],
    root: Path,
    settings: Settings,
    progress: Progress | None,
    remove: list[str],
    retrain: bool = False,
) -> BuildReport:
    t0 = time.perf_counter()
    report = BuildReport(str(root))
    say = _timed(progress or (lambda stage, done, total: None), report.stages)

    old_files: dict[str, FileRecord] = {}
    old_docs: list[Document] = []
    old_chunks: list[Chunk] = []
    old_vectors: np.ndarray | None = None
    old_manifest: dict[str, Any] = {}
    for stale in root.glob("tmp-*"):  # left by a build that was killed; we hold the lock
        discard(stale)
    try:
        live = current_version(root) if root.exists() else None
        if live is not None:
            old_manifest = read_manifest(live)
            old_files, old_docs, old_chunks = read_records(live)
            old_vectors = load_vectors(live)
    except (IndexFormatError, OSError, ValueError) as e:
        # an index this program cannot read is rebuilt from the given files, not kept broken
        report.warnings.append(f"existing index not readable ({e}); rebuilt from the given files only")
        live, old_manifest, old_files, old_docs, old_chunks, old_vectors = None, {}, {}, [], [], None
    # no model asked for: keep the index's, or train on the corpus for a new index
    settings = settings.replace(
        embedding_model=settings.embedding_model or old_manifest.get("embedding_model") or "corpus"
    )
    chunk_cfg = {k: getattr(settings, k) for k in CHUNK_SETTINGS}
    rechunk_all = bool(old_manifest) and old_manifest.get("chunking") != chunk_cfg
    embed_changed = bool(old_manifest) and old_manifest.get("embedding_model") != settings.embedding_model

    files = dict(old_files)
    for source in remove:
        if files.pop(source, None) is not None:
            report.removed.append(source)
        else:
            report.skipped.append((source, "not in the index, nothing removed"))
    parsed: dict[str, tuple[list[Document], list[Chunk]]] = {}
    file_list = _unique_sources(list(iter_sources(paths)))
    known = {(rec.checksum, Path(src).name): src for src, rec in old_files.items()}
    todo: list[tuple[Path, str]] = []
    for path, source in file_list:
        try:
            if not path.is_file():
                raise UnreadableFile(path, "no such file")
            checksum = file_checksum(path)
        except UnreadableFile as e:
            report.skipped.append((source, e.reason))
            continue
        except OSError as e:
            report.skipped.append((source, f"cannot read file ({e})"))
            continue
        # the same file named another way (a folder before, the file itself now)
        source = known.get((checksum, path.name), source) if source not in old_files else source
        if source in old_files and old_files[source].checksum == checksum and not rechunk_all:
            report.unchanged.append(source)
        else:
            todo.append((path, source))

    def parse(item: tuple[Path, str]) -> Any:
        try:
            return parse_file(item[0], settings, item[1])
        except UnreadableFile as e:
            return e.reason
        except OSError as e:
            return f"cannot read file ({e})"

    # each thread drives its own parse process (rag.ingest.guard), so files are parsed in
    # parallel; parsing in this process (max_file_seconds=0) holds the GIL: one thread
    threads = workers_for(settings.ingest_workers) if settings.max_file_seconds > 0 and len(todo) > 1 else 1
    say("reading files", 0, len(todo))
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for i, ((path, source), pf) in enumerate(zip(todo, pool.map(parse, todo), strict=True)):
            say("reading files", i + 1, len(todo))
            if isinstance(pf, str):
                report.skipped.append((source, pf))
                continue
            (report.updated if source in old_files else report.added).append(source)
            report.warnings += [f"{source}: {w}" for w in getattr(pf, "warnings", ())]
            files[source] = FileRecord(source, str(path), pf.checksum, pf.text, len(pf.documents), len(pf.chunks))
            parsed[source] = (list(pf.documents), list(pf.chunks))

    if rechunk_all:  # chunk settings changed: re-chunk every stored file from its stored text
        for source, rec in files.items():
            if source not in parsed:
                docs, file_chunks = parse_text(rec.text, source, settings)
                parsed[source] = (docs, file_chunks)
                rec.n_documents, rec.n_chunks = len(docs), len(file_chunks)

    old_by_source: dict[str, tuple[list[Document], list[Chunk]]] = {}
    for d in old_docs:
        old_by_source.setdefault(d.source, ([], []))[0].append(d)
    for c in old_chunks:
        old_by_source.setdefault(c.source, ([], []))[1].append(c)
    documents: list[Document] = []
    chunks = []
    for source in sorted(files):
        docs_chunks = parsed[source] if source in parsed else old_by_source.get(source, ([], []))
        documents += docs_chunks[0]
        chunks += docs_chunks[1]
    report.documents, report.chunks = len(documents), len(chunks)
    report.token_sizes = [c.n_tokens for c in chunks]

    if live is not None and not parsed and not embed_changed and not report.removed and not retrain:
        report.seconds = time.perf_counter() - t0
        return report
    if not chunks:
        if report.removed:
            raise ValueError("removing those sources would leave the index empty; delete the index folder instead")
        report.seconds = time.perf_counter() - t0
        return report

    tmp = new_version_dir(root)
    try:
        previous = None if retrain or rechunk_all or embed_changed else live
        _write_version(tmp, settings, files, documents, chunks, old_chunks, old_vectors, old_manifest, say, previous)
        say("publishing", 0, 1)
        publish(root, tmp)
    except BaseException:
        discard(tmp)
        raise
    report.written = True
    say("publishing", 1, 1)
    if settings.milvus_uri:  # the scale-out store follows the published version
        _sync_milvus(root, settings, chunks, old_chunks, full=previous is None, report=report, say=say)
    say("done", 1, 1)  # closes the last stage's clock
    report.seconds = time.perf_counter() - t0
    return report


def _sync_milvus(
    root: Path,
    settings: Settings,
    chunks: list[Chunk],
    old_chunks: list[Chunk],
    *,
    full: bool,
    report: BuildReport,
    say: Progress,
) -> None:
    """Bring the Milvus collection to the version just published: only the difference, or
    every row after a full rebuild (new embedder, new vectors). A failure leaves the local
    index published and is reported; the next ingest catches up (sync diffs the ids)."""
    from rag.vectorstore import open_store, store_rows, sync

    say("syncing Milvus", 0, 1)
    try:
        live = current_version(root)
        assert live is not None
        store = open_store(settings, root)
        try:
            keep = {c.id for c in chunks}
            sync(
                store,
                store_rows(chunks, load_vectors(live)),
                [c.id for c in old_chunks if c.id not in keep],
                refresh=full,
            )
        finally:
            store.close()
    except Exception as e:  # any client or server error: the local index stands
        report.warnings.append(f"Milvus at {settings.milvus_uri} not updated ({type(e).__name__}: {e}); run the ingest again")
    say("syncing Milvus", 1, 1)


def _timed(progress: Progress, stages: dict[str, float]) -> Progress:
    """``progress`` that also adds up the wall time of each stage into ``stages``
    (a stage runs from its first report until the next stage's first report)."""
    current = [""]
    since = [time.perf_counter()]

    def say(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if current[0]:
            stages[current[0]] = stages.get(current[0], 0.0) + now - since[0]
        current[0], since[0] = stage, now
        progress(stage, done, total)

    return say


def _unique_sources(files: list[tuple[Path, str]]) -> list[tuple[Path, str]]:
    """Give different files that share a key (``d1/report.txt``, ``d2/report.txt`` both named
    ``report.txt``) keys relative to their common folder; the same file twice is read once."""
    by_key: dict[str, list[Path]] = {}
    for path, key in files:
        paths = by_key.setdefault(key, [])
        if all(path.resolve() != p.resolve() for p in paths):
            paths.append(path)
    out: list[tuple[Path, str]] = []
    for key, paths in by_key.items():
        if len(paths) == 1:
            out.append((paths[0], key))
            continue
        base = Path(os.path.commonpath([str(p.resolve()) for p in paths]))
        out += [(p, p.resolve().relative_to(base).as_posix()) for p in paths]
    return out


def _write_version(
    folder: Path,
    settings: Settings,
    files: dict[str, FileRecord],
    documents: list[Document],
    chunks: list[Chunk],
    old_chunks: list[Chunk],
    old_vectors: np.ndarray | None,
    old_manifest: dict[str, Any],
    say: Progress,
    previous: Path | None = None,
) -> None:
    """Write one version into ``folder``; with ``previous`` (the live version) rows of
    chunks it already holds are reused instead of recomputed."""
    from rag.retrieval.dense import DenseIndex

    texts = [c.index_text for c in chunks]
    workers = workers_for(settings.ingest_workers)
    bm25 = _write_bm25(folder, chunks, texts, old_chunks, previous, say, workers)

    embedder_info: dict[str, Any] = {"spec": settings.embedding_model}
    dense = embedder = None
    retrained = False
    if settings.embedding_model != "none":
        vectors, trained, embedder = _embed(
            folder, settings, chunks, texts, old_chunks, old_vectors, old_manifest, say, previous
        )
        retrained = bool(trained.pop("retrained", False))
        embedder_info.update(dim=int(vectors.shape[1]), **trained)
        say("vector index", 0, 1)
        dense = DenseIndex.build(
            vectors,
            settings.exact_search_max,
            kind=settings.dense_index,
            target_recall=settings.ann_recall_target,
            queries=_probe_queries(embedder, chunks) if len(chunks) > settings.exact_search_max else None,
        )
        dense.save(folder / "dense")
        say("vector index", 1, 1)

    retrieval = _retrieval_choice(
        IndexData(
            {"embedding_model": settings.embedding_model}, files, documents, chunks, bm25, dense, embedder, folder
        ),
        settings,
        old_manifest,
        old_chunks,
        previous,
        retrained,
        say,
    )
    say("writing records", 0, 1)
    write_records(folder, files, documents, chunks)
    manifest = {
        "format_version": FORMAT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "embedding_model": settings.embedding_model,
        "embedder": embedder_info,
        "chunking": {k: getattr(settings, k) for k in CHUNK_SETTINGS},
        "counts": {"files": len(files), "documents": len(documents), "chunks": len(chunks)},
        "files": {s: {"checksum": f.checksum, "path": f.path, "chunks": f.n_chunks} for s, f in sorted(files.items())},
    }
    if retrieval is not None:
        manifest["retrieval"] = retrieval
    if dense is not None:
        manifest["dense"] = dense.describe()
    manifest["integrity"] = fingerprint(folder)  # checked on every load (rag.integrity)
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def _probe_queries(embedder: Any, chunks: list[Chunk], n: int = 200, seed: int = 0) -> np.ndarray:
    """Query vectors to measure an approximate index on: the first sentence of ``n`` random
    chunks, embedded as questions are."""
    import random

    from rag import zh

    rng = random.Random(seed)
    picks = rng.sample(range(len(chunks)), min(n, len(chunks)))
    texts = []
    for i in picks:
        t = chunks[i].text
        spans = zh.sentence_spans(t[:400])
        texts.append(t[spans[0][0] : spans[0][1]] if spans else t[:80])
    try:
        return np.asarray(embedder.embed(texts, query=True), dtype=np.float32)
    except TypeError:  # an embedder without a query mode
        return np.asarray(embedder.embed(texts), dtype=np.float32)


def _retrieval_choice(
    data: IndexData,
    settings: Settings,
    old_manifest: dict[str, Any],
    old_chunks: list[Chunk],
    previous: Path | None,
    retrained: bool,
    say: Progress,
) -> dict[str, Any] | None:
    """The manifest's ``"retrieval"`` entry: the stored choice on an update that added at
    most ``fusion_refit_fraction`` of the index since the fit (and kept the embedder), else
    a new fit (None with ``fusion_fit`` off: the hand-set defaults apply)."""
    old = old_manifest.get("retrieval")
    if previous is not None and isinstance(old, dict) and old.get("fitted") and not retrained:
        known = {c.id for c in old_chunks}
        added = int(old.get("added_since_fit", 0) or 0) + sum(c.id not in known for c in data.chunks)
        if added <= settings.fusion_refit_fraction * len(data.chunks):
            return {**old, "added_since_fit": added}
    if not settings.fusion_fit:
        return None
    from rag.retrieval.fusion_fit import fit_index

    say("fitting fusion", 0, 1)
    _, entry = fit_index(data, n=settings.fusion_questions, seed=0, candidates=settings.candidates)
    say("fitting fusion", 1, 1)
    return entry


def _write_bm25(
    folder: Path,
    chunks: list[Chunk],
    texts: list[str],
    old_chunks: list[Chunk],
    previous: Path | None,
    say: Progress,
    workers: int = 1,
) -> Any:
    """BM25 over every chunk; chunks already in ``previous`` keep their stored tokens.

    The user dictionary grows by the new chunks' terms; old chunks are not re-tokenised
    with it (their terms were already in it, or they do not contain the new ones).
    """
    from rag.retrieval.lexical import BM25Index, load_token_lists
    from rag.retrieval.tokenize import Tokenizer, corpus_terms

    say("BM25 index", 0, 1)
    old_tokens = load_token_lists(previous / "bm25") if previous is not None else None
    tokens: list[list[str] | None] = [None] * len(chunks)
    user_words: list[str] = []
    backend = ""
    if old_tokens is not None and len(old_tokens) == len(old_chunks):
        cfg = json.loads((previous / "bm25" / "tokenizer.json").read_text(encoding="utf-8"))  # type: ignore[operator]
        user_words = list(cfg.get("user_words", []))
        backend = cfg.get("backend", "jieba")  # the stored tokens were cut by this one: keep it
        by_id = {c.id: old_tokens[i] for i, c in enumerate(old_chunks)}
        tokens = [by_id.get(c.id) for c in chunks]
    todo = [i for i, tok in enumerate(tokens) if tok is None]
    tokenizer = Tokenizer(sorted(set(user_words) | set(corpus_terms(texts[i] for i in todo))), backend=backend)
    tokenizer.segmenter()  # loaded before the workers fork, so each inherits it

    def job(lo: int, hi: int) -> list[str]:
        return ["\x1f".join(tokenizer.tokens(texts[todo[j]])) for j in range(lo, hi)]

    joined = map_slices(job, len(todo), workers=workers, progress=lambda d, n: say("BM25 index", d, n))
    for i, line in zip(todo, joined, strict=True):
        tokens[i] = line.split("\x1f") if line else []
    index = BM25Index.build(texts, tokenizer, tokens=tokens)
    index.save(folder / "bm25")
    say("BM25 index", 1, 1)
    return index


def _embed(
    folder: Path,
    settings: Settings,
    chunks: list[Chunk],
    texts: list[str],
    old_chunks: list[Chunk],
    old_vectors: np.ndarray | None,
    old_manifest: dict[str, Any],
    say: Progress,
    previous: Path | None = None,
) -> tuple[np.ndarray, dict[str, Any], Any]:
    """Vectors for every chunk, what the manifest should record of the embedder's training
    (with ``"retrained": True`` when it was trained just now, which is not recorded), and the embedder."""
    import shutil

    from rag.embed import EMBEDDER_DIR, CorpusEmbedder, load_embedder

    reuse: dict[str, int] = {}
    if old_vectors is not None and old_manifest.get("embedding_model") == settings.embedding_model:
        reuse = {c.id: i for i, c in enumerate(old_chunks) if i < len(old_vectors)}
    info: dict[str, Any] = {}
    if settings.embedding_model == "corpus":
        old_info = old_manifest.get("embedder", {})
        trained_on = int(old_info.get("trained_on_chunks", 0) or 0)
        added = int(old_info.get("added_since_training", 0) or 0) + sum(c.id not in reuse for c in chunks)
        keep = (
            previous is not None
            and (previous / EMBEDDER_DIR).is_dir()
            and trained_on > 0
            and added <= settings.embedder_retrain_fraction * len(chunks)
        )
        if not keep:  # train on this corpus and embed every row
            say("training embedder", 0, 1)
            trained = CorpusEmbedder.train(texts, folder / EMBEDDER_DIR)
            say("training embedder", 1, 1)
            info = {"trained_on_chunks": len(chunks), "added_since_training": 0, "retrained": True}
            return _embed_batches(trained, texts, say, workers=workers_for(settings.ingest_workers)), info, trained
        shutil.copytree(previous / EMBEDDER_DIR, folder / EMBEDDER_DIR)  # type: ignore[operator]
        info = {"trained_on_chunks": trained_on, "added_since_training": added}
    pretrained = load_embedder(settings.embedding_model, folder)
    assert pretrained is not None
    embedder = pretrained
    todo = [i for i, c in enumerate(chunks) if c.id not in reuse]
    new = _embed_batches(embedder, [texts[i] for i in todo], say, workers=workers_for(settings.ingest_workers)) if todo else None
    dim = new.shape[1] if new is not None else old_vectors.shape[1]  # type: ignore[union-attr]
    out = np.zeros((len(chunks), dim), dtype=np.float32)
    for i, c in enumerate(chunks):
        if c.id in reuse:
            out[i] = old_vectors[reuse[c.id]]  # type: ignore[index]
    if new is not None:
        out[todo] = new
    return out, info, embedder


def _embed_batches(embedder: Any, texts: list[str], say: Progress, batch: int = 256, workers: int = 1) -> np.ndarray:
    """Vectors of ``texts``; a static (corpus) embedder is run in ``workers`` processes,
    a neural one in this process (torch runs its own threads)."""
    say("embedding", 0, len(texts))
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)

    def job(lo: int, hi: int) -> list[np.ndarray]:
        return [embedder.embed(texts[i : min(hi, i + batch)]).astype(np.float32) for i in range(lo, hi, batch)]

    from rag.embed import CorpusEmbedder

    procs = workers if isinstance(embedder, CorpusEmbedder) else 1
    parts = map_slices(job, len(texts), workers=procs, progress=lambda d, n: say("embedding", d, n))
    return np.vstack(parts)
