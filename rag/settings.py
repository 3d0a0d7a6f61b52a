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
    # Above this many chunks the FAISS index is approximate (HNSW) instead of exact: exact
    # search costs ~4.6 ms a query at 100k 256-d vectors on one core and grows linearly;
    # at 200k it reaches ~10 ms, where HNSW's ~0.5 ms is worth its build time
    # (eval/bench_faiss.py).
    exact_search_max: int = 200_000
    # An update keeps the corpus-trained embedder (new chunks are embedded with it) until
    # the chunks added since it was trained exceed this share of the index; then it is
    # retrained on the whole corpus. `rag reindex` retrains at any time. A 1-file upload to
    # the seeds adds ~1% and stays incremental; not yet fitted on measurements.
    embedder_retrain_fraction: float = 0.25

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
            "max_question_chars": self.max_question_chars >= 10,
            "llm_context_tokens": self.llm_context_tokens >= 200,
            "port": 1 <= self.port <= 65535,
            "concurrency": 1 <= self.concurrency <= 64,
            "max_upload_mb": 1 <= self.max_upload_mb <= 2048,
            "max_upload_files": 1 <= self.max_upload_files <= 1000,
        }
        ranges = {
            "port": "1..65535",
            "concurrency": "1..64",
            "max_upload_mb": "1..2048",
            "max_upload_files": "1..1000",
            "embedder_retrain_fraction": "0..10",
            "fusion_questions": "20..20000",
            "fusion_refit_fraction": "0..10",
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


def _convert(name: str, raw: str, typ: type) -> Any:
    try:
        if typ is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        return typ(raw)
    except ValueError:
        raise ValueError(f"environment variable RAG_{name.upper()}={raw!r} is not a valid {typ.__name__}") from None
