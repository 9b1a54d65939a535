"""Governance: who may call the platform's APIs (API keys with scopes), the key that turns a
person's identifiers into subject hashes, privacy requests and the regulations they cite."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator

from lakecdp.kernel.config.paths import LocalPath
from lakecdp.kernel.config.section import Section

# What a key may do. `decide`: POST /v1/decide (it turns an identifier into a customer's
# decision, so it is not open to the network); `privacy:write`: submit and cancel privacy
# requests; `privacy:read`: their status and certificates.
SCOPES = ("decide", "privacy:write", "privacy:read")


class ApiKey(Section):
    """A caller's key: a secret (never printed, never in an error) with what it may do."""

    key: SecretStr
    caller: str = Field(pattern=r"^[A-Za-z0-9_.@-]+$", description="who uses the key (audit)")
    scopes: tuple[str, ...] = Field(min_length=1)

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(SCOPES))
        if unknown:
            raise ValueError(f"unknown scopes {unknown} (known: {', '.join(SCOPES)})")
        return value

    @model_validator(mode="after")
    def _long_key(self) -> ApiKey:
        if len(self.key.get_secret_value()) < 16:
            raise ValueError(f"the key of caller {self.caller!r} is shorter than 16 characters")
        return self


class AuthConfig(Section):
    """API keys of the decision endpoint and the privacy API. An unknown or missing key gets
    401, a key without the route's scope 403. /health and /metrics stay open (probes)."""

    api_keys: list[ApiKey] = Field(
        default_factory=list,
        description="keys with their caller and scopes; from the environment: "
        "LAKECDP_API_KEYS='key=caller:scope+scope,...'",
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_key_list(cls, value: Any) -> Any:
        # From the environment: "key1=caller1:decide+privacy:read,key2=caller2:decide".
        if not isinstance(value, str):
            return value
        parsed: list[dict[str, Any]] = []
        for entry in (part.strip() for part in value.split(",")):
            if not entry:
                continue
            key, sep, grant = entry.partition("=")
            caller, sep2, scopes = grant.partition(":")
            if not (sep and sep2 and key and caller and scopes):
                raise ValueError("expected 'key=caller:scope+scope' entries separated by commas")
            parsed.append({"key": key, "caller": caller, "scopes": tuple(scopes.split("+"))})
        return parsed

    def key_for(self, scope: str) -> str | None:
        """A configured key with `scope`: what the platform's own clients (demo, benchmarks)
        present."""
        return next((k.key.get_secret_value() for k in self.api_keys if scope in k.scopes), None)


class RegulationConfig(Section):
    """A regulation a request may cite and how long the controller has to answer it."""

    name: str
    deadline_days: int = Field(ge=1, description="days from receipt to a completed request")


def _default_regulations() -> dict[str, RegulationConfig]:
    # Deadlines as commonly read; a brand's counsel sets its own in lakecdp.yaml.
    return {
        "gdpr": RegulationConfig(name="EU/UK GDPR", deadline_days=30),
        "sg_pdpa": RegulationConfig(name="Singapore PDPA", deadline_days=30),
        "th_pdpa": RegulationConfig(name="Thailand PDPA", deadline_days=30),
        "id_pdp": RegulationConfig(name="Indonesia PDP Law (UU 27/2022)", deadline_days=3),
        "my_pdpa": RegulationConfig(name="Malaysia PDPA", deadline_days=21),
        "ph_dpa": RegulationConfig(name="Philippines Data Privacy Act", deadline_days=30),
        "vn_pdpd": RegulationConfig(name="Vietnam Decree 13/2023", deadline_days=3),
        "ccpa": RegulationConfig(name="California CCPA/CPRA", deadline_days=45),
    }


class GovernanceConfig(Section):
    """Privacy requests (`lakecdp privacy`, the OpenDSR API) and suppression."""

    subject_key: SecretStr = Field(
        default=SecretStr(""),
        description="HMAC key of subject hashes (set LAKECDP_SUBJECT_KEY); without it the "
        "privacy commands refuse to run. Changing it orphans every stored hash.",
    )
    root: LocalPath | None = Field(
        default=None,
        description="local folder of the request ledger and the suppression list; "
        "default <lakehouse root>/governance",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8092, ge=1, le=65535, description="the privacy API (OpenDSR)")
    suppression_refresh_seconds: float = Field(
        default=5.0,
        gt=0,
        le=30,
        description="how often every door re-reads the suppression list (a new suppression "
        "is enforced within twice this)",
    )
    history_retention_hours: int = Field(
        default=72,
        ge=1,
        description="Delta history kept (time travel, old files, log): personal data deleted "
        "by a job, not by an erasure, is gone from every table within this",
    )
    export_ttl_days: int = Field(
        default=7, ge=1, description="days an access or portability export is kept"
    )
    callback_signing_key: SecretStr = Field(
        default=SecretStr(""),
        description="HMAC-SHA256 key of status callbacks (X-OpenDSR-Signature); "
        "without it no callback is sent",
    )
    controller_id: str = Field(default="lakecdp", description="OpenDSR controller_id")
    regulations: dict[str, RegulationConfig] = Field(default_factory=_default_regulations)
