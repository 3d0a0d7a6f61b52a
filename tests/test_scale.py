"""The pieces that keep a big index on one machine: lazy records, the segmenter backend an
index records, bulk work in processes, the dense index chosen and measured by size."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from rag import Assistant
from rag.build import build_index
from rag.parallel import map_slices
from rag.records import Chunk
from rag.records_db import ChunkTable
from rag.retrieval.dense import DenseIndex
from rag.settings import Settings

GENRES = {
    "bulletin.txt": "2023年临江市统计公报\n\n一、综合\n\n全市地区生产总值865.3亿元，比上年增长5.2%。年末常住人口182.6万人。\n\n"
    "二、农业\n\n全年粮食产量41.2万吨，比上年增长1.1%。\n",
    "report.txt": "华信精密科技股份有限公司2023年年度报告\n\n一、经营情况\n\n公司实现营业收入12.8亿元，同比增长15.2%。"
    "研发投入1.1亿元。\n\n二、员工\n\n公司共有员工2360人，其中研发人员410人。\n",
    "rule.txt": "临江市养犬管理条例\n\n第一条 为了规范养犬行为，制定本条例。\n\n第二条 携犬出户时，应当束犬链，犬链长度不得超过1.5米。\n",
    "wiki.txt": "中国大鲵\n\n中国大鲵，俗称娃娃鱼，是现存最大的两栖动物，体长可达1.8米。它生活在山区清澈的溪流中。\n",
}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale")
    for name, text in GENRES.items():
        (root / name).write_text(text, encoding="utf-8")
    build_index([root / n for n in GENRES], root / "index", Settings(fusion_fit=False))
    return root / "index"


def test_chunk_to_dict_keeps_every_field():
    c = Chunk("a", "d", "s.txt", "题", ("一", "二"), "正文", 3, 5, 2, {"place": "临江市"})
    assert set(c.to_dict()) == {f.name for f in dataclasses.fields(Chunk)}
    assert Chunk.from_dict(json.loads(json.dumps(c.to_dict()))) == c


def test_loaded_chunks_are_read_lazily_and_equal_the_built_ones(index):
    from rag.store import current_version, read_records

    a = Assistant.load(index, Settings())
    assert isinstance(a.data.chunks, ChunkTable)
    _, _, eager = read_records(current_version(index))
    assert list(a.data.chunks) == eager
    assert [c.id for c in a.data.chunk_rows([2, 0, 2])] == [eager[2].id, eager[0].id, eager[2].id]
    assert a.data.chunk_by_id(eager[1].id) == eager[1] and a.data.chunk_by_id("nope") is None
    assert a.data.chunks[-1] == eager[-1]
    with pytest.raises(IndexError):
        a.data.chunks[len(eager)]
    sources, doc_ids, titles = a.data.row_columns()
    assert list(sources) == [c.source for c in eager] and list(doc_ids) == [c.doc_id for c in eager]
    assert list(titles) == [c.title for c in eager]
    assert a.source_text("wiki.txt").startswith("中国大鲵")


def test_filters_by_source_and_title_work_on_the_lazy_columns(index):
    a = Assistant.load(index, Settings())
    assert {p.source for p in a.retrieve("增长", k=5, sources=["report.txt"])} == {"report.txt"}
    assert {p.source for p in a.retrieve("增长", k=5, titles=["统计公报"])} == {"bulletin.txt"}


def test_the_index_records_its_segmenter_and_queries_use_it(index):
    from rag.store import current_version
    from rag.zh import default_backend

    cfg = json.loads((current_version(index) / "bm25" / "tokenizer.json").read_text(encoding="utf-8"))
    assert cfg["backend"] == default_backend()
    assert Assistant.load(index, Settings()).data.bm25.tokenizer.backend == cfg["backend"]


def test_an_index_without_a_recorded_backend_is_read_with_python_jieba(index, tmp_path):
    import shutil

    from rag.retrieval.lexical import BM25Index
    from rag.store import current_version

    folder = tmp_path / "bm25"
    shutil.copytree(current_version(index) / "bm25", folder)
    cfg = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    del cfg["backend"]
    (folder / "tokenizer.json").write_text(json.dumps(cfg, ensure_ascii=False), encoding="utf-8")
    assert BM25Index.load(folder).tokenizer.backend == "jieba"


def test_the_dense_choice_is_in_the_manifest(index):
    a = Assistant.load(index, Settings())
    assert a.data.manifest["dense"]["kind"] == "flat"
    assert set(a.data.manifest["integrity"]) >= {"records.sqlite", "dense/vectors.npy"}


def test_an_approximate_index_reaches_its_measured_recall_and_reloads_with_it(tmp_path):
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(40, 32)).astype(np.float32)
    v = centers[rng.integers(0, 40, 6000)] + 0.5 * rng.normal(size=(6000, 32)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    for kind in ("ivf", "hnsw"):
        ix = DenseIndex.build(v, exact_max=1000, kind=kind, target_recall=0.9)
        info = ix.describe()
        assert info["kind"] == kind and info["recall@10"] >= 0.9
        ix.save(tmp_path / kind)
        again = DenseIndex.load(tmp_path / kind, info)
        assert [r for r, _ in again.search(v[5], 10)] == [r for r, _ in ix.search(v[5], 10)]
    with pytest.raises(ValueError, match="dense index kind"):
        DenseIndex.build(v, kind="lsh")


def test_work_split_over_processes_gives_the_same_results_in_order():
    data = [f"第{i}段" for i in range(5000)]
    seen: list[int] = []

    def job(lo: int, hi: int) -> list[str]:
        return [t[::-1] for t in data[lo:hi]]

    out = map_slices(job, len(data), workers=2, min_items=100, progress=lambda d, n: seen.append(d))
    assert out == [t[::-1] for t in data]
    assert seen[-1] == len(data) and seen == sorted(seen)


def test_settings_for_scale_are_validated():
    for bad in ({"dense_index": "lsh"}, {"ann_recall_target": 1.5}, {"ingest_workers": -1}, {"verify_index": "some"}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            Settings(**bad)
