"""The promotion gate's held-out rows, one set per registered model.

Written by every training-set build (the platform's own training and a data scientist's
`lakecdp features training-set`), read by `lakecdp model evaluate/promote` without Spark: a
Parquet file and a small JSON description beside it, each replaced atomically so a gate never
reads half a set. Every candidate and the champion are scored on the same rows, whoever trained
them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakecdp.kernel.config import ProjectConfig

if TYPE_CHECKING:
    import pandas as pd

DATA, DESCRIPTION, REFERENCE = "holdout.parquet", "holdout.json", "feature_reference.json"


class NoEvaluationSet(FileNotFoundError):
    """No training set has been built for the model yet, so the gate has nothing to score on."""


@dataclass(frozen=True)
class EvaluationSet:
    model: str
    path: str
    as_of: str
    feature_service: str
    features: tuple[str, ...]
    rows: int
    positives: int
    written_at: str

    @property
    def reference(self) -> str:
        """How the evidence names the rows it was judged on."""
        return f"{self.model} held-out set as of {self.as_of} ({self.rows} rows)"


def evaluation_dir(config: ProjectConfig, model: str) -> Path:
    return Path(config.evaluation_root) / model


def write_evaluation_set(
    config: ProjectConfig,
    model: str,
    rows: pd.DataFrame,
    *,
    features: tuple[str, ...],
    as_of: datetime,
    feature_service: str,
    training: pd.DataFrame | None = None,
) -> EvaluationSet:
    """Store `rows` (the held-out customers) as the gate's set; with `training` (the whole
    training set), also the feature distributions of its newest cutoff, no rows: what
    monitoring compares the live population with (ml/monitoring.py)."""
    from ml.monitoring import reference

    folder = evaluation_dir(config, model)
    folder.mkdir(parents=True, exist_ok=True)
    if training is not None:
        newest = training[training["event_timestamp"] == training["event_timestamp"].max()]
        summary = reference(newest, list(features), None)
        _write_atomically(folder / REFERENCE, json.dumps(summary))
    data = folder / DATA
    keep = ["customer_id", "event_timestamp", "label", *features]
    temporary = folder / f".{DATA}.{os.getpid()}"
    rows[keep].to_parquet(temporary, index=False)
    os.replace(temporary, data)
    described = EvaluationSet(
        model=model,
        path=str(data),
        as_of=as_of.isoformat(),
        feature_service=feature_service,
        features=tuple(features),
        rows=len(rows),
        positives=int(rows["label"].sum()),
        written_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    _write_atomically(folder / DESCRIPTION, json.dumps(asdict(described), indent=2))
    return described


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, path)


def read_feature_reference(config: ProjectConfig, model: str) -> dict[str, Any] | None:
    """The training set's feature distributions, if its build stored them."""
    try:
        return dict(json.loads((evaluation_dir(config, model) / REFERENCE).read_text()))
    except FileNotFoundError:
        return None


def read_evaluation_set(config: ProjectConfig, model: str) -> tuple[EvaluationSet, pd.DataFrame]:
    import pandas as pd

    folder = evaluation_dir(config, model)
    try:
        raw = json.loads((folder / DESCRIPTION).read_text())
    except FileNotFoundError:
        raise NoEvaluationSet(
            f"{model}: no held-out evaluation set in {folder}; build one with "
            f"`lakecdp features training-set --model {model}` or `lakecdp model train`"
        ) from None
    described = EvaluationSet(**{**raw, "features": tuple(raw["features"])})
    return described, pd.read_parquet(folder / DATA)
