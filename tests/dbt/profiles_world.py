"""A tiny, hand-made bronze lakehouse whose unified profiles are known in advance.

Every bronze table gets the full column set its staging model reads (bronze keeps source
columns as text plus ingestion metadata). People:
- Alice (SG): CRM + loyalty + web (user u1) + POS by loyalty number; abandoned a cart 2 hours
  before AS_OF; CRM says no SMS, a later consent event grants it.
- Bob (MY): CRM (two versions in Kuala Lumpur, a newer one in Petaling Jaya that a re-run
  extract repeated in the same file) + app (user u2, device d2); abandoned a cart but has no
  marketing consent; new app user, never bought.
- Carol (SG): two POS sales by phone, a big one 60 days before AS_OF: high value, lapsing.
- Dave (SG): CRM only (dave@z.com).
- A marketplace buyer B1 (MY) with one order in MYR.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from typing import Any

from lakecdp.kernel.config import ProjectConfig

AS_OF = datetime(2026, 11, 20, 12, 0, 0)
AS_OF_TEXT = "2026-11-20T12:00:00"

_META = (
    "_event_ts timestamp, _market string, _source string, _source_file string, "
    "_ingested_at timestamp, _run_id string"
)
SCHEMAS = {
    "crm": "contact_id string, updated_at string, country string, email string, mobile string, "
    "first_name string, last_name string, date_of_birth string, gender string, city string, "
    "postcode string, email_opt_in string, sms_opt_in string, " + _META,
    "loyalty": "member_id string, updated_at string, market string, email string, phone string, "
    "first_name string, last_name string, date_of_birth string, tier string, " + _META,
    "pos": "transaction_id string, transaction_ts string, market string, phone string, "
    "loyalty_no string, store_id string, amount string, currency string, item_count string, "
    + _META,
    "marketplace": "order_id string, order_ts string, market string, buyer_id string, "
    "buyer_name string, postcode string, platform string, masked_phone string, amount string, "
    "currency string, item_count string, " + _META,
    "events": "message_id string, type string, event string, user_id string, "
    "anonymous_id string, previous_id string, group_id string, name string, traits string, "
    "properties string, context string, channel string, market string, device_id string, "
    "event_ts timestamp, original_timestamp timestamp, sent_at timestamp, "
    "received_at timestamp, event_date date, _source string, _landing_file string, "
    "_ingested_at timestamp, _batch_id string",
}
_clock = itertools.count()


def ago(**delta: float) -> datetime:
    return AS_OF - timedelta(**delta)


def _ingested() -> datetime:
    return datetime(2026, 11, 21) + timedelta(seconds=next(_clock))


def _source_row(table: str, values: dict[str, Any], at: datetime, market: str) -> tuple:
    columns = [c.split()[0] for c in SCHEMAS[table].split(", ")]
    meta = {
        "_event_ts": at,
        "_market": market,
        "_source": table,
        "_source_file": f"{table}.csv",
        "_ingested_at": _ingested(),
        "_run_id": "test",
    }
    return tuple(meta[c] if c in meta else values.get(c) for c in columns)


def append_source(
    spark, config: ProjectConfig, table: str, rows: list[tuple[datetime, str, dict]]
) -> None:  # type: ignore[no-untyped-def]
    """(record time, market, column values) rows into bronze.<table>."""
    data = [_source_row(table, values, at, market) for at, market, values in rows]
    spark.createDataFrame(data, SCHEMAS[table]).write.format("delta").mode("append").save(
        config.table_path("bronze", table)
    )


def event(
    message_id: str,
    at: datetime,
    *,
    kind: str = "track",
    name: str | None = None,
    user_id: str | None = None,
    anonymous_id: str | None = None,
    device_id: str | None = None,
    channel: str = "web",
    market: str = "SG",
    traits: dict | None = None,
    properties: dict | None = None,
) -> dict:
    return {
        "message_id": message_id,
        "type": kind,
        "event": name,
        "user_id": user_id,
        "anonymous_id": anonymous_id or f"anon-{message_id}",
        "device_id": device_id,
        "traits": json.dumps(traits) if traits else None,
        "properties": json.dumps(properties or {}),
        "context": json.dumps({"channel": channel, "market": market}),
        "channel": channel,
        "market": market,
        "event_ts": at,
        "received_at": at,
    }


def append_events(spark, config: ProjectConfig, events: list[dict]) -> None:  # type: ignore[no-untyped-def]
    columns = [c.split()[0] for c in SCHEMAS["events"].split(", ")]
    rows = []
    for e in events:
        full = {**e, "_ingested_at": _ingested(), "_source": e["channel"], "_batch_id": "0"}
        full["event_date"] = e["event_ts"].date()
        rows.append(tuple(full.get(c) for c in columns))
    spark.createDataFrame(rows, SCHEMAS["events"]).write.format("delta").mode("append").save(
        config.table_path("bronze", "events")
    )


def write_world(spark, config: ProjectConfig) -> None:  # type: ignore[no-untyped-def]
    append_source(
        spark,
        config,
        "crm",
        [
            (
                ago(days=30),
                "SG",
                {
                    "contact_id": "C1",
                    "country": "SG",
                    "email": "Alice@X.com",
                    "mobile": "+65 9123 4567",
                    "first_name": "alice",
                    "last_name": "tan",
                    "date_of_birth": "1990-01-02",
                    "gender": "F",
                    "city": "Singapore",
                    "postcode": "123456",
                    "email_opt_in": "true",
                    "sms_opt_in": "false",
                },
            ),
            (
                ago(days=50),
                "MY",
                {
                    "contact_id": "C2",
                    "country": "MY",
                    "email": "bob@y.com",
                    "mobile": "+60 12-345 6789",
                    "first_name": "Bob",
                    "last_name": "Lee",
                    "city": "Kuala Lumpur",
                    "email_opt_in": "false",
                    "sms_opt_in": "false",
                },
            ),
            (
                ago(days=40),
                "MY",
                {
                    "contact_id": "C2",
                    "country": "MY",
                    "email": "bob@y.com",
                    "mobile": "+60 12-345 6789",
                    "first_name": "Bob",
                    "last_name": "Lee",
                    "city": "Kuala Lumpur",
                    "email_opt_in": "false",
                    "sms_opt_in": "false",
                },
            ),
            (
                ago(days=10),
                "MY",
                {
                    "contact_id": "C2",
                    "country": "MY",
                    "email": "bob@y.com",
                    "mobile": "+60 12-345 6789",
                    "first_name": "Bob",
                    "last_name": "Lee",
                    "city": "Petaling Jaya",
                    "email_opt_in": "false",
                    "sms_opt_in": "false",
                },
            ),
            # a re-run extract repeated the newest version: a copy, not another vote
            (
                ago(days=10),
                "MY",
                {
                    "contact_id": "C2",
                    "country": "MY",
                    "email": "bob@y.com",
                    "mobile": "+60 12-345 6789",
                    "first_name": "Bob",
                    "last_name": "Lee",
                    "city": "Petaling Jaya",
                    "email_opt_in": "false",
                    "sms_opt_in": "false",
                },
            ),
            (
                ago(days=20),
                "SG",
                {
                    "contact_id": "C4",
                    "country": "SG",
                    "email": "dave@z.com",
                    "first_name": "Dave",
                    "last_name": "Ng",
                },
            ),
        ],
    )
    append_source(
        spark,
        config,
        "loyalty",
        [
            (
                ago(days=5),
                "SG",
                {
                    "member_id": "LY1",
                    "market": "SG",
                    "email": "alice@x.com",
                    "first_name": "Alicia",
                    "last_name": "Tan",
                    "date_of_birth": "1990-01-02",
                    "tier": "Gold",
                },
            ),
        ],
    )
    append_source(
        spark,
        config,
        "pos",
        [
            (
                ago(days=3),
                "SG",
                {
                    "transaction_id": "T1",
                    "market": "SG",
                    "loyalty_no": "LY1",
                    "amount": "50.00",
                    "currency": "SGD",
                    "item_count": "2",
                },
            ),
            (
                ago(days=60),
                "SG",
                {
                    "transaction_id": "T2",
                    "market": "SG",
                    "phone": "+65 8111 2222",
                    "amount": "5000.00",
                    "currency": "SGD",
                    "item_count": "1",
                },
            ),
            (
                ago(days=100),
                "SG",
                {
                    "transaction_id": "T3",
                    "market": "SG",
                    "phone": "+65 8111 2222",
                    "amount": "20.00",
                    "currency": "SGD",
                    "item_count": "1",
                },
            ),
            # the till re-sent T3: it must count once
            (
                ago(days=100),
                "SG",
                {
                    "transaction_id": "T3",
                    "market": "SG",
                    "phone": "+65 8111 2222",
                    "amount": "20.00",
                    "currency": "SGD",
                    "item_count": "1",
                },
            ),
        ],
    )
    append_source(
        spark,
        config,
        "marketplace",
        [
            (
                ago(days=7),
                "MY",
                {
                    "order_id": "M1",
                    "market": "MY",
                    "buyer_id": "B1",
                    "buyer_name": "Zed Z",
                    "platform": "shopee",
                    "amount": "100.00",
                    "currency": "MYR",
                    "item_count": "1",
                },
            ),
        ],
    )
    append_events(
        spark,
        config,
        [
            event(
                "e1",
                ago(days=8),
                kind="identify",
                user_id="u1",
                traits={"email": "alice@x.com", "firstName": "Ali"},
            ),
            event(
                "e2",
                ago(days=8),
                name="purchase_completed",
                user_id="u1",
                properties={
                    "order_id": "W1",
                    "revenue": 30.0,
                    "currency": "SGD",
                    "products": [{"quantity": 2}, {"quantity": 1}],
                },
            ),
            event(
                "e3",
                ago(hours=2),
                name="cart_abandoned",
                user_id="u1",
                properties={"value": 100.0, "currency": "SGD"},
            ),
            event(
                "e4",
                ago(days=1),
                name="consent_updated",
                user_id="u1",
                properties={"purpose": "marketing", "channel": "sms", "granted": True},
            ),
            event(
                "e5",
                ago(days=10),
                kind="identify",
                user_id="u2",
                device_id="d2",
                channel="app",
                market="MY",
                traits={"email": "bob@y.com"},
            ),
            event(
                "e6",
                ago(hours=3),
                name="cart_abandoned",
                user_id="u2",
                device_id="d2",
                channel="app",
                market="MY",
                properties={"value": 80.0, "currency": "MYR"},
            ),
        ],
    )
