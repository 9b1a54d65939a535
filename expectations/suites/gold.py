"""Gold: the customer dimension that audiences and syncs read.

One row per customer, consent in the three values syncs understand (anything else must not be
read as 'granted'), built recently, and no customer of the id map missing from it (an identity
whose profile was dropped is silently left out of every audience).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import great_expectations.expectations as gxe
from great_expectations.expectations import Expectation

from expectations.suites.base import TableSuite, delta_path_ref, labelled
from expectations.suites.identity import ID_MAP
from lakecdp.kernel.config import ProjectConfig

DIM_CUSTOMERS = ("gold", "dim_customers")
CONSENT_VALUES = ("granted", "denied", "unknown")
BUILT_AT = "_built_at"


def consent_columns(config: ProjectConfig) -> list[str]:
    return [
        f"consent_{purpose}_{channel}"
        for purpose in config.consent.purposes
        for channel in config.consent.channels
    ]


def gold_suites(config: ProjectConfig, now: datetime) -> list[TableSuite]:
    consent = consent_columns(config)
    oldest = now - timedelta(hours=config.quality.gold_max_age_hours)
    dim: list[Expectation] = [
        labelled(
            gxe.ExpectTableColumnsToMatchSet(
                column_set=["customer_id", *consent, BUILT_AT], exact_match=False
            ),
            "expected columns present",
            "Syncs read one consent column per purpose and channel (lakecdp.yaml consent).",
        ),
        labelled(
            gxe.ExpectColumnValuesToNotBeNull(column="customer_id"),
            "customer_id not null",
            "The dimension's grain.",
        ),
        labelled(
            gxe.ExpectColumnValuesToBeUnique(column="customer_id"),
            "customer_id unique",
            "Two rows for one customer would double-count and double-send.",
        ),
    ]
    for column in consent:
        dim.append(
            labelled(
                gxe.ExpectColumnValuesToNotBeNull(column=column),
                "consent not null",
                "No record of consent is 'unknown', said explicitly.",
            )
        )
        dim.append(
            labelled(
                gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(CONSENT_VALUES)),
                "consent value",
                "Syncs act on granted/denied/unknown; any other value has no safe reading.",
            )
        )
    dim.append(
        labelled(
            gxe.ExpectColumnMaxToBeBetween(column=BUILT_AT, min_value=oldest),
            "fresh",
            "Audiences from a stale dimension miss recent consent changes "
            "(quality.gold_max_age_hours).",
        )
    )
    dim_path = config.table_path(*DIM_CUSTOMERS)
    orphans = labelled(
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=(
                "select distinct m.customer_id from {batch} m "
                f"left anti join {delta_path_ref(dim_path)} d on m.customer_id = d.customer_id"
            ),
            description="Every customer_id of silver.id_map has a row in gold.dim_customers.",
        ),
        "customer_id in gold.dim_customers",
        "A customer missing from the dimension is silently left out of every audience.",
    )
    return [
        TableSuite(*DIM_CUSTOMERS, tuple(dim)),
        TableSuite(*ID_MAP, (orphans,), reads=(DIM_CUSTOMERS,)),
    ]
