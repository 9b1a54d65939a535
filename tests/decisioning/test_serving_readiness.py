"""Ready means able to decide: over real HTTP on loopback, /health and /v1/decide answer 503
naming what is missing until the online store answers and the champion lookup has settled,
then 200. And the serving module starts without the heavy SDKs. No Spark."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from lakecdp.decisioning.caps import cap_counter
from lakecdp.decisioning.decision_log import DecisionLog
from lakecdp.decisioning.endpoint import DecisionService, create_app
from lakecdp.decisioning.online_features import IDENTIFIER_VIEW, OnlineFeatures
from lakecdp.kernel.config import ProjectConfig
from ml.serving.champion import Champions
from ml.serving.registry import ModelVersion, Registry
from tests.conftest import DECIDE_AUTH, free_port, make_config, wait_for

HEAVY = ("feast", "mlflow", "sklearn", "pandas", "pyspark", "scipy", "skops", "sqlalchemy")


class GatedRegistry:
    """A registry that answers (no champion) only once opened: a champion still loading."""

    def __init__(self) -> None:
        self.gate = threading.Event()

    def alias(self, name: str, alias: str) -> ModelVersion | None:
        if not self.gate.wait(60):
            raise TimeoutError("gate never opened")
        return None


def _materialize(config: ProjectConfig) -> None:
    """Feast's registry and SQLite store with one identifier, through Feast's write path."""
    import pandas as pd

    from lakecdp.decisioning.feature_store import apply_definitions

    store = apply_definitions(config)
    row = {
        "identifier": "customer_id:cus_1",
        "customer_id": "cus_1",
        "updated_at": datetime.now(UTC),
    }
    store.write_to_online_store(IDENTIFIER_VIEW, pd.DataFrame([row]))


@contextmanager
def running(config: ProjectConfig, registry: Registry | None = None) -> Iterator[str]:
    online = OnlineFeatures(config)
    service = DecisionService(
        config,
        online,
        cap_counter(config),
        Champions(config, online.service_features, registry),
        DecisionLog(config.decision_log_dir),
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, service), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _decide(url: str) -> httpx.Response:
    body = {"customer_id": "cus_1", "channel": "any", "market": "SG"}
    return httpx.post(f"{url}/v1/decide", json=body, headers=DECIDE_AUTH, timeout=10)


def test_not_ready_until_the_champion_lookup_settles(tmp_path: Path) -> None:
    config = make_config(tmp_path / "lakehouse")
    _materialize(config)
    registry = GatedRegistry()
    with running(config, registry) as url:
        health = httpx.get(f"{url}/health")
        assert health.status_code == 503
        assert any("champion" in w for w in health.json()["waiting_for"]), health.json()
        refused = _decide(url)
        assert refused.status_code == 503 and "champion" in refused.text
        registry.gate.set()
        wait_for(lambda: httpx.get(f"{url}/health").status_code == 200, timeout=30)
        assert httpx.get(f"{url}/health").json()["model_version"] is None
        decided = _decide(url)
        assert decided.status_code == 200, decided.text
        assert decided.json()["customer_id"] == "cus_1"


def test_not_ready_while_the_online_store_is_missing(tmp_path: Path) -> None:
    config = make_config(tmp_path / "lakehouse")
    with running(config) as url:  # no MLflow store: no champion
        health = httpx.get(f"{url}/health")
        assert health.status_code == 503
        assert health.json()["waiting_for"] == [
            f"online store: no Feast registry at {config.features_root}/registry.db: "
            "run `lakecdp features apply`"
        ]
        assert _decide(url).status_code == 503
        assert not Path(config.features_root, "online.db").exists()
        _materialize(config)  # the store appears: the same process becomes ready
        wait_for(lambda: httpx.get(f"{url}/health").status_code == 200, timeout=30)
        assert _decide(url).status_code == 200


@pytest.mark.parametrize(
    "module", ["lakecdp.decisioning.endpoint", "lakecdp.signals.collector.app"]
)
def test_the_servers_import_no_heavy_sdk(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
