"""Settings: defaults, RAG_* environment variables, flags, validation with named values."""

from __future__ import annotations

import pytest

from rag.settings import Settings


def test_env_overrides_defaults_and_flags_override_env():
    env = {"RAG_CHUNK_TOKENS": "400", "RAG_LLM": "openai:deepseek-chat", "RAG_DENSE_WEIGHT": "0.7"}
    s = Settings.from_env(env)
    assert (s.chunk_tokens, s.llm, s.dense_weight) == (400, "openai:deepseek-chat", 0.7)
    assert Settings.from_env(env, chunk_tokens=250, top_k=None).chunk_tokens == 250
    assert Settings.from_env({}).chunk_tokens == Settings().chunk_tokens


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"chunk_tokens": 10}, "chunk_tokens"), ({"top_k": 0}, "top_k"), ({"dense_weight": -1.0}, "dense_weight")],
)
def test_bad_values_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Settings(**kwargs)


def test_bad_environment_value_is_named():
    with pytest.raises(ValueError, match="RAG_TOP_K='many'"):
        Settings.from_env({"RAG_TOP_K": "many"})


def test_fusion_weight_follows_the_embedder_unless_set():
    assert Settings().fusion_weight("corpus") == 0.3
    assert Settings().fusion_weight("/models/bge-small-zh-v1.5") == 1.0
    assert Settings(dense_weight=0.5).fusion_weight("/models/bge-small-zh-v1.5") == 0.5
