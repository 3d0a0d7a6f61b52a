"""Dense text embedders behind one protocol: corpus-trained, pretrained (offline), hashing.

>>> from rag.embed import load_embedder
>>> e = load_embedder("hashing", None)
>>> e.embed(["职工医疗互助金"]).shape
(1, 256)

``load_embedder(spec, index_dir)`` maps the ``embedding_model`` setting to an embedder:
"corpus" -> ``CorpusEmbedder.load(index_dir / "embedder")`` (trained at ingest),
"none" -> None (dense retrieval off), "hashing" -> ``HashingEmbedder()``, anything else
-> ``PretrainedEmbedder(spec)`` (a local path or a name in the local Hugging Face cache).
torch and sentence-transformers are imported only when a model is trained or loaded.
"""

from __future__ import annotations

from pathlib import Path

from rag.embed.base import Embedder, HashingEmbedder, l2_normalise
from rag.embed.corpus import CorpusEmbedder, TrainConfig
from rag.embed.pretrained import ModelNotOnDisk, PretrainedEmbedder

__all__ = [
    "EMBEDDER_DIR",
    "CorpusEmbedder",
    "Embedder",
    "HashingEmbedder",
    "ModelNotOnDisk",
    "PretrainedEmbedder",
    "TrainConfig",
    "l2_normalise",
    "load_embedder",
]

EMBEDDER_DIR = "embedder"  # sub-folder of the index holding the corpus embedder


def load_embedder(spec: str, index_dir: Path | str | None) -> Embedder | None:
    """The embedder named by ``spec`` ("corpus", "none", "hashing" or a model path / name).

    >>> load_embedder("none", None) is None
    True
    >>> load_embedder("hashing", None).dim
    256
    """
    key = (spec or "").strip()
    low = key.lower()
    if low in {"", "none", "off", "false"}:
        return None
    if low == "hashing":
        return HashingEmbedder()
    if low == "corpus":
        if index_dir is None:
            raise ValueError('embedding model "corpus" is trained into the index; pass index_dir')
        return CorpusEmbedder.load(Path(index_dir) / EMBEDDER_DIR)
    return PretrainedEmbedder(key)
