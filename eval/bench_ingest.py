"""Ingest time against input size: it should grow linearly. Prints a table.

    python eval/bench_ingest.py

Inputs are synthetic worst cases for the line-repair step (thousands of short lines that
all continue each other, as a table-heavy PDF gives) and the seeds repeated.
"""

from __future__ import annotations

import time
from pathlib import Path

from rag.ingest.pipeline import parse_text

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    seed = (ROOT / "seeds" / "002_5b471ee912e3ac09.txt").read_text(encoding="utf-8")
    print("| input | characters | seconds | µs per character |")
    print("|---|---|---|---|")
    cases = [(f"{n} short broken lines", "铜仁市总工会开展各类活动服务职工，\n" * n) for n in (1000, 2000, 4000, 8000)]
    cases += [(f"002 compilation x{n}", seed * n) for n in (1, 2, 4)]
    for name, text in cases:
        t0 = time.perf_counter()
        parse_text(text, "bench.txt")
        dt = time.perf_counter() - t0
        print(f"| {name} | {len(text):,} | {dt:.2f} | {dt / len(text) * 1e6:.1f} |", flush=True)


if __name__ == "__main__":
    main()
