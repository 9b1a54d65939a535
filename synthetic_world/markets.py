"""What differs between the retailer's markets: share of customers, money, places, platforms.

Currencies, phone regions and time zones come from the project configuration; the rest is
hand-written local colour (cities with their postcode shapes, email providers, marketplaces,
price levels) that the configuration has no reason to know about. A market the configuration
declares but this table does not know still works with neutral defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from lakecdp.kernel.config import ProjectConfig
from synthetic_world.rng import cumulative


@dataclass(frozen=True)
class City:
    name: str
    spellings: tuple[str, ...]  # how people actually type it into forms
    postcode_prefixes: tuple[str, ...]
    postcode_length: int


@dataclass(frozen=True)
class Market:
    code: str
    currency: str
    phone_region: str
    utc_offset_minutes: int
    offset_suffix: str  # "+08:00"
    weight: float  # share of the customer base
    locales: tuple[str, ...]  # Segment context.locale values
    cities: tuple[City, ...]
    email_domain_names: tuple[str, ...]
    email_domain_cum: tuple[float, ...]  # cumulative shares of the providers above
    platforms: tuple[str, ...]
    usd_rate: float  # local units per USD, for prices
    money_step: float  # smallest amount people see in prices (0.01, 100, 1000)
    stores: int
    web_host: str


def _c(name: str, prefixes: str, length: int, *spellings: str) -> City:
    return City(name, (name, *spellings), tuple(prefixes.split()), length)


_CITIES: dict[str, tuple[City, ...]] = {
    "SG": (
        _c(
            "Singapore",
            "01 05 10 16 20 31 40 46 52 56 60 64 68 73 75 82",
            6,
            "SINGAPORE",
            "S'pore",
            "SG",
        ),
    ),
    "MY": (
        _c("Kuala Lumpur", "50 51 52 53 55 56 57 58 59 60", 5, "KL", "kuala lumpur", "K. Lumpur"),
        _c("Petaling Jaya", "46 47", 5, "PJ", "petaling jaya"),
        _c("Shah Alam", "40", 5, "shah alam"),
        _c("Johor Bahru", "80 81", 5, "JB", "Johor Baru"),
        _c("George Town", "10 11", 5, "Penang", "Georgetown"),
        _c("Ipoh", "30 31", 5),
        _c("Kota Kinabalu", "88", 5, "KK"),
        _c("Kuching", "93", 5),
    ),
    "ID": (
        _c("Jakarta", "10 11 12 13 14", 5, "DKI Jakarta", "Jakarta Selatan", "JAKARTA"),
        _c("Surabaya", "60", 5),
        _c("Bandung", "40", 5),
        _c("Medan", "20", 5),
        _c("Semarang", "50", 5),
        _c("Tangerang", "15", 5, "Tangerang Selatan"),
        _c("Bekasi", "17", 5),
        _c("Makassar", "90", 5),
        _c("Denpasar", "80", 5, "Bali"),
    ),
    "TH": (
        _c("Bangkok", "10", 5, "Krung Thep", "BKK", "bangkok"),
        _c("Nonthaburi", "11", 5),
        _c("Chiang Mai", "50", 5, "Chiangmai"),
        _c("Khon Kaen", "40", 5),
        _c("Chon Buri", "20", 5, "Chonburi", "Pattaya"),
        _c("Phuket", "83", 5),
        _c("Hat Yai", "90", 5, "Songkhla"),
    ),
    "PH": (
        _c("Quezon City", "11", 4, "QC", "Quezon city"),
        _c("Manila", "10", 4, "City of Manila"),
        _c("Makati", "12", 4, "Makati City"),
        _c("Pasig", "16", 4, "Pasig City"),
        _c("Taguig", "16", 4, "BGC, Taguig"),
        _c("Cebu City", "60", 4, "Cebu"),
        _c("Davao City", "80", 4, "Davao"),
    ),
    "VN": (
        _c("Ho Chi Minh City", "70 71 72", 6, "HCMC", "TP. Hồ Chí Minh", "Saigon"),
        _c("Hanoi", "10 11", 6, "Hà Nội", "Ha Noi"),
        _c("Da Nang", "55", 6, "Đà Nẵng"),
        _c("Hai Phong", "18", 6, "Hải Phòng"),
        _c("Can Tho", "94", 6, "Cần Thơ"),
    ),
}

_GLOBAL_MAIL = (
    ("gmail.com", 0.62),
    ("yahoo.com", 0.12),
    ("hotmail.com", 0.1),
    ("outlook.com", 0.06),
)
_LOCAL_MAIL: dict[str, tuple[tuple[str, float], ...]] = {
    "SG": (("singnet.com.sg", 0.05), ("yahoo.com.sg", 0.05)),
    "MY": (("yahoo.com.my", 0.07), ("streamyx.com", 0.03)),
    "ID": (("yahoo.co.id", 0.08), ("ymail.com", 0.02)),
    "TH": (("hotmail.co.th", 0.06), ("yahoo.co.th", 0.04)),
    "PH": (("yahoo.com.ph", 0.08), ("ymail.com", 0.02)),
    "VN": (("yahoo.com.vn", 0.06), ("fpt.vn", 0.04)),
}


@dataclass(frozen=True)
class _Local:
    weight: float
    locales: tuple[str, ...]
    usd_rate: float
    money_step: float
    stores: int
    platforms: tuple[str, ...]
    tld: str


_LOCAL: dict[str, _Local] = {
    "SG": _Local(
        0.16, ("en-SG", "zh-SG"), 1.34, 0.01, 40, ("shopee", "lazada", "amazon"), "com.sg"
    ),
    "MY": _Local(
        0.17,
        ("en-MY", "ms-MY", "zh-MY"),
        4.45,
        0.01,
        60,
        ("shopee", "lazada", "tiktokshop"),
        "com.my",
    ),
    "ID": _Local(
        0.24,
        ("id-ID", "en-ID"),
        15600.0,
        100.0,
        120,
        ("tokopedia", "shopee", "lazada", "tiktokshop"),
        "co.id",
    ),
    "TH": _Local(
        0.15, ("th-TH", "en-TH"), 35.5, 1.0, 80, ("shopee", "lazada", "tiktokshop"), "co.th"
    ),
    "PH": _Local(
        0.16, ("en-PH", "fil-PH"), 56.0, 0.25, 70, ("shopee", "lazada", "tiktokshop"), "com.ph"
    ),
    "VN": _Local(0.12, ("vi-VN", "en-VN"), 24500.0, 1000.0, 50, ("shopee", "lazada", "tiki"), "vn"),
}


def _offset(timezone: str, at: datetime) -> int:
    delta = at.replace(tzinfo=ZoneInfo(timezone)).utcoffset()
    return int(delta.total_seconds() // 60) if delta is not None else 0


def _suffix(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def build_markets(config: ProjectConfig, at: datetime) -> list[Market]:
    """Markets in configuration order (sorted codes), with the UTC offset in force at `at`.

    None of these markets observe daylight saving, so one offset holds for the whole window.
    """
    markets: list[Market] = []
    for code in config.market_codes:
        declared = config.markets[code]
        local = _LOCAL.get(code) or _Local(
            0.1, (f"en-{code}",), 1.0, 0.01, 30, ("shopee", "lazada"), code.lower()
        )
        minutes = _offset(declared.timezone, at)
        domains = _GLOBAL_MAIL + _LOCAL_MAIL.get(code, ())
        markets.append(
            Market(
                code=code,
                currency=declared.currency,
                phone_region=declared.phone_region,
                utc_offset_minutes=minutes,
                offset_suffix=_suffix(minutes),
                weight=local.weight,
                locales=local.locales,
                cities=_CITIES.get(code, (_c(code.title(), "1 2 3 4 5", 5),)),
                email_domain_names=tuple(d for d, _ in domains),
                email_domain_cum=cumulative([w for _, w in domains]),
                platforms=local.platforms,
                usd_rate=local.usd_rate,
                money_step=local.money_step,
                stores=local.stores,
                web_host=f"www.lakeshop.{local.tld}",
            )
        )
    return markets


def money(market: Market, usd: float) -> float:
    """A price in local currency, rounded the way shelf prices are (IDR to 100, VND to 1000)."""
    step = market.money_step
    value = round(usd * market.usd_rate / step) * step
    return round(max(value, step), 2)
