"""The field-mapping transforms: registry, chains, null handling, Series == scalar."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from lakecdp.activation.transforms import (
    TRANSFORMS,
    apply_transforms,
    apply_transforms_frame,
    apply_transforms_series,
    check_transform_names,
)
from lakecdp.kernel.config import MappedField
from lakecdp.kernel.config.activation import TRANSFORM_NAMES
from tests.activation.golden_pii import HASHES

REQUIRED = {
    "trim",
    "lower",
    "upper",
    "digits",
    "e164",
    "sha256",
    "email_sha256",
    "phone_sha256_meta",
    "phone_sha256_google",
}


def test_registry_holds_the_documented_transforms() -> None:
    assert set(TRANSFORMS) >= REQUIRED
    # The configuration validates names against its own list: the two must agree.
    assert set(TRANSFORMS) == set(TRANSFORM_NAMES)


def test_a_mapping_naming_an_unknown_transform_is_refused_when_the_config_loads() -> None:
    with pytest.raises(ValidationError, match="unknown transform 'lowercase'"):
        MappedField(column="email", transform=["trim", "lowercase"])
    with pytest.raises(ValidationError, match="must come first"):
        MappedField(column="emails", transform=["trim", "first"])
    assert (
        MappedField(column="emails", transform=["first", "trim", "lower"]).transform[0] == "first"
    )


def test_unknown_transform_is_named_with_the_known_ones() -> None:
    with pytest.raises(ValueError) as error:
        check_transform_names(["trim", "lowercase", "sha256"])
    message = str(error.value)
    assert "unknown transform 'lowercase'" in message
    assert all(name in message for name in REQUIRED)


def test_check_accepts_a_single_name_and_an_empty_chain() -> None:
    check_transform_names("lower")
    check_transform_names([])
    with pytest.raises(ValueError, match="'nope'"):
        check_transform_names("nope")


def test_apply_refuses_unknown_names_before_touching_values() -> None:
    with pytest.raises(ValueError, match="unknown transform 'md5'"):
        apply_transforms(["md5"], None, None)


@pytest.mark.parametrize(
    ("names", "value", "market", "expected"),
    [
        (["trim", "lower"], "  Ann@Example.COM ", None, "ann@example.com"),
        (["trim", "upper"], " sg ", None, "SG"),
        (["digits"], "+65 9123-4567", None, "6591234567"),
        (["digits"], "๐๘๑-๒๓๔", None, "081234"),
        (["e164"], "9123 4567", "SG", "+6591234567"),
        (["e164"], "012-345 6789", "my", "+60123456789"),
        (["e164_digits"], "081 234 5678", "TH", "66812345678"),
        (["phone_sha256_google"], "0412 345 678", "AU", HASHES["+61412345678"]),
        (["phone_sha256_meta"], "0412 345 678", "AU", HASHES["61412345678"]),
        (["phone_sha256_meta"], 6591234567.0, "SG", HASHES["6591234567"]),
        (["email_sha256"], " J.Doe+promo@GMail.com", None, HASHES["j.doe+promo@gmail.com"]),
        (["email_sha256_meta"], "J.Doe+promo@GMail.com", None, HASHES["j.doe+promo@gmail.com"]),
        (["email_sha256_google"], "J.Doe+promo@GMail.com", None, HASHES["jdoe+promo@gmail.com"]),
        (["email_google"], "A.B@GoogleMail.com", None, "ab@googlemail.com"),
        (["trim", "lower", "sha256"], " Mary@X.sg ", None, HASHES["mary@x.sg"]),
        (["sha256"], HASHES["mary@x.sg"].upper(), None, HASHES["mary@x.sg"]),  # no re-hash
        (["e164", "sha256"], "9123 4567", "SG", HASHES["+6591234567"]),
        ("lower", "ABC", None, "abc"),
        ([], 42, None, "42"),
    ],
)
def test_chains(names: list[str], value: object, market: str | None, expected: str) -> None:
    assert apply_transforms(names, value, market) == (expected, None)


@pytest.mark.parametrize(
    ("names", "value", "market", "reason"),
    [
        (["trim", "e164"], "12345", "SG", "e164: invalid_number"),
        (["e164"], "0412345678", None, "e164: unparsable"),
        (["trim", "lower"], "   ", None, "trim: empty"),
        (["digits"], "n/a", None, "digits: no_digits"),
        (["email_sha256"], "not-an-email", None, "email_sha256: invalid_format"),
        (["trim", "phone_sha256_meta", "upper"], "abc", "SG", "phone_sha256_meta: unparsable"),
    ],
)
def test_refused_values_stop_the_chain_with_a_reason(
    names: list[str], value: str, market: str | None, reason: str
) -> None:
    assert apply_transforms(names, value, market) == (None, reason)
    assert value.strip() == "" or value not in reason


@pytest.mark.parametrize("null", [None, math.nan, pd.NA])
def test_null_in_null_out_without_a_reason(null: object) -> None:
    assert apply_transforms(["trim", "e164", "sha256"], null, "SG") == (None, None)


NAMES = ["trim", "phone_sha256_meta"]


def test_series_matches_scalar_and_keeps_index_and_name() -> None:
    values = pd.Series(
        ["9123 4567", None, "012-345 6789", "12345", "9123 4567", math.nan, 6591234567.0],
        index=[10, 11, 12, 13, 14, 15, 16],
        name="phone",
    )
    markets = pd.Series(["SG", "SG", "MY", "SG", "MY", None, "SG"], index=values.index)
    result = apply_transforms_series(NAMES, values, markets)
    expected = [apply_transforms(NAMES, v, m)[0] for v, m in zip(values, markets, strict=True)]
    assert result.tolist() == expected
    assert list(result.index) == list(values.index)
    assert result.name == "phone"
    assert result.dtype == object
    assert result[10] == HASHES["6591234567"]
    assert result[14] is None  # same digits, other market: not a valid MY number
    assert result[11] is None and result[13] is None


def test_frame_carries_the_reasons() -> None:
    values = pd.Series(["9123 4567", "12345", None])
    frame = apply_transforms_frame(NAMES, values, "SG")
    assert frame["reason"].tolist() == [None, "phone_sha256_meta: invalid_number", None]
    assert frame["value"].tolist()[0] == HASHES["6591234567"]


def test_series_takes_a_market_for_all_rows_or_none() -> None:
    values = pd.Series(["9123 4567", "+61 412 345 678"])
    assert apply_transforms_series(["e164"], values, "SG").tolist() == [
        "+6591234567",
        "+61412345678",
    ]
    assert apply_transforms_series(["e164"], values).tolist() == [None, "+61412345678"]


def test_series_refuses_markets_of_another_length() -> None:
    with pytest.raises(ValueError, match="same length"):
        apply_transforms_series(["e164"], pd.Series(["1"]), pd.Series(["SG", "MY"]))


def test_series_on_pandas_string_dtype_with_missing_values() -> None:
    values = pd.Series([" A@B.co ", pd.NA], dtype="string")
    assert apply_transforms_series(["trim", "lower"], values).tolist() == ["a@b.co", None]


_cells = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.sampled_from(["9123 4567", "+60 12 345 6789", "081 234 5678", "A.B@GMail.com", "  "]),
    st.integers(min_value=0, max_value=10**12),
)
_chains = st.lists(st.sampled_from(sorted(TRANSFORMS)), max_size=3)


@settings(max_examples=60, deadline=None)
@given(
    names=_chains,
    rows=st.lists(
        st.tuples(_cells, st.sampled_from([None, "SG", "MY", "TH", "ID", "AU", "xx"])),
        max_size=12,
    ),
)
def test_series_equals_scalar_for_any_chain(
    names: list[str], rows: list[tuple[object, str | None]]
) -> None:
    values = pd.Series([v for v, _ in rows], dtype=object)
    markets = pd.Series([m for _, m in rows], dtype=object)
    frame = apply_transforms_frame(names, values, markets)
    scalar = [apply_transforms(names, v, m) for v, m in rows]
    assert list(zip(frame["value"], frame["reason"], strict=True)) == scalar
