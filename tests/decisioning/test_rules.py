"""Next-best-action rules on their own: holdout, eligibility, suppression, consent, caps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lakecdp.decisioning.rules import CustomerContext, choose_action
from lakecdp.kernel.config import ProjectConfig
from tests.conftest import make_config

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> ProjectConfig:
    return make_config(tmp_path_factory.mktemp("rules"))


def consents(config: ProjectConfig, granted: set[str]) -> dict[str, str]:
    return {
        f"consent_{p}_{c}": "granted" if f"{p}_{c}" in granted else "denied"
        for p in config.consent.purposes
        for c in config.consent.channels
    }


def ctx(
    config: ProjectConfig,
    *,
    score: float | None = 0.6,
    granted: set[str] | None = None,
    arm: str = "treatment",
    **features: Any,
) -> CustomerContext:
    base = {"frequency": 3.0, "open_cart": 0, "last_order_at": NOW - timedelta(days=20)}
    all_granted = {f"{p}_{c}" for p in config.consent.purposes for c in config.consent.channels}
    values = {**base, **consents(config, all_granted if granted is None else granted), **features}
    return CustomerContext("cus_x", "SG", values, score, arm)  # type: ignore[arg-type]


def decide(config: ProjectConfig, context: CustomerContext, channel: str = "any", **kw: Any):  # type: ignore[no-untyped-def]
    return choose_action(
        config.decisioning,
        context,
        channel=channel,
        market=kw.pop("market", "SG"),
        cap_counts=kw.pop("caps", {}),
        now=NOW,
    )


def test_holdout_gets_no_action_whatever_else_is_true(config: ProjectConfig) -> None:
    outcome = decide(config, ctx(config, arm="holdout", open_cart=1))
    assert (outcome.action, outcome.kind, outcome.channel) == ("no_action", "holdout", None)
    assert outcome.reasons == ["holdout arm: no action"]


def test_open_cart_comes_first_on_the_first_consented_channel(config: ProjectConfig) -> None:
    outcome = decide(config, ctx(config, open_cart=1))
    assert (outcome.action, outcome.channel) == ("cart_recovery", "push")
    assert not outcome.fallback


def test_denied_channel_falls_through_to_the_next_channel(config: ProjectConfig) -> None:
    outcome = decide(config, ctx(config, open_cart=1, granted={"marketing_email"}))
    assert (outcome.action, outcome.channel) == ("cart_recovery", "email")
    assert "cart_recovery: consent denied for marketing on push" in outcome.reasons


def test_score_bands_pick_winback_for_low_and_recommendations_for_high(
    config: ProjectConfig,
) -> None:
    assert decide(config, ctx(config, score=0.1)).action == "winback_offer"
    high = decide(config, ctx(config, score=0.8))
    assert (high.action, high.channel) == ("recommend_products", "push")
    assert "winback_offer: score 0.800 outside [0.0, 0.3]" in high.reasons


def test_cap_reached_moves_to_the_next_channel_then_the_next_action(
    config: ProjectConfig,
) -> None:
    caps = config.decisioning.caps
    capped_push = decide(config, ctx(config, open_cart=1), caps={"push": caps["push"].max})
    assert (capped_push.action, capped_push.channel) == ("cart_recovery", "email")
    assert any("capped on push (3/3 in 24 h)" in r for r in capped_push.reasons)
    everything = {c: cap.max for c, cap in caps.items()}
    capped = decide(config, ctx(config, open_cart=1), caps=everything)
    assert capped.fallback and capped.action == config.decisioning.fallback_action


def test_recent_purchase_suppresses_commercial_actions_but_not_service(
    config: ProjectConfig,
) -> None:
    recent = ctx(config, score=0.1, open_cart=1, last_order_at=NOW - timedelta(hours=5))
    outcome = decide(config, recent)
    assert (outcome.action, outcome.kind) == ("loyalty_service_checkin", "service")
    assert "cart_recovery: suppressed, purchased within 2.0 d" in outcome.reasons


def test_opted_out_customer_gets_only_service_messages(config: ProjectConfig) -> None:
    outcome = decide(config, ctx(config, score=0.1, open_cart=1, granted=set()))
    assert outcome.action == "loyalty_service_checkin"
    assert "service message: no marketing consent needed" in outcome.reasons
    never_bought = decide(config, ctx(config, score=None, frequency=None, granted=set()))
    assert never_bought.fallback and never_bought.action == "generic_content"
    assert "welcome_first_order: consent denied for marketing on email" in never_bought.reasons


def test_channel_specific_request_only_considers_that_channel(config: ProjectConfig) -> None:
    outcome = decide(config, ctx(config, open_cart=1), channel="sms")
    assert "cart_recovery: not deliverable on sms" in outcome.reasons
    assert outcome.channel in (None, "sms")


def test_unknown_consent_follows_the_market_policy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = make_config(tmp_path, LAKECDP__DECISIONING__UNKNOWN_CONSENT_BY_MARKET='{"MY": allow}')
    unknown = {k: "unknown" for k in consents(config, set())}
    context = ctx(config, open_cart=1, **unknown)
    assert decide(config, context, market="SG").action != "cart_recovery"
    allowed = decide(config, context, market="MY")
    assert allowed.action == "cart_recovery"
    assert "no consent recorded for marketing on push; MY allows" in allowed.reasons


def test_no_score_skips_actions_that_need_one(config: ProjectConfig) -> None:
    outcome = decide(config, ctx(config, score=None))
    assert "recommend_products: needs a score, none available" in outcome.reasons
