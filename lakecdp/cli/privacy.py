"""`lakecdp privacy`: privacy requests from the command line, the privacy API, processing.

`request` takes a request as the API does (same checks, same ledger) and prints its id;
`status` shows a request and its history; `serve` runs the OpenDSR API.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from lakecdp.cli._app import _config
from lakecdp.cli.render import console
from lakecdp.kernel.config import ProjectConfig

app = typer.Typer(no_args_is_help=True, help="Privacy requests: erase, access, suppress.")

# What a person types -> OpenDSR's request type.
KINDS = {
    "erase": "erasure",
    "erasure": "erasure",
    "access": "access",
    "portability": "portability",
    "suppress": "suppress",
    "unsuppress": "unsuppress",
}


def _identity(spec: str) -> dict[str, str]:
    id_type, sep, value = spec.partition(":")
    if not sep or not id_type or not value:
        raise typer.BadParameter("expected TYPE:VALUE, e.g. email:someone@example.com")
    return {"identity_type": id_type, "identity_value": value, "identity_format": "raw"}


@app.command("request")
def request(
    kind: Annotated[str, typer.Argument(help="erase, access, portability, suppress, unsuppress")],
    identifier: Annotated[
        list[str],
        typer.Option(
            "--identifier", "-i", help="TYPE:VALUE (repeat for several identifiers of the person)"
        ),
    ],
    regulation: Annotated[str, typer.Option(help="a regulation code (governance.regulations)")] = (
        "gdpr"
    ),
    market: Annotated[str | None, typer.Option(help="the market of a local phone number")] = None,
    suppress: Annotated[
        bool, typer.Option("--suppress", help="erase, then keep the person out")
    ] = False,
    request_id: Annotated[
        str | None, typer.Option("--id", help="the subject request id (default: a new UUID)")
    ] = None,
) -> None:
    """Take a privacy request (as POST /v1/opengdpr_requests does); prints its id."""
    from pydantic import ValidationError

    from lakecdp.governance.intake import RequestConflict, RequestRefused, submit
    from lakecdp.governance.ledger import Ledger
    from lakecdp.governance.requests import request_model
    from lakecdp.kernel.subjects import SubjectKeyMissing

    if kind not in KINDS:
        raise typer.BadParameter(f"unknown request type {kind!r} (one of {', '.join(KINDS)})")
    config = _config()
    payload: dict[str, Any] = {
        "subject_request_id": request_id or str(uuid.uuid4()),
        "subject_request_type": KINDS[kind],
        "submitted_time": datetime.now(UTC).isoformat(),
        "subject_identities": [_identity(spec) for spec in identifier],
        "regulation": regulation,
        "market": market.upper() if market else None,
        "suppress": suppress,
    }
    try:
        body = request_model(config).model_validate(payload)
        intake = submit(config, Ledger.from_config(config), body, caller="cli")
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            console.print(f"[red]{where}: {error['msg']}[/red]")
        raise typer.Exit(2) from None
    except (RequestRefused, RequestConflict, SubjectKeyMissing) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    request = intake.request
    seen = "" if intake.created else " (already received)"
    console.print(
        f"{request.type.value} request {request.request_id}{seen}: {request.status.value}, "
        f"due {request.due_time:%Y-%m-%d %H:%M} UTC"
    )
    print(request.request_id)


@app.command("status")
def status(request_id: Annotated[str, typer.Argument(help="the subject request id")]) -> None:
    """A request's status and history."""
    from lakecdp.governance.ledger import Ledger, UnknownRequest

    ledger = Ledger.from_config(_config())
    try:
        request = ledger.get(request_id)
    except UnknownRequest:
        console.print(f"[red]no request {request_id}[/red]")
        raise typer.Exit(2) from None
    console.print(
        f"{request.type.value} request {request.request_id} ({request.regulation}): "
        f"[bold]{request.status.value}[/bold], received {request.received_time:%Y-%m-%d %H:%M}, "
        f"due {request.due_time:%Y-%m-%d %H:%M} UTC, {len(request.identities)} identities"
    )
    if request.result:
        console.print(f"  result: {request.result}")
    for entry in ledger.history(request_id):
        console.print(f"  {entry['at'][:19]}  {entry['status']:<12} {entry['note'] or ''}")


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """The privacy API (OpenDSR): /v1/opengdpr_requests, /discovery, /docs."""
    from lakecdp.governance.api import serve as serve_api

    cfg = _config()
    console.print(
        f"privacy requests on http://{host or cfg.governance.host}:{port or cfg.governance.port}"
    )
    serve_api(cfg, host, port)


@app.command("run")
def run() -> None:
    """Accept pending requests (closure, suppression) and carry them out; erasures end with a
    certificate (`lakecdp privacy certificate ID`)."""
    import time

    from lakecdp.kernel.spark import get_spark
    from spark_jobs.governance.run import run_requests

    cfg = _config()
    started = time.monotonic()
    spark = get_spark(cfg, "lakecdp-privacy")
    with console.status("privacy requests") as status:
        summary = run_requests(
            spark,
            cfg,
            on_step=lambda s: status.update(f"erasing: {s}"),
            erasers=[destination_eraser(cfg)],
        )
    for request_id, manifest in summary.exports.items():
        console.print(
            f"exported {request_id}: {manifest['rows']} rows to {manifest['export']} "
            f"(kept until {manifest['expires_time'][:16]})"
        )
    for request_id, certificate in summary.certificates.items():
        totals = certificate["totals"]
        console.print(
            f"erased {request_id}: {totals['rows_removed']} rows in {totals['stores']} stores, "
            f"{totals['rows_after']} left, {certificate['seconds']} s"
        )
    console.print(
        f"privacy run: {len(summary.accepted)} accepted, {len(summary.completed)} completed "
        f"({time.monotonic() - started:.1f} s)"
    )


@app.command("certificate")
def certificate(
    request_id: Annotated[str, typer.Argument(help="the subject request id")],
    full: Annotated[bool, typer.Option("--json", help="print the whole JSON")] = False,
) -> None:
    """A completed erasure's certificate: per store, rows found/removed, verification."""
    import orjson

    from lakecdp.governance.certificate import certificate_path, read_certificate

    cfg = _config()
    body = read_certificate(cfg, request_id)
    if body is None:
        console.print(
            f"[red]no certificate for {request_id} (not completed, or not an erasure)[/red]"
        )
        raise typer.Exit(2)
    if full:
        print(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
        return
    print_certificate(request_id, body, str(certificate_path(cfg, request_id)), console)


def print_certificate(request_id: str, body: dict[str, Any], path: str, out: Any) -> None:
    """The stores that held something of the person, and the totals."""
    from rich.table import Table

    table = Table(title=f"erasure {request_id} ({body['regulation']}): {path}")
    for column in ("store", "method", "found", "removed", "files", "versions", "after"):
        table.add_column(column, overflow="fold")
    for store in body["stores"]:
        if not (store["rows_found"] or store["rows_after"]):
            continue
        versions = (
            f"{store['version_before']} -> {store['version_after']}"
            if store["version_before"] is not None
            else ""
        )
        table.add_row(
            store["store"],
            store["method"],
            str(store["rows_found"]),
            str(store["rows_removed"]),
            f"{store['files_rewritten']} rewritten, {store['files_removed']} removed",
            versions,
            str(store["rows_after"]),
        )
    out.print(table)
    totals = body["totals"]
    untouched = sum(1 for s in body["stores"] if not s["rows_found"])
    out.print(
        f"{totals['rows_removed']} rows removed from {totals['stores'] - untouched} stores "
        f"({untouched} more checked: nothing of the person), {totals['rows_after']} left; "
        f"{body['seconds']} s, within the deadline: {body['within_deadline']}"
    )


def destination_eraser(cfg: ProjectConfig) -> Callable[[Any], list[Any]]:
    """What every sync sent about the person, taken back (lakecdp/activation/erasure.py)."""

    def erase(closure: Any) -> list[Any]:
        from lakecdp.activation.erasure import erase_from_destinations
        from lakecdp.governance.certificate import StoreResult

        return [StoreResult(**entry) for entry in erase_from_destinations(cfg, closure.customers)]

    return erase
