"""Identity resolution: identifier types, person fields, event identifiers, matching rules."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from lakecdp.kernel.config.section import Section

IDENTIFIER_KINDS = (
    "email",
    "phone",
    "device_id",
    "anonymous_id",
    "user_id",
    "loyalty_id",
    "marketplace_buyer_id",
    "custom",
)


class IdentifierTypeConfig(Section):
    kind: Literal[IDENTIFIER_KINDS] = "custom"  # type: ignore[valid-type]
    priority: int = Field(default=50, ge=0)
    max_per_profile: int | None = Field(default=None, ge=1)
    hub_max_profiles: int | None = Field(
        default=None, ge=1, description="overrides identity.hub_max_profiles for this type"
    )
    household_shared: bool = Field(
        default=False,
        description="families share it (the home phone): records joined only through it whose "
        "given names conflict stay two profiles (identity.given_name_conflict)",
    )


PERSON_FIELDS = (
    "first_name",
    "last_name",
    "full_name",
    "date_of_birth",
    "postcode",
    "city",
    "address",
    "national_id",
    "phone_suffix",
)


class ProbabilisticConfig(Section):
    """Fellegi-Sunter matching on person traits for records no identifier links (Splink)."""

    enabled: bool = True
    threshold: float = Field(default=0.95, gt=0, lt=1)
    seed: int = Field(default=7, ge=1, description="Splink's sampling seed (0 means unseeded)")


EVENT_COLUMNS = ("user_id", "anonymous_id", "previous_id", "device_id", "group_id")
EVENT_JSON_COLUMNS = ("traits", "context", "properties")


class EventIdentityConfig(Section):
    """Which fields of bronze.events are identifiers or person traits.

    A field is a bronze.events column (`user_id`, `device_id`, ...) or a path into one of its JSON
    columns (`traits.email`, `context.traits.phone`).
    """

    identifiers: dict[str, str] = Field(
        default_factory=lambda: {
            "user_id": "user_id",
            "anonymous_id": "anonymous_id",
            "previous_id": "anonymous_id",
            "device_id": "device_id",
            "traits.email": "email",
            "traits.phone": "phone",
        }
    )
    person: dict[str, str] = Field(
        default_factory=lambda: {"first_name": "traits.firstName", "last_name": "traits.lastName"}
    )

    @field_validator("identifiers", "person")
    @classmethod
    def _fields_exist(cls, value: dict[str, str], info: Any) -> dict[str, str]:
        fields = value if info.field_name == "identifiers" else {v: k for k, v in value.items()}
        for field in fields:
            root = field.split(".", 1)[0]
            if field not in EVENT_COLUMNS and root not in EVENT_JSON_COLUMNS:
                raise ValueError(
                    f"{field!r} is neither an event column ({', '.join(EVENT_COLUMNS)}) nor a "
                    f"path into {', '.join(EVENT_JSON_COLUMNS)}"
                )
        if info.field_name == "person":
            unknown = sorted(set(value) - set(PERSON_FIELDS))
            if unknown:
                raise ValueError(f"unknown person field(s): {', '.join(unknown)}")
        return value


class IdentityConfig(Section):
    """Guardrails and matching rules of identity resolution (see docs/identity.md)."""

    email_provider_rules: bool = True
    hub_max_profiles: int = Field(
        default=5,
        ge=1,
        description="an identifier seen with identifiers of more than this many profiles is a hub",
    )
    max_cluster_size: int = Field(
        default=200, ge=2, description="identifiers per profile above which a profile is flagged"
    )
    blocklist: dict[str, list[str]] = Field(
        default_factory=dict, description="identifier type (or '*') -> placeholder values"
    )
    blocklist_patterns: dict[str, list[str]] = Field(
        default_factory=dict, description="identifier type (or '*') -> regex on the normal form"
    )
    never_link: list[tuple[str, str]] = Field(
        default_factory=list, description="pairs of 'type:value' never to be in one profile"
    )
    given_name_conflict: float = Field(
        default=0.8,
        ge=0,
        lt=1,
        description="given names both known and this different (Jaro-Winkler, no shared token or "
        "initial) are two people: never a probabilistic link, never joined through a "
        "household_shared identifier; 0 = off",
    )
    single_valued_traits: list[str] = Field(
        default_factory=lambda: ["date_of_birth"],
        description="person traits one profile has one value of: records that disagree on one "
        "are kept apart, like a limit (a shared family phone does not join parent and child)",
    )
    conclusive_traits: list[str] = Field(
        default_factory=lambda: ["national_id"],
        description="person traits that, stated alike on two records, outweigh what else they "
        "disagree on: a single-valued trait or a given name typed wrong no longer keeps them "
        "apart (they still need an identifier or a probabilistic match to link)",
    )
    driver_components_max_edges: int = Field(
        default=2_000_000,
        ge=0,
        description="an identifier graph of at most this many edges gets its connected "
        "components on the driver (about 16 bytes an edge) instead of in Spark rounds whose fixed "
        "cost dominates small graphs; 0 = always in Spark",
    )
    events: EventIdentityConfig = Field(default_factory=EventIdentityConfig)
    probabilistic: ProbabilisticConfig = Field(default_factory=ProbabilisticConfig)

    @field_validator("blocklist_patterns")
    @classmethod
    def _patterns_compile(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for id_type, patterns in value.items():
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"{id_type}: invalid pattern {pattern!r}: {exc}") from None
        return value

    @field_validator("single_valued_traits", "conclusive_traits")
    @classmethod
    def _traits_known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - (set(PERSON_FIELDS) - {"full_name"}))
        if unknown:
            raise ValueError(f"unknown person field(s): {', '.join(unknown)}")
        return value

    @field_validator("never_link")
    @classmethod
    def _pairs_are_typed(cls, value: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for pair in value:
            for ref in pair:
                if ":" not in ref:
                    raise ValueError(f"never_link entries are 'type:value', got {ref!r}")
        return value
