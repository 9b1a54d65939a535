"""The privacy API (`lakecdp privacy serve`): OpenDSR's endpoints, locked by API keys.

- `POST /v1/opengdpr_requests` (scope `privacy:write`): 201 with the expected completion time;
  the same request again is 200 with the same answer; the same id for another request is 409.
- `GET /v1/opengdpr_requests/{id}` (`privacy:read`): the status; 404 if unknown.
- `DELETE /v1/opengdpr_requests/{id}` (`privacy:write`): cancels while pending; later, 409.
- `GET /v1/opengdpr_requests/{id}/export` (`privacy:read`): an access or portability export.
- `GET /discovery` (open): identity types, request types, regulations the controller supports.

Bodies are validated against the configuration (identity types, regulations, markets): 422
naming the field. Identity values are hashed on arrival and dropped (lakecdp/governance/intake.py);
no log line carries a body.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at runtime.
from pathlib import Path
from typing import Any

from fastapi import BackgroundTasks, Depends, FastAPI, HTTPException, Response
from fastapi.responses import FileResponse

from lakecdp.governance.callbacks import send_status
from lakecdp.governance.intake import RequestConflict, RequestRefused, cancel, submit
from lakecdp.governance.ledger import Ledger, UnknownRequest
from lakecdp.governance.requests import (
    API_VERSION,
    PrivacyRequest,
    RequestType,
    identity_types,
    request_model,
)
from lakecdp.kernel.asgi import run_asgi
from lakecdp.kernel.auth import Caller, require_scope
from lakecdp.kernel.config import ProjectConfig
from lakecdp.kernel.config.paths import join_path


def create_app(config: ProjectConfig, ledger: Ledger | None = None) -> FastAPI:
    ledger = ledger or Ledger.from_config(config)
    controller = config.governance.controller_id
    body_model = request_model(config)
    may_write = require_scope(config.auth.api_keys, "privacy:write")
    may_read = require_scope(config.auth.api_keys, "privacy:read")
    locked: dict[int | str, dict[str, Any]] = {
        401: {"description": "no API key, or an unknown one"},
        403: {"description": "the API key lacks the route's scope"},
    }
    app = FastAPI(title="lakecdp privacy requests (OpenDSR)", version=API_VERSION)

    def notify(request: PrivacyRequest) -> None:
        failures = send_status(config, request)
        if failures:
            with ledger.transaction() as db:
                ledger.log(db, request.request_id, request.status, "; ".join(failures))

    def accepted_body(request: PrivacyRequest) -> dict[str, Any]:
        return {
            "controller_id": controller,
            "expected_completion_time": request.status_body(controller)["expected_completion_time"],
            "received_time": request.received_time.isoformat().replace("+00:00", "Z"),
            "subject_request_id": request.request_id,
        }

    @app.post(
        "/v1/opengdpr_requests",
        status_code=201,
        responses={**locked, 409: {"description": "the id was used for another request"}},
    )
    def create(
        body: body_model,  # type: ignore[valid-type]
        response: Response,
        tasks: BackgroundTasks,
        caller: Caller = Depends(may_write),  # noqa: B008
    ) -> dict[str, Any]:
        try:
            intake = submit(config, ledger, body, caller.name)
        except RequestRefused as exc:
            raise HTTPException(422, str(exc)) from None
        except RequestConflict as exc:
            raise HTTPException(409, str(exc)) from None
        if intake.created:
            tasks.add_task(notify, intake.request)
        else:
            response.status_code = 200
        return accepted_body(intake.request)

    @app.get("/v1/opengdpr_requests/{request_id}", responses={**locked, 404: {}})
    def status(request_id: str, caller: Caller = Depends(may_read)) -> dict[str, Any]:  # noqa: B008
        try:
            request = ledger.get(request_id)
        except UnknownRequest:
            raise HTTPException(404, "no such request") from None
        body = {
            **request.status_body(controller),
            "subject_request_type": request.type.value,
            "regulation": request.regulation,
        }
        if request.type.value in ("access", "portability") and request.result:
            body["results_url"] = f"/v1/opengdpr_requests/{request_id}/export"
            body["results_expire_time"] = request.result.get("expires_time")
        return body

    @app.get("/v1/opengdpr_requests/{request_id}/export", responses={**locked, 404: {}})
    def export(request_id: str, caller: Caller = Depends(may_read)) -> FileResponse:  # noqa: B008
        """An access or portability request's export (JSON lines, gzip) until it expires."""
        path = Path(join_path(config.governance_root, "exports", f"{request_id}.jsonl.gz"))
        if not path.exists():
            raise HTTPException(404, "no export for this request (not done, or expired)")
        return FileResponse(path, media_type="application/gzip", filename=path.name)

    @app.delete("/v1/opengdpr_requests/{request_id}", status_code=202, responses={**locked})
    def delete(
        request_id: str,
        tasks: BackgroundTasks,
        caller: Caller = Depends(may_write),  # noqa: B008
    ) -> dict[str, Any]:
        try:
            request = cancel(ledger, request_id)
        except UnknownRequest:
            raise HTTPException(404, "no such request") from None
        except RequestConflict as exc:
            raise HTTPException(409, str(exc)) from None
        tasks.add_task(notify, request)
        return request.status_body(controller)

    @app.get("/discovery")
    def discovery() -> dict[str, Any]:
        return {
            "api_version": API_VERSION,
            "controller_id": controller,
            "supported_identities": [
                {"identity_type": t, "identity_format": "raw"} for t in identity_types(config)
            ],
            "supported_subject_request_types": [t.value for t in RequestType],
            "supported_regulations": {
                code: {"name": r.name, "deadline_days": r.deadline_days}
                for code, r in config.governance.regulations.items()
            },
            "supported_markets": sorted(config.markets),
            "status_callback_signature": "hex HMAC-SHA256 of the body, X-OpenDSR-Signature",
        }

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "suppressed_subjects": len(ledger.active_suppressions())}

    return app


def serve(config: ProjectConfig, host: str | None = None, port: int | None = None) -> None:
    run_asgi(create_app(config), host or config.governance.host, port or config.governance.port)
