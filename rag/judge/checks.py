"""Hard checks on one claim against its aligned evidence: figures, names, negation, order.

Lexical overlap cannot tell 3234万元 from 3243万元 or 先服务后入会 from 先入会后服务,
so after alignment each claim is checked for the error types that dominate fabricated
answers over report-style text (cf. the SummaC / FactCC error taxonomy: entity, number,
negation and pronoun/role swaps). Every failed check yields an :class:`Issue` with a
multiplicative penalty and a human-readable reason:

>>> from rag.judge.align import Passage
>>> [i.reason for i in check_figures("投入资金3243万元", [Passage.build("投入资金3234万元。")], (0, 0, 10), "")]
['数字 3243万 不在资料中']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from rag.judge.align import Passage, content_bigrams
from rag.judge.lexicon import (
    ANTONYM_PAIRS,
    BOUND_SUFFIXES_LOWER,
    BOUND_SUFFIXES_UPPER,
    LIST_JOINERS,
    LOWER_BOUNDS,
    NEGATION_CUES,
    NON_NEGATING,
    NON_RESTRICTIVE,
    ORDER_PATTERNS,
    RESTRICTIVE,
    UPPER_BOUNDS,
)
from rag.judge.numbers import Figure, extract_figures, figure_label, same_value, units_compatible
from rag.judge.words import Token, tokenize

_SENT_BOUND = "。！？；\n"
_CLAUSE_BOUND = "。！？；\n，：（）()"
_QUOTED = re.compile(r"[“\"「『《]([^”\"」』》]{2,40})[”\"」』》]")

KIND_LABEL = {"person": "人名", "place": "地名", "org": "机构", "level": "地名", "name": "名称", "content": "词语"}


@dataclass(frozen=True)
class Issue:
    """One failed check: why, and how much it lowers the claim's score (a factor in (0, 1])."""

    reason: str
    penalty: float


# (passage index, start, end) of the aligned window; passage -1 means nothing aligned.
Region = tuple[int, int, int]


def _region_text(passages: list[Passage], region: Region, margin: int = 0) -> str:
    pi, s, e = region
    if pi < 0:
        return ""
    t = passages[pi].text
    return t[max(0, s - margin) : e + margin]


def _matches(f: Figure, g: Figure) -> bool:
    """Same value and compatible unit; small counts (< 10) must also name a unit on both sides."""
    if not same_value(f.value, g.value):
        return False
    if f.value < 10 and f.unit and not g.unit:
        return False
    return units_compatible(f.unit, g.unit)


# --------------------------------------------------------------------------- figures


def _near_claim(grams: set[str], text: str, pos: int, radius: int = 40) -> bool:
    """Whether the source around ``pos`` talks about the claim (30%+ of its bigrams nearby)."""
    if not grams:
        return True
    near = text[max(0, pos - radius) : pos + radius]
    return sum(bg in near for bg in grams) >= 0.3 * len(grams)


def check_figures(claim: str, passages: list[Passage], region: Region, question: str) -> list[Issue]:
    """Every figure of the claim (value + unit, 万/亿 folded) must be stated in the contexts.

    A match outside the aligned window counts only where the source around it shares the
    claim's words: the same "15日" in an unrelated sentence does not support "8月15日".
    """
    issues: list[Issue] = []
    q_figs = extract_figures(question)
    pi, s, e = region
    grams = {bg for _, bg in content_bigrams(claim) if not any(ch.isdigit() for ch in bg)}
    for f in extract_figures(claim):
        here = (
            [g for g in passages[pi].figures if _matches(f, g) and _beside(passages[pi].text, g, s, e)]
            if pi >= 0
            else []
        )
        if here:
            issue = _bound_issue(claim, f, [(passages[pi].text, g) for g in here])
            if issue is not None:
                issues.append(issue)
            continue
        if pi >= 0 and f.unit == "年" and any(_matches(f, g) for g in passages[pi].figures):
            continue  # a year restated from elsewhere in the passage frames the claim
        near = [
            (k, g)
            for k, p in enumerate(passages)
            for g in p.figures
            if _matches(f, g) and _near_claim(grams, p.text, g.start)
        ]
        if near:
            slot = _slot_rival(claim, f, passages[pi], s, e) if pi >= 0 else None
            if slot is not None:
                # 增长6.2% where the aligned sentence says 增长5.4% (6.2% belongs to another item)
                issues.append(Issue(f"数字 {figure_label(f)} 与资料 {figure_label(slot)} 不符", 0.3))
                continue
            same = any(k == pi for k, _ in near)
            issues.append(Issue(f"数字 {figure_label(f)} 不在对齐片段中", 0.9 if same else 0.8))
            continue
        if any(_matches(f, g) for g in q_figs):
            continue  # restated from the question (e.g. the year asked about)
        local = _region_text(passages, region, margin=30)
        same_val = [g for g in extract_figures(local) if same_value(f.value, g.value)]
        rival = [g for g in extract_figures(local) if g.unit and g.unit == f.unit and not same_value(f.value, g.value)]
        if same_val and rival and not any(units_compatible(f.unit, g.unit) for g in same_val):
            # 2名 where the source says 1名 (and 2个 of something else): the unit pins the slot.
            issues.append(Issue(f"数字 {figure_label(f)} 与资料 {figure_label(rival[0])} 不符", 0.25))
        elif same_val:
            issues.append(Issue(f"数字 {figure_label(f)} 的单位与资料 {figure_label(same_val[0])} 不符", 0.6))
        else:
            issues.append(Issue(f"数字 {figure_label(f)} 不在资料中", 0.15))
    if pi >= 0 and not issues:
        issues += _mixed_sentences(claim, passages[pi], s, e)
    return issues


def _sentence_index(text: str, pos: int) -> int:
    return sum(text.count(ch, 0, pos) for ch in _SENT_BOUND)


def _mixed_sentences(claim: str, p: Passage, s: int, e: int, reach: int = 60) -> list[Issue]:
    """Figures of one claim sentence taken from two source sentences, one of them for another item.

    "第三产业增加值2883亿元，增长6.2%" against "第二产业…增长6.2%；第三产业增加值2,883亿元，增长5.4%":
    each figure occurs, but the sentence holding 2883亿元 says 增长5.4% where the claim says 增长6.2%.
    """
    if any(ch in _SENT_BOUND for ch in claim):
        return []
    figs = extract_figures(claim)
    found = {
        k: {_sentence_index(p.text, g.start) for g in p.figures if _matches(f, g) and s - reach <= g.start < e + reach}
        for k, f in enumerate(figs)
    }
    for k, f in enumerate(figs):
        others = set().union(*(found[j] for j in found if j != k)) if len(found) > 1 else set()
        if not found[k] or not others or found[k] & others:
            continue
        for g in p.figures:
            if _sentence_index(p.text, g.start) in others and g.unit == f.unit and not same_value(f.value, g.value):
                before = claim[: f.start].rstrip()[-2:]
                if len(before) == 2 and p.text[: g.start].rstrip()[-2:] == before:
                    return [Issue(f"数字 {figure_label(f)} 与资料 {figure_label(g)} 不符", 0.3)]
    return []


def _beside(text: str, g: Figure, s: int, e: int, margin: int = 8) -> bool:
    """Whether figure ``g`` lies in the aligned window [s, e) or within ``margin`` of it in the same sentence."""
    if not (g.start < e + margin and g.end > s - margin):
        return False
    gap = text[g.end : s] if g.end <= s else text[e : g.start] if g.start >= e else ""
    return not any(ch in _SENT_BOUND for ch in gap)


def _slot_rival(claim: str, f: Figure, p: Passage, s: int, e: int) -> Figure | None:
    """A figure of the aligned window in the claim figure's slot: same unit, same word before it, other value."""
    before = claim[: f.start].rstrip()[-2:]
    if len(before) < 2 or not re.fullmatch(r"[\u4e00-\u9fff]{2}", before):
        return None
    for g in p.figures:
        if (
            s <= g.start < e
            and g.unit == f.unit
            and not same_value(f.value, g.value)
            and p.text[: g.start].rstrip()[-2:] == before
        ):
            return g
    return None


def figure_bound(text: str, f: Figure) -> tuple[str, str]:
    """(direction, word) of the bound stated with a figure: "lower" (不低于25万, 300余人), "upper" (最高25万, 近300人) or ""."""
    before = text[max(0, f.start - 4) : f.start]
    after = text[f.end : f.end + 3]
    for word in sorted(LOWER_BOUNDS, key=len, reverse=True):
        if before.endswith(word):
            return "lower", word
    for word in sorted(UPPER_BOUNDS, key=len, reverse=True):
        if before.endswith(word):
            return "upper", word
    for word in BOUND_SUFFIXES_LOWER:
        if after.startswith(word) or (word in "余多" and word in f.text):
            return "lower", word
    for word in BOUND_SUFFIXES_UPPER:
        if after.startswith(word):
            return "upper", word
    return "", ""


def _bound_issue(claim: str, f: Figure, sources: list[tuple[str, Figure]]) -> Issue | None:
    """The claim's bound on a figure (最高25万) must not reverse the source's (不低于25万).

    A bound the source does not state at all (至少25万 for 25万) narrows the fact a little.
    """
    direction, word = figure_bound(claim, f)
    bounds = [figure_bound(t, g) for t, g in sources]
    if not direction:
        return None
    if any(d == direction for d, _ in bounds):
        return None
    opposite = next((w for d, w in bounds if d and d != direction), "")
    if opposite:
        return Issue(f"限定 “{word}{figure_label(f)}” 与资料 “{opposite}” 相反", 0.25)
    if word in LOWER_BOUNDS or word in UPPER_BOUNDS:
        return Issue(f"限定 “{word}{figure_label(f)}” 不在资料中", 0.7)
    return None


# --------------------------------------------------------------------------- quoted names


def _fragments(name: str, corpus: list[str]) -> int:
    """How many pieces ``name`` must be cut into so each piece occurs in ``corpus`` (greedy).

    A name copied from the source is one fragment; "绿色创新城市" stitched from
    "绿色创新奖" and "文明城市" is two.
    """
    i, n = 0, 0
    while i < len(name):
        length = 1
        while i + length < len(name) and any(name[i : i + length + 1] in t for t in corpus):
            length += 1
        n += 1
        i += length
    return n


def check_quoted(claim: str, passages: list[Passage], question: str) -> list[Issue]:
    """Text in “” 《》 (programme, title, award names) must appear verbatim in the contexts."""
    issues: list[Issue] = []
    corpus = [p.text for p in passages] + [question]
    for m in _QUOTED.finditer(claim):
        name = m.group(1).strip()
        core = re.sub(r"[“”‘’\"'《》「」『』\s]", "", name)
        if len(core) < 2 or any(name in t or core in t for t in corpus):
            continue
        grams = {bg for _, bg in content_bigrams(core)}
        found = sum(any(bg in t for t in corpus) for bg in grams) / max(1, len(grams))
        if found < 0.6:
            issues.append(Issue(f"名称 “{name}” 不在资料中", 0.2))
        elif _fragments(core, corpus) > 1:
            issues.append(Issue(f"名称 “{name}” 与资料不符", 0.35))
    return issues


# --------------------------------------------------------------------------- negation


def _inside_non_negating(text: str, i: int, cue: str) -> bool:
    """Whether the cue at ``i`` is part of a word such as 不断, 无论 or 非公."""
    for w in NON_NEGATING:
        k = w.find(cue)
        while k >= 0:
            if i - k >= 0 and text.startswith(w, i - k):
                return True
            k = w.find(cue, k + 1)
    return False


_NEGATION_RE = re.compile("|".join(sorted(NEGATION_CUES, key=len, reverse=True)))


def _inside_name(text: str, i: int) -> bool:
    """Whether position ``i`` falls inside a name jieba recognises (非洲, 不丹, 无锡, 未央区)."""
    lo = max(0, i - 3)
    for t in tokenize(text[lo : i + 5]):
        if t.start <= i - lo < t.end:
            return len(t.word) >= 2 and t.kind in ("place", "person", "org", "name")
    return False


def _negation_cues(text: str) -> list[tuple[int, str]]:
    """(position, cue) of negations in ``text``, skipping words like 不断 or 非公 and names like 非洲.

    >>> _negation_cues("分布于不丹、非洲等地，尚未发现"), _negation_cues("不断提高")
    ([(11, '尚未')], [])
    """
    return [
        (m.start(), m.group(0))
        for m in _NEGATION_RE.finditer(text)
        if not _inside_non_negating(text, m.start(), m.group(0)) and not _inside_name(text, m.start())
    ]


@lru_cache(maxsize=1024)
def _negated_heads(text: str) -> frozenset[str]:
    """What is negated in ``text``: the 1-2 characters after each cue (未发生 -> 发, 发生)."""
    heads: set[str] = set()
    for j, cue in _negation_cues(text):
        k = j + len(cue)
        heads.update({text[k : k + 1], text[k : k + 2]} - {""})
    return frozenset(heads)


def _sentences_around(text: str, s: int, e: int) -> str:
    """The sentence(s) holding [s, e), extended to the sentence ends (。！？；) on both sides."""
    lo = max((text.rfind(ch, 0, s) for ch in _SENT_BOUND), default=-1) + 1
    ends = [k for k in (text.find(ch, e) for ch in _SENT_BOUND) if k >= 0]
    return text[lo : min(ends) + 1 if ends else len(text)]


def check_negation(claim: str, passages: list[Passage], region: Region) -> list[Issue]:
    """Negation polarity must agree: a claim's 未/不/没有... must be in the source, and vice versa.

    Cues are interchangeable (没有发生 is supported by 未发生): what must match is the negated word.
    Restrictive words (仅, 只有, 全部) must also come from the source.
    """
    issues: list[Issue] = []
    texts = [p.text for p in passages]
    # What the source negates around the claim's aligned sentence(s), not anywhere in the contexts:
    # "逾期未办理的" two sentences on does not license "可以不办理退款".
    pi, s, e = region
    if pi >= 0:
        ctx_heads = set(_negated_heads(_sentences_around(passages[pi].text, s, e)))
    else:
        ctx_heads = set().union(*(_negated_heads(t) for t in texts)) if texts else set()
    for i, cue in _negation_cues(claim):
        k = i + len(cue)
        head = claim[k : k + 2] if re.match(r"^[\u4e00-\u9fff]{2}$", claim[k : k + 2]) else claim[k : k + 1]
        if head and head not in ctx_heads:
            issues.append(Issue(f"否定 “{cue}{head}” 与资料不符", 0.2))
    claim_heads = _negated_heads(claim)
    window = _region_text(passages, region)
    for j, cue in _negation_cues(window):
        tail = window[j + len(cue) : j + len(cue) + 2]
        if len(tail) < 2 or not re.match(r"^[\u4e00-\u9fff]{2}$", tail):
            continue
        if tail in claim and tail not in claim_heads and tail[0] not in claim_heads:
            issues.append(Issue(f"资料为否定 “{cue}{tail}”，回答为肯定", 0.25))
    for word in RESTRICTIVE:
        if word in claim and not any(word in t for t in texts) and not any(x in claim for x in NON_RESTRICTIVE):
            issues.append(Issue(f"限定词 “{word}” 不在资料中", 0.5))
            break
    return issues


# --------------------------------------------------------------------------- antonyms


def check_antonyms(claim: str, passages: list[Passage], region: Region) -> list[Issue]:
    """A word in the claim whose opposite stands in the aligned source (增长 vs 下降)."""
    issues: list[Issue] = []
    window = _region_text(passages, region, margin=10)
    for a, b in ANTONYM_PAIRS:
        for x, y in ((a, b), (b, a)):
            if x in claim and y not in claim and y in window and x not in window:
                issues.append(Issue(f"“{x}” 与资料 “{y}” 相反", 0.25))
    return issues


# --------------------------------------------------------------------------- order


def _overlap(a: str, b: str) -> float:
    ga = {bg for _, bg in content_bigrams(a)} or set(a)
    gb = {bg for _, bg in content_bigrams(b)} or set(b)
    return len(ga & gb) / max(1, min(len(ga), len(gb)))


def check_order(claim: str, passages: list[Passage], region: Region) -> list[Issue]:
    """Ordered relations (先A后B, 从A向B, A转向B) must keep A and B in place."""
    issues: list[Issue] = []
    window = _region_text(passages, region, margin=20)
    if not window:
        return issues
    for pat in ORDER_PATTERNS:
        for m in re.finditer(pat, claim):
            a, b = m.group("a"), m.group("b")
            for pat2 in ORDER_PATTERNS:
                for n in re.finditer(pat2, window):
                    a2, b2 = n.group("a"), n.group("b")
                    straight = _overlap(a, a2) + _overlap(b, b2)
                    crossed = _overlap(a, b2) + _overlap(b, a2)
                    if crossed >= 1.0 and crossed > straight + 0.5:
                        issues.append(Issue(f"顺序颠倒：回答 “{a}→{b}”，资料 “{a2}→{b2}”", 0.2))
                        return issues
    return issues


# --------------------------------------------------------------------------- role binding


def _left_units(tokens: tuple[Token, ...], idx: int, text: str, same_kind: set[int], passages_text: str) -> list[str]:
    """Informative words right before token ``idx`` in its clause (the role it is given)."""
    units: list[str] = []
    j = idx - 1
    gap = 0
    while j >= 0 and len(units) < 3:
        t = tokens[j]
        if any(ch in _CLAUSE_BOUND for ch in t.word):
            break
        if j in same_kind:
            between = text[t.end : tokens[idx].start]
            if between.strip() and between.strip() not in LIST_JOINERS:
                break
            j -= 1
            continue
        # A word repeated all over the source (公司, 本市) cannot tell which item it labels.
        if _telling(t, passages_text):
            units.append(t.word)
        elif t.kind != "function":
            gap += len(t.word)
        if gap > 4:
            break
        j -= 1
    return units


def _left_context(text: str, start: int, others: list[tuple[int, int]], reach: int = 16) -> str:
    """The source text a role word for the item at ``start`` could sit in."""
    lo = max(0, start - reach)
    for k in range(start - 1, lo - 1, -1):
        if text[k] in _SENT_BOUND:
            lo = k + 1
            break
    for _, b in sorted(others, reverse=True):
        if lo < b <= start:
            between = text[b:start]
            if between.strip() and not all(ch in "、和及与 “”" for ch in between):
                lo = b
            break
    return text[lo:start]


def _person_spans(text: str) -> list[tuple[int, int, str]]:
    return [(t.start, t.end, t.word) for t in tokenize(text) if t.kind == "person"]


def check_binding(claim: str, passages: list[Passage], region: Region) -> list[Issue]:
    """Names and figures must keep the role/label they have in the source.

    "首席科学家张志强、“青年科技奖”获得者李红梅" does not support "首席科学家李红梅":
    both words occur, but 首席科学家 labels another name. The label of an item is the
    informative words just before it (after it too, for figures), bounded by the previous
    item unless the two are merely listed (张志强、李红梅 share one label).
    """
    pi, s, e = region
    if pi < 0:
        return []
    p = passages[pi]
    lo, hi = max(0, s - 60), min(len(p.text), e + 60)
    tokens = tokenize(claim)
    return _person_binding(claim, tokens, p.text[lo:hi]) + _figure_binding(claim, tokens, p, lo, hi)


def _person_binding(claim: str, tokens: tuple[Token, ...], local: str) -> list[Issue]:
    """A person's role word in the claim must precede that person, not another one, in the source."""
    persons = [i for i, t in enumerate(tokens) if t.kind == "person" and t.word in local]
    if not persons:
        return []
    names = {w for _, _, w in _person_spans(local)} | {tokens[i].word for i in persons}
    spans = sorted({(m.start(), m.end(), w) for w in names for m in re.finditer(re.escape(w), local)})
    bounds = [(a, b) for a, b, _ in spans]
    for i in persons:
        x = tokens[i].word
        units = _left_units(tokens, i, claim, set(persons), local)
        if not units:
            continue
        own = [_left_context(local, a, bounds) for a, _, w in spans if w == x]
        if any(u in oc for u in units for oc in own):
            continue
        for a, _, w in spans:
            hit = next((u for u in units if u in _left_context(local, a, bounds)), None) if w != x else None
            if hit:
                return [Issue(f"人名 {x} 与资料不符：资料中“{hit}”是 {w}", 0.25)]
    return []


def _telling(t: Token, passages_text: str) -> bool:
    """A content word rare in the source: it can tell which item a figure or name labels."""
    return (
        t.kind not in ("function", "number")
        and len(t.word) >= 2
        and t.word in passages_text
        and passages_text.count(t.word) <= 2
    )


def _right_units(tokens: tuple[Token, ...], start: int, same_kind: set[int], passages_text: str) -> list[str]:
    """Informative words right after position ``start`` in its clause (what a figure counts)."""
    units: list[str] = []
    gap = 0
    for j, t in enumerate(tokens):
        if t.start < start:
            continue
        if any(ch in _CLAUSE_BOUND for ch in t.word) or j in same_kind or len(units) >= 3:
            break
        if _telling(t, passages_text):
            units.append(t.word)
        elif t.kind != "function":
            gap += len(t.word)
        if gap > 4:
            break
    return units


def _right_context(
    text: str, end: int, others: list[tuple[int, int]], reach: int = 16, bounds: str = _SENT_BOUND
) -> str:
    """The source text after the item ending at ``end`` that says what it counts (up to a ``bounds`` character)."""
    hi = min(len(text), end + reach)
    for k in range(end, hi):
        if text[k] in bounds:
            hi = k
            break
    for a, _ in sorted(others):
        if end <= a < hi:
            between = text[end:a]
            if between.strip() and not all(ch in "、和及与 “”" for ch in between):
                hi = a
            break
    return text[end:hi]


def _figure_binding(claim: str, tokens: tuple[Token, ...], p: Passage, lo: int, hi: int) -> list[Issue]:
    """A figure must keep its label: 市级18场次 is not 县级18场次, 150万元维修道路 is not 170万元."""
    figs = extract_figures(claim)
    if not figs:
        return []
    local = p.text[lo:hi]
    ctx_figs = [g for g in p.figures if lo <= g.start < hi]
    spans = [(g.start - lo, g.end - lo) for g in ctx_figs]
    tok_at = {t.start: k for k, t in enumerate(tokens)}
    fig_tok = {tok_at[f.start] for f in figs if f.start in tok_at}
    issues: list[Issue] = []
    for f in figs:
        k = tok_at.get(f.start)
        if k is None or f.unit == "年" or not f.unit:  # years frame a statement; they label nothing
            continue
        left = [u for u in _left_units(tokens, k, claim, fig_tok, local) if len(u) >= 2]
        left = [u for u in left if f.start - claim.rfind(u, 0, f.start) <= len(u) + 4]
        right = [u for u in _right_units(tokens, f.end, fig_tok, local) if claim.find(u, f.end) - f.end <= 4]
        if not left and not right:
            continue
        others = [g for g in ctx_figs if not _matches(f, g) and units_compatible(f.unit, g.unit) and g.unit]
        lefts = {id(g): _left_context(local, g.start - lo, spans) for g in ctx_figs}
        rights = {id(g): _right_context(local, g.end - lo, spans) for g in ctx_figs}
        own = [g for g in ctx_figs if _matches(f, g)]
        if not own and not any(_matches(f, g) for g in p.figures):
            continue  # not in the passage at all: check_figures reports it
        if not own:
            # The figure is stated elsewhere, but here the source gives this label another value.
            slot = next(
                (g for g in others if (left and left[0] in lefts[id(g)]) or (right and right[0] in rights[id(g)])), None
            )
            if slot is not None:
                issues.append(Issue(f"数字 {figure_label(f)} 与资料 {figure_label(slot)} 不符", 0.25))
            continue
        # A label anywhere next to the stated figure (before or after it) keeps the pairing.
        own_text = "".join(lefts[id(g)] + rights[id(g)] for g in own)
        for units, ctx in ((left, lefts), (right, rights)):
            if not units or any(u in own_text for u in units):
                continue
            for g in others:
                hit = next((u for u in units if u in ctx[id(g)]), None)
                if hit:
                    reason = f"数字 {figure_label(f)} 与资料不符：资料中“{hit}”对应 {figure_label(g)}"
                    issues.append(Issue(reason, 0.35))
                    break
            if issues:
                break
    return issues


# --------------------------------------------------------------------------- junctions

_PLACE_KINDS = ("place", "level", "org")


def check_junctions(claim: str, passages: list[Passage], region: Region, question: str = "") -> list[Issue]:
    """A place/organisation must sit next to the same word as in the source.

    "浦东新区人民法院" is not supported by "黄浦区人民法院……浦东新区政府" although every word
    occurs: in the source 人民法院 follows 黄浦区. Checked on adjacent word pairs whose join is
    absent from all contexts.
    """
    window = _region_text(passages, region, margin=20)
    if not window:
        return []
    texts = [p.text for p in passages]
    tokens = [t for t in tokenize(claim) if t.kind != "function" or len(t.word) >= 2]
    issues: list[Issue] = []
    for a, b in pairwise(tokens):
        if a.kind not in _PLACE_KINDS or a.end != b.start or len(a.word) < 2 or len(b.word) < 2:
            continue
        if any(a.word + b.word in t for t in texts) or not any(a.word in t for t in texts) or a.word in question:
            continue
        q = window.find(b.word)
        while q >= 0:
            prev = [t for t in tokenize(window[max(0, q - 8) : q]) if t.kind != "function"]
            if prev and prev[-1].end == len(window[max(0, q - 8) : q]) and prev[-1].kind in _PLACE_KINDS:
                other = prev[-1].word
                if other != a.word and other not in a.word and a.word not in other:
                    issues.append(Issue(f"{KIND_LABEL[a.kind]} {a.word} 与资料 {other} 不符（{other}{b.word}）", 0.35))
                    break
            q = window.find(b.word, q + 1)
    return issues


# --------------------------------------------------------------------------- entity roles

_ENTITY_KINDS = ("place", "org", "person")


def _entity_spans(text: str, extra: set[str]) -> list[tuple[int, int, str, str]]:
    """(start, end, word, kind) of the names in ``text``, plus every occurrence of ``extra`` names."""
    spans = {(t.start, t.end, t.word, t.kind) for t in tokenize(text) if t.kind in _ENTITY_KINDS and len(t.word) >= 2}
    kinds = {w: k for _, _, w, k in spans}
    for w in extra:
        for m in re.finditer(re.escape(w), text):
            spans.add((m.start(), m.end(), w, kinds.get(w, "")))
    return sorted(spans)


def _describes(text: str, x: str, at: int) -> bool:
    """Whether the name at ``at`` is predicated of ``x`` in its clause (x是…, x为…): the same referent.

    >>> _describes("长江是亚洲第一长河，全长6300公里", "长江", 7)
    True
    """
    lo = max((text.rfind(ch, 0, at) for ch in _CLAUSE_BOUND), default=-1) + 1
    head = text[lo:at]
    k = head.find(x)
    return k >= 0 and re.search(r"(?:是|为|即|称|叫|作)", head[k + len(x) :]) is not None


def check_entity_roles(claim: str, passages: list[Passage], region: Region) -> list[Issue]:
    """A person, place or organisation must keep what the source says about it, not what it says about another.

    "北岭县的试点案例获评" against "南湖县试点案例获评……北岭县调解组织获表彰": both names
    occur, but the words right after 北岭县 in the claim follow 南湖县 in the source.
    """
    pi, s, e = region
    if pi < 0:
        return []
    p = passages[pi]
    local = p.text[max(0, s - 60) : min(len(p.text), e + 60)]
    tokens = tokenize(claim)
    ents = [k for k, t in enumerate(tokens) if t.kind in _ENTITY_KINDS and len(t.word) >= 2 and t.word in local]
    if not ents:
        return []
    kind_of = {tokens[k].word: tokens[k].kind for k in ents}
    spans = _entity_spans(local, set(kind_of))
    bounds = [(a, b) for a, b, _, _ in spans]
    same_kind = {k for k, t in enumerate(tokens) if t.kind in _ENTITY_KINDS or t.kind == "level"}
    for k in ents:
        x = tokens[k].word
        units = [
            u
            for u in _right_units(tokens, tokens[k].end, same_kind, local)
            if claim.find(u, tokens[k].end) - tokens[k].end <= 3
        ]
        if not units:
            continue
        own = "".join(_right_context(local, b, bounds) for _, b, w, _k in spans if w == x)
        if any(u in own for u in units):
            continue
        for a, b, w, kind in spans:
            if w == x or x in w or w in x or kind != kind_of[x] or w in claim or _describes(local, x, a):
                continue
            # Only the rival's own clause: after a comma the topic of the sentence speaks again
            # (长江是亚洲第一长河，发源于…: 发源 is said of 长江, not of 长河).
            hit = next((u for u in units if u in _right_context(local, b, bounds, bounds=_CLAUSE_BOUND)), None)
            if hit:
                return [Issue(f"{KIND_LABEL[kind_of[x]]} {x} 与资料不符：资料中“{hit}”属于 {w}", 0.3)]
    return []


# --------------------------------------------------------------------------- direction

_DIRECTED = (
    # sender 向/给 receiver + verb of sending, giving or thanking
    re.compile(
        r"(?P<a>[^，。；：,]{2,24}?)(?:分别|专门|特地|特意|共同|联合|也|还|都|均)?(?:向|给)(?P<b>[^，。；：,向给]{2,24}?)"
        r"(?:发来|发去|发出|寄来|寄去|送来|送去|写来|致以|致信|致谢|致函|致|表示感谢|表示|赠送|捐赠|捐助|颁发|授予|转交|报送|递交)"
    ),
)
_RECEIVED = re.compile(
    r"(?P<b>[^，。；：,]{2,24}?)(?:收到|接到|获赠)了?(?P<a>[^，。；：,]{2,24}?)(?:发来|寄来|送来|写来|赠送|捐赠)的"
)


def _directed_pairs(text: str) -> list[tuple[str, str]]:
    """(sender, receiver) of the directed relations in ``text`` (A向B发来感谢信, B收到A发来的…)."""
    pairs = [(m.group("a"), m.group("b")) for pat in _DIRECTED for m in pat.finditer(text)]
    pairs += [(m.group("a"), m.group("b")) for m in _RECEIVED.finditer(text)]
    return pairs


def check_direction(claim: str, passages: list[Passage], region: Region) -> list[Issue]:
    """Directed relations (A向B致谢, A给B发来感谢信) must keep sender and receiver in place.

    >>> from rag.judge.align import Passage
    >>> p = Passage.build("甲公司向乙医院发来感谢信。")
    >>> [i.penalty for i in check_direction("乙医院向甲公司发来感谢信", [p], (0, 0, 12))]
    [0.2]
    """
    window = _region_text(passages, region, margin=40)
    if not window:
        return []
    for a, b in _directed_pairs(claim):
        for a2, b2 in _directed_pairs(window):
            straight = _overlap(a, a2) + _overlap(b, b2)
            crossed = _overlap(a, b2) + _overlap(b, a2)
            if crossed >= 1.0 and crossed > straight + 0.5:
                return [Issue(f"方向颠倒：回答 “{a}→{b}”，资料 “{a2}→{b2}”", 0.2)]
    return []
