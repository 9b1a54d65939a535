"""Our HTTP wire format: what a request carries, and how receivers check it."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from email.utils import formatdate

import pytest

from lakecdp.activation.http_delivery import parse_retry_after
from lakecdp.activation.wire_format import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    WireFormatCodec,
    sign_body,
    verify_signature,
)
from tests.activation.http_world import SYNC, make_change, make_changes

URL = "http://receiver.test/records"


def test_encode_builds_the_documented_body_and_headers() -> None:
    codec = WireFormatCodec(URL, SYNC, auth_header="Bearer abc", signing_secret="k")
    changes = [make_change("a"), make_change("b", "delete")]
    request = codec.encode(changes, "run-7")
    assert (request.method, request.url) == ("POST", URL)
    assert json.loads(request.body) == {
        "sync": SYNC,
        "run_id": "run-7",
        "records": [
            {
                "op": "upsert",
                "key": "a",
                "fields": changes[0].fields,
                "idempotency_key": changes[0].idempotency_key,
            },
            {
                "op": "delete",
                "key": "b",
                "fields": {},
                "idempotency_key": changes[1].idempotency_key,
            },
        ],
    }
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == "Bearer abc"
    assert verify_signature(request.body, request.headers[SIGNATURE_HEADER], "k")


def test_unsigned_codec_sends_no_signature_or_authorization() -> None:
    request = WireFormatCodec(URL, SYNC).encode(make_changes(2), "run-1")
    assert SIGNATURE_HEADER not in request.headers and "Authorization" not in request.headers


def test_request_idempotency_key_is_stable_for_a_retry_and_new_in_another_run() -> None:
    codec = WireFormatCodec(URL, SYNC)
    changes = make_changes(5)
    key = codec.encode(changes, "run-1").headers[IDEMPOTENCY_HEADER]
    assert codec.encode(changes, "run-1").headers[IDEMPOTENCY_HEADER] == key
    assert codec.encode(changes[::-1], "run-1").headers[IDEMPOTENCY_HEADER] == key
    assert codec.encode(changes, "run-2").headers[IDEMPOTENCY_HEADER] != key
    assert codec.encode(changes[:4], "run-1").headers[IDEMPOTENCY_HEADER] != key


def test_signature_fails_for_another_body_secret_or_a_missing_header() -> None:
    body = b'{"sync":"s","run_id":"r","records":[]}'
    header = sign_body(body, "secret")
    assert header.startswith("sha256=") and len(header) == len("sha256=") + 64
    assert verify_signature(body, header, "secret")
    assert not verify_signature(body + b" ", header, "secret")
    assert not verify_signature(body, header, "other")
    assert not verify_signature(body, None, "secret")
    assert not verify_signature(body, "sha256=" + "0" * 64, "secret")


def test_repr_shows_neither_secrets_nor_url() -> None:
    codec = WireFormatCodec(
        "https://hooks.test/T0KEN", SYNC, auth_header="Bearer zzz", signing_secret="yyy"
    )
    assert "zzz" not in repr(codec) and "yyy" not in repr(codec) and "T0KEN" not in repr(codec)


def test_decimals_are_sent_as_strings_and_unknown_types_name_no_value() -> None:
    codec = WireFormatCodec(URL, SYNC)
    request = codec.encode([make_change("a", fields={"ltv": Decimal("12.30")})], "r")
    assert json.loads(request.body)["records"][0]["fields"] == {"ltv": "12.30"}
    with pytest.raises(TypeError) as error:
        codec.encode([make_change("a", fields={"x": object()})], "r")
    assert "object" in str(error.value) and "0x" not in str(error.value)


def test_rejected_reads_only_this_batchs_keys_from_a_2xx_body() -> None:
    codec = WireFormatCodec(URL, SYNC)
    changes = make_changes(3)
    body = json.dumps(
        {
            "rejected": [
                {"key": "c1", "reason": "unknown contact"},
                {"key": "zz", "reason": "not sent"},
                {"key": "c2"},
            ]
        }
    ).encode()
    assert codec.rejected(200, body, changes) == {
        "c1": "unknown contact",
        "c2": "rejected (HTTP 200)",
    }
    assert codec.rejected(200, b"", changes) == {}
    assert codec.rejected(200, b"not json", changes) == {}
    assert codec.rejected(200, b'{"accepted": 3}', changes) == {}


def test_retry_after_is_read_in_seconds_and_as_an_http_date() -> None:
    now = time.time()
    assert parse_retry_after("120") == 120
    assert parse_retry_after(" 0.25 ") == 0.25
    assert parse_retry_after("-3") == 0
    in_ten = parse_retry_after(formatdate(now + 10, usegmt=True), now=now)
    assert in_ten is not None and 9 <= in_ten <= 10
    assert parse_retry_after(formatdate(now - 60, usegmt=True), now=now) == 0
    for unreadable in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(unreadable) is None
