import json

import pytest

from lakecdp.kernel.contracts.events import Reason, Rejection, parse_timestamp, validate_message
from tests.kernel.contracts.event_vectors import VECTORS


@pytest.mark.parametrize(("name", "line", "expected"), VECTORS, ids=[v[0] for v in VECTORS])
def test_collector_validator_judges_vector(name: str, line: str, expected: str | None) -> None:
    message = json.loads(line)
    if expected is None:
        validate_message(message)
    else:
        with pytest.raises(Rejection) as info:
            validate_message(message)
        assert info.value.reason.value == expected


def test_collector_may_assign_missing_message_ids() -> None:
    validate_message({"type": "page", "anonymousId": "a"}, require_message_id=False)


def test_non_object_message_is_refused() -> None:
    with pytest.raises(Rejection) as info:
        validate_message(["track"])
    assert info.value.reason is Reason.NOT_AN_OBJECT


def test_parse_timestamp_needs_a_zone() -> None:
    assert parse_timestamp("2026-10-01T10:00:00Z") is not None
    assert parse_timestamp("2026-10-01T10:00:00+07:00") is not None
    assert parse_timestamp("2026-10-01T10:00:00") is None
    assert parse_timestamp(12345) is None
