"""Any sentence-transformers model already on disk, loaded strictly offline, with the right query prefix.

>>> e = PretrainedEmbedder("BAAI/bge-small-zh-v1.5")                 # doctest: +SKIP
>>> e.embed(["讨回欠薪"], query=True).shape                             # doctest: +SKIP
(1, 512)

``HF_HUB_OFFLINE=1`` and ``TRANSFORMERS_OFFLINE=1`` are set before anything is loaded, and
models are opened with ``local_files_only=True``: a model that is not on disk is a clear
``ModelNotOnDisk`` error, never a download. Query / passage prefixes follow each model
family's instructions (https://sbert.net/examples/sentence_transformer/applications/computing-embeddings/README.html#prompt-templates):

* ``BAAI/bge-*-zh*``: queries get ``为这个句子生成表示以用于检索相关文章：``, passages nothing
  (https://huggingface.co/BAAI/bge-small-zh-v1.5); ``bge-*-en*`` the English instruction;
* ``BAAI/bge-m3``: no instruction (https://huggingface.co/BAAI/bge-m3);
* ``intfloat/*e5*``: ``query: `` / ``passage: `` (https://huggingface.co/intfloat/multilingual-e5-small);
  ``*e5*-instruct``: an ``Instruct: ...\\nQuery: `` line for queries, nothing for passages;
* anything else: the model's own ``prompts`` ("query", and "document" / "passage" / "corpus")
  from its ``config_sentence_transformers.json``, if it defines them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.embed.base import _check_texts, l2_normalise

__all__ = ["ModelNotOnDisk", "PretrainedEmbedder", "prompts_for", "set_offline"]

BGE_ZH_QUERY = "为这个句子生成表示以用于检索相关文章："
BGE_EN_QUERY = "Represent this sentence for searching relevant passages: "
E5_INSTRUCT_QUERY = "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery: "


class ModelNotOnDisk(FileNotFoundError):
    """The embedding model is neither a local folder nor in the local Hugging Face cache."""


def set_offline() -> None:
    """Forbid Hugging Face downloads in this process (environment and already-imported constants).

    >>> set_offline(); os.environ["HF_HUB_OFFLINE"]
    '1'
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    # huggingface_hub reads HF_HUB_OFFLINE once, at import; if it is already imported, tell it too.
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True  # type: ignore[attr-defined]


def _looks_like_path(spec: str) -> bool:
    return (
        spec.startswith((".", "/", "~", "\\"))
        or os.sep in spec.strip("/").replace("/", "", 1)
        or spec.count("/") > 1
        or (len(spec) > 1 and spec[1] == ":")  # C:\models\...
    )


def resolve_model(spec: str) -> Path:
    """The local folder holding model ``spec`` (a path, or a hub name found in the local cache).

    Raises ``ModelNotOnDisk`` with what to do, instead of trying the network.
    """
    set_offline()
    path = Path(spec).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise ModelNotOnDisk(f"embedding model {spec!r} is a file, not a model folder")
    hint = (
        "Nothing is downloaded at run time (HF_HUB_OFFLINE=1): copy the model folder to disk and pass its path, "
        "or fetch it into the Hugging Face cache beforehand on a machine with network access "
        '(e.g. `hf download <name>`), or use the corpus-trained embedder ("corpus").'
    )
    if _looks_like_path(spec):
        raise ModelNotOnDisk(f"embedding model {spec!r} must be on disk, but there is no folder {path}. {hint}")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    candidates = [spec] if "/" in spec else [spec, f"sentence-transformers/{spec}"]
    for repo_id in candidates:
        try:
            return Path(snapshot_download(repo_id=repo_id, local_files_only=True))
        except (LocalEntryNotFoundError, FileNotFoundError, ValueError, OSError):
            continue
    from huggingface_hub.constants import HF_HUB_CACHE

    raise ModelNotOnDisk(
        f"embedding model {spec!r} must be on disk: it is not a local folder and not in the local "
        f"Hugging Face cache ({HF_HUB_CACHE}). {hint}"
    )


def prompts_for(name: str, model_prompts: dict[str, Any] | None = None) -> tuple[str, str]:
    """(query prefix, passage prefix) for a model called ``name``.

    >>> prompts_for("BAAI/bge-small-zh-v1.5")
    ('为这个句子生成表示以用于检索相关文章：', '')
    >>> prompts_for("BAAI/bge-m3")
    ('', '')
    >>> prompts_for("intfloat/multilingual-e5-small")
    ('query: ', 'passage: ')
    >>> prompts_for("my/model", {"query": "q: ", "document": "d: "})
    ('q: ', 'd: ')
    """
    n = name.lower().replace("_", "-")
    base = n.rstrip("/").split("/")[-1] if "/" in n else n
    tokens = set(base.replace(".", "-").split("-"))
    if "bge" in n:
        if "m3" in n:
            return "", ""
        if "-zh" in n or "zh-" in n:
            return BGE_ZH_QUERY, ""
        if "-en" in n or "en-" in n:
            return BGE_EN_QUERY, ""
    if "e5" in tokens or "multilingual-e5" in n or "/e5-" in n or base.startswith("e5-"):
        if "instruct" in n:
            return E5_INSTRUCT_QUERY, ""
        return "query: ", "passage: "
    prompts = {k: v for k, v in (model_prompts or {}).items() if isinstance(v, str) and v}
    query = prompts.get("query", "")
    passage = next((prompts[k] for k in ("document", "passage", "corpus") if k in prompts), "")
    return query, passage


class PretrainedEmbedder:
    """A sentence-transformers model from a local path or the local HF cache; never downloads.

    >>> e = PretrainedEmbedder("/models/bge-small-zh-v1.5")            # doctest: +SKIP
    >>> e.query_prefix                                                 # doctest: +SKIP
    '为这个句子生成表示以用于检索相关文章：'

    ``query_prefix`` / ``passage_prefix`` override the family defaults (see module doc).
    """

    def __init__(
        self,
        model: str,
        *,
        device: str = "cpu",
        batch_size: int = 32,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
    ) -> None:
        model = str(model)
        path = resolve_model(model)
        set_offline()
        from sentence_transformers import SentenceTransformer

        try:
            self.model = SentenceTransformer(str(path), device=device, local_files_only=True, trust_remote_code=False)
        except OSError as e:  # incomplete folder (missing weights, tokenizer...)
            raise ModelNotOnDisk(f"embedding model {model!r} at {path} could not be loaded offline: {e}") from e
        self.name = model
        self.path = path
        self.batch_size = batch_size
        q, p = prompts_for(f"{model} {path}", dict(getattr(self.model, "prompts", {}) or {}))
        self.query_prefix = q if query_prefix is None else query_prefix
        self.passage_prefix = p if passage_prefix is None else passage_prefix
        dim = self.model.get_embedding_dimension()
        if dim is None:
            dim = int(self._encode(["维度"], "").shape[1])
        self.dim = int(dim)

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        out = self.model.encode(
            texts,
            prompt=prompt,  # explicit, so a saved default_prompt_name cannot sneak in
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32)

    def embed(self, texts: Sequence[str], *, query: bool = False) -> np.ndarray:
        items = _check_texts(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(self._encode(items, self.query_prefix if query else self.passage_prefix))

    def __repr__(self) -> str:
        return f"PretrainedEmbedder({self.name!r}, dim={self.dim})"
