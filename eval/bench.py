"""Our pipeline beside LangChain's tutorial pipeline, and (``--scale``) how ours grows with the corpus.

    python eval/bench.py                          # part A on the seeds -> eval/runs/bench/
    python eval/bench.py --scale --sizes 1000,10000

The same as ``rag bench``; see :mod:`rag.evaluation.bench` for what is measured.
"""

from __future__ import annotations

import sys

from rag.evaluation.bench import main

if __name__ == "__main__":
    sys.exit(main())
