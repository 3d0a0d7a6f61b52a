"""Chinese tokens for BM25: jieba search-mode words, figures kept whole, corpus terms.

jieba alone splits what users look up on this corpus: ``2.59万`` becomes ``2``, ``.``,
``59``, ``万``; programme names in quotes (``“春送岗位”``) and places missing from its
dictionary (``观山湖区``) fall apart. So:

- figures are matched first by a regex and emitted both bare (``2.59``) and with their
  unit (``2.59万``);
- a user dictionary drawn from the corpus (quoted terms, place names) is added to a
  private jieba tokenizer, so the global jieba state is left alone;
- search-mode segmentation also emits the sub-words of long words (``互助金`` in
  ``医疗互助金``);
- question words and function words are dropped.

>>> t = Tokenizer()
>>> "2.59万" in t.tokens("服务劳动者2.59万人次")
True
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Any

_FIGURE = re.compile(r"\d+(?:[.,]\d+)*(?:%|‰)?(?:[万亿千百]+)?")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+|[a-z]+[a-z0-9]*")
_QUOTED = re.compile(r"[“《「『\"]([^”》」』\"]{2,12})[”》」』\"]")
_PLACE = re.compile(r"[\u4e00-\u9fff]{2,4}?(?:省|自治区|市|自治州|州|县|区|新区)")
_NOT_PLACE_START = tuple("全我本各该城省市区县地社园小街景乡镇村州其两三四五多此每某原在和与年")

STOPWORDS = frozenset(
    [
        "的",
        "了",
        "和",
        "与",
        "及",
        "以及",
        "是",
        "在",
        "有",
        "为",
        "对",
        "把",
        "被",
        "将",
        "等",
        "也",
        "都",
        "就",
        "而",
        "并",
        "或",
        "之",
        "其",
        "中",
        "上",
        "下",
        "个",
        "这",
        "那",
        "此",
        "该",
        "各",
        "每",
        "从",
        "到",
        "向",
        "于",
        "给",
        "让",
        "由",
        "多少",
        "哪些",
        "什么",
        "哪个",
        "哪位",
        "哪家",
        "哪里",
        "哪",
        "几",
        "几个",
        "几名",
        "几人",
        "谁",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "怎么",
        "怎样",
        "如何",
        "是否",
        "分别",
        "一共",
        "共",
        "总共",
        "请问",
        "请",
        "一下",
        "一些",
        "有没有",
        "是不是",
        "情况",
        "相关",
        "方面",
        "进行",
        "开展",
        "通过",
        "主要",
        "具体",
        "呢",
        "么",
    ]
)


def normalize(text: str) -> str:
    """NFKC and lower case: full-width digits and letters become ASCII."""
    return unicodedata.normalize("NFKC", text).lower()


def _looks_like_name(name: str) -> bool:
    """Not a phrase around a suffix: "召开全市" opens with a verb, "为全市" with a preposition,
    "华联超市" ends in a common word (超市) rather than a suffix.

    >>> [_looks_like_name(n) for n in ("砺山市", "北京市", "召开全市", "为全市", "华联超市")]
    [True, True, False, False, False]
    """
    from rag import zh

    words = zh.pos_words(name)
    if len(words) < 2:
        return True
    first, flag, _ = words[0]
    if flag[:1] in (("v", "p", "c", "d", "r", "u", "m", "q", "f") if len(first) > 1 else ("p", "c", "d", "r", "u")):
        return False
    freq = _base_dictionary()[0]
    last = words[-1][0]
    return not (len(last) >= 2 and freq.get(last, 0) >= 500)


_SUFFIX = re.compile(r"(?:自治区|自治州|新区|省|市|州|县|区|镇|乡)")


def corpus_terms(texts: Iterable[str], min_count: int = 2) -> list[str]:
    """Words worth adding to jieba's dictionary, found in the corpus itself: quoted names
    (“…”, 《…》) and names before an administrative suffix (青禾市, 临江区).

    Every two- to four-character stem before a suffix is counted; a longer candidate
    survives only when it is nearly as frequent as the shorter one inside it ("位于砺山市"
    is rarer than "砺山市", so "砺山市" is kept; "青禾市" is as frequent as "禾市", so the
    longer wins), and a name must occur ``min_count`` times.

    >>> corpus_terms(["位于砺山市。砺山市的人口。来到砺山市", "《天镜峰志》"], min_count=1)
    ['天镜峰志', '砺山市']
    """
    counts: Counter[str] = Counter()
    places: Counter[str] = Counter()
    for text in texts:
        t = normalize(text)
        for m in _QUOTED.finditer(t):
            term = m.group(1).strip()
            if 2 <= len(term) <= 10 and not re.search(r"[\s，。,、：:；;！？]", term):
                counts[term] += 1
        for m in _SUFFIX.finditer(t):
            a = m.start()
            for n in (2, 3, 4):
                stem = t[max(0, a - n) : a]
                if len(stem) == n and all("\u4e00" <= c <= "\u9fff" for c in stem):
                    places[stem + m.group(0)] += 1
    kept: dict[str, int] = {}
    for name, c in places.items():
        if c < min_count or name.startswith(_NOT_PLACE_START):
            continue
        shorter = [places[name[k:]] for k in range(1, len(name) - 1) if name[k:] in places and len(name) - k >= 3]
        if shorter and c < 0.7 * max(shorter):
            continue  # "位于砺山市": a phrase around a shorter name
        kept[name] = c
    for name in list(kept):
        if not _looks_like_name(name):
            del kept[name]
    for name in list(kept):
        # the shorter inside a longer kept name that is as frequent: "禾市" inside "青禾市"
        if any(other != name and other.endswith(name) and kept[other] >= 0.7 * kept[name] for other in kept):
            del kept[name]
    counts.update({n: max(c, min_count) for n, c in kept.items()})
    return sorted(w for w, c in counts.items() if c >= min_count)


@functools.lru_cache(maxsize=1)
def _base_dictionary() -> tuple[dict[str, int], int]:
    """jieba's own dictionary, loaded once per process (each index's tokenizer copies it)."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    tk.initialize()
    return tk.FREQ, tk.total


class Tokenizer:
    """jieba (search mode) + whole figures + an optional corpus user dictionary."""

    def __init__(
        self, user_words: Iterable[str] = (), *, bigrams: bool = False, search_mode: bool = True, backend: str = ""
    ):
        from rag.zh import default_backend

        self.user_words = sorted(set(user_words))
        self.bigrams = bigrams
        self.search_mode = search_mode
        # which jieba cuts the words: "rjieba" (Rust, ~30x faster) when installed, else "jieba";
        # an index records it, so its queries are cut as its documents were
        self.backend = backend or default_backend()
        self._jieba: Any = None
        self._segmenter: Any = None
        self._lock = threading.Lock()

    def segmenter(self) -> Any:
        """This index's :class:`rag.zh.Segmenter` (the backend's dictionary plus the corpus words)."""
        if self._segmenter is None:
            with self._lock:
                if self._segmenter is None:
                    from rag.zh import Segmenter

                    self._segmenter = Segmenter(self.user_words, self.backend)
        return self._segmenter

    def _tk(self) -> Any:
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    import jieba

                    freq, total = _base_dictionary()
                    tk = jieba.Tokenizer()  # a copy of the loaded dictionary: 15 ms, not 0.7 s per index
                    tk.FREQ, tk.total, tk.initialized = dict(freq), total, True
                    for w in self.user_words:
                        tk.add_word(w, freq=max(tk.suggest_freq(w), 5))
                    self._jieba = tk
        return self._jieba

    def jieba(self) -> Any:
        """This index's ``jieba.Tokenizer`` (jieba's dictionary plus the corpus words)."""
        return self._tk()

    def tokens(self, text: str) -> list[str]:
        """Tokens of ``text`` for BM25 (documents and queries alike)."""
        t = normalize(text)
        out: list[str] = []
        for m in _FIGURE.finditer(t):
            fig = m.group(0).replace(",", "")
            out.append(fig)
            bare = re.sub(r"[万亿千百%‰]+$", "", fig)
            if bare != fig:
                out.append(bare)
        seg = self.segmenter()
        cut = seg.cut_for_search if self.search_mode else seg.cut
        for run in _CJK_RUN.findall(_FIGURE.sub(" ", t)):
            words = cut(run)
            for w in words:
                if w not in STOPWORDS and w.strip():
                    out.append(w)
            if self.bigrams and len(run) >= 2 and not run.isascii():
                out.extend(run[i : i + 2] for i in range(len(run) - 1))
        return out
