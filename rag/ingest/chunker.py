"""Cut an article's section tree into chunks that fit a token budget.

A chunk never crosses an article. It holds a whole section when the section fits; small
sibling sections are merged (their headings kept as lines in the text) up to the budget;
a long section is cut at sentence ends (``。！？；``) with a small overlap. Every sentence
of the article ends up whole in at least one chunk.

Text with no sentence end at all (a table flattened into one line, one character repeated
millions of times) is cut by size. The cost stays linear in the text: a long text is
counted in slices of ``COUNT_SLICE`` characters (never all at once: tiktoken's cost on one
unbroken run of letters grows faster than its length), and a window is measured from a
guess of a few budgets' worth of characters, not from the whole rest of the text.

>>> from rag.tokens import count_tokens
>>> c = Chunker(60, 10, count_tokens)
>>> parts = c._windows("职工医疗互助金" * 400)
>>> max(count_tokens(x) for x in parts) <= 60, "".join(parts) == "职工医疗互助金" * 400
(True, True)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rag.ingest.clean import Paragraph
from rag.ingest.structure import Section

_SENTENCE = re.compile(r".+?(?:[。！？!?]+[”’」』）)]*|$)", re.S)
COUNT_SLICE = 4096  # texts longer than this many characters are counted slice by slice
WINDOW_GUESS = 4  # a size cut first tries this many characters per token of budget


@dataclass(frozen=True)
class Piece:
    """A run of text with its source span; the unit chunks are packed from."""

    text: str
    start: int
    end: int
    tokens: int


@dataclass(frozen=True)
class RawChunk:
    heading_path: tuple[str, ...]
    text: str
    start: int
    end: int
    tokens: int


def split_sentences(text: str) -> list[str]:
    """Sentences of Chinese text (ended by 。！？), closing quotes kept with their sentence.

    >>> split_sentences("发放3234万元。“好！”他说；完")
    ['发放3234万元。', '“好！”', '他说；完']
    """
    return [s for s in _SENTENCE.findall(text) if s]


class Chunker:
    """Packs a section tree into :class:`RawChunk` s of at most ``budget`` tokens."""

    def __init__(self, budget: int, overlap: int, count: Callable[[str], int]):
        self.budget = budget
        self.overlap = overlap
        self.exact_count = count
        self._memo: dict[int, int] = {}  # id(paragraph) -> its tokens, for one chunk() call
        self._counted: dict[str, int] = {}  # short text -> its tokens (repeated text is counted once)

    def count(self, text: str) -> int:
        """Tokens in ``text``: exact up to ``COUNT_SLICE`` characters, else the sum over
        slices (a few tokens more than exact at the cuts, which only makes a size
        decision cautious)."""
        if len(text) > COUNT_SLICE:
            return sum(self.count(text[i : i + COUNT_SLICE]) for i in range(0, len(text), COUNT_SLICE))
        n = self._counted.get(text)
        if n is None:
            if len(self._counted) >= 50_000:
                self._counted.clear()
            n = self._counted[text] = self.exact_count(text)
        return n

    def _tokens(self, p: Paragraph) -> int:
        n = self._memo.get(id(p))
        if n is None:
            n = self._memo[id(p)] = self.count(p.text)
        return n

    # -- pieces ---------------------------------------------------------------------
    def _para_piece(self, p: Paragraph) -> Piece:
        return Piece(p.text, p.start, p.end, self._tokens(p))

    def _sentence_pieces(self, p: Paragraph) -> list[Piece]:
        out: list[Piece] = []
        pos = 0
        for s in split_sentences(p.text):
            for part in self._hard_split(s):
                a = pos
                b = pos + len(part)
                out.append(Piece(part, p.source_offset(a), p.source_offset(b - 1) + 1, self.count(part)))
                pos = b
        return out

    def _hard_split(self, sentence: str) -> list[str]:
        """A sentence is kept whole, even over budget, unless it is absurdly long (over three
        budgets, e.g. a table flattened into one line): then it is cut at semicolons, else
        commas, else in halves."""
        if self.count(sentence) <= 3 * self.budget:
            return [sentence]
        parts = re.findall(r".+?(?:[；;]|$)", sentence, re.S)
        if any(self.count(x) > self.budget for x in parts):
            parts = re.findall(r".+?(?:[；;，,、：:]|$)", sentence, re.S)
        out: list[str] = []
        cur = ""
        cur_tokens = 0  # tokens of cur: the parts' sum, or the exact count once it was needed
        for part in parts:
            n = self.count(part)
            joined = None
            if cur and cur_tokens + n > self.budget:  # the sum is an upper bound: count exactly only here
                joined = self.count(cur + part)
                if joined > self.budget:
                    out.append(cur)
                    cur, cur_tokens, joined = "", 0, None
            if n > self.budget:
                out += self._windows(part)  # no punctuation to cut at: cut by size
                continue
            cur += part
            cur_tokens = joined if joined is not None else cur_tokens + n
        if cur:
            out.append(cur)
        return out

    def _windows(self, text: str) -> list[str]:
        """``text`` cut into consecutive pieces of at most ``budget`` tokens: each window
        starts from a guess of ``WINDOW_GUESS`` characters a token, grown once if that
        holds too few tokens, then shrunk until it fits."""
        out: list[str] = []
        pos = 0
        guess = max(16, WINDOW_GUESS * self.budget)
        while pos < len(text):
            if out:
                guess = max(16, len(out[-1]) + 1)  # the last window's size is the best guess
            rest = len(text) - pos
            n = min(rest, guess)
            c = self.count(text[pos : pos + n])
            if c < self.budget and n < rest:
                n = min(rest, 16 * guess, n * self.budget // max(1, c))
                c = self.count(text[pos : pos + n])
            while n > 1 and c > self.budget:
                n = max(1, n * self.budget // max(1, c) - 1)
                c = self.count(text[pos : pos + n])
            out.append(text[pos : pos + n])
            pos += n
        return out

    # -- tree -------------------------------------------------------------------------
    def chunk(self, root: Section) -> list[RawChunk]:
        self._memo = {}
        try:
            return list(self._section(root, ()))
        finally:
            self._memo, self._counted = {}, {}

    def _size(self, s: Section, with_heading: bool) -> int:
        n = sum(self._tokens(p) for p in s.paragraphs)
        if with_heading:
            n += self.count(s.heading)
        return n + sum(self._size(c, True) for c in s.children)

    def _flat(self, s: Section, with_heading: bool) -> list[Piece]:
        """All text of a section as paragraph pieces (headings as their own lines)."""
        out: list[Piece] = []
        if with_heading and s.heading_para is not None:
            out.append(self._para_piece(s.heading_para))
        out += [self._para_piece(p) for p in s.paragraphs]
        for c in s.children:
            out += self._flat(c, True)
        return out

    def _section(self, s: Section, path: tuple[str, ...]) -> Iterator[RawChunk]:
        here = (*path, s.heading) if s.level > 0 else path
        if self._size(s, False) <= self.budget:
            pieces = self._flat(s, False)
            if pieces:
                yield self._make(here, pieces)
            elif s.heading_para is not None:  # a heading with nothing under it: kept as a line of text
                yield self._make(path, [self._para_piece(s.heading_para)])
            return
        # the intro text, then the children; small neighbours share a chunk
        batch: list[Piece] = []
        members: list[Section | None] = []  # None stands for the intro

        def flush() -> list[RawChunk]:
            nonlocal batch, members
            out: list[RawChunk] = []
            if len(members) == 1 and members[0] is not None:
                # one child alone: its path, its heading not repeated in the text
                child = members[0]
                body = batch[1:] if child.heading_para is not None else batch
                if body:
                    out.append(self._make((*here, child.heading), body))
                elif batch:  # a heading with nothing under it: kept as a line of text
                    out.append(self._make(here, batch))
            elif batch:
                out.append(self._make(here, batch))
            batch, members = [], []
            return out

        if s.paragraphs:
            intro = [self._para_piece(p) for p in s.paragraphs]
            if sum(x.tokens for x in intro) <= self.budget:
                batch, members = intro, [None]
            else:
                yield from self._pack_long(here, s.paragraphs)
        for child in s.children:
            size = self._size(child, True)
            if size > self.budget:
                yield from flush()
                yield from self._section(child, here)
                continue
            if sum(x.tokens for x in batch) + size > self.budget:
                yield from flush()
            batch += self._flat(child, True)
            members.append(child)
        yield from flush()

    def _pack_long(self, path: tuple[str, ...], paras: list[Paragraph]) -> Iterator[RawChunk]:
        """Pack paragraphs; a paragraph over budget is cut at sentences with overlap."""
        batch: list[Piece] = []
        tokens = 0
        for p in paras:
            piece = self._para_piece(p)
            if piece.tokens <= self.budget:
                if tokens + piece.tokens > self.budget and batch:
                    yield self._make(path, batch)
                    batch, tokens = [], 0
                batch.append(piece)
                tokens += piece.tokens
                continue
            if batch:
                yield self._make(path, batch)
                batch, tokens = [], 0
            yield from self._split_sentences_with_overlap(path, self._sentence_pieces(p))
        if batch:
            yield self._make(path, batch)

    def _split_sentences_with_overlap(self, path: tuple[str, ...], sents: list[Piece]) -> Iterator[RawChunk]:
        i = 0
        while i < len(sents):
            batch: list[Piece] = []
            tokens = 0
            j = i
            while j < len(sents) and (not batch or tokens + sents[j].tokens <= self.budget):
                batch.append(sents[j])
                tokens += sents[j].tokens
                j += 1
            yield self._make(path, batch, sep="")
            if j >= len(sents):
                break
            # step back over the last sentences for overlap, but always advance
            back = j
            ov = 0
            while back - 1 > i and ov + sents[back - 1].tokens <= self.overlap:
                back -= 1
                ov += sents[back].tokens
            i = back

    def _make(self, path: tuple[str, ...], pieces: list[Piece], sep: str = "\n") -> RawChunk:
        text = sep.join(p.text for p in pieces)
        return RawChunk(
            heading_path=path,
            text=text,
            start=min(p.start for p in pieces),
            end=max(p.end for p in pieces),
            tokens=self.exact_count(text),
        )
