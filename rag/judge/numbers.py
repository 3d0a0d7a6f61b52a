"""Figures in Chinese text, normalised so "3,234万元" and "3234万元" compare equal.

A figure is a value plus the unit written after it; 万/亿/千 multipliers are folded
into the value and approximators (余、多、近、约) are ignored, so the check is about
*which* number was stated, not how it was worded:

>>> [(f.value, f.unit) for f in extract_figures("接待游客2.4万人次，第三届大会，3,234万元")]
[(24000.0, '人次'), (3.0, '届'), (32340000.0, '元')]

Chinese numerals are read only when a unit follows (三年、两届) or 第 precedes them,
so words such as 五四运动 or 一线 are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Longest first: the regex alternation must prefer 人次 over 人, 万元 over 万.
UNITS: tuple[str, ...] = (
    "个百分点",
    "百分点",
    "人次",
    "场次",
    "户次",
    "批次",
    "余人",
    "多人",
    "平方米",
    "公里",
    "小时",
    "万元",
    "亿元",
    "%",
    "‰",
    "个",
    "名",
    "人",
    "位",
    "次",
    "项",
    "家",
    "场",
    "期",
    "届",
    "年",
    "月",
    "日",
    "号",
    "元",
    "户",
    "所",
    "座",
    "支",
    "份",
    "件",
    "篇",
    "条",
    "批",
    "处",
    "套",
    "台",
    "辆",
    "本",
    "册",
    "吨",
    "亩",
    "倍",
    "类",
    "种",
    "天",
    "周",
    "岁",
    "张",
    "队",
    "组",
    "层",
    "栋",
    "门",
    "节",
    "课",
    "轮",
    "间",
    "例",
    "部",
    "幅",
    "名额",
    "笔",
)
_UNIT_RE = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_MULT = {"十": 10.0, "百": 100.0, "千": 1000.0, "万": 1e4, "亿": 1e8}
_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}

# Units that name the same kind of thing; a figure restated with a synonym unit still matches.
_UNIT_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"人", "名", "位", "余人", "多人"}),
    frozenset({"场", "场次"}),
    frozenset({"次", "人次", "场次", "户次", "批次"}),
    frozenset({"个", "家", "所", "座", "处"}),
    frozenset({"%", "个百分点", "百分点"}),
)

_ARABIC = re.compile(
    r"(?P<num>\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:\.\d+)?)"
    r"\s*(?P<approx1>余|多)?(?P<mult>万亿|[千万亿])?"
    r"(?P<approx>余|多|左右)?"
    rf"(?P<unit>{_UNIT_RE})?"
)
_COUNT_UNITS = frozenset({"名", "人", "家", "个", "户", "元", "场", "次", "人次"})
_CHINESE = re.compile(
    r"(?P<ord>第)?(?P<num>[零〇一二两三四五六七八九十百千万亿]+)"
    r"(?P<approx>余|多)?"
    rf"(?P<unit>{_UNIT_RE})?"
)


@dataclass(frozen=True)
class Figure:
    """One stated figure: its text, normalised value and unit, and where it sits."""

    text: str
    value: float
    unit: str
    start: int
    end: int
    ordinal: bool = False


def parse_chinese_number(s: str) -> float | None:
    """The value of a Chinese numeral string, or None if it is not one.

    >>> parse_chinese_number("一万二千三百"), parse_chinese_number("十四"), parse_chinese_number("两")
    (12300.0, 14.0, 2.0)
    """
    if not s or any(ch not in _CN_DIGIT and ch not in _MULT for ch in s):
        return None
    total, section, digit = 0.0, 0.0, None
    for ch in s:
        if ch in _CN_DIGIT:
            # consecutive digits form a digit string such as 二〇二五
            digit = _CN_DIGIT[ch] if digit is None else digit * 10 + _CN_DIGIT[ch]
            continue
        mult = _MULT[ch]
        if mult >= 1e4:
            section = (section + (digit or 0)) * mult if (section or digit) else mult
            total += section
            section, digit = 0.0, None
        else:
            section += (1 if digit is None else digit) * mult
            digit = None
    return total + section + (digit or 0)


def _unit_of(raw: str | None) -> str:
    if not raw:
        return ""
    if raw in ("万元", "亿元"):
        return "元"
    if raw in ("余人", "多人"):
        return "人"
    return raw


_PERCENT_WORDS = re.compile(r"百分之(?P<num>[零〇一二两三四五六七八九十百点\d.]+)")


def _percent_value(raw: str) -> float | None:
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        return float(raw)
    whole, _, frac = raw.partition("点")
    value = parse_chinese_number(whole)
    if value is None:
        return None
    if frac:
        digits = [_CN_DIGIT.get(ch) for ch in frac]
        if any(d is None for d in digits):
            return None
        value += float("0." + "".join(str(d) for d in digits))
    return value


def extract_figures(text: str) -> list[Figure]:
    """All figures in ``text`` (Arabic and unit-bearing Chinese numerals), in order.

    >>> [(f.value, f.unit) for f in extract_figures("占比百分之八十五，近两万名")]
    [(85.0, '%'), (20000.0, '名')]
    """
    out: list[Figure] = []
    taken: list[tuple[int, int]] = []
    for m in _PERCENT_WORDS.finditer(text):
        pct = _percent_value(m.group("num"))
        if pct is not None:
            out.append(Figure(m.group(0), pct, "%", m.start(), m.end()))
            taken.append((m.start(), m.end()))
    for m in _ARABIC.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        num = float(m.group("num").replace(",", ""))
        mult = m.group("mult") or ""
        unit_raw = m.group("unit") or ""
        for ch in mult:
            num *= _MULT[ch]
        if unit_raw == "万元":
            num *= 1e4
        elif unit_raw == "亿元":
            num *= 1e8
        ordinal = text[max(0, m.start() - 1) : m.start()] == "第"
        out.append(Figure(m.group(0), num, _unit_of(unit_raw), m.start(), m.end(), ordinal))
        taken.append((m.start(), m.end()))
    for m in _CHINESE.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        raw, unit_raw, ordinal = m.group("num"), m.group("unit") or "", bool(m.group("ord"))
        if not unit_raw and not ordinal:
            continue
        # a bare multiplier is only a figure before a counting unit (万名, 千家)
        if raw in ("万", "亿", "千", "百", "十") and not ordinal and unit_raw not in _COUNT_UNITS:
            continue
        value = parse_chinese_number(raw)
        if value is None or (value == 1 and not ordinal):  # 一个、一批 are articles, not figures
            continue
        if unit_raw == "万元":
            value *= 1e4
        elif unit_raw == "亿元":
            value *= 1e8
        out.append(Figure(m.group(0), value, _unit_of(unit_raw), m.start(), m.end(), ordinal))
    out.sort(key=lambda f: f.start)
    return out


def units_compatible(a: str, b: str) -> bool:
    """Whether two units can describe the same figure (missing units are compatible)."""
    if not a or not b or a == b:
        return True
    return any(a in g and b in g for g in _UNIT_GROUPS)


def same_value(a: float, b: float) -> bool:
    """Equal up to float noise (figures are compared after normalisation)."""
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def figure_label(f: Figure) -> str:
    """A short label for reasons, e.g. "3234万" for 3234万元.

    >>> figure_label(extract_figures("3234万元")[0]), figure_label(extract_figures("1500余人次")[0])
    ('3234万', '1500余人次')
    """
    text = f.text
    if text.endswith(("万元", "亿元")):
        text = text[:-1]
    return text.rstrip("余多")
