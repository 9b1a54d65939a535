"""Personal data as ad platforms match it: each platform's normal form, then SHA-256 hex.

A matched audience only works when our hash equals the platform's hash of the same person, so
the normal form must be the platform's documented one, not ours:

- e-mail, both platforms: trimmed (all whitespace removed), lower-cased. Google additionally
  drops the dots of the local part for gmail.com and googlemail.com: its enhanced-conversions
  and Campaign Manager 360 guides require it, and the Customer Match guide says it is not
  required (dotted addresses are still accepted), so one Google form serves both.
  Neither platform strips "+tags" nor rewrites googlemail.com to gmail.com, so identity's
  provider rules (which do both, to fold mailboxes for matching) are not applied here.
- phone: E.164 read in the record's market. Google hashes "+6591234567", Meta hashes the digits
  with country code and no "+" ("6591234567").

Parsing and validity come from `lakecdp.identity.normalizers`, so a value that identity
refuses is refused here too, with identity's reason. A value that is already a 64-hex SHA-256
passes through lower-cased: hashing a hash would silently match nobody.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Literal

from lakecdp.identity.normalizers import Normalized, normalize_email, normalize_phone

Platform = Literal["meta", "google"]
PLATFORMS: tuple[Platform, ...] = ("meta", "google")

GOOGLE_DOTLESS_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


def sha256_hex(text: str) -> str:
    """Lower-case hex SHA-256 of the UTF-8 bytes: the encoding both platforms document."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_sha256_hex(value: object) -> bool:
    """True for a string of exactly 64 hex digits (surrounding whitespace ignored)."""
    return isinstance(value, str) and _SHA256_HEX.match(value.strip()) is not None


def text_of(value: object) -> str | None:
    """A field value as text, None when missing: phone columns read as numbers arrive as int or
    integral float, and "6591234567.0" would parse as another number."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def _prehashed(raw: object) -> Normalized | None:
    if is_sha256_hex(raw):
        return Normalized(str(raw).strip().lower())
    return None


def _check_platform(platform: str) -> None:
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}; known: {', '.join(PLATFORMS)}")


def _raw_domain(raw: object) -> str:
    return "".join(str(raw).split()).lower().rstrip(">\"'").rpartition("@")[2]


def normalize_email_for(raw: object, platform: Platform) -> Normalized:
    """The platform's normal form of an e-mail address (not hashed).

    Identity's `normalize_email(provider_rules=False)` validates and cleans (whitespace, case,
    `<...>`, `mailto:`); it also folds googlemail.com into gmail.com, which neither platform
    does, so the original domain is put back.
    """
    _check_platform(platform)
    checked = normalize_email(raw, provider_rules=False)
    if checked.value is None:
        return checked
    local, _, domain = checked.value.rpartition("@")
    if domain == "gmail.com" and _raw_domain(raw) == "googlemail.com":
        domain = "googlemail.com"
    if platform == "google" and domain in GOOGLE_DOTLESS_DOMAINS:
        local = local.replace(".", "")
        if not local:
            return Normalized(None, "invalid_format")
    return Normalized(f"{local}@{domain}")


def _region(market: str | None) -> str | None:
    region = (market or "").strip().upper()
    return region or None


def normalize_phone_e164(raw: object, market: str | None) -> Normalized:
    """E.164 with "+", numbers without a country code read in `market` (ISO code, any case)."""
    return normalize_phone(text_of(raw), region=_region(market))


def normalize_phone_for(raw: object, market: str | None, platform: Platform) -> Normalized:
    """The platform's normal form of a phone number: Google "+6591234567", Meta "6591234567"."""
    _check_platform(platform)
    e164 = normalize_phone_e164(raw, market)
    if e164.value is None or platform == "google":
        return e164
    return Normalized(e164.value.lstrip("+"))


def hash_email(raw: object, platform: Platform) -> Normalized:
    """SHA-256 hex of the platform's normal form; an existing hash passes through."""
    _check_platform(platform)
    prehashed = _prehashed(raw)
    if prehashed is not None:
        return prehashed
    normal = normalize_email_for(raw, platform)
    return normal if normal.value is None else Normalized(sha256_hex(normal.value))


def hash_phone(raw: object, market: str | None, platform: Platform) -> Normalized:
    """SHA-256 hex of the platform's phone form; an existing hash passes through."""
    _check_platform(platform)
    prehashed = _prehashed(raw)
    if prehashed is not None:
        return prehashed
    normal = normalize_phone_for(raw, market, platform)
    return normal if normal.value is None else Normalized(sha256_hex(normal.value))
