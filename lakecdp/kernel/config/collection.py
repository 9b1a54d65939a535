"""What comes in: the event collector, streaming ingestion, markets and declared file sources."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from lakecdp.kernel.config.identity import PERSON_FIELDS
from lakecdp.kernel.config.profiles import PROFILE_TRAITS
from lakecdp.kernel.config.section import Section

# A name dbt renders into SQL (a model, a column): lower-case identifier, nothing to quote.
SQL_NAME = r"^[a-z][a-z0-9_]*$"


class CollectorConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8088, ge=1, le=65535)
    write_keys: dict[str, str] = Field(
        default_factory=dict, description="write key -> source name recorded on each event"
    )
    max_message_bytes: int = Field(default=32 * 1024, ge=1024)
    max_request_bytes: int = Field(default=500 * 1024, ge=1024)
    segment_roll_seconds: float = Field(default=1.0, gt=0)
    segment_roll_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    fsync: bool = True

    @field_validator("write_keys", mode="before")
    @classmethod
    def _parse_key_list(cls, value: Any) -> Any:
        # From the environment: "key1=web,key2=app".
        if isinstance(value, str):
            pairs = [p.strip() for p in value.split(",") if p.strip()]
            parsed: dict[str, str] = {}
            for pair in pairs:
                key, sep, source = pair.partition("=")
                if not sep or not key or not source:
                    raise ValueError(f"expected 'key=source' pairs, got {pair!r}")
                parsed[key] = source
            return parsed
        return value


class StreamingConfig(Section):
    trigger_seconds: float = Field(default=5.0, gt=0)
    max_files_per_trigger: int = Field(default=200, ge=1)


class MarketConfig(Section):
    currency: str
    phone_region: str
    timezone: str


class MarketColumn(Section):
    column: str


class SourceProfile(Section):
    """How a source feeds the unified profile (dbt, docs/profiles.md). dbt reads its staging
    model, which keeps the record id under the source's `record_id` name, has `source_file` and
    `row_hash` (the received row) and names each trait column as the profile trait it feeds;
    so a new source with a staging model feeds profiles without editing any other model."""

    model: str = Field(pattern=SQL_NAME, description="the source's dbt staging model")
    observed_at: str = Field(
        pattern=SQL_NAME,
        description="the staging model's column holding when the record said its values",
    )
    traits: dict[str, str] = Field(
        default_factory=dict,
        description="profile trait -> trait column, for a column not named as the profile "
        "trait it feeds (the staging model renames it)",
    )

    @field_validator("traits")
    @classmethod
    def _known_profile_traits(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(PROFILE_TRAITS))
        if unknown:
            raise ValueError(
                f"unknown profile trait(s) {', '.join(unknown)}; known: {', '.join(PROFILE_TRAITS)}"
            )
        return value


class SourceConfig(Section):
    """A declared file source: where it lands, how to read it, what its columns mean."""

    path: str = Field(description="Folder under the landing root (or an absolute URI).")
    format: Literal["csv", "jsonl", "parquet"]
    record_id: str | None = None
    timestamp: str
    market: str | MarketColumn
    identifiers: dict[str, str] = Field(description="column -> identifier type")
    traits: list[str] = Field(default_factory=list)
    person: dict[str, str] = Field(
        default_factory=dict,
        description="person field (first_name, date_of_birth, ...) -> column, for probabilistic "
        "matching",
    )
    columns: list[str] = Field(
        default_factory=list, description="other columns kept in bronze (amounts, items, ...)"
    )
    profile: SourceProfile | None = Field(
        default=None,
        description="how the source's traits reach the unified profile; without it they stay "
        "in bronze and identity",
    )
    description: str = ""

    @field_validator("person")
    @classmethod
    def _known_person_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(PERSON_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown person field(s) {', '.join(unknown)}; known: {', '.join(PERSON_FIELDS)}"
            )
        return value

    @field_validator("identifiers")
    @classmethod
    def _some_identifier(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("a source needs at least one identifier column")
        return value

    @model_validator(mode="after")
    def _profile_reads_declared_traits(self) -> SourceConfig:
        # Raised here, the error is reported at sources.<name>; the message names the rest.
        if self.profile is None:
            return self
        if self.record_id is None:
            raise ValueError("profile: profiles key a source's records by record_id; declare it")
        for trait, column in self.profile.traits.items():
            if column not in self.traits:
                raise ValueError(
                    f"profile.traits.{trait}: {column!r} is not one of the source's traits "
                    f"({', '.join(self.traits) or 'none declared'})"
                )
        if not self.profile_traits:
            raise ValueError(
                "profile: no trait column feeds a profile trait; name one in traits after the "
                f"profile trait ({', '.join(PROFILE_TRAITS)}) or map it in profile.traits"
            )
        return self

    @property
    def profile_traits(self) -> list[str]:
        """The profile traits the source feeds, in PROFILE_TRAITS order: each trait column
        named as one, and each mapped in profile.traits. Empty without a profile block; other
        trait columns (a marketplace's buyer_name) serve identity only."""
        if self.profile is None:
            return []
        return [t for t in PROFILE_TRAITS if t in self.profile.traits or t in self.traits]

    @property
    def declared_columns(self) -> list[str]:
        """Every column bronze keeps, in a stable order and without repeats."""
        cols: list[str] = []
        market_col = [self.market.column] if isinstance(self.market, MarketColumn) else []
        for col in [
            *([self.record_id] if self.record_id else []),
            self.timestamp,
            *market_col,
            *self.identifiers,
            *self.traits,
            *self.person.values(),
            *self.columns,
        ]:
            if col not in cols:
                cols.append(col)
        return cols


SourceName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
