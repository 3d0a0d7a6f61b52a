"""Offline extractive answers: the clauses of the retrieved passages that answer the question.

No model is needed. The question is read for what it asks (a figure, a person, a name, a
list, a comparison) and for its constraints (places, years); every passage is cut into
sentences and clauses; windows of one to three adjacent clauses are scored by the
question's content words they hold (weighted by rarity), the presence of the asked-for
kind of answer, the passage's fit with the constraints and its retrieval rank. The best
window per asked thing is quoted as written and marked with ``[n]``:

>>> from rag.records import Passage
>>> p = Passage("p1", "开展宣讲280余场。发放职工医疗互助金3234万元，惠及职工1.2万人次。", "a.txt",
...             "铜仁市总工会2025年工作综述", (), 1.0, meta={"place": "铜仁市", "year": "2025"})
>>> ExtractiveAnswerer().answer("2025年铜仁市发放了多少医疗互助金？", [p]).text
'发放职工医疗互助金3234万元[1]。'

For a 多少/几 question the window must also hold a figure that measures what is asked
(see "figure fit"): the asked thing written in the phrase the figure is bound to, and a
counter that fits the asked one (人次 does not count 名 of 劳模, 个 of 基地 not 元). The
best-scored window without such a figure gives way to one with it, or the need is marked
unanswered ("figure_fit" of its ``NeedResult``).

``analyze`` exposes the scored windows; ``rag.answer.refusal`` reads them to decide
whether the passages answer at all.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rag.answer.prompt import REFUSAL
from rag.records import Answer, Citation, Passage
from rag.settings import Settings

__all__ = [
    "Analysis",
    "ExtractiveAnswerer",
    "FigureFit",
    "NeedResult",
    "QuestionInfo",
    "Window",
    "analyze",
    "asked_measure",
    "clause_spans",
    "comparison_queries",
    "figure_fit",
    "find_places",
    "find_years",
    "has_quantity",
    "parse_question",
    "place_stem",
    "sentence_spans",
    "without_constraints",
]

# --------------------------------------------------------------------------- lexicon

# Words that ask rather than say: dropped from the question's content words.
QUESTION_WORDS = frozenset(
    """多少 几 几个 几名 几人 几项 几家 哪些 哪几 哪个 哪位 哪家 哪所 哪里 哪 什么 谁 叫 叫做 称为 是 是否 有 有没有 吗 呢 吧
    啊 如何 怎样 怎么 分别 一共 共 总共 总计 合计 请问 请 具体 主要 都 了 的 地 得 着 过 和 与 及 以及 或 在 为 对 把 被 将 等
    也 就 而 并 之 其 这 那 此 该 各 从 到 向 于 给 让 由 个 名 人 家 场 次 份 件 户 项 钱 年 月 日 号 多 少 达到 达 计 约 哪一
    指 包括 包含 当中 其中 期间 以来 中 上 下 里 内 可以 能 能够 要 会 所 方面 情况 相关 有关 一下 呢 么 还 又 再 最""".split()
)
# Words too common in these reports to identify what is asked: they count at 0.3 weight
# and never stand for the asked metric.
_GENERIC = frozenset("工会 总工会 职工 全市 全省 全区 工作 开展 组织 通过 进行 活动 参加 举办 提供 服务 推动".split())

# Provinces, municipalities and large cities: places a question may name that the corpus lacks.
GAZETTEER = frozenset(
    """北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州 云南
    陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门 石家庄 太原 沈阳 长春 哈尔滨 南京 杭州 合肥 福州 南昌 济南 郑州
    武汉 长沙 广州 海口 成都 贵阳 昆明 西安 兰州 西宁 呼和浩特 南宁 拉萨 银川 乌鲁木齐 深圳 大连 青岛 宁波 厦门 苏州 无锡
    佛山 东莞 温州 珠海 汕头 洛阳 徐州 烟台 唐山 包头 大同 桂林 三亚 遵义 六盘水 安顺 毕节 铜仁 凯里 都匀 兴义""".split()
)
_PLACE_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "新区", "地区", "省", "市", "区", "县", "州", "盟", "旗")
_NOT_PLACE_START = tuple("全我本各该城省市区县地社园小街景乡镇村州其两三四五多此每某原在和与年这那单哪几什")
_NOT_PLACES = frozenset(
    "全国 中国 中华 国家 外地 本地 全区 全市 全省 城区 社区 园区 景区 新区 地区 辖区 片区 山区 开发区 管区".split()
)

_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:\s*[-–—~至到]\s*((?:19|20)\d{2}))?\s*年")
_ANY_YEAR_RE = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_QUOTE_RE = re.compile(r"[“\"「『《]([^”\"」』》]{1,40})[”\"」』》]")

# A figure with its unit: 3234万元, 2.59万人次, 85%, 280余场, 两批次.
_UNITS = (
    "人次|场次|批次|万元|亿元|平方米|公里|小时|个月|余人|元|人|名|个|家|场|次|份|件|户|项|支|所|座|套|批|条|位|台|处|期|天|篇|部|本|册|"
    "节|届|倍|亩|吨|岗|辆|间|门|类|种|组|队|对|张|幅|首|轮|期|单|笔|块|栋|点|站|室|团|班|课|堂|万|亿"
)
_QTY_RE = re.compile(
    r"(?<![\d.第])(?:\d+(?:[.,]\d+)*\s*(?:[余多]?\s*[万亿千百]*\s*[余多]?\s*(?:" + _UNITS + r")|[%％‰])"
    r"|[两三四五六七八九十][十百千万]?(?:" + _UNITS + r"))"
)
_UNIT_OF_QUESTION = re.compile(
    r"(?:多少|几)\s*(钱|元|人次|场次|个|名|人|家|场|次|份|件|户|项|支|所|座|套|批|条|位|台|处|天|种|类)"
)
_UNIT_EQUIV = {"人": "人名", "名": "人名位", "钱": "元", "元": "元", "个": "个", "场": "场", "次": "次"}

_TERMINATORS = "。！？!?"
_CLAUSE_SEPS = "，,；;：:"
_OPENERS = "“「『《（(【〔"
_CLOSERS = "”」』》）)】〕"
_SPACE_RE = re.compile(r"\s+")
_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}

# Characters found in most sentences of a trade-union report: no evidence of a paraphrase.
_COMMON_CHARS = frozenset(
    "工会职的了是在和与及全市省区县年月日人个名家等一二三四五六七八九十有为对把被将中上下大小多少开展"
)
CHAR_CREDIT = 0.25

_jieba_lock = threading.Lock()
_jieba_ready = False


def _jieba() -> Any:
    """jieba, initialised once and quietly."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                import logging

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    return jieba


def _fold(text: str) -> str:
    """Full-width ASCII to half-width, same length: "３２３４" -> "3234"."""
    return text.translate(_FULLWIDTH)


def _is_cjk(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff"


# --------------------------------------------------------------------------- splitting


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text``; a long line broken mid-sentence is joined to the next.

    >>> t = "凯里市总工会协调住" * 8 + "\\n\\n　　建部门提供20套公租房。短标题\\n正文。"
    >>> [t[a:b][-8:] for a, b in sentence_spans(t)]
    ['供20套公租房。', '短标题', '正文。']
    """
    spans: list[tuple[int, int]] = []
    n = len(text)
    start = i = 0
    line_start = 0
    while i < n:
        c = text[i]
        if c == "\n":
            line = text[line_start:i].strip()
            j = i
            while j < n and text[j].isspace():
                j += 1
            cont = len(line) >= 60 and line[-1] not in _TERMINATORS + _CLOSERS + "；;：:" and j < n and _is_cjk(text[j])
            if cont:
                i = j
                line_start = j
                continue
            if text[start:i].strip():
                spans.append((start, i))
            start = line_start = i = j
            continue
        if c in _TERMINATORS:
            j = i + 1
            while j < n and (text[j] in _TERMINATORS or text[j] in _CLOSERS):
                j += 1
            if text[start:j].strip():
                spans.append((start, j))
            i = start = j
            continue
        i += 1
    if text[start:].strip():
        spans.append((start, n))
    out = []
    for a, b in spans:
        seg = text[a:b]
        lead = len(seg) - len(seg.lstrip())
        trail = len(seg) - len(seg.rstrip())
        if b - trail > a + lead:
            out.append((a + lead, b - trail))
    return out


def clause_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Clause spans of ``text[start:end]``, split at ，；： outside quotes and brackets.

    >>> t = "联合人社部门开展行动，指导企业签订“合同，协议”68份。"
    >>> [t[a:b] for a, b in clause_spans(t, 0, len(t))]
    ['联合人社部门开展行动，', '指导企业签订“合同，协议”68份。']
    """
    out: list[tuple[int, int]] = []
    depth = 0
    a = start
    for i in range(start, end):
        c = text[i]
        if c in _OPENERS:
            depth += 1
        elif c in _CLOSERS:
            depth = max(0, depth - 1)
        elif c in _CLAUSE_SEPS and depth == 0 and i + 1 < end:
            if text[a : i + 1].strip():
                out.append((a, i + 1))
            a = i + 1
    if text[a:end].strip():
        out.append((a, end))
    return out


_QUOTED_SPAN_RE = re.compile(
    r"“[^”]{0,40}”|‘[^’]{0,40}’|「[^」]{0,40}」|『[^』]{0,40}』|《[^》]{0,60}》|\"[^\"]{0,40}\""
)
_CN_NUMERALS = "一二两三四五六七八九十百千"


def _figure_matches(folded: str) -> list[re.Match[str]]:
    """The figures of folded text: ``_QTY_RE`` matches, less labels written with numerals.

    A Chinese numeral with a counter inside quotes (“三位一体”, “四个意识”), after 第
    (第十八次) or in ``X位一体`` names a slogan or an ordinal, not an amount.
    """
    out = []
    quoted: list[tuple[int, int]] | None = None
    for m in _QTY_RE.finditer(folded):
        s = m.start()
        if not folded[s].isdigit():
            if quoted is None:
                quoted = [(q.start(), q.end()) for q in _QUOTED_SPAN_RE.finditer(folded)]
            if any(a < s < b for a, b in quoted) or folded.startswith("一体", m.end()):
                continue
            k = s
            while k > 0 and folded[k - 1] in _CN_NUMERALS:
                k -= 1
            if k > 0 and folded[k - 1] == "第":
                continue
        out.append(m)
    return out


def has_quantity(text: str) -> bool:
    """Whether ``text`` states a figure with a unit (years, ordinals and slogans do not count).

    >>> has_quantity("发放互助金3234万元"), has_quantity("2025年第三届大会"), has_quantity("建制率达85%")
    (True, False, True)
    >>> has_quantity("搭建帮扶、维权、服务“三位一体”的工作平台")
    False
    """
    return bool(_figure_matches(_fold(text)))


# --------------------------------------------------------------------------- the question


@dataclass(frozen=True)
class Mention:
    """A place or year named in the question, with the forms to look for in passages."""

    kind: str  # "place" | "year"
    text: str
    start: int
    end: int
    forms: tuple[str, ...]  # place: stem and full name; year: the years covered
    # year: one year asked on its own ("2021年为…"), not a start ("2021年以来") or a span
    single: bool = False


@dataclass(frozen=True)
class Term:
    """A content word of the question: ``parts`` give partial credit when it is not found whole."""

    text: str
    parts: tuple[str, ...] = ()
    numeric: bool = False
    quoted: bool = False  # written in “” or 《》 in the question: a name to find as written


@dataclass
class Need:
    """One thing the question asks: a part ("…多少场？服务了多少人？") or one side of a comparison."""

    text: str
    label: str  # side label shown before the answer piece ("2024年", "济南"), or ""
    terms: list[Term]
    mentions: list[Mention]  # constraints a passage must meet for this need
    unit: str = ""
    metric: list[str] = field(default_factory=list)  # the words naming what is counted or named
    metric_explicit: bool = False  # metric words came after 多少/几 (not all the need's words)
    # The kind of answer this part asks, when it differs from the question's: "…准备了什么？
    # 花了多少钱？" asks a thing (name) and then a figure (number). "" = the question's kind.
    kind: str = ""


@dataclass
class QuestionInfo:
    """What a question asks and about what: ``kind`` is number/person/entity/name/list/other."""

    question: str
    kind: str
    needs: list[Need]
    mentions: list[Mention]
    comparison: bool = False
    list_count: int = 0
    context_terms: list[Term] = field(default_factory=list)


_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


# "三大目标是什么", "“四个一”分别指什么": a counted set of things whose items are asked.
_COUNTED_RE = re.compile(
    r"(?<![一二两三四五六七八九十百千\d])([二两三四五六七八九十])(?:大|种|类|项|个|条|点|方面)"
    r"([\u4e00-\u9fff]{1,6}?)[”」』]?(?:分别|具体)?(?:是什么|是指什么|指什么|指的是|包括什么|是哪)"
)


def list_head(question: str) -> tuple[str, str]:
    """The count and head noun of a counted list question: "三大目标是什么" -> ("三", "目标"), else ("", "").

    >>> list_head("聚焦的“三大目标”是什么？"), list_head("打造哪五种“工会”？")
    (('三', '目标'), ('五', '工会'))
    """
    m = _COUNTED_RE.search(question)
    if m:
        return m.group(1), m.group(2)
    m = re.search(r"哪([二两三四五六七八九十])(?:大|种|类|项|个|条|点|方面)?[“「『]?([\u4e00-\u9fff]{1,4})", question)
    if m:
        return m.group(1), m.group(2)
    return "", ""


def question_kind(question: str) -> tuple[str, int]:
    """The kind of answer ``question`` wants, and the number of list items when it says.

    >>> question_kind("“四心行动”指哪四心？"), question_kind("发放了多少互助金？"), question_kind("哪位职工当选代表？")
    (('list', 4), ('number', 0), ('person', 0))
    """
    q = question
    m = re.search(r"哪([一二两三四五六七八九十])(?!届|批|年|月|天)", q)
    if m and m.group(1) != "一":
        return "list", _CN_DIGITS[m.group(1)]
    if re.search(r"哪些|哪几|包括什么|包含什么|有什么举措|有哪|都有什么|指的是什么|是哪几", q):
        return "list", 0
    counted = _COUNTED_RE.search(q)
    if counted:
        return "list", _CN_DIGITS[counted.group(1)]
    if re.search(r"谁|哪位|哪名|哪个人|什么人|姓名|叫什么名字", q):
        return "person", 0
    if re.search(
        r"多少|几[个名人家场次项份件户批位种类天所支条座套年]?|多大|多高|多长|比例|占比|百分之", q
    ) and not re.search(r"几乎", q):
        return "number", 0
    if re.search(r"哪个|哪家|哪所|哪一|哪座|哪里|什么单位|什么地方|什么企业", q):
        return "entity", 0
    if re.search(r"叫什么|什么|称为|名称|何种", q):
        return "name", 0
    return "other", 0


def place_stem(name: str) -> str:
    """A place name without its administrative suffix.

    >>> place_stem("铜仁市"), place_stem("滨海新区"), place_stem("西藏自治区"), place_stem("湖南省")
    ('铜仁', '滨海', '西藏', '湖南')
    """
    for suf in _PLACE_SUFFIXES:
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            return name[: -len(suf)]
    return name


def _place_lexicon(known_places: Iterable[str]) -> dict[str, str]:
    """stem -> canonical name, for the gazetteer and the corpus' own places."""
    lex = {g: g for g in GAZETTEER}
    for p in known_places:
        p = p.strip()
        if not p or p in _NOT_PLACES:
            continue
        stem = place_stem(p)
        if len(stem) >= 2 and stem not in _NOT_PLACES:
            lex[stem] = p
    return lex


_TERRITORIAL_BODY_RE = re.compile(r"[\u4e00-\u9fff]{0,6}?(兵团|垦区|林区|油田|矿区)")


def find_places(question: str, known_places: Iterable[str] = ()) -> list[Mention]:
    """Places named in ``question``: known ones (gazetteer, corpus) and any word ending in 市/省/区/县/州.

    >>> [m.text for m in find_places("重庆南川区总工会2024年新建了多少家基层工会？")]
    ['重庆', '南川区']
    >>> [m.text for m in find_places("全市各级工会在省级层面", ["铜仁市"])]
    []
    """
    q = _fold(question)
    lex = _place_lexicon(known_places)
    found: list[tuple[int, int]] = []
    taken = [False] * len(q)

    def add(a: int, b: int) -> None:
        if any(taken[a:b]):
            return
        found.append((a, b))
        for k in range(a, b):
            taken[k] = True

    # Known stems, longest first, optionally followed by an administrative suffix.
    for stem in sorted(lex, key=len, reverse=True):
        for m in re.finditer(re.escape(stem), q):
            a, b = m.start(), m.end()
            for suf in _PLACE_SUFFIXES:
                if q.startswith(suf, b) and not q.startswith(suf + "级", b):
                    b += len(suf)
                    break
            add(a, b)
    # Unknown words ending with a suffix: jieba words, or a word followed by a suffix word.
    jb = _jieba()
    pos = 0
    words = jb.lcut(q, HMM=True)
    for i, w in enumerate(words):
        a, b = pos, pos + len(w)
        pos = b
        if not all(_is_cjk(c) for c in w):
            continue
        cand: tuple[int, int] | None = None
        if len(w) >= 3 and w.endswith(("省", "市", "县", "州", "区")) and not w.startswith(_NOT_PLACE_START):
            cand = (a, b)
        elif (
            len(w) >= 2
            and i + 1 < len(words)
            and words[i + 1] in ("省", "市", "县", "区", "州", "自治区", "新区")
            and not w.startswith(_NOT_PLACE_START)
            and not q.startswith(words[i + 1] + "级", b)
        ):
            cand = (a, b + len(words[i + 1]))
        if cand and q[cand[0] : cand[1]] not in _NOT_PLACES:
            add(*cand)
    out = []
    spans = sorted(found)
    for i, (a, b) in enumerate(spans):
        name = question[a:b]
        if re.search(r"哪|几|什么", name):
            continue
        stem = place_stem(name)
        forms = tuple(dict.fromkeys(f for f in (stem, name, lex.get(stem, "")) if f))
        # "新疆生产建设兵团": a territorial body named after the place; its reports call it by
        # its head noun alone ("兵团共有基层工会…"), so that head is a form of the place too.
        body = _TERRITORIAL_BODY_RE.match(question, b)
        if body:
            forms = (*forms, body.group(1), name + body.group(0))
        # "天津滨海新区", "重庆南川区": the first names where the second is; the second is the constraint.
        qualifier = i + 1 < len(spans) and spans[i + 1][0] == b
        out.append(Mention("qualifier" if qualifier else "place", name, a, b, forms))
    return out


def find_years(question: str) -> list[Mention]:
    """Years named in ``question`` ("2024年", "2021-2025年").

    >>> [(m.text, m.forms) for m in find_years("2024年和2025年分别有多少场？")]
    [('2024年', ('2024',)), ('2025年', ('2025',))]
    """
    out = []
    for m in _YEAR_RE.finditer(_fold(question)):
        y1 = int(m.group(1))
        y2 = int(m.group(2)) if m.group(2) else y1
        forms = tuple(str(y) for y in range(y1, y2 + 1)) if 0 <= y2 - y1 <= 10 else (str(y1),)
        single = len(forms) == 1 and not _SINCE_RE.match(question[m.end() :])
        out.append(Mention("year", question[m.start() : m.end()], m.start(), m.end(), forms, single))
    return out


# "2021年以来" (a start), "2022年高温限电期间" (the date of an event the passage names): not one year's figure.
_SINCE_RE = re.compile(r"\s*(?:以来|至今|起|来|后|之后|以后|前|之前|以前|[^，,。？?]{0,8}?(?:期间|之际|时期))")


def _glue(words: list[str], vocab: str) -> list[str]:
    """Join a lone character to its neighbour when the passages write them together.

    >>> _glue(["参加", "疗", "休养"], "组织职工疗休养")
    ['参加', '疗休养']
    """
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if len(w) == 1 and _is_cjk(w) and w not in QUESTION_WORDS:
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if nxt and nxt not in QUESTION_WORDS and all(_is_cjk(c) for c in nxt) and w + nxt in vocab:
                out.append(w + nxt)
                i += 2
                continue
            if out and out[-1] not in QUESTION_WORDS and all(_is_cjk(c) for c in out[-1]) and out[-1] + w in vocab:
                out[-1] += w
                i += 1
                continue
        out.append(w)
        i += 1
    return out


def _terms(text: str, drop: Sequence[Mention], offset: int = 0, vocab: str = "") -> list[Term]:
    """Content words of ``text`` minus question words, places and years.

    With ``vocab`` (the passages' text), a character jieba leaves alone is joined to its
    neighbour when the passages write them together (疗 + 休养 -> 疗休养).
    """
    jb = _jieba()
    t = _fold(text)
    masked = list(t)
    for m in drop:
        for k in range(max(0, m.start - offset), min(len(t), m.end - offset)):
            masked[k] = " "
    t = "".join(masked)
    terms: list[Term] = []
    seen: set[str] = set()
    # Quoted names stay whole; their pieces give partial credit.
    for q in _QUOTE_RE.finditer(t):
        inner = q.group(1).strip()
        if len(inner) >= 2 and inner not in seen:
            pieces = tuple(w for w in jb.lcut(inner) if len(w) >= 2 and w not in QUESTION_WORDS)
            terms.append(Term(inner, pieces if len(pieces) > 1 else (), quoted=True))
            seen.add(inner)
        t = t[: q.start()] + " " * (q.end() - q.start()) + t[q.end() :]
    words = [w.strip() for w in jb.lcut(t, HMM=True)]
    if vocab:
        words = _glue(words, vocab)
    for w in words:
        if not w or w in seen or w in QUESTION_WORDS or re.search(r"哪|几|什么|多少", w):
            continue
        if re.fullmatch(r"\d+(?:\.\d+)?", w):
            terms.append(Term(w, numeric=True))
            seen.add(w)
            continue
        if len(w) < 2 or not any(_is_cjk(c) for c in w):
            continue
        parts: tuple[str, ...] = ()
        if len(w) >= 3:
            sub = [s for s in jb.cut_for_search(w) if len(s) >= 2 and s != w]
            parts = tuple(dict.fromkeys(sub)) or tuple(w[i : i + 2] for i in range(0, len(w) - 1, 2))
        terms.append(Term(w, parts))
        seen.add(w)
    return terms


_Q_MARK = re.compile(r"多少|几|哪|什么|谁|吗|是否|如何|怎样|怎么")


def _split_parts(question: str) -> list[tuple[int, int]]:
    """Spans of the separately asked parts: "办了多少场？服务了多少劳动者？" has two."""
    pieces: list[tuple[int, int]] = []
    a = 0
    for m in re.finditer(r"[？?；;]|[，,](?=[^，,？?]*(?:多少|几|哪|什么|谁))", question):
        pieces.append((a, m.start()))
        a = m.end()
    pieces.append((a, len(question)))
    pieces = [(x, y) for x, y in pieces if question[x:y].strip()]
    merged: list[tuple[int, int]] = []
    pending: int | None = None
    for x, y in pieces:
        if pending is not None:
            x = pending
            pending = None
        if _Q_MARK.search(question[x:y]):
            merged.append((x, y))
        else:
            pending = x
    if pending is not None:
        if merged:
            merged[-1] = (merged[-1][0], len(question))
        else:
            merged.append((pending, len(question)))
    return merged or [(0, len(question))]


_CONNECTOR_RE = re.compile(r"^\s*(?:年|市|省|区|县)?\s*(?:和|与|及|以及|、|跟|同|还有|/)\s*$")


def _comparison(
    question: str, mentions: list[Mention]
) -> tuple[str, list[list[Mention]], list[tuple[int, int]]] | None:
    """Sides of a comparison ("2024年和2025年分别…", "济南和许昌…"): (kind, side mentions, side spans)."""
    for kind in ("place", "year"):
        ms = [m for m in mentions if m.kind == kind]
        distinct = list({m.forms: m for m in ms}.values())
        if len(distinct) < 2:
            continue
        ms = sorted(distinct, key=lambda m: m.start)
        between = [question[ms[i].end : ms[i + 1].start] for i in range(len(ms) - 1)]
        tight = all(_CONNECTOR_RE.match(b) for b in between)
        joined = all(re.search(r"和|与|及|、|，|/", b) for b in between)
        if not (tight or ("分别" in question and joined)):
            continue
        if tight:
            return kind, [[m] for m in ms], [(0, len(question))] * len(ms)
        spans: list[tuple[int, int]] = []
        a = 0
        for i in range(len(ms) - 1):
            seg = question[ms[i].end : ms[i + 1].start]
            cut = max(seg.rfind(c) for c in ("和", "与", "及", "、", "，"))
            b = ms[i].end + cut
            spans.append((a, b))
            a = b + 1
        spans.append((a, len(question)))
        return kind, [[m] for m in ms], spans
    return None


def parse_question(question: str, known_places: Iterable[str] = (), vocab: str = "") -> QuestionInfo:
    """Read ``question``: its kind, its places and years, and the needs (parts or comparison sides).

    ``vocab`` is the passages' text, used to keep words jieba splits whole (see ``_glue``).

    >>> info = parse_question("济南和许昌的建制率分别保持在多少？", known_places=["许昌市"])
    >>> info.kind, info.comparison, [n.label for n in info.needs]
    ('number', True, ['济南', '许昌'])
    """
    kind, count = question_kind(question)
    named = sorted(find_places(question, known_places) + find_years(question), key=lambda m: m.start)
    mentions = [m for m in named if m.kind != "qualifier"]
    comp = _comparison(question, mentions)
    needs: list[Need] = []
    if comp is not None:
        side_kind, sides, spans = comp
        tight = len(set(spans)) == 1
        for side, (a, b) in zip(sides, spans, strict=True):
            if tight:
                others = [m for m in mentions if m.kind != side_kind]
                terms = _terms(question, named, vocab=vocab)
                cons = [*side, *others]
            else:
                cons = [m for m in mentions if a <= m.start < b]
                terms = _terms(question[a:b], [m for m in named if a <= m.start < b], offset=a, vocab=vocab)
            unit = _question_unit(question[a:b]) or _question_unit(question)
            needs.append(Need(question[a:b], side[0].text, terms, cons, unit))
        info = QuestionInfo(question, kind, needs, mentions, True, count)
    else:
        for a, b in _split_parts(question):
            terms = _terms(question[a:b], [m for m in named if a <= m.start < b], offset=a, vocab=vocab)
            needs.append(Need(question[a:b], "", terms, list(mentions), _question_unit(question[a:b])))
        info = QuestionInfo(question, kind, needs, mentions, False, count)
        if len(needs) > 1:
            for n in needs:
                part_kind = question_kind(n.text)[0]
                if part_kind not in ("other", kind):
                    n.kind = part_kind
    for n in needs:
        n.metric, n.metric_explicit = _metric_terms(n)
    all_terms: dict[str, Term] = {}
    for n in needs:
        for t in n.terms:
            all_terms.setdefault(t.text, t)
    info.context_terms = list(all_terms.values())
    return info


_METRIC_RE = re.compile(
    r"(?:多少|几)(?:钱|元|人次|场次|个|名|人|家|场|次|份|件|户|项|位|种|类|批|条|所|支|座|套)?(.*)$"
)


def _metric_terms(need: Need) -> tuple[list[str], bool]:
    """The words for what a need counts, and whether they were explicit.

    Taken after 多少/几 and its unit ("签订了多少份综合集体合同" -> 综合, 集体合同, explicit);
    all the need's words when nothing follows.
    """
    text = _fold(need.text)
    m = _METRIC_RE.search(text)
    tail = m.group(1) if m else ""
    picked = [t.text for t in need.terms if t.text in tail and t.text not in _GENERIC]
    if picked:
        return picked, True
    # "…的新就业形态劳动者会员有多少人": the noun phrase before 有/是多少, after its last 的.
    m = re.search(r"([^，,；;？?]*?)(?:一共|总共|共|合计|累计)?(?:有|是|为|达到?|约)?(?:多少|几)", text)
    head = m.group(1) if m else ""
    pieces = head.split("的")
    for k in range(len(pieces) - 1, -1, -1):
        phrase = "的".join(pieces[k:])
        picked = [t.text for t in need.terms if t.text in phrase and t.text not in _GENERIC]
        if len(picked) >= 2:
            return picked, True
    return [t.text for t in need.terms if t.text not in _GENERIC] or [t.text for t in need.terms], False


def _question_unit(text: str) -> str:
    m = _UNIT_OF_QUESTION.search(text)
    if m:
        return m.group(1)
    if re.search(r"率|比例|占比|百分", text):
        return "%"
    return ""


# --------------------------------------------------------------------------- passages


@dataclass
class _Sentence:
    start: int
    end: int
    clauses: list[tuple[int, int]]


@dataclass
class _PassageView:
    """A passage cut into sentences and clauses, with folded text for matching."""

    rank: int
    passage: Passage
    folded: str
    about: str  # title, heading path and meta values: what the passage is about
    sentences: list[_Sentence]
    contrast: bool = False  # retrieved without the question's places: read, never quoted


def _view(rank: int, p: Passage, contrast: bool = False) -> _PassageView:
    folded = _fold(p.text)
    sents = [_Sentence(a, b, clause_spans(p.text, a, b)) for a, b in sentence_spans(p.text)]
    about = _fold(" ".join([p.title, *p.heading_path, *(str(v) for v in (p.meta or {}).values())]))
    return _PassageView(rank, p, folded, about, sents, contrast)


@dataclass
class Window:
    """Adjacent clauses of one sentence, scored for one need."""

    view: _PassageView
    sent: int
    first: int  # clause indices, inclusive
    last: int
    start: int  # character span in the passage text
    end: int
    rel: float  # weighted share of the need's content words found (0..1)
    fit: float  # how well the passage fits the need's places and years (0..1)
    typed: bool  # holds the kind of answer asked (a figure, a name ...)
    score: float
    figure_missing: bool = False  # its best-matching item is a figure list entry without a figure
    metric: float = 0.0  # weighted share of the need's metric words inside the window

    @property
    def passage(self) -> Passage:
        return self.view.passage

    @property
    def text(self) -> str:
        return self.view.passage.text[self.start : self.end]


@dataclass
class NeedResult:
    """The windows found for one need: the best overall and the best that meets the constraints."""

    need: Need
    best: Window | None  # best window, constraints counted in the score
    best_rel_any: float  # best content-word share anywhere, constraints ignored
    best_rel_fit: float  # best content-word share in passages meeting the constraints
    best_rel_typed_fit: float  # the same among windows holding the asked kind of answer
    unmet: list[Mention]  # constraints no passage meets
    figure_missing: bool  # the best-matching item names the metric but gives no figure
    ranked: list[Window] = field(default_factory=list)
    metric_fit: float = 0.0  # share of the metric words in the text meeting the constraints
    metric_other: float = 0.0  # the same in one sentence (with a figure, for 多少) about another place or year
    rel_other: float = 0.0  # content-word share of the question in that kind of sentence (paraphrase credit)
    window_metric_fit: float = 0.0  # best share of the metric words inside one window meeting them
    window_metric_typed: float = 0.0  # the same among windows holding the asked kind of answer
    quoted_missing: list[Term] = field(default_factory=list)  # quoted names no fitting passage has
    # 多少/几: does a figure of the chosen window measure what is asked? "strong" (the asked
    # thing governs it), "weak" (counter fits, the asked thing is paraphrased), "none" (no
    # window meeting the constraints has such a figure), "" (not a number question).
    figure_fit: str = ""
    unfit: FigureFit | None = None  # for "none": the closest figure, and why it does not fit
    # 多少: quoted names the passages have, but in no sentence with a figure
    quoted_unfigured: list[Term] = field(default_factory=list)


@dataclass
class Analysis:
    """Everything ``ExtractiveAnswerer`` and the refusal check need about one question."""

    info: QuestionInfo
    passages: tuple[Passage, ...]
    needs: list[NeedResult]


def _weights(terms: Sequence[Term], views: Sequence[_PassageView]) -> dict[str, float]:
    """Rarity weight of each term over the passages' sentences (BM25 idf, floor 0.1)."""
    sents = [v.folded[s.start : s.end] for v in views for s in v.sentences]
    n = max(1, len(sents))
    out = {}
    for t in terms:
        df = sum(1 for s in sents if t.text in s)
        w = math.log(1 + (n - df + 0.5) / (df + 0.5))
        if t.text in _GENERIC:
            w *= 0.3
        if t.numeric:
            w *= 1.5
        out[t.text] = max(0.1, w)
    return out


def _found(term: Term, text: str, chars: bool = True) -> float:
    """1 if ``term`` is in ``text``, a share of its parts (or of its characters) otherwise."""
    if term.numeric:
        return 1.0 if re.search(rf"(?<![\d.]){re.escape(term.text)}(?![\d])", text) else 0.0
    if term.text in text:
        return 1.0
    part = 0.7 * sum(1 for p in term.parts if p in text) / len(term.parts) if term.parts else 0.0
    if not chars:
        return part
    # A paraphrase shares characters (供电 / 电力): a little credit for each one.
    keys = [c for c in term.text if c not in _COMMON_CHARS]
    char = CHAR_CREDIT * sum(1 for c in keys if c in text) / len(keys) if keys else 0.0
    return max(part, char)


def _place_ok(m: Mention, v: _PassageView, near: str) -> bool:
    return any(f in v.about or f in near for f in m.forms)


def _year_fit(m: Mention, v: _PassageView, near: str) -> float:
    """1 when the passage is about that year, 0.6 when it mentions it, 0 when it is about another year."""
    p = v.passage
    meta_year = str((p.meta or {}).get("year", ""))
    years = set(_ANY_YEAR_RE.findall(meta_year))
    if len(years) == 2:
        lo, hi = sorted(int(y) for y in years)
        years = {str(y) for y in range(lo, hi + 1)}
    title_years = set(_ANY_YEAR_RE.findall(_fold(p.title)))
    if any(f in near for f in m.forms):
        return 1.0
    if m.single:
        return _single_year_fit(m.forms[0], v, meta_year, title_years)
    if any(f in years or f in title_years for f in m.forms):
        return 1.0
    if any(f in v.folded for f in m.forms):
        return 0.6
    if title_years or (len(years) > 1 and not any(f in years for f in m.forms)):
        return 0.0  # an annual report of another year, or a review of other years
    if years and all(int(f) > max(int(y) for y in years) for f in m.forms):
        return 0.0  # a document of 2023 cannot report on 2025
    return 0.5  # nothing says which years the passage covers (a multi-year review)


# A passage reviewing several years ("五年来", "十四五"): no single year's figure without that year.
_REVIEW_RE = re.compile(r"五年|十四五|十三五|以来|过去|历届|这些年|近年")


def _single_year_fit(year: str, v: _PassageView, meta_year: str, title_years: set[str]) -> float:
    """Fit of a passage to one asked year not in the sentence or the one before: 1 when the
    document is that year's report or the heading names it, 0.5 when nothing tells, else 0."""
    meta_years = set(_ANY_YEAR_RE.findall(meta_year))
    review = bool(_REVIEW_RE.search(_fold(v.passage.title)))
    if not review and (meta_years == {year} or (title_years == {year} and not meta_years - {year})):
        return 1.0  # that year's own report: its 今年/全年 figures are that year's
    if any(year in _fold(h) for h in v.passage.heading_path):
        return 1.0
    if meta_years or title_years or year in v.folded:
        return 0.0  # another year's report, a review of several years, or the year named elsewhere
    if _REVIEW_RE.search(v.about) or _REVIEW_RE.search(v.folded):
        return 0.0
    return 0.5


def _fit(need: Need, v: _PassageView, near: str) -> float:
    f = 1.0
    for m in need.mentions:
        if m.kind == "place":
            f *= 1.0 if _place_ok(m, v, near) else 0.0
        else:
            f *= _year_fit(m, v, near)
    return f


_NAME_SUFFIX_RE = re.compile(
    r"[\u4e00-\u9fff“”\d]{2,14}?(?:局|公司|集团|工作室|总工会|工会|厂|站|中心|学校|医院|协会|部门|项目|班组|车间|基地|大学|学院|银行|委员会)"
)


def _typed(kind: str, text: str, question: str) -> bool:
    """Whether ``text`` holds the kind of answer asked."""
    if kind == "number":
        return has_quantity(text)
    if kind in ("name", "entity"):
        for m in _QUOTE_RE.finditer(text):
            inner = m.group(1)
            if inner not in question and len(inner) >= 2:
                return True
        if re.search(r"哪里|什么地方|在哪", question) and any(
            m.text not in question for m in find_places(text) if m.kind == "place"
        ):
            return True
        if kind == "entity" or "单位" in question:
            head = _entity_head(question)
            names = (
                re.finditer(r"[\u4e00-\u9fff\d]{2,12}?" + re.escape(head), text)
                if head and head not in ("单位", "部门", "地方", "企业", "组织")
                else _NAME_SUFFIX_RE.finditer(text)
            )
            for m in names:
                name = m.group(0).strip("“”")
                if len(name) > len(head) + 1 and name not in question and name[:2] not in question:
                    return True
        return False
    if kind == "person":
        return any(_has_person(c, question) for c in re.split(r"[，,；;：:]", text) if c)
    if kind == "list":
        return text.count("、") >= 1 or len(re.findall(r"[一二三四五六七八九十]是", text)) >= 2
    return True


def _entity_head(question: str) -> str:
    """The noun after 哪个/哪家: "哪个项目入选" -> "项目".

    >>> _entity_head("贵州哪个市总工会协调住建部门"), _entity_head("大庆市总工会哪个项目入选了")
    ('市总工会', '项目')
    """
    m = re.search(r"哪(?:一个|一家|一所|一|个|家|所|座|位)", question)
    if not m:
        return ""
    rest = question[m.end() :]
    words = _jieba().lcut(rest[:12])
    if not words:
        return ""
    head = words[0]
    if head in ("市", "省", "区", "县") and len(words) > 1 and words[1] in ("总工会", "工会"):
        head += words[1]
    return head if all(_is_cjk(c) for c in head) else ""


@functools.lru_cache(maxsize=4096)
def _has_person(text: str, question: str) -> bool:
    """Whether ``text`` names a person (jieba's nr tags) the question does not name."""
    import jieba.posseg as pseg

    _jieba()
    for w, flag in pseg.lcut(text):
        if flag in ("nr", "nrfg", "nrt") and 2 <= len(w) <= 4 and w not in question and w not in GAZETTEER:
            return True
    return False


# A name written before the verb of winning: "选派的胡珊珊力克群雄", "、张三荣获…".
_PERSON_BEFORE_VERB_RE = re.compile(
    r"(?:^|[的、，,；;：:])([\u4e00-\u9fff]{2,3})(?=力克|获得|荣获|夺得|摘得|斩获|获评|荣膺|当选|被评为|被授予)"
)
# Words that are no person's name although they stand where one would.
_NOT_PERSON_CHARS = re.compile(r"[市省区县州工会职员手队局司厂组班站部委团我他她其该本各全]")
# A person question's answer may come from a window this share of the best's score when the
# best names nobody ("我市选手获得评茶员项目第一名") and that window does ("胡珊珊力克群雄").
PERSON_ALTERNATIVE = 0.6


@functools.lru_cache(maxsize=4096)
def _person_name(text: str, question: str) -> str:
    """A person's name in ``text`` the question does not name, "" if none.

    jieba's nr tags outside quotes (“合浦月饼师傅” names a brand), or two or three Han
    characters just before a verb of winning ("的胡珊珊力克群雄").

    >>> _person_name("来宾市总工会选派的胡珊珊力克群雄", "哪位选手获得第一名")
    '胡珊珊'
    >>> _person_name("我市选手获得评茶员项目第一名", "哪位选手获得第一名")
    ''
    """
    masked = _QUOTED_SPAN_RE.sub(lambda m: "，" * len(m.group(0)), text)
    for m in _PERSON_BEFORE_VERB_RE.finditer(masked):
        name = m.group(1)
        if name not in question and not _NOT_PERSON_CHARS.search(name):
            return name
    import jieba.posseg as pseg

    _jieba()
    for w, flag in pseg.lcut(masked):
        if flag in ("nr", "nrfg", "nrt") and 2 <= len(w) <= 4 and w not in question and w not in GAZETTEER:
            return w
    return ""


def _prefer_named_person(ranked: list[Window], question: str) -> list[Window]:
    """``ranked`` with a window naming a person first when the best names nobody."""
    if not ranked or _person_name(ranked[0].text, question):
        return ranked
    top = ranked[0]
    for w in ranked[1:20]:
        if w.score < PERSON_ALTERNATIVE * top.score:
            break
        if _person_name(w.text, question):
            return [w, *(x for x in ranked if x is not w)]
    return ranked


def _list_items(text: str) -> int:
    """How many items ``text`` enumerates: 、-separated pieces or 一是/二是 clauses."""
    return max(text.count("、") + 1 if "、" in text else 0, len(re.findall(r"[一二三四五六七八九十]是", text)))


def _head_pattern(question: str) -> re.Pattern[str] | None:
    """The counted head noun of a list question as found in a passage: "三大目标" for "三大目标是什么"."""
    count, head = list_head(question)
    if not count:
        return None
    return re.compile(re.escape(count) + r"(?:大|种|类|项|个|条|点|方面)?[“「『]?" + re.escape(head))


def _list_bonus(text: str, items: int, count: int, head_re: re.Pattern[str] | None) -> float:
    """Score factor of a list window: more items help up to the asked count; the asked count
    and the counted head noun next to the items ("…干部清正三大目标") help more."""
    if not count:
        return 1.0 + 0.05 * min(items, 6)
    f = 1.0 + 0.05 * min(items, count)
    if items == count:
        f *= 1.15
    if head_re is not None and head_re.search(text):
        f *= 1.2
    return f


def _figure_missing(clause: str, terms: Sequence[Term], weights: dict[str, float]) -> bool:
    """A list of figures ("A 12个、B 34个") whose item that best matches the question has no figure."""
    segs = [s for s in re.split(r"、", clause) if s.strip()]
    if len(segs) < 2:
        return False
    with_fig = [has_quantity(s) for s in segs]
    if sum(with_fig) < 2:
        return False
    scores = [sum(weights.get(t.text, 0) * _found(t, _fold(s)) for t in terms) for s in segs]
    best = max(range(len(segs)), key=lambda i: scores[i])
    return scores[best] > 0 and not with_fig[best]


_MAX_WINDOW = 3


def _score_need(info: QuestionInfo, need: Need, views: Sequence[_PassageView], weights: dict[str, float]) -> NeedResult:
    """Every window of up to three clauses, scored for ``need``."""
    kind = need.kind or info.kind
    own = need.terms
    own_names = {t.text for t in own}
    ctx = [t for t in info.context_terms if t.text not in own_names]
    w_own = sum(weights[t.text] for t in own) or 1.0
    w_ctx = sum(weights[t.text] for t in ctx) or 1.0
    windows: list[Window] = []
    best_any = best_fit = best_typed_fit = 0.0
    met = {id(m): False for m in need.mentions}
    metric = [t for t in (*own, *ctx) if t.text in need.metric]
    w_metric = sum(weights[t.text] for t in metric) or 1.0
    metric_fit = metric_other = rel_other = 0.0
    mcov_fit = mcov_typed = mcov_missing = 0.0
    quoted = [t for t in own if t.quoted]
    quoted_found = {t.text: 0.0 for t in quoted}
    head_re = _head_pattern(info.question) if kind == "list" else None
    for v in views:
        about = v.about
        fit_text: list[str] = [about]
        for si, s in enumerate(v.sentences):
            sent_text = v.folded[s.start : s.end]
            prev = v.folded[v.sentences[si - 1].start : v.sentences[si - 1].end] if si > 0 else ""
            near = prev + sent_text
            fit = _fit(need, v, near)
            if fit > 0:
                fit_text.append(sent_text)
            elif kind != "number" or has_quantity(sent_text):
                # Another place or year reports the asked thing here (with a figure when one is asked).
                metric_other = max(metric_other, _coverage(metric, about + sent_text, weights) / w_metric)
                other_text = about + sent_text
                rel_other = max(rel_other, sum(weights[t.text] * _found(t, other_text) for t in own) / w_own)
            if v.contrast:
                continue
            for m in need.mentions:
                if (m.kind == "place" and _place_ok(m, v, near)) or (m.kind == "year" and _year_fit(m, v, near) > 0):
                    met[id(m)] = True
            clause_found = []
            clause_metric: list[dict[str, float]] = []
            clause_missing = []
            for a, b in s.clauses:
                ct = v.folded[a:b]
                clause_found.append({t.text: _found(t, ct) for t in (*own, *ctx)})
                clause_metric.append({t.text: _found(t, ct, chars=False) for t in metric})
                clause_missing.append(kind == "number" and _figure_missing(ct, own, weights))
            # Words found outside the window but in the sentence, the sentence before or the title.
            back = {}
            for t in (*own, *ctx):
                if _found(t, about) >= 1.0:
                    back[t.text] = 0.5
                elif _found(t, sent_text) >= 1.0:
                    back[t.text] = 0.4
                elif _found(t, prev) >= 1.0:
                    back[t.text] = 0.3
                else:
                    back[t.text] = 0.0
            nc = len(s.clauses)
            chain = _enum_chain(v, si) if kind == "list" else 0
            for i in range(nc):
                for j in range(i, min(nc, i + _MAX_WINDOW)):
                    found = {
                        t.text: max(max(clause_found[k][t.text] for k in range(i, j + 1)), back[t.text])
                        for t in (*own, *ctx)
                    }
                    rel = sum(weights[t.text] * found[t.text] for t in own) / w_own
                    rel_ctx = sum(weights[t.text] * found[t.text] for t in ctx) / w_ctx if ctx else 0.0
                    a, b = s.clauses[i][0], s.clauses[j][1]
                    text = v.passage.text[a:b]
                    # The clause that matches best decides whether a figure is missing.
                    clause_rel = [sum(weights[t.text] * clause_found[k][t.text] for t in own) for k in range(i, j + 1)]
                    top = i + max(range(len(clause_rel)), key=lambda k: clause_rel[k])
                    missing = clause_missing[top]
                    typed = _typed(kind, text, info.question) and not missing
                    items = _list_items(text) if kind == "list" else 0
                    if kind == "list" and i == 0 and chain > items:
                        typed, items = True, chain  # "一是…。二是…。" opens here
                    if kind == "list" and typed and info.list_count:
                        typed = items >= min(info.list_count, 3)
                    tf = 1.0 if typed else (0.3 if kind in ("number", "person") else 0.55)
                    if typed and need.unit and kind == "number" and _unit_match(need.unit, text):
                        tf *= 1.15
                    if kind == "list" and typed:
                        tf *= _list_bonus(text, items, info.list_count, head_re)
                    length = 1.0 - 0.08 * (j - i) - (0.1 if b - a > 160 else 0.0)
                    rank = 1.0 - 0.03 * min(v.rank, 10)
                    score = (rel + 0.15 * rel_ctx) * tf * (0.15 + 0.85 * fit) * length * rank
                    mcov = (
                        sum(weights[t.text] * max(clause_metric[k][t.text] for k in range(i, j + 1)) for t in metric)
                        / w_metric
                    )
                    windows.append(Window(v, si, i, j, a, b, rel, fit, typed, score, missing, mcov))
                    best_any = max(best_any, rel)
                    if fit > 0:
                        best_fit = max(best_fit, rel)
                        mcov_fit = max(mcov_fit, mcov)
                        if typed:
                            best_typed_fit = max(best_typed_fit, rel)
                            mcov_typed = max(mcov_typed, mcov)
                        if missing:
                            mcov_missing = max(mcov_missing, mcov)
        if len(fit_text) > 1:
            joined = "".join(fit_text)
            metric_fit = max(metric_fit, _coverage(metric, joined, weights) / w_metric)
            for t in quoted:
                quoted_found[t.text] = max(quoted_found[t.text], _found(t, joined, chars=False))
    windows.sort(key=lambda w: w.score, reverse=True)
    unmet = [m for m in need.mentions if not met[id(m)]]
    fit_windows = [w for w in windows if w.fit > 0]
    top_rel = max(fit_windows, key=lambda w: (w.rel, -w.last + w.first), default=None)
    # A figure list names the asked metric in full but gives it no figure, while the
    # clauses with figures name it clearly less ("推荐省级以上劳模…名、奖状53个").
    figure_missing = bool(top_rel and top_rel.figure_missing and top_rel.rel > best_typed_fit * 1.25) or (
        mcov_missing >= 0.8 and mcov_typed < 0.8 * mcov_missing
    )
    ranked = fit_windows or windows  # never answer from a passage about another place or year
    fit_state, unfit = "", None
    unnamed: list[Term] = []
    if kind == "number" and fit_windows:
        # A figure answers for a quoted programme only when its sentence (or heading) names it:
        # "“冬送温暖”投入了多少" is not answered by the overall "累计筹集资金1700万元".
        names = [t for t in quoted if quoted_found[t.text] >= 0.35 and not _PERIOD_RE.match(t.text)]
        if names:
            named = [w for w in fit_windows if all(_names(w, t) for t in names)]
            if not any(w.typed for w in named):
                unnamed = names
            else:
                fit_windows = named
    if kind == "number" and fit_windows and not unnamed:
        ranked, fit_state, unfit = _choose_by_figure(need, fit_windows, metric, weights)
    elif kind == "person" and fit_windows:
        ranked = _prefer_named_person(ranked, info.question)
    return NeedResult(
        need,
        ranked[0] if ranked else None,
        best_any,
        best_fit,
        best_typed_fit,
        unmet,
        figure_missing,
        ranked[:20],
        metric_fit,
        metric_other,
        rel_other,
        mcov_fit,
        mcov_typed,
        [t for t in quoted if quoted_found[t.text] < 0.35],
        fit_state,
        unfit,
        unnamed,
    )


# Quoted periods ("十四五") are eras, not programme names a figure's sentence must repeat.
_PERIOD_RE = re.compile(r"^[一二三四五六七八九十]+五$")


def _names(w: Window, t: Term) -> bool:
    """Whether the window's sentence, or its passage's heading, names ``t`` as written."""
    s = w.view.sentences[w.sent]
    return t.text in w.view.folded[s.start : s.end] or t.text in w.view.about


def _coverage(terms: Sequence[Term], text: str, weights: dict[str, float]) -> float:
    return sum(weights[t.text] * _found(t, text, chars=False) for t in terms)


def _unit_match(unit: str, text: str) -> bool:
    allowed = _UNIT_EQUIV.get(unit, unit)
    for m in _QTY_RE.finditer(_fold(text)):
        tail = re.sub(r"^[\d.,\s余多万亿千百两三四五六七八九十]+", "", m.group(0))
        if (tail and tail[0] in allowed) or (unit == "元" and "元" in m.group(0)):
            return True
    return False


# --------------------------------------------------------------------------- figure fit
#
# "西藏…表彰了多少名劳模？" is not answered by "劳模工匠巡回宣讲等活动覆盖职工1000万人次":
# the figure counts person-visits of 职工, and 劳模 only names the activity. A figure
# answers a 多少 question when the asked thing governs it (is written in the phrase the
# figure is bound to: "劳模和工匠人才创新工作室85个", "3837户困难职工家庭", "会员总数达
# 12.2万人") and its counter measures what the counter of the question (or its head noun:
# 资金 -> 元) measures.

# Measure classes of counters: people, person-visits, events, money, ratio, area, length,
# time, other counted things; "" for a bare 万/亿.
_MEASURE_OF_UNIT = {
    **dict.fromkeys(("名", "人", "位", "余人"), "P"),
    "人次": "PT",
    **dict.fromkeys(("场", "场次", "次", "批次", "期", "轮", "届", "节", "课", "堂"), "E"),
    **dict.fromkeys(("元", "万元", "亿元", "钱"), "M"),
    **dict.fromkeys(("%", "％", "‰"), "R"),
    **dict.fromkeys(("平方米", "亩"), "A"),
    "公里": "L",
    **dict.fromkeys(("小时", "天", "个月"), "T"),
    **dict.fromkeys(("万", "亿", ""), ""),
}
_IMPLIED_MONEY = re.compile(
    r"(?:资金|经费|金额|款物|款项|善款|钱|资助金|助学金|互助金|慰问金|补助金|救助金|奖金|补贴|工资|欠薪|薪酬|损失|费用|"
    r"效益|产值|消费额|销售额|保费|赔付)$"
)
_IMPLIED_PEOPLE = re.compile(
    r"(?:人数|职工|会员|劳模|工人|农民工|劳动者|干部|人员|学生|人才|工匠|志愿者|骑手|快递员|司机|先进工作者|劳动模范)$"
)
# Words after which the figure counts the verb's object, not the subject before it:
# "劳模宣讲活动覆盖职工1000万人次" counts 职工 reached.
_GOVERNING_VERBS = re.compile(r"覆盖|惠及|受益|参与|参加|慰问|带动|吸引|辐射|涉及")
_FIG_BOUNDARY = set("，,；;。：:！？!?")
# Share of the asked thing's words (by weight) that must be bound to the figure.
FIGURE_BOUND = 0.75
# A window naming at least this share of the asked thing more than the figure's phrase does
# puts the asked thing elsewhere: the figure counts something else.
FIGURE_NAMED_ELSEWHERE = 0.25


def _unit_of(figure: str) -> str:
    """The counter of a figure: "4700余万元" -> "元", "1000万人次" -> "人次", "2万" -> ""."""
    tail = re.sub(r"^[\d.,\s余多万亿千百两三四五六七八九十]+", "", figure)
    return tail.rstrip("余多")


def _measure(unit: str) -> str:
    if unit in _MEASURE_OF_UNIT:
        return _MEASURE_OF_UNIT[unit]
    if unit.endswith("元"):
        return "M"
    return "G" if unit == "个" else "C"


def _asked_tail(need: Need) -> str:
    """What a 多少 need counts, as written: after 多少/几 and its counter, else before 有/是多少.

    >>> _asked_tail(parse_question("拉萨市工会五年组织了多少场劳模疗休养？").needs[0])
    '劳模疗休养'
    """
    text = need.text
    for mention in need.mentions:
        text = text.replace(mention.text, "", 1)
    text = _fold(text).rstrip("？?。！!　 ")
    m = _METRIC_RE.search(text)
    tail = re.sub(r"[呢了吗啊]+$", "", m.group(1)) if m else ""
    if not tail:
        head = re.search(r"([^，,；;]*?)(?:一共|总共|共|合计|累计)?(?:有|是|为|达到?|约)?(?:多少|几)", text)
        tail = head.group(1) if head else ""
    return tail.strip("的 ")


# Nouns that name nothing but an amount: "投入了多少资金" asks for money, whatever it was for.
_MEASURE_NOUNS = re.compile(r"资金|金额|经费|费用|钱|款项|人数|数量|总数|总量|规模|面积|比例|比率|占比")


# Nouns for people a question may count with the general counter 个 ("多少个孩子").
_PERSON_NOUN_RE = re.compile(
    r"孩子|小孩|子女|儿童|学生|职工|工人|会员|劳模|人员|农民工|干部|志愿者|人才|工匠|骑手|司机|劳动者|员工|家庭成员|人"
)


def _counts_people(tail: str) -> bool:
    """Whether the thing counted is a person noun, alone or after a modifier with 的 ("职工家的小孩"),
    not the modifier of another noun ("职工之家", "人才驿站").

    >>> _counts_people("孩子"), _counts_people("职工家的小孩送了礼物"), _counts_people("职工之家")
    (True, True, False)
    """
    import jieba.posseg as pseg

    _jieba()
    starts = [0] + [m.end() for m in re.finditer("的", tail[:12])]
    for s in starts:
        m = _PERSON_NOUN_RE.match(tail, s)
        if not m:
            continue
        rest = tail[m.end() :]
        if not rest:
            return True
        first = next(iter(pseg.lcut(rest)), None)
        if first is not None and not first.flag.startswith(("n", "q")) and first.word[:1] not in "之家站":
            return True
    return False


def asked_measure(need: Need) -> str:
    """The measure a need asks for: its counter ("多少名" -> P), else what its head noun implies
    ("多少帮扶资金" -> M, "多少农民工" -> P), else "" (any).

    >>> asked_measure(parse_question("西藏自治区工会五年表彰了多少名劳模？").needs[0])
    'P'
    >>> asked_measure(parse_question("甘肃工会为困难职工发放了多少帮扶资金？").needs[0])
    'M'
    """
    tail = _asked_tail(need)
    if need.unit == "个" and _counts_people(tail):
        return "P"  # 个 is a general counter: "多少个孩子" counts people ("惠及职工子女280人")
    if need.unit:
        return _measure(need.unit)
    if re.search(r"面积$", tail):
        return "A"
    if _IMPLIED_MONEY.search(tail):
        return "M"
    if _IMPLIED_PEOPLE.search(tail):
        return "P"
    return ""


def _measure_fit(asked: str, measure: str, unit: str) -> str:
    """How a figure's counter fits the asked measure: "ok", "soft" (only when the asked thing
    itself governs the figure: 人次 for 多少名) or "hard" (元 for 多少名, 名 for 多少场)."""
    if not asked or not measure or asked == measure:
        return "ok"
    if asked == "G":  # 个 counts almost anything
        if measure in ("M", "R", "A", "L", "T"):
            return "hard"
        return "ok" if measure == "C" else "soft"
    if asked == "P":
        return "soft" if measure == "PT" or unit == "个" else "hard"
    if asked == "PT":
        return "ok" if measure == "P" else ("soft" if measure == "E" else "hard")
    if asked == "E":
        return "ok" if measure in ("C", "G") else ("soft" if measure == "PT" else "hard")
    if asked == "C":
        return "ok" if measure in ("E", "G") else "hard"
    return "hard"


# A clause opening with one of these (an adverb, or a verb like 涉及/惠及) has no subject of
# its own: its figure is about the clause before ("建立了大病互助保障基金，最高可一次性申请15万元";
# "带动劳动和技能竞赛，涉及56个工种、参赛职工27万人次").
_SUBJECTLESS = re.compile(
    # An optional time adverbial first: "五年来共返还371.1万元" carries the subject over too.
    r"^(?:(?:[一二三四五六七八九十两\d]+|近|多|近几|这几|这)年(?:来|间|里)?|今年|全年|当年|目前|其中)?"
    r"(?:最高|最多|最低|最少|可|共|共计|累计|合计|总计|均|已|并|又|还|再|分别|先后|每年|全年|平均|"
    + _GOVERNING_VERBS.pattern
    + ")"
)


@dataclass(frozen=True)
class _Figure:
    start: int  # the figure in its clause
    end: int
    unit: str
    phrase: str  # the words it is bound to (folded), the figure itself left out
    span: tuple[int, int]  # the figure with its phrase in the clause, to show
    opens: bool = False  # the phrase reaches back to the clause's start (itself or by coordination)


@functools.lru_cache(maxsize=8192)
def _figure_phrases(clause: str) -> tuple[_Figure, ...]:
    """The figures of a clause, each with the words it is bound to.

    The phrase runs back to a punctuation mark, the previous figure or a verb like
    覆盖/惠及 (kept: the figure counts its object), and on to the next punctuation mark or
    figure; figures put first in a coordination ("2.8万家单位、440万人参加…") share what
    follows the last of them.

    >>> c = "职工大讲堂、劳模工匠巡回宣讲等活动覆盖职工1000万人次"
    >>> [(c[f.start : f.end], f.unit, f.phrase) for f in _figure_phrases(c)]
    [('1000万人次', '人次', '覆盖职工')]
    >>> [(f.unit, f.phrase) for f in _figure_phrases("确保每年有2.8万家单位、440万人参加安康杯竞赛")]
    [('家', '确保每年有单位、参加安康杯竞赛'), ('人', '确保每年有单位、参加安康杯竞赛')]
    >>> [(f.unit, f.phrase) for f in _figure_phrases("其中新业态领域工会4994家、会员59.76万人")]
    [('家', '其中新业态领域工会、会员'), ('人', '其中新业态领域工会、会员')]
    """
    f = _fold(clause)
    ms = _figure_matches(f)
    out = []
    lefts: list[str] = []
    opens: list[bool] = []
    for k, m in enumerate(ms):
        s, e = m.start(), m.end()
        lo = ms[k - 1].end() if k else 0
        hi = ms[k + 1].start() if k + 1 < len(ms) else len(f)
        left = s
        while left > lo and f[left - 1] not in _FIG_BOUNDARY:
            left -= 1
        cut = max((mm.start() for mm in _GOVERNING_VERBS.finditer(f, left, s)), default=-1)
        if cut >= 0:
            left = cut
        before = f[left:s]
        opened = left == 0 or not f[:left].strip()
        if k and left == lo and cut < 0 and ("、" in before or before[:1] in ("和", "及", "与")):
            # Coordination: "新业态领域工会4994家、会员59.76万人", "涉及56个工种、参赛职工27万人次"
            # -- what precedes the first item qualifies or governs every item.
            before = lefts[-1] + before
            opened = opens[-1]
        lefts.append(before)
        opens.append(opened)
        right = e
        while right < hi and f[right] not in _FIG_BOUNDARY:
            right += 1
        phrase = before + f[e:right]
        end = right
        # Figure-first coordination: "A单位、B人参加…" -- the shared predicate follows the last figure.
        j = k
        while right == hi and j + 1 < len(ms) and re.search(r"[、和及与]$", f[ms[j].end() : ms[j + 1].start()]):
            j += 1
            nxt = ms[j + 1].start() if j + 1 < len(ms) else len(f)
            right = ms[j].end()
            while right < nxt and f[right] not in _FIG_BOUNDARY:
                right += 1
            hi = nxt
        if j > k:
            phrase += f[ms[j].end() : right]
            end = right
        out.append(_Figure(s, e, _unit_of(m.group(0)), phrase, (left, end), opened))
    return tuple(out)


def _abbrev_found(term: Term, text: str) -> float:
    """Credit for a short word written in full: 劳模 in 劳动模范, 疗休养 in 疗养休养."""
    t = term.text
    if term.numeric or not 2 <= len(t) <= 3:
        return 0.0
    for m in re.finditer(re.escape(t[0]), text):
        pos, ok = m.start(), True
        for c in t[1:]:
            nxt = text.find(c, pos + 1, m.start() + 2 * len(t))
            if nxt < 0:
                ok = False
                break
            pos = nxt
        if ok:
            return 0.8
    return 0.0


def _bound(metric: Sequence[Term], text: str, weights: dict[str, float]) -> float:
    """Weighted share of the asked thing's words in ``text`` (whole, in parts or abbreviated)."""
    total = sum(weights[t.text] for t in metric)
    if not total:
        return 1.0
    got = sum(weights[t.text] * max(_found(t, text, chars=False), _abbrev_found(t, text)) for t in metric)
    return got / total


def _bound_any(metric: Sequence[Term], text: str) -> float:
    """Whether any of ``metric`` is in ``text`` (whole, in parts or abbreviated), as 0/1."""
    return float(any(max(_found(t, text, chars=False), _abbrev_found(t, text)) > 0 for t in metric))


def _relates(need: Need, text: str, least: int = 1) -> bool:
    """Whether ``text`` has ``least`` telling characters of the need's own words, amount nouns and
    generic words left out: "追回欠薪125万余元" relates to "帮职工要回了多少被拖欠的工资"
    (回, 欠); "拟用工人数9482人" does not to "职工互助保障的参保人数" (人数 only names an amount).
    """
    own = _fold(need.text)
    for m in need.mentions:
        own = own.replace(_fold(m.text), "", 1)
    own = _MEASURE_NOUNS.sub("", _ANY_YEAR_RE.sub("", own))
    for g in sorted(_GENERIC, key=len, reverse=True):  # 总工会 before 工会
        own = own.replace(g, "")
    keys = {c for c in own if _is_cjk(c) and c not in _COMMON_CHARS and c not in _NOT_TELLING}
    return sum(1 for c in keys if c in text) >= min(least, len(keys)) > 0


# Characters of question and time words, never telling.
_NOT_TELLING = frozenset("来去是么哪谁几怎样吗呢啊还都共")
# Telling characters of the question a paraphrased figure's words must carry when nothing of
# the asked thing is in its window (生病 / 患病; 要回…拖欠 / 追回欠薪).
PARAPHRASE_MIN_CHARS = 1
# Share of the asked thing's telling characters a clause must echo for a figure with the asked
# counter itself ("多少种…病" / "13种…疾病") to stand against a modifier conflict.
SAME_COUNTER_ECHO = 0.5


@dataclass(frozen=True)
class FigureFit:
    """The verdict on one window's figures for a 多少 need."""

    state: str  # "strong" | "weak" | "none"
    window: Window
    figure: str = ""  # the best figure of the window with its phrase, as written ("覆盖职工1000万人次")
    why: str = ""  # "measure" (counter does not fit) | "thing" (the asked thing is elsewhere) | "apart" (named, not at the figure) | "absent" (not named at all) | "no_figure" | "plan" (a target, not a result)


def _shares_chars(thing: str, text: str) -> bool:
    """Whether ``text`` has half the telling characters of the asked thing's head word (欠薪 /
    拖欠工资, but not 救助金 / 补助经费), or nothing is asked beyond an amount ("多少资金").

    >>> _shares_chars("讨回的欠薪", "为职工追回拖欠工资200余万元"), _shares_chars("救助金", "补助基层的经费10亿元")
    (True, False)
    """
    words = [w for w in _jieba().lcut(thing) if any(_is_cjk(c) for c in w)]
    keys = {c for c in (words[-1] if words else "") if _is_cjk(c) and c not in _COMMON_CHARS}
    return 2 * sum(1 for c in keys if c in text) >= len(keys)


def _modifier_conflict(need: Need, metric: Sequence[Term], phrase: str) -> bool:
    """The asked compound's head is at the figure with another modifier: 帮扶资金 asked, 专项资金 written.

    Only a head jieba keeps in one word with its modifier counts ("专项资金"): a verb before a
    bare head ("筹集资金") says nothing of what kind of 资金 it is.
    """
    q = _fold(need.text)
    words = _jieba().lcut(phrase)
    for mod, head in itertools.pairwise(metric):
        if mod.numeric or head.numeric or mod.text + head.text not in q:
            continue
        if max(_found(mod, phrase, chars=False), _abbrev_found(mod, phrase)) > 0:
            continue
        for w in words:
            if len(w) > len(head.text) and w.endswith(head.text) and all(_is_cjk(c) for c in w):
                return True
    return False


@functools.lru_cache(maxsize=4096)
def _is_noun(word: str) -> bool:
    """jieba tags ``word`` as a noun (驿站), not a verb or verbal noun (讨论)."""
    import jieba.posseg as pseg

    _jieba()
    tags = [flag for _, flag in pseg.lcut(word)]
    return bool(tags) and tags[-1].startswith("n") and tags[-1] != "vn"


# Nouns that stand for any thing or place in a paraphrased question ("…喝水歇脚的地方"): no
# evidence that a figure counts another thing when the passage names it otherwise (驿站).
_VAGUE_HEADS = frozenset("地方 地点 场所 去处 东西 事情 事儿 好事 实事".split())


def _other_head(metric: Sequence[Term], phrase: str, window: str) -> bool:
    """The figure counts another thing: a modifier of the asked thing is bound to it but the
    head noun (the last word: 驿站 in "户外劳动者驿站") is nowhere in its clause, not even a
    character of it (服务站 would do for 驿站)."""
    if len(metric) < 2:
        return False
    head = metric[-1]
    if head.numeric or head.text in _VAGUE_HEADS or _found(head, window) > 0 or not _is_noun(head.text):
        return False
    return any(_found(t, phrase, chars=False) >= 1.0 for t in metric[:-1])


def _show(clause: str, fig: _Figure, before: int = 14, after: int = 10) -> str:
    """A figure with the words around it, as written, cut with "…" where long."""
    a = max(fig.span[0], fig.start - before)
    b = min(fig.span[1], fig.end + after)
    text = ("…" if a > fig.span[0] else "") + clause[a:b] + ("…" if b < fig.span[1] else "")
    return _SPACE_RE.sub("", text)


@dataclass(frozen=True)
class _Asked:
    """What a 多少 need asks, read once for all its windows."""

    measure: str  # asked_measure()
    thing: str  # the asked thing without words that only name an amount ("帮扶资金" -> "帮扶")
    counted: str  # its first word: the people a 多少名 question counts ("多少名职工参与…" -> 职工)

    @classmethod
    def of(cls, need: Need) -> _Asked:
        tail = _asked_tail(need)
        counted = next((x for x in _jieba().lcut(tail) if len(x) >= 2 and all(_is_cjk(c) for c in x)), "")
        return cls(asked_measure(need), _MEASURE_NOUNS.sub("", tail), counted)


_ASKED_RE = re.compile(r"多少|几(?=[\u4e00-\u9fff])")
_RANK = {"strong": 3, "weak": 2, "none": 1}


# A plan, not a result: the passage looks ahead ("未来五年工作展望") or its sentence sets targets.
_PLAN_ABOUT_RE = re.compile(
    r"(?:未来|今后|下一步|明年)(?:[一二三四五六七八九十几两\d]+年)?|展望|规划|计划|打算|目标任务|工作思路"
)
_PLAN_SENT_RE = re.compile(r"力争|争取|争创|计划|拟|将要|到20\d\d年")
# The question asks what has been done ("已经建成了多少", "过去五年建了多少").
_ACHIEVED_RE = re.compile(r"已经|已|过去|迄今|至今|截至目前")


def _plan_passage(v: _PassageView, sent: int) -> bool:
    """Whether the figures of sentence ``sent`` are targets: a forward-looking passage or sentence."""
    p = v.passage
    about = _fold(" ".join([p.title, *p.heading_path]))
    s = v.sentences[sent]
    return bool(_PLAN_ABOUT_RE.search(about) or _PLAN_SENT_RE.search(v.folded[s.start : s.end]))


def figure_fit(
    w: Window, need: Need, metric: Sequence[Term], weights: dict[str, float], asked: _Asked | None = None
) -> FigureFit:
    """Whether a window has a figure that measures the asked thing; a target never does when
    the question asks what has been achieved ("已经建成了多少个驿站" / "新建…驿站100个" in a
    未来五年展望)."""
    f = _figure_fit(w, need, metric, weights, asked)
    if f.state != "none" and _ACHIEVED_RE.search(need.text) and _plan_passage(w.view, w.sent):
        return FigureFit("none", w, f.figure, "plan")
    return f


def _figure_fit(
    w: Window, need: Need, metric: Sequence[Term], weights: dict[str, float], asked: _Asked | None = None
) -> FigureFit:
    """Whether a window has a figure that measures the asked thing (see the section comment).

    A figure fits strongly when at least FIGURE_BOUND of the asked thing's words (``metric``)
    are in the phrase it is bound to and its counter does not contradict the asked one;
    weakly when its counter fits and the asked thing is neither named elsewhere in the
    window nor contradicted by another modifier (a paraphrase: 讨回欠薪 / 追回拖欠工资); not
    at all otherwise.
    """
    asked = asked or _Asked.of(need)
    v = w.view
    sent = v.sentences[w.sent]
    named = _bound(metric, v.folded[w.start : w.end], weights)
    # Words that only name an amount (人数, 资金) say nothing of what is counted: "参保人数"
    # asked is not named by "拟用工人数9482人".
    thing_terms = [t for t in metric if t.numeric or _MEASURE_NOUNS.sub("", t.text)]
    named_thing = named if len(thing_terms) in (0, len(metric)) else _bound_any(thing_terms, v.folded[w.start : w.end])
    best: tuple[float, str, str, str] = (-1.0, "none", "no_figure", "")
    joint: list[str] = []
    for k in range(w.first, w.last + 1):
        a, b = sent.clauses[k]
        clause = v.passage.text[a:b]
        for fig in _figure_phrases(clause):
            phrase = phrase_own = fig.phrase
            own = _bound(metric, phrase, weights)
            if fig.opens and _SUBJECTLESS.match(_fold(clause).lstrip()):
                # The subject carries over from the clause before, or the sentence before.
                if k > 0:
                    pa, pb = sent.clauses[k - 1]
                elif w.sent > 0 and v.sentences[w.sent - 1].clauses:
                    pa, pb = v.sentences[w.sent - 1].clauses[-1]
                else:
                    pa = pb = 0
                if pb > pa and not _figure_matches(v.folded[pa:pb]):
                    phrase = v.folded[pa:pb] + phrase
            fit = _measure_fit(asked.measure, _measure(fig.unit), fig.unit)
            bound = _bound(metric, phrase, weights)
            if fit == "hard":
                state, why = "none", "measure"
            elif fit == "soft":
                # Another measure ("1000万人次" for 多少名): only when the asked thing itself governs
                # it, or for people counted in 人次, the asked people ("多少名职工" / "覆盖职工26万人次").
                people = bool(asked.counted) and asked.measure == "P" and asked.counted in phrase_own
                state, why = ("strong", "") if own >= FIGURE_BOUND or people else ("none", "measure")
            elif bound >= FIGURE_BOUND:
                state, why = "strong", ""
            elif _modifier_conflict(need, metric, phrase) or (
                asked.measure in ("C", "G") and _other_head(metric, phrase, _fold(clause))
            ):
                # "户外劳动者驿站" / "劳动者工会组织63个": another head noun -- unless the figure has
                # the asked counter itself and its clause echoes the asked thing, its modifiers
                # paraphrased ("多少种高原上特有的病" / "13种高原性特殊疾病").
                same = bool(need.unit) and need.unit not in ("个", "") and fig.unit == need.unit
                if same and _echoes(asked.thing, _fold(clause)) >= SAME_COUNTER_ECHO:
                    state, why = "weak", ""
                else:
                    state, why = "none", "thing"
            elif named - bound >= FIGURE_NAMED_ELSEWHERE:
                state, why = "none", "apart"  # the asked thing is named in the window, not at the figure
            elif not named_thing and (
                not _shares_chars(asked.thing, v.folded[w.start : w.end])
                # only characters shared: the figure's own words must carry some of the question's
                or (thing_terms and len(thing_terms) < len(metric) and not _relates(need, phrase))
            ):
                state, why = "none", "absent"  # nothing of the asked thing in the window, not even a character
            else:
                state, why = "weak", ""
            # The figure closest to the asked thing, to show; among equals one whose counter fits
            # ("投资300余万元建成…驿站350个" for 多少个: 350个, not the money before it).
            key = _RANK[state] + min(own, 0.99) * 0.98 + (0.01 if fit != "hard" else 0.0)
            if key > best[0]:
                best = (key, state, why, _show(clause, fig))
            if state == "strong":
                return FigureFit("strong", w, best[3])
            joint.append(phrase)  # each asked figure has its own counter: not checked against the first
    # "新建了多少家基层工会、发展了多少新会员": several figures asked together are each bound to
    # one of the asked things; together they cover it ("新建基层工会45家，发展新会员1890人").
    if (
        len(joint) >= 2
        and len(_ASKED_RE.findall(need.text)) >= 2
        and _bound(metric, "".join(joint), weights) >= FIGURE_BOUND
    ):
        return FigureFit("strong", w, best[3])
    return FigureFit(best[1], w, best[3], best[2])


# Alternatives to the best-scored window, as a share of its score: one whose figure the
# asked thing governs, or (when the best has no fitting figure) one with a fitting counter.
STRONG_ALTERNATIVE = 0.5
STRONG_OVER_WEAK = 0.9  # share of the best's content-word match
WEAK_ALTERNATIVE = 0.7
NOUNS_OVER_WEAK = 0.5  # share of the asked thing's words a strong alternative has more than a weak best
PARAPHRASE_MAX_RANK = 1  # a paraphrased figure is trusted only from the two best-ranked passages


def _choose_by_figure(
    need: Need, ranked: list[Window], metric: Sequence[Term], weights: dict[str, float]
) -> tuple[list[Window], str, FigureFit | None]:
    """``ranked`` with the window to answer from first, the fit state, and the failed fit when none fits.

    The best-scored window is kept when a figure of it fits strongly. Otherwise the first
    window whose figure fits strongly is taken when it matches the question as well as the
    best (a weakly fitting best) or scores at least STRONG_ALTERNATIVE of it (a best with no
    fitting figure); then the best if it fits weakly; then the first weakly fitting window
    scoring at least WEAK_ALTERNATIVE of the best.
    """
    asked = _Asked.of(need)
    top = ranked[0]
    top_fit = figure_fit(top, need, metric, weights, asked) if top.typed else None
    if top_fit and top_fit.state == "strong":
        return ranked, "strong", None
    top_state = top_fit.state if top_fit else "none"
    fits = [top_fit] if top_fit else []
    fits += [figure_fit(w, need, metric, weights, asked) for w in ranked[1:20] if w.typed]
    chosen = next(
        (
            f
            for f in fits
            if f.state == "strong"
            and (
                (
                    top_state == "weak"
                    and (
                        f.window.rel >= STRONG_OVER_WEAK * top.rel
                        # the asked nouns are in this window, next to its figures, not in the best
                        or (
                            f.window.metric >= top.metric + NOUNS_OVER_WEAK
                            and f.window.score >= STRONG_ALTERNATIVE * top.score
                        )
                    )
                )
                or (top_state == "none" and f.window.score >= STRONG_ALTERNATIVE * top.score)
            )
        ),
        None,
    )
    if chosen is None and top_state == "weak":
        chosen = top_fit
    if chosen is None:
        chosen = next((f for f in fits if f.state == "weak" and f.window.score >= WEAK_ALTERNATIVE * top.score), None)
    if chosen is None:
        # A paraphrase: none of the asked words binds the figure ("帮职工要回被拖欠的工资" /
        # "追回欠薪125万余元"), but its counter fits and it stands in one of the two passages
        # retrieval ranked first for the right place and year: trust retrieval over wording.
        loose = next(
            (
                f
                for f in fits
                # only when nothing of the asked thing is in the window: named apart from the
                # figure ("apart") or heading another noun ("thing") is evidence against it
                if f.why == "absent"
                and f.window.view.rank <= PARAPHRASE_MAX_RANK
                # the figure's own words carry a verb or noun of the question (追回欠薪 / 要回…拖欠)
                and _relates(need, _fold(f.figure), PARAPHRASE_MIN_CHARS)
                and f.window.fit > 0
                and f.window.score >= WEAK_ALTERNATIVE * top.score
            ),
            None,
        )
        if loose is not None:
            chosen = FigureFit("weak", loose.window, loose.figure)
    if chosen is None:
        failed = top_fit or (fits[0] if fits else FigureFit("none", top, "", "no_figure"))
        return ranked, "none", failed
    w = chosen.window
    return [w, *(x for x in ranked if x is not w)], chosen.state, None


def analyze(
    question: str,
    passages: Sequence[Passage],
    known_places: Iterable[str] = (),
    contrast: Sequence[Passage] = (),
) -> Analysis:
    """Parse ``question`` and score every window of ``passages`` for each thing it asks.

    ``contrast`` are passages retrieved for the question without its places: they are
    never quoted, only read to see whether the asked thing is reported for other places.
    """
    vocab = "\n".join(_fold(p.text) for p in (*passages, *contrast))
    info = parse_question(question, [*known_places, *_passage_places(passages)], vocab)
    views = [_view(i, p) for i, p in enumerate(passages)]
    seen = {p.id for p in passages}
    views += [_view(len(views) + i, p, True) for i, p in enumerate(contrast) if p.id not in seen]
    weights = _weights(info.context_terms, views)
    results = [_score_need(info, n, views, weights) for n in info.needs]
    return Analysis(info, tuple(passages), results)


def without_constraints(question: str, known_places: Iterable[str] = ()) -> str:
    """``question`` without its places and years: the query for contrast passages ("" when it names none).

    >>> without_constraints("平凉市总工会发放了多少职工医疗互助金？")
    '总工会发放了多少职工医疗互助金？'
    """
    mentions = find_places(question, known_places) + find_years(question)
    if not mentions:
        return ""
    out = question
    for m in sorted(mentions, key=lambda m: -m.start):
        out = out[: m.start] + out[m.end :]
    return out.strip("，,、和与及的 ")


def _passage_places(passages: Sequence[Passage]) -> list[str]:
    out = []
    for p in passages:
        place = (p.meta or {}).get("place")
        if place:
            out.append(str(place))
    return out


# --------------------------------------------------------------------------- composing


def _clean(text: str) -> str:
    """Quoted text for display: whitespace and stray ``[n]`` markers removed, trailing clause punctuation dropped.

    >>> _clean("发放互助金3234万元[2]，\\n")
    '发放互助金3234万元'
    """
    from rag.answer.citations import strip_markers

    t = _SPACE_RE.sub("", strip_markers(text))
    return t.rstrip("，,；;：:、。！？!?")


def _extend_list(w: Window, need_count: int) -> tuple[int, int]:
    """Grow a list answer over the following clauses of its sentence until it has enough items."""
    s = w.view.sentences[w.sent]
    a, b = w.start, w.end
    j = w.last
    while _list_items(w.view.passage.text[a:b]) < need_count and j + 1 < len(s.clauses) and j - w.first < 5:
        j += 1
        b = s.clauses[j][1]
    return a, b


_CN_NUM = "一二三四五六七八九十"
_ENUM_RE = re.compile(
    r"^\s*(?:([一二三四五六七八九十])是|第([一二三四五六七八九十])[，,、是]|（([一二三四五六七八九十])）|([一二三四五六七八九十])[、．.])"
)


def _enum_index(text: str) -> int:
    """The ordinal a sentence opens with: "二是…" -> 2, "（三）…" -> 3, else 0."""
    m = _ENUM_RE.match(text)
    if not m:
        return 0
    ch = next(g for g in m.groups() if g)
    return _CN_NUM.index(ch) + 1


def _enum_chain(v: _PassageView, si: int) -> int:
    """How many items the enumeration opened by sentence ``si`` has ("一是…二是…三是…" -> 3), 0 if none."""
    sents = v.sentences
    k = _enum_index(v.passage.text[sents[si].start : sents[si].end])
    if not k:
        return 0
    n, gap = 1, 0
    for s in sents[si + 1 :]:
        idx = _enum_index(v.passage.text[s.start : s.end])
        if idx == k + 1:
            n, k, gap = n + 1, idx, 0
        elif idx or gap > 4:
            break
        else:
            gap += 1
    return n if n > 1 else 0


def _enumeration(w: Window, need_count: int) -> list[tuple[int, int]]:
    """When the window's sentence opens an enumeration ("一是…。二是…。"), the spans of its items.

    The first item is the window; each following "二是/三是…" sentence of the passage gives
    its first clause. Returns [] when the sentence is not enumerated or nothing follows.
    """
    v = w.view
    sents = v.sentences
    k = _enum_index(v.passage.text[sents[w.sent].start : sents[w.sent].end])
    if not k:
        return []
    spans = [(w.start, w.end)]
    want = need_count or 8
    gap = 0
    for s in sents[w.sent + 1 :]:
        if len(spans) >= want or gap > 4:
            break
        idx = _enum_index(v.passage.text[s.start : s.end])
        if idx == k + 1:
            spans.append(s.clauses[0] if s.clauses else (s.start, s.end))
            k, gap = idx, 0
        elif idx:
            break
        else:
            gap += 1
    return spans if len(spans) > 1 else []


# Parallel items in one sentence: "无论是A，还是B，或是C", "既有A，也有B".
_PARALLEL_RE = re.compile(
    r"(?:无论是|不论是|既有|既是|包括|比如|例如|如)[^。！？]{2,40}?[，,](?:还是|也有|又有|以及|或是|还有)"
)


def _parallel_items(text: str) -> int:
    """How many items ``text`` enumerates, counting parallel 是…还是…或是 clauses too."""
    n = _list_items(text)
    if _PARALLEL_RE.search(text):
        n = max(n, 1 + len(re.findall(r"[，,](?:还是|或是|也有|又有|以及|还有)", text)))
    return n


def _echoes(text: str, question: str) -> float:
    """Share of ``text``'s uncommon Han characters that the question has: a sentence naming the topic."""
    keys = [c for c in text if _is_cjk(c) and c not in _COMMON_CHARS]
    return sum(1 for c in keys if c in question) / len(keys) if keys else 0.0


def _following_items(
    w: Window, spans: list[tuple[int, int]], info: QuestionInfo, passages: Sequence[Passage]
) -> tuple[Passage, tuple[int, int]] | None:
    """The next sentence when the list answer only names the topic ("将传统文化、非遗资源融入…")
    and that sentence enumerates the items ("无论是汉调二黄…，还是紫阳民歌…，或是龙舟竞渡…").

    The next sentence may open the next chunk of the same document, when it was retrieved.
    """
    v = w.view
    text = v.passage.text[spans[0][0] : spans[-1][1]]
    want = max(3, info.list_count)
    if len(spans) > 1 or _list_items(text) >= want or _echoes(text, info.question) < 0.5:
        return None
    p = v.passage
    if w.sent + 1 < len(v.sentences):
        nxt: tuple[Passage, tuple[int, int]] = (p, (v.sentences[w.sent + 1].start, v.sentences[w.sent + 1].end))
    elif v.passage.text[w.end :].strip() == "" and p.doc_id:
        after = [q for q in passages if q.doc_id == p.doc_id and q.id != p.id and 0 <= q.start - p.end <= 4]
        first = sentence_spans(after[0].text)[:1] if after else []
        if not first:
            return None
        nxt = (after[0], first[0])
    else:
        return None
    body = nxt[0].text[nxt[1][0] : nxt[1][1]]
    n = _parallel_items(body)
    if n < want or (info.list_count and n != info.list_count) or _echoes(body, info.question) >= 0.5:
        return None
    return nxt


_COORD_RE = re.compile(r"以及|和|、|及|与")
# Clauses after the window searched for the figure of a second coordinated noun.
_COORD_REACH = 2


def _coordinated(text: str) -> list[str]:
    """The nouns one 多少/几 asks together: "多少工会组织和工会会员" -> [工会组织, 工会会员].

    >>> _coordinated("有多少人考取了一建和二建？")
    ['考取了一建', '二建']
    """
    if len(_ASKED_RE.findall(text)) != 1:
        return []
    m = _METRIC_RE.search(_fold(text))
    tail = re.split(r"[，,；;？?。]", m.group(1))[0] if m else ""
    items = [x.strip("的 ") for x in _COORD_RE.split(tail)]
    return items if len(items) >= 2 and all(items) else []


def _extend_coordinated(w: Window, need: Need, question: str) -> tuple[int, int]:
    """The quote for a number need: the window, or further through the next (else the previous)
    clauses of its sentence while each gives a figure for a coordinated noun the window lacks
    ("集团公司考取一建的63人，考取二建的282人"; "建立工会组织6749家,发展会员62万余人")."""
    # one side of a comparison ("铜仁市（…）和遵义市（…）分别有多少…") asks what the question asks
    items = _coordinated(need.text if _ASKED_RE.search(need.text) else question)
    if not items:
        return w.start, w.end
    v = w.view
    sent = v.sentences[w.sent]
    start, end, first, last = w.start, w.end, w.first, w.last
    jb = _jieba()
    for item in items:
        if item in v.folded[start:end]:
            continue
        words = [*jb.lcut(item), *jb.cut_for_search(item)]  # 工会会员 -> 会员 too
        keys = [x for x in words if len(x) >= 2 and x not in _GENERIC and x not in QUESTION_WORDS] or [item]
        if any(x in v.folded[start:end] for x in keys):
            continue
        after = range(last + 1, min(last + 1 + _COORD_REACH, len(sent.clauses)))
        before = range(first - 1, max(first - 1 - _COORD_REACH, -1), -1)
        for k in (*after, *before):
            a, b = sent.clauses[k]
            if _figure_matches(v.folded[a:b]) and any(x in v.folded[a:b] for x in keys):
                if k > last:
                    end, last = b, k
                else:
                    start, first = a, k
                break
    return start, end


@dataclass
class _Piece:
    passage: Passage
    spans: list[tuple[int, int]]
    label: str

    @property
    def start(self) -> int:
        return min(a for a, _ in self.spans)

    @property
    def end(self) -> int:
        return max(b for _, b in self.spans)


# A passage's citation quotes the union of the spans used from it, up to this length.
_MAX_QUOTE = 600


def compose(
    analysis: Analysis, question: str, *, skip: Iterable[int] = (), notes: Sequence[str] = (), latency_ms: float = 0.0
) -> Answer:
    """The answer text with ``[n]`` markers and its citations, from an analysis.

    Pieces are the best window of each need, in the order the question asks them; two
    needs answered by the same sentence share one piece. Needs in ``skip`` (not answered
    by the passages) are left out and ``notes`` say so at the end. ``[n]`` numbers the
    cited passages 1..m in order of first use; each citation quotes the exact text used.
    """
    pieces: list[_Piece] = []
    info = analysis.info
    skipped = set(skip)
    for i, r in enumerate(analysis.needs):
        w = r.best
        if w is None or i in skipped:
            continue
        spans = [(w.start, w.end)]
        follow = None
        if (r.need.kind or info.kind) == "list":
            if info.list_count:
                spans = [_extend_list(w, info.list_count)]
            if _list_items(w.view.passage.text[spans[0][0] : spans[0][1]]) < max(2, info.list_count):
                spans = _enumeration(w, info.list_count) or spans
            follow = _following_items(w, spans, info, analysis.passages)
        elif (r.need.kind or info.kind) == "number":
            spans = [_extend_coordinated(w, r.need, info.question)]
        a, b = spans[0][0], spans[-1][1]
        label = r.need.label if info.comparison else ""
        merged = False
        for pc in pieces:
            if pc.passage.id != w.passage.id:
                continue
            if pc.start <= a and b <= pc.end:
                merged = True
                break
            if (
                not info.comparison
                and len(pc.spans) == 1
                and len(spans) == 1
                and not (b <= pc.start - 80 or a >= pc.end + 80)
            ):
                pc.spans = [(min(pc.start, a), max(pc.end, b))]
                merged = True
                break
        if not merged:
            pieces.append(_Piece(w.passage, spans, label))
        if follow is not None:
            fp, fspan = follow
            if fp.id == w.passage.id:
                host = next(pc for pc in pieces if pc.passage.id == fp.id)
                host.spans = [*host.spans, fspan]
            else:
                pieces.append(_Piece(fp, [fspan], label))
    if not pieces:
        return Answer(question, REFUSAL + "。", (), True, analysis.passages, latency_ms=latency_ms)
    numbers: dict[str, int] = {}
    used: dict[str, list[tuple[int, int]]] = {}
    parts: list[str] = []
    for pc in pieces:
        n = numbers.setdefault(pc.passage.id, len(numbers) + 1)
        used.setdefault(pc.passage.id, []).extend(pc.spans)
        body = "；".join(x for x in (_clean(pc.passage.text[a:b]) for a, b in pc.spans) if x)
        if pc.label and pc.label not in body and place_stem(pc.label) not in body:
            body = f"{pc.label}：{body}"
        parts.append(f"{body}[{n}]")
    by_id = {p.passage.id: p.passage for p in pieces}
    citations = []
    for pid, n in numbers.items():
        spans = used[pid]
        qa, qb = min(a for a, _ in spans), max(b for _, b in spans)
        if qb - qa > _MAX_QUOTE:
            qa, qb = spans[0]
        quote = by_id[pid].text[qa:qb].strip().rstrip("，,、；;：:")  # no dangling clause mark
        citations.append(Citation(n, by_id[pid], quote))
    text = "；".join(parts) + "。" if info.comparison else "。".join(parts) + "。"
    for note in dict.fromkeys(notes):
        text += f"（{note}。）"
    return Answer(question, text, tuple(citations), False, analysis.passages, latency_ms=latency_ms)


def comparison_queries(question: str, known_places: Iterable[str] = ()) -> list[str]:
    """One retrieval query per side of a comparison, [] when the question is not one.

    >>> comparison_queries("济南和许昌的建制率分别保持在多少？", known_places=["许昌市"])
    ['济南的建制率分别保持在多少？', '许昌的建制率分别保持在多少？']
    """
    info = parse_question(question, known_places)
    if not info.comparison:
        return []
    out = []
    sides = [n.mentions[0] for n in info.needs]
    for n, side in zip(info.needs, sides, strict=True):
        if n.text == question:  # tight: drop the other sides and their connectors
            q = question
            for other in sorted((s for s in sides if s is not side), key=lambda m: -m.start):
                a, b = other.start, other.end
                pre = question[:a]
                m = re.search(r"(?:和|与|及|以及|、|跟|同)\s*$", pre)
                if m:
                    a = m.start()
                else:
                    post = re.match(r"\s*(?:和|与|及|以及|、|跟|同)", question[b:])
                    if post:
                        b += post.end()
                q = q[:a] + q[b:]
            out.append(q)
        else:
            out.append(n.text.strip("，,、和与及 "))
    return out


class ExtractiveAnswerer:
    """Answers from the passages' own words, offline: the best clauses per asked thing, cited.

    >>> from rag.records import Passage
    >>> p = Passage("p", "全市建会企业集体协商建制率保持在92%以上。", "a.txt", "许昌市工会工作综述", (), 1.0)
    >>> ExtractiveAnswerer().answer("许昌建制率是多少？", [p]).text
    '全市建会企业集体协商建制率保持在92%以上[1]。'
    """

    def __init__(self, settings: Settings | None = None, known_places: Iterable[str] = ()):
        self.settings = settings or Settings()
        self.known_places = tuple(known_places)

    def analyze(self, question: str, passages: Sequence[Passage]) -> Analysis:
        return analyze(question, passages, self.known_places)

    def answer(
        self,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[tuple[str, str]] = (),
        *,
        analysis: Analysis | None = None,
    ) -> Answer:
        """The answer to ``question`` from ``passages`` (best first), or a refusal when they lack it."""
        from rag.answer.refusal import judge, refusal_answer

        t0 = time.perf_counter()
        passages = tuple(passages)
        a = analysis or self.analyze(question, passages)
        verdict = judge(a)
        if verdict.refuse:
            ans = refusal_answer(question, passages, verdict)
        else:
            notes = [self._note(a, i, reason) for i, reason in zip(verdict.failed, verdict.reasons, strict=True)]
            ans = compose(a, question, skip=verdict.failed, notes=notes)
        ms = (time.perf_counter() - t0) * 1000
        return Answer(ans.question, ans.text, ans.citations, ans.refused, ans.passages, latency_ms=ms)

    @staticmethod
    def _note(a: Analysis, i: int, reason: str) -> str:
        """What the answer says about a need the passages do not answer."""
        need = a.needs[i].need
        if need.label:
            return f"{need.label}：{REFUSAL}"
        asked = need.text.strip("，,；;？? ")
        return f"关于“{asked}”，{REFUSAL}"

    def stream(
        self, question: str, passages: Sequence[Passage], history: Sequence[tuple[str, str]] = ()
    ) -> Iterator[str | Answer]:
        """Yield the answer text as one piece, then the ``Answer``."""
        ans = self.answer(question, passages, history)
        yield ans.text
        yield ans
