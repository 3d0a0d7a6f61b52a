"""Word-level view of a claim: jieba tokens with a kind (entity, content, function) and a weight.

Weights follow inverse frequency in jieba's dictionary, so a missing rare word (钙钛矿, 派驻)
costs more than a missing common one (问题, 建设); this is the IDF weighting of
classic lexical entailment baselines. Entities (people, places, organisations, scope words
like 全国/省级) get their own kind because a wrong one is a wrong fact however small:

>>> [(t.word, t.kind) for t in tokenize("市长张志强考察了湖南省博物馆") if t.kind != "function"][:4]
[('市长', 'content'), ('张志强', 'person'), ('考察', 'content'), ('湖南省', 'place')]
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rag.judge.lexicon import FUNCTION_POS, FUNCTION_WORDS, LEVEL_WORDS, LIGHT_WORDS, ORG_SUFFIXES, PLACE_SUFFIXES

_lock = threading.Lock()
_CJK = re.compile(r"^[\u4e00-\u9fff]+$")
_HAS_CONTENT = re.compile(r"[\u4e00-\u9fffA-Za-z]")
# Common single-character surnames; a 2-3 character nr token starting with one is a person name.
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
    "钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤冷代"
)


@dataclass(frozen=True)
class Token:
    """One claim word: text, jieba POS flag, offsets, kind and weight."""

    word: str
    flag: str
    start: int
    end: int
    kind: str  # "person" | "place" | "org" | "level" | "name" | "content" | "function" | "number"
    weight: float

    @property
    def is_entity(self) -> bool:
        return self.kind in ("person", "place", "org", "level", "name")


@lru_cache(maxsize=1)
def _jieba() -> tuple[Any, Any]:
    """jieba and jieba.posseg, imported and initialised once (it takes ~0.7 s)."""
    with _lock:
        import jieba
        import jieba.posseg

        jieba.setLogLevel(60)
        jieba.initialize()
        return jieba, jieba.posseg


def word_freq(word: str) -> int:
    """Frequency of ``word`` in jieba's dictionary (0 if unknown)."""
    jieba, _ = _jieba()
    return int(jieba.dt.FREQ.get(word, 0) or 0)


def weight_of(word: str) -> float:
    """Informativeness of ``word`` in [0.2, 1.2]: scaled inverse dictionary frequency."""
    jieba, _ = _jieba()
    f = jieba.dt.FREQ.get(word, 0)
    if not f:
        return 1.0
    idf = math.log(jieba.dt.total / f)
    return min(1.2, max(0.2, (idf - 5.0) / 6.0))


def _person_like(word: str) -> bool:
    """A 2-3 character word after a common surname that is a name, not a common word jieba tags nr.

    Rare words count (张志强); a famous 3-character name (史思明, 毛泽东) too, unless it is built
    on a common word (高水平 = 高 + 水平, 黄金周 = 黄金 + 周):

    >>> _person_like("张志强"), _person_like("史思明"), _person_like("高水平"), _person_like("黄金周")
    (True, True, False, False)
    """
    if not (2 <= len(word) <= 3 and word[0] in _SURNAMES and _CJK.match(word)):
        return False
    if word_freq(word) <= 30:
        return True
    return len(word) == 3 and word_freq(word[1:]) < 1000 and word_freq(word[:2]) < 1000


def _kind(word: str, flag: str) -> str:
    if not _HAS_CONTENT.search(word):
        return "function"
    if flag in ("m", "mq", "q") and re.search(r"\d", word):
        return "number"
    if word in LEVEL_WORDS:
        return "level"
    if word in FUNCTION_WORDS or word in LIGHT_WORDS or flag in FUNCTION_POS:
        return "function"
    if flag.startswith("nr") and _person_like(word):
        return "person"
    if flag == "ns" or (len(word) >= 2 and word.endswith(PLACE_SUFFIXES) and flag.startswith("n")):
        return "place"
    if flag == "nt" or (flag.startswith("n") and _org_suffixed(word)):
        return "org"
    if flag == "nz":
        return "name"
    return "content"


_ORG_SUFFIXES_LONGEST_FIRST = tuple(sorted(ORG_SUFFIXES, key=len, reverse=True))


def _org_suffixed(word: str) -> bool:
    """A name ending in an organisation suffix (教育部, 派出所), not a word that merely ends so (干部, 场所).

    >>> _org_suffixed("教育部"), _org_suffixed("营业场所"), _org_suffixed("人民医院")
    (True, False, True)
    """
    for suffix in _ORG_SUFFIXES_LONGEST_FIRST:
        if len(word) >= max(3, len(suffix) + 1) and word.endswith(suffix):
            # a one-character suffix must not close a common word of its own (干部, 场所, 团队)
            return len(suffix) >= 2 or not is_known_word(word[-2:])
    return False


@lru_cache(maxsize=4096)
def tokenize(text: str) -> tuple[Token, ...]:
    """POS-tagged tokens of ``text`` with offsets, kinds and weights."""
    _, posseg = _jieba()
    out: list[Token] = []
    pos = 0
    for w, flag in _join_split_names([(p.word, p.flag) for p in posseg.lcut(text)]):
        start = text.find(w, pos)
        if start < 0:
            start = pos
        end = start + len(w)
        pos = end
        kind = _kind(w, flag)
        weight = 0.0 if kind == "function" else weight_of(w)
        out.append(Token(w, flag, start, end, kind, weight))
    return tuple(out)


def _join_split_names(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Re-join names jieba cut after the surname: 李/nr + 红梅/nr -> 李红梅/nr."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(pairs):
        w, flag = pairs[i]
        if (
            len(w) == 1
            and w in _SURNAMES
            and flag.startswith("nr")
            and i + 1 < len(pairs)
            and 1 <= len(pairs[i + 1][0]) <= 2
            and _CJK.match(pairs[i + 1][0])
            and pairs[i + 1][1][:1] in ("n", "a")
            and pairs[i + 1][0] not in FUNCTION_WORDS
        ):
            out.append((w + pairs[i + 1][0], "nr"))
            i += 2
            continue
        out.append((w, flag))
        i += 1
    return out


def sub_words(word: str) -> list[str]:
    """Dictionary words inside a long token (search-engine mode), without the token itself.

    >>> "全国" in sub_words("全国人民代表大会")
    True
    """
    jieba, _ = _jieba()
    return [w for w in jieba.cut_for_search(word) if w != word and len(w) >= 2]


def is_known_word(word: str) -> bool:
    """Whether jieba's dictionary lists ``word``."""
    return word_freq(word) > 0
