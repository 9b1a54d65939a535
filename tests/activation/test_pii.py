"""Golden vectors for the ad platforms' normal forms and hashes (Meta and Google).

Raw input -> each platform's normal form (tables below) -> SHA-256 hex (literal digests in
`golden_pii.HASHES`; the first test checks that table, so a typo in it cannot pass silently).
"""

from __future__ import annotations

import hashlib

import pytest

from lakecdp.activation import pii
from lakecdp.identity.normalizers import normalize
from tests.activation.golden_pii import HASHES

# raw e-mail -> (Meta's normal form, Google's normal form)
EMAILS = [
    ("  John.Doe@Example.COM ", "john.doe@example.com", "john.doe@example.com"),
    # Google drops local-part dots on gmail.com; neither platform strips "+tags"
    ("J.Doe+promo@GMail.com", "j.doe+promo@gmail.com", "jdoe+promo@gmail.com"),
    # googlemail.com keeps its domain (identity would fold it into gmail.com)
    ("A.B@GoogleMail.com ", "a.b@googlemail.com", "ab@googlemail.com"),
    ("<Mary@X.sg>", "mary@x.sg", "mary@x.sg"),
    ("john doe@example.com", "johndoe@example.com", "johndoe@example.com"),
    ("\tjohn.doe@EXAMPLE.com\n", "john.doe@example.com", "john.doe@example.com"),
]

# raw phone, market -> Google's E.164 ("+" and country code); Meta's form is the same digits
PHONES = [
    ("9123 4567", "SG", "+6591234567"),
    ("+65 9123-4567", "SG", "+6591234567"),
    ("6591234567", "SG", "+6591234567"),  # country code without "+"
    ("65 9123 4567", "SG", "+6591234567"),
    ("(+65) 8123 4567", "SG", "+6581234567"),
    ("001 65 9123 4567", "SG", "+6591234567"),  # SG's international prefix
    ("9123 4567", "sg", "+6591234567"),  # market in any case
    ("012-345 6789", "MY", "+60123456789"),  # trunk zero dropped
    ("60123456789", "MY", "+60123456789"),
    ("+60 12 345 6789", "SG", "+60123456789"),  # an explicit country code beats the market
    ("0065 9123 4567", "MY", "+6591234567"),  # MY's international prefix 00
    ("081 234 5678", "TH", "+66812345678"),
    ("66812345678", "TH", "+66812345678"),
    ("๐๘๑ ๒๓๔ ๕๖๗๘", "TH", "+66812345678"),  # Thai digits
    ("0812-3456-7890", "ID", "+6281234567890"),
    ("+62 812 3456 7890", "ID", "+6281234567890"),
    ("62812 3456 7890", "ID", "+6281234567890"),
    ("0917 123 4567", "PH", "+639171234567"),
    ("091 234 56 78", "VN", "+84912345678"),
    ("0412 345 678", "AU", "+61412345678"),
    ("+61 412 345 678", None, "+61412345678"),  # no market needed with a country code
    ("61412345678", "AU", "+61412345678"),
    ("02 9374 4000", "AU", "+61293744000"),  # landline
    ("0011 65 9123 4567", "AU", "+6591234567"),  # AU's international prefix
    (6591234567, "SG", "+6591234567"),  # a numeric column
    (6591234567.0, "SG", "+6591234567"),  # ... read as float
]

BAD_PHONES = [
    ("12345", "SG", "invalid_number"),
    ("1234 5678", "SG", "invalid_number"),  # right length, no such range
    ("abc", "SG", "unparsable"),
    ("", "SG", "empty"),
    (None, "SG", "empty"),
    ("0412345678", None, "unparsable"),  # local number and no market
    ("9123 4567", "XX", "unparsable"),  # unknown market
    # "00" is not an international prefix in SG (libphonenumber reads 006 as one): identity's
    # rule, kept so both layers agree
    ("0065 9123 4567", "SG", "invalid_number"),
]

BAD_EMAILS = [
    ("not-an-email", "invalid_format"),
    ("a@b", "invalid_format"),
    ("ann..tan@example.com", "invalid_format"),
    ("", "empty"),
    ("   ", "empty"),
    (None, "empty"),
]

PREHASHED = "  2B16C9631BFDD87C9C498B6346D95CB3546F48E0E713C84182D1F1A6D75B143B "


def test_golden_table_is_sha256_of_its_normal_forms() -> None:
    for normal, digest in HASHES.items():
        assert hashlib.sha256(normal.encode()).hexdigest() == digest
        assert pii.sha256_hex(normal) == digest


@pytest.mark.parametrize(("raw", "meta", "google"), EMAILS)
def test_email_golden_vectors_per_platform(raw: str, meta: str, google: str) -> None:
    assert pii.normalize_email_for(raw, "meta").value == meta
    assert pii.normalize_email_for(raw, "google").value == google
    assert pii.hash_email(raw, "meta").value == HASHES[meta]
    assert pii.hash_email(raw, "google").value == HASHES[google]


@pytest.mark.parametrize(("raw", "market", "e164"), PHONES)
def test_phone_golden_vectors_per_platform(raw: object, market: str | None, e164: str) -> None:
    meta = e164.removeprefix("+")
    assert pii.normalize_phone_for(raw, market, "google").value == e164
    assert pii.normalize_phone_for(raw, market, "meta").value == meta
    assert pii.hash_phone(raw, market, "google").value == HASHES[e164]
    assert pii.hash_phone(raw, market, "meta").value == HASHES[meta]


@pytest.mark.parametrize(("raw", "market", "e164"), PHONES)
def test_phone_parsing_is_identitys(raw: object, market: str | None, e164: str) -> None:
    region = market.upper() if market else None
    assert normalize("phone", pii.text_of(raw), region=region).value == e164


@pytest.mark.parametrize(("raw", "market", "reason"), BAD_PHONES)
@pytest.mark.parametrize("platform", pii.PLATFORMS)
def test_bad_phone_is_none_with_a_reason(
    raw: object, market: str | None, reason: str, platform: pii.Platform
) -> None:
    result = pii.hash_phone(raw, market, platform)
    assert (result.value, result.reason) == (None, reason)


@pytest.mark.parametrize(("raw", "reason"), BAD_EMAILS)
@pytest.mark.parametrize("platform", pii.PLATFORMS)
def test_bad_email_is_none_with_a_reason(
    raw: str | None, reason: str, platform: pii.Platform
) -> None:
    result = pii.hash_email(raw, platform)
    assert (result.value, result.reason) == (None, reason)


def test_google_refuses_a_gmail_local_part_made_of_dots() -> None:
    assert pii.normalize_email_for(".@gmail.com", "google").reason == "invalid_format"


@pytest.mark.parametrize("platform", pii.PLATFORMS)
def test_existing_hash_passes_through_lower_cased(platform: pii.Platform) -> None:
    expected = HASHES["+6591234567"]
    assert pii.hash_email(PREHASHED, platform).value == expected
    assert pii.hash_phone(PREHASHED, "SG", platform).value == expected
    assert pii.hash_phone(PREHASHED, None, platform).value == expected


def test_almost_hashes_are_treated_as_raw_values() -> None:
    assert not pii.is_sha256_hex(HASHES["mary@x.sg"][:63])
    assert not pii.is_sha256_hex(HASHES["mary@x.sg"][:63] + "g")
    assert pii.hash_email(HASHES["mary@x.sg"][:63], "meta").reason == "invalid_format"


def test_reasons_come_from_a_fixed_vocabulary_so_never_carry_the_value() -> None:
    vocabulary = {"empty", "invalid_format", "unparsable", "invalid_number"}
    for platform in pii.PLATFORMS:
        for phone, market, _ in BAD_PHONES:
            assert pii.hash_phone(phone, market, platform).reason in vocabulary
        for email, _ in BAD_EMAILS:
            assert pii.hash_email(email, platform).reason in vocabulary


def test_unknown_platform_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match=r"unknown platform 'tiktok'; known: meta, google"):
        pii.hash_email("a@b.co", "tiktok")  # type: ignore[arg-type]
