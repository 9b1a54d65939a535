"""Email addresses: one real mailbox per person, written the messy ways forms receive them.

Uniqueness matters more than prettiness: two people must never share a mailbox by accident, or
the ground truth would claim a link the data cannot support. Every local part therefore ends in
a number that a bijection derives from the person's index (names never contain digits, so the
number is unambiguous), while the name part, separators and provider vary like real addresses.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from functools import lru_cache

from synthetic_world.rng import below, pick

EMAIL_TYPO = "email_typo"
EMAIL_GMAIL_VARIANT = "email_gmail_variant"
EMAIL_FORMATTING = "email_case_or_whitespace"

_DOMAIN_TYPOS = {
    "gmail.com": ("gmial.com", "gmal.com", "gmail.co", "gmail.con", "gamil.com"),
    "yahoo.com": ("yaho.com", "yahooo.com", "yahoo.co"),
    "hotmail.com": ("hotmial.com", "hotmal.com", "hotmail.co"),
    "outlook.com": ("outlok.com", "outloo.com"),
}
_PATRONYMIC = frozenset({"bin", "binti", "bte", "bt", "b."})  # not part of anyone's address
_PLUS_TAGS = ("shop", "promo", "lakeshop", "deals", "1", "sale")


@lru_cache(maxsize=65536)
def slug(name: str) -> str:
    """ASCII letters of a name, lower case ('Nguyễn Văn' -> 'nguyenvan')."""
    folded = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in folded.lower() if "a" <= ch <= "z")


def mailbox(rng: random.Random, first: str, last: str, number: int, domain: str) -> str:
    """A canonical (lower-case, trimmed) address built from the name and a unique number."""
    f = slug(first) or "user"
    surname = slug(" ".join(w for w in last.split() if w.lower() not in _PATRONYMIC))
    style = below(rng, 7) if surname else 6
    if style == 0:
        local = f"{f}.{surname}{number}"
    elif style == 1:
        local = f"{f}{surname}{number}"
    elif style == 2:
        local = f"{f[0]}{surname}{number}"
    elif style == 3:
        local = f"{surname}.{f}{number}"
    elif style == 4:
        local = f"{f}_{surname}{number}"
    elif style == 5:
        local = f"{surname}{f[0]}{number}"
    else:
        local = f"{f}{number}"
    return f"{local}@{domain}"


def written(rng: random.Random, email: str, noise: Counter[str]) -> str:
    """`email` as typed into a form: mostly as is, sometimes re-cased, padded, varied or mistyped.

    Gmail ignores dots and "+tags" in the local part, so those variants reach the same mailbox and
    should be linked; a mistyped domain is a different (undeliverable) address and should not.
    """
    r = rng.random()
    if r >= 0.2:
        return email
    local, _, domain = email.partition("@")
    if r < 0.015 and domain in _DOMAIN_TYPOS:
        noise[EMAIL_TYPO] += 1
        return f"{local}@{pick(rng, _DOMAIN_TYPOS[domain])}"
    if r < 0.05 and domain == "gmail.com":
        noise[EMAIL_GMAIL_VARIANT] += 1
        if rng.random() < 0.5:
            return f"{local}+{pick(rng, _PLUS_TAGS)}@{domain}"
        if "." in local:
            return f"{local.replace('.', '')}@{domain}"
        cut = rng.randrange(1, max(2, len(local) - 1))
        return f"{local[:cut]}.{local[cut:]}@{domain}"
    noise[EMAIL_FORMATTING] += 1
    choice = below(rng, 4)
    if choice == 0:
        return f"{local.capitalize()}@{domain.capitalize()}"
    if choice == 1:
        return email.upper()
    if choice == 2:
        return f" {email} "
    return f"{'.'.join(p.capitalize() for p in local.split('.'))}@{domain}\t"
