"""Mobile numbers that libphonenumber accepts, written the many ways people type them.

The identity layer normalizes phones to E.164 with libphonenumber, so a synthetic number that it
rejects would test nothing. Rather than validate every number (tens of microseconds each, too
slow at a million people), each region's plan is built once: it searches the number prefixes
whose random completions libphonenumber accepts as mobile, records how libphonenumber groups
them nationally and internationally, and keeps only the written forms that parse back to the
same number in that region (digits with the country code but no "+" are ambiguous in Indonesia,
for instance, so that form is never used there).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from synthetic_world.rng import below, cumulative, pick, weighted

_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
# How common each mobile number length is where several exist (Indonesia: 10-13 digits dialled).
_LENGTH_WEIGHTS = {"ID": {9: 0.05, 10: 0.35, 11: 0.5, 12: 0.1}}


@dataclass(frozen=True)
class _Prefix:
    digits: str
    length: int  # national significant number length
    national_mask: str  # "0{}{}{}-{}{}{}{}-{}{}{}{}": national grouping with trunk prefix
    international_mask: str  # "+62 {}{}{}-{}{}{}{}-{}{}{}{}"


@dataclass(frozen=True)
class PhonePlan:
    region: str
    country_code: str
    prefixes: tuple[_Prefix, ...]
    formats: tuple[str, ...]  # names of written forms that round-trip in this region
    format_weights: tuple[float, ...]  # cumulative

    def new_number(self, rng: random.Random) -> str:
        """A random national significant number, as a string of digits."""
        prefix = pick(rng, self.prefixes)
        rest = prefix.length - len(prefix.digits)
        return prefix.digits + str(below(rng, 10**rest)).zfill(rest)

    def e164(self, nsn: str) -> str:
        return f"+{self.country_code}{nsn}"

    def written(self, rng: random.Random, nsn: str) -> str:
        """The number as a person or a form would write it (local or international, grouped)."""
        form = weighted(rng, self.formats, self.format_weights)
        return self.render(form, nsn)

    def render(self, form: str, nsn: str) -> str:
        prefix = self._prefix_for(nsn)
        return _RENDERERS[form](self, prefix, nsn)

    def masked(self, nsn: str) -> str:
        """How marketplaces show a buyer's phone: "+65****4567"."""
        return f"+{self.country_code}****{nsn[-4:]}"

    def _prefix_for(self, nsn: str) -> _Prefix:
        return self._by_start.get((len(nsn), nsn[:3]), self.prefixes[0])

    @cached_property
    def _by_start(self) -> dict[tuple[int, str], _Prefix]:
        return {(p.length, p.digits): p for p in self.prefixes}


def _national(plan: PhonePlan, p: _Prefix, nsn: str) -> str:
    return p.national_mask.format(*nsn)


def _national_spaces(plan: PhonePlan, p: _Prefix, nsn: str) -> str:
    return p.national_mask.replace("-", " ").format(*nsn)


def _national_digits(plan: PhonePlan, p: _Prefix, nsn: str) -> str:
    return "".join(ch for ch in p.national_mask.format(*nsn) if ch.isdigit())


def _international(plan: PhonePlan, p: _Prefix, nsn: str) -> str:
    return p.international_mask.format(*nsn)


def _international_dashes(plan: PhonePlan, p: _Prefix, nsn: str) -> str:
    return p.international_mask.replace(" ", "-").format(*nsn)


def _e164(plan: PhonePlan, p: _Prefix, nsn: str) -> str:
    return f"+{plan.country_code}{nsn}"


def _cc_digits(plan: PhonePlan, p: _Prefix, nsn: str) -> str:
    return f"{plan.country_code}{nsn}"


def _bracketed(plan: PhonePlan, p: _Prefix, nsn: str) -> str:
    return f"(+{plan.country_code}) {nsn}"


_RENDERERS: dict[str, Callable[[PhonePlan, _Prefix, str], str]] = {
    "national": _national,
    "national_spaces": _national_spaces,
    "national_digits": _national_digits,
    "international": _international,
    "international_dashes": _international_dashes,
    "e164": _e164,
    "cc_digits": _cc_digits,
    "bracketed": _bracketed,
}
_FORM_WEIGHTS = {
    "national": 0.28,
    "national_spaces": 0.07,
    "national_digits": 0.25,
    "international": 0.14,
    "international_dashes": 0.03,
    "e164": 0.13,
    "cc_digits": 0.07,
    "bracketed": 0.03,
}


def _mask(formatted: str, nsn: str) -> str:
    """Replace the number's own digits (right to left) by "{}" so other numbers can be poured in."""
    out: list[str] = []
    remaining = len(nsn)
    for ch in reversed(formatted):
        if ch.isdigit() and remaining:
            out.append("{}")
            remaining -= 1
        else:
            out.append(ch.replace("{", "{{").replace("}", "}}"))
    return "".join(reversed(out))


def _is_mobile(number: phonenumbers.PhoneNumber) -> bool:
    return (
        phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in _MOBILE_TYPES
    )


def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None


def _search_prefixes(region: str, cc: int, rng: random.Random) -> list[_Prefix]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    lengths = tuple(metadata.mobile.possible_length) if metadata and metadata.mobile else ()
    found: list[_Prefix] = []
    for length in lengths:

        def sample(prefix: str, length: int = length) -> phonenumbers.PhoneNumber:
            rest = length - len(prefix)
            digits = prefix + str(below(rng, 10**rest)).zfill(rest)
            return phonenumbers.PhoneNumber(country_code=cc, national_number=int(digits))

        promising = [
            str(two)
            for two in range(10, 100)
            if any(_is_mobile(sample(str(two))) for _ in range(12))
        ]
        for two in promising:
            for third in "0123456789":
                prefix = two + third
                numbers = [sample(prefix) for _ in range(24)]
                if not all(_is_mobile(n) for n in numbers):
                    continue
                example = numbers[0]
                nsn = phonenumbers.national_significant_number(example)
                if len(nsn) != length:
                    continue
                national = phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL)
                international = phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL)
                found.append(
                    _Prefix(prefix, length, _mask(national, nsn), _mask(international, nsn))
                )
    return found


@cache
def phone_plan(region: str) -> PhonePlan:
    """The plan for one region (cached per process; built from libphonenumber's metadata)."""
    rng = random.Random(f"phone-plan:{region}")
    cc = phonenumbers.country_code_for_region(region)
    found = _search_prefixes(region, cc, rng)
    if not found:
        raise ValueError(f"no mobile number prefixes found for phone region {region!r}")
    weights = _LENGTH_WEIGHTS.get(region)
    if weights:
        # Repeat prefixes so that lengths come out in their real proportions.
        per_length: dict[int, list[_Prefix]] = {}
        for prefix in found:
            per_length.setdefault(prefix.length, []).append(prefix)
        found = [
            prefix
            for length, group in per_length.items()
            for prefix in group * max(1, round(weights.get(length, 0.05) * 1000 / len(group)))
        ]
    plan = PhonePlan(region, str(cc), tuple(found), (), ())
    samples = [plan.new_number(rng) for _ in range(40)]
    forms = [
        form
        for form in _RENDERERS
        if all(
            (parsed := _parse(plan.render(form, nsn), region)) is not None
            and phonenumbers.format_number(parsed, PhoneNumberFormat.E164) == plan.e164(nsn)
            for nsn in samples
        )
    ]
    return PhonePlan(
        region, str(cc), tuple(found), tuple(forms), cumulative([_FORM_WEIGHTS[f] for f in forms])
    )
