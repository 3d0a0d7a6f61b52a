"""Which BM25 tokenization works best on this corpus? Prints recall@5 and MRR per variant.

    python eval/tokenizer_experiment.py --index index

Variants: jieba precise mode vs search mode, with or without the corpus user dictionary
(quoted names and place names), with or without character bigrams. Every variant indexes
the same chunks (those of the given index) and is scored on the dev questions.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag.assistant import Assistant
from rag.evaluation.retrieval import evaluate_retrieval
from rag.records import Passage
from rag.retrieval.lexical import BM25Index
from rag.retrieval.tokenize import Tokenizer, corpus_terms

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", default=str(ROOT / "index"))
    ap.add_argument("--dataset", default=str(ROOT / "eval" / "datasets" / "dev_qa.jsonl"))
    args = ap.parse_args()
    a = Assistant.load(args.index)
    chunks = a.data.chunks
    texts = [c.index_text for c in chunks]
    rows = [json.loads(x) for x in Path(args.dataset).read_text(encoding="utf-8").splitlines() if x.strip()]
    terms = corpus_terms(texts)
    variants = {
        "jieba precise": Tokenizer(search_mode=False),
        "jieba search": Tokenizer(),
        "precise + user dict": Tokenizer(terms, search_mode=False),
        "search + user dict": Tokenizer(terms),
        "search + user dict + bigrams": Tokenizer(terms, bigrams=True),
        "search + bigrams": Tokenizer(bigrams=True),
    }
    print(f"{len(chunks)} chunks, {len(terms)} corpus terms in the user dictionary\n")
    print("| tokenizer | recall@5 | MRR | paraphrase recall@5 | numeric recall@5 |")
    print("|---|---|---|---|---|")
    for name, tok in variants.items():
        bm = BM25Index.build(texts, tok)

        def search(q: str, bm: BM25Index = bm) -> list[Passage]:
            return [Passage.from_chunk(chunks[i], s) for i, s in bm.search(q, 10)]

        r = evaluate_retrieval(rows, search)
        print(
            f"| {name} | {r['overall']['recall@5']:.3f} | {r['overall']['mrr']:.3f} | "
            f"{r.get('paraphrase', {}).get('recall@5', float('nan')):.3f} | "
            f"{r.get('numeric', {}).get('recall@5', float('nan')):.3f} |"
        )


if __name__ == "__main__":
    main()
