"""Unified profiles: consent vocabulary, trait survivorship, dbt marts and quality gates."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from lakecdp.kernel.config.paths import LocalPath
from lakecdp.kernel.config.section import Section


class ConsentConfig(Section):
    purposes: list[str] = Field(
        default_factory=lambda: ["analytics", "personalization", "marketing"]
    )
    channels: list[str] = Field(default_factory=lambda: ["email", "sms", "push", "whatsapp"])


class QualityConfig(Section):
    """Thresholds of the quality gates (expectations/): what a stage must satisfy to go on."""

    future_tolerance_hours: float = Field(
        default=24.0,
        ge=0,
        description="timestamps later than now plus this are refused as in the future "
        "(room for client clocks and time zones, not for bad data)",
    )
    gold_max_age_hours: float = Field(
        default=24.0, gt=0, description="gold.dim_customers must have been built within this"
    )
    max_cluster_size: int | None = Field(
        default=None, ge=2, description="identifiers per customer_id; default identity's ceiling"
    )
    root: LocalPath | None = Field(
        default=None,
        description="local folder for gate results and their HTML report (data_docs/); "
        "default <lakehouse root>/quality",
    )


# Traits the unified profile resolves; dbt gets them as var profile_traits (lakecdp dbt).
PROFILE_TRAITS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "gender",
    "city",
    "postcode",
    "loyalty_tier",
)
SurvivorshipRule = Literal["most_recent", "source_priority", "most_frequent"]


class TraitSurvivorship(Section):
    """How one profile trait is chosen when sources disagree."""

    rule: SurvivorshipRule = "most_recent"
    sources: list[str] = Field(
        default_factory=list, description="most trusted first; used by source_priority and ties"
    )


class ProfilesConfig(Section):
    """Unified profiles (dbt marts): survivorship per trait, reporting currency, as-of time."""

    dbt_project_dir: LocalPath | None = Field(
        default=None, description="the dbt project; defaults to the dbt/ folder of this repo"
    )
    reporting_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    as_of: str = Field(
        default="now",
        description="'now', 'latest' (the newest event in the lakehouse) or an ISO timestamp; "
        "windows such as 'last 24 hours' are measured back from it",
    )
    survivorship: dict[str, TraitSurvivorship] = Field(default_factory=dict)
    default_survivorship: TraitSurvivorship = Field(default_factory=TraitSurvivorship)

    def rule_for(self, trait: str) -> TraitSurvivorship:
        return self.survivorship.get(trait, self.default_survivorship)
