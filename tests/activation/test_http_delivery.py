"""The HTTP delivery engine against the reference receiver on loopback, faults injected there."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from lakecdp.activation.receiver import Faults, ReceiverSettings, RunningReceiver, start_receiver
from tests.activation.http_world import (
    FAST,
    SYNC,
    applied,
    assert_one_outcome_per_change,
    by_status,
    deliver_to,
    held,
    make_change,
    make_changes,
)

StartReceiver = Callable[..., RunningReceiver]


@pytest.fixture
def start() -> Iterator[StartReceiver]:
    """Start receivers with the given faults and settings; all are stopped after the test."""
    running: list[RunningReceiver] = []

    def _start(faults: Faults | None = None, **settings: Any) -> RunningReceiver:
        receiver = start_receiver(ReceiverSettings(faults=faults or Faults(), **settings))
        running.append(receiver)
        return receiver

    yield _start
    for receiver in running:
        receiver.stop()


def _assert_pauses_honoured(receiver: RunningReceiver, slack: float = 0.05) -> int:
    """No sender started a request while a 429's Retry-After was running: the only arrivals
    inside a pause are the other senders' requests already under way when the client read the
    429 (at most one per other sender); returns how many 429s were checked."""
    events = list(receiver.state.events)
    throttles = [e for e in events if e.status == 429 and e.wait_until is not None]
    for throttle in throttles:
        assert throttle.answered is not None and throttle.wait_until is not None
        inside = [
            e.arrived
            for e in events
            if throttle.answered + slack < e.arrived < throttle.wait_until - 0.01
        ]
        assert len(inside) < FAST.concurrency, f"{len(inside)} requests during a pause"
    return len(throttles)


def test_every_change_is_delivered_once_in_batches_of_at_most_max_batch(
    start: StartReceiver,
) -> None:
    receiver = start()
    upserts = make_changes(23)
    with deliver_to(receiver, max_batch=5) as delivery:
        outcomes = delivery.send(upserts)
        assert_one_outcome_per_change(upserts, outcomes)
        assert all(o.status == "accepted" and o.http_status == 200 for o in outcomes)
        assert all(o.attempts == 1 for o in outcomes)
        assert delivery.stats.requests == 5  # 5+5+5+5+3
        assert held(receiver) == {c.key: c.fields for c in upserts}

        deletes = [make_change(f"c{index}", "delete") for index in range(4)]
        outcomes = delivery.send(deletes)
        assert_one_outcome_per_change(deletes, outcomes)
        assert {o.status for o in outcomes} == {"accepted"}
        assert set(held(receiver)) == {c.key for c in upserts[4:]}
    assert applied(receiver) == {
        c.key: 2 if c.key in {"c0", "c1", "c2", "c3"} else 1 for c in upserts
    }


def test_one_op_per_batch_keeps_upserts_and_deletes_apart(start: StartReceiver) -> None:
    receiver = start()
    mixed = [make_change(f"k{i}", "delete" if i % 2 else "upsert") for i in range(11)]
    with deliver_to(receiver, max_batch=4, one_op_per_batch=True) as delivery:
        outcomes = delivery.send(mixed)
        assert_one_outcome_per_change(mixed, outcomes)
        assert {o.status for o in outcomes} == {"accepted"}
        assert delivery.stats.requests == 4  # 6 upserts in 4+2, 5 deletes in 4+1 (mixed: 3)
    assert set(held(receiver)) == {f"k{i}" for i in range(0, 11, 2)}


def test_429_with_retry_after_seconds_pauses_every_sender_and_is_not_a_failure(
    start: StartReceiver,
) -> None:
    receiver = start(Faults(seed=0, throttle_share=0.3, retry_after_seconds=0.2))
    changes = make_changes(40)
    # Paced so that other senders still have work while one of them is told to wait.
    paced = replace(FAST, requests_per_second=100, burst=4, min_requests_per_second=20)
    with deliver_to(receiver, max_batch=2, settings=paced) as delivery:
        outcomes = delivery.send(changes)
        stats = delivery.stats
    assert_one_outcome_per_change(changes, outcomes)
    assert by_status(outcomes)["accepted"] == {c.key for c in changes}
    assert stats.throttled_requests == receiver.state.counters["throttled"] > 0
    assert stats.retried_requests == 0  # throttling spends no failure budget
    assert stats.extra["retry_budget_left"] == FAST.retry_budget
    assert stats.extra["failed"] == 0
    assert _assert_pauses_honoured(receiver) == stats.throttled_requests
    assert set(applied(receiver).values()) == {1}


def test_429_with_retry_after_http_date_is_honoured(start: StartReceiver) -> None:
    receiver = start(
        Faults(seed=3, throttle_share=0.4, retry_after_seconds=0.2, retry_after_form="http-date")
    )
    changes = make_changes(8)
    with deliver_to(receiver, max_batch=4) as delivery:
        outcomes = delivery.send(changes)
        stats = delivery.stats
    assert by_status(outcomes)["accepted"] == {c.key for c in changes}
    assert stats.throttled_requests >= 1 and stats.retried_requests == 0
    first_throttle = next(e for e in receiver.state.events if e.status == 429)
    # The date names a whole second; nothing was sent again before it.
    assert first_throttle.wait_until is not None and first_throttle.wait_until % 1 == 0
    later = [e for e in receiver.state.events if e.arrived > first_throttle.answered + 0.1]  # type: ignore[operator]
    assert later and min(e.arrived for e in later) >= first_throttle.wait_until - 0.01
    assert _assert_pauses_honoured(receiver) == stats.throttled_requests


def test_requests_per_second_cap_slows_the_sender_down(start: StartReceiver) -> None:
    receiver = start(Faults(max_requests_per_second=25))
    changes = make_changes(40)
    with deliver_to(receiver, max_batch=1, settings=replace(FAST, min_requests_per_second=5)) as (
        delivery
    ):
        outcomes = delivery.send(changes)
        stats = delivery.stats
        decreases = delivery.limiter.decreases  # type: ignore[attr-defined]
    assert by_status(outcomes)["accepted"] == {c.key for c in changes}
    assert stats.throttled_requests == receiver.state.counters["rate_capped"] > 0
    assert decreases >= 1  # halved from 500/s at least once
    assert stats.extra["failed"] == 0 and stats.retried_requests == 0


def test_server_errors_and_timeouts_are_retried_until_delivered(start: StartReceiver) -> None:
    receiver = start(
        Faults(seed=8, server_error_share=0.25, timeout_share=0.15, timeout_sleep_seconds=0.5)
    )
    changes = make_changes(30)
    with deliver_to(receiver, max_batch=3, settings=replace(FAST, timeout_seconds=0.3)) as (
        delivery
    ):
        outcomes = delivery.send(changes)
        stats = delivery.stats
    counters = receiver.state.counters
    assert by_status(outcomes)["accepted"] == {c.key for c in changes}
    assert counters["server_errors"] > 0 and counters["timeouts"] > 0
    assert stats.extra["server_errors"] == counters["server_errors"]
    assert stats.extra["timeouts"] >= counters["timeouts"]
    assert stats.retried_requests == stats.extra["server_errors"] + stats.extra["timeouts"]
    assert max(o.attempts for o in outcomes) > 1
    assert set(applied(receiver).values()) == {1}


def test_lost_acknowledgements_are_retried_and_each_key_applied_exactly_once(
    start: StartReceiver,
) -> None:
    receiver = start(Faults(seed=1, lost_ack_share=0.4))
    changes = make_changes(30)
    with deliver_to(receiver, max_batch=3) as delivery:
        outcomes = delivery.send(changes)
        stats = delivery.stats
    counters = receiver.state.counters
    assert by_status(outcomes)["accepted"] == {c.key for c in changes}
    assert counters["lost_acks"] > 0
    assert stats.extra["connection_errors"] == counters["lost_acks"]
    assert counters["replayed"] == counters["lost_acks"]  # retries answered from the first
    assert applied(receiver) == {c.key: 1 for c in changes}
    assert held(receiver) == {c.key: c.fields for c in changes}


def test_rerun_of_delivered_changes_is_not_applied_again(start: StartReceiver) -> None:
    """A run that crashed after delivering and before saving state sends the same changes in a
    new run: the receiver knows them by their record idempotency keys."""
    receiver = start()
    changes = make_changes(10)
    for run_id in ("run-1", "run-2"):
        with deliver_to(receiver, run_id) as delivery:
            assert {o.status for o in delivery.send(changes)} == {"accepted"}
    assert applied(receiver) == {c.key: 1 for c in changes}
    assert receiver.state.counters["duplicates"] == 10


def test_value_set_back_in_a_later_run_is_applied_again(start: StartReceiver) -> None:
    """A, then B, then A again: the third change has the first one's idempotency key, and is
    still a write (the receiver holds B)."""
    receiver = start()
    first = make_change("k", fields={"tier": "gold"})
    second = make_change("k", fields={"tier": "silver"})
    for run_id, change in (("run-1", first), ("run-2", second), ("run-3", first)):
        with deliver_to(receiver, run_id) as delivery:
            assert delivery.send([change])[0].status == "accepted"
    assert held(receiver) == {"k": {"tier": "gold"}}
    assert applied(receiver) == {"k": 3}


def test_poison_records_are_isolated_by_bisection_and_only_they_are_rejected(
    start: StartReceiver,
) -> None:
    poison = {"c3", "c20"}
    receiver = start(Faults(poison_keys=frozenset(poison)))
    changes = make_changes(32)
    with deliver_to(receiver, max_batch=16) as delivery:
        outcomes = delivery.send(changes)
        stats = delivery.stats
    assert_one_outcome_per_change(changes, outcomes)
    grouped = by_status(outcomes)
    assert grouped["rejected"] == poison
    assert grouped["accepted"] == {c.key for c in changes} - poison
    for outcome in outcomes:
        if outcome.key in poison:
            assert outcome.http_status == 422
            assert outcome.error_class == "rejected_by_receiver"
            assert outcome.reason is not None and "poison" in outcome.reason
            assert outcome.attempts == 5  # 16 -> 8 -> 4 -> 2 -> 1
    assert stats.split_batches == 8  # each poison record: 16, 8, 4 and 2 split once
    assert held(receiver) == {c.key: c.fields for c in changes if c.key not in poison}


def test_partial_rejection_in_a_2xx_rejects_exactly_the_named_keys(start: StartReceiver) -> None:
    poison = {"c1", "c7", "c8"}
    receiver = start(Faults(poison_keys=frozenset(poison), poison_answer="2xx"))
    changes = make_changes(12)
    with deliver_to(receiver, max_batch=6) as delivery:
        outcomes = delivery.send(changes)
        stats = delivery.stats
    grouped = by_status(outcomes)
    assert grouped["rejected"] == poison
    assert grouped["accepted"] == {c.key for c in changes} - poison
    assert {o.http_status for o in outcomes} == {200}
    assert all("poison" in (o.reason or "") for o in outcomes if o.status == "rejected")
    assert stats.requests == 2 and stats.split_batches == 0
    assert set(held(receiver)) == grouped["accepted"]


def test_a_record_too_large_alone_is_rejected_and_the_rest_fit(start: StartReceiver) -> None:
    small = make_changes(9)
    huge = make_change("huge", fields={"notes": "x" * 4000})
    receiver = start(Faults(max_request_bytes=2000))
    changes = [*small[:4], huge, *small[4:]]
    with deliver_to(receiver, max_batch=10) as delivery:
        outcomes = delivery.send(changes)
    grouped = by_status(outcomes)
    assert grouped["rejected"] == {"huge"}
    assert grouped["accepted"] == {c.key for c in small}
    assert next(o for o in outcomes if o.key == "huge").http_status == 413


def test_exhausted_retry_budgets_leave_failed_outcomes_for_the_next_run(
    start: StartReceiver,
) -> None:
    receiver = start(Faults(server_error_share=1.0))
    changes = make_changes(10)
    settings = replace(FAST, max_retries_per_batch=2, retry_budget=3)
    with deliver_to(receiver, max_batch=2, settings=settings) as delivery:
        outcomes = delivery.send(changes)
        assert_one_outcome_per_change(changes, outcomes)
        assert {(o.status, o.http_status, o.error_class) for o in outcomes} == {
            ("failed", 500, "http_500")
        }
        stats = delivery.stats
        assert stats.retried_requests == 3 and stats.extra["retry_budget_left"] == 0
        assert stats.requests == 5 + 3
        # The budget is the run's: the next send of the same run retries nothing.
        more = make_changes(2, prefix="m")
        outcomes = delivery.send(more)
        assert [o.attempts for o in outcomes] == [1, 1]
        assert all("retry budget is spent" in (o.reason or "") for o in outcomes)
        assert delivery.stats.requests == 9
    receiver.state.reset(Faults())  # the receiver recovers; the next run delivers them
    with deliver_to(receiver, "run-2", max_batch=2) as delivery:
        assert {o.status for o in delivery.send(changes + more)} == {"accepted"}


def test_timeouts_past_the_batch_budget_fail_as_timeouts(start: StartReceiver) -> None:
    receiver = start(Faults(timeout_share=1.0, timeout_sleep_seconds=0.6))
    changes = make_changes(3)
    settings = replace(FAST, timeout_seconds=0.1, max_retries_per_batch=1)
    with deliver_to(receiver, max_batch=3, settings=settings) as delivery:
        outcomes = delivery.send(changes)
    assert {(o.status, o.error_class, o.attempts) for o in outcomes} == {("failed", "timeout", 2)}
    assert held(receiver) == {}


def test_endless_throttling_fails_the_batch_without_spending_the_retry_budget(
    start: StartReceiver,
) -> None:
    receiver = start(Faults(throttle_share=1.0, retry_after_seconds=0.01))
    settings = replace(FAST, max_throttled_per_batch=3)
    with deliver_to(receiver, max_batch=5, settings=settings) as delivery:
        outcomes = delivery.send(make_changes(5))
        stats = delivery.stats
    assert {(o.status, o.http_status, o.error_class, o.attempts) for o in outcomes} == {
        ("failed", 429, "throttled", 4)
    }
    assert stats.throttled_requests == 4 and stats.retried_requests == 0


def test_retry_after_beyond_the_limit_stops_the_run_at_once(start: StartReceiver) -> None:
    receiver = start(Faults(throttle_share=1.0, retry_after_seconds=3600))
    settings = replace(FAST, max_retry_after_seconds=5, concurrency=1)
    with deliver_to(receiver, max_batch=2, settings=settings) as delivery:
        outcomes = delivery.send(make_changes(6))
        stats = delivery.stats
    assert {(o.status, o.error_class) for o in outcomes} == {("failed", "throttled")}
    assert stats.requests == 1 and stats.extra["stopped"] == "throttled"
    assert sorted(o.attempts for o in outcomes) == [0, 0, 0, 0, 1, 1]


def test_signed_requests_are_verified_and_a_wrong_secret_is_unauthorized(
    start: StartReceiver,
) -> None:
    receiver = start(signing_secret="right-secret")
    changes = make_changes(12)
    with deliver_to(receiver, max_batch=2, signing_secret="wrong-secret") as delivery:
        outcomes = delivery.send(changes)
        assert_one_outcome_per_change(changes, outcomes)
        assert {(o.status, o.http_status, o.error_class) for o in outcomes} == {
            ("failed", 401, "unauthorized")
        }
        assert delivery.stats.requests <= FAST.concurrency  # stopped after the first 401s
        assert delivery.stats.extra["stopped"] == "unauthorized"
        # Later sends of the run fail at once, without a request.
        assert {o.attempts for o in delivery.send(make_changes(2, prefix="m"))} == {0}
    with deliver_to(receiver, max_batch=2) as delivery:  # unsigned
        assert {o.http_status for o in delivery.send(changes)} == {401}
    assert held(receiver) == {}
    with deliver_to(receiver, max_batch=2, signing_secret="right-secret") as delivery:
        assert {o.status for o in delivery.send(changes)} == {"accepted"}
    assert set(held(receiver)) == {c.key for c in changes}


def test_auth_header_is_sent_and_checked(start: StartReceiver) -> None:
    receiver = start(authorization="Bearer token-1")
    with deliver_to(receiver, auth_header="Bearer token-1") as delivery:
        assert delivery.send(make_changes(3))[0].status == "accepted"
    with deliver_to(receiver, auth_header="Bearer token-2") as delivery:
        assert delivery.send(make_changes(3))[0].error_class == "unauthorized"


def test_secrets_keys_and_values_stay_out_of_logs_and_outcomes(
    start: StartReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lakecdp")
    receiver = start(
        Faults(seed=2, server_error_share=0.3, throttle_share=0.2, retry_after_seconds=0.01),
        signing_secret="s3cret-signing",
        authorization="Bearer t0ken-auth",
    )
    changes = [
        make_change(f"person-{i}", fields={"email": f"secret{i}@mail.test"}) for i in range(6)
    ]
    settings = replace(FAST, max_retries_per_batch=1)
    codec_secrets = {"signing_secret": "s3cret-signing", "auth_header": "Bearer t0ken-auth"}
    with deliver_to(receiver, max_batch=2, settings=settings, **codec_secrets) as delivery:
        outcomes = delivery.send(changes)
        text = repr(outcomes) + repr(delivery.codec) + repr(delivery.stats)
    with deliver_to(receiver, max_batch=2, signing_secret="wrong") as delivery:
        delivery.send(changes)  # an unauthorized run logs a warning
    logged = caplog.text
    assert "destination test" in logged
    for secret in ("s3cret-signing", "t0ken-auth", "@mail.test", receiver.url):
        assert secret not in text + logged
    assert "person-" not in logged  # keys are in outcomes, never in the log


def test_state_carries_over_between_sends_of_one_run(start: StartReceiver) -> None:
    receiver = start(Faults(seed=1, server_error_share=0.5))
    with deliver_to(receiver, max_batch=1) as delivery:
        delivery.send(make_changes(4, prefix="a"))
        first = delivery.stats.requests, delivery.stats.retried_requests
        delivery.send(make_changes(4, prefix="b"))
        second = delivery.stats.requests, delivery.stats.retried_requests
        assert second[0] > first[0] and second[1] >= first[1]
        assert delivery.stats.extra["accepted"] == 8
    assert len(held(receiver)) == 8 and SYNC in receiver.state.records
