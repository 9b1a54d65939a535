"""Erasure on a small real lakehouse: a canary person (every value carries a marker) and a
control person enter by the collector's landing zone (track, identify, a malformed event), a CRM
file and the decision log; ingestion and identity run; an erasure by e-mail alone finds the
rest through the closure; afterwards no table, older version or file holds a canary marker,
read byte by byte (gzip opened, Parquet read directly), while the control's markers remain."""

from __future__ import annotations

import gzip
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from lakecdp.governance.certificate import read_certificate
from lakecdp.governance.intake import submit
from lakecdp.governance.ledger import Ledger
from lakecdp.governance.requests import request_model
from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Table
from lakecdp.kernel.suppression import SuppressionList, suppression_file
from spark_jobs.governance.run import run_requests
from spark_jobs.identity.job import run_identity
from spark_jobs.ingest.batch import run_batch_ingest
from spark_jobs.ingest.decisions import ingest_decisions
from spark_jobs.ingest.stream import StreamOptions, run_streams

pytestmark = [pytest.mark.spark, pytest.mark.timeout(900)]
CANARY, CONTROL = b"qzcanary", b"qzcontrol"


def person(mark: str, n: int) -> dict[str, str]:
    return {
        "user_id": f"u-{mark}",
        "anonymous_id": f"a-{mark}",
        "device": f"d-{mark}",
        "email": f"{mark}.x@example.com",
        "phone": f"+65 8{n}00 000{n}",
        "first": mark.capitalize(),
        "last": f"{mark}son",
    }


def events(p: dict[str, str], mark: str) -> list[dict]:
    context = {"market": "SG", "device": {"id": p["device"]}, "channel": "app"}
    base = {"receivedAt": "2026-11-01T10:00:00Z", "_source": "app", "context": context}
    return [
        {
            **base,
            "type": "identify",
            "messageId": str(uuid.uuid4()),
            "userId": p["user_id"],
            "anonymousId": p["anonymous_id"],
            "timestamp": "2026-11-01T10:00:00Z",
            "traits": {"email": p["email"], "phone": p["phone"], "firstName": p["first"]},
        },
        {
            **base,
            "type": "track",
            "event": "product_viewed",
            "messageId": str(uuid.uuid4()),
            "anonymousId": p["anonymous_id"],
            "timestamp": "2026-11-01T10:01:00Z",
            "properties": {"note": f"viewed by {mark}"},
        },
    ]


def build(spark, config: ProjectConfig) -> dict[str, str]:  # type: ignore[no-untyped-def]
    canary, control = person("qzcanary", 1), person("qzcontrol", 2)
    landing = Path(config.events_landing)
    landing.mkdir(parents=True)
    lines = [orjson.dumps(m) for m in events(canary, "qzcanary") + events(control, "qzcontrol")]
    (landing / "seg-0001.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    rejected = Path(config.rejected_landing)
    rejected.mkdir(parents=True)
    (rejected / "seg-0001.jsonl").write_bytes(
        b"\n".join(
            orjson.dumps(
                {
                    "reason": "missing_event",
                    "detail": "track needs an event name",
                    "source": "app",
                    "endpoint": "track",
                    "receivedAt": "2026-11-01T10:02:00Z",
                    "raw": orjson.dumps({"type": "track", "userId": p["user_id"]}).decode(),
                }
            )
            for p in (canary, control)
        )
        + b"\n"
    )
    crm = Path(config.source_path("crm"))
    crm.mkdir(parents=True)
    header = "contact_id,updated_at,country,email,mobile,first_name,last_name,date_of_birth,"
    header += "gender,city,postcode,email_opt_in,sms_opt_in\n"
    rows = [
        f"c-{m},2026-10-01T00:00:00Z,SG,{p['email'].upper()},{p['phone']},{p['first']},"
        f"{p['last']},1990-01-0{n},f,{m}ville,{m}code,true,false\n"
        for n, (m, p) in enumerate((("qzcanary", canary), ("qzcontrol", control)), 1)
    ]
    with gzip.open(crm / "contacts.csv.gz", "wt") as handle:
        handle.write(header + "".join(rows))
    run_batch_ingest(spark, config)
    run_streams(spark, config, StreamOptions(available_now=True))
    run_identity(spark, config, probabilistic=False)
    id_map = Table(spark, config, "silver", "id_map").read()
    ids = {
        mark: id_map.where(f"id_type = 'user_id' and value = 'u-{mark}'").first().customer_id
        for mark in ("qzcanary", "qzcontrol")
    }
    decisions = Path(config.decision_log_dir)
    decisions.mkdir(parents=True)
    (decisions / "decisions-0001.jsonl").write_bytes(
        b"\n".join(
            orjson.dumps(
                {
                    "decision_id": uuid.uuid4().hex,
                    "customer_id": ids[m],
                    "action": "new_arrivals",
                    "decided_at": "2026-11-02T10:00:00Z",
                    "context": {"page": f"home-{m}"},
                    "reasons": [],
                }
            )
            for m in ids
        )
        + b"\n"
    )
    ingest_decisions(spark, config)
    # a mart as dbt would build it, and a model's evaluation set
    profiles = spark.createDataFrame(
        [(ids["qzcanary"], canary["first"]), (ids["qzcontrol"], control["first"])],
        "customer_id string, first_name string",
    )
    Table(spark, config, "gold", "dim_profiles").overwrite(profiles)
    evaluation = Path(config.evaluation_root) / "purchase_propensity"
    evaluation.mkdir(parents=True)
    profiles.toPandas().to_parquet(evaluation / "holdout.parquet")
    return ids


def sweep(root: Path) -> dict[bytes, int]:
    """Marker counts in every file under `root`, read as bytes (gzip decompressed) and, for
    Parquet, as values (pages are compressed)."""
    counts = {CANARY: 0, CONTROL: 0}
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        if path.name.endswith(".parquet"):
            data = orjson.dumps(pq.read_table(path).to_pylist(), default=str)
        data = data.lower()
        for marker in counts:
            counts[marker] += data.count(marker)
    return counts


def test_an_erasure_by_email_leaves_no_byte_of_the_person(spark, spark_lake: ProjectConfig) -> None:  # type: ignore[no-untyped-def]
    config = spark_lake
    ids = build(spark, config)
    root = Path(config.lakehouse.root)
    before = sweep(root)
    assert before[CANARY] > 20 and before[CONTROL] > 20, before
    events_version = int(
        spark.sql(f"describe history delta.`{config.table_path('bronze', 'events')}`")
        .agg({"version": "max"})
        .first()[0]
    )
    ledger = Ledger.from_config(config)

    def ask(kind: str, id_type: str, value: str) -> str:
        body = request_model(config).model_validate(
            {
                "subject_request_id": str(uuid.uuid4()),
                "subject_request_type": kind,
                "submitted_time": datetime.now(UTC).isoformat(),
                "subject_identities": [{"identity_type": id_type, "identity_value": value}],
                "regulation": "th_pdpa",
            }
        )
        return submit(config, ledger, body, "test").request.request_id

    # first the person asks what we hold (by their app login): a JSON-lines export
    access_id = ask("access", "user_id", "u-qzcanary")
    exported = run_requests(spark, config).exports[access_id]
    export_file = Path(exported["export"])
    lines = [orjson.loads(line) for line in gzip.decompress(export_file.read_bytes()).splitlines()]
    assert len(lines) == exported["rows"] and {"bronze.events", "silver.id_map"} <= {
        line["table"] for line in lines
    }
    assert CANARY in gzip.decompress(export_file.read_bytes()).lower()
    assert CONTROL not in gzip.decompress(export_file.read_bytes()).lower()
    # then to be forgotten (by e-mail)
    request_id = ask("erasure", "email", "QZCANARY.X@example.com")
    summary = run_requests(spark, config)
    assert summary.accepted == [request_id] and summary.completed == [request_id]
    assert ledger.get(access_id).result["rows"] == exported["rows"]
    request = ledger.get(request_id)
    assert request.status.value == "completed"
    # the closure found the person's other identifiers and customer id from the e-mail alone
    assert request.closure["customers"] == 1
    assert set(request.closure["identifiers"]) >= {"email", "phone", "user_id", "anonymous_id"}
    certificate = read_certificate(config, request_id)
    assert certificate is not None and certificate["totals"]["rows_after"] == 0
    by_store = {s["store"]: s for s in certificate["stores"]}
    # the export held exactly what the erasure found, table by table; and it went with it
    assert {t: by_store[f"delta:{t}"]["rows_found"] for t in exported["tables"]} == exported[
        "tables"
    ]
    assert by_store["governance:exports"]["files_removed"] == 1 and not export_file.exists()
    for store, rows in {
        "delta:bronze.events": 2,
        "delta:bronze.crm": 1,
        "delta:bronze.decisions": 1,
        "delta:ops.quarantine": 1,
        "delta:gold.dim_profiles": 1,
        "landing:events": 2,
        "landing:rejected": 1,
        "landing:decisions": 1,
        "landing:sources/crm": 1,
        "mlflow:evaluation_sets": 1,
    }.items():
        assert by_store[store]["rows_removed"] == rows, (store, by_store[store])
    assert by_store["delta:silver.id_map"]["rows_removed"] >= 5
    assert by_store["delta:bronze.events"]["version_after"] > events_version
    # nothing of the canary anywhere, while the control is still there (negative control)
    after = sweep(root)
    assert after[CANARY] == 0, after
    assert after[CONTROL] > 0
    # older versions cannot be read back: their files are gone
    with pytest.raises(Exception, match=r"(?i)not.?found|does not exist|FileNotFound"):
        spark.read.format("delta").option("versionAsOf", events_version).load(
            config.table_path("bronze", "events")
        ).collect()
    # no suppression asked: the door opens again once the erasure is done
    assert ids["qzcanary"] and not SuppressionList(suppression_file(config), 0).hashes()
    text = orjson.dumps(certificate).lower()
    assert CANARY not in text and ids["qzcanary"].encode() not in text
