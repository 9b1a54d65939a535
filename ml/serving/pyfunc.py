"""Any MLflow model flavour, scored one customer at a time through its pyfunc interface.

The platform's own scikit-learn models take the portable path (ml/serving/scorer.py); anything
else a data scientist registers (a custom `PythonModel`, xgboost, lightgbm, an sklearn pipeline
with steps the portable scorer does not apply) is loaded with `mlflow.pyfunc.load_model` and
must predict probabilities: one value per row, or predict_proba's two columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


class NotProbabilities(ValueError):
    """The model's predictions are not one probability per row."""


def as_probabilities(raw: Any, rows: int, label: str) -> np.ndarray:
    """P(label) per row from what a pyfunc `predict` returned."""
    try:
        values = np.asarray(getattr(raw, "values", raw), dtype=float)
    except (TypeError, ValueError) as exc:
        raise NotProbabilities(
            f"{label} predicted {type(raw).__name__} values that are not numbers ({exc}): return "
            "one probability per row"
        ) from None
    if values.ndim == 2 and values.shape[1] == 2:
        values = values[:, 1]
    elif values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or len(values) != rows:
        raise NotProbabilities(
            f"{label} predicted shape {np.shape(values)} for {rows} rows: return one "
            "probability per row (or predict_proba's two columns)"
        )
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
        raise NotProbabilities(
            f"{label} predicts values outside [0, 1] (min {np.nanmin(values):.3g}, max "
            f"{np.nanmax(values):.3g}): the gate and the decision rules need probabilities "
            "(log scikit-learn models with pyfunc_predict_fn='predict_proba')"
        )
    return values


class PyfuncScorer:
    """A loaded pyfunc model fed the named inputs of its signature as doubles (NaN if unknown)."""

    def __init__(self, model: Any, inputs: Sequence[str], label: str) -> None:
        self.model = model
        self.inputs = list(inputs)
        self.label = label

    def score(self, features: Mapping[str, Any]) -> float:
        import pandas as pd

        row = pd.DataFrame(
            [[np.nan if features.get(c) is None else float(features[c]) for c in self.inputs]],
            columns=self.inputs,
            dtype="float64",
        )
        return float(as_probabilities(self.model.predict(row), 1, self.label)[0])
