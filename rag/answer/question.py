"""Question analysis: what kind of answer a question wants, its words, years, places and slot.

General Chinese only: question words, counters and units (``rag.zh``); the places a
corpus knows come from its index (``known_places``), never from a list here.

>>> q = analyze_question("2023年临江市的地区生产总值是多少亿元？")
>>> q.kind, q.unit, q.measure, q.years, q.terms
('number', '亿元', 'money', ('2023',), ('临江市', '地区', '生产总值'))
>>> analyze_question("珠穆朗玛峰海拔多高？").measure
'length'
>>> analyze_question("玩家用什么泡封敌人？").left, analyze_question("玩家用什么泡封敌人？").right
('玩家用', '泡封敌人')
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rag import zh

__all__ = [
    "KINDS",
    "Mention",
    "Question",
    "analyze_question",
    "comparison_queries",
    "find_places",
    "find_years",
    "place_stem",
    "question_kind",
    "without_constraints",
]

KINDS = ("number", "date", "place", "person", "name", "list", "description", "yesno", "other")

_KIND_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(p))
    for kind, p in (
        (
            "list",
            r"哪些|哪几|哪[二两三四五六七八九十]|包括什么|包含什么|包括哪|有哪|都有什么|分别是什么|[二两三四五六七八九十](?:大|个|项|种|类|条|点)[^，。？?]{0,6}(?:是什么|指什么|分别)",
        ),
        ("person", r"谁|哪位|何人|什么人|哪个人|哪一位|姓名|叫什么名字"),
        (
            "date",
            r"哪一?年|何年|何时|什么时候|什么时间|哪一?天|几月|几号|几日|哪个月|何日|日期是|哪一?年代|哪个朝代|什么朝代|年份",
        ),
        (
            "place",
            r"哪里|哪儿|在哪|何地|(?<!如)何处|什么地方|哪个(?:国家|城市|省|地区|县|市|地方|州)|哪座城市|哪一?国|什么地区",
        ),
        ("number", r"多少|几(?!乎|何)|多大|多高|多长|多重|多远|多久|多深|多宽|多厚|比例|占比|百分之|几成|第几"),
        ("yesno", r"是否|有没有|是不是|能否|可否|吗[？?\s]*$"),
        ("description", r"为什么|为何|原因|如何|怎样|怎么|什么作用|什么意义|什么影响|什么特点|目的是|意义|作用是|有何"),
        ("name", r"什么|哪个|哪一|哪家|哪所|哪部|哪种|何种|叫做|称为|名称|是啥"),
    )
)
# Where the asked thing sits in the question: the slot the answer fills.
_SLOT_RE = re.compile(
    r"多少[\u4e00-\u9fffA-Za-z%/]{0,4}?(?=[的是，,？?]|$)|多少|几[个名位种类项次年天岁]?|哪一?[\u4e00-\u9fff]|什么[\u4e00-\u9fff]{0,2}?(?=[的是，,？?]|$)|"
    r"什么|谁|何[时地人种处]|多[大高长重远久深宽厚]|哪里|哪儿"
)
# Dimension words a 多X question asks.
_HOW_MEASURE = {"多高": "length", "多长": "length", "多远": "length", "多深": "length", "多宽": "length",
                "多厚": "length", "多重": "weight", "多久": "time", "多大": "", "比例": "percent", "占比": "percent",
                "百分之": "percent", "几成": "percent"}  # fmt: skip
_PUNCT = "，,。！？!?；;：:、“”\"'‘’（）()《》「」『』【】 \t\n"


@dataclass(frozen=True)
class Mention:
    """A place or year named in a question, with the forms to look for in passages."""

    kind: str  # "place" | "year"
    text: str
    start: int
    end: int
    forms: tuple[str, ...]
    single: bool = False  # a year asked on its own, not a start ("2021年以来") or a range


@dataclass(frozen=True)
class Question:
    """What a question asks (see the module example)."""

    text: str
    kind: str
    unit: str
    measure: str
    terms: tuple[str, ...]
    years: tuple[str, ...]
    places: tuple[str, ...]
    left: str  # the question's words just before the slot
    right: str  # and just after it
    count: int = 0  # items a list question names ("哪三项" -> 3)
    head: str = ""  # the noun the slot asks for: "什么奖项" -> "奖项", "哪座城市" -> "城市"
    nouns: tuple[str, ...] = ()  # the terms jieba tags as nouns: what is asked about
    single_years: tuple[str, ...] = ()  # years asked on their own (not "2021年以来", not a range)
    named_places: tuple[str, ...] = ()  # places the corpus knows or written with a suffix (临江市)


def question_kind(question: str) -> str:
    """The kind of answer ``question`` wants, one of :data:`KINDS`.

    >>> [question_kind(q) for q in ("谁发明了造纸术？", "公司注册在哪里？", "哪一年建成？", "有哪些产品？", "为什么下跌？")]
    ['person', 'place', 'date', 'list', 'description']
    """
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(question):
            return kind
    return "other"


_CN_DIGITS = {"二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def _asked_unit(q: str) -> tuple[str, str]:
    """The unit and measure a figure question asks: "多少亿元" -> ("亿元", "money")."""
    m = re.search(r"(?:多少|几)\s*", q)
    if m:
        rest = q[m.end() :]
        for n in range(min(6, len(rest)), 0, -1):
            u = rest[:n]
            if zh.measure_of(u):
                return u, zh.measure_of(u)
    if re.search(r"(?:多大|多少)(?:岁|年纪)|年龄是多少|享年|几岁|去世时多|逝世时多|年纪", q):
        return "岁", "age"
    for word, measure in _HOW_MEASURE.items():
        if word in q:
            return "", measure
    if re.search(r"多少钱|钱|金额|资金|经费|费用|收入|欠薪|罚款|价格|售价|工资|薪酬|利润|投资|营收|税", q):
        return "", "money"
    # "多少助学金 / 互助金 / 善款": a sum of money named by its last character
    if m and re.match(
        r"[\u4e00-\u9fff“”\"]{0,8}?[^黄]金(?:额)?[”\"]?[？?。]?$|[\u4e00-\u9fff]{0,6}?[善捐贷赔]款[？?。]?$",
        q[m.end() :],
    ):
        return "", "money"
    return "", ""


def find_years(question: str) -> list[Mention]:
    """Years named in ``question``; ``single`` unless it is a start or a range.

    >>> [(m.text, m.forms, m.single) for m in find_years("2021年以来和2024年分别是多少？")]
    [('2021年', ('2021',), False), ('2024年', ('2024',), True)]
    """
    out = []
    for first, last, a, b in zh.years(question):
        y1, y2 = int(first), int(last)
        forms = tuple(str(y) for y in range(y1, y2 + 1)) if 0 <= y2 - y1 <= 10 else (first,)
        single = len(forms) == 1 and not re.match(r"\s*(?:以来|至今|起|来|之后|以后|后|之前|以前|前)", question[b:])
        out.append(Mention("year", question[a:b], a, b, forms, single))
    return out


_ADMIN_SUFFIXES = (
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "新区",
    "地区",
    "省",
    "市",
    "区",
    "县",
    "州",
    "盟",
    "旗",
    "镇",
    "乡",
)


def place_stem(name: str) -> str:
    """A place name without its administrative suffix.

    >>> place_stem("临江市"), place_stem("西岭新区"), place_stem("岚川省")
    ('临江', '西岭', '岚川')
    """
    for suf in _ADMIN_SUFFIXES:
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            return name[: -len(suf)]
    return name


_UNKNOWN_PLACE = re.compile(
    r"(?:(?<=年)|(?<=^)|(?<=[，,、和与及的在对是从到向于]))([\u4e00-\u9fff]{2,3}?)(自治州|自治区|新区|省|市|县|区|州)"
    r"(?=[\u4e00-\u9fff\d]|$)"
)
_NOT_PLACE_START = tuple("全本各该我此其每某整城市省区县以和与及")


@functools.lru_cache(maxsize=16)
def _place_forms(places: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """(place, stem) of every known place, longest first (then by name: the same order on
    every run), computed once per set of places."""
    names = {p.strip() for p in places if p and p.strip()}
    return tuple((p, place_stem(p)) for p in sorted(names, key=lambda p: (-len(p), p)))


def find_places(question: str, known_places: Iterable[str] = (), tokenizer: Any = None) -> list[Mention]:
    """Places in ``question``: the corpus' own (``known_places``) and words jieba tags as places.

    >>> [m.text for m in find_places("临江市和青川县的人口分别是多少？", ["临江市"])]
    ['临江市', '青川县']
    """
    q = zh.fold(question)
    found: dict[tuple[int, int], tuple[str, ...]] = {}
    taken = [False] * len(q)

    strong: set[tuple[int, int]] = set()

    def add(a: int, b: int, forms: tuple[str, ...], sure: bool = True) -> None:
        if b - a < 2 or any(taken[a:b]) or re.search(r"哪|几|什么", q[a:b]):
            return
        found[(a, b)] = forms
        if sure:
            strong.add((a, b))
        for k in range(a, b):
            taken[k] = True

    places = known_places if isinstance(known_places, frozenset) else frozenset(known_places)
    for place, stem in _place_forms(places):
        for form in (place, stem) if len(stem) >= 2 else (place,):
            if form not in q:  # a substring test first: a corpus knows tens of thousands of places
                continue
            for m in re.finditer(re.escape(form), q):
                add(m.start(), m.end(), tuple(dict.fromkeys((stem, place))))
    a = 0
    for word, flag in _words(q, tokenizer):
        b = a + len(word)
        suffixed = len(word) >= 3 and word.endswith(_ADMIN_SUFFIXES[:-2]) and flag.startswith("n")
        if flag == "ns" or suffixed:
            add(a, b, tuple(dict.fromkeys((place_stem(word), word))), sure=suffixed)
        a = b
    # a name the dictionary lacks, written with a suffix after a boundary: "2023年岚州市", "在鹭汀市"
    for m in _UNKNOWN_PLACE.finditer(q):
        stem = m.group(1)
        if not stem.startswith(_NOT_PLACE_START) and not any(c in "全本各该我此其每某来" for c in stem):
            add(m.start(1), m.end(2), (stem, stem + m.group(2)))
    # "place": known to the corpus or written with a suffix; "name": only tagged a place by jieba
    return [
        Mention("place" if (a, b) in strong else "name", question[a:b], a, b, forms)
        for (a, b), forms in sorted(found.items())
    ]


_NOUN_TAGS = ("n", "nr", "ns", "nt", "nz", "nrt", "nrfg", "ng", "eng", "vn", "an", "j", "l", "x")
_SUFFIX_CHARS = frozenset("省市县区州镇乡村旗盟")


def _words(text: str, tokenizer: Any = None) -> list[tuple[str, str]]:
    """jieba's words and tags, a name joined to the administrative suffix after it (青禾 + 市)."""
    out: list[tuple[str, str]] = []
    for w, flag, _ in zh.pos_words(text, tokenizer):
        if w in _SUFFIX_CHARS and out and len(out[-1][0]) >= 2 and all(zh.is_cjk(c) for c in out[-1][0]):
            out[-1] = (out[-1][0] + w, "ns")
            continue
        out.append((w, flag))
    return out


def _terms(
    question: str, drop: Sequence[tuple[int, int]], tokenizer: Any = None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Content words and, among them, the nouns: jieba words less question and function words,
    years, units and punctuation; a single character counts when jieba tags it a noun (花, 叶)."""
    t = list(zh.fold(question))
    for a, b in drop:
        t[a:b] = " " * (b - a)
    out: dict[str, None] = {}
    nouns: dict[str, None] = {}
    for w, flag in _words("".join(t), tokenizer):
        w = w.strip(_PUNCT)
        if not w or w in zh.QUESTION_WORDS or w in zh.FUNCTION_WORDS or w in _SUFFIX_CHARS:
            continue
        if re.search(r"哪|什么|多少|谁|几", w) or zh.measure_of(w):  # a unit is what a figure carries
            continue
        single = len(w) == 1 and zh.is_cjk(w)
        if single and flag not in ("n", "ng", "nr", "ns", "nz"):
            continue
        if len(w) < 2 and not single and not w.isdigit() and not re.fullmatch(r"[A-Za-z]", w):
            continue
        if not any(zh.is_cjk(c) or c.isalnum() for c in w):
            continue
        out.setdefault(w, None)
        if flag.startswith(_NOUN_TAGS) or not zh.is_cjk(w[0]):
            nouns.setdefault(w, None)
    return tuple(out), tuple(nouns)


def analyze_question(question: str, known_places: Iterable[str] = (), tokenizer: Any = None) -> Question:
    """Read ``question`` into a :class:`Question` (see the module example); ``tokenizer`` is
    the index's jieba with the corpus' own words."""
    q = zh.fold(question).strip()
    kind = question_kind(q)
    unit, measure = _asked_unit(q) if kind == "number" else ("", "")
    if kind == "date":
        measure = "date"
    ys = find_years(q)
    places = find_places(q, known_places, tokenizer)
    terms, nouns = _terms(q, [(m.start, m.end) for m in ys], tokenizer)
    slot = _SLOT_RE.search(q)
    left = right = ""
    if slot:
        left = q[: slot.start()].strip(_PUNCT)
        right = q[slot.end() :].strip(_PUNCT)
        right = re.sub(r"^(?:的|是|呢|了)+|(?:呢|吗|了|的)$", "", right)
        left = re.sub(r"(?:是|为|有|在|的)$", "", left)
    count = 0
    m = re.search(r"哪([二两三四五六七八九十])|([二两三四五六七八九十])(?:大|个|项|种|类|条|点)", q)
    if kind == "list" and m:
        count = _CN_DIGITS[m.group(1) or m.group(2)]
    years_asked = tuple(dict.fromkeys(f for m in ys for f in m.forms))
    h = re.search(r"(?:什么|哪一?|何)(?:个|些|种|类|位|座|家|所|部|项)?(?![一年天月日时里儿])([\u4e00-\u9fff]{2})", q)
    head = (
        h.group(1) if h and h.group(1) not in zh.FUNCTION_WORDS and not re.search(r"[的是了呢吗]", h.group(1)) else ""
    )
    return Question(
        q,
        kind,
        unit,
        measure,
        terms,
        years_asked,
        tuple(m.text for m in places),
        left,
        right,
        count,
        head,
        nouns,
        tuple(m.forms[0] for m in ys if m.single),
        tuple(m.text for m in places if m.kind == "place"),
    )


_JOIN = r"(?:和|与|及|以及|、|跟|同)"


def comparison_queries(question: str, known_places: Iterable[str] = ()) -> list[str]:
    """One query per side when a question compares places or years ("A和B分别…"), else [].

    >>> comparison_queries("临江市和青川县的人口分别是多少？", ["临江市", "青川县"])
    ['临江市的人口分别是多少？', '青川县的人口分别是多少？']
    >>> comparison_queries("2022年和2023年的营业收入分别是多少？")
    ['2022年的营业收入分别是多少？', '2023年的营业收入分别是多少？']
    """
    for mentions in (find_places(question, known_places), find_years(question)):
        ms = sorted({m.forms: m for m in mentions}.values(), key=lambda m: m.start)
        if len(ms) < 2:
            continue
        between = [question[ms[i].end : ms[i + 1].start] for i in range(len(ms) - 1)]
        if not all(re.fullmatch(r"\s*(?:年|市|省|区|县)?\s*" + _JOIN + r"\s*", b) for b in between):
            continue
        a, b = ms[0].start, ms[-1].end
        return [question[:a] + m.text + question[b:] for m in ms]
    return []


def without_constraints(question: str, known_places: Iterable[str] = ()) -> str:
    """``question`` without its places and years, to see whether the thing is reported at all.

    >>> without_constraints("2023年临江市的地区生产总值是多少？", ["临江市"])
    '的地区生产总值是多少？'
    """
    spans = sorted([(m.start, m.end) for m in find_places(question, known_places) + find_years(question)])
    out, last = [], 0
    for a, b in spans:
        if a >= last:
            out.append(question[last:a])
            last = b
    out.append(question[last:])
    return "".join(out).strip()
