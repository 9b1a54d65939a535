"""Activation: where audiences go (`destinations:`) and how (`syncs:`).

Every endpoint and secret can be overridden by environment variable like any key
(`LAKECDP__DESTINATIONS__CRM_DB__DSN=...`); secrets are `SecretStr`, so they print as
`**********` in logs, errors and run history.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
    model_validator,
)

from lakecdp.kernel.config.section import Section

# Names that become table names, CLI arguments and environment variable parts.
SyncName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
SQL_NAME = r"^[a-z_][a-z0-9_]*$"
SYNC_MODES = ("insert", "update", "upsert", "mirror")
AFTER_GOLD = "after_gold"


class HttpLimits(Section):
    """How hard a destination may be driven: requests per second (adapted down on 429 and back
    up), concurrent requests, and how long a request may take."""

    requests_per_second: float = Field(default=10.0, gt=0)
    concurrency: int = Field(default=4, ge=1, le=64)
    timeout_seconds: float = Field(default=30.0, gt=0)
    retry_budget: int = Field(
        default=1000, ge=0, description="retries of failed requests (5xx, timeouts) per run"
    )
    shared_budget: bool = Field(
        default=False,
        description="pace every sender to this destination (parallel syncs, Airflow tasks, "
        "machines) from one budget in the project's Redis (features.redis_url, "
        "LAKECDP_REDIS_URL) instead of one per run",
    )


class PostgresDestination(Section):
    # `schema` is the key in the file; the attribute is db_schema (BaseModel owns `schema`).
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type: Literal["postgres"]
    dsn: SecretStr = Field(description="postgresql://user:password@host:port/database")
    db_schema: str = Field(default="public", pattern=SQL_NAME, alias="schema")
    table: str = Field(pattern=SQL_NAME)
    batch_size: int = Field(default=10_000, ge=1)


class HttpDestination(Section):
    type: Literal["http"]
    url: str = Field(pattern=r"^https?://")
    auth_header: SecretStr | None = Field(
        default=None, description="sent as the Authorization header, e.g. 'Bearer <token>'"
    )
    signing_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key of the X-Lakecdp-Signature header"
    )
    batch_size: int = Field(default=500, ge=1, le=10_000)
    limits: HttpLimits = Field(default_factory=HttpLimits)


class FileDestination(Section):
    type: Literal["file"]
    path: str = Field(description="a folder or an object-store URI (s3://, s3a://, gs://)")
    format: Literal["csv", "parquet"] = "parquet"
    endpoint_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="an S3-compatible server's URL (MinIO, moto, ...); credentials come from "
        "the store's environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
    )


class AdAudienceDestination(Section):
    type: Literal["ad_audience"]
    platform: Literal["meta", "google"]
    url: str = Field(pattern=r"^https?://", description="the platform API's base URL")
    audience_id: str
    access_token: SecretStr
    batch_size: int = Field(default=10_000, ge=1, le=10_000)
    limits: HttpLimits = Field(default_factory=HttpLimits)


DestinationConfig = Annotated[
    PostgresDestination | HttpDestination | FileDestination | AdAudienceDestination,
    Field(discriminator="type"),
]


# The transforms a mapped field may name (lakecdp/activation/transforms.py implements them; a
# test holds the two lists equal), and `first`, a list's first element, which must come first.
TRANSFORM_NAMES = (
    "trim",
    "lower",
    "upper",
    "digits",
    "sha256",
    "e164",
    "e164_digits",
    "phone_sha256_google",
    "phone_sha256_meta",
    "email",
    "email_google",
    "email_sha256",
    "email_sha256_meta",
    "email_sha256_google",
)
FIRST_TRANSFORM = "first"


class MappedField(Section):
    """One destination field: a source column (optionally transformed) or a constant."""

    column: str | None = None
    constant: Any = None
    transform: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_origin(self) -> MappedField:
        if (self.column is None) == (self.constant is None):
            raise ValueError("a mapped field takes exactly one of column or constant")
        if self.constant is not None and self.transform:
            raise ValueError("a constant takes no transform")
        for position, name in enumerate(self.transform):
            if name == FIRST_TRANSFORM and position == 0:
                continue
            if name == FIRST_TRANSFORM:
                raise ValueError("transform 'first' (a list's first element) must come first")
            if name not in TRANSFORM_NAMES:
                known = ", ".join(sorted((*TRANSFORM_NAMES, FIRST_TRANSFORM)))
                raise ValueError(f"unknown transform {name!r}; known transforms: {known}")
        return self


class ConsentGate(Section):
    purpose: str
    channel: str


class SyncGuards(Section):
    """A run refuses (non-zero exit, nothing sent) unless `--force` when the source is empty,
    shrank by more than `max_source_drop_share` since the last run, or the plan deletes more
    than `max_delete_share` of what the destination holds from this sync."""

    allow_empty_source: bool = False
    max_source_drop_share: float = Field(default=0.5, ge=0, le=1)
    max_delete_share: float = Field(default=0.2, ge=0, le=1)


class SyncAlerts(Section):
    max_rejected_share: float = Field(
        default=0.05, ge=0, le=1, description="a run rejecting more of what it sent fails"
    )


class SyncConfig(Section):
    """Send the rows of `source` (a gold model) to `destination`, keyed by `primary_key`."""

    source: str = Field(description="a gold table, e.g. aud_high_value_lapsing")
    primary_key: str = "customer_id"
    customer_id_column: str = Field(
        default="customer_id", description="joins the profile for consent and profile columns"
    )
    mode: Literal["insert", "update", "upsert", "mirror"] = "upsert"
    destination: str
    mapping: dict[str, str | MappedField]
    consent: ConsentGate | None = None
    schedule: str = Field(default=AFTER_GOLD, description="a cron expression or after_gold")
    guards: SyncGuards = Field(default_factory=SyncGuards)
    alerts: SyncAlerts = Field(default_factory=SyncAlerts)
    deliver_in: Literal["driver", "executors"] = Field(
        default="driver",
        description="where changes are sent from: the run's own process, or the Spark tasks "
        "that hold each slice of the plan (parallel on a cluster; an HTTP destination then "
        "needs limits.shared_budget, so that every task draws from one pace)",
    )
    description: str = ""

    @field_validator("schedule")
    @classmethod
    def _schedule_is_known(cls, value: str) -> str:
        from croniter import croniter

        if value != AFTER_GOLD and not croniter.is_valid(value):
            raise ValueError(
                f"schedule {value!r}: {AFTER_GOLD}, or a cron expression such as '0 * * * *'"
            )
        return value

    @field_validator("mapping")
    @classmethod
    def _mapping_not_empty(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise ValueError("map at least one destination field")
        return value

    @property
    def fields(self) -> dict[str, MappedField]:
        """Destination field -> its origin, the short form `field: column` expanded."""
        return {
            name: MappedField(column=spec) if isinstance(spec, str) else spec
            for name, spec in self.mapping.items()
        }

    @property
    def mapping_version(self) -> str:
        """A hash of the mapping, recorded with each accepted row (what produced it)."""
        canonical = {k: v.model_dump(mode="json") for k, v in sorted(self.fields.items())}
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()[:16]
