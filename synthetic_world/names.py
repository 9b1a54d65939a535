"""Names as people in each market actually carry them, drawn from pools built once per world.

Faker knows Indonesian, Vietnamese, romanised Thai, Indian and Anglo names but not the Chinese,
Malay and Tamil names common in Singapore and Malaysia, nor Filipino surnames, so those come from
short hand-written lists. Calling Faker per person would dominate the run time at a million
people, so each market gets pools of a few thousand draws (repeats keep Faker's frequencies) and
people are drawn from the pools with the chunk's own RNG.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from faker import Faker

from synthetic_world.rng import pick, weighted

POOL_SIZE = 1500


def _names(text: str) -> tuple[str, ...]:
    """Names from a "|"-separated list (some names hold spaces: "Wei Ming", "Dela Cruz")."""
    return tuple(name.strip() for name in text.split("|") if name.strip())


_CHINESE_SURNAMES = _names(
    "Tan|Tan|Tan|Lim|Lim|Lee|Lee|Ng|Ng|Ong|Wong|Goh|Chua|Chan|Koh|Teo|Ang|Yeo|Tay|Ho|Low|Toh|"
    "Sim|Chong|Chia|Seah|Foo|Leong|Liew|Yap|Loh|Khoo|Heng|Quek|Phua|Choo|Soh|Chew|Tham|Lau|Kwok|"
    "Cheng|Lai|Pang|Teh|Chin|Lum|Kang|Neo|Poh"
)
_CHINESE_MALE = _names(
    "Wei Ming|Jun Jie|Zhi Hao|Kai Xiang|Jia Hao|Yi Xuan|Wei Jie|Boon Kiat|Kok Seng|Ah Huat|"
    "Chee Keong|Soon Huat|Swee Leong|Jun Wei|Zhen Yu|Rui En|Guo Liang|Wen Jie|Jian Hong|Hong Wei|"
    "Yong Sheng|Teck Meng|Eng Hock|Kah Wai|Yu Hang"
)
_CHINESE_FEMALE = _names(
    "Jia Hui|Xin Yi|Li Ting|Mei Ling|Hui Min|Shu Fen|Pei Shan|Siew Ling|Yi Ling|Wen Qi|Hui Xian|"
    "Jing Yi|Zi Xuan|Xiao Wen|Qian Hui|Ying Ying|Siew Mei|Swee Lan|Ai Ling|Shi Min|Yu Qing|"
    "Kai Ling|Su Lin|Mun Yee|Hwee Ling"
)
_MALAY_MALE = _names(
    "Muhammad|Ahmad|Mohd Hafiz|Amir|Muhammad Faiz|Azlan|Hakim|Irfan|Syafiq|Aiman|Firdaus|Zulkifli|"
    "Razak|Rizal|Haziq|Danial|Arif|Iskandar|Mohamad Farid|Khairul|Nazri|Shahrul|Izzat|Hariz"
)
_MALAY_FEMALE = _names(
    "Nurul Aisyah|Siti Nur|Aisyah|Nurul Huda|Farah|Aminah|Zainab|Fatimah|Nadia|Nur Syazwani|"
    "Hidayah|Nur Izzati|Amira|Liyana|Sofea|Balqis|Siti Aminah|Nor Azlina|Haslinda|Rosnah|Aina"
)
_MALAY_FATHERS = _names(
    "Abdullah|Ahmad|Ismail|Ibrahim|Hassan|Hussein|Yusof|Rahman|Osman|Salleh|Hamid|Aziz|Othman|"
    "Zainal|Kamal|Mohamed|Ali|Rashid|Hashim|Jamal|Karim|Latif|Mansor|Razali"
)
_TAMIL_SURNAMES = _names(
    "Kumar|Raj|Subramaniam|Pillai|Nair|Muthu|Krishnan|Rajendran|Ramasamy|Suppiah|Govindasamy|"
    "Arumugam|Selvaraj|Chandran|Maniam|Naidu|Perumal|Letchumanan"
)
_FILIPINO = _names(
    "Santos|Reyes|Cruz|Bautista|Ocampo|Garcia|Mendoza|Torres|Dela Cruz|Del Rosario|Gonzales|"
    "Aquino|Ramos|Villanueva|Castillo|Flores|Rivera|Navarro|Salazar|Mercado|Aguilar|Domingo|"
    "Manalo|Soriano|Pascual|Santiago|Lopez|Fernandez|Tolentino|Macaraeg|Dizon|Lacson|Panganiban"
)


@dataclass(frozen=True)
class NameGroup:
    """One naming tradition: given names by gender, family names, and how families share them."""

    male: tuple[str, ...]
    female: tuple[str, ...]
    last: tuple[str, ...]
    family_surname: bool = True  # False: a child's last name is the father's given name (Malay)
    patronymic_prefix: bool = False  # "bin"/"binti" before the father's name


@dataclass(frozen=True)
class MarketNames:
    groups: tuple[NameGroup, ...]
    cum_weights: tuple[float, ...]

    def pick_group(self, rng: random.Random) -> NameGroup:
        return weighted(rng, self.groups, self.cum_weights)


def _faker(locale: str, seed: int, purpose: str) -> Faker:
    """A fresh generator per pool, so no pool depends on which pools were drawn before it."""
    fake = Faker(locale)
    fake.seed_instance(f"{seed}:{locale}:{purpose}")
    return fake


def _draw(fn: Callable[[], str]) -> tuple[str, ...]:
    return tuple(fn() for _ in range(POOL_SIZE))


def _faker_group(locale: str, seed: int, *, vietnamese: bool = False) -> NameGroup:
    fake = _faker(locale, seed, "names")
    male = _draw(fake.first_name_male)
    female = _draw(fake.first_name_female)
    if vietnamese:
        # Vietnamese forms ask for "given name" and people write middle + given ("Văn An").
        rng = random.Random(f"vn-names:{seed}")
        middles = _draw(fake.middle_name)
        male = tuple(f"{pick(rng, middles)} {n}" if rng.random() < 0.6 else n for n in male)
        female = tuple(f"{pick(rng, middles)} {n}" if rng.random() < 0.6 else n for n in female)
    return NameGroup(male, female, _draw(fake.last_name))


def _chinese(seed: int, western_given: bool) -> NameGroup:
    if western_given:
        fake = _faker("en_US", seed, "chinese")
        return NameGroup(
            _draw(fake.first_name_male), _draw(fake.first_name_female), _CHINESE_SURNAMES
        )
    return NameGroup(_CHINESE_MALE, _CHINESE_FEMALE, _CHINESE_SURNAMES)


def _malay() -> NameGroup:
    return NameGroup(
        _MALAY_MALE,
        _MALAY_FEMALE,
        _MALAY_FATHERS,
        family_surname=False,
        patronymic_prefix=True,
    )


def _indian(seed: int) -> NameGroup:
    fake = _faker("en_IN", seed, "indian")
    return NameGroup(_draw(fake.first_name_male), _draw(fake.first_name_female), _TAMIL_SURNAMES)


def _filipino(seed: int) -> NameGroup:
    fake = _faker("en_US", seed, "filipino")
    spanish = _faker("es_MX", seed, "filipino")
    last = _FILIPINO * 20 + _draw(spanish.last_name)[:300]
    return NameGroup(_draw(fake.first_name_male), _draw(fake.first_name_female), last)


def _mix(*weighted: tuple[float, NameGroup]) -> MarketNames:
    total = 0.0
    cums: list[float] = []
    for weight, _ in weighted:
        total += weight
        cums.append(total)
    return MarketNames(tuple(g for _, g in weighted), tuple(cums))


@cache
def market_names(market: str, seed: int) -> MarketNames:
    """The naming traditions of a market with their shares (cached per process)."""
    if market == "SG":
        return _mix(
            (0.62, _chinese(seed, False)),
            (0.12, _chinese(seed, True)),
            (0.15, _malay()),
            (0.09, _indian(seed)),
            (0.02, _faker_group("en_GB", seed)),
        )
    if market == "MY":
        return _mix(
            (0.55, _malay()),
            (0.2, _chinese(seed, False)),
            (0.1, _chinese(seed, True)),
            (0.08, _indian(seed)),
            (0.07, _faker_group("id_ID", seed)),
        )
    if market == "ID":
        return _mix((1.0, _faker_group("id_ID", seed)))
    if market == "TH":
        return _mix((1.0, _faker_group("en_TH", seed)))
    if market == "PH":
        return _mix((1.0, _filipino(seed)))
    if market == "VN":
        return _mix((1.0, _faker_group("vi_VN", seed, vietnamese=True)))
    return _mix((1.0, _faker_group("en_US", seed)))
