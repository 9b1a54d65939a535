"""Identity rules from the configuration: normalizers, placeholders, priorities and limits.

One object, built once from `lakecdp.yaml`, answers every rule question the Spark pipeline and
the standalone resolver ask, so the two cannot drift apart: how a raw value of a type becomes
its normal form (or why it cannot), which types bind first, and how many of each one person may
hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lakecdp.identity.normalizers import Normalized, _clean, normalize, normalize_email
from lakecdp.kernel.config import ProjectConfig

BLOCKLISTED = "blocklisted"
# The resolver's pseudo-identifier: every input row is a node, so rows without any identifier
# still exist and probabilistic matches have something to attach to.
RECORD_TYPE = "_record"


@dataclass(frozen=True)
class IdentifierRule:
    name: str
    kind: str
    priority: int
    max_per_profile: int | None
    hub_max_profiles: int
    household_shared: bool = False


@dataclass(frozen=True)
class IdentityRules:
    types: dict[str, IdentifierRule]
    email_provider_rules: bool = True
    blocklist: dict[str, frozenset[str]] = field(default_factory=dict)
    patterns: dict[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)
    max_cluster_size: int = 200
    given_name_conflict: float = 0.0

    @classmethod
    def from_config(cls, config: ProjectConfig, *, with_record_type: bool = False) -> IdentityRules:
        ident = config.identity
        types = {
            name: IdentifierRule(
                name,
                spec.kind,
                spec.priority,
                spec.max_per_profile,
                spec.hub_max_profiles or ident.hub_max_profiles,
                spec.household_shared,
            )
            for name, spec in config.identifier_types.items()
        }
        if with_record_type:
            types[RECORD_TYPE] = IdentifierRule(RECORD_TYPE, "custom", -1, None, 1_000_000)
        wildcard = {_key(v) for v in ident.blocklist.get("*", [])}
        blocklist = {
            name: frozenset(wildcard | {_key(v) for v in ident.blocklist.get(name, [])})
            for name in types
        }
        patterns = {
            name: tuple(
                re.compile(p)
                for p in [
                    *ident.blocklist_patterns.get("*", []),
                    *ident.blocklist_patterns.get(name, []),
                ]
            )
            for name in types
        }
        return cls(
            types,
            ident.email_provider_rules,
            blocklist,
            patterns,
            ident.max_cluster_size,
            ident.given_name_conflict,
        )

    def rule(self, id_type: str) -> IdentifierRule:
        try:
            return self.types[id_type]
        except KeyError:
            raise ValueError(
                f"unknown identifier type {id_type!r}; declared: {', '.join(sorted(self.types))}"
            ) from None

    def normalize(self, id_type: str, raw: object, region: str | None = None) -> Normalized:
        """The normal form of `raw` as an identifier of `id_type`, or the reason it has none."""
        rule = self.rule(id_type)
        key = _key(raw)
        if key and (key in self.blocklist[id_type] or _digits(key) in self.blocklist[id_type]):
            return Normalized(None, BLOCKLISTED)
        if rule.kind == "email":
            result = normalize_email(raw, provider_rules=self.email_provider_rules)
        else:
            result = normalize(rule.kind, raw, region=region)
        if result.value is not None and (
            result.value.lower() in self.blocklist[id_type]
            or any(p.search(result.value) for p in self.patterns[id_type])
        ):
            return Normalized(None, BLOCKLISTED)
        return result

    @property
    def limits(self) -> dict[str, int]:
        return {n: r.max_per_profile for n, r in self.types.items() if r.max_per_profile}

    @property
    def household_shared(self) -> frozenset[str]:
        """Types across which given names must agree; none when the name guard is off."""
        if not self.given_name_conflict:
            return frozenset()
        return frozenset(n for n, r in self.types.items() if r.household_shared)

    @property
    def priorities(self) -> dict[str, int]:
        return {n: r.priority for n, r in self.types.items()}


def _key(raw: object) -> str:
    return _clean(raw).lower()


def _digits(text: str) -> str:
    digits = "".join(ch for ch in text if ch.isdigit())
    return digits if len(digits) >= 6 and len(digits) >= len(text) - 4 else "\0"
