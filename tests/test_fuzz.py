"""Property tests of the ingest path on random and adversarial text (hypothesis).

Whatever the input -- random bytes, random Han characters, runs of punctuation, lines that
look like headings, contents lists and bylines, huge lines, empty lines, mixed scripts --
decoding, line repair, the structure detector, the chunker and ``parse_text`` never crash,
never lose text (every sentence of every article lands in some chunk, its heading path or
its title) and every chunk's offsets point at its own text in the source.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rag.ingest.chunker import Chunker, split_sentences  # noqa: E402
from rag.ingest.clean import Paragraph, paragraphs  # noqa: E402
from rag.ingest.loaders import UnreadableFile, decode_bytes  # noqa: E402
from rag.ingest.pipeline import parse_text  # noqa: E402
from rag.ingest.structure import Section, is_byline, section_tree, split_articles  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.tokens import count_tokens  # noqa: E402

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
SMALL = Settings(chunk_tokens=60, chunk_overlap_tokens=10, max_file_seconds=0)

HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
FRAGMENTS = [
    "。", "！", "？", "；", "，", "、", "：", "……", "——", "“", "”", "《", "》", "（", "）", "「", "」",
    "。。。。", "！？！？", "，，，，，", "\n", "\n\n", "\n\n\n", "　　", "  ", "\t",
    "一、", "二、", "（一）", "（二）", "1.", "2、", "第一章", "第二节", "# ", "## ", "### ", "#",
    "目录", "目　录\n", "甲市工会综述　　1\n", "乙市工会综述……5\n", "记者 张三\n", "（本版稿件由市总工会提供）\n",
    "- 3 -\n", "第 2 页\n", "12\n", "——副标题\n", " | ", "Union report 2024", "ABC", "x", "3234万元",
    "2024年", "铜仁市", "总工会", "有限公司", "砺山市", "职工医疗互助金", "一路繁花耀征程", "\u3000", "é", "😀", "ｱｲｳ",
]  # fmt: skip
PIECE = st.one_of(st.sampled_from(FRAGMENTS), st.text(HAN, min_size=1, max_size=30))
ADVERSARIAL = st.one_of(
    st.lists(PIECE, max_size=80).map("".join),  # mixed fragments
    st.text(st.one_of(HAN, st.sampled_from("。，！\n ")), max_size=400),  # random Han with a little punctuation
    st.tuples(st.sampled_from([*FRAGMENTS, "啊", "职工"]), st.integers(1, 3000)).map(lambda t: t[0] * t[1]),  # runs
    st.tuples(st.lists(PIECE, max_size=10).map("".join), st.integers(1, 400)).map(lambda t: "\n".join([t[0]] * t[1])),
)


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


# ------------------------------------------------------------------------- decoding


@FUZZ
@given(st.binary(max_size=2000))
def test_decode_random_bytes_never_crashes(data):
    try:
        text = decode_bytes(data)
    except UnreadableFile as e:
        assert "\n" not in str(e)
        return
    assert isinstance(text, str) and "\x00" not in text


@FUZZ
@given(
    st.text(
        st.one_of(HAN, st.characters(min_codepoint=0x20, max_codepoint=0x7E), st.sampled_from("\n\t。，“”")),
        max_size=500,
    )
)
def test_utf8_text_decodes_to_itself(text):
    assert decode_bytes(text.encode("utf-8")) == text


@FUZZ
@given(st.text(HAN, min_size=200, max_size=600), st.binary(min_size=1, max_size=3), st.integers(0, 1000))
def test_a_few_bad_bytes_in_utf8_keep_the_rest(text, junk, at):
    raw = text.encode("utf-8")
    at = min(at, len(raw))
    while at < len(raw) and (raw[at] & 0xC0) == 0x80:  # between two characters
        at += 1
    out = decode_bytes(raw[:at] + junk.replace(b"\x00", b"") + raw[at:])
    head, tail = raw[:at].decode(), raw[at:].decode()
    assert out.startswith(head[:-1]) and out.endswith(tail[1:])


# ---------------------------------------------------------------------- line repair


@FUZZ
@given(ADVERSARIAL)
def test_line_repair_keeps_every_character_where_it_was(text):
    paras = paragraphs(text)
    for p in paras:
        covered = [False] * len(p.text)
        for off, src, n in p.pieces:  # every piece is a verbatim slice of the source
            assert p.text[off : off + n] == text[src : src + n]
            covered[off : off + n] = [True] * n
        # between two pieces at most the one space put between two joined ASCII words
        assert all(p.text[i] == " " for i, c in enumerate(covered) if not c)
        assert 0 <= p.start < p.end <= len(text)
    # nothing but blank space and page-number lines is dropped
    kept = Counter(_squash("".join(p.text for p in paras)))
    assert not kept - Counter(_squash(text))


# ------------------------------------------------------------------------- structure


def _tree_paragraphs(s: Section) -> list[Paragraph]:
    out = ([s.heading_para] if s.heading_para is not None else []) + list(s.paragraphs)
    for c in s.children:
        out += _tree_paragraphs(c)
    return out


@FUZZ
@given(ADVERSARIAL)
def test_structure_keeps_every_paragraph(text):
    paras = paragraphs(text)
    arts = split_articles(paras)
    in_bodies: set[int] = set()
    for a in arts:
        tree = section_tree(a)
        got = _tree_paragraphs(tree)
        # every body paragraph once, in document order when the tree is read depth-first
        assert sorted(map(id, got)) == sorted(map(id, a.paragraphs))
        in_bodies.update(map(id, a.paragraphs))
    titles = " ".join(a.title + " " + a.meta.get("collection", "") for a in arts)
    body_start = min((p.start for a in arts for p in a.paragraphs), default=len(text))
    for p in paras:
        if id(p) in in_bodies:
            continue
        # left out: a title line, a byline under it, or a line of the front matter (contents)
        assert p.text in titles or _squash(p.text) in _squash(titles) or is_byline(p.text) or p.start < body_start, (
            p.text
        )


# --------------------------------------------------------------------------- chunker


def _check_chunks(text: str, settings: Settings = SMALL) -> None:
    docs, chunks = parse_text(text, "f.txt", settings)
    spans = {d.id: (d.start, d.end) for d in docs}
    for c in chunks:
        assert c.text and 0 <= c.start < c.end <= len(text)
        s, e = spans[c.doc_id]
        assert s <= c.start < c.end <= e
        window = text[c.start : c.end]
        # the offsets point at the chunk's text: all of it lies in the span, and the span
        # starts where the chunk's text starts
        assert not Counter(_squash(c.text)) - Counter(_squash(window)), (c.text[:40], window[:40])
        assert _squash(window)[:1] == _squash(c.text)[:1]
        assert c.n_tokens == count_tokens(c.text)
    # every sentence of every article lands in a chunk of its document (or its heading path / title)
    chunker = Chunker(settings.chunk_tokens, settings.chunk_overlap_tokens, count_tokens)
    by_title = {d.title: d.id for d in docs}
    texts: dict[str, str] = {}
    for c in chunks:
        texts[c.doc_id] = texts.get(c.doc_id, "") + "\x00" + c.text + "\x00" + "\x00".join(c.heading_path)
    for art in split_articles(paragraphs(text)):
        doc = by_title.get(art.title or "f")
        if doc is None:
            assert not any(p.text.strip() for p in art.paragraphs)
            continue
        hay = _squash(texts.get(doc, "") + art.title)
        for section in _sections(section_tree(art)):
            if section.heading_para is not None:  # a heading: in a chunk's text or its heading path
                assert _squash(section.heading) in hay, section.heading[:40]
            for p in section.paragraphs:
                for sentence in split_sentences(p.text):
                    for part in chunker._hard_split(sentence):
                        assert _squash(part) in hay, (part[:40], p.text[:40])


def _sections(s: Section) -> list[Section]:
    return [s] + [x for c in s.children for x in _sections(c)]


@FUZZ
@given(ADVERSARIAL)
def test_parse_text_loses_nothing_and_points_at_its_text(text):
    _check_chunks(text)


@FUZZ
@given(st.text(HAN, min_size=1, max_size=3000))
def test_random_han_without_punctuation(text):
    _check_chunks(text)


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["# ", "## ", "一、", "（一）", "1.", "第一章", ""]),
            st.text(HAN, min_size=1, max_size=60),
            st.sampled_from(["", "。", "，"]),
        ),
        max_size=40,
    )
)
def test_heading_like_lines(lines):
    _check_chunks("\n".join(f"{a}{b}{c}" for a, b, c in lines))


@FUZZ
@given(st.integers(1, 20_000), st.sampled_from(["啊", "a", "。", "，", "“", "# ", " ", "职工医疗", "1"]))
def test_huge_lines(n, unit):
    _check_chunks(unit * n + "\n\n" + "短句。" * 3)
