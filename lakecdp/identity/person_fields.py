"""Person traits (names, birth date, address, partial ids) normalized for probabilistic matching.

Sources spell the same person differently: case, accents, honorifics, "Tan W." against
"Wei Tan", dates in three orders, phones masked to their last digits. The matcher compares
strings, so every spelling that carries the same information must become the same string,
and anything that carries none (masked names, handles, half-dates) must become None: a None
is ignored by the model, a junk value is evidence against a true match.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
from rapidfuzz.distance import JaroWinkler

from lakecdp.kernel.config import PERSON_FIELDS

# What normalize_person_frame returns besides record_key and cluster: full_name is split,
# `name_initials` is derived from the names (see `name_initials`), and `full_phone` is the
# record's whole phone number when one of its identifiers is a phone (input column `phone`):
# it tells a masked suffix, which may be the same phone, from another whole number that only
# ends in the same digits.
MATCH_FIELDS = (*(f for f in PERSON_FIELDS if f != "full_name"), "name_initials", "full_phone")

# Titles and patronymic particles: present in one source and not another, so never evidence.
NAME_STOPWORDS = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "miss",
        "mdm",
        "madam",
        "dr",
        "prof",
        "sir",
        "dato",
        "datuk",
        "haji",
        "hajah",
        "jr",
        "sr",
        "bin",
        "binti",
        "binte",
        "bte",
        "bt",
    }
)
_SLASH_PARTICLES = re.compile(r"(?<!\S)(?:a/l|a/p|s/o|d/o)(?!\S)")
_STOPWORDS = re.compile(
    r"(?<!\S)(?:" + "|".join(sorted(NAME_STOPWORDS, key=len, reverse=True)) + r")(?!\S)"
)
_COMBINING = r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
_APOSTROPHES = r"['\u2019`\u00b4]"
# Letters NFKD does not decompose into a base letter and a mark.
_LETTER_FOLDS = str.maketrans(
    {"đ": "d", "ð": "d", "ø": "o", "ł": "l", "ß": "ss", "æ": "ae", "œ": "oe", "\u0131": "i"}
)
_HANDLE_TOKEN = r"(?<!\S)\S*[\d_]\S*(?!\S)"
# (regex, strptime format) for the date layouts sources actually send; first match wins.
_DATE_LAYOUTS = (
    (r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T].*)?$", "%Y-%m-%d"),
    (r"^\d{4}/\d{1,2}/\d{1,2}$", "%Y/%m/%d"),
    (r"^\d{1,2}/\d{1,2}/\d{4}$", "%d/%m/%Y"),
    (r"^\d{1,2}-\d{1,2}-\d{4}$", "%d-%m-%Y"),
    (r"^\d{8}$", "%Y%m%d"),
)
# Birth dates systems write when they do not know one; matching on them links strangers.
PLACEHOLDER_DATES = frozenset({"1900-01-01", "1901-01-01"})


def _as_text(values: pd.Series) -> pd.Series:
    """Object series of stripped strings, None for missing or blank."""
    text = values.astype(object).where(values.notna(), None)
    text = text.map(lambda v: None if v is None else str(v), na_action="ignore")
    text = text.astype(object).str.strip()
    return text.where(text.notna() & (text != ""), None)


def _flag(values: pd.Series) -> pd.Series:
    """A nullable str-accessor result as plain bools (missing is False)."""
    return values.astype("boolean").fillna(False).astype(bool)


def _empty_to_none(values: pd.Series) -> pd.Series:
    values = values.astype(object)
    return values.where(values.notna() & (values != ""), None)


def _fold_text(values: pd.Series) -> pd.Series:
    """Lower-case, strip accents and punctuation, collapse whitespace."""
    text = values.str.lower().str.replace(_APOSTROPHES, "", regex=True)  # O'Brien = OBrien
    text = text.str.normalize("NFKD").str.replace(_COMBINING, "", regex=True)
    text = text.str.translate(_LETTER_FOLDS)
    text = text.str.replace(r"[^\w\s]", " ", regex=True)
    return text.str.split().str.join(" ")


def _name_text(values: pd.Series) -> pd.Series:
    """Folded name text; masked values None, handles, titles and particles removed."""
    text = _as_text(values)
    masked = _flag(text.str.contains("*", regex=False))
    text = text.where(~masked, None).str.lower()
    text = text.str.replace(_SLASH_PARTICLES, " ", regex=True)
    text = _fold_text(text)
    text = text.str.replace(_HANDLE_TOKEN, " ", regex=True)
    text = text.str.replace(_STOPWORDS, " ", regex=True)
    return text.str.split().str.join(" ")


def normalize_name(values: pd.Series) -> pd.Series:
    """Names as comparable tokens: no titles, particles, handles, masks or lone initials."""
    text = _name_text(values)
    # A lone initial ("J") scores as a mismatch against "john": better unknown.
    return _empty_to_none(text.where(text.str.len() > 1, None))


def _without(tokens: list[str], part: str) -> list[str] | None:
    """`tokens` minus the contiguous run `part`, or None when `part` is not in them."""
    run = part.split()
    for start in range(len(tokens) - len(run) + 1):
        if tokens[start : start + len(run)] == run:
            return tokens[:start] + tokens[start + len(run) :]
    return None


def _split_tokens(
    tokens: list[str], first: str | None, last: str | None
) -> tuple[str | None, str | None, str | None]:
    """(first, last, hints) from full-name tokens, using a known half to place the other.

    `hints` are what written initials say about the given name, as candidates "given/s"
    (given name or initial, then the surname's initial when known): "W. Tan" gives "w/t".
    "Tan W." reads as surname-then-initial or as name-then-surname-initial ("Vinno S."), so
    both readings are candidates ("w/t tan/w"). Matching leaves lone initials out (one
    letter scores as a mismatch against "john"), but an initial still tells two people apart.
    """
    if last is not None and (rest := _without(tokens, last)) is not None:
        given = [t for t in rest if len(t) > 1]
        lone = [t for t in rest if len(t) == 1]
        hint = f"{lone[0]}/{last[0]}" if lone and not given else None
        return " ".join(given) or None, last, hint
    if first is not None and (rest := _without(tokens, first)) is not None:
        return first, " ".join(t for t in rest if len(t) > 1) or None, None
    if len(tokens) == 1:
        return (tokens[0], None, None) if len(tokens[0]) > 1 else (None, None, tokens[0])
    if len(tokens[-1]) == 1:  # "Tan W." or "Vinno S."
        initial, named = tokens[-1], [t for t in tokens[:-1] if len(t) > 1]
        hints = [
            f"{initial}/{tokens[0][0]}",
            *([f"{named[0]}/{initial}"] if len(named) == 1 else []),
        ]
        return None, " ".join(tokens[:-1]), " ".join(hints)
    if len(tokens[0]) == 1:  # "W. Tan" : initial then surname
        return None, " ".join(tokens[1:]), f"{tokens[0]}/{tokens[1][0]}"
    given = [t for t in tokens[:-1] if len(t) > 1]  # middle initials carry nothing
    return " ".join(given) or None, tokens[-1], None


def masked_name_hints(values: pd.Series) -> pd.Series:
    """What a masked name still shows, as a hint: "W***e L***" is "w*e/l" (a given name
    starting with w and ending with e, a surname starting with l); unmasked values give None.
    """
    text = _as_text(values)
    masked = _flag(text.str.contains("*", regex=False))
    # "*" would be folded away as punctuation; a digit survives and no name holds one.
    folded = _fold_text(text.where(masked, None).str.replace(r"\*+", "0", regex=True))

    def hint(name: object) -> str | None:
        if not isinstance(name, str):
            return None
        tokens = [t for t in name.split() if t not in NAME_STOPWORDS]
        if not tokens or tokens[0].strip("0") == "":
            return None
        given = tokens[0].replace("0", "*")
        surname = tokens[-1][0] if len(tokens) > 1 and tokens[-1][0] != "0" else None
        return given + (f"/{surname}" if surname else "")

    return _empty_to_none(folded.map(hint, na_action="ignore"))


def split_full_name(
    full_name: pd.Series,
    first: pd.Series | None = None,
    last: pd.Series | None = None,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(first_name, last_name, initials) from a full name; the last token is the surname.

    When one half is already known and appears in the full name ("Tan Wei" with surname
    "tan"), the other half is what remains, which keeps surname-first names straight.
    Masked names ("K***n") give nothing.
    """
    none = [None] * len(full_name)
    firsts = none if first is None else first.tolist()
    lasts = none if last is None else last.tolist()
    parts = [
        _split_tokens(tokens, given, family)
        if isinstance(tokens, list) and tokens
        else (None, None, None)
        for tokens, given, family in zip(
            _name_text(full_name).str.split(), firsts, lasts, strict=True
        )
    ]
    return tuple(  # type: ignore[return-value]
        pd.Series([p[i] for p in parts], index=full_name.index, dtype=object) for i in range(3)
    )


# A user handle made of a name, an underscore, one initial and digits: "julia_c10".
_NAME_HANDLE = re.compile(r"^([^\W\d_]{2,})_([^\W\d_])\d*$")


def handle_initials(values: pd.Series) -> pd.Series:
    """The `name_initials` shape of a handle such as "julia_c10" ("jac"), else None.

    Only for that shape, and only as evidence for a match: a handle need not be its owner's
    name, so it never becomes a first name the given-name guard could hold against a record.
    """
    folded = _fold_text(_as_text(values))

    def shape(text: object) -> str | None:
        match = _NAME_HANDLE.match(text) if isinstance(text, str) else None
        if match is None:
            return None
        given, initial = match.groups()
        return given[0] + given[-1] + initial

    return folded.map(shape, na_action="ignore").astype(object)


def name_initials(
    first: pd.Series,
    last: pd.Series,
    masked_hints: pd.Series,
    handles: pd.Series | None = None,
) -> pd.Series:
    """What a masked name shows, in the same shape for every record: the given name's first
    and last letters and the surname's initial ("_" when unknown). "Qian Hui Teo" and
    "Q***i T***" are both "qit"; so is a handle "qianhui_t7" (`handles`, from
    `handle_initials`), where there is no name.

    Marketplaces export buyers as "Q***i T***": no name comparison can use that, but its
    three letters are still evidence, and the only name evidence such an order carries.
    """

    def from_name(given: object, surname: object) -> str | None:
        if not isinstance(given, str) or len(given) < 2:
            return None
        return given[0] + given[-1] + (surname[0] if isinstance(surname, str) else "_")

    def from_mask(hint: object) -> str | None:
        if not isinstance(hint, str) or "*" not in hint:
            return None
        given, _, surname = hint.partition("/")
        start, end = given.split("*")[0], given.rsplit("*", 1)[1]
        if not start or not end:
            return None
        return start[0] + end[-1] + (surname or "_")

    handle_shapes = [None] * len(first) if handles is None else handles.tolist()
    shapes = [
        from_name(g, s) or from_mask(h) or (k if isinstance(k, str) else None)
        for g, s, h, k in zip(
            first.tolist(), last.tolist(), masked_hints.tolist(), handle_shapes, strict=True
        )
    ]
    return pd.Series(shapes, index=first.index, dtype=object)


def given_names_compatible(a: str, b: str, below: float) -> bool:
    """Could `a` and `b` be one person's given name?

    Each is a name, a one-letter initial or a mask ("w*e"), optionally with the surname's
    initial ("w/t", from "W. Tan"). Yes for a shared token, a Jaro-Winkler similarity of at
    least `below`, an initial that starts a token of the other name, or a mask whose visible
    letters the other side agrees with, unless both surname initials are known and differ.
    """
    a, _, a_surname = a.partition("/")
    b, _, b_surname = b.partition("/")
    if a_surname and b_surname and a_surname != b_surname:
        return False
    if "*" in a or "*" in b:
        return _mask_compatible(a, b)
    if len(a) == 1 or len(b) == 1:
        if len(a) == 1 and len(b) == 1:
            return a == b
        initial, name = (a, b) if len(a) == 1 else (b, a)
        return any(token.startswith(initial) for token in name.split())
    if set(a.split()) & set(b.split()):
        return True
    return bool(JaroWinkler.similarity(a, b) >= below)


def _mask_compatible(a: str, b: str) -> bool:
    """A mask's visible start and end against a name, an initial or another mask."""

    def shown(value: str) -> tuple[str, str]:
        if "*" in value:
            start, _, rest = value.partition("*")
            return start, rest.rpartition("*")[2]
        return (value, "") if len(value) == 1 else (value, value)

    (a_start, a_end), (b_start, b_end) = shown(a), shown(b)
    starts = a_start.startswith(b_start) or b_start.startswith(a_start)
    ends = a_end.endswith(b_end) or b_end.endswith(a_end)
    return starts and ends


def given_names_conflict(left: Iterable[str], right: Iterable[str], below: float) -> bool:
    """True when both sides name someone and no name on one side could be one on the other.

    Nicknames ("Bob" and "Robert") conflict: recall given up for precision.
    """
    xs, ys = list(left), list(right)
    if not xs or not ys:
        return False
    return not any(given_names_compatible(a, b, below) for a in xs for b in ys)


def names_swapped(left: tuple[str, str], right: tuple[str, str], below: float) -> bool:
    """Is one (first name, last name) the other keyed the wrong way round ("Tiana Luchetti" and
    "Luchetti Tiana")? Forms, cashiers and family-name-first traditions all swap them."""
    (first_a, last_a), (first_b, last_b) = left, right
    if min(len(first_a), len(last_a), len(first_b), len(last_b)) < 2:
        return False  # an initial would match any surname it starts

    def same(x: str, y: str) -> bool:
        return bool(set(x.split()) & set(y.split())) or JaroWinkler.similarity(x, y) >= below

    return same(first_a, last_b) and same(last_a, first_b)


def given_name_candidates(first_name: object, hints: object) -> list[str]:
    """Every given name a normalized record may carry: its first name, then its hints."""
    names = [first_name] if isinstance(first_name, str) and first_name else []
    return names + (hints.split() if isinstance(hints, str) else [])


def normalize_date_of_birth(values: pd.Series) -> pd.Series:
    """ISO 'YYYY-MM-DD' from the common layouts; impossible, future or placeholder dates None."""
    text = _as_text(values)
    out = pd.Series(None, index=values.index, dtype=object)
    pending = text.notna()
    for pattern, layout in _DATE_LAYOUTS:
        hit = pending & _flag(text.str.match(pattern))
        if not hit.any():
            continue
        raw = text[hit]
        if layout == "%Y-%m-%d":
            raw = raw.str.split(r"[ T]", n=1, regex=True).str[0]
        parsed = pd.to_datetime(raw, format=layout, errors="coerce")
        out[hit] = parsed.dt.strftime("%Y-%m-%d").where(parsed.notna(), None)
        pending &= ~hit
    today = dt.date.today().isoformat()
    usable = out.notna() & (out >= "1900-01-01") & (out <= today) & ~out.isin(PLACEHOLDER_DATES)
    return out.where(usable, None).astype(object)


def normalize_postcode(values: pd.Series) -> pd.Series:
    """Upper-case, no whitespace: 'sw1a 1aa' and 'SW1A1AA' are the same postcode."""
    text = _as_text(values).str.upper().str.replace(r"\s+", "", regex=True)
    return _empty_to_none(text)


def normalize_place(values: pd.Series) -> pd.Series:
    """City or address text folded like names, without dropping any words."""
    return _empty_to_none(_fold_text(_as_text(values)))


def normalize_phone_suffix(values: pd.Series) -> pd.Series:
    """Last four digits of whatever digits are present: masked phones keep only those."""
    digits = _as_text(values).str.replace(r"\D", "", regex=True)
    return digits.str[-4:].where(digits.str.len() >= 4, None).astype(object)


def normalize_national_id(values: pd.Series) -> pd.Series:
    """Upper-case alphanumerics; a masked id ('S****567D') is None, not a shorter id, and so
    are placeholders (fewer than 5 characters, one character repeated: '000000000', 'NA'), which
    would otherwise be a conclusive match between strangers."""
    text = _as_text(values)
    masked = _flag(text.str.contains("*", regex=False))
    text = text.where(~masked, None).str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    placeholder = _flag(text.str.len() < 5) | _flag(text.str.fullmatch(r"(.)\1*"))
    return _empty_to_none(text.where(~placeholder, None))


def _per_unique(normalize: Callable[[pd.Series], pd.Series], values: pd.Series) -> pd.Series:
    """Apply `normalize` once per distinct value: names, cities and dates repeat a lot, and
    pandas string methods on object columns loop in Python."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    normalized = normalize(pd.Series(uniques, dtype=object)).to_numpy(dtype=object)
    lookup = np.append(normalized, None)  # code -1 (missing) picks the trailing None
    return pd.Series(lookup[codes], index=values.index, dtype=object)


def normalize_person_frame(df: pd.DataFrame) -> pd.DataFrame:
    """record_key, cluster (and known_match, when given) and every MATCH_FIELDS column,
    normalized; missing inputs are None.

    Absent columns come back all-None so the matcher sees one shape whatever the source had;
    it then leaves those fields out of the model. The input's index is kept.
    """
    if "record_key" not in df.columns:
        raise ValueError("normalize_person_frame needs a 'record_key' column")
    frame = df.reset_index(drop=True)  # positional work below; the caller's index is restored

    def column(name: str) -> pd.Series:
        if name in frame.columns:
            return frame[name]
        return pd.Series(None, index=frame.index, dtype=object)

    out = pd.DataFrame(index=frame.index)
    out["record_key"] = _as_text(frame["record_key"])
    out["cluster"] = _as_text(column("cluster"))
    if "known_match" in frame.columns:
        out["known_match"] = _as_text(frame["known_match"])
    # The first name is folded once: `normalize_name` is this text without lone initials.
    raw_first = _per_unique(_name_text, column("first_name"))
    first = _empty_to_none(raw_first.where(raw_first.str.len() > 1, None))
    last = _per_unique(normalize_name, column("last_name"))
    hints = raw_first.where(raw_first.str.len() == 1, None)  # "J" typed as a first name
    masks = _per_unique(masked_name_hints, column("first_name"))
    if "full_name" in frame.columns:
        todo = frame["full_name"].notna() & (first.isna() | last.isna())
        split_first, split_last, initials = split_full_name(
            frame["full_name"][todo], first[todo], last[todo]
        )
        first = first.where(first.notna(), split_first.reindex(frame.index))
        last = last.where(last.notna(), split_last.reindex(frame.index))
        hints = hints.where(hints.notna(), initials.reindex(frame.index))
        masks = masks.where(masks.notna(), _per_unique(masked_name_hints, frame["full_name"]))
    hints = hints.where(hints.notna(), masks)
    out["first_name"] = _empty_to_none(first)
    out["given_hints"] = _empty_to_none(hints.astype(object))
    out["last_name"] = _empty_to_none(last)
    out["date_of_birth"] = _per_unique(normalize_date_of_birth, column("date_of_birth"))
    out["postcode"] = _per_unique(normalize_postcode, column("postcode"))
    out["city"] = _per_unique(normalize_place, column("city"))
    out["address"] = _per_unique(normalize_place, column("address"))
    out["national_id"] = _per_unique(normalize_national_id, column("national_id"))
    phone = _as_text(column("phone"))
    suffix = _as_text(column("phone_suffix"))
    out["phone_suffix"] = _per_unique(normalize_phone_suffix, suffix.where(suffix.notna(), phone))
    handles = _per_unique(handle_initials, column("full_name"))
    handles = handles.where(handles.notna(), _per_unique(handle_initials, column("first_name")))
    out["name_initials"] = name_initials(out["first_name"], out["last_name"], masks, handles)
    out["full_phone"] = phone
    out.index = df.index
    return out
