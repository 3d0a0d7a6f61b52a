"""Find the articles in a file, each article's title, its section tree and what it is about.

A file is one article, or a compilation of several:
- a table of contents (``目录`` followed by lines ending in page numbers) names the
  articles; each is found again as a title line in the body, in order;
- in Markdown, the top heading level is an article level when it repeats over long
  stretches of text (``## 第一篇 经济运行 ... ## 第二篇 社会民生``).

Inside an article, headings come from Markdown ``#``, Chinese numbering (``第一章``,
``一、``, ``（一）``, ``1.``) and short standalone lines without closing punctuation that
are followed by body text; bylines (``记者 吴苏``) and image captions are not headings.

Every step stays linear in the text, whatever the file: a line longer than
``MD_HEADING_MAX`` / ``TOC_LINE_MAX`` is not tried as a heading or a contents line (the
patterns backtrack over long runs of spaces or dots), metadata is read from the first
``DESCRIBE_MAX`` characters of a body, and the name-finding keeps sets of covered
characters instead of comparing every mention with every other.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import NamedTuple

from rag.ingest.clean import Paragraph, is_terminated, normalize_for_match, unbalanced

_MD = re.compile(r"^(#{1,6})\s*(.*?)\s*#*$")
MD_HEADING_MAX = 200  # a "# ..." line longer than this is a paragraph, not a heading
TOC_LINE_MAX = 200  # a contents line is never longer than this
_TOC_HEAD = re.compile(r"^目\s*录$")
_TOC_ENTRY = re.compile(r"^(?:\d{1,3}\s*[：:、.．]\s*)?(.+?)\s*(?:[.．…·\s　]{1,}|…+)\s*(\d{1,4})$")
_SUBTITLE = re.compile(r"^[—–-]{1,2}")
_BYLINE = re.compile(
    r"^(?:(?:[\u4e00-\u9fff]{0,8}(?:记者|通讯员))|编辑|责编|责任编辑|二审|三审|终审|初审|总值班|来源|摄影|图片|图/|文/|文图|作者)"
    r"[\s:：]*[\u4e00-\u9fff·\s、]{0,20}$"
)
_PRODUCTION_NOTE = re.compile(r"^[（(](?:本版|本文|图片|图为|以上)")
_NUMBERED = [
    ("chapter", re.compile(r"^第[一二三四五六七八九十百\d]+章")),
    ("section", re.compile(r"^第[一二三四五六七八九十百\d]+节")),
    ("cn", re.compile(r"^[一二三四五六七八九十百]+、")),
    ("paren_cn", re.compile(r"^[（(][一二三四五六七八九十百]+[）)]")),
    ("arabic", re.compile(r"^\d{1,2}[.．、](?!\d)")),
]
_NUMBERED_ORDER = [k for k, _ in _NUMBERED]
STANDALONE_MAX = 40  # longest standalone line taken for a heading
NUMBERED_HEADING_MAX = 50  # a numbered line longer than this is a paragraph; its first clause heads it


@dataclass
class Section:
    """A node of an article's section tree."""

    heading: str
    level: int
    paragraphs: list[Paragraph] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)
    heading_para: Paragraph | None = None


@dataclass
class Article:
    title: str
    paragraphs: list[Paragraph]  # body paragraphs, title lines removed
    start: int
    end: int
    meta: dict[str, str] = field(default_factory=dict)
    index: int = 0


# --------------------------------------------------------------------------- articles


def _md(text: str) -> re.Match[str] | None:
    """A Markdown heading line's match (level, text); None for a line too long to be one
    (which also keeps the pattern's backtracking over a run of spaces short)."""
    return _MD.match(text) if len(text) <= MD_HEADING_MAX else None


def _toc_entry(text: str) -> re.Match[str] | None:
    return _TOC_ENTRY.match(text) if len(text) <= TOC_LINE_MAX else None


def split_articles(paras: list[Paragraph]) -> list[Article]:
    """Split a file's paragraphs into articles with titles (table of contents dropped)."""
    if not paras:
        return []
    toc = _toc_entries(paras)
    if toc:
        entries, body_start, compilation_title = toc
        arts = _split_by_toc(paras, entries, body_start, compilation_title)
        if len(arts) >= 2:
            for a in arts:
                if compilation_title:
                    a.meta.setdefault("collection", compilation_title)
            return _numbered(arts)
    md = _split_by_markdown(paras)
    if md is not None:
        return _numbered(md)
    title, rest = take_title(paras)
    return _numbered([Article(title, rest, paras[0].start, _end(paras))])


def _end(paras: list[Paragraph]) -> int:
    """Where the last of ``paras`` ends in the source: the latest end, not the last one's (an
    image caption taken out of a sentence comes after that sentence's paragraph)."""
    return max(p.end for p in paras)


def _numbered(arts: list[Article]) -> list[Article]:
    for i, a in enumerate(arts):
        a.index = i
    return arts


def _toc_entries(paras: list[Paragraph]) -> tuple[list[str], int, str] | None:
    """Titles listed in a table of contents, where the body starts, and the collection title."""
    for i, p in enumerate(paras[:40]):
        if _TOC_HEAD.match(p.text.replace("　", " ").strip()):
            entries: list[str] = []
            j = i + 1
            misses = 0
            while j < len(paras) and misses <= 3:
                m = _toc_entry(paras[j].text)
                if m and len(m.group(1)) >= 4:
                    entries.append(m.group(1).rstrip("…. ·"))
                    misses = 0
                elif len(paras[j].text) <= 12 and not is_terminated(paras[j].text):
                    misses += 0  # a group label such as 一、主要指标
                else:
                    misses += 1
                    if misses > 1 and entries:
                        break
                j += 1
            if len(entries) >= 2:
                # the body starts after the last TOC entry line
                last = max(k for k in range(i + 1, j) if _toc_entry(paras[k].text))
                title = " ".join(p.text for p in paras[:i] if not p.caption)
                return entries, last + 1, title
    return None


def _title_matches(entry: str, line: str) -> bool:
    e, t = normalize_for_match(entry), normalize_for_match(line)
    if not t or len(t) > 60:
        return False
    if e == t or (len(e) >= 6 and t.startswith(e)) or (len(t) >= 6 and e.startswith(t) and len(t) >= 0.7 * len(e)):
        return True
    # tolerate a few differing characters (OCR, a dropped prefix such as "24：")
    common = sum((Counter(e) & Counter(t)).values())
    return common >= 0.85 * max(len(e), len(t))


def _split_by_toc(paras: list[Paragraph], entries: list[str], body_start: int, collection: str = "") -> list[Article]:
    starts: list[tuple[int, str]] = []
    k = body_start
    for entry in entries:
        for j in range(k, len(paras)):
            if _title_matches(entry, paras[j].text):
                starts.append((j, paras[j].text))
                k = j + 1
                break
    arts: list[Article] = []
    front = paras[body_start : starts[0][0]] if starts else []
    if sum(len(p.text) for p in front) >= 20:  # a preface between the contents and the first article
        arts.append(Article(collection or "前言", front, front[0].start, _end(front)))
    for n, (j, title) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(paras)
        body = paras[j + 1 : end]
        full_title, body = _extend_title(title, body)
        if body:
            arts.append(Article(full_title, body, paras[j].start, _end(paras[j:end])))
    return arts


def _split_by_markdown(paras: list[Paragraph]) -> list[Article] | None:
    levels = [(i, len(m.group(1))) for i, p in enumerate(paras) if (m := _md(p.text))]
    if not levels:
        return None
    top = min(lv for _, lv in levels)
    tops = [i for i, lv in levels if lv == top]
    if len(tops) < 2:
        return None
    bounds = [*tops, len(paras)]
    sizes = [sum(len(p.text) for p in paras[a:b]) for a, b in pairwise(bounds)]
    if min(sizes) < 800:
        return None  # short top-level sections: one article with sections, not a compilation
    arts: list[Article] = []
    lead = paras[: tops[0]]
    for n, a in enumerate(tops):
        b = bounds[n + 1]
        title = _md(paras[a].text).group(2)  # type: ignore[union-attr]
        body = paras[a + 1 : b]
        full_title, body = _extend_title(title, body)
        start = paras[a].start
        if n == 0 and lead:
            body = lead + body  # text before the first heading is not thrown away
            start = lead[0].start
        arts.append(Article(full_title, body, start, _end(paras[a:b])))
    return arts


def take_title(paras: list[Paragraph]) -> tuple[str, list[Paragraph]]:
    """Title of a single-article file: its first short line(s), with a ——subtitle."""
    first = paras[0]
    text = _md(first.text).group(2) if _md(first.text) else first.text  # type: ignore[union-attr]
    if len(text) <= 60 and not text.endswith("。") and " | " not in text:  # a table row is no title
        return _extend_title(text, paras[1:])
    return "", paras


def _extend_title(title: str, body: list[Paragraph]) -> tuple[str, list[Paragraph]]:
    """Join a ``——subtitle`` line to the title and drop bylines right below it."""
    k = 0
    while k < len(body):
        t = _strip_md(body[k].text)
        if _SUBTITLE.match(t) and len(t) <= 60 and "——" not in title:
            title = title + t if t.startswith("—") else title + "——" + t.lstrip("-–")
            k += 1
        elif is_byline(t):
            k += 1
        else:
            break
    rest = body[k:]
    return title.strip(), rest


def _strip_md(text: str) -> str:
    m = _md(text)
    return m.group(2) if m else text


def is_byline(text: str) -> bool:
    """Bylines, editor credits and production notes: ``记者 吴苏``, ``（本版稿件由…）``."""
    t = text.strip()
    return bool(_BYLINE.match(t) or _PRODUCTION_NOTE.match(t)) and len(t) <= 60


# ----------------------------------------------------------------------------- headings


def heading_kind(p: Paragraph, next_p: Paragraph | None) -> tuple[str, str] | None:
    """``(kind, heading text)`` if the paragraph is a heading, else None."""
    text = p.text
    m = _md(text)
    if m:
        return f"md{len(m.group(1))}", m.group(2)
    if p.caption or is_byline(text):
        return None
    for kind, rx in _NUMBERED:
        if rx.match(text):
            if len(text) <= NUMBERED_HEADING_MAX and not text.endswith("。"):
                return kind, text
            return None
    if (
        len(text) <= STANDALONE_MAX
        and not is_terminated(text)
        and not re.search(r"[。！？]", text)
        and text[0] not in "”’」』）)"
        and not unbalanced(text)
        and not _SUBTITLE.match(text)
        and next_p is not None
        and not next_p.caption
        and (len(next_p.text) > len(text) or is_terminated(next_p.text))
    ):
        return "standalone", text
    return None


def section_tree(article: Article) -> Section:
    """The article's sections as a tree whose root holds the text before any heading."""
    paras = article.paragraphs
    kinds: list[tuple[str, str] | None] = [
        heading_kind(p, paras[i + 1] if i + 1 < len(paras) else None) for i, p in enumerate(paras)
    ]
    if any(k and k[0].startswith("md") for k in kinds):
        # explicit Markdown structure: a short plain line is a caption or a lead, not a heading
        kinds = [None if k and k[0] == "standalone" else k for k in kinds]
    rank = _kind_ranks([k[0] for k in kinds if k])
    root = Section(article.title, 0)
    stack = [root]
    for p, k in zip(paras, kinds, strict=True):
        if k is None:
            stack[-1].paragraphs.append(p)
            continue
        level = rank[k[0]]
        while len(stack) > 1 and stack[-1].level >= level:
            stack.pop()
        node = Section(k[1], level, heading_para=p)
        stack[-1].children.append(node)
        stack.append(node)
    return root


def _kind_ranks(kinds: list[str]) -> dict[str, int]:
    """Levels for the heading kinds present: Markdown first, numbering in its fixed order,
    standalone lines above numbering if they come first in the text, else below it."""
    order: list[str] = sorted({k for k in kinds if k.startswith("md")})
    numbered = [k for k in _NUMBERED_ORDER if k in kinds]
    if "standalone" in kinds:
        first_standalone = kinds.index("standalone")
        first_numbered = min((kinds.index(k) for k in numbered), default=len(kinds))
        order += ["standalone", *numbered] if first_standalone < first_numbered else [*numbered, "standalone"]
    else:
        order += numbered
    return {k: i + 1 for i, k in enumerate(order)}


# ----------------------------------------------------------------------------- metadata
#
# What an article is about -- ``place``, ``org`` and ``year`` -- is read from its own text
# and nothing else. The code knows Chinese in general (administrative and organisational
# suffixes, jieba's part-of-speech tags ns/nt/nr/nz) and nothing of any corpus: an article
# that names no place gets no place, and an organisation is a name the text writes out in
# full, never one put together here.

ADMIN_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "新区", "地区", "省", "市", "州", "县", "区", "旗", "盟", "乡", "镇")  # fmt: skip
# a suffix written as a word of its own after a name: 云岚 + 市, 南川 + 区
_BARE_ADMIN = set(ADMIN_SUFFIXES) - {"地区", "新区"}
# a one-character name before 州/县 is common (广州, 沛县); before 市/区/省 it is a word (上市, 城区, 全省)
_ONE_CHAR_STEM_OK = ("州", "县")
ORG_SUFFIXES = (
    "股份有限公司", "有限责任公司", "有限公司", "公司", "集团", "银行", "大学", "学院", "医院", "人民政府", "政府",
    "常务委员会", "委员会", "总工会", "工会", "研究院", "研究所", "中心", "办公室", "协会", "学会", "联合会", "基金会",
    "交易所", "出版社", "电视台", "法院", "检察院", "中学", "小学", "学校", "局", "厅", "委", "部", "院", "社", "党", "署",
)  # fmt: skip
_MULTI_CHAR_ORG = tuple(x for x in ORG_SUFFIXES if len(x) > 1)
_COMPANY_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "公司", "集团", "银行")
_ORG_RX = re.compile("|".join(sorted(ORG_SUFFIXES, key=len, reverse=True)))
# ordinary words that jieba's dictionary tags ns (place) although they seldom name one
_NOT_PLACE_WORDS = frozenset(
    "城市 城镇 都市 上市 入市 黑市 郡县 东西 南北 英雄 太阳 朝廷 哥哥 海洋 湖泊 大桥 高原 平原 美丽 江湖 "
    "王国 大街 庆典 深度 长度 回国 治安 大国 外国 爱国 开国 建国 共和国 新鲜 古城 海峡 河口 冰川 山水 长大 莫非 普及 商城 "
    "内河 古典 阴阳 江山 高山 大海 山坡 河谷 上马 太平 福利 日志 云集 青春 山河 神圣 中路 新建 新城 西门 南门 中断 河水 "
    "湖水 江水 山洞 海湾 港湾 上半场 广义 上山 海关 重镇 古镇 锦旗 加盟 入盟 神州 西洋 东洋 南洋 惠及 午休 多维度 维度 "
    "东路 西路 南路 北路 巴士 中科 长寿 东北 西北 东南 西南 之日起 山脉 山峰 亚高山 南大门 直辖市".split()
)
# the first words of a name that make it generic: 本公司, 该局, 子公司, 上市公司, 全资子公司
_GENERIC_ORG_HEAD = ("本", "该", "我", "其", "此", "各", "全", "每", "子", "分", "母", "上市", "下属", "旗下", "所属", "控股", "参股", "全资", "有关", "相关")  # fmt: skip
# single characters that stand as words of their own next to a name: 在北京, 日本的, 2023年
_FUNCTION_FLAGS = {"p", "c", "u", "uj", "ul", "uz", "ug", "ud", "uv", "d", "r", "f", "q", "m", "v", "t", "y", "e", "o", "k", "x"}  # fmt: skip
_NAME_FLAGS = {
    "n",
    "nr",
    "nrt",
    "nrfg",
    "nrf",
    "ns",
    "nt",
    "nz",
    "ng",
    "g",
    "zg",
    "j",
    "a",
    "an",
    "b",
    "vn",
    "f",
    "m",
    "eng",
}
_LEADING_NOT_NAME = {"a", "an", "b", "vn", "f", "m", "ng"}  # may sit inside a name, never open it
_PROPER_FLAGS = {"nr", "nrt", "nrfg", "nrf", "nz", "eng"}
# characters no place name is made of: function words, pronouns, positions, dates, levels
# (州 may be inside one: 鸣州市)
_NOT_NAME_CHARS = frozenset(
    "的了在是和与及或为以于对从向到由把被将这那其此该各每本全我你他她它们个些上下中内外前后之年月日号时省市县区旗盟镇乡"
)
# characters jieba glues to the front of a name it does not know: 向砺山市, 于青禾市, (12)日云泽市
_GLUED_FRONT = frozenset("向于和与在从到对把被将由及或的是为以之年月日号")
_ADMIN_CHAR = re.compile("[省市县区州旗盟镇乡]")
# what may follow a place's suffix although the two characters make a word: 市政府, 县人民政府
_ORG_AFTER_PLACE = ("政府", "人民", "委员会", "总工会", "工会", "统计局", "第")
_NUMERAL = re.compile(r"^(?:第?[一二三四五六七八九十百千零〇两\d]+)$")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年")
_YEAR_RANGE = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年?\s*[-–—~～至到]{1,2}\s*((?:19|20)\d{2})\s*年")
BODY_PLACE_MIN = 3  # mentions of a place before the body is said to be about it
BODY_PLACE_SHARE = 1 / 3  # ... in this share of all place mentions at least
LEAD = 2.0  # ... and this many times as often as the next place (organisation)
BODY_ORG_MIN = 2
BODY_ORG_SHARE = 1 / 3
MAX_ORG_LEN = 30


def describe(article: Article) -> dict[str, str]:
    """What an article is about: ``place``, ``org`` and ``year``, each only when its text says so.

    - place: a place name in the title (tagged ``ns`` by jieba, or a name ending in an
      administrative suffix such as 市/县/区); else the place the body names most, when
      it is named often enough and well ahead of any other;
    - org: an organisation named in full in the title (a name ending in 公司/集团/大学/
      局/委员会..., or tagged ``nt``); else the body's dominant one. A title that says only
      ``市统计局`` takes the body's full name ending that way, if the body writes one;
    - year: a year written in the title (``2021-2025`` for a range), else the collection's.

    >>> def art(title, *paras):
    ...     return Article(title, [Paragraph(t, ((0, 0, len(t)),)) for t in paras], 0, 0)
    >>> describe(art("华信精密科技股份有限公司2023年年度报告", "报告期内公司营业收入增长。公司股票在交易所上市。"))
    {'org': '华信精密科技股份有限公司', 'year': '2023'}
    >>> describe(art("2023年临江市国民经济和社会发展统计公报", "全市地区生产总值增长5.2%。"))
    {'place': '临江市', 'year': '2023'}
    >>> describe(art("市总工会工作综述", "安康市总工会举办大赛。安康职工参加，安康市表彰。"))
    {'place': '安康市', 'org': '安康市总工会'}
    >>> describe(art("职工之家建设情况", "各地建成职工之家。"))
    {}
    """
    meta: dict[str, str] = {}
    title = article.title
    body = _body_head(article.paragraphs)
    title_toks = _tokens(title)
    body_toks = _tokens(body) if body else []
    # names of places the words of the body show with their suffix, or the characters show
    extra = char_places(title + "\n" + body) | {n for n, _ in _word_places(body_toks) if admin_suffix(n)}
    org_in_title, reference = _title_org(title_toks, extra)
    place = _first_place(title_toks, extra)
    org = org_in_title
    if not org:
        org = _body_org(body_toks, reference, place, extra)
    if not place and org:
        place = _place_opening(org, extra)
    if not place:
        place = _body_place(body_toks, reference, extra)
    if place:
        meta["place"] = place
    if org:
        meta["org"] = org
    year = title_year(title) or title_year(article.meta.get("collection", ""))
    if year:
        meta["year"] = year
    return meta


DESCRIBE_MAX = 50_000  # characters of an article's body metadata is read from (the longest seed has 13,400)


def _body_head(paras: list[Paragraph]) -> str:
    """The body's first ``DESCRIBE_MAX`` characters: what an article is about is said at
    its start, and the name-finding below must not grow with a huge file."""
    out: list[str] = []
    n = 0
    for p in paras:
        if n >= DESCRIBE_MAX:
            break
        out.append(p.text[: DESCRIBE_MAX - n])
        n += len(out[-1]) + 1
    return "\n".join(out)


def title_year(title: str) -> str:
    """The year a title is about: its first written year, or a range of years.

    >>> title_year("2021—2025年发展规划"), title_year("2024年铜仁市总工会工作综述"), title_year("十四五规划")
    ('2021-2025', '2024', '')
    """
    m = _YEAR_RANGE.search(title)
    if m and m.group(1) < m.group(2):
        return f"{m.group(1)}-{m.group(2)}"
    y = _YEAR.search(title)
    return y.group(1) if y else ""


# ------------------------------------------------------------------ jieba tokens


class _Tok(NamedTuple):  # a tuple: made by the hundred thousand, a frozen dataclass is slow to build
    word: str
    flag: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.word)


def _tokens(text: str) -> list[_Tok]:
    from rag.zh import segmenter

    out: list[_Tok] = []
    pos = 0
    for word, flag in segmenter().tag(text):
        # jieba's dictionary joins a level to an organisation (县总工会, 市政府): split them,
        # so that 松林 + 县 is seen as a place and 总工会 as the organisation
        if len(word) >= 3 and word[0] in _BARE_ADMIN and word[1:] in ORG_SUFFIXES:
            out.append(_Tok(word[0], "n", pos))
            out.append(_Tok(word[1:], "n", pos + 1))
        elif (
            len(word) >= 4
            and word[0] in _GLUED_FRONT
            and not _dict_tag(word)
            and len(place_stem(word[1:])) < len(word) - 1
        ):
            # a word jieba guessed with a function word or a date glued to a place: 于 + 青禾市
            out.append(_Tok(word[0], "p", pos))
            out.append(_Tok(word[1:], flag, pos + 1))
        elif len(word) == 2 and word[0] in _GLUED_FRONT and word[1] in _BARE_ADMIN and not _dict_tag(word):
            # the HMM's guess of a function word and a bare level: 由 + 区(总工会)
            out.append(_Tok(word[0], "p", pos))
            out.append(_Tok(word[1], "n", pos + 1))
        else:
            out.append(_Tok(word, flag, pos))
        pos += len(word)
    return out


def _dict_tag(word: str) -> str:
    """The tag jieba's dictionary gives a word ('' for a word it does not list)."""
    import jieba.posseg as pseg

    return str(pseg.dt.word_tag_tab.get(word, ""))


_HAN = re.compile(r"[\u4e00-\u9fff]+")


@lru_cache(maxsize=1 << 16)
def _han(word: str) -> bool:
    return _HAN.fullmatch(word) is not None


# ------------------------------------------------------------------------ places


@lru_cache(maxsize=1 << 16)
def admin_suffix(word: str) -> str:
    """The administrative suffix a name ends with ('' if none).

    >>> admin_suffix("西藏自治区"), admin_suffix("南川区"), admin_suffix("珠穆朗玛峰")
    ('自治区', '区', '')
    """
    if not word.endswith(ADMIN_SUFFIXES):  # most words: one test instead of sixteen
        return ""
    return next(s for s in ADMIN_SUFFIXES if word.endswith(s))


def place_stem(name: str) -> str:
    """A place name without its administrative suffix, when two characters or more remain.

    >>> place_stem("安康市"), place_stem("广州"), place_stem("日本")
    ('安康', '广州', '日本')
    """
    suf = admin_suffix(name)
    return name[: -len(suf)] if suf and len(name) - len(suf) >= 2 else name


def _prefix_ok(tok: _Tok) -> bool:
    """Whether a word can be the name before a suffix written apart: 云岚 + 市, 南川 + 区."""
    w = tok.word
    if len(w) < 2 or not _han(w) or w in _NOT_PLACE_WORDS or admin_suffix(w):
        return False  # 全市 + 地区 is no place
    return tok.flag in {"ns", "nr", "nrt", "nrfg", "nz", "j"}


def _one_char_name(tok: _Tok) -> bool:
    """A single character jieba takes for a name (枫 of 枫林区), not an adjective (老城区)."""
    return len(tok.word) == 1 and _han(tok.word) and tok.flag in {"nr", "ns", "nz", "nrt"}


def _city_like(word: str) -> bool:
    """A noun ending in 市/州/盟/旗 after two characters or more is a name (来宾市) unless it
    is a kind of city (大城市, 县级市); nouns ending in 区/县/镇/乡 are mostly kinds of
    area (开发区, 贫困县, 特色小镇), not names, and count only when jieba tags them ns."""
    suf = admin_suffix(word)
    return (
        suf in ("市", "州", "盟", "旗", "自治州", "自治区", "自治县", "特别行政区")
        and len(word) - len(suf) >= 2
        and "城" not in word
        and not word.endswith("级市")
    )


def _ns_head(word: str) -> str:
    """The place an organisation's one-word name opens with: 中国工会 -> 中国."""
    for k in range(len(word) - 1, 1, -1):
        head = word[:k]
        if _dict_tag(head) == "ns" and head not in _NOT_PLACE_WORDS:
            return head
    return ""


def _gluey(tok: _Tok) -> bool:
    """A word that, written right against a place word, makes both one longer name: a
    character that is no word of its own here (长 of 长谷川町子, 林 of 林永康), a person's
    name (费尔德 + 海斯) or a word jieba guessed (莫扎 + 伊斯 + 克)."""
    w = tok.word
    if not _han(w):
        return False
    if len(w) == 1:
        return tok.flag not in _FUNCTION_FLAGS and w not in _BARE_ADMIN
    return tok.flag in {"nr", "nrt", "nrfg", "nrf"} or (tok.flag.startswith("n") and not _dict_tag(w))


FRAGMENT_REACH = 8  # place words looked at on each side (a run of them is never a longer name)


def _fragment(toks: list[_Tok], i: int, both_sides: bool) -> bool:
    """Whether the place word ``toks[i]`` is only part of a longer name (谷川 of 长谷川町子,
    尼亚 of 明尼亚波利斯): the run of place words around it touches a gluey word."""
    sides = (-1, 1) if both_sides else (-1,)
    for step in sides:
        k = i + step
        while 0 <= k < len(toks) and abs(k - i) <= FRAGMENT_REACH:
            if _gluey(toks[k]):
                return True
            if toks[k].flag != "ns" or not _han(toks[k].word):
                break
            k += step
    return False


def _places(toks: list[_Tok], in_names: bool = True, extra: frozenset[str] = frozenset()) -> list[tuple[str, int]]:
    """``(place name, start)`` for every place named in ``toks``, in order; with
    ``in_names``, also the place opening an organisation's one-word name (中国 of 中国工会).
    ``extra`` are names found by :func:`char_places`, counted where the words miss them
    (and their stem alone, 鸣州, as a mention of 鸣州市)."""
    out = _word_places(toks, in_names)
    if extra:
        text = "".join(t.word for t in toks)
        taken = bytearray(len(text) + 1)  # characters inside a place found already
        for name, start in out:
            taken[start : start + len(name)] = b"\x01" * len(name)
        for name in sorted(extra, key=len, reverse=True):
            stem = name[: -len(admin_suffix(name))]
            for a, b in _mentions(text, stem, name):
                if not any(taken[a:b]):
                    out.append((name, a))
                    taken[a:b] = b"\x01" * (b - a)
        out.sort(key=lambda ns: ns[1])
    return out


def char_places(text: str) -> frozenset[str]:
    """Place names jieba's words miss (砺/山市, 鸣/州市), found in the characters: two or
    three characters of no common word, standing after a word boundary, before an
    administrative suffix that opens no word of its own (市场, 省级); the stem must also
    stand alone in the text (砺山调查队, 鸣州首条地铁) -- a place is named with and
    without its suffix.

    >>> sorted(char_places("砺山市统计局发布公报。砺山调查队参与调查。全市经济增长，城区扩大，省级市场活跃。"))
    ['砺山市']
    """
    found: set[str] = set()
    alone: dict[str, bool] = {}  # stem -> it stands alone somewhere (one scan per stem)
    for m in _ADMIN_CHAR.finditer(text):
        p = m.start()
        after = text[p : p + 2]
        if len(after) == 2 and _dict_tag(after) and not text.startswith(_ORG_AFTER_PLACE, p + 1):
            continue  # 市场, 省级, 区域: the suffix character opens a word (市政府 is the city's)
        for n in (2, 3):
            stem = text[p - n : p]
            if p < n or not _han(stem) or any(c in _NOT_NAME_CHARS for c in stem):
                continue
            if _dict_tag(stem) not in ("", "ns", "nr", "nrt", "nrfg", "nz") or stem + m.group() in _NOT_PLACE_WORDS:
                continue  # 开发 + 区, 经济 + 区: a common word before the suffix
            if not _starts_word(text, p - n):
                continue
            if stem not in alone:
                alone[stem] = any(_starts_word(text, a) for a, _ in _mentions(text, stem))
            if alone[stem]:
                found.add(stem + m.group())
                break
    return frozenset(found)


_ADMIN_CHARS = frozenset("省市县区州旗盟镇乡")


def _mentions(text: str, stem: str, name: str = "") -> Iterator[tuple[int, int]]:
    """Spans of ``name``, or of ``stem`` not followed by an administrative suffix, left to
    right and not overlapping -- what ``re.finditer(name|stem(?![省市县区州旗盟镇乡]))``
    finds, without compiling a pattern for every name.

    >>> list(_mentions("鸣州市到鸣州，鸣州区", "鸣州", "鸣州市"))
    [(0, 3), (4, 6)]
    """
    if not stem:
        return
    i = text.find(stem)
    while i >= 0:
        if name and text.startswith(name, i):
            yield i, i + len(name)
            i = text.find(stem, i + len(name))
        elif text[i + len(stem) : i + len(stem) + 1] not in _ADMIN_CHARS:
            yield i, i + len(stem)
            i = text.find(stem, i + len(stem))
        else:
            i = text.find(stem, i + 1)


def _starts_word(text: str, i: int) -> bool:
    """Whether a name can start at ``text[i]``: at the start, after a character that is no
    Han character, after a function word or an administrative suffix (于青禾市, 岚川省青禾市)
    or after an organisation's name (统计局砺山调查队) -- not inside a longer name (卡塞|雷斯省)."""
    return (
        i == 0
        or not _han(text[i - 1])
        or text[i - 1] in _NOT_NAME_CHARS
        or text[i - 1] == "州"
        or text.endswith(ORG_SUFFIXES, 0, i)
    )


def _word_places(toks: list[_Tok], in_names: bool = True) -> list[tuple[str, int]]:
    """The places of :func:`_places` that jieba's words show."""
    out: list[tuple[str, int]] = []
    for i, t in enumerate(toks):
        w = t.word
        suf = admin_suffix(w)
        if not suf and t.flag != "ns" and t.flag != "nt":
            continue  # no branch below takes such a word: skipped early, most words are
        prev = toks[i - 1] if i else None
        if suf and w == suf:  # a bare 市/县/区 after a name: 云岚 + 市, 阿尔坎 塔拉 + 区
            if suf in _BARE_ADMIN and prev is not None and _prefix_ok(prev):
                first = i - 1
                while first > 0 and _gluey(toks[first - 1]) and t.end - toks[first - 1].start <= 10:
                    first -= 1
                while out and out[-1][1] >= toks[first].start:
                    out.pop()
                out.append(("".join(x.word for x in toks[first : i + 1]), toks[first].start))
            continue
        if t.flag == "nt":
            head = _ns_head(w) if in_names else ""
            if head and not _fragment(toks, i, False):
                out.append((head, t.start))
            continue
        if not _han(w) or w in _NOT_PLACE_WORDS:
            continue
        if t.flag != "ns":
            if t.flag in {"n", "nz", "nr"} and _city_like(w) and not _fragment(toks, i, False):
                out.append((w, t.start))  # 来宾市: a name jieba reads as a noun
            elif suf and len(w) - len(suf) == 1 and prev is not None and _one_char_name(prev):
                out.append((prev.word + w, prev.start))  # 枫 + 林区: a name cut into a noun
            continue
        if suf:
            stem = w[: -len(suf)]
            if len(stem) >= 2 or (suf in _ONE_CHAR_STEM_OK and len(stem) == 1 and _dict_tag(w) == "ns"):
                if not _fragment(toks, i, False):
                    out.append((w, t.start))  # 铜仁市, 广州
            elif len(stem) == 1 and prev is not None and _prefix_ok(prev):  # 松林 + 湾区
                if out and out[-1][1] == prev.start:
                    out.pop()
                out.append((prev.word + w, prev.start))
        elif len(w) >= 2 and _dict_tag(w) == "ns" and not _fragment(toks, i, True):
            out.append((w, t.start))  # a place jieba knows, not one it guessed
    return out


def _first_place(toks: list[_Tok], extra: frozenset[str] = frozenset()) -> str:
    places = _places(toks, extra=extra)
    return places[0][0] if places else ""


def _place_opening(org: str, extra: frozenset[str] = frozenset()) -> str:
    """The place an organisation's name opens with: 青川县人民代表大会常务委员会 -> 青川县,
    观山湖区总工会 -> 观山湖区."""
    toks = _tokens(org)
    places = _places(toks, extra=extra)
    if places:
        return places[0][0] if places[0][1] == 0 else ""
    m = _ORG_RX.search(org)
    return _named_area(_tokens(org[: m.start()])) if m else ""


def _named_area(toks: list[_Tok]) -> str:
    """Words ending in an administrative suffix right before an organisation suffix name a
    place even when jieba does not know it (观山 湖区 + 总工会); a kind of area jieba knows
    as one noun (开发区工会) does not."""
    if not toks:
        return ""
    name = "".join(t.word for t in toks)
    last = toks[-1]
    suf = admin_suffix(name)
    if not suf or len(name) - len(suf) < 2 or not _han(name):
        return ""
    # 观山 湖区, 枫 林区: the suffix's word has one character before it, so the name goes on
    # to the left; 开发区 is a word of its own, a kind of area
    return name if last.word in _BARE_ADMIN or last.flag == "ns" or len(last.word) - len(suf) == 1 else ""


def _body_place(toks: list[_Tok], reference: str = "", extra: frozenset[str] = frozenset()) -> str:
    """The place the body is about: named at least ``BODY_PLACE_MIN`` times (``安康`` counts
    for ``安康市``), in at least ``BODY_PLACE_SHARE`` of all place mentions and ``LEAD``
    times as often as the next place.

    ``reference`` is what the title calls the organisation without naming it (市总工会):
    then only places of that level (…市) count.
    """
    forms: dict[str, Counter[str]] = {}
    starts: set[int] = set()
    for name, start in _places(toks, in_names=False, extra=extra):  # 富国 of 富国银行 is no place
        forms.setdefault(place_stem(name), Counter())[name] += 1
        starts.add(start)
    level = admin_suffix(reference[:1]) if reference else ""
    counts: dict[str, int] = {}
    other_words = Counter(t.word for t in toks if t.flag != "ns" and t.start not in starts and t.word in forms)
    for stem, names in forms.items():
        if level and not any(n.endswith(level) for n in names):
            continue
        # the place's mentions, and its name alone where jieba reads it otherwise (安康 as a name)
        counts[stem] = sum(names.values()) + other_words[stem]
    if not counts:
        return ""
    stem = _dominant(counts, BODY_PLACE_MIN, BODY_PLACE_SHARE)[0]
    if not stem:
        return ""
    names = forms[stem]
    if level:  # the title's level: 南川区 for 区总工会 though the body says 南川 more often
        return max((nm for nm in names if nm.endswith(level)), key=lambda nm: (names[nm], nm))
    # the form the body uses most, the one with its suffix on a tie (安康市 over 安康)
    return max(names, key=lambda nm: (names[nm], nm != stem, nm))


# ------------------------------------------------------------------ organisations


def _orgs(toks: list[_Tok], extra: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """``(name, kind)`` for every organisation named in ``toks``, in order. ``kind`` is
    ``"full"`` for a name that says which organisation it is (华信精密科技股份有限公司,
    讷河市财政局) and ``"ref"`` for one that says only its level (市总工会)."""
    if not toks:
        return []
    text = "".join(t.word for t in toks)
    at = [0] * len(text)  # character -> index of its token
    for i, t in enumerate(toks):
        for k in range(t.start, t.end):
            at[k] = i
    found: list[tuple[int, str, str]] = []  # (start, name, kind)
    covered = -1  # characters before this are part of a name already taken
    for m in _ORG_RX.finditer(text):
        i, j = m.start(), m.end()
        if i < covered or not _suffix_aligned(toks, at, i, j, m.group()):
            continue
        first = at[i]
        partial = text[toks[first].start : i]
        # one organisation of another: 集团 + 工会, 集团 + 有限公司
        while (n := _ORG_RX.match(text, j)) and _suffix_aligned(toks, at, n.start(), n.end(), n.group()):
            j = n.end()
        covered = j
        name = _name_before(toks, first, partial) + text[i:j]
        found.append((j - len(name), name, _org_kind(name, text[i:j], extra)))
    taken = bytearray(len(text) + 1)  # characters inside a name found already
    for start, name, _ in found:
        taken[start : start + len(name)] = b"\x01" * len(name)
    for k, t in enumerate(toks):  # a one-word organisation jieba knows with no suffix of ours (中国移动)
        if t.flag != "nt" or t.word.endswith(ORG_SUFFIXES) or taken[t.start]:
            continue
        if _org_kind(t.word, "", extra) == "full":  # the word itself says which one (中国移动, not 交汇处)
            name = _name_before(toks, k, "") + t.word
            found.append((t.end - len(name), name, "full"))
    return [(name, kind) for _, name, kind in sorted(found)]


def _suffix_aligned(toks: list[_Tok], at: list[int], i: int, j: int, suffix: str) -> bool:
    """Whether a suffix found at ``text[i:j]`` ends a name there: it ends a word
    (有限公司, 服务中心) or opens one (工会 of 工会工作); a one-character suffix (局, 委,
    部) must be a word of its own or end a word jieba tags as an organisation (财政局)."""
    head, tail = toks[at[i]], toks[at[j - 1]]
    if len(suffix) == 1:
        return head is tail and (head.word == suffix or (head.flag == "nt" and head.end == j))
    return tail.end == j or tail.start == i


def _name_before(toks: list[_Tok], first: int, partial: str) -> str:
    """The words before a suffix that belong to the name: nouns, places, numbers inside
    (中铁二十五局), not verbs, punctuation, a year (2024年) or another organisation."""
    words: list[_Tok] = []
    k = first - 1
    while k >= 0 and len(partial) + sum(len(w.word) for w in words) < MAX_ORG_LEN:
        t = toks[k]
        if not (t.flag in _NAME_FLAGS or t.word in _BARE_ADMIN) or not (_han(t.word) or t.flag in {"m", "eng"}):
            break
        if t.flag == "f" and len(t.word) == 1:
            break  # 报告期内 + 公司
        if t.word.endswith(_MULTI_CHAR_ORG) or (t.flag == "nt" and t.word.endswith(ORG_SUFFIXES)):
            break  # another organisation's name (中国工会 before 第十七次全国代表大会), not 台湾电视 + 公司
        words.insert(0, t)
        k -= 1
    # 新时代…, 2024年… open no name; a single character glued to the name is part of it (明尼亚波利斯)
    while words and (
        not _han(words[0].word)
        or (len(words[0].word) == 1 and words[0].flag in _FUNCTION_FLAGS)
        or (len(words[0].word) > 1 and words[0].flag in _LEADING_NOT_NAME)
    ):
        words.pop(0)
    # a word jieba takes for a person's name is no part of the name of a place's organisation
    # (荣获 + 陕西省总工会)
    while len(words) > 1 and words[0].flag in {"nr", "nrfg", "nrt"} and _places(words[1:2]):
        words.pop(0)
    return "".join(w.word for w in words) + partial


def _org_kind(name: str, suffix: str, extra: frozenset[str] = frozenset()) -> str:
    """``"full"``, ``"ref"`` (市总工会: only a level before the suffix) or ``""`` (generic:
    基层工会, 本公司, 上市公司)."""
    base = name[: len(name) - len(suffix)] if suffix else name
    if not base:
        return ""
    if base in _BARE_ADMIN:
        return "ref"
    if suffix == "中心" and base[-1] in _BARE_ADMIN:
        return ""  # 市中心 is the middle of a city
    toks = _tokens(base)
    if _places(toks, extra=extra) or _named_area(toks):
        return "full"
    if len(base) < 2 or base.startswith(_GENERIC_ORG_HEAD):
        return ""
    if any(t.flag in _PROPER_FLAGS for t in toks):
        return "full"
    if any(t.flag == "m" and _NUMERAL.match(t.word) for t in toks[1:]):
        return "full"  # 中铁二十五局
    inner = [t for t in toks if not any(t.word.endswith(s) for s in ORG_SUFFIXES)]
    if suffix.startswith(_COMPANY_SUFFIXES) and len(inner) >= 2 and sum(len(t.word) for t in inner) >= 3:
        return "full"  # a trade name of ordinary words: 晨星电子集团
    return ""


def _title_org(toks: list[_Tok], extra: frozenset[str] = frozenset()) -> tuple[str, str]:
    """The first organisation the title names in full, and what it calls one without
    naming it (``市总工会``), if it does."""
    full = ""
    reference = ""
    for name, kind in _orgs(toks, extra):
        if kind == "full" and not full:
            full = name
        elif kind == "ref" and not reference:
            reference = name
    return full, reference


def _body_org(toks: list[_Tok], reference: str, place: str, extra: frozenset[str] = frozenset()) -> str:
    """The organisation the body is about.

    With a ``reference`` from the title (市总工会) it is the body's full name ending that
    way (安康市总工会), the one of the title's place if there is one; otherwise the full
    name named at least ``BODY_ORG_MIN`` times, in ``BODY_ORG_SHARE`` of all mentions and
    ``LEAD`` times as often as the next one.
    """
    counts = Counter(name for name, kind in _orgs(toks, extra) if kind == "full")
    if reference:
        named = [(n, c) for n, c in counts.items() if n.endswith(reference) and (not place or n.startswith(place))]
        return max(named, key=lambda nc: (nc[1], nc[0]))[0] if named else ""
    if not counts:
        return ""
    return _dominant(counts, BODY_ORG_MIN, BODY_ORG_SHARE)[0]


def _dominant(counts: Mapping[str, int], least: int, share: float) -> tuple[str, int]:
    """The name counted most, if it is counted at least ``least`` times, has at least
    ``share`` of all counts and at least ``LEAD`` times the count of the next one; else
    ``("", 0)``.

    >>> _dominant({"临江市": 5, "青川县": 2}, 3, 1 / 3), _dominant({"临江市": 3, "青川县": 3}, 3, 1 / 3)
    (('临江市', 5), ('', 0))
    """
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if not ranked:
        return "", 0
    name, n = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    if n < least or n < share * sum(counts.values()) or n < LEAD * runner_up:
        return "", 0
    return name, n
