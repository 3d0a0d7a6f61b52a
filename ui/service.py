"""What the chat UI and the HTTP API share: the live index, answers, uploads, feedback.

>>> svc = Service("index")                                   # doctest: +SKIP
>>> svc.ask("2025年铜仁市发放了多少职工医疗互助金？").text      # doctest: +SKIP

One ``Service`` per server. It follows the index folder: when ``CURRENT`` names a new
version (an upload here, or ``rag ingest`` in another process) the next request loads
it, and requests already running finish on the version they started with. Writes
(upload, delete) go through :func:`rag.build.build_index`, which holds the index's lock
and publishes atomically, so readers never see half an update.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import shutil
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.assistant import Assistant
from rag.records import Answer, Document, Passage
from rag.settings import Settings
from rag.store import IndexFormatError

log = logging.getLogger(__name__)

UPLOAD_SUFFIXES = (".txt", ".md", ".pdf", ".docx")
UPLOAD_DIR = "uploads"  # under the index folder
FEEDBACK_FILE = "feedback.jsonl"  # under the index folder; an eval dataset (rag eval run takes it)
_MAX_NAME = 120


class NoIndex(RuntimeError):
    """The index folder holds no documents yet."""


@dataclass(frozen=True)
class UploadResult:
    """One uploaded file: ``status`` is "added", "updated", "unchanged" or "refused"."""

    name: str
    status: str
    reason: str = ""


@dataclass
class Turn:
    """One question and its answer in one browser session's conversation."""

    question: str
    answer: Answer
    mode: str = "offline"
    at: float = field(default_factory=time.time)


def safe_filename(name: str) -> str:
    """A file name that cannot leave the upload folder: the last path part, no control
    characters, no leading dots, at most 120 characters (the suffix kept).

    >>> safe_filename("../../etc/passwd.txt")
    'passwd.txt'
    >>> safe_filename("a\\x00b\\nc.md")
    'abc.md'
    >>> safe_filename("..")
    ''
    """
    base = re.split(r"[/\\\\]", str(name))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = base.strip().lstrip(".").strip()
    if len(base) > _MAX_NAME:
        stem, dot, suffix = base.rpartition(".")
        base = (stem[: _MAX_NAME - len(suffix) - 1] + "." + suffix) if dot and len(suffix) <= 10 else base[:_MAX_NAME]
    return base


class Service:
    """The live assistant of one index folder, plus the writes the UI offers."""

    def __init__(self, index_dir: str | Path, settings: Settings | None = None):
        self.root = Path(index_dir)
        self.settings = settings or Settings.from_env()
        self._lock = threading.Lock()
        self._version = ""
        self._assistant: Assistant | None = None
        self._variants: dict[tuple[int, str], Assistant] = {}
        self._examples: list[str] | None = None

    # ------------------------------------------------------------------ the live index
    def _pointer(self) -> str:
        try:
            return (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def assistant(self) -> Assistant:
        """The assistant of the live version, loaded again when the version changed."""
        version = self._pointer()
        current = self._assistant
        if current is not None and version == self._version:
            return current
        with self._lock:
            if self._assistant is None or self._pointer() != self._version:
                if not self._pointer():
                    raise NoIndex(f"{self.root} holds no documents yet: upload some in 「文档管理」")
                a = Assistant.load(self.root, self.settings)
                # the version it loaded, not CURRENT read again (an ingest may have published since)
                loaded = a.data.folder.name if a.data.folder is not None else self._pointer()
                self._assistant, self._version, self._variants = a, loaded, {}
                self._examples = None
            return self._assistant

    def has_index(self) -> bool:
        return bool(self._pointer())

    def variant(self, k: int | None = None, mode: str = "auto") -> Assistant:
        """The live assistant with another passage count or answer mode: "offline", "llm", or
        "auto" (the LLM when one is configured, else offline)."""
        base = self.assistant()
        k = k or self.settings.top_k
        if mode not in ("auto", "offline", "llm"):
            raise ValueError(f"answer mode must be 'auto', 'offline' or 'llm', got {mode!r}")
        if mode == "auto":
            mode = "llm" if self.settings.llm else "offline"
        llm = self.settings.llm if mode == "llm" else ""
        if k == base.settings.top_k and llm == base.settings.llm:
            return base
        key = (k, mode)
        with self._lock:
            if key not in self._variants:
                s = self.settings.replace(
                    top_k=k, candidates=max(k, self.settings.candidates), embedding_model=base.settings.embedding_model
                )
                s = s.replace(llm=llm)
                self._variants[key] = Assistant(base.data, s)
            return self._variants[key]

    @property
    def llm_available(self) -> bool:
        return bool(self.settings.llm)

    # ------------------------------------------------------------------ answers
    def stream(
        self,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        *,
        k: int | None = None,
        mode: str = "auto",
        sources: Sequence[str] | None = None,
    ) -> Iterator[str | Answer]:
        """Text pieces, then the final :class:`Answer` (see ``Assistant.stream``)."""
        a = self.variant(k, mode)
        yield from a.stream(question, history, sources=list(sources) if sources else None)

    def ask(
        self,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        *,
        k: int | None = None,
        mode: str = "auto",
        sources: Sequence[str] | None = None,
    ) -> Answer:
        a = self.variant(k, mode)
        return a.ask(question, history, sources=list(sources) if sources else None)

    # ------------------------------------------------------------------ documents
    def documents(self) -> list[Document]:
        if not self.has_index():
            return []
        return self.assistant().documents()

    def sources(self) -> list[str]:
        """Indexed file names, sorted."""
        if not self.has_index():
            return []
        return sorted(self.assistant().data.files)

    def added_at(self) -> dict[str, str]:
        """When each file was added, from the upload folder's file times ("" for others)."""
        out: dict[str, str] = {}
        for src in self.sources():
            p = self.root / UPLOAD_DIR / src
            out[src] = time.strftime("%Y-%m-%d %H:%M", time.localtime(p.stat().st_mtime)) if p.is_file() else ""
        return out

    def passage(self, passage_id: str) -> tuple[Passage, Document | None, str] | None:
        """A passage by id, its document and the decoded text of its file."""
        a = self.assistant()
        c = a.data.chunk_by_id(passage_id)  # one indexed lookup, not a scan of every chunk
        if c is None:
            return None
        return Passage.from_chunk(c, 0.0), a.data.document(c.doc_id), a.source_text(c.source)

    def upload(
        self, files: Sequence[tuple[str | Path, str]], progress: Callable[[str, int, int], None] | None = None
    ) -> list[UploadResult]:
        """Add uploaded files ``(path on disk, name the user gave it)`` to the index.

        Every file is checked here (type, size, count, name) whatever the browser
        checked; accepted ones are copied into ``index/uploads/`` under a safe name and
        ingested in one incremental update.
        """
        from rag.build import build_index

        s = self.settings
        results: list[UploadResult] = []
        accepted: list[tuple[Path, str]] = []
        for i, (path, name) in enumerate(files):
            clean = safe_filename(name or Path(path).name)
            shown = clean or str(name)[:80]
            if i >= s.max_upload_files:
                results.append(UploadResult(shown, "refused", f"more than {s.max_upload_files} files in one upload"))
                continue
            reason = self._check_upload(Path(path), clean)
            if reason:
                results.append(UploadResult(shown, "refused", reason))
                continue
            accepted.append((Path(path), clean))
        if not accepted:
            return results
        folder = self.root / UPLOAD_DIR
        folder.mkdir(parents=True, exist_ok=True)
        # The previous copy of a same-named file is set aside until the new one is indexed:
        # a refused update leaves both the index and the folder as they were.
        finals: list[Path] = []
        for path, clean in accepted:
            final = folder / clean
            if final.resolve().parent != folder.resolve():  # belt and braces: never outside
                results.append(UploadResult(clean, "refused", "file name not allowed"))
                continue
            if final.exists():
                final.replace(folder / f".previous-{clean}")
            shutil.copyfile(path, final)
            finals.append(final)
        try:
            report = build_index(finals, self.root, s, progress=progress)
        except BaseException:
            for final in finals:
                self._restore(final)
            raise
        refused = dict(report.skipped)
        for final in finals:
            name = final.name
            if name in refused:
                self._restore(final)
                results.append(UploadResult(name, "refused", refused[name]))
                continue
            final.with_name(f".previous-{name}").unlink(missing_ok=True)
            status = "added" if name in report.added else "updated" if name in report.updated else "unchanged"
            results.append(UploadResult(name, status))
        self.assistant()  # load the new version now, not on the next question
        order = {safe_filename(name or Path(path).name): i for i, (path, name) in enumerate(files)}
        return sorted(results, key=lambda r: order.get(r.name, len(order)))

    @staticmethod
    def _restore(final: Path) -> None:
        final.unlink(missing_ok=True)
        previous = final.with_name(f".previous-{final.name}")
        if previous.exists():
            previous.replace(final)

    def _check_upload(self, path: Path, clean: str) -> str:
        if not clean:
            return "file name not allowed"
        if Path(clean).suffix.lower() not in UPLOAD_SUFFIXES:
            return f"unsupported file type {Path(clean).suffix or '(none)'!r}; allowed: {' '.join(UPLOAD_SUFFIXES)}"
        try:
            size = path.stat().st_size
        except OSError as e:
            return f"cannot read the uploaded file ({e.strerror or e})"
        if size > self.settings.max_upload_mb * 1024 * 1024:
            return f"file is {size / 1048576:.1f} MB; the limit is {self.settings.max_upload_mb} MB"
        if size == 0:
            return "empty file"
        return ""

    def delete(self, sources: Sequence[str]) -> list[str]:
        """Remove documents by file name from every index; returns the names removed."""
        from rag.build import build_index

        indexed = set(self.sources())
        names = [s for s in dict.fromkeys(sources) if s in indexed]
        if not names:
            return []
        if len(names) == len(indexed):
            raise ValueError("that would leave the index empty; keep at least one document")
        report = build_index([], self.root, self.settings, remove=names)
        for name in report.removed:
            p = self.root / UPLOAD_DIR / safe_filename(name)
            if safe_filename(name) == name and p.is_file():
                p.unlink()
        self.assistant()
        return list(report.removed)

    # ------------------------------------------------------------------ feedback
    def record_feedback(self, turn: Turn, liked: bool, comment: str = "") -> dict[str, Any]:
        """Append a like / dislike to ``index/feedback.jsonl`` as an eval dataset row.

        A liked answer becomes the reference (``answer``, ``evidence`` = its quotes); a
        disliked one keeps the system's answer apart (``system_answer``) and no reference.
        """
        ans = turn.answer
        quotes = [c.quote for c in ans.citations if c.quote]
        row: dict[str, Any] = {
            "id": f"fb-{int(turn.at * 1000)}-{secrets.token_hex(3)}",  # unique even when one answer is rated twice
            "question": ans.resolved_question or turn.question,
            "asked": turn.question,
            "feedback": "like" if liked else "dislike",
            "comment": comment.strip(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "mode": turn.mode,
            "refused": ans.refused,
            "system_answer": ans.text,
            "citations": [
                {"n": c.n, "quote": c.quote, "source": c.passage.source, "title": c.passage.title, "id": c.passage.id}
                for c in ans.citations
            ],
            "source_file": ans.citations[0].passage.source if ans.citations else "",
        }
        if liked:
            row["answer"] = ans.text
            if quotes:
                row["evidence"] = quotes
            if ans.refused:
                row.update(type="unanswerable", must_contain=[], evidence=[])
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / FEEDBACK_FILE, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return row

    # ------------------------------------------------------------------ examples
    def examples(self, n: int = 4) -> list[str]:
        """Questions made from the indexed text that this index answers (see ``ui.examples``),
        checked offline: starting the page costs no LLM call and never waits on a slow model."""
        if not self.has_index():
            return []
        from ui.examples import example_questions

        self.assistant()  # the live version first: a new one clears the cached examples
        a = self.variant(mode="offline")
        if self._examples is None:
            try:
                self._examples = example_questions(a, n)
            except (ValueError, IndexFormatError) as e:  # never stop the page for examples
                log.warning("no example questions: %s", e)
                self._examples = []
        return list(self._examples)
