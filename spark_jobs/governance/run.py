"""`lakecdp privacy run`: accept pending requests (freeze the closure, shut the door on all of
it), then carry out what each asks; an erasure ends with its certificate.

Acceptance computes the identity closure (closure.py) and stores its subject hashes in the
ledger; the suppression list grows to the whole closure at that moment. Erasure then visits the
files (landing segments, source drops, evaluation sets) and every Delta table, identity's own
tables last: a run that stops half-way recomputes the closure from the frozen hashes and finds
the rest. An erasure without `suppress` lifts its suppression when it completes, so a person who
comes back later starts a new profile with no link to the old one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import SparkSession

from lakecdp.governance.callbacks import send_status
from lakecdp.governance.certificate import StoreResult, write_certificate
from lakecdp.governance.erase_files import (
    Matcher,
    erase_evaluation_sets,
    erase_landing,
    erase_sources,
)
from lakecdp.governance.erase_online import erase_online
from lakecdp.governance.ledger import Ledger, now
from lakecdp.governance.requests import SUPPRESSING, PrivacyRequest, RequestType, Status
from lakecdp.identity.subjects import SubjectHasher
from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.tables import list_delta_tables
from spark_jobs.governance.closure import Closure, identity_closure
from spark_jobs.governance.erase_tables import ClosureFrames, erase_tables
from spark_jobs.governance.export import (
    export_folder,
    export_path,
    export_subject,
    remove_expired_exports,
)

log = logging.getLogger("lakecdp.governance")
EXPORTING = (RequestType.ACCESS, RequestType.PORTABILITY)

# Identity's tables go last: until they are erased the closure can be found again.
IDENTITY_LAST = (
    ("gold", "identifier_lookup"),
    ("silver", "identity_edges"),
    ("silver", "identifier_observations"),
    ("silver", "identifiers"),
    ("silver", "customer_ids"),
    ("silver", "id_map"),
)


@dataclass
class RunSummary:
    accepted: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    certificates: dict[str, dict[str, Any]] = field(default_factory=dict)
    exports: dict[str, dict[str, Any]] = field(default_factory=dict)
    expired: list[str] = field(default_factory=list)


def _tables_in_order(spark: SparkSession, config: ProjectConfig) -> list[tuple[str, str]]:
    tables = list_delta_tables(spark, config)
    last = [t for t in IDENTITY_LAST if t in tables]
    return [t for t in tables if t not in last] + last


def accept(
    spark: SparkSession, config: ProjectConfig, ledger: Ledger, request: PrivacyRequest
) -> Closure | None:
    """Freeze the closure and shut the door on it; None if the request was cancelled meanwhile."""
    hasher = SubjectHasher(config)
    closure = identity_closure(spark, config, {i.hash for i in request.identities})
    summary = closure.summary(hasher)
    with ledger.transaction() as db:
        if ledger.get(request.request_id, db).status != Status.PENDING:
            return None
        if request.type in SUPPRESSING:
            ledger.suppress(db, request.request_id, summary["hashes"])
        note = (
            f"accepted: closure of {summary['customers']} customer ids and "
            f"{sum(summary['identifiers'].values())} identifiers"
        )
        ledger.set_status(
            db,
            request.request_id,
            Status.IN_PROGRESS,
            note,
            closure=summary,
            accepted_time=now(),
        )
    _notify(config, ledger, request.request_id)
    return closure


def _notify(config: ProjectConfig, ledger: Ledger, request_id: str) -> None:
    request = ledger.get(request_id)
    failures = send_status(config, request)
    if failures:
        with ledger.transaction() as db:
            ledger.log(db, request_id, request.status, "; ".join(failures))


def erase(
    spark: SparkSession,
    config: ProjectConfig,
    closure: Closure,
    on_store: Callable[[str], None] | None = None,
) -> list[StoreResult]:
    """Erase the closure from every store; the results make the certificate."""
    hasher = SubjectHasher(config)
    matcher = Matcher(config, closure.hashes(hasher))
    stores: list[StoreResult] = []
    step = on_store or (lambda _: None)

    def timed(label: str, work: Callable[[], list[StoreResult]]) -> None:
        step(label)
        started = time.monotonic()
        results = work()
        for result in results:
            result.seconds = round((time.monotonic() - started) / len(results), 2)
        stores.extend(results)

    timed("landing zone", lambda: erase_landing(config, matcher))
    timed("source drops", lambda: erase_sources(config, matcher))
    frames = ClosureFrames(spark, config, closure)
    tables = _tables_in_order(spark, config)
    try:  # identity's tables after the others: until then the closure can be found again
        for group in (
            [t for t in tables if t not in IDENTITY_LAST],
            [t for t in tables if t in IDENTITY_LAST],
        ):
            stores += erase_tables(frames, group, on_store)
    finally:
        frames.unpersist()
    timed(
        "online store",
        lambda: erase_online(config, closure.customers, closure.identifiers),
    )
    timed("evaluation sets", lambda: erase_evaluation_sets(config, matcher))
    return stores


def _complete(
    config: ProjectConfig,
    ledger: Ledger,
    request: PrivacyRequest,
    note: str,
    result: dict[str, Any] | None = None,
) -> None:
    with ledger.transaction() as db:
        if request.type == RequestType.ERASURE and not request.suppress:
            ledger.lift(db, [request.request_id])
        ledger.set_status(
            db, request.request_id, Status.COMPLETED, note, completed_time=now(), result=result
        )
    _notify(config, ledger, request.request_id)


# A store another layer owns (the syncs' destinations): given the closure, its certificate
# entries. The wiring passes them in; governance does not import the layers it erases from.
Eraser = Callable[[Closure], list[StoreResult]]


def run_requests(
    spark: SparkSession,
    config: ProjectConfig,
    on_step: Callable[[str], None] | None = None,
    erasers: Sequence[Eraser] = (),
) -> RunSummary:
    """Accept what is pending, then finish what is in progress."""
    ledger = Ledger.from_config(config)
    summary = RunSummary()
    closures: dict[str, Closure] = {}
    for request in ledger.with_status(Status.PENDING):
        closure = accept(spark, config, ledger, request)
        if closure is not None:
            closures[request.request_id] = closure
            summary.accepted.append(request.request_id)
    for request in ledger.with_status(Status.IN_PROGRESS):
        frozen = set((request.closure or {}).get("hashes", []))
        closure = closures.get(request.request_id) or identity_closure(spark, config, frozen)
        closure.given |= frozen
        started = datetime.now(UTC)
        if request.type == RequestType.ERASURE:
            stores = erase(spark, config, closure, on_step)
            for eraser in erasers:
                stores += eraser(closure)
            stores.append(erase_exports(config, ledger, closure.hashes(SubjectHasher(config))))
            certificate = write_certificate(config, request, request.closure or {}, stores, started)
            summary.certificates[request.request_id] = certificate
            totals = certificate["totals"]
            _complete(
                config,
                ledger,
                request,
                f"erased: {totals['rows_removed']} rows in {totals['stores']} stores, "
                f"{totals['rows_after']} left",
                totals,
            )
        elif request.type == RequestType.SUPPRESS:
            count = len(closure.hashes(SubjectHasher(config)))
            _complete(config, ledger, request, f"suppressed {count} subjects")
        else:  # access, portability
            manifest = export_subject(
                spark, config, closure, request.request_id, _tables_in_order(spark, config)
            )
            summary.exports[request.request_id] = manifest
            _complete(
                config,
                ledger,
                request,
                f"exported {manifest['rows']} rows from {len(manifest['tables'])} tables, "
                f"kept until {manifest['expires_time'][:16]}",
                {k: v for k, v in manifest.items() if k != "export"},
            )
        summary.completed.append(request.request_id)
    exported = {
        r.request_id: r.result or {}
        for r in ledger.with_status(Status.COMPLETED)
        if r.type in EXPORTING
    }
    summary.expired = remove_expired_exports(config, exported)
    return summary


def erase_exports(config: ProjectConfig, ledger: Ledger, hashes: set[str]) -> StoreResult:
    """Exports made for the same person go with the erasure."""
    result = StoreResult(
        "governance:exports", str(export_folder(config)), "exports of the person deleted"
    )
    for request in ledger.with_status(Status.COMPLETED):
        frozen = set((request.closure or {}).get("hashes", []))
        path = export_path(config, request.request_id)
        if request.type in EXPORTING and frozen & hashes and path.exists():
            path.unlink()
            result.rows_found += 1
            result.rows_removed += 1
            result.files_removed += 1
    result.verification = f"exports of the person left: {result.rows_after}"
    return result
