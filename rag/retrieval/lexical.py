"""BM25 over jieba tokens (bm25s), built once at ingest and saved with the index.

BM25: Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond"
(2009); bm25s: https://github.com/xhluca/bm25s (sparse matrix of precomputed scores).
Arrays are saved with ``allow_pickle=False`` and loaded the same way.

Each chunk's tokens are kept too (``doc_tokens.npy`` + ``doc_offsets.npy`` + the token
list ``doc_vocab.json``), so an update re-tokenises only the chunks it adds: adding one
file to an index costs its own tokenising, not the corpus's.

>>> from rag.retrieval.tokenize import Tokenizer
>>> ix = BM25Index.build(["职工医疗互助金", "技能竞赛"], Tokenizer())
>>> [row for row, _ in ix.search("互助金", 2)]
[0]
>>> BM25Index.build(["职工医疗互助金", "技能竞赛"], Tokenizer(), tokens=ix.doc_tokens).search("竞赛", 1)[0][0]
1
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

    def __init__(self, model: Any, tokenizer: Tokenizer, n_docs: int, doc_tokens: list[list[str]] | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.n_docs = n_docs
        self.doc_tokens = doc_tokens  # per row, kept for incremental updates (None when loaded for search)

    @classmethod
    def build(
        cls,
        texts: Sequence[str],
        tokenizer: Tokenizer,
        *,
        k1: float = 1.2,
        b: float = 0.75,
        tokens: Sequence[list[str] | None] | None = None,
    ) -> BM25Index:
        """Index ``texts``; ``tokens[i]``, when given and not None, is used instead of tokenising ``texts[i]``."""
        import bm25s

        doc_tokens = [
            list(tokens[i]) if tokens is not None and tokens[i] is not None else tokenizer.tokens(t)  # type: ignore[arg-type]
            for i, t in enumerate(texts)
        ]
        model = bm25s.BM25(k1=k1, b=b)
        model.index([t or [""] for t in doc_tokens], show_progress=False)
        return cls(model, tokenizer, len(texts), doc_tokens)

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
                {
                    "user_words": self.tokenizer.user_words,
                    "bigrams": self.tokenizer.bigrams,
                    "backend": self.tokenizer.backend,
                }, ensure_ascii=False
            ),
            encoding="utf-8",
        )
        if self.doc_tokens is not None:
            save_token_lists(folder, self.doc_tokens)

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        import bm25s

        cfg = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        model = bm25s.BM25.load(str(folder), allow_pickle=False, mmap=False)
        # an index from before the backend was recorded was cut by jieba itself
        tokenizer = Tokenizer(
            cfg["user_words"],
            bigrams=cfg["bigrams"],
            search_mode=cfg.get("search_mode", True),
            backend=cfg.get("backend", "jieba"),
        )
        return cls(model, tokenizer, int(model.scores["num_docs"]))


def save_token_lists(folder: Path, token_lists: Sequence[Sequence[str]]) -> None:
    """Write per-row token lists as an id array, row offsets and the token list (no pickle)."""
    vocab: dict[str, int] = {}
    ids = [vocab.setdefault(t, len(vocab)) for row in token_lists for t in row]
    offsets = np.zeros(len(token_lists) + 1, dtype=np.int64)
    np.cumsum([len(row) for row in token_lists], out=offsets[1:])
    np.save(folder / "doc_tokens.npy", np.asarray(ids, dtype=np.int32), allow_pickle=False)
    np.save(folder / "doc_offsets.npy", offsets, allow_pickle=False)
    (folder / "doc_vocab.json").write_text(json.dumps(list(vocab), ensure_ascii=False), encoding="utf-8")


def load_token_lists(folder: Path) -> list[list[str]] | None:
    """The token lists :func:`save_token_lists` wrote, or None when the folder has none."""
    paths = [folder / n for n in ("doc_tokens.npy", "doc_offsets.npy", "doc_vocab.json")]
    if not all(p.is_file() for p in paths):
        return None
    ids = np.load(paths[0], allow_pickle=False)
    offsets = np.load(paths[1], allow_pickle=False)
    vocab = json.loads(paths[2].read_text(encoding="utf-8"))
    if len(offsets) == 0 or int(offsets[-1]) != len(ids) or (len(ids) and int(ids.max()) >= len(vocab)):
        return None
    words = np.asarray(vocab, dtype=object)
    return [words[ids[offsets[i] : offsets[i + 1]]].tolist() for i in range(len(offsets) - 1)]
