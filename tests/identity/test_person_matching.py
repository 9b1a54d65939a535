"""Person-trait normalization and the Splink matcher, on generated people with a known truth.

The generated population has households (same surname, postcode and address; different
first names and birth dates) and duplicates of some people (typo in the first name, another
date layout, missing traits), so precision and recall are measured, not assumed.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

import duckdb
import pandas as pd
import pytest

from lakecdp.identity.person_fields import (
    MATCH_FIELDS,
    given_names_compatible,
    names_swapped,
    normalize_person_frame,
)
from lakecdp.identity.person_matching import (
    PAIR_COLUMNS,
    MatchResult,
    MatchSettings,
    _given_name_conflicts,
    _phone_comparison,
    match_people,
)

# Pairwise Jaro-Winkler below 0.8 within each pool, so a household member's first name never
# looks like a typo of another's.
FIRST_NAMES = (
    "amelia",
    "bernard",
    "charlotte",
    "dmitri",
    "eleanor",
    "fatimah",
    "gregory",
    "harriet",
    "ibrahim",
    "josephine",
    "kenneth",
    "lakshmi",
    "marcus",
    "nadia",
    "oscar",
    "priyanka",
    "quentin",
    "rosalind",
    "sebastian",
    "theodore",
    "ursula",
    "vincent",
    "wilhelmina",
    "xavier",
    "yolanda",
    "zachary",
    "benedict",
    "cordelia",
    "desmond",
    "evangeline",
    "florian",
    "gwendolyn",
    "horatio",
    "isadora",
    "jasper",
    "katarina",
    "leopold",
    "magnolia",
    "nikolai",
    "ophelia",
)
# Few surnames and postcodes: many unrelated people share a surname, some a postcode too.
LAST_NAMES = (
    "tan",
    "lim",
    "kumar",
    "nguyen",
    "santos",
    "rahman",
    "okafor",
    "schmidt",
    "haddad",
    "kowalski",
    "yamamoto",
    "fernandes",
    "osei",
    "petrov",
    "lindqvist",
)
STREETS = ("orchard road", "bedok north ave", "jurong west st", "yishun ring rd", "holland ave")


@dataclass(frozen=True)
class Population:
    records: pd.DataFrame  # raw, as a source would send them, plus truth columns
    person: dict[str, int]
    household: dict[str, int]

    def true_pairs(self) -> set[tuple[str, str]]:
        by_person: dict[int, list[str]] = {}
        for key, person in self.person.items():
            by_person.setdefault(person, []).append(key)
        return {
            tuple(sorted(pair))  # type: ignore[misc]
            for keys in by_person.values()
            for pair in itertools.combinations(keys, 2)
        }

    def household_pairs(self) -> set[tuple[str, str]]:
        by_household: dict[int, list[str]] = {}
        for key, household in self.household.items():
            by_household.setdefault(household, []).append(key)
        return {
            tuple(sorted(pair))  # type: ignore[misc]
            for keys in by_household.values()
            for pair in itertools.combinations(keys, 2)
            if self.person[pair[0]] != self.person[pair[1]]
        }


def _typo(name: str, rng: random.Random) -> str:
    """One keyboard slip inside the name: swapped, doubled or dropped letter."""
    i = rng.randrange(1, len(name) - 2)
    slip = rng.choice(("swap", "double", "drop"))
    if slip == "swap":
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if slip == "double":
        return name[: i + 1] + name[i:]
    return name[:i] + name[i + 1 :]


def _dob_text(iso: str, rng: random.Random) -> str:
    year, month, day = iso.split("-")
    return rng.choice(
        (iso, f"{day}/{month}/{year}", f"{year}{month}{day}", f"{year}/{month}/{day}")
    )


def make_population(
    households: int,
    *,
    seed: int,
    duplicate_rate: float = 0.4,
    cluster_rate: float = 0.0,
    masked: bool = False,
) -> Population:
    """Households of 1-3 people; some people get a second record with typos and gaps.

    A second record may have a typo in the first name (half) or surname, another date
    layout, a spaced postcode, a masked phone, "Surname I." instead of a first name, and
    traits missing at random.

    With `cluster_rate`, that share of duplicated people already has both records in one
    deterministic cluster (as if stitched on an email), the rest are unclustered. With
    `masked`, a quarter of second records are marketplace orders: "Q***i T***", no birth date.
    """
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    person_of: dict[str, int] = {}
    household_of: dict[str, int] = {}
    person = 0
    for household in range(households):
        last = rng.choice(LAST_NAMES)
        postcode = f"{rng.randrange(100, 160)}{rng.randrange(100, 999)}"
        address = f"{rng.randrange(1, 400)} {rng.choice(STREETS)} #{rng.randrange(1, 30):02d}"
        size = rng.choice((1, 1, 2, 2, 3))
        firsts = rng.sample(FIRST_NAMES, size)
        years = rng.sample(range(1940, 2006, 3), size)  # members' births 3+ years apart
        for first, year in zip(firsts, years, strict=True):
            dob = f"{year}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
            phone = f"+65 9{rng.randrange(10**6, 10**7)}"
            copies = 2 if rng.random() < duplicate_rate else 1
            cluster = f"email:{person}" if copies == 2 and rng.random() < cluster_rate else None
            for copy in range(copies):
                key = f"rec-{len(rows):05d}"
                given = _typo(first, rng) if copy and rng.random() < 0.5 else first
                family = _typo(last, rng) if copy and len(last) > 4 and rng.random() < 0.1 else last
                row: dict[str, object] = {
                    "record_key": key,
                    "cluster": cluster,
                    "date_of_birth": _dob_text(dob, rng) if rng.random() < 0.9 else None,
                    "postcode": postcode if copy == 0 else postcode[:3] + " " + postcode[3:],
                    "city": "Singapore" if rng.random() < 0.7 else None,
                    "address": address if rng.random() < 0.6 else None,
                    "phone_suffix": (phone if copy == 0 else "+65 ****" + phone[-4:])
                    if rng.random() < 0.5
                    else None,
                }
                style = rng.random()
                if copy and masked and style < 0.25:
                    row["full_name"] = f"{given[0].upper()}***{given[-1]} {family[0].upper()}***"
                    row["date_of_birth"] = row["address"] = None
                elif copy and style < 0.1:  # a source that only keeps "Surname I."
                    row["full_name"] = f"{family.title()} {given[0].upper()}."
                elif style < 0.35:
                    row["full_name"] = f"{given.title()} {family.upper()}"
                else:
                    row["first_name"], row["last_name"] = given.title(), family.title()
                rows.append(row)
                person_of[key] = person
                household_of[key] = household
            person += 1
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return Population(frame, person_of, household_of)


def predicted(result: MatchResult) -> set[tuple[str, str]]:
    return {
        tuple(sorted(pair))  # type: ignore[misc]
        for pair in zip(result.pairs["record_key_l"], result.pairs["record_key_r"], strict=True)
    }


def precision_recall(
    found: set[tuple[str, str]], truth: set[tuple[str, str]]
) -> tuple[float, float]:
    hits = len(found & truth)
    return hits / max(len(found), 1), hits / max(len(truth), 1)


# --- normalization -------------------------------------------------------------------------


def normalized_row(**fields: object) -> dict[str, object]:
    frame = normalize_person_frame(pd.DataFrame([{"record_key": "k", **fields}]))
    return frame.iloc[0].to_dict()


@pytest.mark.parametrize(
    ("fields", "first", "last"),
    [
        ({"full_name": "Tan W."}, None, "tan"),
        ({"full_name": "Wei Ming TAN"}, "wei ming", "tan"),
        ({"full_name": "Madonna"}, "madonna", None),
        ({"full_name": "Mr. Ahmad bin Ismail"}, "ahmad", "ismail"),
        ({"full_name": "Dr Siti binti Abdullah"}, "siti", "abdullah"),
        ({"full_name": "J*** T**"}, None, None),
        ({"full_name": "john_d42"}, None, None),
        ({"first_name": "José", "last_name": "Müller-Lüdenscheidt"}, "jose", "muller ludenscheidt"),
        ({"first_name": "  Mary   Ann ", "last_name": "O'Brien"}, "mary ann", "obrien"),
        ({"first_name": "M*****", "last_name": "Tan"}, None, "tan"),
        ({"first_name": "", "last_name": "Tan", "full_name": "Tan Wei"}, "wei", "tan"),
        ({"first_name": "Wei", "full_name": "Wei Tan"}, "wei", "tan"),
    ],
)
def test_names_are_folded_split_and_masks_dropped(
    fields: dict[str, object], first: str | None, last: str | None
) -> None:
    row = normalized_row(**fields)
    assert (row["first_name"], row["last_name"]) == (first, last)


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("1990-02-03", "1990-02-03"),
        ("03/02/1990", "1990-02-03"),
        ("1990/02/03", "1990-02-03"),
        ("03-02-1990", "1990-02-03"),
        ("19900203", "1990-02-03"),
        ("1990-02-03T00:00:00", "1990-02-03"),
        ("31/02/1990", None),  # no such day
        ("3rd Feb", None),
        ("", None),
        (None, None),
    ],
)
def test_date_of_birth_layouts_become_iso(raw: str | None, iso: str | None) -> None:
    assert normalized_row(date_of_birth=raw)["date_of_birth"] == iso


@pytest.mark.parametrize(
    ("raw", "suffix"),
    [("+65 ****1234", "1234"), ("+6591234567", "4567"), ("12", None), ("****", None), ("", None)],
)
def test_phone_suffix_is_last_four_digits(raw: str, suffix: str | None) -> None:
    assert normalized_row(phone_suffix=raw)["phone_suffix"] == suffix


def test_places_and_ids_are_canonical_and_absent_fields_are_none() -> None:
    row = normalized_row(
        postcode=" sw1a 1aa", city="  São   PAULO ", national_id="s-123 4567-d", cluster=""
    )
    assert row["postcode"] == "SW1A1AA"
    assert row["city"] == "sao paulo"
    assert row["national_id"] == "S1234567D"
    assert row["cluster"] is None
    assert normalized_row(national_id="S****567D")["national_id"] is None
    for placeholder in ("000000000", "NA", "n/a", "XXXXXXX", "1234"):  # no conclusive match
        assert normalized_row(national_id=placeholder)["national_id"] is None, placeholder
    assert row["address"] is None and row["first_name"] is None
    frame = normalize_person_frame(pd.DataFrame({"record_key": ["a"]}))
    assert list(frame.columns.drop("given_hints")) == ["record_key", "cluster", *MATCH_FIELDS]


def _phone_level(left: tuple[str | None, str | None], right: tuple[str | None, str | None]) -> str:
    """The level Splink's SQL puts a pair in, evaluated by DuckDB: (raw suffix, whole phone)."""
    frame = normalize_person_frame(
        pd.DataFrame(
            {
                "record_key": ["l", "r"],
                "phone_suffix": [left[0], right[0]],
                "phone": [left[1], right[1]],
            }
        )
    )
    pair = {f"{c}_{side}": frame.loc[i, c] for i, side in enumerate("lr") for c in frame.columns}
    comparison = _phone_comparison(["phone_suffix", "full_phone"]).get_comparison("duckdb")
    con = duckdb.connect()
    con.execute("create table p as select " + ", ".join(f"${k} as {k}" for k in pair), pair)
    for level in comparison.comparison_levels:
        condition = "true" if level.sql_condition == "ELSE" else level.sql_condition
        if con.execute(f"select coalesce({condition}, false) from p").fetchall()[0][0]:
            return level.label_for_charts
    raise AssertionError("no level matched")


def test_two_whole_phones_that_end_alike_disagree_a_masked_one_agrees() -> None:
    masked, whole, other = ("+65 ****5422", None), (None, "+6580635422"), (None, "+6591115422")
    assert normalized_row(phone="+6580635422")["phone_suffix"] == "5422"
    assert normalized_row(phone="+6580635422")["full_phone"] == "+6580635422"
    assert _phone_level(masked, whole) == "same last four digits"
    assert _phone_level(whole, whole) == "same last four digits"
    assert _phone_level(whole, other) == "different phone"  # another number, same last digits
    assert _phone_level(masked, ("+65 ****1111", None)) == "different phone"
    assert _phone_level(masked, (None, None)) == "no phone on one side"


def test_whole_phones_that_end_alike_do_not_count_toward_the_prior() -> None:
    """The rule first+last+postcode+phone suffix estimates the prior; namesakes at one postcode
    whose whole phones differ but end alike are no match there either."""
    records = normalize_person_frame(make_population(300, seed=5).records)
    traits = ["first_name", "last_name", "postcode", "phone_suffix"]
    base = records[records[traits].notna().all(axis=1)].head(40)
    twins = base.assign(record_key=base["record_key"] + "-namesake", date_of_birth=None)

    def prior(namesake_prefix: str) -> float:
        frame = pd.concat(
            [
                records.assign(full_phone=None),
                twins.assign(full_phone=namesake_prefix + twins["phone_suffix"]),
            ],
            ignore_index=True,
        )
        own = frame["record_key"].isin(base["record_key"])
        frame.loc[own, "full_phone"] = "+658000" + frame.loc[own, "phone_suffix"]
        return float(match_people(frame, MatchSettings()).stats["prior"])

    assert prior("+659000") < prior("+658000")


def test_initials_are_kept_apart_from_names() -> None:
    frame = normalize_person_frame(
        pd.DataFrame(
            {
                "record_key": list("abcde"),
                "full_name": ["Sitompul J.", "Vino Sitompul", "K***n M***", "W. Tan", None],
                "first_name": [None, None, None, None, "J"],
            }
        )
    )
    assert frame["first_name"].tolist() == [None, "vino", None, None, None]
    # "given/surname initial"; "Sitompul J." also reads as "Sitompul" with a surname in J.
    assert frame["given_hints"].tolist() == ["j/s sitompul/j", None, "k*n/m", "w/t", "j"]


@pytest.mark.parametrize(
    ("left", "right", "compatible"),
    [
        ("john", "jon", True),  # a typo
        ("john", "jane", False),  # same initial, another name
        ("wei jie", "jie", True),  # a shared token
        ("j/s", "jelita", True),  # "Sitompul J." could be Jelita
        ("j/s", "j/t", False),  # same initial, another surname
        ("tamba/d", "tamba/e", False),  # "Tamba D." and "Tamba E." under either reading
        ("d*l", "dagel", True),  # "D***l" shows a first and last letter
        ("d*l", "edison", False),
        ("d*l", "d", True),
        ("w*e/l", "wei jie", True),
        ("w*e/l", "w*i/l", False),
    ],
)
def test_given_name_candidates_compare_initials_masks_and_surname_initials(
    left: str, right: str, compatible: bool
) -> None:
    assert given_names_compatible(left, right, 0.8) is compatible
    assert given_names_compatible(right, left, 0.8) is compatible


def test_given_names_that_clearly_differ_refuse_a_pair() -> None:
    """Siblings share surname, postcode and the family phone; the given name separates them.
    Names of every record known to be one person count, so a nameless version of a sibling's
    record does not get through."""
    frame = normalize_person_frame(
        pd.DataFrame(
            {
                "record_key": ["vino", "jelita", "j_initial", "vino_nameless", "vino_typo"],
                "full_name": ["Vino Sitompul", "Jelita Sitompul", "Sitompul J.", None, "Vinno S"],
                "known_match": ["b1", "b2", "b3", "b2", "b4"],
            }
        )
    )
    pairs = pd.DataFrame(
        {
            "record_key_l": ["vino", "vino", "vino_nameless", "vino", "jelita"],
            "record_key_r": ["jelita", "j_initial", "vino", "vino_typo", "j_initial"],
        }
    )
    conflict = _given_name_conflicts(pairs, frame, frame["known_match"], 0.8, [])
    # vino/jelita differ; J. is not Vino; the nameless record is one of Jelita's versions;
    # a typo is still Vino; J. could be Jelita.
    assert conflict.tolist() == [True, True, True, False, False]


def test_swapped_names_and_one_national_id_are_no_given_name_conflict() -> None:
    """ "Luchetti Tiana" is Tiana Luchetti keyed the wrong way round, and a record that states
    the sibling's national id is the sibling, whatever name was typed; Jelita stays apart."""
    frame = normalize_person_frame(
        pd.DataFrame(
            {
                "record_key": ["tiana", "swapped", "jelita", "mistyped", "sister"],
                "first_name": ["Tiana", "Luchetti", "Jelita", "Flynn", "Thomas"],
                "last_name": ["Luchetti", "Tiana", "Luchetti", "Luchetti", "Luchetti"],
                "national_id": [None, None, "S1234567D", "S1234567D", "S7654321A"],
            }
        )
    )
    keys = frame["record_key"]
    pairs = pd.DataFrame(
        {
            "record_key_l": ["tiana", "tiana", "jelita", "jelita"],
            "record_key_r": ["swapped", "jelita", "mistyped", "sister"],
        }
    )
    conflict = _given_name_conflicts(pairs, frame, keys, 0.8, ["national_id"])
    assert conflict.tolist() == [False, True, False, True]
    # Without national_id as a conclusive field, the mistyped name is a conflict again.
    assert _given_name_conflicts(pairs, frame, keys, 0.8, []).tolist() == [False, True, True, True]
    # An initial is no swapped name: "J. Jones" / "Jones Jim" are not the same keyed round,
    # at any threshold.
    assert not names_swapped(("j", "jones"), ("jones", "jim"), 0.5)
    assert names_swapped(("tiana", "luchetti"), ("luchetti", "tiana"), 0.8)


# --- matching ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clustered() -> tuple[Population, MatchResult]:
    population = make_population(450, seed=11, cluster_rate=0.5)
    records = normalize_person_frame(population.records)
    return population, match_people(records, MatchSettings())


def test_finds_typo_duplicates_but_not_household_members(
    clustered: tuple[Population, MatchResult],
) -> None:
    population, result = clustered
    cluster = dict(
        zip(population.records["record_key"], population.records["cluster"], strict=True)
    )
    open_pairs = {
        (a, b) for a, b in population.true_pairs() if cluster[a] is None or cluster[a] != cluster[b]
    }
    # Only meaningful with enough unclustered duplicates and look-alike household members.
    assert len(open_pairs) > 50 and len(population.household_pairs()) > 100
    precision, recall = precision_recall(predicted(result), open_pairs)
    assert precision >= 0.97, result.stats
    assert recall >= 0.85, result.stats
    assert not predicted(result) & population.household_pairs()
    assert result.stats["m_estimation"] == "label_column"


def test_pairs_already_in_one_cluster_are_not_returned(
    clustered: tuple[Population, MatchResult],
) -> None:
    population, result = clustered
    cluster = dict(
        zip(population.records["record_key"], population.records["cluster"], strict=True)
    )
    left = result.pairs["record_key_l"].map(cluster)
    right = result.pairs["record_key_r"].map(cluster)
    assert not (left.notna() & (left == right)).any()
    # They were found (the labelled duplicates are easy), then dropped.
    assert result.stats["pairs_already_clustered"] > 50


def test_result_shape_and_stats(clustered: tuple[Population, MatchResult]) -> None:
    population, result = clustered
    assert tuple(result.pairs.columns) == PAIR_COLUMNS
    assert result.pairs["match_probability"].dtype == "float64"
    assert (result.pairs["match_probability"] >= 0.95).all()
    assert (result.pairs["record_key_l"] < result.pairs["record_key_r"]).all()
    stats = result.stats
    assert stats["records"] == len(population.records)
    assert stats["pairs_above_threshold"] == len(result.pairs)
    assert stats["blocked_comparisons"] >= stats["pairs_above_threshold"]
    assert result.model["link_type"] == "dedupe_only"
    assert {c["output_column_name"] for c in result.model["comparisons"]} >= {
        "first_name",
        "last_name",
        "date_of_birth",
        "location",
    }


def test_without_clusters_em_trains_a_model_that_still_separates_households() -> None:
    population = make_population(300, seed=5)
    result = match_people(normalize_person_frame(population.records), MatchSettings())
    precision, recall = precision_recall(predicted(result), population.true_pairs())
    assert result.stats["m_estimation"].startswith("em(")
    assert precision >= 0.95, result.stats
    assert recall >= 0.8, result.stats
    assert not predicted(result) & population.household_pairs()


def test_masked_names_match_on_the_letters_they_show() -> None:
    """A masked order ("Q***i T***", no birth date) is linked by the letters its name shows,
    with the postcode or phone suffix; without them it has too little evidence."""
    population = make_population(300, seed=13, masked=True)
    records = normalize_person_frame(population.records)
    names = population.records["full_name"].fillna("")
    masked = set(population.records.loc[names.str.contains("*", regex=False), "record_key"])
    truth = {pair for pair in population.true_pairs() if set(pair) & masked}
    assert len(truth) > 20

    result = match_people(records, MatchSettings())
    precision, _ = precision_recall(predicted(result), population.true_pairs())
    _, masked_recall = precision_recall(predicted(result), truth)
    blind = match_people(records.assign(name_initials=None), MatchSettings())
    _, blind_recall = precision_recall(predicted(blind), truth)

    assert "name_initials" in result.stats["fields"]
    assert precision >= 0.95, result.stats
    assert masked_recall >= blind_recall + 0.2, (masked_recall, blind_recall)
    assert masked_recall >= 0.7, masked_recall


def test_name_initials_have_one_shape_for_names_and_masks() -> None:
    frame = normalize_person_frame(
        pd.DataFrame(
            {
                "record_key": list("abcde"),
                "full_name": [None, "Q***i T***", "Cheng H.", "Qian", "*** T***"],
                "first_name": ["Qian Hui", None, None, None, None],
                "last_name": ["Teo", None, None, None, None],
            }
        )
    )
    assert frame["name_initials"].tolist() == ["qit", "qit", None, "qn_", None]
    assert frame["given_hints"].tolist() == [None, "q*i/t", "h/c cheng/h", None, None]


def test_a_name_handle_gives_initials_but_no_name_to_hold_against_anyone() -> None:
    frame = normalize_person_frame(
        pd.DataFrame(
            {
                "record_key": list("abcde"),
                "full_name": ["julia_c10", "xuananh_v3", "cooldude99", "Julia Chavarría", None],
                "first_name": [None, None, None, None, "Xuân Anh"],
                "last_name": [None, None, None, None, "Vũ"],
            }
        )
    )
    assert frame["name_initials"].tolist() == ["jac", "xhv", None, "jac", "xhv"]
    # Not a first name, not a hint: the given-name guard never reads a handle.
    assert frame["first_name"].tolist()[:3] == [None, None, None]
    assert frame["given_hints"].tolist()[:3] == [None, None, None]


def test_names_and_postcode_only_still_match_exact_duplicates() -> None:
    population = make_population(300, seed=8)
    raw = population.records
    names = raw["full_name"].fillna(
        raw["first_name"].fillna("") + " " + raw["last_name"].fillna("")
    )
    slim = pd.DataFrame(
        {"record_key": raw["record_key"], "full_name": names, "postcode": raw["postcode"]}
    )
    records = normalize_person_frame(slim)
    result = match_people(records, MatchSettings())

    assert result.stats["fields"] == ["first_name", "last_name", "postcode", "name_initials"]
    assert "date_of_birth" not in {c["output_column_name"] for c in result.model["comparisons"]}
    traits = records.set_index("record_key")[["first_name", "last_name", "postcode"]]
    complete = dict(zip(traits.index, traits.itertuples(index=False, name=None), strict=True))
    easy = {  # duplicates whose normalized traits are all present and identical
        (a, b)
        for a, b in population.true_pairs()
        if complete[a] == complete[b] and None not in complete[a]
    }
    found = predicted(result)
    precision, _ = precision_recall(found, population.true_pairs())
    _, easy_recall = precision_recall(found, easy)
    assert len(easy) > 30
    assert easy_recall >= 0.9, result.stats
    assert precision >= 0.9, result.stats


def test_same_input_same_pairs_whatever_the_row_order() -> None:
    population = make_population(120, seed=3, cluster_rate=0.5)
    records = normalize_person_frame(population.records)
    first = match_people(records, MatchSettings())
    again = match_people(records.sample(frac=1.0, random_state=1), MatchSettings())
    assert len(first.pairs) > 0
    pd.testing.assert_frame_equal(first.pairs, again.pairs)
    assert first.model == again.model


@pytest.mark.parametrize("size", [0, 1, 2])
def test_tiny_input_gives_an_empty_result(size: int) -> None:
    records = normalize_person_frame(make_population(5, seed=1).records.head(size))
    result = match_people(records, MatchSettings())
    assert result.pairs.empty
    assert tuple(result.pairs.columns) == PAIR_COLUMNS
    assert result.stats["records"] == size


def test_nothing_to_block_on_gives_an_empty_result_not_a_cartesian_product() -> None:
    records = normalize_person_frame(
        pd.DataFrame({"record_key": [f"k{i}" for i in range(20)], "city": ["Singapore"] * 20})
    )
    result = match_people(records, MatchSettings())
    assert result.pairs.empty
    assert result.stats["blocking_rules"] == []


def test_duplicate_record_keys_are_refused() -> None:
    records = normalize_person_frame(pd.DataFrame({"record_key": ["a", "a", "b"]}))
    with pytest.raises(ValueError, match="unique"):
        match_people(records, MatchSettings())


def test_settings_refuse_an_unseeded_sample() -> None:
    with pytest.raises(ValueError, match="seed"):
        MatchSettings(seed=0)
