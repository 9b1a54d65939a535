"""Clean rows of the four file sources, as each system would record one person's activity.

Each builder returns `SourceRow`s keyed by the source's declared column names; what goes wrong on
the way into files (placeholders, broken rows, duplicates) is added afterwards by `records`, the
same way for every source, so these functions only say what each system knows about a person and
how it writes it (local or UTC time, local phone formats, masked marketplace contacts).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from synthetic_world.clock import DAY_MS, iso_local, iso_utc
from synthetic_world.context import MAX_CONTACTS, MAX_RECORDS, WorldContext
from synthetic_world.emails import slug, written
from synthetic_world.markets import Market
from synthetic_world.people import Person, draw_tier
from synthetic_world.rng import below, between, cumulative, pick, weighted

Value = str | float | int | None

_ORDER_CODES = {"shopee": "SP", "lazada": "LZ", "tiktokshop": "TT", "tokopedia": "TK", "tiki": "TI"}
_BASKET_SIZES = (1, 2, 3, 4, 5, 6, 8)
_BASKET_CUM = cumulative((0.3, 0.25, 0.15, 0.12, 0.08, 0.06, 0.04))
_EDITS_CUM = cumulative((0.72, 0.2, 0.08))
_TIER_UP = {"Basic": "Silver", "Silver": "Gold", "Gold": "Platinum", "Platinum": "Platinum"}


@dataclass(slots=True)
class SourceRow:
    ms: int  # when it happened; rows are written in this order within a chunk
    record_id: str
    values: dict[str, Value]
    offset_minutes: int  # the market's UTC offset, for local renderings of `ms`


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _amount_text(market: Market, amount: float) -> str:
    return f"{amount:.0f}" if market.money_step >= 1 else f"{amount:.2f}"


def _basket(ctx: WorldContext, rng: random.Random, market: Market) -> tuple[float, int]:
    prices = ctx.catalog.prices[market.code]
    items = weighted(rng, _BASKET_SIZES, _BASKET_CUM)
    total = sum(prices[below(rng, len(prices))] for _ in range(items))
    step = market.money_step
    return round(round(total / step) * step, 2), items


def _city(rng: random.Random, person: Person) -> str:
    return pick(rng, person.city.spellings) if rng.random() < 0.3 else person.city.name


def _name_case(rng: random.Random, name: str) -> str:
    r = rng.random()
    return name.upper() if r < 0.08 else (name.lower() if r < 0.11 else name)


def crm_rows(
    ctx: WorldContext, rng: random.Random, person: Person, noise: Counter[str]
) -> list[SourceRow]:
    """One row per CRM contact, repeated with each later edit (the extract repeats edited rows)."""
    rows: list[SourceRow] = []
    market, plan = person.market, ctx.phones[person.market.code]
    for k in range(min(person.crm_contacts, MAX_CONTACTS)):
        contact_id = f"C{ctx.ids.contact(person.index * MAX_CONTACTS + k):010d}"
        second = k > 0  # a duplicate contact keyed in at a store, often with less detail
        email = person.alt_email if second and person.alt_email else person.email
        phone = person.alt_phone if second and person.alt_phone else person.phone
        values: dict[str, Value] = {
            "contact_id": contact_id,
            "country": market.code,
            "email": None if second and rng.random() < 0.4 else written(rng, email, noise),
            "mobile": None if rng.random() < 0.06 else plan.written(rng, phone),
            "first_name": _name_case(rng, person.first_name),
            "last_name": _name_case(rng, person.last_name),
            "date_of_birth": None if rng.random() < 0.12 else person.date_of_birth,
            "gender": None if rng.random() < 0.05 else person.gender,
            "city": _city(rng, person),
            "postcode": None if rng.random() < 0.08 else person.postcode,
            "email_opt_in": _bool(person.email_opt_in),
            "sms_opt_in": _bool(person.sms_opt_in),
        }
        ms = ctx.window.instant(rng, margin_ms=DAY_MS)
        edits = weighted(rng, (0, 1, 2), _EDITS_CUM)
        for _ in range(edits + 1):
            row = dict(values)
            row["updated_at"] = iso_local(ms, market.utc_offset_minutes, market.offset_suffix)
            rows.append(SourceRow(ms, contact_id, row, market.utc_offset_minutes))
            ms = min(ms + between(rng, DAY_MS // 24, 20 * DAY_MS), ctx.window.end_ms)
            values["email_opt_in"] = _bool(rng.random() < 0.5)
            if rng.random() < 0.3:
                values["city"] = _city(rng, person)
    return rows


def pos_rows(
    ctx: WorldContext, rng: random.Random, person: Person, noise: Counter[str]
) -> list[SourceRow]:
    """Store transactions during opening hours; the cashier keys a phone or loyalty number."""
    rows: list[SourceRow] = []
    market, plan, window = person.market, ctx.phones[person.market.code], ctx.window
    days = max(1, window.span_ms // DAY_MS)
    home_store = person.index * 7919 % market.stores + 1
    for k in range(min(person.store_visits, MAX_RECORDS)):
        transaction_id = f"T{ctx.ids.transaction(person.index * MAX_RECORDS + k):012d}"
        local_seconds = between(rng, 9 * 3600, 22 * 3600)
        ms = (
            window.start_ms
            + below(rng, days) * DAY_MS
            + (local_seconds - market.utc_offset_minutes * 60) * 1000
        )
        ms = window.clamp(ms)
        if person.loyalty_id:
            r = rng.random()
            use_phone, use_loyalty = r >= 0.6, r < 0.85
        else:
            use_phone, use_loyalty = True, False
        phone = person.alt_phone if person.alt_phone and rng.random() < 0.3 else person.phone
        store = home_store if rng.random() < 0.8 else between(rng, 1, market.stores + 1)
        amount, items = _basket(ctx, rng, market)
        values: dict[str, Value] = {
            "transaction_id": transaction_id,
            "transaction_ts": iso_local(ms, market.utc_offset_minutes, market.offset_suffix),
            "market": market.code,
            "phone": plan.written(rng, phone) if use_phone else None,
            "loyalty_no": person.loyalty_id if use_loyalty else None,
            "store_id": f"{market.code}-S{store:03d}",
            "amount": _amount_text(market, amount),
            "currency": market.currency,
            "item_count": str(items),
        }
        rows.append(SourceRow(ms, transaction_id, values, market.utc_offset_minutes))
    return rows


def loyalty_rows(
    ctx: WorldContext, rng: random.Random, person: Person, noise: Counter[str]
) -> list[SourceRow]:
    """The member record, repeated when the programme changes it (tier moves, contact edits)."""
    if not person.loyalty_id:
        return []
    plan = ctx.phones[person.market.code]
    email = person.alt_email if person.alt_email and rng.random() < 0.3 else person.email
    values: dict[str, Value] = {
        "member_id": person.loyalty_id,
        "market": person.market.code,
        "email": None if rng.random() < 0.05 else written(rng, email, noise),
        "phone": plan.written(rng, person.phone),
        "first_name": person.first_name,
        "last_name": person.last_name,
        "date_of_birth": person.date_of_birth if rng.random() < 0.9 else None,
        "tier": person.tier or draw_tier(rng),
    }
    ms = ctx.window.instant(rng, margin_ms=DAY_MS)
    rows: list[SourceRow] = []
    for update in range(2 if rng.random() < 0.2 else 1):
        if update:
            ms = min(ms + between(rng, DAY_MS, 30 * DAY_MS), ctx.window.end_ms)
            values = {**values, "tier": _TIER_UP[str(values["tier"])]}
        row = {**values, "updated_at": iso_utc(ms)}
        rows.append(SourceRow(ms, person.loyalty_id, row, person.market.utc_offset_minutes))
    return rows


def _buyer_name(rng: random.Random, person: Person) -> str:
    first, last = person.first_name, person.last_name
    r = rng.random()
    if r < 0.35:
        return f"{first} {last}"
    if r < 0.55:
        return f"{first[0]}***{first[-1]} {last[0]}***"
    if r < 0.7:
        return first
    if r < 0.85:
        return f"{last} {first[0]}."
    return f"{slug(first)}_{slug(last)[:1]}{below(rng, 100)}"


def marketplace_rows(
    ctx: WorldContext, rng: random.Random, person: Person, noise: Counter[str]
) -> list[SourceRow]:
    """Orders as the platform exports them: its own buyer id, masked name and phone, UTC time."""
    rows: list[SourceRow] = []
    if not person.buyer_ids:
        return rows
    market, plan = person.market, ctx.phones[person.market.code]
    for k in range(min(person.marketplace_orders, MAX_RECORDS)):
        platform, buyer_id = pick(rng, person.buyer_ids)
        code = _ORDER_CODES.get(platform, platform[:2].upper())
        order_id = f"{code}{ctx.ids.order(person.index * MAX_RECORDS + k):013d}"
        ms = ctx.window.instant(rng)
        amount, items = _basket(ctx, rng, market)
        values: dict[str, Value] = {
            "order_id": order_id,
            "order_ts": iso_utc(ms),
            "market": market.code,
            "buyer_id": buyer_id,
            "buyer_name": _buyer_name(rng, person),
            "postcode": person.postcode if rng.random() < 0.75 else None,
            "platform": platform,
            "masked_phone": plan.masked(person.phone) if rng.random() < 0.7 else None,
            "amount": amount,
            "currency": market.currency,
            "item_count": items,
        }
        rows.append(SourceRow(ms, order_id, values, market.utc_offset_minutes))
    return rows


def _columns(text: str) -> frozenset[str]:
    return frozenset(text.split())


# The columns each builder fills; a declared column outside these cannot be generated.
COLUMNS = {
    "crm": _columns(
        "contact_id updated_at country email mobile first_name last_name date_of_birth gender "
        "city postcode email_opt_in sms_opt_in"
    ),
    "pos": _columns(
        "transaction_id transaction_ts market phone loyalty_no store_id amount currency item_count"
    ),
    "loyalty": _columns(
        "member_id updated_at market email phone first_name last_name date_of_birth tier"
    ),
    "marketplace": _columns(
        "order_id order_ts market buyer_id buyer_name postcode platform masked_phone amount "
        "currency item_count"
    ),
}
BUILDERS = {
    "crm": crm_rows,
    "pos": pos_rows,
    "loyalty": loyalty_rows,
    "marketplace": marketplace_rows,
}
