"""The index on disk: round trips, updates, atomic writes, clear errors, retriever contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rag.assistant import Assistant
from rag.build import build_index
from rag.settings import Settings
from rag.store import IndexFormatError, current_version

ROOT = Path(__file__).resolve().parent.parent

DOC_A = """铜仁市总工会2025年工作综述

全年发放职工医疗互助金3234万元，惠及职工2.4万人次。

组织劳动技能竞赛17场，覆盖职工2.4万人次。
"""
DOC_B = """安康市总工会工作综述

举办职工短视频大赛，征集作品438个，单条视频最高观看量突破百万。

建成户外劳动者服务站点120个。
"""


def _corpus(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.txt").write_text(DOC_A, encoding="utf-8")
    (d / "b.txt").write_bytes(DOC_B.encode("gbk"))
    return d


def test_build_load_search_roundtrip_in_new_process(tmp_path):
    docs = _corpus(tmp_path)
    idx = tmp_path / "idx"
    report = build_index([docs], idx, Settings(embedding_model="hashing"))
    assert report.written and report.documents == 2
    a = Assistant.load(idx)
    here = [(p.id, round(p.score, 6)) for p in a.retrieve("短视频大赛征集了多少作品", k=3)]
    assert a.retrieve("短视频大赛征集了多少作品", k=1)[0].source == "b.txt"
    code = (
        "import json,sys; from rag.assistant import Assistant; a=Assistant.load(sys.argv[1]);"
        "print(json.dumps([(p.id, round(p.score, 6)) for p in a.retrieve('短视频大赛征集了多少作品', k=3)]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(idx)], capture_output=True, text=True, check=True, cwd=ROOT, timeout=300
    )
    assert [tuple(x) for x in json.loads(out.stdout)] == here


def test_reingest_unchanged_changes_nothing_and_changed_file_replaces(tmp_path):
    docs = _corpus(tmp_path)
    idx = tmp_path / "idx"
    s = Settings(embedding_model="none")
    build_index([docs], idx, s)
    v1 = current_version(idx)
    r2 = build_index([docs], idx, s)
    assert not r2.written and current_version(idx) == v1 and sorted(r2.unchanged) == ["a.txt", "b.txt"]
    (docs / "a.txt").write_text(DOC_A.replace("3234万元", "4321万元"), encoding="utf-8")
    r3 = build_index([docs], idx, s)
    assert r3.updated == ["a.txt"] and r3.written
    texts = " ".join(p.text for p in Assistant.load(idx).passages())
    assert "4321万元" in texts and "3234万元" not in texts


def test_unreadable_file_is_skipped_and_nothing_is_lost(tmp_path):
    docs = _corpus(tmp_path)
    idx = tmp_path / "idx"
    s = Settings(embedding_model="none")
    build_index([docs], idx, s)
    before = {p.id for p in Assistant.load(idx).passages()}
    (docs / "a.txt").write_bytes(b"\x00\x01\x02" * 50)  # the file got corrupted on disk
    (docs / "c.pdf").write_bytes(b"%PDF-1.4 broken")
    report = build_index([docs], idx, s)
    reasons = dict(report.skipped)
    assert set(reasons) == {"a.txt", "c.pdf"} and "binary" in reasons["a.txt"]
    assert {p.id for p in Assistant.load(idx).passages()} == before


def test_crash_mid_ingest_keeps_previous_index(tmp_path, monkeypatch):
    import rag.build as build_mod

    docs = _corpus(tmp_path)
    idx = tmp_path / "idx"
    s = Settings(embedding_model="none")
    build_index([docs], idx, s)
    before = [p.id for p in Assistant.load(idx).passages()]
    (docs / "d.txt").write_text("新文件\n\n新建工会组织35家。\n", encoding="utf-8")

    def boom(*a, **k):
        raise RuntimeError("power cut")

    monkeypatch.setattr(build_mod, "write_records", boom)
    with pytest.raises(RuntimeError, match="power cut"):
        build_index([docs], idx, s)
    assert [p.id for p in Assistant.load(idx).passages()] == before
    assert not [p for p in idx.iterdir() if p.name.startswith("tmp-")]


def test_clear_errors_for_missing_or_mismatched_index(tmp_path):
    with pytest.raises(IndexFormatError, match="no index"):
        Assistant.load(tmp_path / "nowhere")
    docs = _corpus(tmp_path)
    idx = tmp_path / "idx"
    build_index([docs], idx, Settings(embedding_model="hashing"))
    with pytest.raises(IndexFormatError, match="built with embedding model 'hashing'"):
        Assistant.load(idx, Settings(embedding_model="/models/bge-small-zh"))
    live = current_version(idx)
    assert live is not None
    manifest = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
    manifest["format_version"] = 999
    (live / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexFormatError, match="format version 999"):
        Assistant.load(idx)


def test_no_pickle_files_in_index(tmp_path):
    docs = _corpus(tmp_path)
    idx = tmp_path / "idx"
    build_index([docs], idx, Settings(embedding_model="hashing"))
    for p in idx.rglob("*"):
        if p.is_file():
            assert p.suffix not in {".pkl", ".pickle", ".pt", ".bin"}, p
            if p.suffix == ".npy":
                import numpy as np

                np.load(p, allow_pickle=False)  # raises if the array needs pickle


def test_empty_question_is_an_error(bm25_index):
    a = Assistant.load(bm25_index)
    for q in ["", "   \n"]:
        with pytest.raises(ValueError, match="empty"):
            a.retrieve(q)
    long_q = "铜仁" * 2000
    assert isinstance(a.retrieve(long_q), list)


# ------------------------------------------------------------- retriever contract


def _retrievers(path: Path):
    from rag.retrieval.retrievers import DenseRetriever, HybridRetriever, LexicalRetriever

    a = Assistant.load(path)
    return {
        "lexical": LexicalRetriever(a.data),
        "dense": DenseRetriever(a.data),
        "hybrid": HybridRetriever(a.data, a.settings),
    }


@pytest.mark.parametrize("name", ["lexical", "dense", "hybrid"])
def test_retriever_contract(full_index, name):
    from rag.retrieval.retrievers import Retriever

    r = _retrievers(full_index)[name]
    assert isinstance(r, Retriever)
    q = "拉萨全市建立了多少个基层工会组织？会员总数是多少？"
    hits = r.search(q, 5)
    assert 1 <= len(hits) <= 5
    assert all(hits[i].score >= hits[i + 1].score for i in range(len(hits) - 1))
    assert len({h.id for h in hits}) == len(hits)
    assert any("拉萨" in h.title for h in hits)
    # filters restrict the results to the named source / title
    only = r.search(q, 5, titles=["铜仁"])
    assert only and all("铜仁" in h.title for h in only)
    src = r.search(q, 5, sources=["004_2282861e8734a6f4.txt"])
    assert src and all(h.source == "004_2282861e8734a6f4.txt" for h in src)
    assert r.search(q, 5, sources=["nope.txt"]) == []
    # deterministic
    assert [h.id for h in r.search(q, 5)] == [h.id for h in hits]


def test_comparison_question_gets_both_sides(bm25_index):
    a = Assistant.load(bm25_index)
    hits = a.retrieve("铜仁市级层面举办的职业技能竞赛，2024年和2025年分别有多少场？", k=5)
    titles = {h.source for h in hits}
    assert {"000_5079e179db016442.txt", "001_3d701cba30aa6f48.txt"} <= titles


def test_split_comparison():
    from rag.retrieval.retrievers import split_comparison

    assert split_comparison("济南和许昌的建会企业集体协商建制率分别保持在多少？") == [
        "济南的建会企业集体协商建制率分别保持在多少？",
        "许昌的建会企业集体协商建制率分别保持在多少？",
    ]
    assert split_comparison("拉萨全市建立了多少个基层工会组织？") == ["拉萨全市建立了多少个基层工会组织？"]


def test_near_duplicates_are_dropped():
    from rag.retrieval.retrievers import dedup

    t = "全年发放职工医疗互助金3234万元，惠及职工2.4万人次。"
    assert dedup([1, 2, 3], [t, t + "另有说明。", "完全不同的一段文字内容在这里。"], k=3) == [1, 3]


def test_langchain_retriever(bm25_index):
    from langchain_core.retrievers import BaseRetriever

    a = Assistant.load(bm25_index)
    r = a.as_retriever(k=3)
    assert isinstance(r, BaseRetriever)
    docs = r.invoke("拉萨全市建立了多少个基层工会组织？")
    assert len(docs) == 3 and "拉萨" in docs[0].metadata["title"]


def test_cli_ingest_search_docs(tmp_path):
    from rag.cli import main

    docs = _corpus(tmp_path)
    idx = tmp_path / "idx"
    assert main(["ingest", str(docs), "--index", str(idx), "--embedding-model", "none", "-q"]) == 0
    assert main(["search", "短视频大赛征集了多少作品", "--index", str(idx), "-k", "2"]) == 0
    assert main(["docs", "--index", str(idx)]) == 0
    assert main(["search", " ", "--index", str(idx)]) == 2
    assert main(["search", "x", "--index", str(tmp_path / "missing")]) == 2


def test_hnsw_above_threshold():
    import numpy as np

    from rag.retrieval.dense import DenseIndex

    rng = np.random.default_rng(0)
    v = rng.normal(size=(500, 32)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    exact = DenseIndex.build(v, exact_max=1000)
    approx = DenseIndex.build(v, exact_max=100)
    assert exact.exact and not approx.exact
    q = v[7]
    assert exact.search(q, 1)[0][0] == 7 and approx.search(q, 1)[0][0] == 7


def test_concurrent_ingests_do_not_corrupt_the_index(tmp_path):
    import threading

    docs = _corpus(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "c.txt").write_text("泉州市工会工作\n\n建成职工服务驿站300个。\n", encoding="utf-8")
    idx = tmp_path / "idx"
    s = Settings(embedding_model="none")
    errors: list[BaseException] = []

    def run(paths):
        try:
            build_index(paths, idx, s)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=([docs],)), threading.Thread(target=run, args=([other],))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    sources = {d.source for d in Assistant.load(idx).documents()}
    assert sources == {"a.txt", "b.txt", "c.txt"}


def test_remove_a_source(tmp_path):
    from rag.cli import main

    docs = _corpus(tmp_path)
    idx = tmp_path / "idx"
    build_index([docs], idx, Settings(embedding_model="none"))
    report = build_index([], idx, Settings(embedding_model="none"), remove=["b.txt", "nope.txt"])
    assert report.removed == ["b.txt"] and dict(report.skipped) == {"nope.txt": "not in the index, nothing removed"}
    assert {d.source for d in Assistant.load(idx).documents()} == {"a.txt"}
    with pytest.raises(ValueError, match="empty"):
        build_index([], idx, Settings(embedding_model="none"), remove=["a.txt"])
    assert {d.source for d in Assistant.load(idx).documents()} == {"a.txt"}
    assert main(["remove", "nope.txt", "--index", str(idx), "-q"]) == 1
    # no model named: the index keeps the one it was built with (no dense vectors here)
    assert Assistant.load(idx).data.manifest["embedding_model"] == "none"


def test_same_name_files_and_the_same_file_named_twice(tmp_path):
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    d1.mkdir()
    d2.mkdir()
    (d1 / "report.txt").write_text(DOC_A, encoding="utf-8")
    (d2 / "report.txt").write_text(DOC_B, encoding="utf-8")
    idx = tmp_path / "idx"
    s = Settings(embedding_model="none")
    build_index([d1 / "report.txt", d2 / "report.txt"], idx, s)
    assert sorted(d.source for d in Assistant.load(idx).documents()) == ["d1/report.txt", "d2/report.txt"]
    # the same file given again through its folder is recognised, not added twice
    report = build_index([d1], idx, s)
    assert report.unchanged == ["d1/report.txt"] and not report.written


def test_publish_keeps_the_version_it_replaces(tmp_path):
    docs = _corpus(tmp_path)
    idx = tmp_path / "idx"
    s = Settings(embedding_model="none")
    build_index([docs], idx, s)
    first = current_version(idx)
    (docs / "c.txt").write_text("新文件\n\n新建工会组织35家。\n", encoding="utf-8")
    build_index([docs], idx, s)
    second = current_version(idx)
    assert first is not None and first.is_dir() and second != first  # a reader mid-open still finds it
    (docs / "d.txt").write_text("又一个文件\n\n建成驿站12个。\n", encoding="utf-8")
    build_index([docs], idx, s)
    assert not first.exists() and second is not None and second.is_dir()


def test_unreadable_index_is_rebuilt_by_ingest(tmp_path):
    docs = _corpus(tmp_path)
    idx = tmp_path / "idx"
    s = Settings(embedding_model="none")
    build_index([docs], idx, s)
    (idx / "CURRENT").write_text("v-gone", encoding="utf-8")
    with pytest.raises(IndexFormatError, match="damaged"):
        Assistant.load(idx)
    report = build_index([docs], idx, s)
    assert report.written and report.warnings and "rebuilt" in report.warnings[0]
    assert len(Assistant.load(idx).documents()) == 2


def test_filters_as_strings_k_validation_and_ordered_scores(bm25_index):
    a = Assistant.load(bm25_index)
    q = "拉萨全市建立了多少个基层工会组织？"
    assert [p.source for p in a.retrieve(q, sources="004_2282861e8734a6f4.txt")] == ["004_2282861e8734a6f4.txt"] * 5
    for bad in (0, -1, 2.5, 101, True):
        with pytest.raises(ValueError, match="k must be"):
            a.retrieve(q, k=bad)
    assert len(a.retrieve("工会", k=100)) == 100
    hits = a.retrieve("铜仁市2024年和2025年开展的职工宣讲活动分别有多少场？", k=8)
    assert all(hits[i].score > hits[i + 1].score for i in range(len(hits) - 1))


def test_split_comparison_of_three():
    from rag.retrieval.retrievers import split_comparison

    assert split_comparison("铜仁市、安康市和拉萨市分别有多少会员？") == [
        "铜仁市分别有多少会员？",
        "安康市分别有多少会员？",
        "拉萨市分别有多少会员？",
    ]
    assert len(split_comparison("2023年、2024年和2025年铜仁市分别举办了多少场竞赛？")) == 3


def test_cli_errors_are_clear(tmp_path, capsys):
    from rag.cli import main

    assert main(["ingest", str(tmp_path / "missing"), "--index", str(tmp_path / "idx"), "-q"]) == 1
    assert "no readable" in capsys.readouterr().err
    docs = _corpus(tmp_path)
    idx = tmp_path / "idx2"
    assert main(["ingest", str(docs), "--index", str(idx), "--embedding-model", "none", "-q"]) == 0
    bad = tmp_path / "h.json"
    bad.write_text("5", encoding="utf-8")
    assert main(["ask", "那2024年呢？", "--index", str(idx), "--history", str(bad)]) == 2
    assert "[question, answer] pairs" in capsys.readouterr().err
    assert main(["search", "工会", "--index", str(idx), "--source", "nope.txt"]) == 0
    assert "no indexed file 'nope.txt'" in capsys.readouterr().err
