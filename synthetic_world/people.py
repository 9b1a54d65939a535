"""People and their households: who exists, what identifiers they own, how active they are.

People are made household by household because the hardest identity cases live there: a
teenager or grandparent who gives the family's phone number, a tablet or home browser that
several people use. Each person's identifiers are drawn here once and every source and event
stream then writes (some form of) them, so the ground truth is simply this list.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from synthetic_world.context import MAX_CONTACTS, MAX_RECORDS, WorldContext
from synthetic_world.emails import mailbox
from synthetic_world.markets import City, Market
from synthetic_world.names import NameGroup
from synthetic_world.noise import HOUSEHOLD_PHONE, SHARED_DEVICE
from synthetic_world.phones import PhonePlan
from synthetic_world.rng import below, between, cumulative, derive_rng, pick, uuid4_from, weighted

_ADULT_BORN = (date(1952, 1, 1), date(1998, 12, 31))
_YOUNG_BORN = (date(1996, 1, 1), date(2009, 12, 31))
_HOUSEHOLD_SIZES = ((1, 0.42), (2, 0.3), (3, 0.16), (4, 0.09), (5, 0.03))
_ACTIVITY = ((1, 0.36), (2, 0.24), (3, 0.15), (4, 0.1), (5, 0.07), (6, 0.05), (8, 0.03))
_SESSIONS = ((1, 0.45), (2, 0.25), (3, 0.13), (4, 0.08), (5, 0.05), (6, 0.04))
_TIERS = (("Basic", 0.55), ("Silver", 0.25), ("Gold", 0.15), ("Platinum", 0.05))
_IOS_SHARE = {"SG": 0.55, "MY": 0.3, "TH": 0.35, "PH": 0.25, "ID": 0.15, "VN": 0.3}
PLATFORM_PREFIX = {
    "shopee": "shp_",
    "lazada": "lzd_",
    "tiktokshop": "tts_",
    "tokopedia": "tkp_",
    "tiki": "tiki_",
    "amazon": "amz_",
}


_SIZES = tuple(size for size, _ in _HOUSEHOLD_SIZES)
_SIZE_CUM = cumulative(tuple(w for _, w in _HOUSEHOLD_SIZES))
_COUNTS = tuple(count for count, _ in _ACTIVITY)
_COUNT_CUM = cumulative(tuple(w for _, w in _ACTIVITY))
_SESSION_COUNTS = tuple(count for count, _ in _SESSIONS)
_SESSION_CUM = cumulative(tuple(w for _, w in _SESSIONS))
_TIER_NAMES = tuple(tier for tier, _ in _TIERS)
_TIER_CUM = cumulative(tuple(w for _, w in _TIERS))
_EXTRA_DEVICES_CUM = cumulative((0.5, 0.35, 0.15))


def _buyer_prefix(platform: str) -> str:
    return PLATFORM_PREFIX.get(platform, f"{platform[:3]}_")


def draw_count(rng: random.Random) -> int:
    """How many times an active person does something in the window (skewed: most do it once)."""
    return weighted(rng, _COUNTS, _COUNT_CUM)


def draw_tier(rng: random.Random) -> str:
    return weighted(rng, _TIER_NAMES, _TIER_CUM)


@dataclass(slots=True)
class Device:
    device_id: str
    anonymous_id: str  # one per app install or browser profile
    kind: str  # ios | android | browser
    shared: bool = False


@dataclass(slots=True)
class Person:
    index: int
    person_id: str
    household_id: str
    market: Market
    gender: str
    first_name: str
    last_name: str
    date_of_birth: str
    city: City
    postcode: str
    email: str
    phone: str  # national significant number; may belong to another household member
    phone_shared: bool = False
    alt_email: str | None = None
    alt_phone: str | None = None
    user_id: str | None = None
    loyalty_id: str | None = None
    tier: str = ""
    buyer_ids: list[tuple[str, str]] = field(default_factory=list)  # (platform, buyer id)
    devices: list[Device] = field(default_factory=list)
    crm_contacts: int = 0
    store_visits: int = 0
    marketplace_orders: int = 0
    sessions: int = 0
    email_opt_in: bool = False
    sms_opt_in: bool = False

    def identifiers(self, plan: PhonePlan) -> list[tuple[str, str]]:
        """(identifier type, canonical value) the person owns: emails lower case, phones E.164."""
        out = [("email", self.email)]
        if self.alt_email:
            out.append(("email", self.alt_email))
        out.append(("phone", plan.e164(self.phone)))
        if self.alt_phone:
            out.append(("phone", plan.e164(self.alt_phone)))
        if self.user_id:
            out.append(("user_id", self.user_id))
        if self.loyalty_id:
            out.append(("loyalty_id", self.loyalty_id))
        out.extend(("marketplace_buyer_id", buyer) for _, buyer in self.buyer_ids)
        for device in self.devices:
            out.append(("device_id", device.device_id))
            out.append(("anonymous_id", device.anonymous_id))
        return out


def _birth_date(rng: random.Random, span: tuple[date, date]) -> str:
    low, high = span
    return (low + timedelta(days=below(rng, (high - low).days))).isoformat()


def _postcode(rng: random.Random, city: City) -> str:
    prefix = pick(rng, city.postcode_prefixes)
    rest = city.postcode_length - len(prefix)
    return prefix + str(below(rng, 10**rest)).zfill(rest) if rest > 0 else prefix


def _given(rng: random.Random, group: NameGroup, gender: str) -> str:
    return pick(rng, group.male if gender == "M" else group.female)


def _new_device(rng: random.Random, kind: str) -> Device:
    if kind == "ios":
        device_id = uuid4_from(rng).upper()  # identifierForVendor
    elif kind == "android":
        device_id = f"{rng.getrandbits(64):016x}"  # ANDROID_ID
    else:
        device_id = f"brw-{rng.getrandbits(64):016x}"  # first-party browser cookie
    return Device(device_id, uuid4_from(rng), kind)


def _phone_kind(rng: random.Random, market: Market) -> str:
    return "ios" if rng.random() < _IOS_SHARE.get(market.code, 0.3) else "android"


class _Builder:
    """Draws one chunk's households; all state is local to the chunk."""

    def __init__(self, ctx: WorldContext, chunk: int, noise: Counter[str]) -> None:
        self.ctx = ctx
        self.rng = derive_rng(ctx.seed, "people", chunk)
        self.noise = noise

    def household(self, first_index: int, size: int) -> list[Person]:
        rng, ctx = self.rng, self.ctx
        market = weighted(rng, ctx.markets, ctx.market_cum_weights)
        group = ctx.names[market.code].pick_group(rng)
        surname = pick(rng, group.last)
        city = pick(rng, market.cities)
        postcode = _postcode(rng, city)
        household_id = f"H{first_index + 1:08d}"
        head_gender = "M" if rng.random() < 0.5 else "F"
        people: list[Person] = []
        for offset in range(size):
            if offset == 0:
                gender, born = head_gender, _ADULT_BORN
            elif offset == 1:
                gender, born = ("F" if head_gender == "M" else "M"), _ADULT_BORN
            else:
                gender, born = ("M" if rng.random() < 0.5 else "F"), _YOUNG_BORN
            first = _given(rng, group, gender)
            last = self._last_name(group, surname, offset, gender, people)
            people.append(
                self._person(
                    first_index + offset,
                    household_id,
                    market,
                    gender,
                    first,
                    last,
                    _birth_date(rng, born),
                    city,
                    postcode,
                )
            )
        self._share_phone(people)
        self._share_device(people)
        return people

    def _last_name(
        self, group: NameGroup, surname: str, offset: int, gender: str, family: list[Person]
    ) -> str:
        rng = self.rng
        if not group.family_surname:
            father = next((p.first_name for p in family if p.gender == "M"), None)
            name = father.split()[-1] if offset >= 2 and father else pick(rng, group.last)
            if group.patronymic_prefix and rng.random() < 0.5:
                return f"{'bin' if gender == 'M' else 'binti'} {name}"
            return name
        if offset == 0 or rng.random() < (0.6 if offset == 1 else 0.95):
            return surname
        return pick(rng, group.last)

    def _person(
        self,
        index: int,
        household_id: str,
        market: Market,
        gender: str,
        first: str,
        last: str,
        born: str,
        city: City,
        postcode: str,
    ) -> Person:
        rng, ids = self.rng, self.ctx.ids
        domains, cum = market.email_domain_names, market.email_domain_cum
        email = mailbox(rng, first, last, ids.email(index), weighted(rng, domains, cum))
        plan = self.ctx.phones[market.code]
        person = Person(
            index=index,
            person_id=f"P{index + 1:08d}",
            household_id=household_id,
            market=market,
            gender=gender,
            first_name=first,
            last_name=last,
            date_of_birth=born,
            city=city,
            postcode=postcode,
            email=email,
            phone=plan.new_number(rng),
            email_opt_in=rng.random() < 0.55,
            sms_opt_in=rng.random() < 0.35,
        )
        if rng.random() < 0.15:
            second = weighted(rng, domains, cum)
            person.alt_email = mailbox(
                rng, first, last, ids.email(self.ctx.customers + index), second
            )
        if rng.random() < 0.08:
            person.alt_phone = plan.new_number(rng)
        if rng.random() < 0.42:
            person.loyalty_id = f"LY{ids.loyalty(index):010d}"
            person.tier = draw_tier(rng)
        r = rng.random()
        person.crm_contacts = 0 if r >= 0.68 else (2 if r < 0.05 else 1)
        if rng.random() < (0.8 if person.loyalty_id else 0.45):
            person.store_visits = min(
                draw_count(rng) * (2 if person.loyalty_id else 1), MAX_RECORDS
            )
        if rng.random() < 0.3:
            platforms = list(market.platforms)
            rng.shuffle(platforms)
            accounts = 1 if rng.random() < 0.75 else 2
            person.buyer_ids = [
                (p, f"{_buyer_prefix(p)}{ids.buyer(index * MAX_CONTACTS + k):016x}")
                for k, p in enumerate(platforms[:accounts])
            ]
            person.marketplace_orders = min(draw_count(rng), MAX_RECORDS)
        if rng.random() < 0.8:
            person.sessions = weighted(rng, _SESSION_COUNTS, _SESSION_CUM)
            kinds = [_phone_kind(rng, market) if rng.random() < 0.7 else "browser"]
            for _ in range(weighted(rng, (0, 1, 2), _EXTRA_DEVICES_CUM)):
                kinds.append("browser" if rng.random() < 0.6 else _phone_kind(rng, market))
            person.devices = [_new_device(rng, kind) for kind in kinds]
            if rng.random() < 0.7:
                person.user_id = f"1{ids.user(index):09d}"
        return person

    def _share_phone(self, people: list[Person]) -> None:
        """A child or grandparent gives the head of household's mobile as their own."""
        if len(people) < 2 or self.rng.random() >= 0.3:
            return
        sharer = pick(self.rng, people[1:])
        sharer.phone = people[0].phone
        sharer.phone_shared = True
        self.noise[HOUSEHOLD_PHONE] += 1

    def _share_device(self, people: list[Person]) -> None:
        """The family tablet or home computer: one device and install used by several people."""
        digital = [p for p in people if p.devices]
        if len(digital) < 2 or self.rng.random() >= 0.35:
            return
        kind = "browser" if self.rng.random() < 0.6 else "android"
        device = _new_device(self.rng, kind)
        device.shared = True
        users = self.rng.sample(digital, between(self.rng, 2, len(digital) + 1))
        for person in users:
            person.devices.append(device)
        self.noise[SHARED_DEVICE] += 1


def make_people(
    ctx: WorldContext, chunk: int, first_index: int, count: int, noise: Counter[str]
) -> list[Person]:
    """The `count` people from global index `first_index`, grouped in whole households."""
    builder = _Builder(ctx, chunk, noise)
    people: list[Person] = []
    end = first_index + count
    index = first_index
    while index < end:
        size = min(weighted(builder.rng, _SIZES, _SIZE_CUM), end - index)
        people.extend(builder.household(index, size))
        index += size
    return people
