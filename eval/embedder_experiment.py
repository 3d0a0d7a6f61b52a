"""Does a dense embedder help BM25? Recall@5 by question type for BM25, dense, and their RRF fusion.

    python eval/embedder_experiment.py                       # corpus + hashing, seed 0
    python eval/embedder_experiment.py --seeds 0 1 2         # mean over training seeds
    python eval/embedder_experiment.py --embedders corpus hashing /models/bge-small-zh-v1.5

Passages are made here with a deliberately simple splitter (the real chunker lives
elsewhere): paragraphs at blank lines, PDF-broken paragraphs of 002_*.txt re-joined,
short unpunctuated lines taken as headings, paragraphs merged up to ``--max-chars``.
Each passage's first line is "title > heading", like the real chunks.

A question is answered at k when every evidence quote (whitespace removed) lies whole
inside one of the top-k passages (whitespace removed); multi-quote questions count the
fraction found. BM25 is bm25s over jieba tokens; fusion is reciprocal rank fusion
(Cormack et al. 2009, k=60) of the top-50 of each list. Besides the dev questions, 24
probe questions written for this experiment (paraphrases about passages the dev set does
not ask about) are scored as a second opinion on 35 questions. They were never edited
after being scored, but they were looked at, with dev, when choosing between a few
general settings (epochs, learning rate, feature kinds), so they are not a clean
held-out set either.

``--chunks real`` uses the project's chunker (``rag.ingest``; ``Chunk.index_text``)
instead of the simple splitter.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rag.embed import CorpusEmbedder, Embedder, HashingEmbedder, PretrainedEmbedder, TrainConfig  # noqa: E402

TYPES = ["numeric", "entity", "list", "paraphrase", "multi"]
_END = tuple("。！？!?；;…”」』）)")
_PUNCT_ONLY = re.compile(r"[\W_]+")

# Written for this experiment from passages the dev set does not ask about; paraphrased on purpose.
PROBES: list[tuple[str, list[str]]] = [
    ("安徽五年来会手艺的技术人员增加了多少？", ["全省五年新增技能人才200.1万"]),
    ("成都大运会点主火炬的劳模中，那位电力党员服务队的队长是谁？", ["共产党员服务队队长刘源"]),
    ("济南给露天干活的劳动者建了多少个歇脚点？", ["建成了633家户外劳动者驿站"]),
    ("铜仁工会五年来资助职工子女上学的钱一共多少？", ["助学金1544.63万元"]),
    ("铜仁2024年请律师免费帮职工，接待了多少件职工来访？", ["接访职工群众312件次1044人次"]),
    ("北大荒集团头一回开职工代表大会是什么时候？", ["2021年8月25日，集团召开首届职工代表大会"]),
    ("淮北有多少名一线工人拿到了“工匠大师”一类的称号？", ["176名产业工人获评"]),
    ("甘肃从哪一年起各个市县都有了帮扶困难职工的中心？", ["于2020年实现困难职工帮扶中心各市州、县区全覆盖"]),
    ("延安职工文工团排的党史剧一共演了多少场？", ["演出80余场"]),
    ("五年里全国平均每年有多少家单位的工会组织职工比武竞赛？", ["年均58.6万家"]),
    ("青海评出了多少名高原上的工匠？", ["选树“青海高原工匠”54名"]),
    ("铜仁第一次举办的直播带货技能比赛有多少支队伍参加？", ["19支网络达人团队15支网络新秀团队"]),
    ("甘肃工会为了帮企业渡过难关，退给小微企业多少会费？", ["返还小微企业工会经费2.23亿元"]),
    ("长春工会希望五年内实名登记的会员达到多少？", ["实名制工会会员总量突破220万"]),
    ("青海拿出多少钱来打造基层工会样板点？", ["设立专项经费450万元"]),
    ("甘肃有多少户日子困难的职工家庭摆脱了困境？", ["12.34万户困难职工家庭如期脱困解困"]),
    ("长春计划到2025年底建好多少个规范的工会服务站？", ["全市建成标准化工会服务站500个"]),
    ("这五年全国职工一共提了多少条改进工作的建议？", ["合理化建议3991.0万件"]),
    ("四川工会在网上搞的普惠服务创造了多少经济收益？", ["累计产生经济效益3.67亿元"]),
    ("青海工会给将近一千家小企业退回了多少钱？", ["全额返还工会经费578万元"]),
    ("绥化要让非公企业劳动竞赛覆盖到多大比例？", ["覆盖率达到45%以上"]),
    ("遵义工会组织评选了哪些工匠称号？", ["“黔酒茶绣工匠”“贵州工匠”“遵义工匠”"]),
    ("延安各级工会一共办了多少场文化活动？", ["全市各级工会累计开展各类文化活动2000余场次"]),
    ("济南建了多少家给哺乳期女职工用的小屋？", ["441家工会妈妈小屋"]),
]


# --------------------------------------------------------------------------- passages


def paragraphs(path: Path) -> list[str]:
    """Paragraphs of one seed file, line breaks inside a paragraph removed."""
    raw = path.read_text(encoding="utf-8")
    pdf_like = sum(line.startswith("　　") for line in raw.split("\n")) > 50
    out: list[str] = []
    prev_indented = False
    for block in re.split(r"\n\s*\n", raw):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        if not lines:
            continue
        if not pdf_like:
            out.extend(ln.strip() for ln in lines)
            continue
        indented = lines[0].startswith(("　", " ", "\t"))
        text = "".join(ln.strip() for ln in lines)
        # PDF extraction: a non-indented block after an unfinished paragraph continues it
        if out and not indented and (prev_indented or len(out[-1]) >= 30) and not out[-1].endswith(_END):
            out[-1] += text
            continue
        out.append(text)
        prev_indented = indented
    return out


def _is_heading(p: str) -> bool:
    return len(p) < 30 and not p.endswith(tuple("。！？；，、：:"))


def _split_long(p: str, max_chars: int) -> list[str]:
    if len(p) <= max_chars:
        return [p]
    out, cur = [], ""
    for s in re.findall(r"[^。！？；]*[。！？；]?", p):
        if cur and len(cur) + len(s) > max_chars:
            out.append(cur)
            cur = ""
        cur += s
    return [*out, cur] if cur else out


def simple_passages(seed_dir: Path, max_chars: int = 400) -> list[tuple[str, str]]:
    """(file name, "title > heading\\nbody") passages of every ``*.txt`` in ``seed_dir``."""
    out: list[tuple[str, str]] = []
    for f in sorted(seed_dir.glob("*.txt")):
        paras = paragraphs(f)
        if not paras:
            continue
        title = paras[0].lstrip("# ")
        groups: list[tuple[str, list[str]]] = [("", [])]  # (heading, paragraphs)
        for para in paras[1:]:
            if _is_heading(para):
                groups.append((para.lstrip("# "), []))
                continue
            for p in _split_long(para, max_chars):
                heading, buf = groups[-1]
                if buf and sum(map(len, buf)) + len(p) > max_chars:
                    groups.append((heading, []))
                groups[-1][1].append(p)
        for heading, buf in groups:
            if buf:
                head = title if not heading or heading == title else f"{title} > {heading}"
                out.append((f.name, head + "\n" + "".join(buf)))
    return out


# --------------------------------------------------------------------------- retrieval

Ranker = Callable[[str], list[int]]


def bm25_ranker(texts: Sequence[str], depth: int = 50) -> Ranker:
    import bm25s
    import jieba

    def tok(t: str) -> list[str]:
        return [w for w in jieba.lcut("".join(t.split()).lower()) if not _PUNCT_ONLY.fullmatch(w)]

    index = bm25s.BM25()
    index.index([tok(t) for t in texts], show_progress=False)

    def rank(q: str) -> list[int]:
        docs, scores = index.retrieve([tok(q)], k=min(depth, len(texts)), show_progress=False)
        return [int(d) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    return rank


def dense_ranker(emb: Embedder, passage_vectors: np.ndarray, depth: int = 50) -> Ranker:
    def rank(q: str) -> list[int]:
        scores = passage_vectors @ emb.embed([q], query=True)[0]
        return [int(i) for i in np.argsort(-scores, kind="stable")[:depth]]

    return rank


def rrf(*lists: list[int], k: int = 60, weights: Sequence[float] | None = None) -> list[int]:
    """Reciprocal rank fusion: score(d) = sum over lists of weight / (k + rank), rank from 1."""
    score: dict[int, float] = {}
    for ranked, w in zip(lists, weights or [1.0] * len(lists), strict=True):
        for r, d in enumerate(ranked):
            score[d] = score.get(d, 0.0) + w / (k + r + 1)
    return sorted(score, key=lambda d: (-score[d], d))


def recall_at(rank: Ranker, questions: list[dict], norm_texts: list[str], k: int) -> dict[str, float]:
    by_type: dict[str, list[float]] = {}
    for q in questions:
        top = rank(q["question"])[:k]
        found = [any("".join(e.split()) in norm_texts[d] for d in top) for e in q["evidence"]]
        by_type.setdefault(q["type"], []).append(float(np.mean(found)))
    out = {t: float(np.mean(v)) for t, v in by_type.items()}
    out["all"] = float(np.mean([x for v in by_type.values() for x in v]))
    return out


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds-dir", type=Path, default=ROOT / "seeds")
    ap.add_argument("--qa", type=Path, default=ROOT / "eval" / "datasets" / "dev_qa.jsonl")
    ap.add_argument("--max-chars", type=int, default=400)
    ap.add_argument(
        "--chunks",
        choices=["simple", "real"],
        default="simple",
        help="simple: the splitter in this file; real: rag.ingest's chunker (Chunk.index_text)",
    )
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds of the corpus embedder")
    ap.add_argument("--embedders", nargs="+", default=["corpus", "hashing"], help="corpus, hashing, or model paths")
    ap.add_argument("--dense-weights", type=float, nargs="+", default=[1.0], help="RRF weight(s) of the dense list")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    if args.chunks == "real":
        from rag.ingest.pipeline import parse_file

        texts = [c.index_text for f in sorted(args.seeds_dir.glob("*.txt")) for c in parse_file(f).chunks]
    else:
        texts = [t for _, t in simple_passages(args.seeds_dir, args.max_chars)]
    norm = ["".join(t.split()) for t in texts]
    questions = [q for q in map(json.loads, args.qa.read_text(encoding="utf-8").splitlines()) if q.get("evidence")]
    probes = [{"question": q, "evidence": ev, "type": "probe"} for q, ev in PROBES]
    n_chars = sum(map(len, texts))
    print(
        f"{len(texts)} {args.chunks} passages ({n_chars} chars) from {args.seeds_dir}; "
        f"{len(questions)} dev questions with evidence"
    )

    bm25 = bm25_ranker(texts)
    rows: list[tuple[str, dict[str, float], dict[str, float]]] = []
    timing: list[str] = []
    cols = [t for t in TYPES if any(q["type"] == t for q in questions)]

    def score(name: str, rank: Ranker) -> None:
        dev = recall_at(rank, questions, norm, args.k)
        probe = recall_at(rank, probes, norm, args.k)
        rows.append((name, dev, probe))

    score("bm25", bm25)
    for spec in args.embedders:
        runs: list[list[dict[str, float]]] = []
        for seed in args.seeds if spec == "corpus" else [0]:
            t = time.perf_counter()
            emb: Embedder
            if spec == "corpus":
                with tempfile.TemporaryDirectory() as tmp:
                    emb = CorpusEmbedder.train(texts, tmp, seed=seed, config=TrainConfig())
                label = "corpus"
            elif spec == "hashing":
                emb = HashingEmbedder()
                label = "hashing"
            else:
                emb = PretrainedEmbedder(spec)
                label = Path(spec).name or spec
            t_build = time.perf_counter() - t
            t = time.perf_counter()
            vectors = emb.embed(texts)
            t_embed = time.perf_counter() - t
            dense = dense_ranker(emb, vectors)
            t = time.perf_counter()
            for q in questions:
                emb.embed([q["question"]], query=True)
            t_query = (time.perf_counter() - t) / len(questions)
            timing.append(
                f"{label:10s} seed {seed}: build/train {t_build:5.1f} s, embed {len(texts)} passages {t_embed:4.1f} s "
                f"({len(texts) / t_embed:6.0f}/s, {n_chars / t_embed / 1000:5.0f}k chars/s), "
                f"one query {t_query * 1000:5.1f} ms, dim {emb.dim}"
            )
            result = [recall_at(dense, questions, norm, args.k), recall_at(dense, probes, norm, args.k)]
            for w in args.dense_weights:
                fused: Ranker = lambda q, d=dense, w=w: rrf(bm25(q), d(q), weights=(1.0, w))  # noqa: E731
                result += [recall_at(fused, questions, norm, args.k), recall_at(fused, probes, norm, args.k)]
            runs.append(result)

        def mean(i: int, runs: list = runs) -> dict[str, float]:
            return {key: float(np.mean([r[i][key] for r in runs])) for key in runs[0][i]}

        tag = f" [mean of {len(runs)} seeds]" if len(runs) > 1 else ""
        rows.append((f"{label} dense{tag}", mean(0), mean(1)))
        for i, w in enumerate(args.dense_weights):
            wtag = "" if len(args.dense_weights) == 1 and w == 1.0 else f" w={w:g}"
            rows.append((f"bm25 + {label} (RRF{wtag}){tag}", mean(2 + 2 * i), mean(3 + 2 * i)))

    counts = {t: sum(q["type"] == t for q in questions) for t in cols}
    head = f"{'recall@' + str(args.k):46s}" + "".join(f"{t[:10] + f'({counts[t]})':>15s}" for t in cols)
    head += f"{'dev all':>10s}{'probe(24)':>11s}"
    print()
    print(head)
    print("-" * len(head))
    for name, dev, probe in rows:
        print(f"{name:46s}" + "".join(f"{dev[t]:15.2f}" for t in cols) + f"{dev['all']:10.2f}{probe['all']:11.2f}")
    print()
    print("\n".join(timing))
    print(f"total {time.perf_counter() - t0:.1f} s")
    if args.json:
        args.json.write_text(
            json.dumps([{"name": n, "dev": d, "probe": p} for n, d, p in rows], ensure_ascii=False, indent=2),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
