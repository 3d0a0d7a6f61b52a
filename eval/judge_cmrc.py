"""A faithfulness meta-evaluation set from a second genre: CMRC 2018 (Chinese Wikipedia articles).

The union sets (``eval/datasets/*faithfulness*.jsonl``) are all trade-union work reports;
this script builds the same kind of rows from encyclopedia articles, so the offline judge
can be checked on text it was not written for. For each sampled question of
``../shared/eval/cmrc2018_trial/qa.jsonl`` the context is a chunk-sized window (about 380
characters) of the article around the gold span, sometimes with a distractor chunk from
another article; the faithful answer quotes the evidence sentence (the clauses holding the
gold span), sometimes lightly reworded or framed; each flawed answer is one controlled edit
of it:

* changed_number       -- one figure (not a date) with its digits or Chinese numeral changed;
* wrong_date           -- a year, month or day changed to one the context does not give;
* wrong_entity         -- a person / place / organisation / other name replaced by another of
                          the same kind from the same article (else the corpus), or two swapped;
* contradiction        -- a negation inserted before a verb (or removed), or a word turned into
                          its opposite;
* unsupported_addition -- a plausible clause with invented details appended;
* from_other_document  -- a clause of a sentence of another article appended.

Edits are seeded (``--seed``), use their own word lists (none from ``rag/judge``) and are
checked to change a fact the context does not state, so every flawed row is unfaithful.

Run:  python eval/judge_cmrc.py --write            (writes eval/datasets/cmrc_faithfulness.jsonl)
      rag eval meta eval/datasets/cmrc_faithfulness.jsonl
      python eval/judge_cmrc.py --n 150 --seed 2 --skip-questions 150 --show 5   (a fresh sample)
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CMRC = ROOT.parent / "shared" / "eval" / "cmrc2018_trial"
OUT = ROOT / "eval" / "datasets" / "cmrc_faithfulness.jsonl"

_SENT = re.compile(r"[^。！？]+(?:[。！？]+[”’」』）)]*|$)")
_CLAUSE = re.compile(r"(?:[^，；,;]|(?<=\d),(?=\d))+[，；,;]?")  # 1,520 is one figure
_FRAMES = ["", "", "", "", "根据资料，", "资料显示，", "据介绍，"]
# Rewordings that keep the fact (the generator's own list; none is taken from rag/judge).
_REWRITES = [
    ("位于", "地处"),
    ("以及", "和"),
    ("并且", "并"),
    ("但是", "但"),
    ("曾经", "曾"),
    ("因为", "由于"),
    ("称为", "叫做"),
    ("被称为", "被叫做"),
    ("目前", "现在"),
    ("其中", "其中，"),
    ("主要", ""),
    ("通常", "一般"),
    ("非常", "很"),
    ("属于", "归属"),
]
_NEGATORS = ["不", "没有", "并未", "从未", "未"]
_OPPOSITES = [
    ("增加", "减少"),
    ("上升", "下降"),
    ("最大", "最小"),
    ("最高", "最低"),
    ("最早", "最晚"),
    ("最多", "最少"),
    ("之前", "之后"),
    ("以前", "以后"),
    ("北部", "南部"),
    ("东部", "西部"),
    ("南部", "北部"),
    ("西部", "东部"),
    ("成功", "失败"),
    ("胜利", "失败"),
    ("支持", "反对"),
    ("允许", "禁止"),
    ("可以", "不能"),
    ("能够", "无法"),
    ("包括", "不包括"),
    ("同意", "拒绝"),
    ("开始", "结束"),
    ("加入", "退出"),
    ("较高", "较低"),
    ("较大", "较小"),
    ("大量", "少量"),
    ("首次", "最后一次"),
]
_ADDITIONS = [
    "其中约{pct}%分布在{place}",
    "并于{year}年被{org}列为重点保护对象",
    "这一说法最早由{person}于{year}年提出",
    "{year}年后又迁至{place}",
    "此后被{org}以{money}万美元收购",
    "目前由{org}负责日常管理",
    "并在{place}设有{n}个分支机构",
    "是{place}最早的同类{noun}之一",
    "每年吸引约{n}万名游客前来参观",
    "{person}曾在{year}年对此作过系统研究",
    "总数在{year}年达到{n}万左右",
    "后来还被改编成了同名电视剧",
    "并因此获得了{org}颁发的年度大奖",
    "当地政府计划在{year}年前将其扩建一倍",
]


@dataclass
class Item:
    qid: str
    question: str
    span: str
    doc: str  # source file name
    title: str
    body: str
    start: int  # span start in body


def _load(cmrc: Path) -> tuple[list[Item], dict[str, tuple[str, str]]]:
    docs: dict[str, tuple[str, str]] = {}
    for f in sorted((cmrc / "docs").glob("*.txt")):
        title, _, body = f.read_text(encoding="utf-8").partition("\n")
        docs[f.name] = (title.strip(), body.strip().replace("\n", ""))
    items: list[Item] = []
    for line in (cmrc / "qa.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        title, body = docs[r["source_file"]]
        span = r["answer"].strip()
        at = body.find(span)
        if at < 0 or not span or not r["question"].strip():
            continue
        items.append(Item(r["id"], r["question"].strip(), span, r["source_file"], title, body, at))
    return items, docs


def _sentences(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _SENT.finditer(text) if m.group(0).strip()]


def _evidence(it: Item) -> tuple[int, int]:
    """(start, end) in the body of the clauses of the sentence(s) holding the gold span."""
    sents = _sentences(it.body)
    a = next((s for s, e in sents if s <= it.start < e), it.start)
    end = it.start + len(it.span)
    b = next((e for s, e in sents if s < end <= e), end)
    if b - a <= 120:
        return a, b
    # A long sentence: keep the clauses around the span (and one neighbour on each side).
    clauses = [(a + m.start(), a + m.end()) for m in _CLAUSE.finditer(it.body[a:b])]
    idx = [k for k, (s, e) in enumerate(clauses) if s < end and e > it.start]
    lo, hi = max(0, idx[0] - 1), min(len(clauses) - 1, idx[-1] + 1)
    return clauses[lo][0], clauses[hi][1]


def _context(it: Item, ev: tuple[int, int], rng: random.Random, size: int = 380) -> str:
    """A chunk-sized window of whole sentences around the evidence (as retrieval would return)."""
    sents = _sentences(it.body)
    k0 = next(k for k, (s, e) in enumerate(sents) if s <= ev[0] < e)
    k1 = next((k for k, (s, e) in enumerate(sents) if s < ev[1] <= e), k0)
    lo, hi = k0, k1
    budget = size - (sents[k1][1] - sents[k0][0])
    before = rng.randint(0, max(0, budget))
    while lo > 0 and sents[k0][0] - sents[lo - 1][0] <= before:
        lo -= 1
    while hi + 1 < len(sents) and sents[hi + 1][1] - sents[lo][0] <= size:
        hi += 1
    text = it.body[sents[lo][0] : sents[hi][1]]
    return (it.title + "\n" + text) if lo == 0 else text


def _reword(text: str, rng: random.Random) -> str:
    for a, b in _REWRITES:
        if a in text and rng.random() < 0.4:
            text = text.replace(a, b, 1)
    return text


_PRONOUN = re.compile(r"^(?:它|他|她|牠|其|该[\u4e00-\u9fff]{0,3}?(?=[是为在于由以被共有，]))")


def _faithful(it: Item, ev: tuple[int, int], ctx: str, rng: random.Random) -> str:
    """The evidence clauses, as an answer would restate them (a few fact-keeping edits)."""
    text = it.body[ev[0] : ev[1]].strip().rstrip("，；,;。！？")
    clauses = [m.group(0) for m in _CLAUSE.finditer(text)]
    if len(clauses) >= 3 and rng.random() < 0.4:  # keep the clauses with the span (and the first)
        lo = text.find(it.span)
        keep, pos = [], 0
        for k, c in enumerate(clauses):
            if k == 0 or (pos < lo + len(it.span) and pos + len(c) > lo):
                keep.append(c)
            pos += len(c)
        if len(keep) < len(clauses):
            text = "".join(c if c.endswith(("，", "；", ",", ";")) or c is keep[-1] else c + "，" for c in keep)
            text = text.rstrip("，；,;")
    if rng.random() < 0.3:  # drop parentheses (glosses, foreign names)
        text = re.sub(r"[（(][^（()）]{0,40}[)）]", "", text)
    m = _PRONOUN.match(text)
    if m and it.title in ctx and rng.random() < 0.7:  # name the subject the pronoun points at
        text = it.title + text[m.end() :]
    if rng.random() < 0.2:
        text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 4,490 -> 4490
    if rng.random() < 0.5:
        kept = _reword(text, rng)
        if it.span in kept or rng.random() < 0.5:  # a rewording may touch the span: keep it sometimes
            text = kept
    return rng.choice(_FRAMES) + text + "。"


# ------------------------------------------------------------------ entity pools


def _posseg(text: str) -> list[tuple[str, str]]:
    import jieba.posseg as ps

    return [(w.word, w.flag) for w in ps.lcut(text)]


_KINDS = {"nr": "nr", "nrt": "nr", "nrfg": "nr", "ns": "ns", "nt": "nt", "nz": "nz"}


def _names(text: str) -> list[tuple[str, str]]:
    """(word, kind) of the names jieba tags in ``text`` (kinds nr / ns / nt / nz)."""
    out = []
    for w, f in _posseg(text):
        kind = _KINDS.get(f)
        if kind and 2 <= len(w) <= 10 and re.search(r"[\u4e00-\u9fff]", w):
            out.append((w, kind))
    return out


def _pools(docs: dict[str, tuple[str, str]]) -> tuple[dict[str, list[str]], dict[str, dict[str, list[str]]]]:
    corpus: dict[str, set[str]] = {k: set() for k in ("nr", "ns", "nt", "nz")}
    per_doc: dict[str, dict[str, list[str]]] = {}
    for name, (title, body) in docs.items():
        found: dict[str, set[str]] = {k: set() for k in corpus}
        for w, kind in _names(title + "。" + body):
            found[kind].add(w)
            corpus[kind].add(w)
        per_doc[name] = {k: sorted(v) for k, v in found.items()}
    return {k: sorted(v) for k, v in corpus.items()}, per_doc


# ------------------------------------------------------------------ edits

_DATE = re.compile(r"(?<![\d.])(\d{1,4})(年代|年|月|日)")
_CN_NUM = "一二两三四五六七八九十"
_CN_COUNT = re.compile(
    rf"(?<![{_CN_NUM}第])([{_CN_NUM}])(个|种|位|名|次|座|条|只|部|所|家|项|类|支|届|代|世纪|层|座|门|本|次)"
)


def _numbers(text: str) -> list[re.Match[str]]:
    """Arabic figures that are not dates (a year, month, day or decade)."""
    out = []
    for m in re.finditer(r"(?<![\d.A-Za-z])\d+(?:\.\d+)?(?![\d.]*[A-Za-z])", text):
        if re.match(r"(年代|年|月|日|号)", text[m.end() : m.end() + 2]):
            continue
        out.append(m)
    return out


def _ctx_numbers(ctx: str) -> set[str]:
    return set(re.findall(r"\d+(?:\.\d+)?", ctx))


def _mutate_digits(digits: str, rng: random.Random) -> str:
    chars = list(digits)
    pos = [i for i, c in enumerate(chars) if c.isdigit()]
    if len(pos) >= 2 and rng.random() < 0.4:
        i, j = rng.sample(pos, 2)
        chars[i], chars[j] = chars[j], chars[i]
    else:
        i = rng.choice(pos)
        chars[i] = str((int(chars[i]) + rng.choice([1, 2, 3, 4, 6, 7, 8, 9])) % 10)
    new = "".join(chars)
    if len(new) > 1 and new[0] == "0":
        new = "1" + new[1:]
    return new


def _change_number(ans: str, ctx: str, rng: random.Random) -> str | None:
    known = _ctx_numbers(ctx)
    figs = _numbers(ans)
    rng.shuffle(figs)
    for m in figs:
        for _ in range(12):
            new = _mutate_digits(m.group(0), rng)
            if new != m.group(0) and new not in known:
                return ans[: m.start()] + new + ans[m.end() :]
    counts = list(_CN_COUNT.finditer(ans))
    rng.shuffle(counts)
    for m in counts:
        alts = [c for c in "二三四五六七八九" if c != m.group(1) and c + m.group(2) not in ctx]
        if alts and m.group(1) != "一":
            return ans[: m.start(1)] + rng.choice(alts) + ans[m.end(1) :]
    return None


_CN_ERA = re.compile(r"(?<=[\u4e00-\u9fff])([元一二三四五六七八九十]{1,3})年")


def _wrong_date(ans: str, ctx: str, rng: random.Random) -> str | None:
    known = _ctx_numbers(ctx)
    dates = list(_DATE.finditer(ans))
    rng.shuffle(dates)
    for m in dates:
        value, unit = int(m.group(1)), m.group(2)
        for _ in range(12):
            if unit in ("年", "年代") and value >= 100:
                step = 10 if unit == "年代" else rng.choice([1, 2, 3, 5, 10, 20, 30, 100])
                new = value + rng.choice([-1, 1]) * step
            elif unit == "月":
                new = rng.randint(1, 12)
            elif unit == "日":
                new = rng.randint(1, 28)
            else:  # a small year count (3年) is a duration, not a date
                break
            if new > 0 and new != value and str(new) not in known:
                return ans[: m.start(1)] + str(new) + ans[m.end(1) :]
    eras = list(_CN_ERA.finditer(ans))
    rng.shuffle(eras)
    for m in eras:
        alts = [c for c in "二三四五六七八九" if c not in m.group(1) and m.group(1)[:-1] + c + "年" not in ctx]
        if alts and m.group(1)[-1] in "元一二三四五六七八九十" and len(m.group(1)) <= 3:
            return ans[: m.end(1) - 1] + rng.choice(alts) + ans[m.end(1) :]
    return None


def _fits(p: str, w: str, ans: str, ctx: str, in_ctx: bool) -> bool:
    """Whether name ``p`` can replace ``w``: another name, not in the answer (nor the context unless allowed)."""
    return (in_ctx or p not in ctx) and p not in w and w not in p and p not in ans


def _wrong_entity(
    ans: str,
    ctx: str,
    doc_pool: dict[str, list[str]],
    pool: dict[str, list[str]],
    span: str,
    rng: random.Random,
) -> str | None:
    names = list(dict.fromkeys(_names(ans)))
    names = [(w, k) for w, k in names if not any(w != o and w in o for o, _ in names)]
    # two names of one kind in the answer: swap them
    for kind in ("nr", "ns"):
        same = [w for w, k in names if k == kind]
        if len(same) >= 2 and rng.random() < 0.3:
            a, b = same[:2]
            (i, x), (j, _) = sorted(((ans.find(a), a), (ans.find(b), b)))
            between = ans[i + len(x) : j]
            if len(between.strip("、和与及或以“”《》 ")) <= 1 or (
                "、" in between and not re.search("[，；。]", between)
            ):
                continue  # items of one enumeration: swapping them changes nothing
            swapped = ans.replace(a, "\0").replace(b, a).replace("\0", b)
            if swapped != ans:
                return swapped
    # prefer a name inside the gold span
    rng.shuffle(names)
    names.sort(key=lambda x: x[0] not in span)
    for w, kind in names:
        in_ctx = rng.random() < 0.25  # sometimes a name the context gives for something else
        cands = [p for p in doc_pool.get(kind, []) if _fits(p, w, ans, ctx, in_ctx)]
        if not cands or rng.random() < 0.3:
            cands = [p for p in pool.get(kind, []) if _fits(p, w, ans, ctx, in_ctx)]
            if kind in ("ns", "nt"):  # keep the last character (省, 市, 国, 局 ...) so the swap looks plausible
                cands = [p for p in cands if p[-1] == w[-1]] or cands
            if kind == "nr":
                cands = [p for p in cands if abs(len(p) - len(w)) <= 1] or cands
        if cands:
            return ans.replace(w, rng.choice(cands), 1)
    return None


def _contradiction(ans: str, ctx: str, span: str, rng: random.Random) -> str | None:
    opts = [(a, b) for a, b in _OPPOSITES if a in ans and b not in ctx]
    if opts and rng.random() < 0.5:
        a, b = rng.choice(opts)
        return ans.replace(a, b, 1)
    # an existing negation removed
    for neg, plain in (("没有", "有"), ("并不", ""), ("不是", "是"), ("不能", "能"), ("无法", "能够")):
        if neg in ans and rng.random() < 0.5:
            return ans.replace(neg, plain, 1)
    pos = 0
    spots: list[int] = []
    lo = ans.find(span)
    for w, f in _posseg(ans):
        if f == "v" and len(w) >= 2 and w not in ("是", "有", "为", "成为") and ans[pos - 1 : pos] not in "不未没":
            spots.append(pos)
        pos += len(w)
    negated = [m.start() for m in re.finditer(r"[不未没无非]", ans)]
    spots = [p for p in spots if not any(abs(p - q) <= 12 for q in negated)]
    near = [p for p in spots if lo <= p <= lo + len(span)] or spots
    if near:
        at = rng.choice(near)
        return ans[:at] + rng.choice(_NEGATORS) + ans[at:]
    m = re.search(r"是(?!否)", ans)
    if m:
        return ans[: m.start()] + "不是" + ans[m.end() :]
    return None


def _addition(ans: str, ctx: str, pool: dict[str, list[str]], rng: random.Random) -> str:
    def pick(kind: str, fallback: str) -> str:
        cands = [p for p in pool.get(kind, []) if p not in ctx]
        return rng.choice(cands) if cands else fallback

    nouns = [w for w, f in _posseg(ctx) if f == "n" and len(w) >= 2]
    extra = rng.choice(_ADDITIONS).format(
        pct=rng.randint(12, 88),
        place=pick("ns", "北部山区"),
        org=pick("nt", "国家博物馆"),
        person=pick("nr", "李明"),
        year=rng.randint(1890, 2015),
        money=rng.choice([120, 450, 800, 3200]),
        n=rng.randint(3, 60),
        noun=rng.choice(nouns) if nouns else "建筑",
    )
    return ans.rstrip("。") + "，" + extra + "。"


def _other_document(ans: str, it: Item, items: list[Item], rng: random.Random) -> str:
    while True:
        o = rng.choice(items)
        if o.doc != it.doc:
            break
    sents = [o.body[s:e].strip().rstrip("。！？") for s, e in _sentences(o.body)]
    sents = [s for s in sents if 12 <= len(s) <= 90] or [o.body[:60]]
    with_figs = [s for s in sents if re.search(r"\d", s)]
    if with_figs and rng.random() < 0.6:
        sents = with_figs
    clause = rng.choice(sents)
    return ans.rstrip("。") + ("，" if rng.random() < 0.5 else "。") + clause + "。"


# ------------------------------------------------------------------ build


FLAWS = ("changed_number", "wrong_date", "wrong_entity", "contradiction", "unsupported_addition", "from_other_document")


def build(n: int = 150, seed: int = 1, skip: int = 0, cmrc: Path = CMRC) -> list[dict[str, Any]]:
    """Rows for ``n`` sampled questions (after skipping the first ``skip`` of the shuffled order):
    one faithful answer each and up to six flawed ones."""
    import jieba

    jieba.setLogLevel(60)
    items, docs = _load(cmrc)
    pool, per_doc = _pools(docs)
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    rows: list[dict[str, Any]] = []
    k = 0
    for idx in order[skip:]:
        if k >= n:
            break
        it = items[idx]
        rng = random.Random(f"{seed}:{it.qid}")
        ev = _evidence(it)
        if len(it.body[ev[0] : ev[1]]) < 10:
            continue
        ctx = _context(it, ev, rng)
        contexts = [ctx]
        if rng.random() < 0.3:  # a distractor chunk from another article
            other = rng.choice([x for x in items if x.doc != it.doc])
            contexts.append(_context(other, _evidence(other), rng))
            rng.shuffle(contexts)
        base = _faithful(it, ev, ctx, rng)
        rid = f"cmrc{k:03d}"
        common = {"question": it.question, "contexts": contexts, "source": it.qid}
        rows.append({"id": f"{rid}_ok", **common, "answer": base, "faithful": True, "flaw": None})
        variants = {
            "changed_number": _change_number(base, ctx, rng),
            "wrong_date": _wrong_date(base, ctx, rng),
            "wrong_entity": _wrong_entity(base, ctx, per_doc[it.doc], pool, it.span, rng),
            "contradiction": _contradiction(base, ctx, it.span, rng),
            "unsupported_addition": _addition(base, ctx, pool, rng),
            "from_other_document": _other_document(base, it, items, rng),
        }
        for flaw, ans in variants.items():
            if ans and ans != base:
                rows.append({"id": f"{rid}_{flaw}", **common, "answer": ans, "faithful": False, "flaw": flaw})
        k += 1
    return rows


def _fmt(report: dict[str, Any]) -> str:
    o = report["overall"]
    lines = [f"  overall                AUC {o['roc_auc']:.3f}  (n={o['n']}, faithful={o['n_faithful']})"]
    for flaw, r in report["per_flaw"].items():
        lines.append(f"  {flaw:<22} AUC {r['roc_auc']:.3f}  (n={r['n']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--n", type=int, default=150, help="questions to sample")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-questions", type=int, default=0, help="skip the first N of the shuffled questions")
    ap.add_argument("--cmrc", type=Path, default=CMRC, help="the cmrc2018_trial folder")
    ap.add_argument("--write", nargs="?", const=OUT, type=Path, help=f"write the rows as JSONL (default {OUT.name})")
    ap.add_argument("--show", type=int, default=0, help="judge the rows and print the N worst-ranked of each side")
    args = ap.parse_args(argv)

    rows = build(args.n, args.seed, args.skip_questions, args.cmrc)
    if args.write:
        args.write.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        print(f"wrote {len(rows)} rows to {args.write}")
    if args.show or not args.write:
        from rag.judge import OfflineJudge, meta_evaluate

        judge = OfflineJudge()
        rep = meta_evaluate(rows, judge)
        print(_fmt(rep))
        scores = rep["scores"]
        pos = sorted((r for r in rows if r["faithful"]), key=lambda r: scores[r["id"]])
        neg = sorted((r for r in rows if not r["faithful"]), key=lambda r: -scores[r["id"]])
        for title, side in (("lowest faithful", pos), ("highest unfaithful", neg)):
            if args.show:
                print(f"\n{title}:")
            for r in side[: args.show]:
                print(f"  {scores[r['id']]:.3f} [{r['flaw'] or 'ok'}] {r['answer']}")
                for c in judge.judge(r["question"], r["contexts"], r["answer"]).claims:
                    if c.score < 0.9:
                        print(f"      {c.score:.2f} {c.claim} | {c.reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
