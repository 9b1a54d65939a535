"""Validation of declared file-source rows (pure: DataFrame in, DataFrame out).

Bronze keeps source values as text, exactly as they arrived: normalizing identifiers is the
identity layer's job. Here a row is refused only when it cannot be used at all: it did not
parse, its timestamp is not a time, it names no identifier, or its market is unknown.
"""

from __future__ import annotations

from functools import reduce
from operator import and_

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakecdp.kernel.config import MarketColumn, MarketConfig, SourceConfig
from lakecdp.kernel.contracts.events import Reason

CORRUPT = "_corrupt_record"
SOURCE_FILE = "_source_file"
_HAS_ZONE = r"(Z|[+-]\d{2}:?\d{2})$"


def _blank(col: Column) -> Column:
    return col.isNull() | (F.trim(col) == "")


def market_column(source: SourceConfig) -> Column:
    if isinstance(source.market, MarketColumn):
        return F.upper(F.trim(F.col(source.market.column)))
    return F.lit(source.market)


def event_timestamp(raw: Column, market: Column, markets: dict[str, MarketConfig]) -> Column:
    """Parse a source timestamp; one without a zone is local time of the record's market."""
    parsed = F.try_to_timestamp(F.trim(raw))
    local_zone = (
        F.coalesce(
            *[F.when(market == code, F.lit(m.timezone)) for code, m in markets.items()],
            F.lit("UTC"),
        )
        if markets
        else F.lit("UTC")
    )
    return F.when(F.trim(raw).rlike(_HAS_ZONE), parsed).otherwise(
        F.to_utc_timestamp(parsed, local_zone)
    )


def rejection_reason(source: SourceConfig, markets: dict[str, MarketConfig]) -> Column:
    """The first reason a parsed source row cannot be used, or null."""
    no_identifier = reduce(and_, [_blank(F.col(c)) for c in source.identifiers])
    market = market_column(source)
    return (
        F.when(F.col(CORRUPT).isNotNull(), F.lit(Reason.MALFORMED_ROW.value))
        .when(
            _blank(F.col(source.timestamp))
            | event_timestamp(F.col(source.timestamp), market, markets).isNull(),
            F.lit(Reason.INVALID_TIMESTAMP.value),
        )
        .when(no_identifier, F.lit(Reason.NO_IDENTIFIER.value))
        .when(
            market.isNull() | ~market.isin(*markets) if markets else F.lit(False),
            F.lit(Reason.INVALID_MARKET.value),
        )
    )


def split_source_rows(
    rows: DataFrame, source_name: str, source: SourceConfig, markets: dict[str, MarketConfig]
) -> DataFrame:
    """Add `_reason` (null when usable) and, for usable rows, `_event_ts` and `_market`.

    `rows` holds the declared columns as text, `_corrupt_record` and `_source_file`.
    """
    market = market_column(source)
    return rows.select(
        *[F.col(c) for c in source.declared_columns],
        F.col(CORRUPT),
        F.col(SOURCE_FILE),
        rejection_reason(source, markets).alias("_reason"),
        event_timestamp(F.col(source.timestamp), market, markets).alias("_event_ts"),
        market.alias("_market"),
        F.lit(source_name).alias("_source"),
    )


def raw_payload(source: SourceConfig) -> Column:
    """The record as it arrived: the unparsed line when it did not parse, else its columns."""
    return F.coalesce(
        F.col(CORRUPT),
        F.to_json(F.struct(*[F.col(c) for c in source.declared_columns])),
    )
