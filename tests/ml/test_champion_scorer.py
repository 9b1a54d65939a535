"""The endpoint's portable scorer (ml/serving/scorer.py, from the skops archive MLflow saves)
gives scikit-learn's `predict_proba` for every model kind we train, on any row: missing values,
zeros, negatives, huge values. Models are fitted and saved as ml/train.py saves them (MLflow's
sklearn flavor, skops, our trusted types); no Spark."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml.models import MODEL_KINDS, TRUSTED_TYPES, _log1p_nonnegative, make_model
from ml.serving.champion import load_model
from ml.serving.pyfunc import PyfuncScorer
from ml.serving.registry import ModelVersion
from ml.serving.scorer import KNOWN_FUNCTIONS, PortableModel
from spark_jobs.features.transactions import FEATURE_COLUMNS


def _training_frame(rows: int = 3000, seed: int = 11) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        rng.gamma(1.5, 20.0, size=(rows, len(FEATURE_COLUMNS))), columns=list(FEATURE_COLUMNS)
    )
    x = x.mask(rng.random(x.shape) < 0.15)  # missing values, as customers without history
    x["orders_90d"] = x["orders_90d"].where(rng.random(rows) > 0.5, 0.0)
    signal = np.nan_to_num(x["frequency"].to_numpy(), nan=0.0) - np.nan_to_num(
        x["recency_days"].to_numpy(), nan=60.0
    )
    y = (signal + rng.normal(0, 20, rows) > 0).astype(int)
    return x, y


def _saved(kind: str, folder: Path) -> Any:
    """Fit `kind` and save it the way ml/train.py logs it; return the fitted model."""
    import mlflow.sklearn
    from mlflow.models import infer_signature

    x, y = _training_frame()
    model = make_model(kind, seed=7)  # type: ignore[arg-type]
    model.fit(x, y)
    mlflow.sklearn.save_model(
        model,
        str(folder),
        serialization_format="skops",
        skops_trusted_types=list(TRUSTED_TYPES),
        signature=infer_signature(x, y.astype(float)),
        pyfunc_predict_fn="predict_proba",
    )
    return model


@pytest.fixture(scope="module", params=MODEL_KINDS)
def fitted(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Any, PortableModel]:
    folder = tmp_path_factory.mktemp(f"model-{request.param}") / "model"
    model = _saved(request.param, folder)
    scorer = load_model(
        ModelVersion("m", "1", str(folder), {}), "unused", FEATURE_COLUMNS, "service"
    )
    assert isinstance(scorer, PortableModel), "every kind we train scores without sklearn"
    return model, scorer


def _sklearn(model: Any, features: dict[str, Any]) -> float:
    row = pd.DataFrame(
        [[np.nan if features[c] is None else features[c] for c in FEATURE_COLUMNS]],
        columns=list(FEATURE_COLUMNS),
    )
    return float(model.predict_proba(row)[0, 1])


values = st.one_of(
    st.none(),
    st.just(0.0),
    st.floats(min_value=-1e3, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([1.0, 2.0, 7.0, 30.0, 90.0, 365.0]),
)
rows = st.fixed_dictionaries({c: values for c in FEATURE_COLUMNS})


@settings(max_examples=300, deadline=None)
@given(features=rows)
def test_portable_scores_equal_sklearns(fitted: tuple[Any, PortableModel], features) -> None:  # type: ignore[no-untyped-def]
    model, scorer = fitted
    assert scorer.score(features) == pytest.approx(_sklearn(model, features), rel=1e-12, abs=1e-15)


def test_scores_spread_over_the_training_rows(fitted: tuple[Any, PortableModel]) -> None:
    """Not one constant: the model and the scorer agree on rows that tell customers apart."""
    model, scorer = fitted
    x, _ = _training_frame(rows=200, seed=5)
    rows_ = [
        {c: (None if pd.isna(v) else float(v)) for c, v in row.items()}
        for row in x.to_dict(orient="records")
    ]
    ours = np.array([scorer.score(r) for r in rows_])
    theirs = model.predict_proba(x)[:, 1]
    assert np.allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    assert ours.std() > 0.05


def test_known_functions_are_the_training_ones() -> None:
    x = np.array([[-5.0, 0.0, 0.5, 3.0, 1e9, np.nan]])
    for name, function in KNOWN_FUNCTIONS.items():
        assert name == f"{_log1p_nonnegative.__module__}.{_log1p_nonnegative.__name__}"
        np.testing.assert_array_equal(function(x), _log1p_nonnegative(x))


def test_a_model_the_scorer_does_not_know_is_loaded_as_an_mlflow_pyfunc(tmp_path: Path) -> None:
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler

    x, y = _training_frame(rows=400)
    steps = [
        ("impute", SimpleImputer()),
        ("scale", MinMaxScaler()),
        ("model", LogisticRegression()),
    ]
    model = Pipeline(steps).fit(x, y)
    mlflow.sklearn.save_model(
        model,
        str(tmp_path / "mm"),
        serialization_format="skops",
        skops_trusted_types=["numpy.dtype"],
        signature=infer_signature(x, y.astype(float)),
        pyfunc_predict_fn="predict_proba",
    )
    scorer = load_model(
        ModelVersion("m", "1", str(tmp_path / "mm"), {}), "unused", FEATURE_COLUMNS, "service"
    )
    assert isinstance(scorer, PyfuncScorer)
    features = {c: 5.0 for c in FEATURE_COLUMNS} | {"monetary": None}
    assert scorer.score(features) == _sklearn(model, features)


def test_loading_a_champion_imports_neither_sklearn_nor_pandas(tmp_path: Path) -> None:
    import subprocess

    _saved("gradient_boosting", tmp_path / "gb")
    code = (
        "import sys\n"
        "from ml.serving.champion import load_model\n"
        "from ml.serving.registry import ModelVersion\n"
        f"m = load_model(ModelVersion('m', '1', {str(tmp_path / 'gb')!r}, {{}}), 'unused', "
        f"{list(FEATURE_COLUMNS)!r}, 'service')\n"
        "print(m.score({}))\n"
        "heavy = ('sklearn', 'pandas', 'scipy', 'mlflow', 'skops', 'feast', 'pyspark')\n"
        "print(sorted(h for h in heavy if h in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert 0 < float(out[0]) < 1
    assert out[1] == "[]"
