"""Shared fixtures: the seed corpus parsed once, and small indexes built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DEV_QA = ROOT / "eval" / "datasets" / "dev_qa.jsonl"


@pytest.fixture(scope="session")
def seed_files() -> list[Path]:
    files = sorted(SEEDS.glob("*.txt"))
    assert files, f"no seed files in {SEEDS}"
    return files


@pytest.fixture(scope="session")
def parsed_seeds(seed_files):
    from rag.ingest.pipeline import parse_file

    return {f.name: parse_file(f) for f in seed_files}


@pytest.fixture(scope="session")
def bm25_index(tmp_path_factory, seed_files) -> Path:
    """The seeds indexed without dense vectors (fast)."""
    from rag.build import build_index
    from rag.settings import Settings

    folder = tmp_path_factory.mktemp("idx_bm25")
    build_index([SEEDS], folder, Settings(embedding_model="none"))
    return folder


@pytest.fixture(scope="session")
def full_index(tmp_path_factory, seed_files) -> Path:
    """The seeds indexed with the default settings (BM25 + corpus-trained embedder)."""
    from rag.build import build_index
    from rag.settings import Settings

    folder = tmp_path_factory.mktemp("idx_full")
    build_index([SEEDS], folder, Settings())
    return folder
