"""Subject hashes: the Spark expression and the Python function give the same hash, so a door in
Python and an erasure join in Spark find the same person."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from lakecdp.kernel.subjects import SubjectKeyMissing, spark_subject_hash, subject_hash

# a long key (hashed to 32 bytes first, as HMAC does) and a short one
KEYS = ["k", "x" * 100]
VALUES = [("email", "alice@example.com"), ("phone", "+6581234567"), ("user_id", "ü-ñ 漢字")]


@pytest.mark.parametrize("key", KEYS)
def test_python_hash_is_standard_hmac_sha256(key: str) -> None:
    for id_type, value in VALUES:
        expected = hmac.new(key.encode(), f"{id_type}:{value}".encode(), hashlib.sha256)
        assert subject_hash(key, id_type, value) == expected.hexdigest()


@pytest.mark.spark
def test_spark_hash_equals_python_hash(spark) -> None:  # type: ignore[no-untyped-def]
    frame = spark.createDataFrame(VALUES, "id_type string, value string")
    for key in KEYS:
        got = {
            (r.id_type, r.value): r.h
            for r in frame.select(
                "id_type", "value", spark_subject_hash(key, "id_type", "value").alias("h")
            ).collect()
        }
        assert got == {(t, v): subject_hash(key, t, v) for t, v in VALUES}


def test_no_key_no_hash() -> None:
    with pytest.raises(SubjectKeyMissing, match="LAKECDP_SUBJECT_KEY"):
        subject_hash("", "email", "a@b.c")
