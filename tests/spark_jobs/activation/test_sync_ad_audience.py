"""An ad-audience sync through `run_sync`, as an operator declares it in lakecdp.yaml: members
reach a Meta-like endpoint on loopback as hashes only, and one who leaves the audience is
removed by the hashes the state kept (never raw values)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.delta import Lakehouse
from spark_jobs.activation.plan import STATE
from spark_jobs.activation.run import run_sync
from tests.activation.ad_world import TOKEN, running_audience
from tests.conftest import make_config

pytestmark = pytest.mark.spark

AUDIENCE_SCHEMA = "customer_id string, email string, phone string, market string"
AUDIENCE = [
    ("c1", " Ann.Lee@Example.COM ", "9123 4567", "SG"),
    ("c2", "bob@example.com", "+60 12-345 6789", "MY"),
    ("c3", None, "not a phone", "SG"),  # nothing usable: rejected with a reason, never sent
]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _config(root: Path, url: str) -> ProjectConfig:
    destination = {
        "type": "ad_audience",
        "platform": "meta",
        "url": url,
        "audience_id": "aud1",
        "access_token": TOKEN,
        "limits": {"requests_per_second": 50, "timeout_seconds": 5},
    }
    sync = {
        "source": "aud_test",
        "primary_key": "customer_id",
        "mode": "mirror",
        "destination": "ads",
        "mapping": {"email": "email", "phone": "phone", "market": "market"},
        "guards": {"max_delete_share": 1.0, "max_source_drop_share": 1.0},
        "alerts": {"max_rejected_share": 0.5},
    }
    return make_config(
        root,
        LAKECDP__DESTINATIONS__ADS=json.dumps(destination),
        LAKECDP__SYNCS__TO_ADS=json.dumps(sync),
    )


def test_an_ad_audience_sync_adds_hashes_and_removes_a_leaver_by_the_kept_hashes(
    spark, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with running_audience() as (fake, url):
        config = _config(tmp_path / "lake", url)
        lake = Lakehouse(spark, config)
        lake.table("gold", "aud_test").overwrite(spark.createDataFrame(AUDIENCE, AUDIENCE_SCHEMA))
        first = run_sync(spark, config, "to_ads")
        assert (first.counts["accepted"], first.counts["rejected"]) == (2, 1)
        ann = (_sha("ann.lee@example.com"), _sha("6591234567"))
        bob = (_sha("bob@example.com"), _sha("60123456789"))
        assert fake.members == {ann, bob}
        kept = {r.key: r.sent_fields for r in lake.table(*STATE).read().collect()}
        assert json.loads(kept["c1"]) == {"email": ann[0], "phone": ann[1]}
        assert kept["c3"] is None  # rejected: nothing held, planned again next run

        lake.table("gold", "aud_test").overwrite(
            spark.createDataFrame(AUDIENCE[1:2], AUDIENCE_SCHEMA)
        )
        second = run_sync(spark, config, "to_ads", force=True)
        assert (second.counts["delete"], second.counts["accepted"]) == (1, 1)
        assert fake.members == {bob}
    sent = b"".join(fake.bodies)
    assert b"Example" not in sent and b"9123" not in sent and b"bob@" not in sent
    state = b"".join(str(v).encode() for v in kept.values())
    assert b"@" not in state and b"9123" not in state
