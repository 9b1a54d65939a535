"""The identity closure of a privacy request: everything that is the person, frozen at acceptance.

From the identities the request gives (subject hashes), through the identity tables:
- customer ids: the ones those identifiers map to (silver.id_map), a customer id given
  directly, and every id retired into them (silver.customer_ids' current_customer_id, which
  resolves merges transitively);
- identifiers: every identifier mapped to those customers, plus the given ones (a person the
  platform has not resolved yet is still named by what they gave).
An identifier the person shares with others is not theirs alone: a hub (a family tablet) has no
customer in id_map, and a household phone belongs to whichever member identity gave it, so
neither enters the closure of the other member; rows that carry it and name someone else stay.

The closure lives in memory during a run (raw ids are needed to find rows); the ledger keeps its
hashes and counts only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecdp.identity.subjects import CUSTOMER_ID, SubjectHasher
from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Table
from lakecdp.kernel.subjects import spark_subject_hash

ID_MAP = ("silver", "id_map")
CUSTOMER_IDS = ("silver", "customer_ids")


@dataclass
class Closure:
    """One person: raw customer ids and (type, normal form) identifiers, with their hashes."""

    customers: set[str] = field(default_factory=set)
    identifiers: set[tuple[str, str]] = field(default_factory=set)
    given: set[str] = field(default_factory=set)  # hashes the request gave
    nodes: set[int] = field(default_factory=set)  # identity graph nodes of the identifiers

    def hashes(self, hasher: SubjectHasher) -> set[str]:
        """Every subject hash that names the person (what the doors shut on)."""
        return (
            {hasher.hash(t, v) for t, v in self.identifiers}
            | {hasher.customer(c) for c in self.customers}
            | self.given
        )

    def summary(self, hasher: SubjectHasher) -> dict[str, object]:
        """What the ledger keeps: hashes and counts by type, no value."""
        by_type: dict[str, int] = {}
        for id_type, _ in self.identifiers:
            by_type[id_type] = by_type.get(id_type, 0) + 1
        return {
            "customers": len(self.customers),
            "identifiers": by_type,
            "hashes": sorted(self.hashes(hasher)),
        }

    def merge(self, other: Closure) -> Closure:
        return Closure(
            self.customers | other.customers,
            self.identifiers | other.identifiers,
            self.given | other.given,
            self.nodes | other.nodes,
        )


def identity_closure(spark: SparkSession, config: ProjectConfig, given: set[str]) -> Closure:
    """The closure of the subjects `given` (hashes of identifiers or customer ids)."""
    secret = config.governance.subject_key.get_secret_value()
    closure = Closure(given=set(given))
    wanted = spark.createDataFrame([(h,) for h in sorted(given)], "hash string")
    id_map = Table(spark, config, *ID_MAP)
    registry = Table(spark, config, *CUSTOMER_IDS)
    if not id_map.exists():
        return closure
    mapped = id_map.read().select("node", "id_type", "value", "customer_id")
    direct = (
        mapped.withColumn("hash", spark_subject_hash(secret, "id_type", "value"))
        .join(F.broadcast(wanted), "hash")
        .select("customer_id")
    )
    seeds = direct
    if registry.exists():
        ids = registry.read().select("customer_id", "current_customer_id")
        named = (
            ids.withColumn("hash", spark_subject_hash(secret, F.lit(CUSTOMER_ID), "customer_id"))
            .join(F.broadcast(wanted), "hash")
            .select(F.col("current_customer_id").alias("customer_id"))
        )
        seeds = seeds.unionByName(named)
    current = {r.customer_id for r in seeds.distinct().collect() if r.customer_id}
    if not current:
        return closure
    current_df = spark.createDataFrame([(c,) for c in sorted(current)], "customer_id string")
    customers = set(current)
    if registry.exists():
        retired = (
            registry.read()
            .join(
                F.broadcast(current_df.withColumnRenamed("customer_id", "current_customer_id")),
                "current_customer_id",
            )
            .select("customer_id")
        )
        customers |= {r.customer_id for r in retired.collect()}
    closure.customers = customers
    rows = mapped.join(F.broadcast(current_df), "customer_id").collect()
    closure.identifiers = {(r.id_type, r.value) for r in rows}
    closure.nodes = {int(r.node) for r in rows}
    return closure


def customers_frame(spark: SparkSession, closure: Closure) -> DataFrame:
    return spark.createDataFrame([(c,) for c in sorted(closure.customers)], "customer_id string")


def identifiers_frame(spark: SparkSession, closure: Closure, hasher: SubjectHasher) -> DataFrame:
    """(id_type, value, hash) of the closure's identifiers, plus bare given hashes."""
    rows = [(t, v, hasher.hash(t, v)) for t, v in sorted(closure.identifiers)]
    known = {h for _, _, h in rows}
    rows += [(None, None, h) for h in sorted(closure.given - known)]
    return spark.createDataFrame(rows, "id_type string, value string, hash string")
