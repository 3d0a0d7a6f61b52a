"""The fusion fit: chosen at ingest from questions made from the corpus, stored, followed, kept.

Tiny corpora of several genres are written in each test: yearly reports of parallel
cities (place and year in the title), encyclopaedia articles (short titles), news items,
a regulation with numbered articles, and a product catalogue whose entries differ only
by model codes and figures (where lexical matching is clearly better than dense).
"""

from __future__ import annotations

import dataclasses
import doctest
import json
import random
from pathlib import Path

import pytest

from rag.assistant import Assistant
from rag.build import build_index
from rag.retrieval.fusion_fit import (
    FitResult,
    PseudoQuestion,
    fit_fusion,
    fit_index,
    pseudo_questions,
    questions_from_rows,
)
from rag.retrieval.retrievers import FusionConfig, HybridRetriever, default_config, resolve_config
from rag.settings import Settings
from rag.store import current_version

CITIES = ["铜仁市", "安康市", "遵义市", "曲靖市", "十堰市", "平凉市", "来宾市", "绥化市"]
TOPICS = ["职工医疗互助金", "劳动技能竞赛", "户外劳动者服务站", "职工书屋", "困难职工帮扶"]


def _reports(rng: random.Random, cities: list[str] = CITIES) -> dict[str, str]:
    out = {}
    for i, city in enumerate(cities):
        year = 2023 + i % 3
        lines = [f"{city}总工会{year}年工作报告"]
        for t in TOPICS:
            lines.append(
                f"{year}年，{city}总工会围绕{t}开展工作，全年投入资金{rng.randint(100, 999)}万元，"
                f"惠及职工{rng.randint(2, 90)}.{rng.randint(1, 9)}万人次。"
            )
            lines.append(f"在{t}方面，建成示范点{rng.randint(10, 300)}个，组织活动{rng.randint(5, 80)}场。")
        out[f"report_{i}.txt"] = "\n\n".join(lines) + "\n"
    return out


def _encyclopedia(rng: random.Random) -> dict[str, str]:
    subjects = [
        ("玄平山", "山峰", "海拔"),
        ("青河", "河流", "全长"),
        ("白鹭湖", "湖泊", "面积"),
        ("棕斑羚", "动物", "体长"),
    ]
    out = {}
    for i, (name, kind, measure) in enumerate(subjects):
        body = [
            name,
            f"{name}是一种常见的{kind}，最早记载于{rng.randint(1500, 1900)}年的地方志。",
            f"{name}的{measure}约为{rng.randint(10, 999)}，在当地被称为“{name[:1]}{rng.choice('甲乙丙丁')}”。",
            f"{rng.randint(1950, 2020)}年，{name}被列入保护名录，现由{rng.choice(['省林业局', '市文化馆'])}管理。",
        ]
        out[f"ency_{i}.txt"] = "\n\n".join(body) + "\n"
    return out


def _news_and_rules(rng: random.Random) -> dict[str, str]:
    news = [
        "明州地铁三号线开通运营",
        f"明州地铁三号线今日开通，全长{rng.randint(20, 40)}公里，设站{rng.randint(15, 30)}座。",
        f"首日客流{rng.randint(5, 20)}万人次，高峰时段发车间隔{rng.randint(3, 6)}分钟。",
    ]
    rules = [
        "骊山市电动自行车管理办法",
        "第一条 为加强电动自行车管理，制定本办法。",
        f"第二条 电动自行车最高车速不得超过{rng.randint(20, 25)}公里每小时。",
        f"第三条 违反本办法的，处{rng.randint(20, 50)}元以上{rng.randint(100, 200)}元以下罚款。",
    ]
    return {"news_metro.txt": "\n\n".join(news) + "\n", "reg_ebikes.txt": "\n\n".join(rules) + "\n"}


def _catalogue(rng: random.Random, n: int = 40, start: int = 0) -> dict[str, str]:
    """Parallel product entries told apart only by model codes and figures."""
    lines = ["电机产品目录"]
    for i in range(start, start + n):
        code = f"XK{1000 + i * 37}{'ABCDEFGH'[i % 8]}"
        lines.append(
            f"{code}型电动机的额定功率为{rng.randint(1, 90)}千瓦，转速{rng.randint(900, 3000)}转每分钟，"
            f"重量{rng.randint(20, 400)}公斤。"
        )
    return {f"catalogue_{start}.txt": "\n\n".join(lines) + "\n"}


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _mixed(tmp_path: Path) -> Path:
    rng = random.Random(0)
    return _write(tmp_path / "docs", {**_reports(rng), **_encyclopedia(rng), **_news_and_rules(rng)})


def _manifest(idx: Path) -> dict:
    live = current_version(idx)
    assert live is not None
    return json.loads((live / "manifest.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ stored and followed


def test_choice_is_stored_in_the_manifest_and_reloaded(tmp_path):
    idx = tmp_path / "idx"
    build_index([_mixed(tmp_path)], idx, Settings(embedding_model="hashing"))
    entry = _manifest(idx)["retrieval"]
    assert entry["fitted"] and entry["pseudo_questions"] >= 100
    assert set(entry["rules"]) == {"place", "year", "title", "compare", "dedup"}
    assert {"chosen", "bm25", "dense", "hand_set"} <= set(entry["figures"])
    assert entry["configurations"] == 9 * 3 * 2**5
    assert entry["fitted_on_chunks"] == len(Assistant.load(idx).chunks()) and entry["added_since_fit"] == 0
    stored = FusionConfig.from_dict({**entry["fusion"], "rules": entry["rules"]})
    assert FusionConfig.from_dict(stored.to_dict()) == stored  # round trip of the record itself

    a = Assistant.load(idx)  # a new load follows the stored choice
    assert a.retriever.config == stored and a.retriever.config_source == "index"
    assert entry["figures"]["chosen"]["config"] == stored.describe()
    assert Assistant.load(idx).retriever.config == stored
    hits = a.retrieve("2024年遵义市总工会围绕职工书屋投入资金多少万元？", k=3)
    assert hits and hits[0].source == "report_2.txt"


def test_the_reports_pick_the_place_scope_and_the_articles_do_not_need_it(tmp_path):
    """Parallel reports need the place (and year) to tell them apart; the fit sees it."""
    rng = random.Random(1)
    docs = _write(tmp_path / "reports", _reports(rng))
    idx = tmp_path / "idx"
    build_index([docs], idx, Settings(embedding_model="hashing"))
    entry = _manifest(idx)["retrieval"]
    assert entry["rules"]["place"] and entry["rule_effects"]["place"]["effect"] > 0
    assert entry["triggered"]["place"] > 100


def test_lexical_corpus_picks_a_lexical_heavy_weight(tmp_path):
    """Entries alike but for model codes: the corpus embedder cannot tell XK1037B from XK1074C
    (a code occurs once, under its min_df), BM25 can; the fit weighs BM25 up."""
    docs = _write(tmp_path / "cat", _catalogue(random.Random(2)))
    idx = tmp_path / "idx"
    build_index([docs], idx, Settings(embedding_model="corpus"))
    entry = _manifest(idx)["retrieval"]
    figs = entry["figures"]
    assert figs["bm25"]["mrr"] > figs["dense"]["mrr"] + 0.2
    assert entry["fusion"]["dense_share"] <= 0.3 and entry["fusion"]["lexical_weight"] >= 0.7
    a = Assistant.load(idx)
    assert a.retriever.config.dense_share <= 0.3


# ------------------------------------------------------------------ updates


def test_incremental_update_keeps_the_choice_and_a_large_one_refits(tmp_path, monkeypatch):
    import rag.retrieval.fusion_fit as ff

    rng = random.Random(3)
    docs = _write(tmp_path / "docs", {**_catalogue(rng, 40), **_encyclopedia(rng), **_news_and_rules(rng)})
    idx = tmp_path / "idx"
    s = Settings(embedding_model="hashing")
    build_index([docs], idx, s)
    first = _manifest(idx)["retrieval"]

    calls = []
    real_fit = ff.fit_index
    monkeypatch.setattr(ff, "fit_index", lambda *a, **k: calls.append(1) or real_fit(*a, **k))
    (docs / "extra.txt").write_text("补充说明\n\n新增XK9999Z型电动机，额定功率75千瓦。\n", encoding="utf-8")
    report = build_index([docs], idx, s)
    assert report.added == ["extra.txt"] and not calls  # no new fit for one small file
    kept = _manifest(idx)["retrieval"]
    assert (kept["fusion"], kept["rules"], kept["figures"]) == (first["fusion"], first["rules"], first["figures"])
    assert kept["added_since_fit"] >= 1 and kept["fitted_on_chunks"] == first["fitted_on_chunks"]
    assert Assistant.load(idx).retriever.config_source == "index"

    _write(docs, _catalogue(rng, 200, start=100))  # the corpus grows by far more than a quarter
    build_index([docs], idx, s)
    assert calls == [1]
    refit = _manifest(idx)["retrieval"]
    assert refit["added_since_fit"] == 0 and refit["fitted_on_chunks"] > first["fitted_on_chunks"]


def test_fit_off_records_nothing_and_the_hand_set_defaults_apply(tmp_path):
    idx = tmp_path / "idx"
    build_index([_mixed(tmp_path)], idx, Settings(embedding_model="hashing", fusion_fit=False))
    assert "retrieval" not in _manifest(idx)
    a = Assistant.load(idx)
    assert a.retriever.config == default_config("hashing") and a.retriever.config_source == "default"


# ------------------------------------------------------------------ precedence


def test_settings_override_the_stored_choice_part_by_part():
    manifest = {
        "embedding_model": "corpus",
        "retrieval": {
            "fusion": {"dense_share": 0.1, "rrf_k": 60},
            "rules": dict.fromkeys(FusionConfig().rules(), False),
        },
    }
    cfg, src = resolve_config(manifest, Settings())
    assert (cfg.dense_share, cfg.rrf_k, any(cfg.rules().values()), src) == (0.1, 60, False, "index")
    cfg, src = resolve_config(manifest, Settings(dense_weight=1.0))
    assert (cfg.dense_share, cfg.rrf_k, src) == (0.5, 60, "index, settings")
    cfg, _ = resolve_config(manifest, Settings(rrf_k=20, retrieval_rules="place,year"))
    assert cfg.rrf_k == 20 and cfg.dense_share == 0.1 and cfg.rules()["place"] and not cfg.rules()["dedup"]
    assert resolve_config(manifest, Settings(retrieval_rules="all"))[0].rules() == dict.fromkeys(cfg.rules(), True)
    # no stored choice: the hand-set defaults; an index without vectors: BM25 only
    assert resolve_config({"embedding_model": "corpus"}, Settings())[0] == default_config("corpus")
    assert resolve_config(manifest, Settings(), has_dense=False)[0].dense_share == 0.0
    with pytest.raises(ValueError, match="unknown retrieval rule"):
        resolve_config(manifest, Settings(retrieval_rules="plaice"))


def test_environment_variables_reach_the_retriever(tmp_path, monkeypatch):
    idx = tmp_path / "idx"
    build_index([_mixed(tmp_path)], idx, Settings(embedding_model="hashing"))
    monkeypatch.setenv("RAG_RRF_K", "7")
    monkeypatch.setenv("RAG_RETRIEVAL_RULES", "none")
    cfg = Assistant.load(idx).retriever.config
    assert cfg.rrf_k == 7 and not any(cfg.rules().values())


# ------------------------------------------------------------------ the measurement itself


def test_fit_ranks_exactly_as_the_retriever_does(tmp_path):
    """The fit's vectorised fusion, scoping, splitting and dedup give, question by question,
    the figures the retriever's own search gives for the same configuration."""
    idx = tmp_path / "idx"
    build_index([_mixed(tmp_path)], idx, Settings(embedding_model="hashing"))
    a = Assistant.load(idx)
    qs = pseudo_questions(a.data.chunks, a.data.documents, n=60, seed=5)
    qs.append(PseudoQuestion("铜仁市和安康市分别投入职工书屋资金多少万元？", qs[0].relevant, "given"))
    configs = [
        FusionConfig(0.3, 10),
        FusionConfig(0.0, 30).with_rules("none"),
        FusionConfig(1.0, 30).with_rules("none"),
        FusionConfig(0.5, 60).with_rules("-year,-dedup"),
        FusionConfig(0.2, 30).with_rules("none,compare,dedup"),
    ]
    for cfg in configs:
        fit = fit_fusion(a.data, qs, shares=[cfg.dense_share], ks=[cfg.rrf_k], show_shares=())
        retriever = HybridRetriever(a.data, a.settings, cfg)
        row_of = {c.id: i for i, c in enumerate(a.data.chunks)}
        rr = rec = 0.0
        for q in qs:
            rows = [row_of[p.id] for p in retriever.search(q.text, 15)][:5]
            hit = [next((i for i, r in enumerate(rows) if r in rel), None) for rel in q.relevant]
            found = [i for i in hit if i is not None]
            rr += 1 / (min(found) + 1) if found else 0.0
            rec += sum(i is not None and i < 5 for i in hit) / len(hit)
        f = fit.figures(cfg)
        assert f["mrr"] == pytest.approx(rr / len(qs)) and f["recall@5"] == pytest.approx(rec / len(qs)), cfg


def test_questions_are_made_from_the_corpus_deterministically(tmp_path):
    idx = tmp_path / "idx"
    build_index([_mixed(tmp_path)], idx, Settings(embedding_model="none"))
    d = Assistant.load(idx).data
    one = pseudo_questions(d.chunks, d.documents, n=120, seed=0)
    assert one == pseudo_questions(d.chunks, d.documents, n=120, seed=0)
    assert one != pseudo_questions(d.chunks, d.documents, n=120, seed=1)
    assert len(one) == 120 and {q.kind for q in one} >= {"sentence", "comparison"}
    for q in one:
        assert q.text.endswith("？") or q.kind == "heading"
        assert all(rel and all(0 <= r < len(d.chunks) for r in rel) for rel in q.relevant)
    # an index without vectors is fitted on BM25 alone
    result, entry = fit_index(d, n=80)
    assert isinstance(result, FitResult) and entry["fusion"]["dense_share"] == 0.0
    assert {c.dense_share for c, _ in result.table} == {0.0}


def test_labelled_questions_are_measured_like_the_made_ones(tmp_path):
    idx = tmp_path / "idx"
    build_index([_mixed(tmp_path)], idx, Settings(embedding_model="hashing"))
    a = Assistant.load(idx)
    rows = [
        {"question": "明州地铁三号线设站多少座？", "evidence": ["明州地铁三号线今日开通"]},
        {"question": "无证据", "evidence": []},
    ]
    qs = questions_from_rows(rows, a.data.chunks)
    assert len(qs) == 1 and a.data.chunks[qs[0].relevant[0][0]].source == "news_metro.txt"
    fit = fit_fusion(a.data, qs, method="best")
    assert fit.figures(FusionConfig(0.0, 30).with_rules("none"))["recall@5"] == 1.0
    assert "| **chosen** |" in fit.format_table()


def test_choose_prefers_the_simpler_of_equals():
    from rag.retrieval.fusion_fit import choose

    plain = FusionConfig(0.0, 30).with_rules("none")
    rich = dataclasses.replace(FusionConfig(0.4, 10), place_scope=True)
    same = {"mrr": 0.9, "recall@5": 0.95}
    assert choose([(rich, same), (plain, same)], method="best")[0] == plain
    assert choose([(rich, {"mrr": 0.95, "recall@5": 0.95}), (plain, same)], method="best")[0] == rich


@pytest.mark.parametrize(
    "module", ["rag.retrieval.fusion_fit", "rag.retrieval.retrievers", "rag.settings", "rag.retrieval.lexical"]
)
def test_docstring_examples_run(module):
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
