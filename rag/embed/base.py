"""The ``Embedder`` protocol every dense encoder follows, and the training-free ``HashingEmbedder``.

>>> e = HashingEmbedder(dim=64)
>>> v = e.embed(["职工医疗互助金", "疗休养"], query=True)
>>> v.shape, str(v.dtype)
((2, 64), 'float32')

Hashing n-grams into a fixed number of buckets is the "hashing trick" of
Weinberger et al. 2009, https://arxiv.org/abs/0902.2206 (signed hashing, as in
scikit-learn's ``HashingVectorizer``).
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Embedder", "HashingEmbedder", "l2_normalise", "normalise_text"]

_SPACE = re.compile(r"\s+")


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to unit-length float32 vectors; ``query=True`` marks search queries.

    >>> isinstance(HashingEmbedder(), Embedder)
    True

    Rows are L2-normalised, so the inner product is the cosine similarity. A text with
    no feature the model knows (e.g. the empty string) gets the zero vector, which is
    similar to nothing.
    """

    name: str
    dim: int

    def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray: ...


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as a C-contiguous float32 array.

    >>> l2_normalise(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    out = x / np.where(norms > 0, norms, 1.0).astype(np.float32)
    return np.ascontiguousarray(out, dtype=np.float32)


def normalise_text(text: str) -> str:
    """NFKC (full-width letters and digits to ASCII), lower case, whitespace removed.

    Chinese has no spaces between words, and PDF extraction puts line breaks in the
    middle of words, so whitespace carries no information here.

    >>> normalise_text("ＡＢ 职工\\n互助")
    'ab职工互助'
    """
    return _SPACE.sub("", unicodedata.normalize("NFKC", text).lower())


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("embed() takes a sequence of texts, not a single str; wrap it in a list")
    out = list(texts)
    for t in out:
        if not isinstance(t, str):
            raise TypeError(f"embed() takes str items, got {type(t).__name__}")
    return out


class HashingEmbedder:
    """Character 1..3-gram counts hashed into ``dim`` signed buckets; no training, no files.

    >>> e = HashingEmbedder(dim=256)
    >>> a, b, c = e.embed(["农民工欠薪", "追回农民工欠薪", "劳模疗休养"])
    >>> bool(a @ b > a @ c)
    True

    Weights are ``1 + log(tf)`` per n-gram, then the row is L2-normalised. The hash is
    CRC-32 (stable across processes and platforms, unlike Python's ``hash``). A cheap,
    deterministic baseline and a stand-in for tests; it only sees surface overlap.
    See Weinberger et al. 2009, https://arxiv.org/abs/0902.2206.
    """

    def __init__(self, dim: int = 256, *, ngram_range: tuple[int, int] = (1, 3)) -> None:
        if dim < 2:
            raise ValueError(f"dim must be >= 2, got {dim}")
        lo, hi = ngram_range
        if not 1 <= lo <= hi:
            raise ValueError(f"invalid ngram_range {ngram_range}")
        self.dim = int(dim)
        self.ngram_range = (int(lo), int(hi))
        self.name = f"hashing-char{lo}-{hi}-d{self.dim}"

    def _vector(self, text: str) -> np.ndarray:
        s = normalise_text(text)
        counts: Counter[str] = Counter()
        lo, hi = self.ngram_range
        for n in range(lo, hi + 1):
            counts.update(s[i : i + n] for i in range(len(s) - n + 1))
        v = np.zeros(self.dim, dtype=np.float32)
        for gram, tf in counts.items():
            h = zlib.crc32(gram.encode("utf-8"))
            sign = 1.0 if (h >> 31) & 1 else -1.0
            v[h % self.dim] += sign * (1.0 + math.log(tf))
        return v

    def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        items = _check_texts(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(np.stack([self._vector(t) for t in items]))

    def __repr__(self) -> str:
        return f"HashingEmbedder(dim={self.dim}, ngram_range={self.ngram_range})"
