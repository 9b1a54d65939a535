"""Next best action rules, applied after the score; pure so every rule is tested alone.

Order: holdout first (a holdout customer gets nothing, whatever else is true, or lift would be
biased), then each configured action in priority order: eligibility (conditions, market, score
band), suppression after a purchase, and per channel consent for the action's purpose and the
frequency cap. The first action with a deliverable channel wins; every skipped one leaves its
reason, so a channel team can see why a customer got what they got.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lakecdp.decisioning.holdout import Arm
from lakecdp.kernel.config import ActionConfig, DecisioningConfig

ANY_CHANNEL = "any"


@dataclass(frozen=True)
class CustomerContext:
    """What the rules know of one resolved customer at decision time."""

    customer_id: str
    market: str | None
    features: Mapping[str, Any]
    score: float | None  # the primary model's
    arm: Arm
    scores: Mapping[str, float] = field(default_factory=dict)  # every served model's, by name


@dataclass
class Outcome:
    action: str
    kind: str
    channel: str | None
    fallback: bool
    reasons: list[str] = field(default_factory=list)


def consent_allows(
    config: DecisioningConfig, features: Mapping[str, Any], purpose: str, channel: str, market: str
) -> tuple[bool, str]:
    if purpose == "service":
        return True, "service message: no marketing consent needed"
    status = features.get(f"consent_{purpose}_{channel}") or "unknown"
    if status == "granted":
        return True, f"consent granted for {purpose} on {channel}"
    if status == "unknown":
        policy = config.unknown_consent_by_market.get(market, config.unknown_consent)
        if policy == "allow":
            return True, f"no consent recorded for {purpose} on {channel}; {market} allows"
    return False, f"consent {status} for {purpose} on {channel}"


def _eligible(action: ActionConfig, ctx: CustomerContext, market: str) -> tuple[bool, str | None]:
    bought = (ctx.features.get("frequency") or 0) > 0
    conditions = {
        "open_cart": bool(ctx.features.get("open_cart")),
        "purchased_before": bought,
        "no_purchase": not bought,
    }
    for condition in action.requires:
        if not conditions[condition]:
            return False, f"requires {condition}"
    if action.markets and market not in action.markets:
        return False, f"not offered in {market}"
    if action.min_score > 0 or action.max_score < 1:
        if ctx.score is None:
            return False, "needs a score, none available"
        if not action.min_score <= ctx.score <= action.max_score:
            return False, f"score {ctx.score:.3f} outside [{action.min_score}, {action.max_score}]"
    for model, band in action.scores.items():
        score = ctx.scores.get(model)
        if score is None:
            return False, f"needs a {model} score, none available"
        if not band.min <= score <= band.max:
            return False, f"{model} score {score:.3f} outside [{band.min}, {band.max}]"
    return True, None


def recently_purchased(
    config: DecisioningConfig, features: Mapping[str, Any], now: datetime
) -> bool:
    last = features.get("last_order_at")
    if not isinstance(last, datetime):
        return False
    if last.tzinfo is not None and now.tzinfo is None:
        last = last.replace(tzinfo=None)
    return now - last < timedelta(days=config.recent_purchase_days)


def choose_action(
    config: DecisioningConfig,
    ctx: CustomerContext,
    *,
    channel: str,
    market: str,
    cap_counts: Mapping[str, int],
    now: datetime,
) -> Outcome:
    """The decision for one known customer; `cap_counts` holds deliveries per channel within
    each channel's cap window."""
    if ctx.arm == "holdout":
        return Outcome(config.holdout_action, "holdout", None, False, ["holdout arm: no action"])
    reasons: list[str] = []
    suppressed = recently_purchased(config, ctx.features, now)
    for name, action in config.actions.items():
        ok, why = _eligible(action, ctx, market)
        if not ok:
            reasons.append(f"{name}: {why}")
            continue
        if suppressed and action.suppress_after_purchase and action.kind == "commercial":
            reasons.append(f"{name}: suppressed, purchased within {config.recent_purchase_days} d")
            continue
        channels = (
            action.channels
            if channel == ANY_CHANNEL
            else [c for c in action.channels if c == channel]
        )
        if not channels:
            reasons.append(f"{name}: not deliverable on {channel}")
            continue
        for candidate in channels:
            allowed, consent_reason = consent_allows(
                config, ctx.features, action.purpose, candidate, market
            )
            if not allowed:
                reasons.append(f"{name}: {consent_reason}")
                continue
            cap = config.caps.get(candidate)
            if cap is not None and cap_counts.get(candidate, 0) >= cap.max:
                reasons.append(
                    f"{name}: capped on {candidate} "
                    f"({cap_counts.get(candidate, 0)}/{cap.max} in {cap.hours:g} h)"
                )
                continue
            return Outcome(name, action.kind, candidate, False, [*reasons, consent_reason])
    return Outcome(
        config.fallback_action,
        "content",
        None,
        True,
        [*reasons, "no action eligible: fallback"],
    )
