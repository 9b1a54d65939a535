"""The privacy part of `make demo`: a customer who was synced to the CRM asks to be forgotten;
the request is taken (by e-mail, as a privacy desk would), `lakecdp_privacy` carries it out
through Airflow, and the certificate is printed; then the e-mail is looked up again and names
nobody."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from rich.console import Console

from lakecdp.kernel.config import ProjectConfig


class _DemoRun(Protocol):
    config: ProjectConfig
    console: Console
    spark: Any
    results: dict[str, Any]

    def dag(self, dag_id: str, **options: Any) -> Callable[[], Any]: ...


def _someone_synced(spark: Any, config: ProjectConfig) -> tuple[str, str] | None:
    """(customer id, e-mail) of a customer in an audience a sync sends, with an e-mail."""
    from pyspark.sql import functions as F

    from lakecdp.kernel.delta import Table

    audiences = [s.source for s in config.syncs.values()]
    customers = Table(spark, config, "gold", "dim_customers").read()
    for audience in audiences:
        table = Table(spark, config, "gold", audience)
        if not table.exists():
            continue
        found = (
            table.read()
            .select("customer_id")
            .join(customers.where(F.size("emails") > 0), "customer_id")
            .orderBy("customer_id")
            .select("customer_id", F.col("emails")[0].alias("email"))
            .first()
        )
        if found is not None:
            return found.customer_id, found.email
    return None


class PrivacyDemo:
    """The demo's erasure; fills `demo.results["privacy"]`."""

    def __init__(self, demo: _DemoRun) -> None:
        self.demo = demo
        self.out: dict[str, Any] = {}
        demo.results["privacy"] = self.out

    def steps(self) -> list[tuple[str, Callable[[], Any]]]:
        return [("privacy: one customer erased (DAG lakecdp_privacy), its certificate", self.erase)]

    def erase(self) -> None:
        from lakecdp.cli.activation_demo import start_receivers
        from lakecdp.cli.privacy import print_certificate
        from lakecdp.cli.servers import stop_server
        from lakecdp.governance.certificate import certificate_path, read_certificate
        from lakecdp.governance.intake import submit
        from lakecdp.governance.ledger import Ledger
        from lakecdp.governance.requests import request_model
        from lakecdp.kernel.delta import Table

        config, console = self.demo.config, self.demo.console
        person = _someone_synced(self.demo.spark, config)
        if person is None:
            console.print("privacy: nobody in a synced audience has an e-mail; nothing to erase")
            return
        customer_id, email = person
        body = request_model(config).model_validate(
            {
                "subject_request_id": str(uuid.uuid4()),
                "subject_request_type": "erasure",
                "submitted_time": datetime.now(UTC).isoformat(),
                "subject_identities": [{"identity_type": "email", "identity_value": email}],
                "regulation": "sg_pdpa",
            }
        )
        request = submit(config, Ledger.from_config(config), body, "demo").request
        console.print(
            f"erasure request {request.request_id} taken for customer {customer_id} (by e-mail; "
            f"due {request.due_time:%Y-%m-%d}); the e-mail is suppressed at the doors already"
        )
        receivers = start_receivers(config)  # HTTP destinations hear the delete records
        try:
            self.demo.dag("lakecdp_privacy")()
        finally:
            for receiver in receivers:
                stop_server(receiver)
        certificate = read_certificate(config, request.request_id)
        if certificate is None:
            raise RuntimeError(f"erasure {request.request_id} left no certificate")
        path = str(certificate_path(config, request.request_id))
        print_certificate(request.request_id, certificate, path, console)
        id_map = Table(self.demo.spark, config, "silver", "id_map").read()
        left = id_map.where(id_map.customer_id == customer_id).count()
        console.print(f"silver.id_map rows of {customer_id} now: {left}")
        self.out.update(
            request_id=request.request_id,
            customer_id=customer_id,
            certificate=path,
            totals=certificate["totals"],
            seconds=certificate["seconds"],
            stores_touched=sorted(s["store"] for s in certificate["stores"] if s["rows_found"]),
            rows_removed={s["store"]: s["rows_removed"] for s in certificate["stores"]},
            id_map_rows_after=left,
        )
