"""The champion's purchase probability from its saved parameters, with numpy only.

Loading the model with scikit-learn costs the endpoint most of its start-up (scikit-learn pulls
in scipy and pandas, skops all of scikit-learn). The two model families we train (ml/models.py:
a logistic regression pipeline and gradient-boosted trees) are a few arrays each, so the
endpoint applies them itself, step for step as scikit-learn's `predict_proba` does (same
operations, same order, float64), from the data of the skops archive (ml/serving/skops_data.py).
tests/ml/test_champion_scorer.py holds every model kind of ml.models to scikit-learn's answers.

A model with a step or setting not handled here raises `UnsupportedModel`; the champion loader
then falls back to scikit-learn, slower to start but never wrong.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml.serving.skops_data import Instance, Reference

Transform = Callable[[np.ndarray], np.ndarray]


def _log1p_nonnegative(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.clip(x, 0.0, None))


# Functions our pipelines name (FunctionTransformer); tests check them against the originals.
KNOWN_FUNCTIONS: dict[str, Transform] = {"ml.models._log1p_nonnegative": _log1p_nonnegative}


class UnsupportedModel(ValueError):
    """The saved model uses something this scorer does not apply."""


@dataclass(frozen=True)
class PortableModel:
    """Transforms then a probability, on one row in the order of `inputs`."""

    inputs: tuple[str, ...]
    transforms: tuple[Transform, ...]
    probability: Callable[[np.ndarray], float]

    def score(self, features: Mapping[str, Any]) -> float:
        """P(class 1) for one customer; a missing feature is NaN, as the training frame had."""
        row = np.array(
            [[np.nan if features.get(c) is None else float(features[c]) for c in self.inputs]],
            dtype=np.float64,
        )
        for transform in self.transforms:
            row = transform(row)
        return self.probability(row)


def compile_model(saved: Any) -> PortableModel:
    """A PortableModel from a saved Pipeline (or a lone estimator), or UnsupportedModel."""
    steps = _steps(saved)
    if not steps:
        raise UnsupportedModel("an empty pipeline")
    names = steps[0].attrs.get("feature_names_in_")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise UnsupportedModel("the model was not fitted on named columns")
    *transforms, final = steps
    return PortableModel(
        tuple(names), tuple(_transform(step) for step in transforms), _probability(final)
    )


def _steps(saved: Any) -> list[Instance]:
    if not isinstance(saved, Instance):
        raise UnsupportedModel(f"a saved {type(saved).__name__}, not an estimator")
    if saved.type != "sklearn.pipeline.Pipeline":
        return [saved]
    steps = []
    for step in saved.attrs.get("steps", []):
        estimator = step[1]
        if estimator is None or estimator == "passthrough":
            continue
        if not isinstance(estimator, Instance):
            raise UnsupportedModel(f"pipeline step {step[0]!r} is not an estimator")
        steps.append(estimator)
    return steps


def _array(step: Instance, name: str, shape: Sequence[int] | None = None) -> np.ndarray:
    value = step.attrs.get(name)
    if not isinstance(value, np.ndarray) or value.dtype != np.float64:
        raise UnsupportedModel(f"{step.type}.{name} is not a float64 array")
    if shape is not None and value.shape != tuple(shape):
        raise UnsupportedModel(f"{step.type}.{name} has shape {value.shape}, not {shape}")
    return value


def _transform(step: Instance) -> Transform:
    a = step.attrs
    if step.type == "sklearn.impute._base.SimpleImputer":
        missing = a.get("missing_values")
        if not (isinstance(missing, float) and math.isnan(missing)) or a.get("add_indicator"):
            raise UnsupportedModel("SimpleImputer other than NaN without indicator")
        statistics = _array(step, "statistics_")
        if not a.get("keep_empty_features") and np.isnan(statistics).any():
            raise UnsupportedModel("SimpleImputer dropping empty features")

        def impute(x: np.ndarray) -> np.ndarray:
            if np.isinf(x).any():  # scikit-learn refuses infinity here: so do we
                raise ValueError("a feature is infinite")
            return np.where(np.isnan(x), statistics, x)

        return impute
    if step.type == "sklearn.preprocessing._function_transformer.FunctionTransformer":
        func = a.get("func")
        if a.get("kw_args"):
            raise UnsupportedModel("FunctionTransformer with kw_args")
        if func is None:
            return lambda x: x
        if not isinstance(func, Reference) or func.name not in KNOWN_FUNCTIONS:
            raise UnsupportedModel(f"FunctionTransformer of {func}")
        return KNOWN_FUNCTIONS[func.name]
    if step.type == "sklearn.preprocessing._data.StandardScaler":
        mean = _array(step, "mean_") if a.get("with_mean") else None
        scale = _array(step, "scale_") if a.get("with_std") else None

        def standardize(x: np.ndarray) -> np.ndarray:
            if mean is not None:
                x = x - mean
            if scale is not None:
                x = x / scale
            return x

        return standardize
    raise UnsupportedModel(f"pipeline step {step.type}")


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _binary(step: Instance) -> None:
    classes = step.attrs.get("classes_")
    if not isinstance(classes, np.ndarray) or classes.shape != (2,):
        raise UnsupportedModel(f"{step.type} is not a binary classifier")


def _probability(step: Instance) -> Callable[[np.ndarray], float]:
    if step.type == "sklearn.linear_model._logistic.LogisticRegression":
        _binary(step)
        coef = _array(step, "coef_")
        intercept = _array(step, "intercept_", (1,))
        if coef.ndim != 2 or coef.shape[0] != 1:
            raise UnsupportedModel("LogisticRegression coef_ is not one row")
        return lambda x: _expit(float((x @ coef.T + intercept)[0, 0]))
    if step.type == (
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier"
    ):
        return _boosted_trees(step)
    raise UnsupportedModel(f"final estimator {step.type}")


def _boosted_trees(step: Instance) -> Callable[[np.ndarray], float]:
    """Sum of the trees' leaves on the baseline, in tree order (as `_raw_predict` adds them),
    through the logistic link. All trees walk down together: one numpy step per level."""
    _binary(step)
    a = step.attrs
    loss = a.get("_loss")
    if not isinstance(loss, Instance) or loss.type != "sklearn._loss.loss.HalfBinomialLoss":
        raise UnsupportedModel("gradient boosting without the binomial loss")
    if a.get("n_trees_per_iteration_") != 1 or a.get("_preprocessor") is not None:
        raise UnsupportedModel("gradient boosting with several trees a round or a preprocessor")
    if a.get("is_categorical_") is not None:
        raise UnsupportedModel("gradient boosting with categorical features")
    baseline = float(_array(step, "_baseline_prediction", (1, 1))[0, 0])
    trees = []
    for iteration in a.get("_predictors", []):
        if len(iteration) != 1 or not isinstance(iteration[0], Instance):
            raise UnsupportedModel("gradient boosting round of other than one tree")
        nodes = iteration[0].attrs.get("nodes")
        if not isinstance(nodes, np.ndarray) or nodes.dtype.names is None:
            raise UnsupportedModel("a tree without its node records")
        if nodes["is_categorical"].any():
            raise UnsupportedModel("a tree with categorical splits")
        trees.append(nodes)
    if not trees:
        raise UnsupportedModel("gradient boosting without trees")
    width = max(len(t) for t in trees)

    def padded(field: str, dtype: Any) -> np.ndarray:
        out = np.zeros((len(trees), width), dtype=dtype)
        for i, tree in enumerate(trees):
            out[i, : len(tree)] = tree[field]
        return out

    value = padded("value", np.float64)
    feature = padded("feature_idx", np.intp)
    threshold = padded("num_threshold", np.float64)
    missing_left = padded("missing_go_to_left", bool)
    left, right = padded("left", np.intp), padded("right", np.intp)
    leaf = padded("is_leaf", bool)
    depth = int(max(t["depth"].max() for t in trees))
    rows = np.arange(len(trees))

    def probability(x: np.ndarray) -> float:
        data = x[0]
        node = np.zeros(len(trees), dtype=np.intp)
        for _ in range(depth):
            at_leaf = leaf[rows, node]
            if at_leaf.all():
                break
            val = data[feature[rows, node]]
            go_left = np.where(
                np.isnan(val), missing_left[rows, node], val <= threshold[rows, node]
            )
            node = np.where(at_leaf, node, np.where(go_left, left[rows, node], right[rows, node]))
        raw = baseline
        for leaf_value in value[rows, node].tolist():
            raw += leaf_value
        return _expit(raw)

    return probability
