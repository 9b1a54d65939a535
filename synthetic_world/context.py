"""Everything a chunk of the world needs that does not change from chunk to chunk.

Built once per world from the configuration and the seed, read-only afterwards, and made of plain
data so that worker processes can receive it and produce byte-identical chunks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from lakecdp.kernel.config import ProjectConfig
from synthetic_world.catalog import Catalog, build_catalog
from synthetic_world.clock import Window
from synthetic_world.markets import Market, build_markets
from synthetic_world.names import MarketNames, market_names
from synthetic_world.phones import PhonePlan, phone_plan
from synthetic_world.rng import UniqueNumbers

# Sources this generator knows how to fill, with the file stem of their parts.
SOURCE_STEMS = {
    "crm": "crm_contacts",
    "pos": "pos_transactions",
    "loyalty": "loyalty_members",
    "marketplace": "marketplace_orders",
}
MAX_CONTACTS = 4  # per person; sizes the record-id spaces below
MAX_RECORDS = 64


@dataclass(frozen=True)
class SourceSpec:
    """What the configuration declares about a source, in the shape the generator needs."""

    name: str
    format: str
    columns: tuple[str, ...]
    record_id: str
    timestamp: str
    identifier_types: dict[str, str]  # column -> identifier type
    text_columns: tuple[str, ...]  # free-text traits, where broken quoting shows up

    @property
    def identifier_columns(self) -> tuple[str, ...]:
        """Identifier columns other than the record id (blanking them leaves no identifier)."""
        return tuple(c for c in self.identifier_types if c != self.record_id)


@dataclass(frozen=True)
class IdSpace:
    """Bijections that turn (person index, ordinal) into identifiers that can never collide."""

    email: UniqueNumbers
    loyalty: UniqueNumbers
    user: UniqueNumbers
    contact: UniqueNumbers
    transaction: UniqueNumbers
    order: UniqueNumbers
    buyer: UniqueNumbers

    @classmethod
    def create(cls, seed: int, customers: int) -> IdSpace:
        email_digits = max(3, len(str(2 * customers)))
        return cls(
            email=UniqueNumbers.create(seed, "email", 10**email_digits),
            loyalty=UniqueNumbers.create(seed, "loyalty", 10**10),
            user=UniqueNumbers.create(seed, "user", 10**9),
            contact=UniqueNumbers.create(seed, "contact", 10**10),
            transaction=UniqueNumbers.create(seed, "transaction", 10**12),
            order=UniqueNumbers.create(seed, "order", 10**13),
            buyer=UniqueNumbers.create(seed, "buyer", 2**64),
        )


@dataclass(frozen=True)
class WorldContext:
    seed: int
    customers: int
    window: Window
    markets: tuple[Market, ...]
    market_cum_weights: tuple[float, ...]
    names: dict[str, MarketNames]
    phones: dict[str, PhonePlan]
    catalog: Catalog
    ids: IdSpace
    sources: dict[str, SourceSpec]
    consent_purposes: tuple[str, ...]
    consent_channels: tuple[str, ...]


def source_specs(config: ProjectConfig) -> dict[str, SourceSpec]:
    missing = [name for name in SOURCE_STEMS if name not in config.sources]
    if missing:
        raise ValueError(
            f"the generator fills sources {', '.join(SOURCE_STEMS)}; "
            f"the configuration does not declare {', '.join(missing)}"
        )
    specs: dict[str, SourceSpec] = {}
    for name in SOURCE_STEMS:
        source = config.sources[name]
        if source.record_id is None:
            raise ValueError(f"sources.{name}: the generator needs a record_id column")
        identifier_types = {
            column: config.identifier_types[id_type].kind
            for column, id_type in source.identifiers.items()
        }
        text = tuple(c for c in source.traits if "name" in c or c in ("city",))
        specs[name] = SourceSpec(
            name=name,
            format=source.format,
            columns=tuple(source.declared_columns),
            record_id=source.record_id,
            timestamp=source.timestamp,
            identifier_types=identifier_types,
            text_columns=text or tuple(source.traits) or tuple(source.columns[:1]),
        )
    return specs


def build_context(
    config: ProjectConfig, customers: int, seed: int, end: date, days: int
) -> WorldContext:
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    window = Window.ending(end, days)
    markets = build_markets(config, datetime.combine(end, datetime.min.time()))
    if not markets:
        raise ValueError("the configuration declares no markets to generate customers for")
    cum: list[float] = []
    total = 0.0
    for market in markets:
        total += market.weight
        cum.append(total)
    return WorldContext(
        seed=seed,
        customers=customers,
        window=window,
        markets=tuple(markets),
        market_cum_weights=tuple(cum),
        names={m.code: market_names(m.code, seed) for m in markets},
        phones={m.code: phone_plan(m.phone_region) for m in markets},
        catalog=build_catalog(seed, markets),
        ids=IdSpace.create(seed, customers),
        sources=source_specs(config),
        consent_purposes=tuple(config.consent.purposes),
        consent_channels=tuple(config.consent.channels),
    )
