"""Identifier normalizers on the formats real sources (and the generator) produce."""

from __future__ import annotations

import pytest

from lakecdp.identity.normalizers import NORMALIZERS, normalize, normalize_email
from lakecdp.kernel.config import IDENTIFIER_KINDS


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("9123 4567", "SG", "+6591234567"),
        ("+65 9123 4567", "MY", "+6591234567"),  # an international number ignores the market
        ("6591234567", "SG", "+6591234567"),
        ("012-345 6789", "MY", "+60123456789"),
        ("0812-3456-7890", "ID", "+6281234567890"),
        ("081 234 5678", "TH", "+66812345678"),
        ("0917 123 4567", "PH", "+639171234567"),
        ("091 234 56 78", "VN", "+84912345678"),
    ],
)
def test_local_phone_formats_become_e164(raw: str, region: str, expected: str) -> None:
    assert normalize("phone", raw, region=region).value == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("unknown", "unparsable"),
        ("0000000000", "invalid_number"),
        ("12", "invalid_number"),
    ],
)
def test_unusable_phones_carry_a_reason(raw: str, reason: str) -> None:
    result = normalize("phone", raw, region="SG")
    assert (result.value, result.reason) == (None, reason)


def test_email_case_whitespace_and_provider_rules() -> None:
    assert normalize("email", "  Ann.Tan+promo@GoogleMail.com ").value == "anntan@gmail.com"
    assert normalize("email", "ann.tan@outlook.com").value == "ann.tan@outlook.com"
    assert normalize("email", "ann+x@outlook.com").value == "ann@outlook.com"
    assert normalize("email", "ann+x@company.sg").value == "ann+x@company.sg"
    assert normalize_email("A.B+c@gmail.com", provider_rules=False).value == "a.b+c@gmail.com"


@pytest.mark.parametrize("raw", ["", "unknown", "ann@", "@x.com", "a@b", "a..b@x.com", "a b@x"])
def test_malformed_emails_are_refused(raw: str) -> None:
    assert not normalize("email", raw).ok


def test_device_loyalty_and_opaque_ids() -> None:
    assert normalize("device_id", " ABCD-EF01 ").value == "abcd-ef01"
    assert normalize("device_id", "00000000-0000-0000-0000-000000000000").reason == "zero_device_id"
    assert normalize("loyalty_id", "lp 1234-56").value == "LP123456"
    assert normalize("user_id", " User-7 ").value == "User-7"  # opaque ids keep their case
    assert normalize("anonymous_id", None).reason == "empty"


def test_every_configurable_kind_has_a_normalizer() -> None:
    assert set(IDENTIFIER_KINDS) == set(NORMALIZERS)
    with pytest.raises(ValueError, match="unknown identifier kind"):
        normalize("passport", "x")
