"""Synthetic meta-evaluation of the offline faithfulness judge, plus the labelled dev set.

Faithful answers are cut from real corpus sentences (a subset of their clauses, lightly
reworded); unfaithful ones are made from those by one controlled edit per flaw kind:

* changed_number       -- one figure's digits altered (value absent from the contexts);
* wrong_entity         -- a place / organisation / person / scope word replaced by another
                          one from the corpus, or two names of the context swapped;
* contradiction        -- a negation inserted before a verb, or a word turned into its opposite;
* unsupported_addition -- a plausible clause with invented details appended;
* from_other_document  -- a clause with figures appended from a sentence of another document.

The edits use their own word lists (not the judge's), so this measures generalisation
only partly: it is a sanity check beside the hand-labelled dev set, not a replacement.

Run:  python eval/judge_synthetic.py            (add --n 300 --seed 7 --show 5)

The same kind of set from another genre (Chinese Wikipedia, CMRC 2018) is built by
``eval/judge_cmrc.py`` into ``eval/datasets/cmrc_faithfulness.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rag.judge import OfflineJudge, meta_evaluate  # noqa: E402
from rag.judge.claims import normalise  # noqa: E402
from rag.judge.numbers import extract_figures  # noqa: E402

SEEDS = ROOT / "seeds"
DEV = ROOT / "eval" / "datasets" / "dev_faithfulness.jsonl"

# Word lists of the generator (deliberately independent of rag/judge/lexicon.py).
_REWRITES = [
    ("截至", "到"),
    ("累计", "共"),
    ("共计", "一共"),
    ("参加", "参与"),
    ("获评", "获得"),
    ("达到", "达"),
    ("进一步", ""),
    ("积极", ""),
    ("切实", ""),
    ("持续", ""),
    ("全力", ""),
    ("大力", ""),
    ("深入", ""),
    ("有效", ""),
    ("扎实", ""),
    ("广泛", ""),
    ("先后", ""),
    ("组织开展", "开展"),
    ("通过", "借助"),
    ("其中", "其中，"),
    ("此外，", ""),
    ("同时，", ""),
]
_FRAMES = ["", "", "", "据介绍，", "资料显示，", "从资料看，", "具体来说，"]
_NEGATORS = ["未", "没有", "并未", "尚未", "不再"]
_OPPOSITES = [
    ("增长", "下降"),
    ("增加", "减少"),
    ("提高", "降低"),
    ("提升", "下滑"),
    ("扩大", "缩小"),
    ("首次", "再次"),
    ("以上", "以下"),
    ("超过", "不足"),
    ("完成", "未完成"),
    ("建成", "停建"),
    ("新建", "拆除"),
    ("加强", "放松"),
    ("实现", "未能实现"),
    ("覆盖", "未覆盖"),
    ("率先", "最后"),
    ("突破", "未达到"),
    ("全面", "局部"),
]
_ADDITIONS = [
    "其中{noun}占比超过{pct}%",
    "{noun}将于{year}年前实现全覆盖",
    "并将{noun}纳入年度目标考核",
    "{noun}由各县区工会轮流承办",
    "{noun}得到了职工群众的一致好评",
    "相关做法还被{org}在全{scope}推广",
    "并全部由{org}统一负责落实",
    "其中{pct}%以上集中在{place}",
    "受到{org}通报表扬",
    "较上年同期增长{pct}%",
    "每人还获得{money}元奖励",
    "计划到{year}年再新增{n}个",
    "并在{place}设立了{n}个分中心",
    "所需资金全部由{org}承担",
    "参与人员平均年龄为{age}岁",
]
_SCOPES = ["国", "省", "市", "区", "州"]
_SENT = re.compile(r"[^。！？；\n]+[。！？；]")


@dataclass
class Sentence:
    doc: str
    offset: int
    text: str
    paragraph: str


def _documents() -> dict[str, str]:
    docs: dict[str, str] = {}
    for f in sorted(SEEDS.glob("*.txt")):
        text = f.read_text(encoding="utf-8", errors="ignore")
        # The compilation file holds many articles: treat 8000-character blocks as separate documents.
        for k in range(0, len(text), 8000):
            docs[f"{f.stem}#{k // 8000}"] = text[k : k + 8000]
    return docs


def _sentences(docs: dict[str, str]) -> list[Sentence]:
    out: list[Sentence] = []
    for doc, text in docs.items():
        for para in text.split("\n"):
            para = para.strip()
            if len(para) < 60:
                continue
            for m in _SENT.finditer(para):
                s = m.group(0).strip()
                clauses = [c for c in re.split(r"[，,]", s) if c]
                if 40 <= len(s) <= 220 and len(clauses) >= 3 and extract_figures(s):
                    out.append(Sentence(doc, m.start(), s, para))
    return out


def _entity_pools(sentences: list[Sentence]) -> dict[str, list[str]]:
    import jieba.posseg as ps

    pools: dict[str, set[str]] = {"ns": set(), "nt": set(), "nr": set()}
    for s in sentences[::3]:
        for w in ps.lcut(s.text):
            if w.flag in pools and 2 <= len(w.word) <= 6:
                pools[w.flag].add(w.word)
    return {k: sorted(v) for k, v in pools.items()}


def _context(s: Sentence, rng: random.Random) -> str:
    para = s.paragraph
    if len(para) <= 600:
        return para
    lo = max(0, s.offset - rng.randint(50, 300))
    return para[lo : lo + 600]


_MOVE_NUM = re.compile(
    r"(开展|举办|组织|建成|建立|培训|创建|新建|发放|慰问|帮助|培育|组建|推荐)([\u4e00-\u9fff“”]{2,10}?)"
    r"(\d+(?:\.\d+)?[万亿]?)(个|场|期|次|名|人|家|项|场次|人次|户)(?=[，。；、]|$)"
)


def _paraphrase(text: str, rng: random.Random) -> str:
    """LLM-style rewording that keeps every fact: synonyms, moved figures, reformatted numbers."""
    for a, b in _REWRITES:
        if a in text and rng.random() < 0.5:
            text = text.replace(a, b, 1)
    if rng.random() < 0.6:  # 组织干部培训18期 -> 组织了18期干部培训
        text = _MOVE_NUM.sub(lambda m: f"{m.group(1)}了{m.group(3)}{m.group(4)}{m.group(2)}", text, count=1)
    if rng.random() < 0.3:  # 1.4万 -> 14000
        text = re.sub(
            r"(?<![\d.])(\d+)\.(\d)万(?![元])",
            lambda m: str(int(m.group(1)) * 10000 + int(m.group(2)) * 1000),
            text,
            count=1,
        )
    if rng.random() < 0.3:
        text = text.replace("余", "多", 1)
    m = re.match(r"^(20\d\d年(?:以来|底|末)?)，(.+)$", text)
    if m and rng.random() < 0.5:  # move the leading time phrase to the end
        text = f"{m.group(2)}（{m.group(1)}）"
    return text


def _clauses(sentence: str, rng: random.Random) -> list[str]:
    clauses = [c.strip() for c in re.split(r"[，,]", sentence.rstrip("。！？；")) if c.strip()]
    k = rng.randint(min(2, len(clauses)), min(4, len(clauses)))
    start = rng.randint(0, len(clauses) - k)
    chosen = clauses[start : start + k]
    if len(clauses) > k + 1 and rng.random() < 0.3:  # drop a middle clause: a non-contiguous subset
        chosen = [c for i, c in enumerate(chosen) if i != 1 or len(chosen) < 3]
    return chosen


def _faithful(s: Sentence, ctx: str, subject: str, rng: random.Random) -> str:
    text = "，".join(_paraphrase(c, rng) for c in _clauses(s.text, rng))
    if subject and rng.random() < 0.3:  # restate who acted, as answers to "X做了什么" do
        text = subject + "工会" + text
    # A second fact from elsewhere in the same context, put first or last.
    others = [m.group(0) for m in _SENT.finditer(ctx) if m.group(0) not in s.text and len(m.group(0)) >= 20]
    if others and rng.random() < 0.4:
        extra = "，".join(_paraphrase(c, rng) for c in _clauses(rng.choice(others), rng))
        text = f"{extra}；{text}" if rng.random() < 0.5 else f"{text}；{extra}"
    return rng.choice(_FRAMES) + text + "。"


def _subject(doc_text: str) -> str:
    """The place whose trade union a document is mostly about (most frequent "X市总工会")."""
    from collections import Counter

    names = Counter(re.findall(r"(?<![\u4e00-\u9fff])([\u4e00-\u9fff]{2,3}[省市州县区])总工会", doc_text))
    names.update(re.findall(r"[，。、]([\u4e00-\u9fff]{2,3}[省市州县区])总工会", doc_text))
    return names.most_common(1)[0][0] if names else ""


def _change_number(ans: str, ctx: str, rng: random.Random) -> str | None:
    figs = [f for f in re.finditer(r"\d+(?:\.\d+)?", ans)]
    rng.shuffle(figs)
    ctx_vals = {f.value for f in extract_figures(normalise(ctx))}
    for m in figs:
        digits = m.group(0)
        for _ in range(10):
            chars = list(digits)
            pos = [i for i, c in enumerate(chars) if c.isdigit()]
            op = rng.random()
            if op < 0.4 and len(pos) >= 2:
                i, j = rng.sample(pos, 2)
                chars[i], chars[j] = chars[j], chars[i]
            else:
                i = rng.choice(pos)
                chars[i] = str((int(chars[i]) + rng.choice([1, 2, 3, 7, 8, 9])) % 10)
                if i == 0 and chars[i] == "0" and len(pos) > 1:
                    chars[i] = "1"
            new = "".join(chars)
            if new != digits and float(new) not in ctx_vals and not new.startswith("0"):
                return ans[: m.start()] + new + ans[m.end() :]
    return None


_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"


def _is_person(word: str) -> bool:
    return 2 <= len(word) <= 3 and word[0] in _SURNAMES


def _wrong_entity(ans: str, ctx: str, pools: dict[str, list[str]], rng: random.Random) -> str | None:
    import jieba.posseg as ps

    words = [w for w in ps.lcut(ans) if w.flag in ("ns", "nt", "nr") and 2 <= len(w.word) <= 6]
    words = [w for w in words if w.flag != "nr" or _is_person(w.word)]
    # swap two persons/places of the answer when there are two of a kind
    for flag in ("nr", "ns"):
        same = list(dict.fromkeys(w.word for w in words if w.flag == flag))
        same = [w for w in same if not any(w != o and (w in o or o in w) for o in same)]
        if len(same) >= 2 and rng.random() < 0.5:
            a, b = same[:2]
            return ans.replace(a, "\0").replace(b, a).replace("\0", b)
    scope = re.search(r"(全国|全省|全市|省级|市级|县级)", ans)
    if scope and (not words or rng.random() < 0.4):
        alt = {"全国": "全省", "全省": "全国", "全市": "全省", "省级": "国家级", "市级": "省级", "县级": "市级"}
        repl = alt[scope.group(1)]
        if repl not in ctx:
            return ans[: scope.start()] + repl + ans[scope.end() :]
    rng.shuffle(words)
    for w in words:
        pool = [p for p in pools.get(w.flag, []) if p not in ctx and p not in w.word and w.word not in p]
        if w.flag == "ns":  # keep the administrative suffix so the swap looks plausible
            suffix = w.word[-1]
            pool = [p for p in pool if p.endswith(suffix)] or pool
        if w.flag == "nr":
            pool = [p for p in pool if _is_person(p)]
        if pool:
            return ans.replace(w.word, rng.choice(pool), 1)
    return None


def _contradiction(ans: str, ctx: str, rng: random.Random) -> str | None:
    import jieba.posseg as ps

    opts = [(a, b) for a, b in _OPPOSITES if a in ans and b not in ctx]
    if opts and rng.random() < 0.5:
        a, b = rng.choice(opts)
        return ans.replace(a, b, 1)
    toks = ps.lcut(ans)
    pos = 0
    spots = []
    for w in toks:
        if w.flag == "v" and len(w.word) >= 2 and w.word not in ("是", "有"):
            spots.append((pos, w.word))
        pos += len(w.word)
    if not spots:
        return None
    at, _verb = rng.choice(spots)
    return ans[:at] + rng.choice(_NEGATORS) + ans[at:]


def _addition(ans: str, ctx: str, pools: dict[str, list[str]], rng: random.Random) -> str:
    import jieba.posseg as ps

    tpl = rng.choice(_ADDITIONS)
    org = rng.choice([o for o in pools["nt"] if o not in ctx] or ["省总工会"])
    place = rng.choice([p for p in pools["ns"] if p not in ctx] or ["城区"])
    nouns = [w.word for w in ps.lcut(ctx) if w.flag in ("n", "vn") and len(w.word) >= 2]
    noun = rng.choice(nouns) if nouns else "该项工作"
    extra = tpl.format(
        noun=noun,
        org=org,
        place=place,
        scope=rng.choice(_SCOPES),
        pct=rng.randint(12, 95),
        money=rng.choice([500, 800, 2000, 3000]),
        year=rng.choice([2026, 2027, 2030]),
        n=rng.randint(3, 60),
        age=rng.randint(28, 45),
    )
    return ans.rstrip("。") + "，" + extra + "。"


def _other_document(ans: str, s: Sentence, sentences: list[Sentence], rng: random.Random) -> str:
    others = [o for o in sentences if o.doc != s.doc]
    o = rng.choice(others)
    clauses = [c for c in re.split(r"[，,]", o.text.rstrip("。！？；")) if len(c) >= 8]
    with_figs = [c for c in clauses if extract_figures(c)]
    if with_figs and rng.random() < 0.7:
        clauses = with_figs
    clause = rng.choice(clauses) if clauses else o.text.rstrip("。！？；")
    if rng.random() < 0.5:
        return ans.rstrip("。") + "，" + clause + "。"
    return ans + clause + "。"


def build(n: int, seed: int) -> list[dict]:
    """``n`` base sentences, each giving one faithful answer and up to five flawed ones."""
    import jieba

    jieba.setLogLevel(60)
    rng = random.Random(seed)
    docs = _documents()
    sentences = _sentences(docs)
    pools = _entity_pools(sentences)
    picked = rng.sample(sentences, min(n, len(sentences)))
    rows: list[dict] = []
    for k, s in enumerate(picked):
        ctx = _context(s, rng)
        contexts = [ctx]
        if rng.random() < 0.3:  # a distractor passage from elsewhere
            d = rng.choice(sentences)
            contexts.append(_context(d, rng))
            rng.shuffle(contexts)
        subject = _subject(docs[s.doc])
        question = f"{subject}工会在这方面做了哪些工作？" if subject else "资料中提到了哪些相关工作和数据？"
        base = _faithful(s, ctx, subject, rng)
        rows.append(dict(id=f"s{k}f", question=question, contexts=contexts, answer=base, faithful=True, flaw=None))
        variants = {
            "changed_number": _change_number(base, ctx, rng),
            "wrong_entity": _wrong_entity(base, ctx, pools, rng),
            "contradiction": _contradiction(base, ctx, rng),
            "unsupported_addition": _addition(base, ctx, pools, rng),
            "from_other_document": _other_document(base, s, sentences, rng),
        }
        for flaw, ans in variants.items():
            if ans and ans != base:
                rows.append(
                    dict(
                        id=f"s{k}{flaw[:3]}",
                        question=question,
                        contexts=contexts,
                        answer=ans,
                        faithful=False,
                        flaw=flaw,
                    )
                )
    return rows


def _fmt(report: dict) -> str:
    o = report["overall"]
    lines = [
        f"  overall  AUC {o['roc_auc']:.3f}  (n={o['n']}, faithful={o['n_faithful']}, "
        f"{report['ms_per_answer']:.1f} ms/answer)"
    ]
    for flaw, r in report["per_flaw"].items():
        lines.append(f"  {flaw:<22} AUC {r['roc_auc']:.3f}  (n={r['n']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="base sentences for the synthetic set")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--show", type=int, default=0, help="print the N worst-ranked synthetic errors")
    ap.add_argument("--dump", type=Path, help="write the synthetic rows as JSONL")
    args = ap.parse_args(argv)

    judge = OfflineJudge()
    judge.judge("", ["预热：加载分词词典。"], "预热。")  # load jieba once, outside the timings
    dev = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"dev ({DEV.relative_to(ROOT)}):")
    print(_fmt(meta_evaluate(dev, judge)))

    rows = build(args.n, args.seed)
    if args.dump:
        args.dump.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    rep = meta_evaluate(rows, judge)
    print(f"synthetic (n={args.n} sentences, seed={args.seed}):")
    print(_fmt(rep))
    if args.show:
        scores = rep["scores"]
        pos = sorted(((scores[r["id"]], r) for r in rows if r["faithful"]), key=lambda x: x[0])
        neg = sorted(((scores[r["id"]], r) for r in rows if not r["faithful"]), key=lambda x: -x[0])
        print("\nlowest faithful:")
        for sc, r in pos[: args.show]:
            print(f"  {sc:.3f} {r['answer']}")
            for c in judge.judge(r["question"], r["contexts"], r["answer"]).claims:
                if c.score < 0.9:
                    print(f"      {c.score:.2f} {c.claim} | {c.reason}")
        print("highest unfaithful:")
        base = {r["id"][: r["id"].index("f") if r["faithful"] else None]: r for r in rows if r["faithful"]}
        for sc, r in neg[: args.show]:
            b = base.get(re.sub(r"[a-z_]+$", "", r["id"]))
            print(f"  {sc:.3f} [{r['flaw']}] {r['answer']}")
            if b is not None:
                print(f"        from: {b['answer']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
