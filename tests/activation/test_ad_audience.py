"""Ad-audience codecs: what goes on the wire (hashes only) and how answers are read back."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from lakecdp.activation.ad_audience import (
    GOOGLE_MAX_BATCH,
    META_MAX_BATCH,
    GoogleAudienceCodec,
    MetaAudienceCodec,
)
from lakecdp.activation.changes import Change, Codec, Op, idempotency_key
from tests.activation.golden_pii import HASHES

BASE = "https://ads.example.test/v1/"
TOKEN = "secret-token-123"


def change(key: str, op: Op = "upsert", **fields: Any) -> Change:
    payload_hash = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
    return Change(op, key, fields, payload_hash, idempotency_key("s", key, payload_hash))


def meta(**options: Any) -> MetaAudienceCodec:
    return MetaAudienceCodec(BASE, "aud-1", TOKEN, **options)


def google(**options: Any) -> GoogleAudienceCodec:
    return GoogleAudienceCodec(BASE, "customers/1/offlineUserDataJobs/2", TOKEN, **options)


BATCH = [
    change("c1", email="  John.Doe@Example.COM ", phone="9123 4567", market="SG"),
    change("c2", email="J.Doe+promo@GMail.com"),  # no phone
    change("c3", phone="012-345 6789", market="MY"),  # no e-mail
    change("c4", email=HASHES["mary@x.sg"].upper(), phone=HASHES["+61412345678"]),
]
RAW_VALUES = ["John.Doe", "john.doe@example.com", "9123", "4567", "promo", "345 6789"]


def body(request_body: bytes) -> Any:
    return json.loads(request_body)


def test_codecs_satisfy_the_protocol() -> None:
    codecs: list[Codec] = [meta(), google()]
    assert [(c.max_batch, c.one_op_per_batch) for c in codecs] == [
        (META_MAX_BATCH, True),
        (10_000, True),
    ]


def test_meta_upsert_sends_hashes_in_its_schema() -> None:
    request = meta().encode(BATCH, "run-1")
    assert request.method == "POST"
    assert request.url == "https://ads.example.test/v1/aud-1/users"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert body(request.body) == {
        "payload": {
            "schema": ["EMAIL_SHA256", "PHONE_SHA256"],
            "data": [
                [HASHES["john.doe@example.com"], HASHES["6591234567"]],
                [HASHES["j.doe+promo@gmail.com"], ""],
                ["", HASHES["60123456789"]],
                [HASHES["mary@x.sg"], HASHES["+61412345678"]],  # pre-hashed: passed through
            ],
        }
    }
    assert not any(raw.encode() in request.body for raw in RAW_VALUES)


def test_meta_delete_uses_the_same_url_with_delete() -> None:
    removal = [change("c1", "delete", email="a@b.co")]
    request = meta().encode(removal, "run-1")
    assert (request.method, request.url) == ("DELETE", "https://ads.example.test/v1/aud-1/users")
    assert body(request.body)["payload"]["data"] == [[hashlib.sha256(b"a@b.co").hexdigest(), ""]]


def test_google_operations_carry_only_present_identifiers_in_google_form() -> None:
    request = google().encode(BATCH, "run-1")
    assert request.method == "POST"
    assert request.url == (
        "https://ads.example.test/v1/customers/1/offlineUserDataJobs/2:addOperations"
    )
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert body(request.body) == {
        "operations": [
            {
                "create": {
                    "userIdentifiers": [
                        {"hashedEmail": HASHES["john.doe@example.com"]},
                        {"hashedPhoneNumber": HASHES["+6591234567"]},
                    ]
                }
            },
            {"create": {"userIdentifiers": [{"hashedEmail": HASHES["jdoe+promo@gmail.com"]}]}},
            {"create": {"userIdentifiers": [{"hashedPhoneNumber": HASHES["+60123456789"]}]}},
            {
                "create": {
                    "userIdentifiers": [
                        {"hashedEmail": HASHES["mary@x.sg"]},
                        {"hashedPhoneNumber": HASHES["+61412345678"]},
                    ]
                }
            },
        ],
        "enablePartialFailure": True,
    }
    assert not any(raw.encode() in request.body for raw in RAW_VALUES)


def test_google_delete_is_a_remove_operation() -> None:
    request = google().encode([change("c1", "delete", phone="+65 9123 4567")], "run-1")
    assert body(request.body)["operations"] == [
        {"remove": {"userIdentifiers": [{"hashedPhoneNumber": HASHES["+6591234567"]}]}}
    ]


def test_market_comes_from_the_record_then_the_default() -> None:
    local = [change("c1", phone="012-345 6789")]
    assert meta().precheck(local) == {
        "c1": "no_usable_identifier (email: empty, phone: unparsable)"
    }
    request = meta(default_market="MY").encode(local, "run-1")
    assert body(request.body)["payload"]["data"] == [["", HASHES["60123456789"]]]
    in_sg = [change("c1", phone="9123 4567", market="SG")]
    request = meta(default_market="MY").encode(in_sg, "run-1")
    assert body(request.body)["payload"]["data"] == [["", HASHES["6591234567"]]]


def test_field_names_are_configurable() -> None:
    codec = google(email_field="mail", phone_field="mobile", market_field="country")
    request = codec.encode(
        [change("c1", mail="A.B@GoogleMail.com", mobile="0412 345 678", country="AU")], "r"
    )
    assert body(request.body)["operations"][0]["create"]["userIdentifiers"] == [
        {"hashedEmail": HASHES["ab@googlemail.com"]},
        {"hashedPhoneNumber": HASHES["+61412345678"]},
    ]


UNUSABLE = [
    change("bad", email="not-an-email", phone="12345", market="SG"),
    change("ok1", email="a@b.co"),
    change("none", name="Ann"),
    change("ok2", phone="9123 4567", market="SG"),
]


@pytest.mark.parametrize("make", [meta, google])
def test_unusable_changes_are_left_out_and_reported(make: Any) -> None:
    codec = make()
    request = codec.encode(UNUSABLE, "run-1")
    sent = body(request.body)
    rows = sent["payload"]["data"] if "payload" in sent else sent["operations"]
    assert len(rows) == 2
    expected = {
        "bad": "no_usable_identifier (email: invalid_format, phone: invalid_number)",
        "none": "no_usable_identifier (email: empty, phone: empty)",
    }
    assert codec.precheck(UNUSABLE) == expected
    assert codec.rejected(200, b'{"num_received": 2}', UNUSABLE) == expected
    assert codec.rejected(200, b"not json", UNUSABLE) == expected


@pytest.mark.parametrize("make", [meta, google])
def test_a_delete_without_fields_cannot_be_sent(make: Any) -> None:
    removal = [change("c9", "delete")]
    assert make().precheck(removal) == {"c9": "no_identifiers: the change carries no fields"}


@pytest.mark.parametrize(("make", "limit"), [(meta, META_MAX_BATCH), (google, GOOGLE_MAX_BATCH)])
def test_batch_size_is_bounded_by_the_platform(make: Any, limit: int) -> None:
    assert make(batch_size=limit).max_batch == limit
    for size in (0, limit + 1):
        with pytest.raises(ValueError, match=f"between 1 and {limit}"):
            make(batch_size=size)


@pytest.mark.parametrize("make", [meta, google])
def test_encode_refuses_oversized_mixed_and_empty_batches(make: Any) -> None:
    codec = make(batch_size=2)
    with pytest.raises(ValueError, match="exceeds max_batch 2"):
        codec.encode([change(f"c{i}", email="a@b.co") for i in range(3)], "run-1")
    with pytest.raises(ValueError, match="one operation"):
        codec.encode([change("c1", email="a@b.co"), change("c2", "delete", email="c@d.co")], "r")
    with pytest.raises(ValueError, match="empty batch"):
        codec.encode([], "run-1")


def test_meta_invalid_entry_samples_reject_the_matching_records() -> None:
    answer = {
        "audience_id": "aud-1",
        "num_received": 4,
        "num_invalid_entries": 2,
        "invalid_entry_samples": {
            HASHES["j.doe+promo@gmail.com"].upper(): f"Invalid hash {HASHES['mary@x.sg']}",
            "ffff": "unknown entry",
        },
    }
    rejected = meta().rejected(200, json.dumps(answer).encode(), BATCH)
    assert rejected == {"c2": "invalid_entry: Invalid hash <hash>"}


def test_meta_sample_list_form_is_read_too() -> None:
    answer = {"num_invalid_entries": 1, "invalid_entry_samples": [HASHES["60123456789"]]}
    assert meta().rejected(200, json.dumps(answer).encode(), BATCH) == {"c3": "invalid_entry"}


def test_meta_clean_answer_rejects_nothing() -> None:
    answer = {"num_received": 4, "num_invalid_entries": 0, "invalid_entry_samples": {}}
    assert meta().rejected(200, json.dumps(answer).encode(), BATCH) == {}


def google_failure(*errors: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "partialFailureError": {
                "code": 3,
                "message": "Multiple errors in details.",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.ads.googleads.v17.errors."
                        "GoogleAdsFailure",
                        "errors": list(errors),
                        "requestId": "req-1",
                    }
                ],
            }
        }
    ).encode()


def op_error(index: object, code: dict[str, str], trigger: str = "") -> dict[str, Any]:
    path = [
        {"fieldName": "operations", "index": index},
        {"fieldName": "create"},
        {"fieldName": "user_identifiers", "index": 0},
    ]
    return {
        "errorCode": code,
        "message": "The SHA256 encoded value is malformed.",
        "trigger": {"stringValue": trigger},
        "location": {"fieldPathElements": path},
    }


def test_google_partial_failure_maps_operation_indexes_to_keys() -> None:
    # "bad" and "none" are not sent, so operation 0 is "ok1" and operation 1 is "ok2"
    answer = google_failure(
        op_error(1, {"offlineUserDataJobError": "INVALID_SHA256_FORMAT"}, trigger="9123 4567"),
        op_error("1", {"offlineUserDataJobError": "INVALID_SHA256_FORMAT"}),
        op_error(1, {"collectionSizeError": "TOO_MANY"}),
        {"errorCode": {"requestError": "UNKNOWN"}, "message": "no location"},
        op_error(7, {"offlineUserDataJobError": "INVALID_SHA256_FORMAT"}),  # out of range
    )
    rejected = google().rejected(200, answer, UNUSABLE)
    assert rejected == {
        "bad": "no_usable_identifier (email: invalid_format, phone: invalid_number)",
        "none": "no_usable_identifier (email: empty, phone: empty)",
        "ok2": "offlineUserDataJobError.INVALID_SHA256_FORMAT; collectionSizeError.TOO_MANY",
    }
    assert "9123" not in rejected["ok2"]


def test_google_answer_without_partial_failure_rejects_nothing() -> None:
    assert google().rejected(200, b"{}", BATCH) == {}
    assert google().rejected(200, b"", BATCH) == {}


def test_google_error_without_code_falls_back_to_a_cleaned_message() -> None:
    error = op_error(0, {})
    error["message"] = f"bad value {HASHES['mary@x.sg']}"
    assert google().rejected(200, google_failure(error), BATCH) == {"c1": "bad value <hash>"}


def test_google_extra_headers_are_sent_and_the_token_stays_out_of_repr() -> None:
    codec = google(extra_headers={"developer-token": "dev", "Authorization": "ignored"})
    request = codec.encode(BATCH[:1], "run-1")
    assert request.headers["developer-token"] == "dev"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in repr(codec)


@pytest.mark.parametrize("make", [meta, google])
def test_a_batch_with_nothing_sendable_encodes_an_empty_request(make: Any) -> None:
    # precheck lets the delivery engine skip such a batch instead of sending it
    nothing = [UNUSABLE[0], UNUSABLE[2]]
    sent = body(make().encode(nothing, "run-1").body)
    assert sent.get("operations", sent.get("payload", {}).get("data")) == []
    assert set(make().precheck(nothing)) == {"bad", "none"}


def test_meta_error_answer_gives_the_reason_of_a_single_change() -> None:
    answer = {
        "error": {
            "message": "Invalid parameter",
            "code": 100,
            "error_subcode": 1713230,
            "error_user_title": "Audience Upload Blocked",
        }
    }
    one = BATCH[:1]
    assert meta().rejected(400, json.dumps(answer).encode(), one) == {
        "c1": "meta_error 100/1713230: Audience Upload Blocked"
    }
    assert meta().rejected(400, b"<html>", one) == {}  # the engine then says "HTTP 400"


def test_google_error_answer_gives_the_reason_of_a_single_change() -> None:
    failure = json.loads(google_failure(op_error(0, {"mutateError": "RESOURCE_NOT_FOUND"})))
    answer = {
        "error": {
            "code": 400,
            "message": "Request contains an invalid argument.",
            "status": "INVALID_ARGUMENT",
            "details": failure["partialFailureError"]["details"],
        }
    }
    one = BATCH[:1]
    assert google().rejected(400, json.dumps(answer).encode(), one) == {
        "c1": "mutateError.RESOURCE_NOT_FOUND"
    }
    del answer["error"]["details"]
    assert google().rejected(400, json.dumps(answer).encode(), one) == {
        "c1": "INVALID_ARGUMENT: Request contains an invalid argument."
    }
    assert google().rejected(400, json.dumps(answer).encode(), [UNUSABLE[0]]) == {
        "bad": "no_usable_identifier (email: invalid_format, phone: invalid_number)"
    }
