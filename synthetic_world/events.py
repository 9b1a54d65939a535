"""Web and app behaviour as Segment messages, the way SDKs on people's devices would send them.

A person browses in sessions on one of their devices: anonymous at first (the install's or
browser's anonymousId), identified once they log in (an identify call with userId and traits,
after which the device keeps sending the userId), through product views, carts, checkouts and
consent changes. Shared family devices start every session logged out, so one anonymousId ends
up identified as several people, which is what real households do to identity graphs.

Messages leave in the order an SDK would deliver them (by sentAt within a chunk); app sessions
queued offline arrive hours or days late, some messages are re-sent, and about 1% are broken in
the ways the collector must refuse (see `noise`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from synthetic_world.clock import DAY_MS, HOUR_MS, iso_utc_ms, unparsable
from synthetic_world.context import WorldContext
from synthetic_world.emails import written
from synthetic_world.markets import Market
from synthetic_world.noise import (
    DUPLICATE_EVENT,
    DUPLICATE_EVENT_RATE,
    EVENT_MALFORMED_RATE,
    EVENT_MISSING_IDENTITY,
    EVENT_NOT_JSON,
    EVENT_UNPARSABLE_TIMESTAMP,
    LATE_APP_SESSION_RATE,
    LATE_EVENT,
    TRACK_MISSING_EVENT,
    pick_malformation,
)
from synthetic_world.people import Device, Person
from synthetic_world.rng import below, between, cumulative, derive_rng, pick, uuid4_from, weighted

LIBRARY = {"name": "lakecdp-generator", "version": "1"}
_SESSION_MARGIN_MS = 3 * HOUR_MS
_DUPLICATE_BELOW = EVENT_MALFORMED_RATE + DUPLICATE_EVENT_RATE  # draws in [malformed, this)
_VIEWED = (1, 2, 3, 4)
_VIEWED_CUM = cumulative((0.45, 0.3, 0.15, 0.1))

Message = dict[str, Any]


class EventStream:
    """Generates one chunk's messages; `lines` holds (sentAt ms, JSON line) in creation order."""

    def __init__(self, ctx: WorldContext, chunk: int, noise: Counter[str]) -> None:
        self.ctx = ctx
        self.rng = derive_rng(ctx.seed, "events", chunk)
        self.noise = noise
        self.lines: list[tuple[int, bytes]] = []
        self.truth: list[str] = []
        self._products: dict[tuple[str, int], dict[str, Any]] = {}

    def sorted_lines(self) -> list[bytes]:
        """Lines in delivery order (sentAt), so late messages sit among later traffic."""
        self.lines.sort(key=lambda item: item[0])
        return [line for _, line in self.lines]

    # -- one person ------------------------------------------------------------------------
    def person(self, person: Person) -> None:
        if not person.devices:
            return
        rng, window = self.rng, self.ctx.window
        # Visits are played in time order: a device stays logged in only after a login.
        starts = sorted(
            window.instant(rng, margin_ms=_SESSION_MARGIN_MS) for _ in range(person.sessions)
        )
        logged_in: set[str] = set()
        devices = person.devices
        shared = [d for d in devices if d.shared]
        for start in starts:
            r = rng.random()
            if shared and r < 0.4:
                device = pick(rng, shared)  # the family tablet or computer gets a lot of use
            else:
                device = devices[0] if r < 0.7 else pick(rng, devices)
            self._session(person, device, start, logged_in)

    def _session(self, person: Person, device: Device, start: int, logged_in: set[str]) -> None:
        rng, ctx = self.rng, self.ctx
        market = person.market
        app = device.kind != "browser"
        context = {
            "channel": "app" if app else "web",
            "market": market.code,
            "device": {"id": device.device_id, "type": device.kind},
            "locale": market.locales[person.index % len(market.locales)],
            "library": LIBRARY,
        }
        session = _Session(self, person, device, context, app)
        session.t = start
        if person.user_id and device.device_id in logged_in and not device.shared:
            session.user_id = person.user_id

        session.view("Home", "/")
        # Shared devices start logged out, and their users log in more often to see their own.
        login_rate = 0.5 if device.shared else 0.3
        if person.user_id and session.user_id is None and rng.random() < login_rate:
            session.identify()
            logged_in.add(device.device_id)
        if rng.random() < 0.35:
            category = pick(rng, ctx.catalog.products).category
            session.view(category.title(), f"/c/{category}")
        viewed = [
            below(rng, len(ctx.catalog.products))
            for _ in range(weighted(rng, _VIEWED, _VIEWED_CUM))
        ]
        for product in viewed:
            props = self._product(market, product)
            session.view(props["name"], f"/p/{props['sku'].lower()}")
            session.track("product_viewed", props)
        if rng.random() < 0.35:
            cart = [{**self._product(market, p), "quantity": between(rng, 1, 4)} for p in viewed]
            cart = cart[: between(rng, 1, len(cart) + 1)]
            for item in cart:
                session.track("product_added", item)
            value = round(sum(item["price"] * item["quantity"] for item in cart), 2)
            basket = {"value": value, "currency": market.currency, "products": cart}
            if rng.random() < 0.55:
                if person.user_id and session.user_id is None:
                    session.identify()  # log in to check out
                    logged_in.add(device.device_id)
                session.view("Checkout", "/checkout")
                session.track("checkout_started", basket)
                if rng.random() < 0.75:
                    order_id = f"W{market.code}{rng.getrandbits(48):012X}"
                    session.track(
                        "purchase_completed",
                        {
                            "order_id": order_id,
                            "revenue": value,
                            "currency": market.currency,
                            "products": cart,
                        },
                    )
                else:
                    session.track("cart_abandoned", basket)
            elif rng.random() < 0.5:
                session.track("cart_abandoned", basket)
        if rng.random() < 0.07:
            session.track(
                "consent_updated",
                {
                    "purpose": pick(rng, ctx.consent_purposes),
                    "channel": pick(rng, ctx.consent_channels),
                    "granted": rng.random() < 0.6,
                },
            )
        self._deliver(session)

    def _product(self, market: Market, index: int) -> dict[str, Any]:
        key = (market.code, index)
        props = self._products.get(key)
        if props is None:
            product = self.ctx.catalog.products[index]
            props = {
                "product_id": product.product_id,
                "sku": product.sku,
                "name": product.name,
                "category": product.category,
                "price": self.ctx.catalog.prices[market.code][index],
                "currency": market.currency,
            }
            self._products[key] = props
        return props

    # -- delivery ----------------------------------------------------------------------------
    def _deliver(self, session: _Session) -> None:
        """Stamp timestamps and sentAt, then serialize, re-send or break messages."""
        rng, noise, end_ms = self.rng, self.noise, self.ctx.window.end_ms
        random, lines, truth, dumps = rng.random, self.lines, self.truth, orjson.dumps
        late_at = None
        if session.app and random() < LATE_APP_SESSION_RATE:
            late_at = min(session.t + between(rng, HOUR_MS, 3 * DAY_MS), end_ms)
            noise[LATE_EVENT] += len(session.messages)
        max_delay = 20_000 if session.app else 3_000
        person_id = session.person.person_id
        for t, message in session.messages:
            sent = (
                late_at if late_at is not None else min(t + 30 + int(random() * max_delay), end_ms)
            )
            message["timestamp"] = iso_utc_ms(t)
            message["sentAt"] = iso_utc_ms(sent)
            truth.append(f"{message['messageId']},{person_id}\n")
            r = random()
            if r >= EVENT_MALFORMED_RATE:
                line = dumps(message) + b"\n"
                lines.append((sent, line))
                if r < _DUPLICATE_BELOW:
                    noise[DUPLICATE_EVENT] += 1
                    lines.append((sent + between(rng, 1_000, 120_000), line))
                continue
            problem = pick_malformation(r, "events")
            if problem == TRACK_MISSING_EVENT and message["type"] != "track":
                problem = EVENT_MISSING_IDENTITY
            noise[problem] += 1
            if problem == EVENT_MISSING_IDENTITY:
                message.pop("userId", None)
                message.pop("anonymousId", None)
            elif problem == TRACK_MISSING_EVENT:
                del message["event"]
            elif problem == EVENT_UNPARSABLE_TIMESTAMP:
                message["timestamp"] = unparsable(rng, t, session.person.market.utc_offset_minutes)
            line = dumps(message)
            if problem == EVENT_NOT_JSON:
                line = line[: between(rng, 10, len(line) - 1)]
            lines.append((sent, line + b"\n"))


class _Session:
    """Messages of one visit, with the clock and login state they share."""

    __slots__ = ("app", "context", "device", "messages", "person", "stream", "t", "user_id")

    def __init__(
        self, stream: EventStream, person: Person, device: Device, context: Message, app: bool
    ) -> None:
        self.stream = stream
        self.person = person
        self.device = device
        self.context = context
        self.app = app
        self.t = 0
        self.user_id: str | None = None
        self.messages: list[tuple[int, Message]] = []

    def _message(self, kind: str) -> Message:
        rng = self.stream.rng
        self.t += between(rng, 2_000, 90_000)
        message: Message = {"messageId": uuid4_from(rng), "type": kind}
        return message

    def _send(self, message: Message) -> None:
        if self.user_id:
            message["userId"] = self.user_id
        message["anonymousId"] = self.device.anonymous_id
        message["context"] = self.context
        self.messages.append((self.t, message))

    def view(self, name: str, path: str) -> None:
        if self.app:
            message = self._message("screen")
            message["name"] = name
            message["properties"] = {"name": name}
        else:
            message = self._message("page")
            message["name"] = name
            host = self.person.market.web_host
            message["properties"] = {"path": path, "url": f"https://{host}{path}", "title": name}
        self._send(message)

    def track(self, event: str, properties: dict[str, Any]) -> None:
        message = self._message("track")
        message["event"] = event
        message["properties"] = properties
        self._send(message)

    def identify(self) -> None:
        rng, person = self.stream.rng, self.person
        self.user_id = person.user_id
        message = self._message("identify")
        traits: dict[str, Any] = {"email": written(rng, person.email, self.stream.noise)}
        if rng.random() < 0.7:
            traits["phone"] = self.stream.ctx.phones[person.market.code].written(rng, person.phone)
        traits["firstName"] = person.first_name
        traits["lastName"] = person.last_name
        message["traits"] = traits
        self._send(message)
