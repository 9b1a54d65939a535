"""Drift and calibration monitoring of the champion propensity model, without keeping rows.

The training set a champion was evaluated with holds real people, so it cannot travel with the
model in MLflow. It is summarised instead into a JSON-able *reference*: per feature (and for
the score) quantile bin edges and the share of reference rows in each bin, plus the share of
missing values as one more bin. Current data is later binned on the same edges and compared
with the population stability index (PSI); once outcomes arrive, a reliability table shows
whether scores still mean what the decision thresholds assume they mean.

Pure numpy/pandas; matplotlib is imported only by `plot_report`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

BINS = 10
EPSILON = 1e-4  # floor for empty bin shares inside the PSI log

_HISTORY_COLUMNS = ("day", "kind", "name", "psi", "threshold")


@dataclass(frozen=True)
class Bins:
    """The distribution of one reference column, reduced to bin shares.

    Bin ``i`` holds the values ``v`` with ``edges[i - 1] < v <= edges[i]`` (numpy
    ``searchsorted(edges, v, side="left")``): bin 0 is everything up to ``edges[0]``, the last
    bin everything above ``edges[-1]``, so values outside the reference range land in the outer
    bins. ``shares`` are over non-missing rows only; ``missing_share`` is over all rows.
    """

    edges: list[float]
    shares: list[float]
    missing_share: float

    def __post_init__(self) -> None:
        # A reference is read back from MLflow: a hand-edited or truncated one should fail
        # here, naming what is wrong, not as a shape error deep inside `psi`.
        if len(self.shares) != len(self.edges) + 1:
            raise ValueError(
                f"bins need one share more than edges: {len(self.edges)} edges, "
                f"{len(self.shares)} shares"
            )
        if not all(np.isfinite(self.edges)) or np.any(np.diff(self.edges) <= 0):
            raise ValueError(f"bin edges must be finite and strictly increasing: {self.edges}")
        if any(not 0.0 <= share <= 1.0 for share in self.shares):
            raise ValueError(f"bin shares must lie in [0, 1]: {self.shares}")
        if not 0.0 <= self.missing_share <= 1.0:
            raise ValueError(f"missing share must lie in [0, 1]: {self.missing_share}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "edges": list(self.edges),
            "shares": list(self.shares),
            "missing_share": self.missing_share,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Bins:
        try:
            return cls(
                edges=[float(edge) for edge in data["edges"]],
                shares=[float(share) for share in data["shares"]],
                missing_share=float(data["missing_share"]),
            )
        except KeyError as exc:
            raise ValueError(f"bins lack {exc.args[0]!r}: {dict(data)}") from exc


def _as_float(values: np.ndarray | pd.Series) -> np.ndarray:
    """Values as float64 with every kind of missing (None, NaN, pd.NA, NaT) as NaN."""
    series = pd.to_numeric(pd.Series(values), errors="raise")
    return series.to_numpy(dtype="float64", na_value=np.nan)


def _counts(edges: Sequence[float], present: np.ndarray) -> np.ndarray:
    """Rows per bin (side="left": a value equal to an edge goes to the lower bin)."""
    index = np.searchsorted(np.asarray(edges, dtype="float64"), present, side="left")
    return np.bincount(index, minlength=len(edges) + 1)


def _quantile_edges(present: np.ndarray, bins: int) -> list[float]:
    """Cut points just above the k/bins quantiles, halfway to the next distinct value.

    Halfway cuts keep every reference value off an edge (so the bin of a reference value does
    not hinge on the comparison side), leave no reference bin empty, and keep the reference
    free of any single row's exact value. Quantiles equal to the maximum give no cut, so ties
    merge bins and a constant column gets one bin.
    """
    finite = np.sort(present[np.isfinite(present)])
    if finite.size == 0:
        return []
    distinct = np.unique(finite)
    edges: list[float] = []
    for k in range(1, bins):
        position = max(-(-k * finite.size // bins) - 1, 0)  # inverted-CDF quantile, exact ints
        below = finite[position]
        following = np.searchsorted(distinct, below, side="right")
        if following == distinct.size:
            continue
        edge = float(below / 2 + distinct[following] / 2)  # halves: no overflow at +-1e308
        if not edges or edge > edges[-1]:
            edges.append(edge)
    return edges


def bins_of(values: np.ndarray | pd.Series, bins: int = BINS) -> Bins:
    """Quantile edges of the reference values (deduplicated, so a feature with few distinct
    values gets fewer bins; a constant feature gets one bin).

    Missing values (None/NaN) are counted in `missing_share`, not binned. Infinite values are
    binned (outer bins) but do not place edges. A constant feature's one bin can only show a
    change in missingness, which is all a single reference value can support.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    array = _as_float(values)
    if array.size == 0:
        raise ValueError("cannot summarise an empty reference")
    missing = np.isnan(array)
    present = array[~missing]
    edges = _quantile_edges(present, bins)
    counts = _counts(edges, present)
    shares = counts / present.size if present.size else np.zeros(len(counts))
    return Bins(
        edges=edges,
        shares=[float(share) for share in shares],
        missing_share=float(missing.mean()),
    )


def reference(
    frame: pd.DataFrame,
    features: Sequence[str],
    scores: np.ndarray | None,
    bins: int = BINS,
) -> dict[str, Any]:
    """{"features": {name: Bins.as_dict()}, "score": Bins.as_dict() or None, "rows": n} --
    JSON-serialisable, no row of the input kept.

    `scores`, when given, are the model's scores of the same rows as `frame`.
    """
    absent = [name for name in features if name not in frame.columns]
    if absent:
        raise ValueError(f"reference features not in the frame: {absent}")
    if scores is not None and len(scores) != len(frame):
        raise ValueError(f"{len(scores)} scores for {len(frame)} reference rows")
    summaries: dict[str, Any] = {}
    for name in features:
        try:
            summaries[name] = bins_of(frame[name], bins).as_dict()
        except (ValueError, TypeError) as exc:
            raise ValueError(f"reference feature {name!r}: {exc}") from exc
    return {
        "features": summaries,
        "score": bins_of(scores, bins).as_dict() if scores is not None else None,
        "rows": len(frame),
    }


def psi(reference: Bins, values: np.ndarray | pd.Series) -> float:
    """Population stability index of `values` against the reference bins, the missing share
    counted as one more bin; shares floored at EPSILON. 0 for identical distributions.

    PSI = sum over bins of (current - reference) * ln(current / reference). The floor keeps
    a bin that is empty on one side finite; it is not renormalised, as is usual for PSI.
    """
    array = _as_float(values)
    if array.size == 0:
        raise ValueError("no current values to compare with the reference")
    missing = np.isnan(array)
    current = np.append(_counts(reference.edges, array[~missing]), missing.sum()) / array.size
    expected = np.append(
        np.asarray(reference.shares) * (1.0 - reference.missing_share), reference.missing_share
    )
    current = np.maximum(current, EPSILON)
    expected = np.maximum(expected, EPSILON)
    return float(np.sum((current - expected) * np.log(current / expected)))


@dataclass(frozen=True)
class DriftRow:
    """PSI of one feature (or the score) for one batch of current data."""

    kind: Literal["feature", "score"]
    name: str
    psi: float
    threshold: float
    rows: int

    @property
    def drifted(self) -> bool:
        return self.psi > self.threshold

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "psi": self.psi,
            "threshold": self.threshold,
            "rows": self.rows,
            "drifted": self.drifted,
        }


def drift(
    reference: Mapping[str, Any],
    frame: pd.DataFrame,
    scores: np.ndarray | None,
    threshold: float,
) -> list[DriftRow]:
    """One row per reference feature present in `frame` (a reference feature missing from the
    frame raises ValueError naming it), plus one for the score when both the reference and
    `scores` have one.

    A missing feature is an error rather than a skipped row: a silently dropped column would
    read as "no drift" on the dashboard.
    """
    features = reference.get("features")
    if not isinstance(features, Mapping):
        raise ValueError("not a monitoring reference: it has no 'features' mapping")
    absent = [name for name in features if name not in frame.columns]
    if absent:
        raise ValueError(f"reference features not in the current frame: {absent}")
    rows: list[DriftRow] = []
    for name, summary in features.items():
        try:
            value = psi(Bins.from_dict(summary), frame[name])
        except (ValueError, TypeError) as exc:
            raise ValueError(f"feature {name!r}: {exc}") from exc
        rows.append(DriftRow("feature", name, value, threshold, len(frame)))
    score = reference.get("score")
    if score is not None and scores is not None:
        value = psi(Bins.from_dict(score), scores)
        rows.append(DriftRow("score", "score", value, threshold, len(scores)))
    return rows


@dataclass(frozen=True)
class CalibrationBin:
    """One bar of a reliability diagram: scores in (low, high] and how often the outcome came."""

    low: float
    high: float
    rows: int
    mean_score: float
    observed_rate: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "low": self.low,
            "high": self.high,
            "rows": self.rows,
            "mean_score": self.mean_score,
            "observed_rate": self.observed_rate,
        }


def calibration(labels: np.ndarray, scores: np.ndarray, bins: int = BINS) -> list[CalibrationBin]:
    """Equal-width score bins over [0, 1]; empty bins left out.

    Binned as `ml.metrics.expected_calibration_error` bins (a score on an inner edge goes to
    the upper bin, 1.0 to the last), so the table explains the ECE logged at training.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    labels = np.asarray(labels, dtype="float64")
    scores = np.asarray(scores, dtype="float64")
    if labels.shape != scores.shape:
        raise ValueError(f"{labels.size} labels for {scores.size} scores")
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    if not ((scores >= 0.0) & (scores <= 1.0)).all():
        raise ValueError("scores must lie in [0, 1] (and not be NaN)")
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    table: list[CalibrationBin] = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            table.append(
                CalibrationBin(
                    low=float(edges[b]),
                    high=float(edges[b + 1]),
                    rows=int(mask.sum()),
                    mean_score=float(scores[mask].mean()),
                    observed_rate=float(labels[mask].mean()),
                )
            )
    return table


def plot_report(
    history: pd.DataFrame,
    calibration_bins: Sequence[CalibrationBin],
    path: Path,
    title: str,
) -> Path:
    """A PNG a person can open: PSI over time per feature/score with the threshold dashed and
    drifted points marked (left), a reliability diagram against the diagonal (right).

    `history` has the columns day (datetime or date), kind, name, psi, threshold. Rendered
    with the Agg canvas on a bare `Figure`, not through pyplot: no display is needed, the
    process-wide backend (say, a notebook's) is left alone, and no figure lingers in pyplot's
    registry. matplotlib is imported here so that importing this module stays light.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    absent = [column for column in _HISTORY_COLUMNS if column not in history.columns]
    if absent:
        raise ValueError(f"drift history lacks the columns {absent}")

    figure = Figure(figsize=(13, 5), layout="constrained")
    FigureCanvasAgg(figure)
    drift_axes, calibration_axes = figure.subplots(1, 2, width_ratios=(3, 2))
    figure.suptitle(title)

    drift_axes.set_title("population stability index")
    drift_axes.set_ylabel("PSI")
    if history.empty:
        drift_axes.text(
            0.5,
            0.5,
            "no drift history yet",
            ha="center",
            va="center",
            transform=drift_axes.transAxes,
        )
    else:
        frame = history.assign(day=pd.to_datetime(history["day"])).sort_values("day")
        for (kind, name), series in frame.groupby(["kind", "name"], sort=True):
            is_score = kind == "score"
            drift_axes.plot(
                series["day"].to_numpy(),
                series["psi"].to_numpy(dtype="float64"),
                marker="o",
                markersize=3,
                linewidth=2.5 if is_score else 1.2,
                color="black" if is_score else None,
                label=f"{name} (score)" if is_score and name != "score" else str(name),
            )
        for threshold in sorted(frame["threshold"].dropna().unique()):
            drift_axes.axhline(float(threshold), color="tab:red", linestyle="--", linewidth=1)
        over = frame[frame["psi"] > frame["threshold"]]
        if not over.empty:
            drift_axes.scatter(
                over["day"].to_numpy(),
                over["psi"].to_numpy(dtype="float64"),
                marker="x",
                color="tab:red",
                zorder=3,
                label="over threshold",
            )
        locator = AutoDateLocator()
        drift_axes.xaxis.set_major_locator(locator)
        drift_axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        drift_axes.set_ylim(bottom=0)
        if frame["day"].nunique() == 1:  # else the date locator spans years around one day
            day = frame["day"].iloc[0]
            drift_axes.set_xlim(day - pd.Timedelta(days=1), day + pd.Timedelta(days=1))
        drift_axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="x-small")

    calibration_axes.set_title("reliability")
    calibration_axes.set_xlabel("mean score")
    calibration_axes.set_ylabel("observed rate")
    calibration_axes.set_xlim(0, 1)
    calibration_axes.set_ylim(0, 1)
    calibration_axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="calibrated")
    if calibration_bins:
        rows = sum(b.rows for b in calibration_bins)
        calibration_axes.plot(
            [b.mean_score for b in calibration_bins],
            [b.observed_rate for b in calibration_bins],
            marker="o",
            label=f"champion ({rows:,} labelled rows)",
        )
        calibration_axes.legend(loc="upper left", fontsize="small")
    else:
        calibration_axes.text(
            0.5,
            0.5,
            "no labelled outcomes yet",
            ha="center",
            va="center",
            transform=calibration_axes.transAxes,
            bbox={"facecolor": "white", "edgecolor": "none"},
        )

    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)
    return path
