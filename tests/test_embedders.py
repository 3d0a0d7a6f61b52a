"""Contract tests for every Embedder, plus save/load, offline loading and ``load_embedder``.

Run: ``python -m pytest tests/test_embedders.py -q`` (``-m "not slow"`` skips training and
sentence-transformers, which take a few seconds to import).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.embed import (
    CorpusEmbedder,
    Embedder,
    HashingEmbedder,
    ModelNotOnDisk,
    PretrainedEmbedder,
    TrainConfig,
    load_embedder,
)
from rag.embed.corpus import strip_question_words
from rag.embed.pretrained import BGE_ZH_QUERY, prompts_for

ROOT = Path(__file__).resolve().parents[1]

# A tiny corpus in the shape of real chunks: first line = title > heading, then the body.
# Four topics, several chunks each, so that co-occurrence has something to learn from.
TOPICS = {
    "欠薪": [
        "为农民工追回欠薪7.2亿元，帮助农民工挽回经济损失。",
        "工会法律援助中心受理农民工讨薪案件，依法追讨拖欠工资。",
        "开展根治欠薪专项行动，督促企业按时足额支付农民工工资。",
        "律师团队为外出务工人员免费提供讨薪法律服务，追回工资款。",
        "建筑工地农民工工资专户制度全面落实，欠薪问题明显减少。",
    ],
    "疗休养": [
        "组织劳模和一线职工参加疗休养，安排健康体检和休养活动。",
        "全国劳模到铜仁参加专题疗休养，疗休养线路覆盖红色景区。",
        "职工疗休养基地挂牌运营，疗休养拉动文旅消费。",
        "省总工会安排先进工作者疗休养，组织劳模休养和体检。",
        "推出职工疗休养精品线路，劳模工匠休养人数持续增加。",
    ],
    "技能竞赛": [
        "举办职业技能竞赛，覆盖职工2.4万人次，选树技术能手。",
        "开展劳动和技能竞赛，参赛职工在比赛中提升技能水平。",
        "网络主播职业技能竞赛开赛，选手同台竞技比拼技能。",
        "组队参加全省技能大赛，荣获团体一等奖2个，个人奖项多个。",
        "以赛促学、以赛促训，技能竞赛成为职工成长成才的舞台。",
    ],
    "互助保障": [
        "发放职工医疗互助金3234万元，减轻患病职工医疗负担。",
        "职工互助保障参保会员增加，大病互助保障最高可申请15万元。",
        "推进职工医疗互助保障活动，为困难职工报销医疗费用。",
        "住院职工可申请医疗互助金，互助保障覆盖全体会员。",
        "互助保障项目提档升级，职工看病就医负担进一步减轻。",
    ],
}


def tiny_corpus() -> list[str]:
    texts = []
    for topic, sentences in TOPICS.items():
        for i, s in enumerate(sentences):
            others = sentences[(i + 1) % len(sentences)] + sentences[(i + 2) % len(sentences)]
            texts.append(f"2025年工会工作综述 > {topic}工作\n{s}{others}")
    return texts


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index folder whose ``embedder`` sub-folder holds a CorpusEmbedder trained on TOPICS."""
    index = tmp_path_factory.mktemp("index")
    CorpusEmbedder.train(tiny_corpus(), index / "embedder", seed=0, config=TrainConfig(dim=32, epochs=3, batch_size=8))
    return index


@pytest.fixture(scope="session")
def corpus_embedder(corpus_dir: Path) -> CorpusEmbedder:
    return CorpusEmbedder.load(corpus_dir / "embedder")


def _build_static_st_model(path: Path, *, prompts: dict[str, str] | None = None) -> Path:
    """A tiny sentence-transformers model made here: a BPE tokenizer trained on TOPICS + StaticEmbedding."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(tiny_corpus(), trainers.BpeTrainer(vocab_size=300, special_tokens=["[UNK]"]))
    torch.manual_seed(0)
    static = StaticEmbedding(tok, embedding_dim=16)
    model = SentenceTransformer(modules=[static], prompts=prompts)
    model.save(str(path))
    return path


@pytest.fixture(scope="session")
def st_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_static_st_model(
        tmp_path_factory.mktemp("st") / "tiny-static", prompts={"query": "查询：", "document": ""}
    )


@pytest.fixture(scope="session")
def pretrained_embedder(st_model_dir: Path) -> PretrainedEmbedder:
    return PretrainedEmbedder(str(st_model_dir))


@pytest.fixture
def embedder(request: pytest.FixtureRequest) -> Embedder:
    kind = request.param
    if kind == "hashing":
        return HashingEmbedder(dim=64)
    if kind == "corpus":
        return request.getfixturevalue("corpus_embedder")
    return request.getfixturevalue("pretrained_embedder")


# --------------------------------------------------------------------------- the contract


@pytest.mark.parametrize(
    "embedder",
    [
        pytest.param("hashing", id="hashing"),
        pytest.param("corpus", id="corpus", marks=pytest.mark.slow),
        pytest.param("pretrained", id="pretrained", marks=pytest.mark.slow),
    ],
    indirect=True,
)
def test_embedder_contract(embedder: Embedder) -> None:
    assert isinstance(embedder, Embedder)
    assert isinstance(embedder.name, str) and embedder.name
    assert isinstance(embedder.dim, int) and embedder.dim > 0

    texts = ["为农民工追回欠薪", "组织劳模疗休养", "职业技能竞赛", "发放职工医疗互助金3234万元"]
    for query in (False, True):
        v = embedder.embed(texts, query=query)
        assert v.shape == (len(texts), embedder.dim)
        assert v.dtype == np.float32
        assert v.flags.c_contiguous
        assert np.all(np.isfinite(v))
        np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
        again = embedder.embed(texts, query=query)
        np.testing.assert_array_equal(v, again)  # deterministic
        # a batch gives the same rows as one text at a time
        np.testing.assert_allclose(embedder.embed(texts[1:2], query=query)[0], v[1], atol=1e-6)

    assert embedder.embed([]).shape == (0, embedder.dim)
    assert embedder.embed((t for t in texts[:2]), query=True).shape == (2, embedder.dim)  # any iterable sequence
    with pytest.raises(TypeError):
        embedder.embed("一个字符串")  # type: ignore[arg-type]


def test_hashing_embedder_similarity_and_params() -> None:
    e = HashingEmbedder(dim=512)
    a, b, c = e.embed(["农民工欠薪追回", "追回农民工工资欠薪", "劳模疗休养线路"])
    assert a @ b > a @ c
    assert e.embed([""])[0].tolist() == [0.0] * 512  # nothing to hash: the zero vector
    assert HashingEmbedder(dim=128).name != HashingEmbedder(dim=256).name
    with pytest.raises(ValueError):
        HashingEmbedder(dim=1)


# --------------------------------------------------------------------------- corpus embedder


@pytest.mark.slow
def test_corpus_embedder_learns_topics(corpus_embedder: CorpusEmbedder) -> None:
    e = corpus_embedder
    q = e.embed(["帮外出务工人员讨回工资"], query=True)[0]
    docs = e.embed(["为农民工追回欠薪7.2亿元", "组织劳模参加疗休养", "举办职业技能竞赛", "发放医疗互助金"])
    scores = docs @ q
    assert int(np.argmax(scores)) == 0, scores
    # no character in common, yet close: they occur in the same chunks; 疗休养 / 劳模 likewise
    a, b, c, d = e.embed(["讨薪", "拖欠工资", "疗休养", "劳模"])
    assert a @ b > 0.5 > a @ c
    assert c @ d > 0.5 > b @ d


@pytest.mark.slow
def test_corpus_query_drops_question_words(corpus_embedder: CorpusEmbedder) -> None:
    e = corpus_embedder
    np.testing.assert_array_equal(e.embed(["发放了多少医疗互助金？"], query=True), e.embed(["发放了，医疗互助金？"]))
    assert not np.array_equal(e.embed(["发放了多少医疗互助金？"], query=True), e.embed(["发放了多少医疗互助金？"]))
    assert strip_question_words("哪个市怎么样") == "，市，"


@pytest.mark.slow
def test_corpus_embedder_files_are_safe(corpus_dir: Path, corpus_embedder: CorpusEmbedder) -> None:
    files = sorted(p.name for p in (corpus_dir / "embedder").iterdir())
    assert files == ["config.json", "model.safetensors", "tokenizer.json"]  # no pickle anywhere
    config = json.loads((corpus_dir / "embedder" / "config.json").read_text(encoding="utf-8"))
    assert config["dim"] == corpus_embedder.dim == 32
    assert config["name"] == corpus_embedder.name == "corpus-static-v1"
    assert config["seed"] == 0


@pytest.mark.slow
def test_corpus_training_is_deterministic(tmp_path: Path, corpus_embedder: CorpusEmbedder) -> None:
    again = CorpusEmbedder.train(
        tiny_corpus(), tmp_path / "e", seed=0, config=TrainConfig(dim=32, epochs=3, batch_size=8)
    )
    np.testing.assert_array_equal(again.table, corpus_embedder.table)
    other = CorpusEmbedder.train(
        tiny_corpus(), tmp_path / "f", seed=1, config=TrainConfig(dim=32, epochs=3, batch_size=8)
    )
    assert not np.array_equal(other.table, corpus_embedder.table)


@pytest.mark.slow
def test_corpus_round_trip_in_new_process(tmp_path: Path) -> None:
    texts = ["为农民工追回欠薪", "组织劳模疗休养", "2025年发放职工医疗互助金3234万元"]
    trained = CorpusEmbedder.train(
        tiny_corpus(), tmp_path / "emb", seed=3, config=TrainConfig(dim=24, epochs=2, batch_size=8)
    )
    before_doc = trained.embed(texts)
    before_query = trained.embed(texts, query=True)
    out = tmp_path / "vectors.npz"
    code = (
        "import sys, json, numpy as np\n"
        "from rag.embed import CorpusEmbedder\n"
        "e = CorpusEmbedder.load(sys.argv[1])\n"
        "texts = json.loads(sys.argv[3])\n"
        "np.savez(sys.argv[2], doc=e.embed(texts), query=e.embed(texts, query=True))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "emb"), str(out), json.dumps(texts, ensure_ascii=False)],
        check=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    after = np.load(out)
    np.testing.assert_array_equal(after["doc"], before_doc)
    np.testing.assert_array_equal(after["query"], before_query)


def test_corpus_load_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no corpus embedder"):
        CorpusEmbedder.load(tmp_path)
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (tmp_path / name).write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match="not a rag-corpus-static"):
        CorpusEmbedder.load(tmp_path)


def test_corpus_train_rejects_empty(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        CorpusEmbedder.train(["", "  "], tmp_path)


# --------------------------------------------------------------------------- pretrained, offline


def test_missing_model_path_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelNotOnDisk) as info:
        PretrainedEmbedder(str(missing))
    message = str(info.value)
    assert str(missing) in message and "on disk" in message
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_missing_hub_name_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # an empty cache
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    import huggingface_hub.constants as hf_constants

    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    with pytest.raises(ModelNotOnDisk, match=r"nobody-here/no-such-model.*must be on disk"):
        load_embedder("nobody-here/no-such-model", None)
    assert hf_constants.HF_HUB_OFFLINE is True  # already-imported huggingface_hub told as well


@pytest.mark.slow
def test_pretrained_loads_offline_with_model_prompts(
    pretrained_embedder: PretrainedEmbedder, st_model_dir: Path
) -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert pretrained_embedder.query_prefix == "查询："  # from the model's own prompts
    assert pretrained_embedder.passage_prefix == ""
    assert pretrained_embedder.dim == 16
    direct = pretrained_embedder.model.encode(["查询：劳模疗休养"], normalize_embeddings=True)
    np.testing.assert_allclose(pretrained_embedder.embed(["劳模疗休养"], query=True), direct, atol=1e-6)
    assert isinstance(load_embedder(str(st_model_dir), None), PretrainedEmbedder)


@pytest.mark.slow
def test_pretrained_family_prefix_beats_model_prompts(tmp_path: Path) -> None:
    path = _build_static_st_model(tmp_path / "bge-tiny-zh-v1.5")
    e = PretrainedEmbedder(str(path))
    assert (e.query_prefix, e.passage_prefix) == (BGE_ZH_QUERY, "")
    e2 = PretrainedEmbedder(str(path), query_prefix="", passage_prefix="")
    assert (e2.query_prefix, e2.passage_prefix) == ("", "")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("BAAI/bge-small-zh-v1.5", (BGE_ZH_QUERY, "")),
        ("BAAI/bge-large-zh", (BGE_ZH_QUERY, "")),
        ("/models/bge-base-zh-v1.5", (BGE_ZH_QUERY, "")),
        ("BAAI/bge-m3", ("", "")),
        ("intfloat/multilingual-e5-small", ("query: ", "passage: ")),
        ("intfloat/e5-base-v2", ("query: ", "passage: ")),
        ("shibing624/text2vec-base-chinese", ("", "")),
    ],
)
def test_prompts_for_families(name: str, expected: tuple[str, str]) -> None:
    assert prompts_for(name) == expected


def test_prompts_for_e5_instruct_and_model_prompts() -> None:
    q, p = prompts_for("intfloat/multilingual-e5-large-instruct")
    assert q.startswith("Instruct: ") and q.endswith("Query: ") and p == ""
    assert prompts_for("x/y", {"query": "Q: ", "passage": "P: "}) == ("Q: ", "P: ")
    assert prompts_for("x/y", {"query": "", "document": None}) == ("", "")  # type: ignore[dict-item]


# --------------------------------------------------------------------------- load_embedder


def test_load_embedder_specs(tmp_path: Path) -> None:
    assert load_embedder("none", tmp_path) is None
    assert load_embedder("", None) is None
    assert isinstance(load_embedder("hashing", None), HashingEmbedder)
    with pytest.raises(ValueError, match="index_dir"):
        load_embedder("corpus", None)
    with pytest.raises(FileNotFoundError):
        load_embedder("corpus", tmp_path)  # nothing trained there yet
    with pytest.raises(ModelNotOnDisk):
        load_embedder(str(tmp_path / "absent"), None)


@pytest.mark.slow
def test_load_embedder_corpus(corpus_dir: Path, corpus_embedder: CorpusEmbedder) -> None:
    e = load_embedder("corpus", corpus_dir)
    assert isinstance(e, CorpusEmbedder)
    np.testing.assert_array_equal(e.embed(["疗休养"]), corpus_embedder.embed(["疗休养"]))


def test_import_is_light() -> None:
    code = "import sys, rag.embed; print(any(m in sys.modules for m in ('torch', 'sentence_transformers')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
