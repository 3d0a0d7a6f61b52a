"""Parse files in a child process that is stopped when one takes too long.

Cooperative deadline checks cannot stop a parser that loops inside a library (pypdf on a
crafted object graph, lxml on a hostile document), so :func:`parse_in_child` hands each
file to a child Python process and lets it spend at most ``Settings.max_file_seconds`` of
CPU time on it (read from ``/proc``; where there is none, or when the child waits instead of
working, wall-clock time counts, with ``WALL_FACTOR`` times the limit as the backstop); past
that the child is killed, the file is refused with a one-line reason and the next file gets
a fresh child. CPU time, because on a shared machine the wall clock measures the
neighbours: a file that takes 70 s alone can take five minutes beside other jobs. The child's address space is capped at
``max_parse_memory_mb``, so a parser that blows up memory fails there, not the machine.

The child is started once and reused for every file (its start -- Python, the ingest
modules, jieba's dictionary and tiktoken's encoding, a couple of seconds -- is paid once
per process, before the first file's clock starts); it exits when its stdin closes, so it
never outlives the process that started it. Requests and answers are JSON lines: nothing
the child sends back is unpickled (a child that parsed a hostile file is not trusted
further than its JSON).

>>> from rag.settings import Settings
>>> Settings().max_file_seconds, Settings(max_file_seconds=0).max_file_seconds  # 0: in-process, no limit
(300.0, 0)
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from rag.ingest.loaders import UnreadableFile
from rag.records import Chunk, Document
from rag.settings import Settings

START_SECONDS = 120.0  # longest wait for a new child to be ready (imports and dictionaries)
WALL_FACTOR = 3.0  # the wall-clock backstop, in multiples of max_file_seconds
_POLL = 0.25  # seconds between two looks at the child's CPU time
_WARM_TEXT = "标题\n\n正文第一句。第二句，2024年。\n"


class _ChildGone(Exception):
    """The child exited or closed its output without answering."""


class _Child:
    """One parse process and the pipes to it."""

    def __init__(self, memory_mb: int):
        self.memory_mb = memory_mb
        root = str(Path(__file__).resolve().parents[2])  # the folder holding this rag package
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rag.ingest.guard", str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self._buf = bytearray()
        try:
            ready = self._read_line(START_SECONDS)
            if json.loads(ready).get("ready") is not True:
                raise _ChildGone(ready[:200].decode("utf-8", "replace"))
        except BaseException:  # a child that did not start is not left behind
            self.stop()
            raise

    def alive(self) -> bool:
        return self.proc.poll() is None

    def cpu_seconds(self) -> float | None:
        """CPU time the child has used so far (user + system), None where /proc has no answer."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(request, ensure_ascii=False).encode("utf-8") + b"\n")
            stdin.flush()
        except (BrokenPipeError, OSError):
            raise _ChildGone("the parse process is gone") from None
        answer: dict[str, Any] = json.loads(self._read_line(timeout, cpu=True))
        return answer

    def _read_line(self, timeout: float, cpu: bool = False) -> bytes:
        """One line from the child; TimeoutError once it has used ``timeout`` seconds of CPU
        (with ``cpu``, where that can be read) or of wall-clock time (else, or ``WALL_FACTOR``
        times that)."""
        import selectors

        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        cpu0 = self.cpu_seconds() if cpu else None
        wall = timeout * (WALL_FACTOR if cpu0 is not None else 1.0)
        deadline = time.monotonic() + wall
        scanned = 0
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while (nl := self._buf.find(b"\n", scanned)) < 0:
                scanned = len(self._buf)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                if not sel.select(min(left, _POLL) if cpu0 is not None else left):
                    if cpu0 is None:
                        raise TimeoutError  # the wall-clock deadline
                    used = self.cpu_seconds()
                    if used is not None and used - cpu0 > timeout:
                        raise TimeoutError  # the CPU-time limit
                    continue
                block = os.read(fd, 1 << 20)
                if not block:
                    raise _ChildGone(f"the parse process exited (code {self.proc.wait()})")
                self._buf += block
        line = bytes(self._buf[:nl])
        del self._buf[: nl + 1]
        return line

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


_pool_lock = threading.Lock()
_idle: list[_Child] = []  # children waiting for a file; one is taken per file in flight
MAX_IDLE = 8  # children kept between ingests (each a few tens of MB)


def _take(memory_mb: int) -> _Child:
    with _pool_lock:
        while _idle:
            child = _idle.pop()
            if child.alive() and child.memory_mb == memory_mb:
                return child
            child.stop()
    return _Child(memory_mb)


def _give_back(child: _Child) -> None:
    with _pool_lock:
        if child.alive() and len(_idle) < MAX_IDLE:
            _idle.append(child)
            return
    child.stop()


def _stop_all() -> None:
    with _pool_lock:
        children = list(_idle)
        _idle.clear()
    for child in children:
        child.stop()


atexit.register(_stop_all)


def parse_in_child(path: Path, settings: Settings, source: str) -> Any:
    """:func:`rag.ingest.pipeline.parse_file_here` run in a child; raises
    :class:`UnreadableFile` for a file it refuses, one that takes longer than
    ``max_file_seconds`` (the child is then killed) or one that kills the child.

    Children are pooled: each call takes an idle one (or starts one) and gives it back,
    so several threads parse files in parallel and later ingests reuse the children."""
    request = {"path": str(path), "source": source, "settings": dataclasses.asdict(settings)}
    try:
        child = _take(settings.max_parse_memory_mb)
    except (_ChildGone, TimeoutError, OSError, ValueError) as e:
        raise UnreadableFile(path, f"the parser process could not start ({e or type(e).__name__})") from None
    try:
        answer = child.ask(request, settings.max_file_seconds)
    except TimeoutError:
        child.stop()
        raise UnreadableFile(
            path, f"parsing took longer than {settings.max_file_seconds:g} s (max_file_seconds); stopped"
        ) from None
    except (_ChildGone, ValueError) as e:
        child.stop()
        raise UnreadableFile(path, f"the parser process failed on this file ({e})") from None
    if answer.get("restart"):
        child.stop()
    else:
        _give_back(child)
    if "error" in answer:
        raise UnreadableFile(path, str(answer["error"]))
    return _parsed_from_json(answer["ok"])


def _parsed_to_json(pf: Any) -> dict[str, Any]:
    return {
        "source": pf.source,
        "path": pf.path,
        "checksum": pf.checksum,
        "text": pf.text,
        "documents": [d.to_dict() for d in pf.documents],
        "chunks": [c.to_dict() for c in pf.chunks],
        "warnings": list(pf.warnings),
    }


def _parsed_from_json(d: dict[str, Any]) -> Any:
    from rag.ingest.pipeline import ParsedFile

    return ParsedFile(
        source=str(d["source"]),
        path=str(d["path"]),
        checksum=str(d["checksum"]),
        text=str(d["text"]),
        documents=tuple(Document.from_dict(x) for x in d["documents"]),
        chunks=tuple(Chunk.from_dict(x) for x in d["chunks"]),
        warnings=tuple(str(w) for w in d.get("warnings", ())),
    )


# ------------------------------------------------------------------------- the child


def _limit_memory(mb: int) -> None:
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    want = mb << 20
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    resource.setrlimit(resource.RLIMIT_AS, (want, hard))


def _answer(request: dict[str, Any], memory_mb: int) -> dict[str, Any]:
    from rag.ingest.pipeline import parse_file_here

    path = Path(request["path"])
    try:
        return {"ok": _parsed_to_json(parse_file_here(path, Settings(**request["settings"]), request["source"]))}
    except UnreadableFile as e:
        return {"error": e.reason}
    except MemoryError:
        return {"error": f"parsing needed more than {memory_mb} MB of memory (max_parse_memory_mb)", "restart": True}
    except RecursionError:
        return {"error": "structure nested too deeply to parse", "restart": True}
    except Exception as e:  # a parser bug on a strange file: refuse the file, keep the batch going
        message = " ".join(str(e).split())[:160]
        return {"error": f"the parser failed on this file ({type(e).__name__}: {message})", "restart": True}


def _serve(memory_mb: int) -> None:
    """The child's loop: one JSON request a line on stdin, one JSON answer a line on stdout."""
    out: IO[bytes] = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the answers
    import docx  # noqa: F401  (the parsers are imported before the memory limit applies)
    import pypdf  # noqa: F401

    from rag.ingest.pipeline import parse_text

    parse_text(_WARM_TEXT, "warm.txt")  # jieba's dictionary, the taggers, tiktoken's encoding
    _limit_memory(memory_mb)
    out.write(b'{"ready": true}\n')
    out.flush()
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        answer = _answer(json.loads(line), memory_mb)
        out.write(json.dumps(answer, ensure_ascii=False).encode("utf-8") + b"\n")
        out.flush()


if __name__ == "__main__":
    _serve(int(sys.argv[1]) if len(sys.argv) > 1 else Settings().max_parse_memory_mb)
