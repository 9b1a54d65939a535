"""The behavioural event envelope (Segment spec) and its validation rules.

The collector applies these rules at the edge (so a client hears at once why an event was
refused) and the stream ingestion applies the same rules, written as Spark column expressions,
to anything in the landing zone (so files dropped there by other producers are held to the same
contract). Both use the reason codes below; `tests/kernel/contracts/event_vectors.py` checks
that they agree.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

ENVELOPE_VERSION = 1
EVENT_TYPES = ("track", "identify", "page", "screen", "alias", "group")
# Fields whose value must be a JSON object when present.
OBJECT_FIELDS = ("traits", "properties", "context", "integrations")
# Fields whose value must be an ISO-8601 timestamp when present.
TIMESTAMP_FIELDS = ("timestamp", "sentAt", "originalTimestamp")
STRING_ID_FIELDS = ("userId", "anonymousId", "messageId", "previousId", "groupId")


class Reason(StrEnum):
    """Why a record was refused. Stable codes: dashboards and quarantine queries use them."""

    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_MESSAGE_ID = "missing_message_id"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_IDENTITY = "missing_identity"
    MISSING_EVENT_NAME = "missing_event_name"
    MISSING_PREVIOUS_ID = "missing_previous_id"
    MISSING_GROUP_ID = "missing_group_id"
    INVALID_TIMESTAMP = "invalid_timestamp"
    INVALID_FIELD_TYPE = "invalid_field_type"
    MESSAGE_TOO_LARGE = "message_too_large"
    # file sources
    MALFORMED_ROW = "malformed_row"
    MISSING_COLUMNS = "missing_columns"
    UNREADABLE_FILE = "unreadable_file"
    NO_IDENTIFIER = "no_identifier"
    INVALID_MARKET = "invalid_market"


class Rejection(ValueError):
    """A message that breaks the contract; `reason` is a Reason code, `detail` says where."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


def parse_timestamp(value: Any) -> datetime | None:
    """ISO-8601 with a zone (Segment SDKs send '...Z' or '+08:00'); None when unparsable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _present(value: Any) -> bool:
    return isinstance(value, str | int) and str(value).strip() != ""


def validate_message(message: Any, *, require_message_id: bool = True) -> None:
    """Raise Rejection when `message` breaks the envelope contract.

    `require_message_id` is False at the collector, which assigns ids the way Segment does when
    a client sends none; the landing zone always holds one.
    """
    if not isinstance(message, dict):
        raise Rejection(
            Reason.NOT_AN_OBJECT, f"expected a JSON object, got {type(message).__name__}"
        )
    for field in STRING_ID_FIELDS:
        value = message.get(field)
        if value is not None and not isinstance(value, str | int):
            raise Rejection(Reason.INVALID_FIELD_TYPE, f"{field} must be a string")
    for field in OBJECT_FIELDS:
        value = message.get(field)
        if value is not None and not isinstance(value, dict):
            raise Rejection(Reason.INVALID_FIELD_TYPE, f"{field} must be an object")
    if require_message_id and not _present(message.get("messageId")):
        raise Rejection(Reason.MISSING_MESSAGE_ID, "messageId is required")
    event_type = message.get("type")
    if event_type not in EVENT_TYPES:
        raise Rejection(Reason.UNKNOWN_TYPE, f"type must be one of {', '.join(EVENT_TYPES)}")
    if not (_present(message.get("userId")) or _present(message.get("anonymousId"))):
        raise Rejection(Reason.MISSING_IDENTITY, "userId or anonymousId is required")
    if event_type == "track" and not _present(message.get("event")):
        raise Rejection(Reason.MISSING_EVENT_NAME, "track needs an event name")
    if event_type == "alias" and not _present(message.get("previousId")):
        raise Rejection(Reason.MISSING_PREVIOUS_ID, "alias needs previousId")
    if event_type == "group" and not _present(message.get("groupId")):
        raise Rejection(Reason.MISSING_GROUP_ID, "group needs groupId")
    for field in TIMESTAMP_FIELDS:
        value = message.get(field)
        if value is not None and parse_timestamp(value) is None:
            raise Rejection(
                Reason.INVALID_TIMESTAMP, f"{field} is not an ISO-8601 timestamp with zone"
            )
