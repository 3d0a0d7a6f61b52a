"""BM25 over jieba tokens (bm25s), built once at ingest and saved with the index.

BM25: Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond"
(2009); bm25s: https://github.com/xhluca/bm25s (sparse matrix of precomputed scores).
Arrays are saved with ``allow_pickle=False`` and loaded the same way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.retrieval.tokenize import Tokenizer


class BM25Index:
    """Lexical scores for every chunk row; ``search`` returns ``(row, score)`` best first."""

    def __init__(self, model: Any, tokenizer: Tokenizer, n_docs: int):
        self.model = model
        self.tokenizer = tokenizer
        self.n_docs = n_docs

    @classmethod
    def build(cls, texts: Sequence[str], tokenizer: Tokenizer, *, k1: float = 1.2, b: float = 0.75) -> BM25Index:
        import bm25s

        corpus_tokens = [tokenizer.tokens(t) or [""] for t in texts]
        model = bm25s.BM25(k1=k1, b=b)
        model.index(corpus_tokens, show_progress=False)
        return cls(model, tokenizer, len(texts))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row for ``query`` (zeros when no query token is known)."""
        toks = [t for t in self.tokenizer.tokens(query) if t in self.model.vocab_dict]
        if not toks:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self.model.get_scores(toks), dtype=np.float32)

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        s = self.scores(query)
        if mask is not None:
            s = np.where(mask, s, 0.0)
        k = min(k, len(s))
        if k <= 0:
            return []
        top = np.argpartition(-s, k - 1)[:k]
        top = top[np.argsort(-s[top], kind="stable")]
        return [(int(i), float(s[i])) for i in top if s[i] > 0]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save(str(folder), allow_pickle=False)
        (folder / "tokenizer.json").write_text(
            json.dumps(
                {"user_words": self.tokenizer.user_words, "bigrams": self.tokenizer.bigrams}, ensure_ascii=False
            ),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        import bm25s

        cfg = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        model = bm25s.BM25.load(str(folder), allow_pickle=False, mmap=False)
        tokenizer = Tokenizer(cfg["user_words"], bigrams=cfg["bigrams"], search_mode=cfg.get("search_mode", True))
        return cls(model, tokenizer, int(model.scores["num_docs"]))
