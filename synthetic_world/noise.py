"""The kinds of dirt real customer data carries, how often the world gets each, and their names.

Rates are per record (row, line or event) unless said otherwise. The malformed kinds together
come to about 1% of each source and of the event stream, the rate the ingestion and quarantine
layers are sized and tested against. Every injected defect is counted under its name here, so
the summary says exactly what a clean pipeline should have caught.
"""

from __future__ import annotations

# -- identity noise (counted once per affected person or device) ------------------------------
SHARED_DEVICE = "shared_device"  # one device/browser install used by 2+ people of a household
HOUSEHOLD_PHONE = "household_phone"  # a person who gives another household member's phone
PLACEHOLDER = "placeholder_value"  # test@test.com, 0000000000, unknown ...

# -- file sources -------------------------------------------------------------------------------
DUPLICATE_ROW = "duplicate_row"
WRONG_COLUMN_COUNT = "wrong_column_count"  # a truncated row
BROKEN_QUOTING = "broken_quoting"  # an unquoted comma (extra column) or unescaped inner quotes
UNPARSABLE_TIMESTAMP = "unparsable_timestamp"
NO_IDENTIFIER = "no_identifier"  # every identifier column empty
NOT_JSON = "not_json"  # a JSONL line cut short

# -- events ---------------------------------------------------------------------------------------
DUPLICATE_EVENT = "duplicate_event"  # re-sent: same messageId, same payload
LATE_EVENT = "late_event"  # queued offline: sentAt hours or days after timestamp
EVENT_MISSING_IDENTITY = "event_missing_identity"  # neither userId nor anonymousId
TRACK_MISSING_EVENT = "track_missing_event"
EVENT_NOT_JSON = "event_not_json"
EVENT_UNPARSABLE_TIMESTAMP = "event_unparsable_timestamp"

MALFORMED_KINDS = frozenset(
    {
        WRONG_COLUMN_COUNT,
        BROKEN_QUOTING,
        UNPARSABLE_TIMESTAMP,
        NO_IDENTIFIER,
        NOT_JSON,
        EVENT_MISSING_IDENTITY,
        TRACK_MISSING_EVENT,
        EVENT_NOT_JSON,
        EVENT_UNPARSABLE_TIMESTAMP,
    }
)

# Malformed shares per record, by file format; each sums to 1%.
MALFORMED_RATES: dict[str, tuple[tuple[str, float], ...]] = {
    "csv": (
        (WRONG_COLUMN_COUNT, 0.003),
        (BROKEN_QUOTING, 0.002),
        (UNPARSABLE_TIMESTAMP, 0.003),
        (NO_IDENTIFIER, 0.002),
    ),
    # The loyalty file's record id is itself an identifier, so its rows never lack one.
    "jsonl": ((NOT_JSON, 0.005), (UNPARSABLE_TIMESTAMP, 0.005)),
    "parquet": ((UNPARSABLE_TIMESTAMP, 0.005), (NO_IDENTIFIER, 0.005)),
    "events": (
        (EVENT_MISSING_IDENTITY, 0.003),
        (TRACK_MISSING_EVENT, 0.002),
        (EVENT_NOT_JSON, 0.003),
        (EVENT_UNPARSABLE_TIMESTAMP, 0.002),
    ),
}
EVENT_MALFORMED_RATE = sum(rate for _, rate in MALFORMED_RATES["events"])
DUPLICATE_ROW_RATE = 0.006
DUPLICATE_EVENT_RATE = 0.008
LATE_APP_SESSION_RATE = 0.06  # share of app sessions delivered late (phone was offline)
PLACEHOLDER_RATE = 0.015  # per email or phone value written to a file source

PLACEHOLDER_EMAILS = ("test@test.com", "na@na.com", "unknown", "noemail@noemail.com", "-")
PLACEHOLDER_PHONES = ("0000000000", "unknown", "12345678", "-", "99999999")


_TOTALS = {kind: sum(rate for _, rate in rates) for kind, rates in MALFORMED_RATES.items()}


def pick_malformation(r: float, kind: str) -> str | None:
    """The malformed kind a uniform draw `r` selects for a record of this format, if any."""
    if r >= _TOTALS[kind]:
        return None
    for name, rate in MALFORMED_RATES[kind]:
        if r < rate:
            return name
        r -= rate
    return None
