"""Whatever mix of faults a receiver throws, no change is lost or written twice."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lakecdp.activation.http_delivery import DeliverySettings, HttpDelivery
from lakecdp.activation.receiver import Faults, RunningReceiver, start_receiver
from lakecdp.activation.wire_format import WireFormatCodec
from tests.activation.http_world import assert_one_outcome_per_change, make_change

_sync_names = (f"property_{n}" for n in itertools.count())
share = st.sampled_from([0.0, 0.1, 0.2, 0.3])


@pytest.fixture(scope="module")
def receiver() -> Iterator[RunningReceiver]:
    with start_receiver() as running:
        yield running


@st.composite
def cases(draw: st.DrawFn) -> dict:  # type: ignore[type-arg]
    count = draw(st.integers(1, 30))
    deletes = draw(st.sets(st.integers(0, count - 1)))
    poison = draw(st.sets(st.integers(0, count - 1), max_size=3))
    faults = Faults(
        seed=draw(st.integers(0, 10_000)),
        throttle_share=draw(share),
        retry_after_seconds=0.01,
        retry_after_form="seconds",
        server_error_share=draw(share),
        timeout_share=draw(st.sampled_from([0.0, 0.1])),
        timeout_sleep_seconds=0.3,
        lost_ack_share=draw(share),
        poison_keys=frozenset(f"k{i}" for i in poison),
        poison_answer=draw(st.sampled_from(["422", "2xx"])),
    )
    return {
        "changes": [
            make_change(f"k{i}", "delete" if i in deletes else "upsert") for i in range(count)
        ],
        "faults": faults,
        "max_batch": draw(st.integers(1, 8)),
        "one_op_per_batch": draw(st.booleans()),
        "max_retries_per_batch": draw(st.integers(0, 3)),
    }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_every_key_is_applied_once_when_accepted_or_reported_otherwise(
    receiver: RunningReceiver,
    case: dict,  # type: ignore[type-arg]
) -> None:
    faults: Faults = case["faults"]
    receiver.state.reset(faults)
    sync = next(_sync_names)  # a straggler of an earlier example cannot write into this one
    codec = WireFormatCodec(
        receiver.records_url,
        sync,
        max_batch=case["max_batch"],
        one_op_per_batch=case["one_op_per_batch"],
    )
    delivery_settings = DeliverySettings(
        requests_per_second=1000,
        burst=50,
        # Random 429s are not a rate signal; a low floor would only make examples slow.
        min_requests_per_second=100,
        timeout_seconds=0.15,
        max_retries_per_batch=case["max_retries_per_batch"],
        backoff_base_seconds=0.005,
        backoff_max_seconds=0.02,
    )
    with HttpDelivery(codec, "run-1", delivery_settings, name="property") as delivery:
        outcomes = delivery.send(case["changes"])

    assert_one_outcome_per_change(case["changes"], outcomes)
    for status in sorted({o.status for o in outcomes}):
        event(f"some {status}")
    if receiver.state.counters["lost_acks"]:
        event("lost acknowledgements")
    outcome_of = {o.key: o for o in outcomes}
    held = receiver.state.records.get(sync, {})
    applied = receiver.state.applied.get(sync, {})
    for change in case["changes"]:
        outcome = outcome_of[change.key]
        assert applied.get(change.key, 0) <= 1, "a key was written twice"
        if change.key in faults.poison_keys:
            assert outcome.status in ("rejected", "failed")
            assert change.key not in held and applied.get(change.key, 0) == 0
            if outcome.status == "rejected":
                assert "poison" in (outcome.reason or "")
        elif outcome.status == "accepted":
            assert applied.get(change.key) == 1
            if change.op == "upsert":
                assert held[change.key] == change.fields
            else:
                assert change.key not in held
        else:  # failed: retried next run; applied at most once (a lost acknowledgement)
            assert outcome.status == "failed" and outcome.error_class
            assert change.key not in held or held[change.key] == change.fields
    accepted_upserts = {o.key for o in outcomes if o.status == "accepted" and o.op == "upsert"}
    failed = {o.key for o in outcomes if o.status == "failed"}
    assert accepted_upserts <= set(held) <= accepted_upserts | failed
