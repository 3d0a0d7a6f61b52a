"""Bulk work split over processes: tokenising and embedding thousands of chunks.

jieba and the corpus embedder's featurizer are Python loops that hold the GIL, so
threads do not help; forked processes do. The work and its inputs are set up in the
parent and inherited by the children at fork (nothing is pickled to send them), and
each child returns its slice's results. Small jobs (fewer than ``min_items``) and
machines with one core run in-process, as does any platform without ``fork``.

>>> map_slices(lambda lo, hi: list(range(lo, hi)), 5, workers=2, min_items=100)
[0, 1, 2, 3, 4]
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable
from typing import Any

_JOB: Callable[[int, int], list[Any]] | None = None


def _run(bounds: tuple[int, int]) -> list[Any]:
    assert _JOB is not None
    return _JOB(*bounds)


def workers_for(setting: int) -> int:
    """The number of processes for ``Settings.ingest_workers`` (0: one per core)."""
    return setting if setting > 0 else (os.cpu_count() or 1)


def map_slices(
    job: Callable[[int, int], list[Any]],
    n: int,
    *,
    workers: int,
    min_items: int = 2_000,
    slices_per_worker: int = 8,
    progress: Callable[[int, int], None] | None = None,
) -> list[Any]:
    """``job(lo, hi)`` over ``range(n)`` cut into slices, results concatenated in order;
    ``progress(done, n)`` after each slice."""
    global _JOB
    say = progress or (lambda done, total: None)
    if workers <= 1 or n < min_items or "fork" not in mp.get_all_start_methods():
        step = max(1, min(n, 4096))
        out: list[Any] = []
        for lo in range(0, n, step):
            out += job(lo, min(n, lo + step))
            say(min(n, lo + step), n)
        return out
    step = max(1, -(-n // (workers * slices_per_worker)))
    bounds = [(lo, min(n, lo + step)) for lo in range(0, n, step)]
    _JOB = job
    parts: list[list[Any]] = []
    try:
        with mp.get_context("fork").Pool(workers) as pool:
            for (_, hi), part in zip(bounds, pool.imap(_run, bounds, chunksize=1), strict=True):
                parts.append(part)
                say(hi, n)
    finally:
        _JOB = None
    return [x for part in parts for x in part]
