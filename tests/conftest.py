"""Shared fixtures: the seed corpus parsed once, and small indexes built once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    from tests.llm_server import ScriptedLLMServer
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from llm_server import ScriptedLLMServer  # type: ignore[no-redef]

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


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedLLMServer]:
    """A local OpenAI-compatible HTTP server whose replies the test scripts."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # a proxy in the environment must not catch it
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    srv = ScriptedLLMServer().start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(autouse=True)
def _no_rag_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see the defaults: any ``RAG_*`` variable of the developer's shell is cleared."""
    import os

    for name in list(os.environ):
        if name.startswith("RAG_"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def served_index(tmp_path_factory, full_index) -> Path:
    """A private copy of the seeds index for tests that upload and delete through the server."""
    import shutil

    folder = tmp_path_factory.mktemp("idx_served") / "index"
    shutil.copytree(full_index, folder)
    return folder


@pytest.fixture(scope="session")
def live_server(served_index):
    """``rag serve``'s app on a free loopback port, for the whole session: (base URL, Service)."""
    try:
        from tests.ui_server import LiveServer
    except ImportError:
        from ui_server import LiveServer  # type: ignore[no-redef]
    from ui.service import Service

    service = Service(served_index)
    service.assistant().warm_up()
    with LiveServer(served_index, service=service) as srv:
        yield srv
