"""Identity: the id map that every profile, audience and sync joins through.

One customer per identifier (else two profiles claim one person's phone), phones in E.164 (the
form the matcher and the syncs rely on), no placeholder values (one 'test@test.com' would merge
thousands of people), profile sizes under the ceiling (a runaway merge), well-formed ids.
"""

from __future__ import annotations

import re
from datetime import datetime

import great_expectations.expectations as gxe
from great_expectations.expectations import Expectation
from great_expectations.expectations.row_conditions import Column

from expectations.suites.base import TableSuite, labelled
from lakecdp.kernel.config import ProjectConfig

ID_MAP = ("silver", "id_map")
ID_MAP_COLUMNS = ("node", "id_type", "value", "customer_id", "component", "updated_at", "run_id")
E164 = r"^\+[1-9]\d{6,14}$"
CUSTOMER_ID = r"^cus_"


def cluster_ceiling(config: ProjectConfig) -> int:
    return config.quality.max_cluster_size or config.identity.max_cluster_size


def identity_suites(config: ProjectConfig, now: datetime) -> list[TableSuite]:
    del now  # nothing here depends on the time
    phone_types = sorted(n for n, t in config.identifier_types.items() if t.kind == "phone")
    ceiling = cluster_ceiling(config)
    expectations: list[Expectation] = [
        labelled(
            gxe.ExpectTableColumnsToMatchSet(column_set=list(ID_MAP_COLUMNS), exact_match=False),
            "expected columns present",
            "Profiles, audiences and syncs join through these columns.",
        ),
        labelled(
            gxe.ExpectColumnValuesToNotBeNull(column="customer_id"),
            "customer_id not null",
            "An identifier without a customer falls out of every profile.",
        ),
        labelled(
            gxe.ExpectColumnValuesToMatchRegex(column="customer_id", regex=CUSTOMER_ID),
            "customer_id format",
            "Issued ids start with cus_; anything else was not issued by the resolver.",
        ),
        labelled(
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["id_type", "value"]),
            "one customer_id per identifier",
            "An identifier mapped twice means two profiles claim the same person.",
        ),
    ]
    if phone_types:
        expectations.append(
            labelled(
                gxe.ExpectColumnValuesToMatchRegex(
                    column="value", regex=E164, row_condition=Column("id_type").is_in(phone_types)
                ),
                "phone in E.164",
                "Phones are matched and synced in E.164; a local form would never match.",
            )
        )
    expectations.extend(blocklist_expectations(config))
    expectations.append(
        labelled(
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select customer_id, count(*) as identifiers from {batch} "
                    f"group by customer_id having count(*) > {ceiling}"
                ),
                description=f"No customer_id holds more than {ceiling} identifiers "
                "(quality.max_cluster_size, default identity.max_cluster_size).",
            ),
            "cluster size ceiling",
            "A profile this large is a runaway merge through a shared or placeholder value.",
        )
    )
    return [TableSuite(*ID_MAP, tuple(expectations))]


def blocklist_expectations(config: ProjectConfig) -> list[Expectation]:
    """Blocklisted values (case-insensitive, whole value) and patterns, as the resolver applies
    them to normal forms: '*' entries on every identifier, typed entries on their type."""
    ident = config.identity
    out: list[Expectation] = []
    typed = (set(ident.blocklist) | set(ident.blocklist_patterns)) - {"*"}
    for id_type in ["*", *sorted(typed)]:
        regexes = [
            *(f"(?i)^{re.escape(v.strip())}$" for v in ident.blocklist.get(id_type, [])),
            *ident.blocklist_patterns.get(id_type, []),
        ]
        if not regexes:
            continue
        scope = None if id_type == "*" else Column("id_type") == id_type
        out.append(
            labelled(
                gxe.ExpectColumnValuesToNotMatchRegexList(
                    column="value", regex_list=regexes, row_condition=scope
                ),
                f"no blocklisted value ({id_type})",
                "Placeholder values (identity.blocklist, blocklist_patterns) link strangers; "
                "the resolver drops them, so one here means a rule was bypassed.",
            )
        )
    return out
