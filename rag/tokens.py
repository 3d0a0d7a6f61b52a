"""Token counting with tiktoken, offline.

tiktoken downloads its BPE files on first use; that cannot happen here. Installed
packages that carry the files are used instead, looked up in this order:

1. ``RAG_TIKTOKEN_DIR`` or ``TIKTOKEN_CACHE_DIR`` (a folder in tiktoken's cache layout:
   the file is named by the SHA-1 of its download URL);
2. the copy bundled in the ``litellm`` package (``litellm_core_utils/tokenizers``),
   found without importing litellm.

>>> count_tokens("职工医疗互助金3234万元") > 0
True
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tiktoken

_URLS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}
_lock = threading.Lock()


class TokenizerUnavailable(RuntimeError):
    """No offline copy of the tiktoken encoding file could be found."""


def _candidate_dirs() -> list[Path]:
    dirs = [Path(p) for p in (os.environ.get("RAG_TIKTOKEN_DIR"), os.environ.get("TIKTOKEN_CACHE_DIR")) if p]
    spec = importlib.util.find_spec("litellm")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            dirs.append(Path(loc) / "litellm_core_utils" / "tokenizers")
    return dirs


def find_encoding_dir(name: str) -> Path:
    """The folder holding the cached BPE file for encoding ``name``."""
    if name not in _URLS:
        raise ValueError(f"unknown tiktoken encoding {name!r}; choose one of {sorted(_URLS)}")
    key = hashlib.sha1(_URLS[name].encode()).hexdigest()
    searched = _candidate_dirs()
    for d in searched:
        if (d / key).is_file():
            return d
    raise TokenizerUnavailable(
        f"tiktoken encoding {name!r} is not available offline: no file {key} in "
        f"{[str(d) for d in searched] or 'any known folder'}. Install the project's dependencies "
        "(litellm carries the file) or point RAG_TIKTOKEN_DIR at a folder that holds it."
    )


@lru_cache(maxsize=4)
def get_encoding(name: str = "cl100k_base") -> tiktoken.Encoding:
    """The tiktoken encoding ``name``, loaded from an installed offline copy."""
    import tiktoken

    folder = find_encoding_dir(name)
    with _lock:
        old = os.environ.get("TIKTOKEN_CACHE_DIR")
        os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)
        try:
            return tiktoken.get_encoding(name)
        finally:
            if old is None:
                os.environ.pop("TIKTOKEN_CACHE_DIR", None)
            else:
                os.environ["TIKTOKEN_CACHE_DIR"] = old


def count_tokens(text: str, encoding: str = "cl100k_base") -> int:
    """Number of tiktoken tokens in ``text``."""
    return len(get_encoding(encoding).encode(text, disallowed_special=()))
