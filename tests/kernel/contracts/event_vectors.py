"""Cases that the collector's validator and the stream's Spark rules must judge alike.

Each case: (name, raw JSON line, expected reason or None when valid).
"""

from __future__ import annotations

import json

from lakecdp.kernel.contracts.events import Reason

_BASE = {
    "messageId": "m-1",
    "type": "track",
    "event": "product_viewed",
    "anonymousId": "anon-1",
    "timestamp": "2026-10-01T10:00:00.000Z",
    "sentAt": "2026-10-01T10:00:01.000Z",
    "context": {"channel": "web", "market": "SG"},
    "properties": {"sku": "A1"},
}


def _case(name: str, expected: Reason | None, **changes: object) -> tuple[str, str, str | None]:
    message = {**_BASE, **changes}
    message = {k: v for k, v in message.items() if v is not _DROP}
    return name, json.dumps(message), expected.value if expected else None


_DROP = object()

VECTORS: list[tuple[str, str, str | None]] = [
    _case("valid track", None),
    _case(
        "valid identify with user id only",
        None,
        type="identify",
        event=_DROP,
        anonymousId=_DROP,
        userId="u-1",
        traits={"email": "a@b.co"},
    ),
    _case(
        "valid page with offset timestamp",
        None,
        type="page",
        event=_DROP,
        timestamp="2026-10-01T18:00:00+08:00",
    ),
    _case("valid alias", None, type="alias", event=_DROP, userId="u-1", previousId="anon-1"),
    _case("valid group", None, type="group", event=_DROP, groupId="g-1"),
    _case("missing message id", Reason.MISSING_MESSAGE_ID, messageId=_DROP),
    _case("blank message id", Reason.MISSING_MESSAGE_ID, messageId="  "),
    _case("unknown type", Reason.UNKNOWN_TYPE, type="purchase"),
    _case("missing type", Reason.UNKNOWN_TYPE, type=_DROP),
    _case("no identity", Reason.MISSING_IDENTITY, anonymousId=_DROP),
    _case("blank identities", Reason.MISSING_IDENTITY, anonymousId="", userId=" "),
    _case("track without event", Reason.MISSING_EVENT_NAME, event=_DROP),
    _case("alias without previous id", Reason.MISSING_PREVIOUS_ID, type="alias", event=_DROP),
    _case("group without group id", Reason.MISSING_GROUP_ID, type="group", event=_DROP),
    _case("timestamp not a time", Reason.INVALID_TIMESTAMP, timestamp="yesterday"),
    _case("timestamp without zone", Reason.INVALID_TIMESTAMP, timestamp="2026-10-01T10:00:00"),
    _case("sentAt not a time", Reason.INVALID_TIMESTAMP, sentAt="2026-13-45T99:00:00Z"),
    _case("traits not an object", Reason.INVALID_FIELD_TYPE, traits="vip"),
    _case("context not an object", Reason.INVALID_FIELD_TYPE, context=["web"]),
    _case("user id is an object", Reason.INVALID_FIELD_TYPE, userId={"id": 1}),
]

MALFORMED_LINES = ['{"messageId": "m-2", "type": "track"', "not json at all"]
