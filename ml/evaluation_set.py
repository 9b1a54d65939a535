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
from typing import TYPE_CHECKING

from lakecdp.kernel.config import ProjectConfig

if TYPE_CHECKING:
    import pandas as pd

DATA, DESCRIPTION, POPULATION = "holdout.parquet", "holdout.json", "population.parquet"


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
    population: pd.DataFrame | None = None,
) -> EvaluationSet:
    """Store `rows` (the held-out customers) as the gate's set; with `population` (the
    features of the newest snapshot at the as-of time, no ids), also the population a version
    promoted now will score: monitoring's reference (ml/monitor.py)."""
    folder = evaluation_dir(config, model)
    folder.mkdir(parents=True, exist_ok=True)
    if population is not None:
        temporary = folder / f".{POPULATION}.{os.getpid()}"
        population[list(features)].to_parquet(temporary, index=False)
        os.replace(temporary, folder / POPULATION)
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


def read_population(config: ProjectConfig, model: str) -> pd.DataFrame | None:
    """The features of the population at the newest training set build, if it stored them."""
    import pandas as pd

    path = evaluation_dir(config, model) / POPULATION
    return pd.read_parquet(path) if path.exists() else None


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
