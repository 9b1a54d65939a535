"""Taking a privacy request: normalize and hash its identities, record it once, shut the door.

The same for the privacy API and `lakecdp privacy request`. Identity values are normalized with
the identity rules (so `Alice@Example.com` is the subject silver knows as `alice@example.com`),
hashed with the project's key, and dropped: the ledger never sees them. A request id seen before
with the same content is answered as before (idempotent); with other content it is a conflict.
Erasure and suppress requests put their identities on the suppression list at once; the closure
(every identifier and customer id of the person) joins it when `privacy run` accepts the request.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson

from lakecdp.governance.ledger import Ledger, UnknownRequest, now
from lakecdp.governance.requests import (
    SUPPRESSING,
    Identity,
    PrivacyRequest,
    RequestType,
    Status,
)
from lakecdp.identity.subjects import SubjectHasher, Unnormalizable
from lakecdp.kernel.config import ProjectConfig


class RequestRefused(ValueError):
    """A request that cannot be taken: the message names the identity (by position and type,
    never by value) or the rule."""


class RequestConflict(RuntimeError):
    """A request id already used for another request, or a change a status no longer allows."""


@dataclass(frozen=True)
class Intake:
    request: PrivacyRequest
    created: bool


def hash_identities(
    hasher: SubjectHasher, identities: list[Any], market: str | None
) -> list[Identity]:
    out: list[Identity] = []
    for index, identity in enumerate(identities):
        id_type = identity.identity_type
        try:
            subject = hasher.identifier(id_type, identity.identity_value, market)
        except Unnormalizable as exc:
            hint = (
                " (give the market, or the number with its country code)"
                if (id_type in hasher.rules.types and hasher.rules.types[id_type].kind == "phone")
                else ""
            )
            raise RequestRefused(
                f"subject_identities[{index}] ({id_type}) is not usable: {exc}{hint}"
            ) from None
        out.append(Identity(type=id_type, hash=subject))
    return sorted(set(out), key=lambda i: (i.type, i.hash))


def _fingerprint(body: Any, identities: list[Identity]) -> str:
    canonical = {
        "type": body.subject_request_type.value,
        "regulation": body.regulation,
        "submitted": body.submitted_time.isoformat(),
        "identities": [i.model_dump() for i in identities],
        "market": body.market,
        "suppress": body.suppress,
        "callbacks": [str(u) for u in body.status_callback_urls],
    }
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


def submit(config: ProjectConfig, ledger: Ledger, body: Any, caller: str) -> Intake:
    """Record a request (an instance of requests.request_model); idempotent on its id."""
    hasher = SubjectHasher(config)
    identities = hash_identities(hasher, body.subject_identities, body.market)
    fingerprint = _fingerprint(body, identities)
    request_id = str(body.subject_request_id)
    received = now()
    deadline = config.governance.regulations[body.regulation].deadline_days
    kind = RequestType(body.subject_request_type)
    if body.suppress and kind != RequestType.ERASURE:
        raise RequestRefused("suppress applies to erasure requests (or use type suppress)")
    with ledger.transaction() as db:
        known = ledger.fingerprint(db, request_id)
        if known is not None:
            if known != fingerprint:
                raise RequestConflict(
                    f"subject_request_id {request_id} was used for a different request"
                )
            return Intake(ledger.get(request_id, db), created=False)
        request = PrivacyRequest(
            request_id=request_id,
            type=kind,
            regulation=body.regulation,
            status=Status.PENDING,
            submitted_time=body.submitted_time,
            received_time=received,
            due_time=received + timedelta(days=deadline),
            caller=caller,
            market=body.market,
            suppress=body.suppress,
            identities=identities,
            callback_urls=[str(u) for u in body.status_callback_urls],
        )
        ledger.insert(db, request, fingerprint)
        hashes = [i.hash for i in identities]
        if kind in SUPPRESSING:
            ledger.suppress(db, request_id, hashes)
        elif kind == RequestType.UNSUPPRESS:
            _unsuppress(ledger, db, request_id, hashes)
        return Intake(ledger.get(request_id, db), created=True)


def _unsuppress(ledger: Ledger, db: Any, request_id: str, hashes: list[str]) -> None:
    """Lift what suppress requests (and finished erasures that suppressed) hold for these
    subjects, closure included. An erasure still running keeps its door shut."""
    lifted: list[str] = []
    for holder in ledger.suppressing_requests(db, hashes):
        held = ledger.get(holder, db)
        if held.type == RequestType.SUPPRESS or held.status == Status.COMPLETED:
            lifted.append(holder)
    count = ledger.lift(db, lifted)
    note = f"lifted {count} suppressions of {len(lifted)} requests"
    ledger.set_status(db, request_id, Status.COMPLETED, note, completed_time=now())


def cancel(ledger: Ledger, request_id: str) -> PrivacyRequest:
    """Cancel a pending request (and lift what it suppressed); later is a conflict."""
    with ledger.transaction() as db:
        request = ledger.get(request_id, db)
        if request.status != Status.PENDING:
            raise RequestConflict(
                f"request {request_id} is {request.status.value}: only a pending request "
                "can be cancelled"
            )
        ledger.lift(db, [request_id])
        ledger.set_status(db, request_id, Status.CANCELLED, "cancelled by the requester")
        return ledger.get(request_id, db)


__all__ = ["Intake", "RequestConflict", "RequestRefused", "UnknownRequest", "cancel", "submit"]
