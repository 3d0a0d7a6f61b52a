"""Find the articles in a file, each article's title, its section tree and what it is about.

A file is one article, or a compilation of several:
- a table of contents (``目录`` followed by lines ending in page numbers) names the
  articles; each is found again as a title line in the body, in order;
- in Markdown, the top heading level is an article level when it repeats over long
  stretches of text (``## 一路繁花耀征程 ... ## 绘就职工发展蓝图``).

Inside an article, headings come from Markdown ``#``, Chinese numbering (``第一章``,
``一、``, ``（一）``, ``1.``) and short standalone lines without closing punctuation that
are followed by body text; bylines (``记者 吴苏``) and image captions are not headings.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

from rag.ingest.clean import Paragraph, is_terminated, normalize_for_match, unbalanced

_MD = re.compile(r"^(#{1,6})\s*(.*?)\s*#*$")
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
    title, rest = _take_title(paras)
    return _numbered([Article(title, rest, paras[0].start, paras[-1].end)])


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
                m = _TOC_ENTRY.match(paras[j].text)
                if m and len(m.group(1)) >= 4:
                    entries.append(m.group(1).rstrip("…. ·"))
                    misses = 0
                elif len(paras[j].text) <= 12 and not is_terminated(paras[j].text):
                    misses += 0  # a group label such as 一、各级工会
                else:
                    misses += 1
                    if misses > 1 and entries:
                        break
                j += 1
            if len(entries) >= 2:
                # the body starts after the last TOC entry line
                last = max(k for k in range(i + 1, j) if _TOC_ENTRY.match(paras[k].text))
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
        arts.append(Article(collection or "前言", front, front[0].start, front[-1].end))
    for n, (j, title) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(paras)
        body = paras[j + 1 : end]
        full_title, body = _extend_title(title, body)
        if body:
            arts.append(Article(full_title, body, paras[j].start, paras[end - 1].end))
    return arts


def _split_by_markdown(paras: list[Paragraph]) -> list[Article] | None:
    levels = [(i, len(m.group(1))) for i, p in enumerate(paras) if (m := _MD.match(p.text))]
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
        title = _MD.match(paras[a].text).group(2)  # type: ignore[union-attr]
        body = paras[a + 1 : b]
        full_title, body = _extend_title(title, body)
        start = paras[a].start
        if n == 0 and lead:
            body = lead + body  # text before the first heading is not thrown away
            start = lead[0].start
        arts.append(Article(full_title, body, start, paras[b - 1].end))
    return arts


def _take_title(paras: list[Paragraph]) -> tuple[str, list[Paragraph]]:
    """Title of a single-article file: its first short line(s), with a ——subtitle."""
    first = paras[0]
    text = _MD.match(first.text).group(2) if _MD.match(first.text) else first.text  # type: ignore[union-attr]
    if len(text) <= 60 and not text.endswith("。") and " | " not in text:  # a table row is no title
        return _extend_title(text, paras[1:])
    return "", paras


def _extend_title(title: str, body: list[Paragraph]) -> tuple[str, list[Paragraph]]:
    """Join a ``——subtitle`` line to the title and drop bylines right below it."""
    rest = list(body)
    while rest:
        t = _strip_md(rest[0].text)
        if _SUBTITLE.match(t) and len(t) <= 60 and "——" not in title:
            title = title + t if t.startswith("—") else title + "——" + t.lstrip("-–")
            rest.pop(0)
        elif is_byline(t):
            rest.pop(0)
        else:
            break
    return title.strip(), rest


def _strip_md(text: str) -> str:
    m = _MD.match(text)
    return m.group(2) if m else text


def is_byline(text: str) -> bool:
    """Bylines, editor credits and production notes: ``记者 吴苏``, ``（本版稿件由…）``."""
    t = text.strip()
    return bool(_BYLINE.match(t) or _PRODUCTION_NOTE.match(t)) and len(t) <= 60


# ----------------------------------------------------------------------------- headings


def heading_kind(p: Paragraph, next_p: Paragraph | None) -> tuple[str, str] | None:
    """``(kind, heading text)`` if the paragraph is a heading, else None."""
    text = p.text
    m = _MD.match(text)
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

_ADMIN = r"(?:省|自治区|市|自治州|州|盟|地区|县|区|旗|新区)"
# a place at the start of a title (or after a year) naming the union: 铜仁市总工会, 昌吉州教育工会
_TITLE_PLACE = re.compile(
    r"(?:(?<![\u4e00-\u9fff])|(?<=年))(?!年)([\u4e00-\u9fff]{2,6}?"
    + _ADMIN
    + r")(?=[\u4e00-\u9fff]{0,4}工会|[\u4e00-\u9fff]{0,3}局|$)"
)
_NOT_PLACE = {
    "自治区", "自治州", "全省", "全市", "全区", "全县", "全州", "我市", "我省", "我区", "本市", "各市", "该市", "城区", "社区",
    "园区", "景区", "小区", "街区", "市区", "新区", "辖区", "片区", "地区", "山区", "厂区", "矿区", "校区", "湖区", "省市",
    "中国", "中华人民共和国", "全国", "深度", "新建", "惠及",
}  # fmt: skip
_YEAR = re.compile(r"((?:19|20)\d{2})年")
_ORG_IN_TITLE = re.compile(r"([\u4e00-\u9fff]{2,12}?(?:总工会|教育工会|工会|集团|局))")
_UNION_HINT = re.compile(r"(?<![\u4e00-\u9fff])(?:^|——)?(省|市|区|县|州)(?:总工会|工会)")


def describe(article: Article) -> dict[str, str]:
    """What an article is about: ``place``, ``org`` and ``year``, from its title, else its body.

    >>> a = Article("市总工会工作综述", [], 0, 0)
    >>> a.paragraphs = [Paragraph("安康市总工会举办大赛。安康职工参加，安康市表彰。", ((0, 0, 24),))]
    >>> describe(a)["place"]
    '安康市'
    """
    meta: dict[str, str] = {}
    title = article.title
    body = "".join(p.text for p in article.paragraphs)
    hint = _UNION_HINT.search(title)
    place = _place_from_title(title) or _place_from_body(body, hint.group(1) if hint else "")
    if place:
        meta["place"] = place
    org = _org(title, place)
    if org:
        meta["org"] = org
    years = _YEAR.findall(title)
    if years:
        meta["year"] = years[0]
    elif "十四五" in title:
        meta["year"] = "2021-2025"
    else:
        coll_years = _YEAR.findall(article.meta.get("collection", ""))
        if coll_years:
            meta["year"] = coll_years[0]
    return meta


def _place_from_title(title: str) -> str:
    if title.startswith(("中国工会", "全国", "中华全国")):
        return "全国"
    m = _TITLE_PLACE.search(title)
    return m.group(1) if m and m.group(1) not in _NOT_PLACE else ""


def _place_from_body(body: str, suffix_hint: str = "") -> str:
    """The place the body names most, counting ``安康`` as well as ``安康市``.

    ``suffix_hint`` ("市" for a title that says only 市总工会) keeps places of that level.
    """
    import jieba
    import jieba.posseg as pseg

    jieba.setLogLevel(60)
    candidates: set[str] = set()
    for w in pseg.cut(body):
        word = w.word
        if len(word) < 2 or word in _NOT_PLACE:
            continue
        if w.flag == "ns" or (len(word) >= 3 and re.search(_ADMIN + "$", word)):
            candidates.add(word)
    groups: dict[str, set[str]] = {}
    for word in candidates:
        stem = re.sub(_ADMIN + "$", "", word) if len(word) >= 3 else word
        if len(stem) >= 2 and stem not in _NOT_PLACE:
            groups.setdefault(stem, set()).add(word)
    scored = []
    for stem, forms in groups.items():
        full = sorted((f for f in forms if f != stem), key=len)
        if suffix_hint:
            if stem + suffix_hint not in body:
                continue
            full = [stem + suffix_hint]
        name = full[0] if full else stem
        scored.append((body.count(stem), name))
    scored.sort(key=lambda x: (-x[0], x[1]))
    if scored and scored[0][0] >= 3:
        return scored[0][1]
    return ""


def _org(title: str, place: str) -> str:
    explicit = _ORG_IN_TITLE.search(re.sub(r"^.*?\d{4}年", "", title))
    if explicit and explicit.group(1).startswith(place or "\x00"):
        return explicit.group(1)
    hint = _UNION_HINT.search(title)
    if hint and place:
        return place + ("总工会" if "总工会" in title else "工会")
    if explicit and not explicit.group(1).startswith(("市", "区", "县", "州", "省", "以", "五年")):
        return explicit.group(1)
    return place + "总工会" if place and place != "全国" else ("中华全国总工会" if place == "全国" else "")
