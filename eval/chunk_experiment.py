"""Which chunk budget retrieves best? Builds one index per budget and prints a table.

    python eval/chunk_experiment.py [--budgets 200 300 400 500] [--dataset eval/datasets/dev_qa.jsonl]

Each budget gets a full default index (BM25 + corpus-trained embedder) in a temporary folder;
the hybrid retriever is scored with recall@5, recall within 2,000 characters and MRR.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from rag.assistant import Assistant
from rag.build import build_index
from rag.evaluation.retrieval import evaluate_retrieval
from rag.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budgets", type=int, nargs="+", default=[200, 300, 400, 500])
    ap.add_argument("--dataset", action="append", default=None)
    args = ap.parse_args()
    datasets = args.dataset or [
        str(ROOT / "eval" / "datasets" / "dev_qa.jsonl"),
        str(ROOT / "eval" / "datasets" / "probe_paraphrase.jsonl"),
    ]
    sets = {
        Path(d).stem: [json.loads(x) for x in Path(d).read_text(encoding="utf-8").splitlines() if x.strip()]
        for d in datasets
    }
    print("| chunk tokens | chunks | " + " | ".join(f"{n} recall@5 / MRR / recall@2000ch" for n in sets) + " |")
    print("|---|---|" + "---|" * len(sets))
    for budget in args.budgets:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(chunk_tokens=budget, chunk_overlap_tokens=min(40, budget // 5))
            report = build_index([ROOT / "seeds"], tmp, settings)
            a = Assistant.load(tmp)
            cells = []
            for rows in sets.values():
                r = evaluate_retrieval(rows, lambda q, a=a: a.retrieve(q, k=15))["overall"]
                cells.append(f"{r['recall@5']:.3f} / {r['mrr']:.3f} / {r['recall_2000']:.3f}")
            print(f"| {budget} | {report.chunks} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
