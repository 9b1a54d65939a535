"""A small product catalogue with local shelf prices, shared by web/app events and store baskets.

Products only need to look plausible and price consistently across channels (the same SKU costs
the same in a market's app and its stores), so the catalogue is a few hundred items built once
per world from the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

from synthetic_world.markets import Market, money
from synthetic_world.rng import derive_rng

_CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[float, float]]] = {
    "beauty": (("Serum", "Sunscreen SPF50", "Lip Tint", "Cleanser", "Sheet Mask Pack"), (4, 60)),
    "fashion": (("Linen Shirt", "Batik Dress", "Sneakers", "Denim Jacket", "Tote Bag"), (10, 120)),
    "home": (("Rice Cooker", "Bedsheet Set", "Air Purifier", "Wok", "Storage Box"), (6, 250)),
    "electronics": (
        ("Earbuds", "Power Bank", "Smart Watch", "Phone Case", "USB-C Charger"),
        (8, 400),
    ),
    "grocery": (
        ("Jasmine Rice 5kg", "Instant Noodles x5", "Coffee 3-in-1", "Durian Snack"),
        (1, 20),
    ),
    "baby": (("Diapers M", "Baby Wipes", "Formula Milk", "Baby Carrier"), (5, 90)),
    "sports": (("Yoga Mat", "Running Shorts", "Badminton Racket", "Water Bottle"), (5, 150)),
}
_BRANDS = ("Lumi", "Kirana", "Sora", "Tropika", "Mekar", "Bayu", "Nusa", "Seri", "Lotus", "Halo")


@dataclass(frozen=True)
class Product:
    product_id: str
    sku: str
    name: str
    category: str
    price_usd: float


@dataclass(frozen=True)
class Catalog:
    products: tuple[Product, ...]
    prices: dict[str, tuple[float, ...]]  # market code -> local price per product (same order)


def build_catalog(seed: int, markets: list[Market], size: int = 400) -> Catalog:
    rng = derive_rng(seed, "catalog")
    products: list[Product] = []
    names = sorted(_CATEGORIES)
    for i in range(size):
        category = names[i % len(names)]
        items, (low, high) = _CATEGORIES[category]
        item = rng.choice(items)
        brand = rng.choice(_BRANDS)
        price = round(low + (high - low) * rng.random() ** 2, 2)
        products.append(
            Product(
                f"P{10000 + i}",
                f"{category[:3].upper()}-{rng.randrange(10**6):06d}",
                f"{brand} {item}",
                category,
                price,
            )
        )
    prices = {m.code: tuple(money(m, p.price_usd) for p in products) for m in markets}
    return Catalog(tuple(products), prices)
