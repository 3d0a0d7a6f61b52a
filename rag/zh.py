"""Chinese text handling shared by ingest, retrieval, answering and judging.

General knowledge of written Chinese only (never of one corpus): full-width folding,
sentence and clause spans, one jieba set-up, years, units and counters, figures,
question words and function words.

>>> fold("２０２５年ＧＤＰ")
'2025年GDP'
>>> t = "全市生产总值3.5亿美元，增长6.1%。海拔8848.86米！"
>>> [t[a:b] for a, b in sentence_spans(t)]
['全市生产总值3.5亿美元，增长6.1%。', '海拔8848.86米！']
>>> [m.group(0) for m in figures("面积16850平方千米，体重70公斤，享年85岁，发行12.8亿股")]
['16850平方千米', '70公斤', '85岁', '12.8亿股']
"""

from __future__ import annotations

import functools
import re
import threading
from typing import Any

__all__ = [
    "CLAUSE_SEPS",
    "CLOSERS",
    "FUNCTION_WORDS",
    "MEASURES",
    "OPENERS",
    "ORG_SUFFIXES",
    "QUESTION_WORDS",
    "TERMINATORS",
    "Segmenter",
    "clause_spans",
    "figures",
    "fold",
    "is_cjk",
    "jieba",
    "measure_of",
    "pos_words",
    "segmenter",
    "sentence_spans",
    "unit_of",
    "years",
]

_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
TERMINATORS = "。！？!?"
CLAUSE_SEPS = "，,；;：:"
OPENERS = "“「『《（(【〔‘"
CLOSERS = "”」』》）)】〕’"


def fold(text: str) -> str:
    """Full-width ASCII and the ideographic space to half-width; the length is kept.

    >>> fold("３２３４万元　")
    '3234万元 '
    """
    return text.translate(_FULLWIDTH)


def is_cjk(c: str) -> bool:
    """Whether ``c`` is a CJK unified ideograph.

    >>> is_cjk("中"), is_cjk("a")
    (True, False)
    """
    return "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf"


# ----------------------------------------------------------------------------- spans


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text`` (stripped); a long line broken mid-sentence joins the next.

    >>> t = "全市新建公租房" * 10 + "\\n　　共计20套。短标题\\n正文。"
    >>> [t[a:b][-6:] for a, b in sentence_spans(t)]
    ['共计20套。', '短标题', '正文。']
    """
    spans: list[tuple[int, int]] = []
    n = len(text)
    start = i = line_start = 0
    while i < n:
        c = text[i]
        if c == "\n":
            line = text[line_start:i].strip()
            j = i
            while j < n and text[j].isspace():
                j += 1
            if len(line) >= 60 and line[-1] not in TERMINATORS + CLOSERS + "；;：:" and j < n and is_cjk(text[j]):
                i = line_start = j
                continue
            if text[start:i].strip():
                spans.append((start, i))
            start = line_start = i = j
            continue
        if c in TERMINATORS:
            j = i + 1
            while j < n and (text[j] in TERMINATORS or text[j] in CLOSERS):
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
        lead, trail = len(seg) - len(seg.lstrip()), len(seg) - len(seg.rstrip())
        if b - trail > a + lead:
            out.append((a + lead, b - trail))
    return out


def clause_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Clause spans of ``text[start:end]``, split after ，；： outside quotes and brackets.

    >>> t = "联合有关部门开展行动，指导企业签订“合同，协议”68份。"
    >>> [t[a:b] for a, b in clause_spans(t)]
    ['联合有关部门开展行动，', '指导企业签订“合同，协议”68份。']
    """
    end = len(text) if end is None else end
    out: list[tuple[int, int]] = []
    depth = 0
    a = start
    for i in range(start, end):
        c = text[i]
        if c in OPENERS:
            depth += 1
        elif c in CLOSERS:
            depth = max(0, depth - 1)
        elif c in CLAUSE_SEPS and depth == 0 and i + 1 < end:
            if text[a : i + 1].strip():
                out.append((a, i + 1))
            a = i + 1
    if text[a:end].strip():
        out.append((a, end))
    return out


# ----------------------------------------------------------------------------- jieba

_jieba_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _jieba_module() -> Any:
    import logging

    import jieba as jb

    with _jieba_lock:
        jb.setLogLevel(logging.WARNING)
        jb.initialize()
    return jb


def jieba() -> Any:
    """The jieba module, initialised once per process and quiet."""
    return _jieba_module()


def pos_words(text: str, tokenizer: Any = None) -> list[tuple[str, str, int]]:
    """``(word, part-of-speech tag, start)`` for ``text`` by jieba's tagger; ``tokenizer``
    is a ``jieba.Tokenizer`` with a corpus' own words (default: jieba's dictionary).

    >>> [(w, f) for w, f, _ in pos_words("张伟出生于青州") if f in ("nr", "ns")]
    [('张伟', 'nr'), ('青州', 'ns')]
    """
    jieba()
    import jieba.posseg as pseg

    tagger = pseg.dt
    if tokenizer is not None:
        tagger = getattr(tokenizer, "_rag_pos", None)
        if tagger is None:
            tagger = pseg.POSTokenizer(tokenizer)
            tokenizer._rag_pos = tagger
    out, pos = [], 0
    for pair in tagger.lcut(text):
        out.append((pair.word, pair.flag, pos))
        pos += len(pair.word)
    return out


class Segmenter:
    """jieba's segmentation for bulk work (ingest), from the Rust port ``rjieba`` when it is
    installed (about 30x faster: the same dictionary and the same DAG + HMM method,
    https://github.com/messense/jieba-rs), else from jieba itself.

    ``backend`` is recorded with an index so that queries are cut as its documents were.

    >>> s = Segmenter(["砺山市"])
    >>> "砺山市" in s.cut("砺山市的人口")
    True
    >>> [w for w, _ in s.tag("砺山市的人口")]
    ['砺山市', '的', '人口']
    """

    def __init__(self, user_words: Any = (), backend: str = "") -> None:
        backend = backend or default_backend()
        if backend not in ("rjieba", "jieba"):
            raise ValueError(f"segmenter backend must be 'rjieba' or 'jieba', got {backend!r}")
        self.backend = backend
        if backend == "rjieba":
            import rjieba

            self._rs = rjieba.Jieba()
            for w in user_words:
                self._rs.add_word(w, max(self._rs.suggest_freq(w), 5), None)
        else:
            import jieba as jb

            jieba()
            self._py = jb.Tokenizer()
            self._py.FREQ, self._py.total, self._py.initialized = dict(jb.dt.FREQ), jb.dt.total, True
            for w in user_words:
                self._py.add_word(w, freq=max(self._py.suggest_freq(w), 5))

    def cut(self, text: str, hmm: bool = True) -> list[str]:
        if self.backend == "rjieba":
            return self._rs.cut(text, hmm)
        return self._py.lcut(text, HMM=hmm)

    def cut_for_search(self, text: str, hmm: bool = True) -> list[str]:
        if self.backend == "rjieba":
            return self._rs.cut_for_search(text, hmm)
        return self._py.lcut_for_search(text, HMM=hmm)

    def tag(self, text: str) -> list[tuple[str, str]]:
        """``(word, part-of-speech tag)`` pairs (jieba's tag set: ns place, nr person, nt organisation...)."""
        if self.backend == "rjieba":
            return self._rs.tag(text, True)
        import jieba.posseg as pseg

        tagger = getattr(self, "_pos", None)
        if tagger is None:
            tagger = self._pos = pseg.POSTokenizer(self._py)
        return [(p.word, p.flag) for p in tagger.lcut(text)]


@functools.lru_cache(maxsize=1)
def default_backend() -> str:
    """``rjieba`` when it can be imported, else ``jieba``."""
    try:
        import rjieba  # noqa: F401
    except ImportError:
        return "jieba"
    return "rjieba"


@functools.lru_cache(maxsize=4)
def segmenter(backend: str = "") -> Segmenter:
    """The shared segmenter with jieba's own dictionary (one per process and backend)."""
    return Segmenter((), backend)


# ----------------------------------------------------------------------------- years

_YEAR_RE = re.compile(r"(?<![\d.])((?:1[5-9]|20)\d{2})(?:\s*[-–—~至到]\s*((?:1[5-9]|20)\d{2}))?\s*年")


def years(text: str) -> list[tuple[str, str, int, int]]:
    """Years written with 年: ``(first, last, start, end)``; a range gives both ends.

    >>> years("2021—2025年规划，2023年完成")
    [('2021', '2025', 0, 10), ('2023', '2023', 13, 18)]
    """
    out = []
    for m in _YEAR_RE.finditer(fold(text)):
        out.append((m.group(1), m.group(2) or m.group(1), m.start(), m.end()))
    return out


# ----------------------------------------------------------------------------- units

# What each unit measures. Longer units first inside the pattern, so 平方千米 wins over 米.
MEASURES: dict[str, str] = {}
for _measure, _units in {
    "money": "元 万元 亿元 千元 百万元 万亿元 美元 万美元 亿美元 欧元 英镑 日元 港元 港币 韩元 卢布 块钱 块",
    "length": "米 千米 公里 厘米 毫米 微米 纳米 英里 英尺 英寸 海里 里 丈 尺 光年",
    "area": "平方米 平方千米 平方公里 平方厘米 公顷 亩 万亩 平方英里",
    "volume": "升 毫升 立方米 万立方米 亿立方米 立方厘米 加仑",
    "weight": "克 千克 公斤 吨 万吨 亿吨 斤 毫克 磅",
    "time": "年 个月 月 周 星期 天 日 小时 分钟 秒 毫秒 世纪 年代",
    "age": "岁 周岁",
    "percent": "% ％ ‰ 个百分点 百分点 成",
    "power": "千瓦 瓦 兆瓦 万千瓦 千瓦时 度 伏 伏特 安 毫安时 赫兹 马力 焦耳 卡路里 千卡",
    "temperature": "℃ 摄氏度 华氏度",
    "speed": "公里/小时 千米/小时 米/秒 节",
    "people": "人 名 位 人次 万人 万人次 户 口",
    "shares": "股 万股 亿股 手",
    "data": "字节 兆 GB MB TB KB",
    "count": "个 家 场 次 场次 份 件 项 支 所 座 套 批 批次 条 台 处 期 篇 部 本 册 节 届 倍 岗 辆 间 门 类 种 组 队 对 张 幅 首"
    " 轮 单 笔 块 栋 点 站 室 团 班 课 堂 架 艘 列 匹 头 只 棵 株 枚 颗 粒 片 层 级 亿 万 千 百",
}.items():
    for _u in _units.split():
        MEASURES.setdefault(_u, _measure)
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(MEASURES, key=len, reverse=True))
_LATIN_UNITS = r"km|kg|mg|cm|mm|m2|m|g|t|V|kV|W|kW|kWh|mAh|Hz|GHz|MHz|GB|MB|TB|KB|L|ml"
_NUM = r"(?:\d+(?:[.,]\d+)*|[零〇一二两三四五六七八九十百千万亿]+(?:点[零〇一二三四五六七八九]+)?)"
_FIGURE_RE = re.compile(
    r"(?<![\d.第])(?:约|近|超|逾)?" + _NUM + r"\s*(?:[余多]?\s*[万亿千百]*\s*[余多]?\s*(?:" + _UNIT_ALT + r")"
    r"|(?:" + _LATIN_UNITS + r")(?![A-Za-z])|[%％‰])"
)
_YEAR_ONLY = re.compile(r"(?:1[5-9]|20)\d{2}年")
_CN_ONLY = re.compile(r"[零〇一二两三四五六七八九十百千万亿点]+")


def figures(text: str) -> list[re.Match[str]]:
    """The figures with a unit in ``text`` (run on folded text: spans line up with it).

    Chinese numerals count only with a unit and not after 第 (an ordinal) or inside quotes
    (a slogan such as “四个意识”).

    >>> [m.group(0) for m in figures("第三届大会，三位代表发言，收入增长8.5%，共有“四个意识”")]
    ['三位', '8.5%']
    >>> [m.group(0) for m in figures("第二十条 处五百元罚款，第三十五届")]
    ['五百元']
    """
    folded = fold(text)
    out = []
    for m in _FIGURE_RE.finditer(folded):
        s = m.start()
        if _YEAR_ONLY.fullmatch(m.group(0)):  # a year is a date, not an amount
            continue
        head = _CN_ONLY.match(folded, s)
        if head and s > 0 and (folded[s - 1] == "第" or folded[s - 1] in "零〇一二两三四五六七八九十百千"):
            continue  # "第二十条", "第三十五届": an ordinal, or the tail of one
        if head and not folded[s].isdigit():
            if head.group(0) in ("万", "亿", "千", "百") or _quoted(folded, s):
                continue
            if folded.startswith("一体", m.end()):
                continue
        out.append(m)
    return out


def _quoted(text: str, i: int) -> bool:
    left = text[max(0, i - 8) : i]
    right = text[i : i + 10]
    return any(o in left and c in right and left.rfind(o) > left.rfind(c) for o, c in ("“”", "「」", "《》", "『』"))


def unit_of(figure: str) -> str:
    """The unit of a figure: "3.5亿美元" -> "亿美元", "85%" -> "%".

    >>> unit_of("3.5亿美元"), unit_of("70公斤"), unit_of("280余场"), unit_of("6.1%")
    ('亿美元', '公斤', '场', '%')
    """
    f = fold(figure)
    m = re.search(r"(?:" + _UNIT_ALT + r"|" + _LATIN_UNITS + r"|[%％‰])$", f)
    unit = m.group(0) if m else ""
    lead = f[: len(f) - len(unit)]
    mag = re.search(r"[万亿千百]+$", lead.rstrip("余多"))
    if mag and not re.fullmatch(r"[零〇一二两三四五六七八九十百千万亿]+", lead):
        unit = mag.group(0) + unit if mag.group(0) + unit in MEASURES else unit
    return unit


def measure_of(unit: str) -> str:
    """What a unit measures ("" when unknown): "公斤" -> "weight".

    >>> measure_of("公斤"), measure_of("亿美元"), measure_of("人次")
    ('weight', 'money', 'people')
    """
    if unit in MEASURES:
        return MEASURES[unit]
    low = unit.lower()
    latin = {"km": "length", "m": "length", "cm": "length", "mm": "length", "kg": "weight", "g": "weight",
             "mg": "weight", "t": "weight", "v": "power", "kv": "power", "w": "power", "kw": "power",
             "kwh": "power", "mah": "power", "hz": "power", "ghz": "power", "mhz": "power", "gb": "data",
             "mb": "data", "tb": "data", "kb": "data", "l": "volume", "ml": "volume", "m2": "area"}  # fmt: skip
    return latin.get(low, "")


# ----------------------------------------------------------------------------- words

# Endings of organisation names (a company, an agency, a school...): general Chinese.
ORG_SUFFIXES = (
    "股份有限公司 有限责任公司 有限公司 公司 集团 银行 大学 学院 学校 医院 研究院 研究所 委员会 政府 总工会 工会 协会 学会 联合会"
    " 基金会 中心 办公室 管理局 局 厅 署 部 委 院 所 社 馆 站 队 会"
).split()

# Words that ask rather than say.
QUESTION_WORDS = frozenset(
    """多少 几 几个 哪些 哪几 哪个 哪位 哪家 哪所 哪里 哪儿 哪 什么 啥 谁 何 何时 何地 何人 何种 为何 为什么 如何 怎样 怎么
    怎么样 是否 吗 呢 吧 有没有 是不是 多大 多高 多长 多重 多远 多久 哪年 哪一年 哪天 几时 请问 时候""".split()
)
# Function words: grammar, not content.
FUNCTION_WORDS = frozenset(
    """的 地 得 着 了 过 和 与 及 以及 或 或者 在 为 对 把 被 将 等 也 就 而 并 之 其 这 那 此 该 各 从 到 向 于 给 让 由 是
    有 共 一共 总共 总计 合计 分别 具体 主要 都 又 再 还 最 所 能 能够 可以 要 会 个 中 上 下 里 内 请 一下 其中 当中 期间
    达 达到 约 即 则 若 如果 因为 所以 但 但是 而且 已 已经 曾 曾经 被称为 称为 叫 叫做 指 包括 包含 属于 位于 一 年 月 日""".split()
)
