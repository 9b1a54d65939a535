"""Named per-field transforms a sync's field mapping applies (`transform: [trim, lower]`).

Each transform takes a text value and the record's market and returns the new value, or None
with a reason (never raises on a bad value): one bad phone must not fail a sync. Null in, null
out, without a reason: a missing value is not an error. The same chain runs on one value
(`apply_transforms`) and on pandas Series inside a Spark pandas UDF (`apply_transforms_series`),
with identical results, because the Series helpers call the scalar chain.

Hashing transforms follow `lakecdp.activation.pii`; `sha256` passes an existing 64-hex hash
through instead of hashing it again.
"""

from __future__ import annotations

import contextlib
import math
import unicodedata
from collections.abc import Callable, Sequence
from functools import partial

import pandas as pd

from lakecdp.activation import pii

Result = tuple[str | None, str | None]
Transform = Callable[[str, str | None], Result]
TransformNames = str | Sequence[str]


def _trim(value: str, market: str | None) -> Result:
    text = value.strip()
    return (text, None) if text else (None, "empty")


def _lower(value: str, market: str | None) -> Result:
    return value.lower(), None


def _upper(value: str, market: str | None) -> Result:
    return value.upper(), None


def _digits(value: str, market: str | None) -> Result:
    # ASCII digits only; Thai, full-width and other decimal digits are read as their value.
    text = "".join(str(unicodedata.decimal(ch)) for ch in value if ch.isdecimal())
    return (text, None) if text else (None, "no_digits")


def _sha256(value: str, market: str | None) -> Result:
    if pii.is_sha256_hex(value):
        return value.strip().lower(), None
    return pii.sha256_hex(value), None


def _e164(value: str, market: str | None) -> Result:
    result = pii.normalize_phone_e164(value, market)
    return result.value, result.reason


def _e164_digits(value: str, market: str | None) -> Result:
    result = pii.normalize_phone_for(value, market, "meta")
    return result.value, result.reason


def _email(platform: pii.Platform, value: str, market: str | None) -> Result:
    result = pii.normalize_email_for(value, platform)
    return result.value, result.reason


def _email_sha256(platform: pii.Platform, value: str, market: str | None) -> Result:
    result = pii.hash_email(value, platform)
    return result.value, result.reason


def _phone_sha256(platform: pii.Platform, value: str, market: str | None) -> Result:
    result = pii.hash_phone(value, market, platform)
    return result.value, result.reason


TRANSFORMS: dict[str, Transform] = {
    "trim": _trim,
    "lower": _lower,
    "upper": _upper,
    "digits": _digits,
    "sha256": _sha256,
    # phones, read in the record's market when they carry no country code
    "e164": _e164,  # "+6591234567" (Google's form)
    "e164_digits": _e164_digits,  # "6591234567" (Meta's form)
    "phone_sha256_google": partial(_phone_sha256, "google"),
    "phone_sha256_meta": partial(_phone_sha256, "meta"),
    # e-mails: "email"/"email_sha256" are the common rule (trim, lower-case); Google's adds
    # dropping local-part dots on gmail.com/googlemail.com
    "email": partial(_email, "meta"),
    "email_google": partial(_email, "google"),
    "email_sha256": partial(_email_sha256, "meta"),
    "email_sha256_meta": partial(_email_sha256, "meta"),
    "email_sha256_google": partial(_email_sha256, "google"),
}


def _as_names(names: TransformNames) -> tuple[str, ...]:
    return (names,) if isinstance(names, str) else tuple(names)


def check_transform_names(names: TransformNames) -> None:
    """Raise ValueError naming the first unknown transform and listing the known ones."""
    for name in _as_names(names):
        if name not in TRANSFORMS:
            raise ValueError(
                f"unknown transform {name!r}; known transforms: {', '.join(sorted(TRANSFORMS))}"
            )


def _is_null(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _market(market: object) -> str | None:
    return None if _is_null(market) else str(market)


def apply_transforms(names: TransformNames, value: object, market: str | None) -> Result:
    """Run the named transforms left to right: (value, None), or (None, reason) at the first
    step that cannot produce a value; the reason is "<transform>: <problem>"."""
    chain = _as_names(names)
    check_transform_names(chain)
    return _run(chain, value, _market(market))


def _run(chain: tuple[str, ...], value: object, region: str | None) -> Result:
    text = None if _is_null(value) else pii.text_of(value)
    if text is None:
        return None, None
    for name in chain:
        result, reason = TRANSFORMS[name](text, region)
        if result is None:
            return None, f"{name}: {reason or 'invalid'}"
        text = result
    return text, None


def apply_transforms_frame(
    names: TransformNames, values: pd.Series, markets: pd.Series | str | None = None
) -> pd.DataFrame:
    """Values and reasons for a Series, on its index: columns `value` and `reason`.

    Each distinct (value, market) pair is transformed once: audiences repeat markets and
    often values, and phone parsing is the costly step.
    """
    chain = _as_names(names)
    check_transform_names(chain)
    if isinstance(markets, pd.Series):
        if len(markets) != len(values):
            raise ValueError("values and markets must have the same length")
        market_list: list[object] = markets.tolist()
    else:
        market_list = [markets] * len(values)
    cache: dict[tuple[object, ...], Result] = {}
    out_values: list[str | None] = []
    out_reasons: list[str | None] = []
    for value, market in zip(values.tolist(), market_list, strict=True):
        region = _market(market)
        key = (type(value), None if _is_null(value) else value, region)
        try:
            result = cache[key]
        except (KeyError, TypeError):
            result = _run(chain, value, region)
            with contextlib.suppress(TypeError):  # an unhashable cell is just not cached
                cache[key] = result
        out_values.append(result[0])
        out_reasons.append(result[1])
    return pd.DataFrame(
        {
            "value": pd.Series(out_values, index=values.index, dtype=object),
            "reason": pd.Series(out_reasons, index=values.index, dtype=object),
        }
    )


def apply_transforms_series(
    names: TransformNames, values: pd.Series, markets: pd.Series | str | None = None
) -> pd.Series:
    """The transformed Series (object dtype, None where null or refused), same index and name."""
    result = apply_transforms_frame(names, values, markets)["value"]
    result.name = values.name
    return result
