"""The VectorStore contract, run over every implementation; sync, StoreRetriever, open_store.

Backends: (a) the in-folder FAISS + bm25s store, (b) Milvus Lite on a ``.db`` file in
``tmp_path``, (c) a Milvus Lite *server* started here as a subprocess
(``milvus-lite server``), reached over ``http://`` like a real Milvus server.

The corpus is a handful of chunks of different genres (a company report, a regulation,
an encyclopedia entry, a statistics bulletin, a weather warning, a recipe), written
here; vectors come from hashed character bigrams, so a near-duplicate text is the
nearest vector. Assertions are on ranks, never on score values (Milvus Lite reports
BM25 scores negated, servers do not).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from rag.embed.base import HashingEmbedder
from rag.records import Chunk
from rag.settings import Settings
from rag.vectorstore import StoreRetriever, StoreRow, VectorStore, collection_name, open_store, store_rows, sync

EMBED = HashingEmbedder(dim=256, ngram_range=(2, 2))
REG_SOURCE = '社会保险条例"征求意见稿".txt'  # a quote in a file name: the filter must escape it

# (chunk id, source, doc id, text)
CORPUS = [
    (
        "report-1",
        "星河科技2024年报.txt",
        "doc-report",
        "星河科技股份有限公司2024年实现营业收入12.6亿元，同比增长8.3%，归属于上市公司股东的净利润1.1亿元。",
    ),
    (
        "report-2",
        "星河科技2024年报.txt",
        "doc-report",
        "报告期内公司研发投入1.2亿元，占营业收入的比例为9.5%，新增发明专利授权37项。",
    ),
    (
        "reg-1",
        REG_SOURCE,
        "doc-reg",
        "第十二条 用人单位应当依法为劳动者缴纳社会保险费，不得以任何理由拖欠。违反本条规定的，由行政部门责令限期缴纳。",
    ),
    (
        "wiki-1",
        "百科·中国大鲵.txt",
        "doc-wiki",
        "中国大鲵俗称娃娃鱼，是现存最大的两栖动物，与蝾螈同属有尾目，主要栖息在山区溪流的洞穴中。",
    ),
    (
        "stats-1",
        "2023年统计公报.txt",
        "doc-stats",
        "2023年末全市常住人口为356.2万人，比上年末增加2.1万人；城镇化率达到68.4%，全年粮食总产量为142.7万吨。",
    ),
    (
        "weather-1",
        "气象预警.txt",
        "doc-weather",
        "市气象台发布暴雨蓝色预警，预计未来24小时内东南部地区将出现强降水，局地伴有雷电和短时大风。",
    ),
    (
        "recipe-1",
        "家常菜谱.txt",
        "doc-recipe",
        "将五花肉切块焯水，加入冰糖炒出糖色，再放入八角、桂皮和生抽，小火慢炖四十分钟即可出锅。",
    ),
]
RARE_WORD = "蝾螈"  # only in wiki-1
# stats-1 with a few characters changed: the dense query
NEAR_DUP = "2023年末全市常住人口约为356万人，比上年末增加2万人；城镇化率达到68%，全年粮食总产量为142万吨。"


def rows(ids: list[str] | None = None) -> list[StoreRow]:
    picked = [c for c in CORPUS if ids is None or c[0] in ids]
    vecs = EMBED.embed([c[3] for c in picked])
    return [StoreRow(cid, text, src, doc, vecs[i]) for i, (cid, src, doc, text) in enumerate(picked)]


def vec(text: str) -> np.ndarray:
    return EMBED.embed([text], query=True)[0]


def ranked(store: VectorStore, query: str, vector: np.ndarray | None, k: int, **kw) -> list[str]:
    return [cid for cid, _ in store.search(query, vector, k, **kw)]


# ---------------------------------------------------------------------------- backends
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def lite_server(tmp_path_factory) -> Iterator[str]:
    """``milvus-lite server`` in a subprocess on a free loopback port; its http:// URI.

    Ready when the port accepts connections; terminated (then killed) at teardown.
    """
    data = tmp_path_factory.mktemp("milvus_server")
    port = _free_port()
    # `milvus-lite server` (the console script) is `python -m milvus_lite server`
    cmd = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data), "--host", "127.0.0.1"]
    cmd += ["--port", str(port)]
    log = open(data / "server.log", "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"milvus-lite server exited with {proc.returncode}: {(data / 'server.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"milvus-lite server not listening on {port} after 60 s")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


Opener = Callable[[], VectorStore]


@pytest.fixture(
    params=[
        "faiss",
        pytest.param("milvus-lite", marks=pytest.mark.slow),
        pytest.param("milvus-server", marks=pytest.mark.slow),
    ]
)
def opener(request, tmp_path) -> Iterator[Opener]:
    """A function opening the store under test at one fixed place; each call is a new client.

    For Milvus Lite the in-process server of the ``.db`` file is stopped before a reopen,
    so the new client reads what was written to disk, not the old process's memory.
    """
    opened: list[VectorStore] = []
    if request.param == "faiss":
        from rag.vectorstore.faiss_store import FaissStore

        def make() -> VectorStore:
            return FaissStore(path=tmp_path / "faiss", rrf_k=60, candidates=50)
    elif request.param == "milvus-lite":
        from milvus_lite.server_manager import server_manager_instance

        from rag.vectorstore.milvus_store import MilvusStore

        db = str(tmp_path / "lite.db")

        def make() -> VectorStore:
            if opened:
                opened[-1].close()
                server_manager_instance.release_server(db)
            return MilvusStore(db, "contract", dim=EMBED.dim, rrf_k=60, candidates=50)
    else:
        from rag.vectorstore.milvus_store import MilvusStore

        uri = request.getfixturevalue("lite_server")
        name = "contract_" + request.node.name.split("[")[0].removeprefix("test_")

        def make() -> VectorStore:
            if opened:
                opened[-1].close()
            return MilvusStore(uri, name, token="root:Milvus", dim=EMBED.dim, rrf_k=60, candidates=50)

    def tracked() -> VectorStore:
        store = make()
        opened.append(store)
        return store

    yield tracked
    for s in opened:
        with contextlib.suppress(Exception):  # the reopen test closed some already
            s.close()
    if request.param == "milvus-lite":
        server_manager_instance.release_server(db)


@pytest.fixture
def store(opener) -> VectorStore:
    s = opener()
    s.add(rows())
    return s


# ---------------------------------------------------------------------------- the contract
class TestContract:
    def test_add_count_and_upsert(self, opener):
        s = opener()
        assert isinstance(s, VectorStore)
        assert s.count() == 0
        s.add(rows())
        assert s.count() == len(CORPUS)
        s.add(rows(["reg-1", "wiki-1"]))  # the same ids again replace, never duplicate
        assert s.count() == len(CORPUS)
        assert s.ids() == {c[0] for c in CORPUS}

    def test_lexical_finds_the_rare_word_first(self, store):
        assert ranked(store, RARE_WORD, None, 3, mode="lexical")[0] == "wiki-1"
        assert ranked(store, "社会保险费拖欠", None, 3, mode="lexical")[0] == "reg-1"
        # a word of no chunk finds nothing, rather than arbitrary rows
        assert ranked(store, "量子纠缠", None, 3, mode="lexical") == []

    def test_dense_finds_the_near_duplicate_first(self, store):
        top = ranked(store, "", vec(NEAR_DUP), 3, mode="dense")
        assert top[0] == "stats-1"
        assert len(top) == 3
        with pytest.raises(ValueError, match="dense"):
            store.search("x", None, 3, mode="dense")

    def test_hybrid_holds_both(self, store):
        top = ranked(store, RARE_WORD, vec(NEAR_DUP), 2)
        assert set(top) == {"wiki-1", "stats-1"}
        # with no usable vector hybrid is lexical alone
        assert ranked(store, RARE_WORD, np.zeros(EMBED.dim, dtype=np.float32), 3)[0] == "wiki-1"

    def test_sources_filter(self, store):
        # "营业收入" is in both report chunks; restricted to the regulation file neither may come back
        assert set(ranked(store, "营业收入", None, 5, mode="lexical")) == {"report-1", "report-2"}
        assert ranked(store, "营业收入", None, 5, mode="lexical", sources=[REG_SOURCE]) == []
        assert ranked(store, "缴纳社会保险费", None, 5, mode="lexical", sources=[REG_SOURCE]) == ["reg-1"]
        dense = ranked(store, "", vec(NEAR_DUP), 5, mode="dense", sources=["家常菜谱.txt", REG_SOURCE])
        assert set(dense) == {"recipe-1", "reg-1"}
        hybrid = ranked(store, RARE_WORD, vec(NEAR_DUP), 5, sources={"百科·中国大鲵.txt"})
        assert hybrid == ["wiki-1"]
        assert ranked(store, RARE_WORD, vec(NEAR_DUP), 5, sources=[]) == []

    def test_delete_removes(self, store):
        store.delete(["wiki-1", "not-there"])
        assert store.count() == len(CORPUS) - 1
        assert "wiki-1" not in store.ids()
        assert ranked(store, RARE_WORD, None, 3, mode="lexical") == []
        assert "wiki-1" not in ranked(store, RARE_WORD, vec(NEAR_DUP), 10)

    def test_reopen_gives_the_same_ranks(self, opener):
        s = opener()
        s.add(rows())
        s.delete(["recipe-1"])
        queries = [
            ("营业收入 研发投入", None, "lexical"),
            ("", vec(NEAR_DUP), "dense"),
            (RARE_WORD + " 人口", vec("粮食总产量和常住人口"), "hybrid"),
        ]
        before = [ranked(s, q, v, 4, mode=m) for q, v, m in queries]
        again = opener()  # a new client on the same place (the old one is closed)
        assert again.count() == len(CORPUS) - 1
        assert [ranked(again, q, v, 4, mode=m) for q, v, m in queries] == before
        assert all(before), before

    def test_bad_arguments_name_the_value(self, store):
        with pytest.raises(ValueError, match="'fuzzy'"):
            store.search("x", None, 3, mode="fuzzy")
        with pytest.raises(ValueError, match="3 dimensions"):
            store.search("x", np.ones(3, dtype=np.float32), 3, mode="dense")
        with pytest.raises(ValueError, match="'report-1'"):
            store.add([StoreRow("report-1", "x", "a.txt", "d", np.ones(8, dtype=np.float32))])


# ---------------------------------------------------------------------------- sync, retriever, factory
def _chunks() -> list[Chunk]:
    titles = {"doc-report": "星河科技2024年年度报告", "doc-reg": "社会保险条例", "doc-wiki": "中国大鲵"}
    return [
        Chunk(cid, doc, src, titles.get(doc, src.removesuffix(".txt")), (), text, 0, len(text), len(text))
        for cid, src, doc, text in CORPUS
    ]


def _data(chunks: list[Chunk]):
    from rag.retrieval.dense import DenseIndex
    from rag.retrieval.lexical import BM25Index
    from rag.retrieval.tokenize import Tokenizer
    from rag.store import IndexData

    texts = [c.index_text for c in chunks]
    bm25 = BM25Index.build(texts, Tokenizer())
    dense = DenseIndex.build(EMBED.embed(texts))
    manifest = {"embedding_model": "hashing", "embedder": {"dim": EMBED.dim}}
    return IndexData(manifest, {}, [], chunks, bm25, dense, EMBED, None)


def test_sync_sends_only_the_difference():
    from rag.vectorstore.faiss_store import FaissStore

    calls: list[list[str]] = []

    class Recording(FaissStore):
        def add(self, rows):
            calls.append([r.chunk_id for r in rows])
            super().add(rows)

    chunks = _chunks()
    store = Recording()
    first = store_rows(chunks[:5], EMBED.embed([c.index_text for c in chunks[:5]]))
    assert sync(store, first).added == 5
    calls.clear()
    later = store_rows(chunks[1:], EMBED.embed([c.index_text for c in chunks[1:]]))
    report = sync(store, later, removed_ids=[chunks[0].id])
    assert (report.added, report.deleted, report.kept) == (2, 1, 4)
    assert calls == [["weather-1", "recipe-1"]]
    assert store.ids() == {c.id for c in chunks[1:]}
    assert sync(store, later).added == 0  # nothing changed, nothing sent
    assert sync(store, later, refresh=True).added == 6  # e.g. after the embedder was retrained
    with pytest.raises(ValueError, match="both removed and kept"):
        sync(store, later, removed_ids=["wiki-1"])


@pytest.mark.slow
def test_store_retriever_on_milvus_lite(tmp_path):
    from milvus_lite.server_manager import server_manager_instance

    from rag.vectorstore.milvus_store import MilvusStore

    chunks = _chunks()
    data = _data(chunks)
    settings = Settings(milvus_uri=str(tmp_path / "kb.db"))
    store = open_store(settings, tmp_path / "my index", data)
    try:
        assert isinstance(store, MilvusStore) and store.collection == "rag_my_index_" + store.collection[-8:]
        assert store.dim == EMBED.dim  # from the manifest
        report = sync(store, store_rows(chunks, EMBED.embed([c.index_text for c in chunks])))
        assert report.added == len(chunks) and store.count() == len(chunks)
        r = StoreRetriever(store, data, EMBED, settings)
        assert r.mode() == "hybrid"
        hits = r.search("娃娃鱼和蝾螈是什么关系？", k=3)
        assert hits[0].id == "wiki-1" and hits[0].title == "中国大鲵" and hits[0].source == "百科·中国大鲵.txt"
        assert r.search("研发投入", k=2, sources=[REG_SOURCE])[0].id == "reg-1"  # the only file allowed
        assert [p.id for p in r.search("营业收入", k=3, titles=["年度报告"])] in (
            ["report-1", "report-2"],
            ["report-2", "report-1"],
        )
        assert r.search("营业收入", k=3, titles=["没有这个标题"]) == []
        assert r.missing == 0
    finally:
        store.close()
        server_manager_instance.release_server(settings.milvus_uri)


def test_open_store_default_is_the_in_folder_store(tmp_path):
    from rag.vectorstore.faiss_store import FaissStore

    chunks = _chunks()
    data = _data(chunks)
    data.dense.vectors.flags.writeable = False  # as when loaded from disk (a read-only memory map)
    store = open_store(Settings(), tmp_path, data)
    assert isinstance(store, FaissStore) and store.count() == len(chunks)
    assert store._bm25 is data.bm25 and store._dense is data.dense  # wrapped, not rebuilt
    assert ranked(store, RARE_WORD, None, 1, mode="lexical") == ["wiki-1"]
    # an update of the wrapped index: the row replaced keeps its place, the rebuild sees it
    store.add([StoreRow("wiki-1", "恐龙化石", "百科·中国大鲵.txt", "doc-wiki", vec("恐龙化石"))])
    store.delete(["recipe-1"])
    assert store.count() == len(chunks) - 1
    assert ranked(store, RARE_WORD, None, 1, mode="lexical") == []
    assert ranked(store, "", vec("恐龙化石"), 1, mode="dense") == ["wiki-1"]


def test_milvus_settings_are_validated(tmp_path):
    assert Settings.from_env({"RAG_MILVUS_URI": "http://db:19530", "RAG_MILVUS_TOKEN": "u:p"}).milvus_token == "u:p"
    with pytest.raises(ValueError, match="milvus_collection='9-lives'"):
        Settings(milvus_collection="9-lives")
    with pytest.raises(ValueError, match="milvus_uri='db:19530'"):
        Settings(milvus_uri="db:19530")
    assert collection_name(Settings(), tmp_path / "知识库").startswith("rag_")
    assert collection_name(Settings(), tmp_path / "知识库") != collection_name(Settings(), tmp_path / "百科")
