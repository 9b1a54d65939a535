"""Identifier normalizers: one per identifier kind, pure functions on strings.

The same functions serve the Spark pipeline (as vectorized UDFs where no built-in column
function can do the job, as for phone numbers) and `lakecdp identity resolve` on users' CSVs,
so both match identically. An invalid value is not an error: it comes back with a reason, is
left out of matching and counted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers

# Mailbox providers that ignore dots in the local part and/or a "+tag" suffix.
DOT_INSENSITIVE_DOMAINS = frozenset({"gmail.com"})
PLUS_TAG_DOMAINS = frozenset(
    {"gmail.com", "outlook.com", "hotmail.com", "live.com", "icloud.com", "me.com", "proton.me"}
)
DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}
_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}$"
)
_ZERO_DEVICE = re.compile(r"^[0-]+$")


@dataclass(frozen=True)
class Normalized:
    """A normalized value, or None with the reason it cannot be used for matching."""

    value: str | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.value is not None


def _invalid(reason: str) -> Normalized:
    return Normalized(None, reason)


def _clean(raw: object) -> str:
    return "" if raw is None else " ".join(str(raw).split())


def normalize_email(raw: object, *, provider_rules: bool = True) -> Normalized:
    """Trim, lower-case; with provider rules, fold gmail dots and plus-tags to one mailbox."""
    text = _clean(raw).strip("<>\"' ").lower().replace(" ", "")
    if not text:
        return _invalid("empty")
    if text.startswith("mailto:"):
        text = text[len("mailto:") :]
    if not _EMAIL.match(text) or ".." in text:
        return _invalid("invalid_format")
    local, _, domain = text.rpartition("@")
    domain = DOMAIN_ALIASES.get(domain, domain)
    if provider_rules:
        if domain in PLUS_TAG_DOMAINS:
            local = local.split("+", 1)[0]
        if domain in DOT_INSENSITIVE_DOMAINS:
            local = local.replace(".", "")
        if not local:
            return _invalid("invalid_format")
    return Normalized(f"{local}@{domain}")


def normalize_phone(raw: object, *, region: str | None) -> Normalized:
    """E.164 via libphonenumber; local formats are read in the record's market (`region`)."""
    text = _clean(raw)
    if not text:
        return _invalid("empty")
    if not any(ch.isdigit() for ch in text):
        return _invalid("unparsable")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return _invalid("unparsable")
    if not phonenumbers.is_valid_number(number):
        return _invalid("invalid_number")
    return Normalized(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalize_device_id(raw: object) -> Normalized:
    """Advertising and install ids are case-insensitive; all-zero ids mean 'tracking limited'."""
    text = _clean(raw).lower()
    if not text:
        return _invalid("empty")
    if _ZERO_DEVICE.match(text):
        return _invalid("zero_device_id")
    return Normalized(text)


def normalize_loyalty_id(raw: object) -> Normalized:
    """Member numbers are read aloud and typed: case, spaces and hyphens carry no meaning."""
    text = re.sub(r"[\s-]", "", _clean(raw)).upper()
    return Normalized(text) if text else _invalid("empty")


def normalize_token(raw: object) -> Normalized:
    """Opaque ids (user, anonymous, marketplace buyer, custom): exact, only trimmed."""
    text = _clean(raw)
    return Normalized(text) if text else _invalid("empty")


Normalizer = Callable[..., Normalized]
NORMALIZERS: dict[str, Normalizer] = {
    "email": normalize_email,
    "phone": normalize_phone,
    "device_id": normalize_device_id,
    "loyalty_id": normalize_loyalty_id,
    "anonymous_id": normalize_token,
    "user_id": normalize_token,
    "marketplace_buyer_id": normalize_token,
    "custom": normalize_token,
}


def normalize(kind: str, raw: object, *, region: str | None = None) -> Normalized:
    """Normalize `raw` as an identifier of `kind` (the `kind` of a configured identifier type)."""
    try:
        normalizer = NORMALIZERS[kind]
    except KeyError:
        raise ValueError(
            f"unknown identifier kind {kind!r}; known: {', '.join(NORMALIZERS)}"
        ) from None
    if kind == "phone":
        return normalizer(raw, region=region)
    return normalizer(raw)
