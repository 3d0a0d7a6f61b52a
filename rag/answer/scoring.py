"""Learned scoring: three small logistic models read from ``model.json`` in this package.

* ``sentence`` -- the chance a candidate sentence holds the answer;
* ``span`` -- the chance a span of that sentence is the asked span;
* ``answerable`` -- the chance the best sentence answers the question at all; below
  ``threshold`` the answerer refuses.

Each model is a logistic regression over named, standardised features (Cox 1958; scikit-
learn's ``LogisticRegression`` fits them in ``eval/train_answerer.py``, which writes the
file with its cross-validated figures). Scoring is a dot product, no library needed:

>>> m = LogisticModel(("a", "b"), (2.0, -1.0), 0.5, (0.0, 0.0), (1.0, 1.0))
>>> round(m.probability({"a": 1.0, "b": 0.5}), 3)
0.881
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["MODEL_FILE", "LogisticModel", "Models", "load_models"]

MODEL_FILE = Path(__file__).with_name("model.json")


@dataclass(frozen=True)
class LogisticModel:
    """``p = σ(bias + Σ wᵢ·(xᵢ − meanᵢ)/scaleᵢ)`` over the features named in ``names``."""

    names: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def logit(self, features: Mapping[str, float]) -> float:
        z = self.bias
        for name, w, mu, sd in zip(self.names, self.weights, self.mean, self.scale, strict=True):
            z += w * (float(features.get(name, 0.0)) - mu) / (sd or 1.0)
        return z

    def probability(self, features: Mapping[str, float]) -> float:
        z = max(-30.0, min(30.0, self.logit(features)))
        return 1.0 / (1.0 + math.exp(-z))

    def to_dict(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "weights": list(self.weights),
            "bias": self.bias,
            "mean": list(self.mean),
            "scale": list(self.scale),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LogisticModel:
        n = len(d["names"])
        for key in ("weights", "mean", "scale"):
            if len(d[key]) != n:
                raise ValueError(f"model: {key!r} has {len(d[key])} values for {n} features")
        return cls(
            tuple(d["names"]),
            tuple(float(x) for x in d["weights"]),
            float(d["bias"]),
            tuple(float(x) for x in d["mean"]),
            tuple(float(x) for x in d["scale"]),
        )


@dataclass(frozen=True)
class Models:
    sentence: LogisticModel
    span: LogisticModel
    answerable: LogisticModel
    threshold: float  # refuse when P(answerable) is below this
    info: Mapping[str, Any]  # what the training script measured

    def threshold_for(self, kind: str) -> float:
        """The refusal threshold of a kind of question (``info["threshold_by_kind"]``, fitted
        for the kinds with enough training questions), else :attr:`threshold`.

        >>> Models(*(None,) * 3, 0.3, {"threshold_by_kind": {"date": 0.5}}).threshold_for("date")
        0.5
        """
        return float(dict(self.info.get("threshold_by_kind", {})).get(kind, self.threshold))


def _untrained(names: Sequence[str], weights: Mapping[str, float]) -> LogisticModel:
    return LogisticModel(
        tuple(names), tuple(weights.get(n, 0.0) for n in names), 0.0, (0.0,) * len(names), (1.0,) * len(names)
    )


@functools.lru_cache(maxsize=4)
def load_models(path: str | None = None) -> Models:
    """The models of ``path`` (default: the packaged ``model.json``).

    Without a file (a checkout before the first training run) a plain prior is used:
    word coverage for sentences, fit of kind and unit for spans, and no refusals.
    """
    from rag.answer.candidates import SENTENCE_FEATURES, SPAN_FEATURES

    p = Path(path) if path else MODEL_FILE
    if not p.exists():
        if path:
            raise FileNotFoundError(f"no answer model at {p}")
        return Models(
            _untrained(SENTENCE_FEATURES, {"cov": 4.0, "bigram": 2.0, "rank_inv": 0.5, "unit_exact": 1.0}),
            _untrained(SPAN_FEATURES, {"kind_fit": 2.0, "unit_exact": 1.0, "near_term": 1.0, "in_question": -2.0}),
            _untrained(("top_probability",), {"top_probability": 1.0}),
            0.0,
            {"trained": False},
        )
    d = json.loads(p.read_text(encoding="utf-8"))
    return Models(
        LogisticModel.from_dict(d["sentence"]),
        LogisticModel.from_dict(d["span"]),
        LogisticModel.from_dict(d["answerable"]),
        float(d["threshold"]),
        d.get("info", {}),
    )
