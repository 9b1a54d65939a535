"""`make bench-identity`: connected components at 1M and 10M edges, and resolver throughput.

Graphs are generated inside Spark (no driver-side data): long chains, one giant star and many
small random components, the shapes that slow label propagation and large-star/small-star down.
The 1M-edge partition is checked against a reference (scipy's connected components, a plain
union-find-equivalent on the driver). The resolver runs `identity resolve --probabilistic` on
100k synthetic person records with known truth. Peak memory is the largest resident set seen
for this process plus its JVM. Prints a table; writes JSON under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from rich.console import Console
from rich.table import Table

from benchmarks.common import bench_session, machine, pair_scores, write_results

console = Console()


class PeakMemory:
    """Largest RSS of this process and its children (the JVM), sampled every 0.2 s."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            try:
                rss = me.memory_info().rss + sum(
                    c.memory_info().rss for c in me.children(recursive=True)
                )
                self.peak = max(self.peak, rss)
            except psutil.Error:
                pass
            time.sleep(0.2)

    def __enter__(self) -> PeakMemory:
        self.peak = 0
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def generated_edges(spark, edges: int, seed: int = 7):  # type: ignore[no-untyped-def]
    """`edges` edges: 10% in 20 long chains, 10% in one giant star, 80% in small components."""
    from pyspark.sql import functions as F

    chains = edges // 10
    star = edges // 10
    rest = edges - chains - star
    chain_len = max(2, chains // 20)
    chain = spark.range(chains).select(
        (F.col("id") + F.floor(F.col("id") / chain_len)).alias("src"),
        (F.col("id") + F.floor(F.col("id") / chain_len) + 1).alias("dst"),
    )
    base = chains + chains // chain_len + 10
    spokes = spark.range(star).select(
        F.lit(base).alias("src"), (F.col("id") + base + 1).alias("dst")
    )
    base2 = base + star + 10
    groups = max(1, rest // 3)  # about 3 edges per small component of 4 nodes
    small = spark.range(rest).select(
        (base2 + (F.col("id") % groups) * 4 + (F.rand(seed) * 4).cast("long")).alias("src"),
        (base2 + (F.col("id") % groups) * 4 + (F.rand(seed + 1) * 4).cast("long")).alias("dst"),
    )
    # Shuffle node ids so component minima are not where the generator put them.
    mix = lambda c: F.xxhash64(c, F.lit(seed)) % F.lit(1 << 40)  # noqa: E731
    return (
        chain.unionByName(spokes)
        .unionByName(small)
        .select(mix("src").alias("src"), mix("dst").alias("dst"))
    )


def bench_components(spark, edges: int, check: bool) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from spark_jobs.identity.components import connected_components

    graph = generated_edges(spark, edges).where("src != dst").localCheckpoint(eager=True)
    with PeakMemory() as memory:
        started = time.monotonic()
        result = connected_components(graph)
        labels = result.components.localCheckpoint(eager=True)
        nodes = labels.count()
        seconds = time.monotonic() - started
    components = labels.select("component").distinct().count()
    out: dict[str, Any] = {
        "edges": edges,
        "nodes": nodes,
        "components": components,
        "rounds": result.rounds,
        "seconds": round(seconds, 1),
        "peak_rss_gb": round(memory.peak / 2**30, 2),
    }
    if check:
        out["matches_reference"] = matches_reference(graph, labels)
    return out


def matches_reference(graph, labels) -> bool:  # type: ignore[no-untyped-def]
    """Same partition as scipy's connected components on the driver."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as reference

    pdf = graph.toPandas()
    ids, inverse = np.unique(
        np.concatenate([pdf.src.to_numpy(), pdf.dst.to_numpy()]), return_inverse=True
    )
    n = len(pdf)
    matrix = coo_matrix((np.ones(n), (inverse[:n], inverse[n:])), shape=(len(ids), len(ids)))
    _, ref = reference(matrix, directed=False)
    got = labels.toPandas().set_index("node").loc[ids, "component"].to_numpy()
    # Same partition: the pairs (ours, reference) define a bijection between labels.
    pairs = set(zip(got.tolist(), ref.tolist(), strict=True))
    return len(pairs) == len(set(got.tolist())) == len(set(ref.tolist()))


def person_csv(path: Path, records: int, seed: int = 7) -> dict[str, str]:
    """`records` person rows of about 0.7*records people, with typos, gaps and truth."""
    from faker import Faker

    fake = Faker("en_US")
    Faker.seed(seed)
    rnd = random.Random(seed)
    people = int(records * 0.7)
    persons = []
    for i in range(people):
        first, last = fake.first_name(), fake.last_name()
        persons.append(
            (
                first,
                last,
                fake.date_of_birth(minimum_age=18, maximum_age=80).isoformat(),
                fake.postcode(),
                f"{first}.{last}{i}@example.com".lower(),
                f"+1202{rnd.randrange(10**7):07d}",
            )
        )
    truth: dict[str, str] = {}
    with path.open("w") as out:
        out.write("rid,first,last,dob,zip,email,phone\n")
        for r in range(records):
            p = r if r < people else rnd.randrange(people)
            first, last, dob, zipcode, email, phone = persons[p]
            if r >= people and rnd.random() < 0.3:
                first = first[:-1] + rnd.choice("aeiou")  # a typo
            row = [
                f"r{r}",
                first,
                last,
                dob if rnd.random() < 0.85 else "",
                zipcode if rnd.random() < 0.8 else "",
                email if rnd.random() < 0.5 else "",
                phone if rnd.random() < 0.4 else "",
            ]
            out.write(",".join(row) + "\n")
            truth[f"r{r}"] = f"p{p}"
    return truth


def bench_resolver(spark, config, records: int, folder: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    import pandas as pd

    from spark_jobs.identity.resolve import resolve_csv

    source, output = folder / "people.csv", folder / "resolved.csv"
    truth = person_csv(source, records)
    mapping = ["email=email", "phone=phone", "first=first_name", "last=last_name"]
    mapping += ["dob=date_of_birth", "zip=postcode"]
    with PeakMemory() as memory:
        started = time.monotonic()
        summary = resolve_csv(
            spark, config, source, output, "rid", mapping, region="US", probabilistic=True
        )
        seconds = time.monotonic() - started
    got = pd.read_csv(output, dtype=str)
    scores = pair_scores(got.assign(person=got.record_id.map(truth)))
    return {
        "records": records,
        "seconds": round(seconds, 1),
        "records_per_minute": round(records / seconds * 60),
        "profiles": summary.profiles,
        "precision": scores["precision"],
        "recall": scores["recall"],
        "peak_rss_gb": round(memory.peak / 2**30, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edges", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--check-up-to", type=int, default=1_000_000, help="reference check size")
    parser.add_argument("--records", type=int, default=100_000, help="resolver records")
    args = parser.parse_args()

    root, config, spark = bench_session("identity")
    results: dict[str, Any] = {"machine": machine(config)}
    results["components"] = []
    for edges in args.edges:
        console.print(f"connected components on {edges:,} edges ...")
        results["components"].append(bench_components(spark, edges, edges <= args.check_up_to))
        console.print(results["components"][-1])
    if args.records:
        console.print(f"resolver on {args.records:,} records (probabilistic) ...")
        results["resolver"] = bench_resolver(spark, config, args.records, root)
        console.print(results["resolver"])

    table = Table(title="identity benchmark")
    for col in ("what", "size", "seconds", "rounds", "peak RSS GB", "check"):
        table.add_column(col)
    for c in results["components"]:
        table.add_row(
            "connected components",
            f"{c['edges']:,} edges",
            str(c["seconds"]),
            str(c["rounds"]),
            str(c["peak_rss_gb"]),
            str(c.get("matches_reference", "-")),
        )
    if "resolver" in results:
        r = results["resolver"]
        table.add_row(
            "resolve --probabilistic",
            f"{r['records']:,} records",
            str(r["seconds"]),
            "-",
            str(r["peak_rss_gb"]),
            f"{r['records_per_minute']:,}/min, P {r['precision']} R {r['recall']}",
        )
    console.print(table)
    console.print(f"results in {write_results('identity', results)}")
    spark.stop()


if __name__ == "__main__":
    main()
