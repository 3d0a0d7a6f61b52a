"""tiktoken works offline from an installed copy, and says clearly when there is none."""

from __future__ import annotations

import hashlib
import importlib.util

import pytest

from rag import tokens


def test_count_tokens_offline():
    assert tokens.count_tokens("职工医疗互助金3234万元") > 0
    assert tokens.count_tokens("") == 0
    enc = tokens.get_encoding("cl100k_base")
    assert enc.decode(enc.encode("工会")) == "工会"


def test_clear_error_without_an_offline_copy(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_TIKTOKEN_DIR", str(tmp_path))
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(tokens.TokenizerUnavailable) as e:
        tokens.find_encoding_dir("cl100k_base")
    msg = str(e.value)
    assert "not available offline" in msg and "RAG_TIKTOKEN_DIR" in msg and str(tmp_path) in msg


def test_unknown_encoding_is_named():
    with pytest.raises(ValueError, match="p50k_edit"):
        tokens.find_encoding_dir("p50k_edit")


def test_env_folder_is_used_first(monkeypatch, tmp_path):
    real = tokens.find_encoding_dir("cl100k_base")
    key = hashlib.sha1(tokens._URLS["cl100k_base"].encode()).hexdigest()
    (tmp_path / key).write_bytes((real / key).read_bytes())
    monkeypatch.setenv("RAG_TIKTOKEN_DIR", str(tmp_path))
    assert tokens.find_encoding_dir("cl100k_base") == tmp_path
