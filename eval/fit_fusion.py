"""The fusion fit of an index, in full: every configuration's figures on the pseudo-questions.

    python eval/fit_fusion.py --index /tmp/cm/index
    python eval/fit_fusion.py --index /tmp/cm/index --qa ../shared/eval/cmrc2018_trial/qa.jsonl
    python eval/fit_fusion.py --index index --qa eval/datasets/dev_qa.jsonl eval/datasets/probe_qa*.jsonl --limit 30

Makes the questions ``rag ingest`` makes from the corpus (same count and seed unless told),
ranks them under each of the 864 configurations (dense share x RRF k x five scoping rules
on/off) and prints: the named configurations (the choice, BM25 alone, dense alone, the
hand-set one), each rule's main effect, the share x k grid with the chosen rules, and the
table of every configuration, best first. It also shows what the index's manifest holds
(``"retrieval"``), so a stored choice can be checked against a fresh measurement.

With ``--qa`` (labelled questions in the dataset format), the same configurations are
measured on those questions too: their figures for the pseudo-questions' choice, the best
configuration by them, and the rank agreement (Spearman) of the two orderings: how
well the pseudo-questions stand in for the real ones on this corpus.
``--show N`` prints N of the questions made.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _spearman(a: list[float], b: list[float]) -> float:
    import numpy as np

    ra = np.argsort(np.argsort(a, kind="stable"), kind="stable").astype(float)
    rb = np.argsort(np.argsort(b, kind="stable"), kind="stable").astype(float)
    ra -= ra.mean()
    rb -= rb.mean()
    den = float(np.sqrt((ra**2).sum() * (rb**2).sum()))
    return float((ra * rb).sum() / den) if den else 0.0


def main() -> None:
    from rag.assistant import Assistant
    from rag.retrieval.fusion_fit import _objective, fit_fusion, pseudo_questions, questions_from_rows
    from rag.settings import Settings

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", required=True, help="index folder (built by rag ingest)")
    ap.add_argument("--questions", type=int, default=None, help="questions to make (default: as ingest)")
    ap.add_argument("--seed", type=int, default=0, help="sampling seed (ingest uses 0)")
    ap.add_argument("--method", default="effects", choices=["effects", "best"], help="how to choose")
    ap.add_argument("--limit", type=int, default=None, help="rows of the full table (default: all)")
    ap.add_argument("--show", type=int, default=0, help="print this many of the questions made")
    ap.add_argument("--qa", nargs="*", default=[], help="labelled questions (jsonl) to compare with")
    args = ap.parse_args()

    settings = Settings.from_env()
    a = Assistant.load(args.index)
    data = a.data
    n = args.questions or settings.fusion_questions
    questions = pseudo_questions(data.chunks, data.documents, n=n, seed=args.seed)
    fit = fit_fusion(data, questions, candidates=settings.candidates, method=args.method)

    stored = data.manifest.get("retrieval")
    print(f"index: {args.index}  ({len(data.documents)} documents, {len(data.chunks)} chunks)")
    if stored:
        print(
            f"stored choice: {a.retriever.config.describe()} (from {a.retriever.config_source}); "
            f"fitted on {stored.get('fitted_on_chunks')} chunks, {stored.get('added_since_fit', 0)} added since, "
            f"{stored.get('seconds')} s"
        )
    else:
        print(f"stored choice: none (the retriever uses {a.retriever.config.describe()}, {a.retriever.config_source})")
    print(f"measured now:  {fit.choice.describe()}")
    print()
    if args.show:
        for q in questions[: args.show]:
            print(f"  [{q.kind}] {q.text}  -> rows {[list(r)[:5] for r in q.relevant]}")
        print()
    print(fit.format_table(args.limit))

    if args.qa:
        rows = [json.loads(line) for f in args.qa for line in Path(f).read_text(encoding="utf-8").splitlines() if line]
        labelled = questions_from_rows(rows, data.chunks)
        real = fit_fusion(data, labelled, candidates=settings.candidates, method="best")
        ours, best = real.figures(fit.choice), real.choice
        print()
        print(f"on {len(labelled)} labelled questions ({', '.join(args.qa)}):")
        print("| configuration | | recall@5 | MRR |")
        print("|---|---|---|---|")
        for name, cfg in {**fit.named(), "best on these": best}.items():
            f = real.figures(cfg)
            print(f"| {name} | {cfg.describe()} | {f['recall@5']:.3f} | {f['mrr']:.3f} |")
        pseudo_obj = [_objective(f) for _, f in fit.table]
        real_obj = [_objective(real.figures(c)) for c, _ in fit.table]
        print()
        print(f"pseudo-question choice on these: recall@5 {ours['recall@5']:.3f}, MRR {ours['mrr']:.3f}")
        print(
            f"rank agreement of the {len(fit.table)} configurations (Spearman): {_spearman(pseudo_obj, real_obj):.2f}"
        )


if __name__ == "__main__":
    main()
