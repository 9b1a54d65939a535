"""What a privacy request is: the OpenDSR shape (ex OpenGDPR) with our extensions.

OpenDSR gives `subject_request_id` (UUID), `subject_request_type` (erasure, access,
portability), `subject_identities` ({identity_type, identity_value, identity_format}),
`submitted_time`, `status_callback_urls` and statuses pending / in_progress / completed /
cancelled. We add the request types `suppress` and `unsuppress`, every configured identifier type
(phone, loyalty id, ... and `customer_id`), our markets' regulation codes, `market` (a phone
number without a country code needs its market to be normalized) and `suppress` on an erasure
(erase, then keep the door shut; without it a returning person starts a new profile).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, create_model

from lakecdp.identity.subjects import CUSTOMER_ID
from lakecdp.kernel.config import ProjectConfig

API_VERSION = "0.1"


class RequestType(StrEnum):
    ERASURE = "erasure"
    ACCESS = "access"
    PORTABILITY = "portability"
    SUPPRESS = "suppress"
    UNSUPPRESS = "unsuppress"


class Status(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# Requests that shut the door on acceptance: nothing of the person may enter while (and, for
# suppress, after) the platform works on them.
SUPPRESSING = frozenset({RequestType.ERASURE, RequestType.SUPPRESS})


def identity_types(config: ProjectConfig) -> list[str]:
    return [*config.identifier_types, CUSTOMER_ID]


def request_model(config: ProjectConfig) -> type[BaseModel]:
    """The request body, with the configured identity types, regulations and markets (so they
    are checked on arrival and listed in the OpenAPI schema)."""
    id_types = Literal[tuple(identity_types(config))]  # type: ignore[valid-type]
    regulations = Literal[tuple(config.governance.regulations)]  # type: ignore[valid-type]
    markets = Literal[tuple(config.markets)]  # type: ignore[valid-type]
    identity = create_model(
        "SubjectIdentity",
        __config__=ConfigDict(extra="forbid"),
        identity_type=(id_types, Field(description="a configured identifier type")),
        identity_value=(str, Field(min_length=1, max_length=512)),
        identity_format=(
            Literal["raw"],
            Field(default="raw", description="raw only: hashed values cannot be normalized"),
        ),
    )
    return create_model(
        "SubjectRequest",
        __config__=ConfigDict(extra="forbid"),
        subject_request_id=(UUID, ...),
        subject_request_type=(RequestType, ...),
        submitted_time=(datetime, ...),
        subject_identities=(list[identity], Field(min_length=1, max_length=50)),  # type: ignore[valid-type]
        regulation=(regulations, ...),
        status_callback_urls=(list[HttpUrl], Field(default_factory=list, max_length=5)),
        api_version=(str, API_VERSION),
        market=(markets | None, Field(default=None, description="(lakecdp) phones' market")),
        suppress=(
            bool,
            Field(default=False, description="(lakecdp) erasure: keep the person out after"),
        ),
        extensions=(dict[str, Any] | None, None),
    )


class Identity(BaseModel):
    """An identity as the ledger keeps it: type and subject hash, never the value."""

    model_config = ConfigDict(frozen=True)
    type: str
    hash: str


class PrivacyRequest(BaseModel):
    """A request as recorded in the ledger (no raw identifier anywhere in it)."""

    request_id: str
    type: RequestType
    regulation: str
    status: Status
    submitted_time: datetime
    received_time: datetime
    due_time: datetime
    caller: str
    market: str | None = None
    suppress: bool = False
    identities: list[Identity]
    callback_urls: list[str] = Field(default_factory=list)
    closure: dict[str, Any] | None = None
    accepted_time: datetime | None = None
    completed_time: datetime | None = None
    result: dict[str, Any] | None = None

    def status_body(self, controller_id: str) -> dict[str, Any]:
        """OpenDSR's status response (and callback body)."""
        return {
            "controller_id": controller_id,
            "expected_completion_time": _iso(self.due_time),
            "subject_request_id": self.request_id,
            "request_status": self.status.value,
            "api_version": API_VERSION,
        }


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
