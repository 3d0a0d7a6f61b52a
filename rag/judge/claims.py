"""Split an answer into atomic claims, the unit a faithfulness judge checks.

RAGAS faithfulness (Es et al., 2023, https://arxiv.org/abs/2309.15217) first breaks an
answer into statements and then verifies each one against the retrieved contexts;
FActScore does the same with "atomic facts". Without an LLM we approximate atomic facts
by Chinese sentence and clause boundaries:

>>> split_claims("据介绍，全年实现营业收入18亿元[1]，同比增长12%；新招聘员工120人，并全部派驻到海外项目。[2]")
['全年实现营业收入18亿元', '同比增长12%', '新招聘员工120人', '并全部派驻到海外项目']

Sentences end at 。！？； and line breaks; a sentence is further cut at ，/：into clauses,
and a clause too short to state a fact (fewer than 8 content characters, unless it is a
labelled figure such as 二等奖121人) is merged into the next one. An enumeration joined
by 、 is cut only when every item states its own figure (一等奖15人、二等奖121人).
Citation markers ([1], [2][3], 【4】), markdown list markers, bare discourse frames
(据介绍，资料显示，) and heading lines ("主要成效：") are removed first.
"""

from __future__ import annotations

import re

from rag.judge.lexicon import FRAMES

# Full-width ASCII (，is U+FF0C) mapped to half-width so one set of patterns covers both;
# a 1:1 character map keeps offsets valid for spans cut from the original text.
_FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20
# ...except sentence punctuation, which stays full-width so splitting needs one alphabet.
for _c in "，；：！？（）":
    _FULLWIDTH.pop(ord(_c), None)

_CITATION = re.compile(r"\s*(?:\[\s*\d+(?:\s*[,，、\-–~]\s*\d+)*\s*\]|【\s*\d+(?:\s*[,，、\-–]\s*\d+)*\s*】|\[\^\d+\])")
# Markdown the generator may emit: list markers at line starts, emphasis, headings.
_LIST_MARKER = re.compile(r"(?m)^\s*(?:#{1,6}\s+|(?:\d{1,2}|[a-zA-Z])[.、)）](?!\d)\s*|[（(]\d{1,2}[)）]\s*|[-*•·]\s+)")
_EMPHASIS = re.compile(r"\*\*|__|`")
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")
_CLAUSE_SEP = re.compile(r"(?<=[，：])|(?<=[,:](?!\d))")
_FRAME = re.compile(r"^(?:" + "|".join(sorted(FRAMES, key=len, reverse=True)) + r")[，：,:\s]*")
_CONTENT_CHAR = re.compile(r"[\u4e00-\u9fff0-9A-Za-z%]")
MIN_CLAIM_CHARS = 8  # a clause with fewer content characters is merged into its neighbour


def normalise(text: str) -> str:
    """Full-width letters/digits/%% to half-width, same length (offsets are preserved).

    >>> normalise("３２３４万元，８５％")
    '3234万元，85%'
    """
    out = text.translate(_FULLWIDTH)
    # Half-width clause punctuation that is not a thousands separator or decimal becomes full-width.
    out = re.sub(r"(?<!\d),|,(?!\d{3}(?!\d))", "，", out)
    return out.replace(";", "；").replace("!", "！").replace("?", "？")


def strip_citations(text: str) -> str:
    """Remove citation markers like [1], [2][3], [1, 2], 【4】.

    >>> strip_citations("常住人口220万[1][2]。")
    '常住人口220万。'
    """
    return _CITATION.sub("", text)


def content_length(text: str) -> int:
    """Number of characters that can carry content (CJK, letters, digits)."""
    return len(_CONTENT_CHAR.findall(text))


def _split_enumeration(clause: str) -> list[str]:
    parts = clause.split("、")
    if len(parts) < 2:
        return [clause]
    if all(re.search(r"\d", p) and content_length(p) >= 4 for p in parts):
        return [p.strip() for p in parts]
    return [clause]


def _substantial(piece: str) -> bool:
    """Long enough to be a claim: 8+ content characters, or a figure with its label (二等奖121人)."""
    n = content_length(piece)
    if n >= MIN_CLAIM_CHARS:
        return True
    return n >= 5 and bool(re.search(r"\d", piece)) and len(re.findall(r"[\u4e00-\u9fff]", piece)) >= 3


def _merge_short(pieces: list[str]) -> list[str]:
    out: list[str] = []
    carry = ""
    for p in pieces:
        cur = (carry if carry.endswith(("，", "：", "、")) else carry + "，") + p if carry else p
        if not _substantial(cur):
            carry = cur
            continue
        out.append(cur)
        carry = ""
    if carry:
        if out:
            out[-1] = out[-1] + carry
        else:
            out.append(carry)
    return out


def _is_heading(sentence: str) -> bool:
    """A short label line such as "主要成效：" or "具体如下：", which states nothing."""
    s = sentence.strip()
    return s.endswith(("：", ":")) and content_length(s) <= 10 and not re.search(r"\d", s)


def _clean(piece: str) -> str:
    piece = piece.strip().strip("，,：:；;。！？!? \t\n")
    stripped = _FRAME.sub("", piece)
    return stripped if content_length(stripped) else piece


def split_claims(answer: str) -> list[str]:
    """Answer text to a list of claims (strings), citation markers removed.

    >>> split_claims("一等奖15人、二等奖121人。")
    ['一等奖15人', '二等奖121人']
    """
    text = normalise(_EMPHASIS.sub("", _LIST_MARKER.sub("", strip_citations(answer))))
    claims: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        if not content_length(sentence):
            continue
        if _is_heading(sentence):
            continue
        clauses = [c for c in _CLAUSE_SEP.split(sentence) if content_length(c)]
        pieces: list[str] = []
        for c in clauses:
            c = _FRAME.sub("", c.strip())
            if not content_length(c):
                continue  # a bare frame such as 据介绍，
            pieces.extend(_split_enumeration(_clean(c)) if "、" in c else [c])
        for piece in _merge_short(pieces):
            cleaned = _clean(piece)
            if content_length(cleaned):
                claims.append(cleaned)
    return claims
