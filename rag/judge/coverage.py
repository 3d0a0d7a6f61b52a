"""Lexical support of a claim: which of its words the aligned evidence contains, and what replaced the rest.

Coverage is the IDF-weighted share of content words found near the aligned window (the
lexical-overlap baseline of textual entailment, cf. Glickman et al. 2005). Words that are
missing are then classified: an entity or scope word (全国 where the source says 湖南省),
a numeral word (十三五), a polarity word (停建 for 建成) or a noun substituted by an
unrelated one (机电学院 for 马克思主义学院). The substitute is found by anchoring the
claim word's neighbours in the source (:func:`_counterpart`).
"""

from __future__ import annotations

import re

from rag.judge.align import Passage
from rag.judge.checks import KIND_LABEL, Issue, Region
from rag.judge.lexicon import COMPARISON_BASES, DEICTIC_PREFIXES, DEICTIC_WORDS, LEVEL_WORDS, NEGATIVE_MORPHEMES
from rag.judge.numbers import extract_figures, same_value, units_compatible
from rag.judge.words import Token, sub_words, tokenize


def _partial(word: str, window: str) -> float:
    """Credit for a word not found verbatim: its longest piece found nearby (涌现出 -> 涌现).

    >>> round(_partial("涌现出", "涌现大批人才"), 2), _partial("派驻", "公司")
    (0.6, 0.0)
    """
    longest = max(
        (j - i for i in range(len(word)) for j in range(i + 2, len(word) + 1) if word[i:j] in window), default=0
    )
    if longest >= 2:
        return 0.9 * longest / len(word)
    return 0.2 * sum(ch in window for ch in word) / max(1, len(word))


def _spread(word: str, window: str) -> bool:
    """Whether ``word`` occurs in ``window`` with a few characters inserted (坚守岗位 in 坚守工作岗位).

    >>> _spread("坚守岗位", "节日期间坚守工作岗位的医护人员"), _spread("农民工", "外来务工人员")
    (True, False)
    """
    if len(word) < 3:
        return False
    pattern = "".join(
        re.escape(ch) + (r"[^，。；！？、]{0,3}?" if k < len(word) - 1 else "") for k, ch in enumerate(word)
    )
    m = re.search(pattern, window)
    return m is not None and len(m.group(0)) <= len(word) + 4


_PUNCT = "，。；：、！？“”‘’《》（）()「」 "
_SENT_END = "。；！？\n"
_PLACE_CHARS = set("省市县区州级镇乡村旗盟全")
_CN_NUMERALS = set("零〇一二两三四五六七八九十百千万亿")
# Characters that qualify a body by level or scope (市政府 -> 政府, 省教育厅 -> 教育厅, 总公司 -> 公司).
_QUALIFIERS = "全省市县区州旗盟镇乡村总我本该各"


def _strip_punct_left(text: str) -> str:
    return text.lstrip(_PUNCT)


def _counterpart(claim: str, start: int, end: int, window: str) -> str:
    """The source word standing where the claim has ``claim[start:end]`` (全国 -> 湖南省), if visible.

    The claim's neighbours are used as anchors: the 3 characters after the word are looked
    up in the window and the word right before them is the candidate (and symmetrically
    from the left). The punctuation between word and anchor must agree (no anchoring across
    a sentence end the claim does not have). A candidate already in the claim means the claim
    merely added a word.
    """
    word = claim[start:end]
    between = _between_anchors(claim, start, end, window)
    if between is not None:
        return "" if not between or between in claim or between in word else between
    rest = claim[end:]
    after = _strip_punct_left(rest)[:3]
    gap_claim = bool(len(rest) - len(_strip_punct_left(rest)))
    if len(after) >= 2:
        q = window.find(after)
        while q > 0:
            raw = window[max(0, q - 10) : q]
            prev = raw.rstrip(_PUNCT)
            gap = raw[len(prev) :]
            toks = [t for t in tokenize(prev) if t.kind != "function" or len(t.word) >= 2] if prev else []
            if toks and bool(gap) == gap_claim and not any(ch in _SENT_END for ch in gap):
                cand = toks[-1].word
                return "" if cand in claim or cand in word else cand
            q = window.find(after, q + 1)
    head = claim[:start]
    before = head.rstrip(_PUNCT)[-3:]
    gap_claim = len(head) != len(head.rstrip(_PUNCT))
    if len(before) >= 2:
        q = window.find(before)
        while q >= 0:
            raw = window[q + len(before) : q + len(before) + 10]
            nxt = _strip_punct_left(raw)
            gap = raw[: len(raw) - len(nxt)]
            toks = [t for t in tokenize(nxt) if t.kind != "function" or len(t.word) >= 2] if nxt else []
            if toks and bool(gap) == gap_claim and not any(ch in _SENT_END for ch in gap):
                cand = toks[0].word
                return "" if cand in claim or cand in word else cand
            q = window.find(before, q + 1)
    return ""


def _between_anchors(claim: str, start: int, end: int, window: str, reach: int = 12, anchor: int = 3) -> str | None:
    """The window text between the claim word's left and right neighbours (``anchor`` characters each), if both are found.

    "社区心理服务中心" against "社区健康管理服务中心" gives 健康管理; None when the
    neighbours do not occur close together in the window.
    """
    left = claim[:start].rstrip(_PUNCT)[-anchor:]
    right = _strip_punct_left(claim[end:])[:anchor]
    if len(left) < 2 or len(right) < 2:
        return None
    q = window.find(left)
    while q >= 0:
        a = q + len(left)
        r = window.find(right, a, a + reach + len(right))
        if r >= 0:
            span = window[a:r].strip(_PUNCT)
            if not any(ch in _SENT_END for ch in window[a:r]):
                return span
        q = window.find(left, q + 1)
    return None


def _shares_char(a: str, b: str) -> bool:
    """Whether two words look like rewordings of each other (受惠/惠及 do; 长沙/武汉 do not).

    At least half of the longer word's characters must be shared, ignoring place/level
    characters; words that differ only in a level prefix (省政府/市政府) never count.
    """
    k = 0
    while k < min(len(a), len(b)) and a[-1 - k] == b[-1 - k]:
        k += 1
    pa, pb = a[: len(a) - k], b[: len(b) - k]
    if k and pa and pb and set(pa + pb) <= _PLACE_CHARS | {"国"}:
        return False
    shared = (set(a) & set(b)) - _PLACE_CHARS
    return len(shared) * 2 >= max(len(set(a) - _PLACE_CHARS), len(set(b) - _PLACE_CHARS), 1)


def _missing_entity(claim: str, start: int, end: int, window: str, label: str, passage: str) -> Issue:
    """A claim entity absent from the contexts; worse when the source has another one in its place."""
    word = claim[start:end]
    other = _counterpart(claim, start, end, window)
    if other and _same_scope(word, other):
        return Issue(f"{label} {word} 不在资料中", 0.85)  # 全省 for 该省 / 本省: the same scope, pointed at
    if other:
        return Issue(f"{label} {word} 与资料 {other} 不符", 0.3)
    if _restates_body(word, passage, claim[:start]):
        # 市政府 as the subject where the source only says 政府: the body the text is about, named again.
        return Issue(f"{label} {word} 不在资料中", 0.85)
    if word in LEVEL_WORDS:
        # 全市 for a text that says 我市 / 本市 / 市政府 restates its scope; 全国 added to a city's text does not.
        scope = word[-1]
        local = scope in "省市州区县" and _speaks_at_level(scope, passage)
        return Issue(f"{label} {word} 不在资料中", 0.85 if local else 0.5)
    return Issue(f"{label} {word} 不在资料中", 0.3)


def _same_scope(a: str, b: str) -> bool:
    """Whether two words point at one administrative unit by a deictic prefix (全省, 该省, 本省, 我省).

    >>> _same_scope("全省", "该省"), _same_scope("全省", "全国")
    (True, False)
    """
    return len(a) == len(b) == 2 and a[1] == b[1] and a[0] in DEICTIC_PREFIXES and b[0] in DEICTIC_PREFIXES


def _restates_body(word: str, passage: str, before: str) -> bool:
    """Whether ``word`` is a level-qualified form of a body the source (or the claim before it) names bare.

    >>> _restates_body("市政府", "政府出台了实施办法。", ""), _restates_body("省政府", "市政府出台了办法。", "")
    (True, False)
    """
    head = word.lstrip(_QUALIFIERS)
    if len(head) < 2 or head == word:
        return False
    # the head must stand bare: 市政府 in the source says 市, not 省, for 省政府
    bare = re.search(rf"(?<![{_QUALIFIERS}]){re.escape(head)}", passage) is not None
    return bare or head in before


def _speaks_at_level(scope: str, passage: str) -> bool:
    """Whether the source speaks from one administrative level: 我市, 本市, or 市 opening a body's name.

    >>> _speaks_at_level("市", "本市新建学校3所。"), _speaks_at_level("市", "岳阳市新建学校3所。")
    (True, False)
    """
    return re.search(rf"(?:^|[^\u4e00-\u9fff]|[我本该全各]){scope}[\u4e00-\u9fff]", passage) is not None


def _negative(word: str) -> bool:
    return any(m in word for m in NEGATIVE_MORPHEMES)


def _missing_word(claim: str, t: Token, window: str) -> Issue | None:
    """A word absent from the sources that reverses polarity (停建 for 建成) or replaces a name."""
    # 半/成 count only beside a numeral (三成, 一半): 建成, 促成 and 造成 are verbs.
    numerals = sum(ch in _CN_NUMERALS for ch in t.word)
    numerals += sum(ch in "半成" for ch in t.word) if numerals else 0
    if len(t.word) >= 2 and numerals * 2 >= len(t.word):  # 十三五 for 十四五, 三季度 for 四季度
        return Issue(f"数字 {t.word} 不在资料中", 0.3)
    if _negative(t.word) and not _negative(window):
        return Issue(f"“{t.word}” 与资料意思相反", 0.3)
    other = _counterpart(claim, t.start, t.end, window) if len(t.word) >= 2 else ""
    if other and _negative(other) and not _negative(t.word):
        return Issue(f"“{t.word}” 与资料 “{other}” 意思相反", 0.3)
    # A noun replaced by an unrelated source noun (护士 for 货车司机, 机电 for 马克思主义):
    # synonyms usually share a character (员工/职员), different things do not.
    if not (t.flag.startswith("n") or t.flag == "l") or t.flag == "vn" or len(t.word) < 2:
        return None
    if _spread(t.word, window):
        return None  # the source only inserted a word inside it
    if not other or _shares_char(t.word, other) or len(other) < 2:
        return None
    label = "名称" if t.flag.startswith(("nr", "ns", "nt", "nz")) else "词语"
    return Issue(f"{label} {t.word} 与资料 {other} 不符", 0.4)


def _uncovered_runs(claim: str, window: str) -> list[tuple[int, int]]:
    """(start, end) of runs of 2+ Chinese characters of the claim no bigram of which is in ``window``."""
    covered = [False] * len(claim)
    for i in range(len(claim) - 1):
        if claim[i : i + 2] in window:
            covered[i] = covered[i + 1] = True
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(claim):
        j = i
        while j < len(claim) and not covered[j] and "\u4e00" <= claim[j] <= "\u9fff":
            j += 1
        if j - i >= 2:
            runs.append((i, j))
        i = max(j, i + 1)
    return runs


def _same_clause_slot(claim: str, start: int, end: int, window: str, other: str, anchor: int = 3) -> bool:
    """Whether ``other`` fills the claim word's slot inside one clause that lacks the word itself.

    A gap with punctuation, or a sentence that also holds the claim word, is reordering.
    """
    left = claim[:start].rstrip(_PUNCT)[-anchor:]
    right = _strip_punct_left(claim[end:])[:anchor]
    q = window.find(left + other + right)
    if q < 0:
        return False
    lo = max((window.rfind(ch, 0, q) for ch in _SENT_END), default=-1) + 1
    hi = min((k for k in (window.find(ch, q) for ch in _SENT_END) if k >= 0), default=len(window))
    return claim[start:end] not in window[lo:hi]


def _swapped(claim: str, a: int, b: int, other: str, window: str) -> bool:
    """Whether the claim has ``claim[a:b]`` and ``other`` in each other's places (随甲攻打乙 for 随乙攻打甲).

    Items of one enumeration (甲、丙、乙) may come in any order, so they never count.
    """
    run = claim[a:b]
    k = claim.find(other)
    back = _between_anchors(claim, k, k + len(other), window, reach=len(run) + 6)
    if back is None:
        back = _between_anchors(claim, k, k + len(other), window, reach=len(run) + 6, anchor=2)
    if back != run:
        return False
    i, j = window.find(run), window.find(other)
    lo, hi = sorted((i, j))
    between = window[lo + (len(run) if lo == i else len(other)) : hi]
    listed = not any(ch in "，。；：！？" for ch in between) and (
        "、" in between or len(between.strip("和与及或")) == 0
    )
    return not listed


def slot_swaps(claim: str, window: str) -> list[Issue]:
    """Words of the claim absent from the source where the source has another word in their slot.

    "为2000余名护士购买保险" against "为2000余名货车司机购买保险": the neighbours of the
    unmatched run anchor in the aligned window around a different word (substitution, not
    rewording: the two share no character).

    >>> [i.reason for i in slot_swaps("为2000余名护士购买保险", "为2000余名货车司机购买保险。")]
    ['词语 护士 与资料 货车司机 不符']
    """
    issues: list[Issue] = []
    tokens = tokenize(claim)
    # Candidates: runs the window lacks altogether, and nouns the window has only elsewhere.
    nouns: list[tuple[int, int]] = []
    for k, t in enumerate(tokens):
        if len(t.word) >= 2 and (t.is_entity or (t.flag.startswith("n") and t.flag != "vn")):
            nouns.append((t.start, t.end))
            prev = tokens[k - 1] if k else None
            if prev is not None and prev.end == t.start and prev.kind == "content" and len(prev.word) >= 2:
                nouns.append((prev.start, t.end))  # the modifier too: 货车司机, not just 司机
    seen: set[str] = set()
    for a, b in sorted(set(_uncovered_runs(claim, window)) | set(nouns)):
        run = claim[a:b]
        flags = [t.flag for t in tokens if t.start < b and t.end > a]
        if run in seen or all(f.startswith(("v", "a", "d", "p", "c", "u")) for f in flags):
            continue  # a reworded verb or modifier (开展 for 进行), not a swapped thing
        seen.add(run)
        if claim[max(0, a - 2) : b + 2] in window:
            continue  # the word stands in the source with its claim neighbours
        anchor = 3
        other = _between_anchors(claim, a, b, window, reach=len(run) + 6)
        if other is None:  # a bracket or a short word next to the slot: try closer anchors
            anchor = 2
            other = _between_anchors(claim, a, b, window, reach=len(run) + 6, anchor=anchor)
        if not other or len(other) < 2 or _shares_char(run, other) or set(run) & set(other):
            continue
        if other in claim:
            if _swapped(claim, a, b, other, window):
                issues.append(Issue(f"词语 {run} 与 {other} 位置互换", 0.3))
            continue
        if any(ch.isdigit() or ch in _CN_NUMERALS for ch in other + run) or any(ch in _PUNCT for ch in other):
            continue
        if not _same_clause_slot(claim, a, b, window, other, anchor):
            continue
        if any(w in DEICTIC_WORDS or (len(w) == 2 and w[0] in DEICTIC_PREFIXES) for w in (run, other)):
            continue  # 当地 for 我市: both point at the body reported on
        issues.append(Issue(f"词语 {run} 与资料 {other} 不符", 0.4))
    return issues


def lexical_support(claim: str, passages: list[Passage], region: Region, question: str) -> tuple[float, list[Issue]]:
    """IDF-weighted share of the claim's content words (and figures) found in the evidence.

    Credit per word: 1 in the aligned window, 0.75 elsewhere in the contexts, 0.6 in the
    question only, else partial credit for its longest piece nearby. Missing words that are
    entities, numerals, polarity words or substituted nouns also yield issues.

    >>> p = Passage.build("全市新建公园绿地42个。")
    >>> lexical_support("全市新建公园绿地42个", [p], (0, 0, 11), "")[0]
    1.0
    """
    pi, s, e = region
    window = passages[pi].text[max(0, s - 8) : e + 8] if pi >= 0 else ""
    texts = [p.text for p in passages]
    whole = passages[pi].text if pi >= 0 else ""
    tokens = tokenize(claim)
    figures = extract_figures(claim)
    issues: list[Issue] = []
    num = den = 0.0
    for t in tokens:
        if t.kind in ("function", "number") or any(f.start <= t.start < f.end for f in figures):
            continue
        w = max(t.weight, 0.8) if t.is_entity else t.weight
        if t.word in window:
            credit = 1.0
        elif any(t.word in x for x in texts):
            credit = 0.75
        elif question and t.word in question:
            credit = 0.6
        elif t.word in DEICTIC_WORDS:
            credit = 0.9  # 当地 / 本地 point at the place reported on, like a pronoun
        elif t.word in COMPARISON_BASES and any(b in window for b in COMPARISON_BASES):
            credit = 0.9  # 比上年 for 同比: the same baseline
        else:
            credit = max(_partial(t.word, window), 0.85 if _spread(t.word, window) else 0.0)
            issue = None
            if t.is_entity and len(t.word) >= 2:
                issue = _missing_entity(claim, t.start, t.end, window, KIND_LABEL[t.kind], whole)
            elif len(t.word) >= 3:
                for sub in sub_words(t.word):
                    if sub in LEVEL_WORDS and not any(sub in x for x in texts) and sub not in question:
                        k = t.start + t.word.index(sub)
                        issue = _missing_entity(claim, k, k + len(sub), window, "地名", whole)
                        break
            if issue is None:
                issue = _missing_word(claim, t, window)
            if issue is not None:
                issues.append(issue)
        num += w * credit
        den += w
    for f in figures:
        fw = 1.0
        if pi >= 0 and any(
            same_value(f.value, g.value) and units_compatible(f.unit, g.unit) and s - 8 <= g.start < e + 8
            for g in passages[pi].figures
        ):
            credit = 1.0
        elif any(same_value(f.value, g.value) for p in passages for g in p.figures):
            credit = 0.7
        elif any(same_value(f.value, g.value) for g in extract_figures(question)):
            credit = 0.6
        else:
            credit = 0.0
        num += fw * credit
        den += fw
    if window:
        named = " ".join(i.reason for i in issues)
        issues += [i for i in slot_swaps(claim, window) if i.reason.split()[1] not in named]
    return (num / den if den else 1.0), issues
