"""A process for ``tests/test_crash.py`` to kill (an upload through the UI's service, or an
ingest that kills itself with SIGKILL at one chosen step of publishing a version), and the
parent's side: the children's environment, reaping a killed child's process group, the
lock check and where a kill landed.

    python tests/crash_child.py upload INDEX FILE NAME
    python tests/crash_child.py die-at POINT INDEX FILE

Each stage of the build is printed on stdout as ``stage <name>`` (flushed), so the test
can tell where its kill landed. ``die-at`` points, in the order an ingest reaches them:

- ``write_records``: while the new version is half written (its ``tmp-*`` folder is left);
- ``rename``: just after ``tmp-*`` became ``v-*``, before ``CURRENT`` names it;
- ``pointer``: after the new pointer file is written and synced, before ``os.replace``;
- ``replace``: just after ``CURRENT`` was replaced, before older versions are deleted;
- ``rmtree``: while an older version is being deleted (one of its files already gone).

Nothing happens on import (pytest imports this module for its doctests).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

POINTS = ("write_records", "rename", "pointer", "replace", "rmtree")


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _stage(stage: str, done: int, total: int) -> None:
    print(f"stage {stage} {done}/{total}", flush=True)


def _arm(point: str) -> None:
    """Make this process SIGKILL itself when the ingest reaches ``point``."""
    import pathlib
    import shutil

    import rag.build

    if point == "write_records":
        real_write = rag.build.write_records

        def write_then_die(folder: Path, *args: Any) -> None:
            real_write(folder, *args)
            _die()

        rag.build.write_records = write_then_die  # type: ignore[assignment]
    elif point == "rename":
        real_rename = pathlib.Path.rename

        def rename_then_die(self: Path, target: Any) -> Any:
            out = real_rename(self, target)
            if self.name.startswith("tmp-"):
                _die()
            return out

        pathlib.Path.rename = rename_then_die  # type: ignore[method-assign]
    elif point in ("pointer", "replace"):
        real_replace = os.replace

        def replace_and_die(src: Any, dst: Any, *args: Any, **kw: Any) -> None:
            if Path(src).name.startswith(".CURRENT.") and point == "pointer":
                _die()
            real_replace(src, dst, *args, **kw)
            if Path(dst).name == "CURRENT":
                _die()

        os.replace = replace_and_die
    elif point == "rmtree":
        real_rmtree = shutil.rmtree

        def rmtree_partly(path: Any, *args: Any, **kw: Any) -> None:
            p = Path(path)
            if p.name.startswith("v-"):
                (p / "manifest.json").unlink(missing_ok=True)
                _die()
            real_rmtree(path, *args, **kw)

        shutil.rmtree = rmtree_partly  # type: ignore[assignment]
    else:
        raise SystemExit(f"crash_child: unknown die-at point {point!r}; one of {', '.join(POINTS)}")


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "upload":
        from rag.settings import Settings
        from ui.service import Service

        index, file, name = argv[1:]
        results = Service(index, Settings.from_env()).upload([(file, name)], progress=_stage)
        print("results " + " ".join(f"{r.name}={r.status}" for r in results), flush=True)
        return 0 if all(r.status != "refused" for r in results) else 1
    if len(argv) == 4 and argv[0] == "die-at":
        from rag.build import build_index
        from rag.settings import Settings

        point, index, file = argv[1:]
        _arm(point)
        build_index([file], index, Settings.from_env(), progress=_stage)
        print(f"crash_child: the ingest finished without reaching {point!r}", flush=True)
        return 3
    print(__doc__, file=sys.stderr)
    return 2


# ------------------------------------------------------------------------- for the parent
# a stage as the CLI's progress bars (tqdm, stderr) and this module's children (stdout) report it
STAGES = re.compile(r"([A-Za-z][A-Za-z0-9 ]*[a-z]): +\d+%\||^stage (.+?) \d+/\d+$", re.M)


def env() -> dict[str, str]:
    """The environment for a child: this one without ``RAG_*`` (the children run with the defaults)."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    out["PYTHONUNBUFFERED"] = "1"  # progress reaches the log before a kill, not with the next newline
    return out


def last_stage(text: str) -> str:
    """The last build stage a child's output names ("start-up" if none).

    >>> last_stage("reading files:   0%|  | 0/1\\rBM25 index: 100%|##| 1/1\\rreading files:   0%|\\n")
    'BM25 index'
    >>> last_stage("stage training embedder 0/1\\nstage embedding 3/4\\n"), last_stage("")
    ('embedding', 'start-up')
    """
    found = dict.fromkeys(bar or line for bar, line in STAGES.findall(text))  # tqdm redraws open bars at exit
    return list(found)[-1] if found else "start-up"


def stage_at_kill(log: Path) -> str:
    """The last stage the child logged into ``log.err`` / ``log.out`` before it died."""
    return last_stage(
        Path(f"{log}.err").read_text(encoding="utf-8", errors="replace")
        + Path(f"{log}.out").read_text(encoding="utf-8", errors="replace")
    )


def reap(proc: subprocess.Popen, grace: float = 15.0) -> float | None:
    """Wait for ``proc`` and then for the rest of its process group (the parse child of
    ``rag.ingest.guard`` exits when its parent's pipe closes): the seconds the group
    outlived ``proc``, or None when some process was still there after ``grace`` (then killed)."""
    proc.wait(timeout=300)
    t0 = time.monotonic()
    while time.monotonic() - t0 < grace:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return time.monotonic() - t0
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    return None


def lock_is_free(index: Path) -> bool:
    """True when a writer could take the index's lock now (a dead writer holds none)."""
    import fcntl

    with open(index / ".lock", "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fh, fcntl.LOCK_UN)
        return True


def live(index: Path) -> str:
    """The version folder ``CURRENT`` names."""
    return (index / "CURRENT").read_text(encoding="utf-8").strip()


def versions(index: Path) -> list[str]:
    """The version folders of ``index``, live or not."""
    return sorted(p.name for p in index.glob("v-*"))


def leftovers(index: Path, template: Path) -> list[str]:
    """What a writer left that ``template`` (the index it started from) had not: build
    folders, versions ``CURRENT`` does not name, pointer files, uploaded copies the live
    version does not index (the service copies a file into ``uploads/`` before indexing it)."""
    import json

    had, now = {p.name for p in template.iterdir()}, live(index)
    indexed = json.loads((index / now / "manifest.json").read_text(encoding="utf-8")).get("files", {})
    left = [
        p.name
        for p in index.iterdir()
        if p.name not in had and p.name != now and p.name.startswith(("tmp-", ".CURRENT.", "v-"))
    ]
    uploads = index / "uploads"
    copies = [f"uploads/{p.name}" for p in uploads.iterdir() if p.name not in indexed] if uploads.is_dir() else []
    return sorted(left + copies)


def waiting_for_flock(pid: int) -> bool:
    """True when ``pid`` waits for an flock (``/proc/locks`` marks waiters with ``->``)."""
    return any("->" in line and f" {pid} " in line for line in Path("/proc/locks").read_text().splitlines())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
