"""A small static embedder trained on the corpus itself, in seconds, with nothing downloaded.

>>> emb = CorpusEmbedder.train(chunk_texts, "index/embedder")          # doctest: +SKIP
>>> CorpusEmbedder.load("index/embedder").embed(["讨回欠薪"], query=True).shape  # doctest: +SKIP
(1, 256)

The model is a bag of features (jieba words, characters, character bigrams) with one
trained vector per feature; a text's vector is the tf-idf weighted sum of its features'
vectors, L2-normalised. That is the architecture of sentence-transformers'
``StaticEmbedding`` / Model2Vec (https://sbert.net/docs/package_reference/sentence_transformer/models.html#staticembedding,
https://huggingface.co/blog/static-embeddings), here trained from scratch:

1. feature vectors start from a truncated SVD of the feature x sentence tf-idf matrix
   (latent semantic analysis, Deerwester et al. 1990): features that occur in the
   same sentences start close;
2. then a contrastive loss with in-batch negatives (MultipleNegativesRankingLoss /
   InfoNCE, Henderson et al. 2017, https://arxiv.org/abs/1705.00652) pulls together
   pairs mined from the chunks: a sentence and the rest of its chunk, a heading and
   one chunk under it, a clause and the rest of its sentence. The anchor's own text is
   never in its positive, so they can only be matched through words that co-occur in
   the corpus: this is what lets "讨薪" meet "拖欠工资", or "农民工" meet "务工人员".

Queries (``query=True``) lose their interrogatives (多少, 哪些, 什么...) first: passages
never contain them. Training takes a few seconds on 2 cores for this corpus (about 800
chunks, 170k characters).

Saved as ``model.safetensors`` (feature vectors and idf weights), ``tokenizer.json``
(the feature vocabulary as a ``tokenizers`` WordLevel model) and ``config.json``; no
pickle, loading runs no code. Inference needs only numpy, jieba and tokenizers; torch
is imported only to train.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.embed.base import _check_texts, l2_normalise, normalise_text

if TYPE_CHECKING:
    import jieba

__all__ = ["CorpusEmbedder", "Featurizer", "TrainConfig"]

log = logging.getLogger(__name__)

FORMAT = "rag-corpus-static"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "config.json"
UNK = "[UNK]"

# Runs that jieba segments (its own re_han_default), after normalise_text().
_RUN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbfa-z0-9+#&._%\-]+")
_CJK = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]+")
# Sentence and clause boundaries used to mine training pairs.
_SENT_END = re.compile(r"(?<=[。！？!?；;])")
_CLAUSE_END = re.compile(r"(?<=[，,、：:])")
_HEAD_SEP = re.compile(r"\s*(?:>|›|»|/|／|\|)\s*")
# Interrogatives: the question asks *for* what they stand for, the passage never has them.
QUESTION_WORDS = (
    "多少 哪些 哪个 哪位 哪家 哪里 哪儿 哪年 哪一年 什么 怎么样 怎么 怎样 如何 为什么 为何 是否 是不是 有没有 "
    "几个 几名 几家 几次 几项 几场 几人 谁"
).split()
# Longest first, so 怎么样 goes before 怎么. Replaced by a comma: no bigram spans the gap.
_QUESTION_RE = re.compile("|".join(sorted(map(re.escape, QUESTION_WORDS), key=len, reverse=True)))


def strip_question_words(text: str) -> str:
    """The question without its interrogatives, which passages never contain.

    >>> strip_question_words("湖南工会帮农民工讨回了多少钱？")
    '湖南工会帮农民工讨回了，钱？'
    """
    return _QUESTION_RE.sub("，", text)


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of ``CorpusEmbedder.train``; the defaults are general choices, not tuned per question.

    >>> TrainConfig(dim=128).dim
    128
    """

    dim: int = 256
    epochs: int = 3
    batch_size: int = 128
    lr: float = 0.005
    scale: float = 20.0  # 1 / temperature of the cosine logits, as in MultipleNegativesRankingLoss
    min_df: int = 2  # a feature must occur in this many chunks to get a vector
    max_features: int = 100_000
    init: str = "svd"  # "svd" (LSA start) or "random"
    pairs: tuple[str, ...] = ("sentence", "heading", "clause")
    min_anchor_chars: int = 6
    threads: int = 2  # torch threads while training; part of what makes a seed reproducible
    features: tuple[str, ...] = ("words", "chars", "bigrams")  # which Featurizer feature kinds to use
    # Training cost is capped, so ingest stays linear in the corpus: at most max_train_texts
    # chunks (a seeded sample) give the vocabulary and the pairs, at most max_pairs_per_epoch
    # pairs a pass (3 x 12,000 / 128 = 282 steps). The seeds (793 chunks, ~4k pairs) and
    # CMRC trial are under both caps. On 5,000 news articles (17.9k chunks) the capped model's
    # dense recall@5 on the ingest's pseudo-questions is in the README (Scale).
    max_pairs_per_epoch: int = 12_000
    max_train_texts: int = 8_000
    sparse: bool = True  # sparse gradients (SparseAdam): a step costs the rows it touches, not the table

    def __post_init__(self) -> None:
        if self.max_train_texts < 1:
            raise ValueError(f"max_train_texts must be at least 1, got {self.max_train_texts}")
        if not 8 <= self.dim <= 4096:
            raise ValueError(f"dim must be in 8..4096, got {self.dim}")
        if self.init not in {"svd", "random"}:
            raise ValueError(f"init must be 'svd' or 'random', got {self.init!r}")
        unknown = set(self.pairs) - {"sentence", "heading", "clause"}
        if unknown:
            raise ValueError(f"unknown pair kinds {sorted(unknown)}")
        if not self.features or set(self.features) - {"words", "chars", "bigrams"}:
            raise ValueError(f"features must be a non-empty subset of words/chars/bigrams, got {self.features}")


# --------------------------------------------------------------------------- features


@lru_cache(maxsize=1)
def _jieba() -> jieba.Tokenizer:
    """A private jieba tokenizer with the stock dictionary.

    Private so that words other modules add to the global ``jieba`` dictionary cannot
    change this model's features between training and loading.
    """
    import jieba

    tok = jieba.Tokenizer()
    tok.initialize()
    return tok


_jieba_lock = threading.Lock()


@dataclass(frozen=True)
class Featurizer:
    """Text to features: jieba words (``w:``), characters (``c:``) and character bigrams (``b:``).

    >>> Featurizer().features("追回欠薪7.2亿元")[:4]
    ['w:追回', 'w:欠薪', 'w:7.2', 'w:亿元']

    Text is NFKC-normalised, lower-cased and stripped of whitespace first. Features
    never span punctuation, so a sentence's features are exactly the union of its
    clauses' features (which training relies on).
    """

    words: bool = True
    chars: bool = True
    bigrams: bool = True
    hmm: bool = True  # jieba's HMM for words not in its dictionary (names, new terms)
    # which jieba cuts the words ("rjieba", the Rust port, or "jieba"); a model keeps the one
    # it was trained with (models saved before this field existed were cut by "jieba")
    segmenter: str = "jieba"

    def features(self, text: str) -> list[str]:
        s = normalise_text(text)
        out: list[str] = []
        cut = None
        if self.words and self.segmenter != "jieba":
            from rag.zh import segmenter

            cut = segmenter(self.segmenter).cut
        for m in _RUN.finditer(s):
            run = m.group()
            if self.words:
                if cut is not None:
                    words = cut(run, self.hmm)
                else:
                    with _jieba_lock:
                        words = _jieba().lcut(run, HMM=self.hmm)
                for w in words:
                    if len(w) >= 2 or not _CJK.match(w):
                        out.append("w:" + w)
            if self.chars or self.bigrams:
                for sub in _CJK_RUN.findall(run):  # bigrams never cross a non-CJK character
                    if self.chars:
                        out.extend(["c:" + ch for ch in sub])
                    if self.bigrams:
                        out.extend(["b:" + sub[i : i + 2] for i in range(len(sub) - 1)])
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- encoding


@dataclass
class _Bags:
    """Texts as bags of feature ids: ``ids[offsets[i]:offsets[i+1]]`` with ``weights`` alongside."""

    ids: np.ndarray  # int64, sorted within each bag
    weights: np.ndarray  # float32, (1 + log tf) * idf
    offsets: np.ndarray  # int64, len n+1


_EMPTY_IDS = np.zeros(0, dtype=np.int64)


def _bags(id_lists: Sequence[np.ndarray], idf: np.ndarray) -> _Bags:
    """Bags from per-text feature-id arrays (repeats allowed): unique ids, sublinear tf times idf."""
    ids_parts: list[np.ndarray] = []
    w_parts: list[np.ndarray] = []
    offsets = np.zeros(len(id_lists) + 1, dtype=np.int64)
    for k, arr in enumerate(id_lists):
        if len(arr):
            u, tf = np.unique(arr, return_counts=True)
            ids_parts.append(u)
            w_parts.append(((1.0 + np.log(tf)) * idf[u]).astype(np.float32))
            offsets[k + 1] = offsets[k] + len(u)
        else:
            offsets[k + 1] = offsets[k]
    ids = np.concatenate(ids_parts) if ids_parts else _EMPTY_IDS
    ws = np.concatenate(w_parts) if w_parts else np.zeros(0, dtype=np.float32)
    return _Bags(ids.astype(np.int64), ws.astype(np.float32), offsets)


def _ids(feats: Iterable[str], vocab: dict[str, int]) -> np.ndarray:
    return np.fromiter((i for i in (vocab.get(f) for f in feats) if i is not None), dtype=np.int64)


def _pool(table: np.ndarray, bags: _Bags, *, block: int = 8192) -> np.ndarray:
    """Weighted sum of the rows of ``table`` per bag (float64 accumulation, float32 result).

    Works on about ``block`` features at a time so memory stays small for big batches;
    each bag is summed in one piece, in id order, so results do not depend on batching.
    """
    n = len(bags.offsets) - 1
    out = np.zeros((n, table.shape[1]), dtype=np.float32)
    i = 0
    while i < n:
        j = i + 1
        while j < n and bags.offsets[j + 1] - bags.offsets[i] <= block:
            j += 1
        lo, hi = int(bags.offsets[i]), int(bags.offsets[j])
        if hi > lo:
            rows = table[bags.ids[lo:hi]].astype(np.float64) * bags.weights[lo:hi, None].astype(np.float64)
            starts = bags.offsets[i:j] - lo
            nonempty = bags.offsets[i + 1 : j + 1] - lo > starts
            part = np.zeros((j - i, table.shape[1]), dtype=np.float64)
            part[nonempty] = np.add.reduceat(rows, starts[nonempty], axis=0)
            out[i:j] = part.astype(np.float32)
        i = j
    return out


# --------------------------------------------------------------------------- pair mining


def _split_heading(text: str) -> tuple[str, str]:
    """(heading line, body) of a chunk whose first line is its title / heading path."""
    first, sep, rest = text.strip().partition("\n")
    if sep and len(first) <= 120 and rest.strip():
        return first.strip(), rest
    return "", text


def _sentences(body: str) -> list[str]:
    return [s for s in (x.strip() for x in _SENT_END.split(body.replace("\n", ""))) if s]


def _clauses(sentence: str) -> list[str]:
    return [c for c in (x.strip() for x in _CLAUSE_END.split(sentence)) if c]


@dataclass
class _Chunk:
    """One chunk cut for pair mining; features first as strings, then as vocabulary ids."""

    heading: list[str]  # features of the last heading of the path
    clauses: list[list[list[str]]]  # sentence -> clause -> features
    sentence_chars: list[int]
    clause_chars: list[list[int]]
    heading_ids: np.ndarray = field(default_factory=lambda: _EMPTY_IDS)
    clause_ids: list[list[np.ndarray]] | None = None


def _mine(texts: Sequence[str], fz: Featurizer) -> list[_Chunk]:
    chunks = []
    for text in texts:
        head, body = _split_heading(text)
        last = _HEAD_SEP.split(head)[-1] if head else ""
        sents = _sentences(body)
        clause_text = [_clauses(s) for s in sents]
        chunks.append(
            _Chunk(
                heading=fz.features(last) if last else [],
                clauses=[[fz.features(c) for c in cl] for cl in clause_text],
                sentence_chars=[len(s) for s in sents],
                clause_chars=[[len(c) for c in cl] for cl in clause_text],
            )
        )
    return chunks


def _cat(parts: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else _EMPTY_IDS


def _pairs_for_epoch(chunks: list[_Chunk], cfg: TrainConfig, rng: random.Random) -> list[tuple[np.ndarray, np.ndarray]]:
    """(anchor, positive) id arrays; the anchor's own text is never part of its positive."""
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    min_clause = max(2, cfg.min_anchor_chars // 2 + 1)
    if "heading" in cfg.pairs:
        # One pair per distinct heading, with one of its chunks: many chunks share a heading
        # (an article's title), and identical anchors in a batch would be false negatives.
        by_heading: dict[bytes, list[_Chunk]] = {}
        for ch in chunks:
            if len(ch.heading_ids) and ch.clause_ids:
                by_heading.setdefault(ch.heading_ids.tobytes(), []).append(ch)
        for group in by_heading.values():
            ch = group[rng.randrange(len(group))]
            assert ch.clause_ids is not None
            body = _cat([_cat(c) for c in ch.clause_ids])
            if len(body):
                pairs.append((ch.heading_ids, body))
    for ch in chunks:
        assert ch.clause_ids is not None
        sents = [_cat(c) for c in ch.clause_ids]
        if "sentence" in cfg.pairs and len(sents) >= 2:
            for i, sf in enumerate(sents):
                if ch.sentence_chars[i] < cfg.min_anchor_chars or not len(sf):
                    continue
                rest = _cat(sents[:i] + sents[i + 1 :])
                if len(rest):
                    pairs.append((sf, rest))
        if "clause" in cfg.pairs:
            for cl, chars in zip(ch.clause_ids, ch.clause_chars, strict=True):
                ok = [j for j, n in enumerate(chars) if n >= min_clause and len(cl[j])]
                if len(cl) < 2 or not ok:
                    continue
                j = ok[rng.randrange(len(ok))]  # one clause per sentence per epoch
                rest = _cat(cl[:j] + cl[j + 1 :])
                if len(rest):
                    pairs.append((cl[j], rest))
    rng.shuffle(pairs)
    return pairs[: cfg.max_pairs_per_epoch]


# --------------------------------------------------------------------------- the model


class CorpusEmbedder:
    """Static feature-bag embedder trained on the corpus (see module doc); ``train`` then ``load``.

    >>> emb = CorpusEmbedder.train(texts, tmp_dir, seed=0)       # doctest: +SKIP
    >>> emb.embed(["帮农民工讨回欠薪"], query=True).shape           # doctest: +SKIP
    (1, 256)
    """

    def __init__(
        self,
        vocab: dict[str, int],
        table: np.ndarray,
        idf: np.ndarray,
        *,
        featurizer: Featurizer | None = None,
        name: str = "corpus-static-v1",
        strip_questions: bool = True,
        meta: dict[str, Any] | None = None,
    ) -> None:
        table = np.ascontiguousarray(table, dtype=np.float32)
        if table.ndim != 2 or table.shape[0] != len(vocab) or idf.shape != (len(vocab),):
            raise ValueError("vocab, table and idf sizes disagree")
        self.vocab = vocab
        self.table = table
        self.idf = np.ascontiguousarray(idf, dtype=np.float32)
        self.featurizer = featurizer or Featurizer()
        self.name = name
        self.strip_questions = strip_questions
        self.dim = int(table.shape[1])
        self.meta = dict(meta or {})

    # ---- inference

    def _bags(self, texts: Sequence[str], *, query: bool) -> _Bags:
        strip = query and self.strip_questions
        ids = [_ids(self.featurizer.features(strip_question_words(t) if strip else t), self.vocab) for t in texts]
        return _bags(ids, self.idf)

    def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        """Unit-length float32 rows; ``query=True`` drops interrogatives such as 多少 / 哪些."""
        items = _check_texts(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(_pool(self.table, self._bags(items, query=query)))

    # ---- persistence

    def save(self, out_dir: str | Path) -> Path:
        """Write ``model.safetensors``, ``tokenizer.json`` and ``config.json`` into ``out_dir``."""
        from safetensors.numpy import save_file
        from tokenizers import Tokenizer, models

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        save_file({"embedding.weight": self.table, "idf": self.idf}, str(out / WEIGHTS_FILE))
        vocab = {UNK: len(self.vocab), **self.vocab}
        Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK)).save(str(out / TOKENIZER_FILE))
        config = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "dim": self.dim,
            "vocab_size": len(self.vocab),
            "featurizer": self.featurizer.to_dict(),
            "strip_questions": self.strip_questions,
            **self.meta,
        }
        (out / CONFIG_FILE).write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
        return out

    @classmethod
    def load(cls, out_dir: str | Path) -> CorpusEmbedder:
        """Reload a saved embedder (safetensors + json only; no code is executed)."""
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        d = Path(out_dir)
        missing = [f for f in (WEIGHTS_FILE, TOKENIZER_FILE, CONFIG_FILE) if not (d / f).is_file()]
        if missing:
            raise FileNotFoundError(
                f"no corpus embedder in {d}: missing {', '.join(missing)}. Build the index first (it trains one)."
            )
        config = json.loads((d / CONFIG_FILE).read_text(encoding="utf-8"))
        if config.get("format") != FORMAT or config.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{d / CONFIG_FILE} is not a {FORMAT} v{FORMAT_VERSION} model "
                f"(format={config.get('format')!r}, version={config.get('format_version')!r})"
            )
        tensors = load_file(str(d / WEIGHTS_FILE))
        vocab = {k: v for k, v in Tokenizer.from_file(str(d / TOKENIZER_FILE)).get_vocab().items() if k != UNK}
        own = {"format", "format_version", "name", "dim", "vocab_size", "featurizer", "strip_questions"}
        meta = {k: v for k, v in config.items() if k not in own}
        return cls(
            vocab,
            tensors["embedding.weight"],
            tensors["idf"],
            featurizer=Featurizer(**config.get("featurizer", {})),
            name=config.get("name", "corpus-static-v1"),
            strip_questions=bool(config.get("strip_questions", True)),
            meta=meta,
        )

    # ---- training

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        out_dir: str | Path,
        *,
        seed: int = 0,
        progress: bool = False,
        config: TrainConfig | None = None,
    ) -> CorpusEmbedder:
        """Train on chunk texts (first line = title / heading path), save into ``out_dir``, return the model.

        Deterministic for a given ``seed``, corpus and config (fixed thread count, seeded
        RNGs, deterministic torch kernels).
        """
        cfg = config or TrainConfig()
        texts = [t for t in texts if t and t.strip()]
        if not texts:
            raise ValueError("CorpusEmbedder.train needs at least one non-empty text")
        t0 = time.perf_counter()
        from rag.zh import default_backend

        fz = Featurizer(**{k: k in cfg.features for k in ("words", "chars", "bigrams")}, segmenter=default_backend())
        if len(texts) > cfg.max_train_texts:  # a fixed-size sample bounds training on any corpus
            texts = random.Random(seed).sample(texts, cfg.max_train_texts)
        chunks = _mine(texts, fz)
        vocab, idf = _build_vocab(chunks, cfg)
        if not vocab:
            raise ValueError("no feature occurs often enough to train on; give more text or lower min_df")
        t_feat = time.perf_counter() - t0
        table, stats = _train_table(chunks, idf, cfg, seed=seed, progress=progress)
        meta = {
            "seed": seed,
            "train": {**asdict(cfg), "pairs": list(cfg.pairs), "features": list(cfg.features)},
            "stats": {
                "texts": len(texts),
                "features_seconds": round(t_feat, 3),
                "total_seconds": round(time.perf_counter() - t0, 3),
                **stats,
            },
        }
        model = cls(vocab, table, idf, featurizer=fz, meta=meta)
        model.save(out_dir)
        log.info("trained %r on %d texts in %.1f s: %s", model, len(texts), time.perf_counter() - t0, stats)
        return model

    def __repr__(self) -> str:
        return f"CorpusEmbedder(name={self.name!r}, dim={self.dim}, vocab={len(self.vocab)})"


def _build_vocab(chunks: list[_Chunk], cfg: TrainConfig) -> tuple[dict[str, int], np.ndarray]:
    """Features in at least ``min_df`` chunks (capped at ``max_features``), sorted; smoothed idf."""
    df: Counter[str] = Counter()
    for ch in chunks:
        feats = set(ch.heading)
        for s in ch.clauses:
            for c in s:
                feats.update(c)
        df.update(feats)
    n = len(chunks)
    kept = [f for f, c in df.items() if c >= min(cfg.min_df, n)]
    kept.sort(key=lambda f: (-df[f], f))
    kept = sorted(kept[: cfg.max_features])  # ids independent of counting order
    vocab = {f: i for i, f in enumerate(kept)}
    idf = np.array([math.log((n + 1) / (df[f] + 1)) + 1.0 for f in kept], dtype=np.float32)
    for ch in chunks:
        ch.heading_ids = _ids(ch.heading, vocab)
        ch.clause_ids = [[_ids(c, vocab) for c in s] for s in ch.clauses]
    return vocab, idf


def _train_table(
    chunks: list[_Chunk],
    idf: np.ndarray,
    cfg: TrainConfig,
    *,
    seed: int,
    progress: bool,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Feature vectors: LSA start, then in-batch-negatives contrastive training (plain torch)."""
    import torch
    import torch.nn.functional as F

    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    # The thread count changes how sums are split, hence the floats: fixed, not the number of cores.
    torch.set_num_threads(max(1, cfg.threads))
    torch.use_deterministic_algorithms(True)
    try:
        rng = random.Random(seed)
        gen = torch.Generator().manual_seed(seed)
        t0 = time.perf_counter()
        init = _init_table(chunks, idf, cfg, gen)
        t_init = time.perf_counter() - t0
        table = torch.from_numpy(np.ascontiguousarray(init, dtype=np.float32))
        adam = _RowAdam(table, cfg.lr) if cfg.sparse else None
        dense_opt = None
        if adam is None:
            table.requires_grad_(True)
            dense_opt = torch.optim.Adam([table], lr=cfg.lr)

        def forward(weight: torch.Tensor, b: _Bags, ids: np.ndarray) -> torch.Tensor:
            out = F.embedding_bag(
                torch.from_numpy(ids),
                weight,
                torch.from_numpy(b.offsets[:-1]),
                mode="sum",
                per_sample_weights=torch.from_numpy(b.weights),
            )
            return F.normalize(out, dim=-1)

        losses: list[float] = []
        steps = 0
        n_pairs = 0
        for epoch in range(cfg.epochs):
            pairs = _pairs_for_epoch(chunks, cfg, rng)
            n_pairs += len(pairs)
            total = 0.0
            nb = 0
            for start in range(0, len(pairs), cfg.batch_size):
                batch = pairs[start : start + cfg.batch_size]
                if len(batch) < 2:
                    continue
                ba = _bags([p[0] for p in batch], idf)
                bp = _bags([p[1] for p in batch], idf)
                if adam is not None:
                    # only the rows this batch touches take part: a step costs them, not the table
                    rows, inv = np.unique(np.concatenate([ba.ids, bp.ids]), return_inverse=True)
                    weight = table[torch.from_numpy(rows)].clone().requires_grad_(True)
                    a = forward(weight, ba, inv[: len(ba.ids)])
                    p = forward(weight, bp, inv[len(ba.ids) :])
                else:
                    weight = table
                    a, p = forward(table, ba, ba.ids), forward(table, bp, bp.ids)
                logits = cfg.scale * (a @ p.T)
                target = torch.arange(len(batch))
                # symmetric InfoNCE: anchor -> positive and positive -> anchor
                loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
                if adam is not None:
                    loss.backward()
                    assert weight.grad is not None
                    adam.step(torch.from_numpy(rows), weight.grad)
                else:
                    assert dense_opt is not None
                    dense_opt.zero_grad(set_to_none=True)
                    loss.backward()
                    dense_opt.step()
                total += loss.item()
                nb += 1
                steps += 1
            losses.append(total / max(nb, 1))
            if progress:
                print(
                    f"[corpus-embedder] epoch {epoch + 1}/{cfg.epochs}: {len(pairs)} pairs, loss {losses[-1]:.4f}",
                    file=sys.stderr,
                )
        table_out = table.detach().numpy().astype(np.float32, copy=True)
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det)
    stats = {
        "vocab": len(idf),
        "pairs_per_epoch": n_pairs // max(cfg.epochs, 1),
        "steps": steps,
        "epoch_loss": [round(x, 4) for x in losses],
        "init_seconds": round(t_init, 3),
    }
    return table_out, stats


class _RowAdam:
    """Adam on the rows of a table that a step touches ("lazy" Adam, as torch's SparseAdam):
    each row keeps its moments; rows a batch does not use are left as they are.

    >>> import torch
    >>> t = torch.zeros(3, 2); opt = _RowAdam(t, lr=0.1)
    >>> opt.step(torch.tensor([1]), torch.ones(1, 2)); [round(x, 4) for x in t[1].tolist()], t[0].tolist()
    ([-0.1, -0.1], [0.0, 0.0])
    """

    def __init__(self, table: Any, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        import torch

        self.table, self.lr, self.betas, self.eps = table, lr, betas, eps
        self.m = torch.zeros_like(table)
        self.v = torch.zeros_like(table)
        self.t = 0

    def step(self, rows: Any, grad: Any) -> None:
        import torch

        b1, b2 = self.betas
        self.t += 1
        with torch.no_grad():
            m = self.m[rows].mul_(b1).add_(grad, alpha=1 - b1)
            v = self.v[rows].mul_(b2).addcmul_(grad, grad, value=1 - b2)
            self.m[rows], self.v[rows] = m, v
            step = self.lr * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
            self.table[rows] -= step * m / (v.sqrt() + self.eps)


def _init_table(chunks: list[_Chunk], idf: np.ndarray, cfg: TrainConfig, gen: Any) -> np.ndarray:
    """Start vectors with unit rows: LSA, i.e. a truncated SVD of the feature x sentence tf-idf
    matrix by a randomized range finder (Halko et al. 2011, https://arxiv.org/abs/0909.4061);
    or random directions when ``cfg.init == "random"``."""
    import torch

    v, d = len(idf), cfg.dim
    contexts = [_cat(s) for ch in chunks if ch.clause_ids for s in ch.clause_ids]
    contexts += [ch.heading_ids for ch in chunks]  # so features seen only in headings get a start too
    contexts = [c for c in contexts if len(c)]
    n = len(contexts)
    q = min(d, v, n)
    if cfg.init == "random" or q < 2:
        r = torch.randn(v, d, generator=gen)
        return (r / r.norm(dim=1, keepdim=True)).numpy()
    b = _bags(contexts, idf)
    cols = np.repeat(np.arange(n), np.diff(b.offsets))
    vals = b.weights.astype(np.float64)
    colnorm = np.sqrt(np.bincount(cols, weights=vals**2, minlength=n))
    vals = vals / np.maximum(colnorm[cols], 1e-12)  # unit sentences: long ones do not dominate
    order = np.lexsort((cols, b.ids))
    crow = np.zeros(v + 1, dtype=np.int64)
    np.cumsum(np.bincount(b.ids, minlength=v), out=crow[1:])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        x = torch.sparse_csr_tensor(
            torch.from_numpy(crow),
            torch.from_numpy(cols[order]),
            torch.from_numpy(vals[order].astype(np.float32)),
            size=(v, n),
            check_invariants=True,
        )
        xt = x.t().to_sparse_csr()
    k = min(q + 8, n)
    y = x @ torch.randn(n, k, generator=gen)
    for _ in range(2):  # power iterations sharpen the spectrum
        y = torch.linalg.qr(y).Q
        y = x @ torch.linalg.qr(xt @ y).Q
    basis = torch.linalg.qr(y).Q  # v x k
    small = (xt @ basis).T  # k x n
    u_s, s, _vt = torch.linalg.svd(small, full_matrices=False)
    u = (basis @ u_s)[:, :q] * s[:q].sqrt()
    signs = torch.sign(u.sum(dim=0))
    u = u * torch.where(signs == 0, torch.ones_like(signs), signs)  # deterministic component signs
    if q < d:
        u = torch.cat([u, torch.zeros(v, d - q)], dim=1)
    u = u / u.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return np.ascontiguousarray(u.numpy(), dtype=np.float32)
