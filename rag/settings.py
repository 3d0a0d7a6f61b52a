"""All tunable settings in one place, overridable by ``RAG_*`` environment variables.

>>> s = Settings(chunk_tokens=300)
>>> s.chunk_tokens
300

``Settings.from_env()`` reads ``RAG_CHUNK_TOKENS=400`` and the like; CLI flags then
override those with ``dataclasses.replace``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Settings:
    # --- chunking -------------------------------------------------------------------
    # Token budget of a chunk (tiktoken cl100k_base). Among 200/300/400/500, 300 gave the
    # best dev MRR with full recall within 2,000 characters (eval/chunk_experiment.py).
    chunk_tokens: int = 300
    # Tokens repeated between two pieces of a long section split at sentence ends.
    chunk_overlap_tokens: int = 40
    # Encoding used for every token count (chunk budget, LLM context budget).
    tiktoken_encoding: str = "cl100k_base"

    # --- retrieval --------------------------------------------------------------------
    # Dense embedder: "corpus" trains a small static embedder on the corpus at ingest
    # (works with nothing downloaded); "none" disables dense retrieval; anything else is
    # a local path or a Hugging Face name already in the local cache (e.g.
    # "BAAI/bge-small-zh-v1.5"), loaded with HF_HUB_OFFLINE=1. Empty: the model the index
    # was built with, and "corpus" for a new index.
    embedding_model: str = ""
    # Passages returned by Assistant.retrieve / used by the answerer.
    top_k: int = 5
    # Candidates each retriever contributes before fusion.
    candidates: int = 50
    # How the hybrid fuses BM25 and dense lists is chosen per index at ingest, from
    # measurements on questions made from the corpus (rag/retrieval/fusion_fit.py, stored in
    # the manifest under "retrieval"; `python eval/fit_fusion.py --index DIR` prints them).
    # The three settings below override that choice, each its own part, when set; unset,
    # the index's choice applies, and for an index without one the hand-set defaults
    # (tuned on the trade-union reports) do: dense weight 0.3 / 1.0, rrf_k 30, all rules.
    #
    # Reciprocal-rank-fusion constant (Cormack et al. 2009 use 60). None = the index's
    # choice, else 30 (on the reports 30 measured equal or better than 60: dev MRR 0.931
    # vs 0.917, recall@5 unchanged).
    rrf_k: int | None = None
    # Weight of the dense list in fusion relative to lexical weight 1.0. None = the index's
    # choice, else 0.3 with the corpus-trained embedder (on the reports it ranks below BM25,
    # dev recall@5 0.89 vs 0.93, but finds what BM25 misses) and 1.0 with a pretrained model.
    dense_weight: float | None = None
    # Scoping rules of the hybrid, applied left to right over the index's choice: "place",
    # "year", "title" (a query naming one scopes BM25 to those documents), "compare" (split
    # "A和B…分别…" questions), "dedup" (drop near-duplicate passages); "-name" turns one off,
    # "all" / "none" every one. E.g. "none,dedup". Empty = the index's choice.
    retrieval_rules: str = ""
    # Fit the fusion at ingest (a few hundred questions made from the corpus; ~1-2 s for 256
    # articles). Off: new indexes record the hand-set defaults instead.
    fusion_fit: bool = True
    # Questions the fit makes from the corpus (a deterministic seeded sample). At 300 the
    # year rule's choice on the reports changed with the sampling seed; at 400 it did not
    # (6 seeds), for ~1.3 s on 256 articles.
    fusion_questions: int = 400
    # An update keeps the stored fusion choice until the chunks added since it was fitted
    # exceed this share of the index (or the embedder is retrained); then it is refitted.
    fusion_refit_fraction: float = 0.25
    # Above this many chunks the FAISS index is approximate (see dense_index) instead of
    # exact: exact search costs ~4.6 ms a query at 100k 256-d vectors on one core and grows
    # linearly; at 200k it reaches ~10 ms, where an approximate index's ~0.2 ms is worth its
    # build time (eval/bench_faiss.py).
    exact_search_max: int = 200_000
    # Above exact_search_max the dense index is approximate: "auto" (= "ivf": trains in
    # seconds, adds fast), "ivf", "hnsw" (faster queries, minutes to build at 1M), or "flat"
    # to stay exact at any size.
    dense_index: str = "auto"
    # Processes that tokenise and embed chunks at ingest (0: one per core). Small ingests
    # (under 2,000 chunks) run in-process.
    ingest_workers: int = 0
    # What loading checks of the index files against the manifest: "full" (sizes and BLAKE2b
    # digests, about a second per GB), "size" (sizes only) or "off". Symlinks and paths
    # outside the folder are refused in every mode but "off".
    verify_index: str = "full"
    # The approximate index's search breadth is raised at build until recall@10 against exact
    # search, measured on the corpus' own vectors, reaches this (the manifest records it).
    ann_recall_target: float = 0.95
    # An update keeps the corpus-trained embedder (new chunks are embedded with it) until
    # the chunks added since it was trained exceed this share of the index; then it is
    # retrained on the whole corpus. `rag reindex` retrains at any time. A 1-file upload to
    # the seeds adds ~1% and stays incremental; not yet fitted on measurements.
    embedder_retrain_fraction: float = 0.25

    # --- vector store (rag/vectorstore/) ------------------------------------------------
    # Where chunks are searched. Empty: the index folder's own FAISS + BM25 (the default).
    # "PATH.db": a Milvus Lite data file (pymilvus opens it in-process). "http://host:19530"
    # (or https://): a Milvus server or cluster, which then holds the vectors and BM25 and
    # fuses them itself; records and the manifest stay in the index folder either way.
    milvus_uri: str = ""
    # Credentials for a Milvus server: "user:password" or an API key; empty for none.
    milvus_token: str = ""
    # Milvus collection of this index. Empty: "rag_" + the index folder's name (non-ASCII
    # names made legal and suffixed with a hash). Milvus's rules: ASCII letters, digits and
    # "_", not starting with a digit, at most 255 characters.
    milvus_collection: str = ""

    # --- answering --------------------------------------------------------------------
    # LLM as "provider:model" (e.g. "openai:deepseek-chat"); empty = offline extractive.
    llm: str = ""
    # OpenAI-compatible endpoint for the LLM (DeepSeek, DashScope, Ollama, vLLM ...).
    llm_base_url: str = ""
    # API key for the LLM endpoint.
    llm_api_key: str = ""
    # Sampling temperature for the LLM.
    llm_temperature: float = 0.1
    # Tokens of passage text the LLM prompt may hold.
    llm_context_tokens: int = 3000
    # Seconds one LLM call may take in all (a streamed reply included) before the request
    # ends with a clear timeout message instead of waiting on a slow or hung model.
    llm_timeout: float = 60.0
    # Longer questions are cut to this many characters (not an error).
    max_question_chars: int = 500

    # --- server (`rag serve`) ------------------------------------------------------------
    # Address the chat UI and the API listen on; loopback unless told otherwise.
    host: str = "127.0.0.1"
    port: int = 7860
    # Login for every route: "user:password", several separated by commas, or the path of
    # a file with one "user:password" a line. Empty: no login (a warning is printed when
    # the server listens on anything but loopback).
    auth: str = ""
    # Bearer key the OpenAI-compatible API (/v1/...) requires; empty: the login above (as
    # a "user:password" bearer or HTTP Basic), or nothing when there is no login either.
    api_key: str = ""
    # Questions answered at once by the server; further ones wait in Gradio's queue.
    concurrency: int = 4
    # Upload limits, checked on the server for every file (not only in the browser).
    max_upload_mb: int = 50
    max_upload_files: int = 20

    # --- ingest limits (every file; a file over one is skipped with the reason) -------------
    # Largest file read, in MB, checked on the file's size before a byte is read.
    max_file_mb: int = 100
    # Most pages read from one PDF (a crafted page count or page tree would never end).
    max_pages: int = 2000
    # Most MB the parts of a DOCX (a zip) or a .jsonl.gz may inflate to: checked in the zip's
    # directory, then again while decompressing, since a directory can lie (a zip bomb).
    max_inflated_mb: int = 256
    # Longest time one file may take to parse, in CPU seconds of the child process each file
    # is parsed in (stopped when it runs over; wall-clock time, 3x this, is the backstop).
    # news-01.jsonl.gz, 20,000 articles and 14M characters, takes ~70 CPU seconds.
    # 0: parse in the calling process with no time limit.
    max_file_seconds: float = 300.0
    # Address space the child parse process may use, in MB (a parser that blows up memory
    # fails there with a reason instead of taking the machine down).
    max_parse_memory_mb: int = 4096

    def __post_init__(self) -> None:
        checks = {
            "chunk_tokens": 50 <= self.chunk_tokens <= 4000,
            "chunk_overlap_tokens": 0 <= self.chunk_overlap_tokens < self.chunk_tokens // 2,
            "top_k": 1 <= self.top_k <= 100,
            "candidates": self.candidates >= self.top_k,
            "rrf_k": self.rrf_k is None or self.rrf_k >= 1,
            "fusion_questions": 20 <= self.fusion_questions <= 20_000,
            "fusion_refit_fraction": 0.0 <= self.fusion_refit_fraction <= 10.0,
            "embedder_retrain_fraction": 0.0 <= self.embedder_retrain_fraction <= 10.0,
            "dense_weight": self.dense_weight is None or 0.0 <= self.dense_weight <= 10.0,
            "dense_index": self.dense_index in ("auto", "flat", "ivf", "hnsw"),
            "ingest_workers": 0 <= self.ingest_workers <= 256,
            "verify_index": self.verify_index in ("full", "size", "off"),
            "ann_recall_target": 0.5 <= self.ann_recall_target <= 1.0,
            "exact_search_max": self.exact_search_max >= 0,
            "milvus_uri": not self.milvus_uri
            or self.milvus_uri.endswith(".db")
            or self.milvus_uri.startswith(("http://", "https://", "tcp://", "unix:")),
            "milvus_collection": not self.milvus_collection or _milvus_name(self.milvus_collection),
            "max_question_chars": self.max_question_chars >= 10,
            "llm_context_tokens": self.llm_context_tokens >= 200,
            "llm_timeout": 0.0 < self.llm_timeout <= 3600.0,
            "port": 1 <= self.port <= 65535,
            "concurrency": 1 <= self.concurrency <= 64,
            "max_upload_mb": 1 <= self.max_upload_mb <= 2048,
            "max_upload_files": 1 <= self.max_upload_files <= 1000,
            "max_file_mb": 1 <= self.max_file_mb <= 100_000,
            "max_pages": 1 <= self.max_pages <= 1_000_000,
            "max_inflated_mb": 1 <= self.max_inflated_mb <= 100_000,
            "max_file_seconds": 0 <= self.max_file_seconds <= 86_400,
            "max_parse_memory_mb": 256 <= self.max_parse_memory_mb <= 1_000_000,
        }
        ranges = {
            "port": "1..65535",
            "concurrency": "1..64",
            "max_upload_mb": "1..2048",
            "max_upload_files": "1..1000",
            "max_file_mb": "1..100000",
            "max_pages": "1..1000000",
            "max_inflated_mb": "1..100000",
            "max_file_seconds": "0..86400 (0: no limit, parsed in-process)",
            "max_parse_memory_mb": "256..1000000",
            "embedder_retrain_fraction": "0..10",
            "fusion_questions": "20..20000",
            "dense_index": "auto, flat, ivf, hnsw",
            "verify_index": "full, size, off",
            "ann_recall_target": "0.5..1.0",
            "fusion_refit_fraction": "0..10",
            "llm_timeout": "over 0, at most 3600 seconds",
            "milvus_uri": "empty, a path ending in .db, or http(s)://host:port",
            "milvus_collection": "ASCII letters, digits and _, not starting with a digit, at most 255",
        }
        for name, ok in checks.items():
            if not ok:
                allowed = f" (allowed: {ranges[name]})" if name in ranges else ""
                raise ValueError(f"invalid setting {name}={getattr(self, name)!r}{allowed}")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``RAG_<NAME>`` variables, then ``overrides`` (None is ignored)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get("RAG_" + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.name, raw, _field_type(f))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def fusion_weight(self, embedding_model: str) -> float:
        """The dense list's weight in fusion (lexical 1.0) without a fitted choice: the setting,
        else the hand-set default for ``embedding_model``. An index's fitted choice is read
        by ``rag.retrieval.retrievers.resolve_config``."""
        if self.dense_weight is not None:
            return self.dense_weight
        return 0.3 if embedding_model in ("corpus", "hashing") else 1.0

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _field_type(f: dataclasses.Field[Any]) -> type:
    """The value type of a field, ``X | None`` counting as ``X`` (annotations are strings here)."""
    names = {"int": int, "float": float, "bool": bool, "str": str}
    ann = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "str")
    return names.get(ann.split("|")[0].strip(), str)


def _milvus_name(name: str) -> bool:
    """Whether ``name`` follows Milvus's collection naming rules.

    >>> _milvus_name("rag_index"), _milvus_name("9lives"), _milvus_name("知识库"), _milvus_name("a-b")
    (True, False, False, False)
    """
    ok = all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in name)
    return ok and 0 < len(name) <= 255 and not name[0].isdigit()


def _convert(name: str, raw: str, typ: type) -> Any:
    try:
        if typ is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        return typ(raw)
    except ValueError:
        raise ValueError(f"environment variable RAG_{name.upper()}={raw!r} is not a valid {typ.__name__}") from None
