"""The file destination: complete files only, locally and on a real S3-compatible server
(moto's, on loopback), read back as a consumer would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from moto.server import ThreadedMotoServer

from lakecdp.activation.changes import Change, idempotency_key
from lakecdp.activation.files import FileDrop, object_store

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def _changes() -> list[Change]:
    upsert = Change("upsert", "c1", {"email": "a@example.com", "orders": 3}, "h1", "")
    return [
        Change(
            upsert.op,
            upsert.key,
            upsert.fields,
            upsert.payload_hash,
            idempotency_key("s", "c1", "h1"),
        ),
        Change("delete", "c2", {}, "", idempotency_key("s", "c2", "")),
    ]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _client(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_a_local_drop_writes_one_complete_file_per_chunk_and_no_partial_names(
    tmp_path: Path,
) -> None:
    drop = FileDrop(
        str(tmp_path), sync="s", run_id="r1", fields=["orders", "email"], file_format="csv"
    )
    outcomes = drop.send(_changes())
    assert [(o.key, o.status) for o in outcomes] == [("c1", "accepted"), ("c2", "accepted")]
    files = sorted(p.name for p in (tmp_path / "s" / "run_id=r1").iterdir())
    assert files == ["part-00000.csv"]
    table = pa_csv.read_csv(tmp_path / "s" / "run_id=r1" / "part-00000.csv").to_pylist()
    assert table[0]["email"] == "a@example.com" and table[1]["op"] == "delete"


def test_an_s3a_drop_uploads_complete_objects_a_consumer_reads_back(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    client = _client(s3_endpoint)
    client.create_bucket(Bucket="partner-drops")
    drop = FileDrop(
        "s3a://partner-drops/cdp/",
        sync="s",
        run_id="r1",
        fields=["email", "orders"],
        file_format="parquet",
        endpoint_url=s3_endpoint,
    )
    first, second = drop.send(_changes()[:1]), drop.send(_changes()[1:])
    assert [o.status for o in first + second] == ["accepted", "accepted"]
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket="partner-drops")["Contents"])
    assert keys == ["cdp/s/run_id=r1/part-00000.parquet", "cdp/s/run_id=r1/part-00001.parquet"]
    store, prefix = object_store("s3://partner-drops/cdp", s3_endpoint)
    with store.open_input_file(f"{prefix}/s/run_id=r1/part-00000.parquet") as handle:
        rows = pq.read_table(handle).to_pylist()
    assert rows == [
        {
            "op": "upsert",
            "key": "c1",
            "idempotency_key": idempotency_key("s", "c1", "h1"),
            "email": "a@example.com",
            "orders": "3",
        }
    ]


def test_an_unreachable_bucket_fails_the_chunk_so_the_next_run_sends_it_again(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    drop = FileDrop(
        "s3://no-such-bucket/x",
        sync="s",
        run_id="r1",
        fields=["email", "orders"],
        file_format="csv",
        endpoint_url=s3_endpoint,
    )
    outcomes = drop.send(_changes())
    assert {o.status for o in outcomes} == {"failed"}
    assert all(o.error_class for o in outcomes)


@pytest.mark.parametrize("path", ["ftp://host/x", "s3://", "hdfs://nn/x"])
def test_an_unsupported_uri_is_refused_with_the_forms_that_work(path: str) -> None:
    with pytest.raises(ValueError, match="s3a://"):
        FileDrop(path, sync="s", run_id="r", fields=[], file_format="csv")
