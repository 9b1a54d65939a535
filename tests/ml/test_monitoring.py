"""Drift (PSI on reference bins) and calibration monitoring of the champion, on synthetic data."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml.monitoring import (
    BINS,
    Bins,
    CalibrationBin,
    bins_of,
    calibration,
    drift,
    plot_report,
    psi,
    reference,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def people(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    """Two continuous features; `shift` moves `recency` by that many standard deviations."""
    return pd.DataFrame(
        {
            "recency": rng.normal(30.0 + 10.0 * shift, 10.0, n),
            "spend": rng.lognormal(3.0, 1.0, n),
        }
    )


def test_same_distribution_drawn_twice_has_psi_near_zero() -> None:
    rng = np.random.default_rng(7)
    bins = bins_of(rng.normal(0.0, 1.0, 5000))
    assert len(bins.edges) == BINS - 1 and sum(bins.shares) == pytest.approx(1.0)
    assert psi(bins, rng.normal(0.0, 1.0, 5000)) < 0.01


def test_drift_flags_only_the_feature_shifted_by_one_sd() -> None:
    rng = np.random.default_rng(11)
    ref = reference(people(rng, 5000), ["recency", "spend"], rng.uniform(0, 1, 5000))
    current = people(rng, 3000, shift=1.0)

    rows = drift(ref, current, rng.uniform(0, 1, 3000), threshold=0.2)

    by_name = {row.name: row for row in rows}
    assert [(row.kind, row.name) for row in rows] == [
        ("feature", "recency"),
        ("feature", "spend"),
        ("score", "score"),
    ]
    assert by_name["recency"].psi > 0.25 and by_name["recency"].drifted
    assert [row.name for row in rows if row.drifted] == ["recency"]
    assert by_name["spend"].psi < 0.2 and by_name["score"].psi < 0.2
    assert by_name["recency"].rows == 3000
    assert by_name["recency"].as_dict()["drifted"] is True


def test_drift_has_no_score_row_without_current_scores() -> None:
    rng = np.random.default_rng(12)
    ref = reference(people(rng, 1000), ["recency"], rng.uniform(0, 1, 1000))
    assert [row.kind for row in drift(ref, people(rng, 500), None, threshold=0.2)] == ["feature"]


def test_more_missing_values_in_current_data_raise_psi() -> None:
    rng = np.random.default_rng(3)

    def with_missing(n: int, share: float) -> np.ndarray:
        values = rng.normal(0.0, 1.0, n)
        values[rng.uniform(0, 1, n) < share] = np.nan
        return values

    bins = bins_of(with_missing(5000, 0.05))
    assert bins.missing_share == pytest.approx(0.05, abs=0.01)

    same_missing = psi(bins, with_missing(5000, 0.05))
    more_missing = psi(bins, with_missing(5000, 0.30))
    assert same_missing < 0.01
    assert more_missing > 0.25
    # None in an object column counts as missing too.
    assert psi(bins, pd.Series([0.1, None, None, None], dtype=object)) > more_missing


def test_constant_reference_feature_gets_one_bin() -> None:
    bins = bins_of(np.full(200, 3.0))
    assert bins == Bins(edges=[], shares=[1.0], missing_share=0.0)
    assert psi(bins, np.full(50, 3.0)) == pytest.approx(0.0)
    assert psi(bins, np.array([3.0, np.nan, np.nan, np.nan])) > 1.0


def test_few_distinct_values_get_fewer_bins_that_keep_each_value_apart() -> None:
    values = np.repeat([0.0, 1.0, 2.0], [700, 200, 100])
    bins = bins_of(values)
    assert len(bins.edges) == 2 and bins.shares == pytest.approx([0.7, 0.2, 0.1])
    # Edges sit between distinct values, never on one.
    assert 0.0 < bins.edges[0] < 1.0 < bins.edges[1] < 2.0


def test_a_value_on_an_edge_goes_to_the_lower_bin() -> None:
    bins = Bins(edges=[1.0], shares=[0.5, 0.5], missing_share=0.0)
    assert psi(bins, np.array([1.0, 1.0])) == psi(bins, np.array([0.0, 0.0]))
    assert psi(bins, np.array([1.0, 2.0])) == pytest.approx(0.0)


def test_reference_survives_json_and_keeps_no_rows() -> None:
    rng = np.random.default_rng(5)
    small_frame = people(rng, 100)
    small = reference(small_frame, ["recency", "spend"], rng.uniform(0, 1, 100))
    large = reference(people(rng, 10_000), ["recency", "spend"], rng.uniform(0, 1, 10_000))

    text = json.dumps(small, allow_nan=False)
    loaded = json.loads(text)
    assert loaded == small and loaded["rows"] == 100
    for name, summary in loaded["features"].items():
        assert Bins.from_dict(summary).as_dict() == small["features"][name]
    assert Bins.from_dict(loaded["score"]).as_dict() == small["score"]

    # Same structure whatever the number of rows: the summary does not grow with the data.
    def shape(ref: dict) -> list[tuple[str, int, int]]:
        columns = {**ref["features"], "score": ref["score"]}
        return [(k, len(v["edges"]), len(v["shares"])) for k, v in columns.items()]

    assert (
        shape(small)
        == shape(large)
        == [
            ("recency", BINS - 1, BINS),
            ("spend", BINS - 1, BINS),
            ("score", BINS - 1, BINS),
        ]
    )
    assert 0.8 < len(json.dumps(large)) / len(text) < 1.25
    # Edges sit halfway between neighbouring values: no person's exact value is written down.
    assert not any(repr(float(v)) in text for v in small_frame.to_numpy().ravel())


def test_reference_and_drift_name_a_feature_absent_from_the_frame() -> None:
    rng = np.random.default_rng(9)
    with pytest.raises(ValueError, match="tenure"):
        reference(people(rng, 100), ["recency", "tenure"], None)
    ref = reference(people(rng, 100), ["recency", "spend"], None)
    with pytest.raises(ValueError, match="spend"):
        drift(ref, people(rng, 100).drop(columns=["spend"]), None, threshold=0.2)


def test_bins_from_a_damaged_reference_are_rejected() -> None:
    with pytest.raises(ValueError, match="one share more than edges"):
        Bins.from_dict({"edges": [1.0, 2.0], "shares": [0.5, 0.5], "missing_share": 0.0})
    with pytest.raises(ValueError, match="strictly increasing"):
        Bins.from_dict({"edges": [2.0, 1.0], "shares": [0.3, 0.3, 0.4], "missing_share": 0.0})
    with pytest.raises(ValueError, match="missing_share"):
        Bins.from_dict({"edges": [], "shares": [1.0]})


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(-1e6, 1e6), st.just(float("nan")), st.integers(-3, 3)),
        min_size=1,
        max_size=300,
    ),
    st.integers(1, 20),
)
def test_reference_data_has_zero_psi_against_its_own_bins(values: list[float], n: int) -> None:
    bins = bins_of(np.asarray(values, dtype="float64"), bins=n)
    assert len(bins.shares) <= n
    assert all(share > 0 for share in bins.shares) or bins.missing_share == 1.0
    assert sum(bins.shares) == pytest.approx(1.0) or bins.missing_share == 1.0
    assert psi(bins, np.asarray(values, dtype="float64")) == pytest.approx(0.0, abs=1e-12)


def test_calibrated_scores_track_the_observed_rate_in_every_bin() -> None:
    rng = np.random.default_rng(21)
    scores = rng.uniform(0, 1, 20_000)
    labels = (rng.uniform(0, 1, scores.size) < scores).astype(int)

    table = calibration(labels, scores)

    assert len(table) == BINS and sum(b.rows for b in table) == scores.size
    for b in table:
        assert b.low <= b.mean_score <= b.high
        assert abs(b.observed_rate - b.mean_score) < 0.05


def test_calibration_leaves_out_empty_bins_and_sees_overconfidence() -> None:
    scores = np.array([0.05, 0.05, 0.95, 0.95, 1.0])
    labels = np.array([0, 1, 0, 1, 0])
    table = calibration(labels, scores)
    assert [(b.low, b.rows) for b in table] == [(0.0, 2), (pytest.approx(0.9), 3)]
    assert table[1].observed_rate == pytest.approx(1 / 3)
    assert calibration(np.array([], dtype=int), np.array([])) == []


def history(days: int) -> pd.DataFrame:
    start = date(2025, 3, 1)
    return pd.DataFrame(
        [
            (start + timedelta(days=d), kind, name, psi_value, 0.2)
            for d in range(days)
            for kind, name, psi_value in [
                ("feature", "recency", 0.05 * d),
                ("feature", "spend", 0.02),
                ("score", "score", 0.03 * d),
            ]
        ],
        columns=["day", "kind", "name", "psi", "threshold"],
    )


def test_plot_report_writes_a_png_with_and_without_labelled_outcomes(tmp_path: Path) -> None:
    bins = [
        CalibrationBin(0.0, 0.1, 40, 0.06, 0.05),
        CalibrationBin(0.5, 0.6, 10, 0.55, 0.7),
    ]
    with_outcomes = plot_report(history(6), bins, tmp_path / "a" / "report.png", "champion v3")
    without = plot_report(history(1), [], tmp_path / "b" / "empty.png", "champion v3")
    no_history = plot_report(history(0), [], tmp_path / "c.png", "champion v3")

    for path in (with_outcomes, without, no_history):
        content = path.read_bytes()
        assert content.startswith(PNG_MAGIC) and len(content) > 5000


def test_plot_report_names_missing_history_columns(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="threshold"):
        plot_report(history(2).drop(columns=["threshold"]), [], tmp_path / "x.png", "t")
