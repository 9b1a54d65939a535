"""Probabilistic (Fellegi-Sunter) person matching with Splink 4 on an in-memory DuckDB.

Deterministic stitching links records that share an identifier; this finds the pairs it
cannot (same person, different email, a typo in the name) from person traits alone. It is
pandas in, pandas out, so the Spark job and the standalone CSV resolver run the same model.

Model choices, and why:
- only fields with values get a comparison: a column that is all None would train nothing
  and a user's CSV rarely has every trait;
- blocking keys are capped (`MAX_BLOCK_SIZE`): a key shared by hundreds of records
  ("wei tan") says little and would make comparisons quadratic; those records are still
  compared through their other keys;
- m comes from known matches when there are enough of them, else from EM. Known matches are
  records that share their most trusted identifier (`known_match`: a loyalty id, an e-mail),
  not whole deterministic clusters: a cluster can hold a household joined by a shared phone,
  and learning from it would teach the model that a different first name or birth date is
  common among matches; m and u are smoothed so a level never seen in training cannot veto or force
  a match on its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from lakecdp.identity.person_fields import (
    MATCH_FIELDS,
    given_name_candidates,
    given_names_conflict,
    names_swapped,
)

log = logging.getLogger(__name__)

PAIR_COLUMNS = ("record_key_l", "record_key_r", "match_probability")
# Candidate blocking keys, most specific evidence first; each becomes one blocking rule.
BLOCKING_KEYS: tuple[tuple[str, ...], ...] = (
    ("last_name", "date_of_birth"),
    ("first_name", "date_of_birth"),
    ("postcode", "first_name"),
    ("postcode", "phone_suffix"),
    ("last_name", "phone_suffix"),
    ("first_name", "phone_suffix"),
    ("national_id",),
    ("first_name", "last_name"),
    # Typo in the name: people at one address, or one postcode and birth date.
    ("postcode", "last_name"),
    ("postcode", "date_of_birth"),
    ("address",),
    # Masked marketplace names: the letters they show, with the delivery postcode or phone.
    ("postcode", "name_initials"),
    ("name_initials", "phone_suffix"),
    # A masked phone against any record with that suffix (`MASKED_PHONE_RULE`): a profile
    # seen only through receipts under its phone has no other trait to block on.
    ("phone_suffix",),
)
# The suffix-only key pairs only records of which one side is masked: two whole numbers that
# end alike are different phones, and every such pair would be wasted work.
MASKED_PHONE_KEY = ("phone_suffix",)
# Rules that admit (almost) no false positives: their pair count, over an assumed recall,
# estimates the prior.
DETERMINISTIC_KEYS: tuple[tuple[str, ...], ...] = (
    ("first_name", "last_name", "date_of_birth"),
    ("national_id",),
    ("first_name", "last_name", "postcode", "phone_suffix"),
)
# Without dates of birth or ids, the name+postcode rule is the best deterministic evidence.
FALLBACK_DETERMINISTIC_KEYS: tuple[tuple[str, ...], ...] = (
    ("first_name", "last_name", "postcode"),
)
# EM training rules in order of preference; each trains every comparison not in the rule.
# No location rule: pairs at one postcode are mostly households, which share surname and
# address, so EM learns "same family" and stops penalising different first names. Names
# no rule can train keep default m values instead.
EM_KEYS: tuple[tuple[str, ...], ...] = (
    ("first_name", "last_name"),
    ("date_of_birth",),
    ("national_id",),
    ("phone_suffix",),
)
LOCATION_FIELDS = ("address", "postcode", "city")
MAX_BLOCK_SIZE = 100  # records sharing one blocking key value beyond which the key is skipped
MAX_LABEL_CLUSTER = 50  # larger deterministic clusters are left out of m estimation
MAX_EM_PAIRS = 2_000_000  # an EM rule blocking more pairs than this is not used
M_SMOOTHING = 0.005  # pseudo-probability added to every m level before renormalizing
PRIOR_RECALL = 0.7
LABEL_COLUMN = "label_cluster"
_QUIET_MESSAGES = ("You are using the default value for `max_pairs`",)


@dataclass(frozen=True)
class MatchSettings:
    """Knobs of one matching run; the defaults suit a few thousand to a few 100k records."""

    threshold: float = 0.95
    max_pairs_for_u: int = 1_000_000
    seed: int = 7
    min_labelled_pairs: int = 50
    # Pairs whose given names are both known and differ (Jaro-Winkler below this, no shared
    # token) are never linked; 0 turns the guard off. See `_given_name_conflicts`.
    given_name_conflict: float = 0.8
    # Fields that, equal on two records, overrule the given-name guard (a national id).
    conclusive_fields: tuple[str, ...] = ("national_id",)

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.max_pairs_for_u < 1:
            raise ValueError(f"max_pairs_for_u must be positive, got {self.max_pairs_for_u}")
        if self.seed < 1:  # Splink reads a seed of 0 as "no seed", i.e. a different sample
            raise ValueError(f"seed must be a positive integer, got {self.seed}")
        if not 0.0 <= self.given_name_conflict < 1.0:
            raise ValueError(
                f"given_name_conflict must be in [0, 1), got {self.given_name_conflict}"
            )


@dataclass(frozen=True)
class MatchResult:
    """Predicted pairs at or above the threshold, the trained model (for logs) and counts."""

    pairs: pd.DataFrame
    model: dict[str, Any]
    stats: dict[str, Any]


def _empty_pairs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_key_l": pd.Series(dtype=object),
            "record_key_r": pd.Series(dtype=object),
            "match_probability": pd.Series(dtype="float64"),
        }
    )


def _location_comparison(present: list[str]) -> Any:
    """Address, postcode and city as ONE comparison.

    They are nested (an address implies its postcode and city), so as separate comparisons
    a household's shared address would count three times and outweigh different first
    names and birth dates. A postcode on both sides that differs overrides the weaker levels.
    """
    import splink.comparison_library as cl

    same_postcode_or_unknown = (
        "coalesce(postcode_l = postcode_r, true)" if "postcode" in present else "true"
    )
    levels: list[dict[str, Any]] = [
        {
            "sql_condition": " and ".join(f"({f}_l is null or {f}_r is null)" for f in present),
            "label_for_charts": "no location on one side",
            "is_null_level": True,
        }
    ]
    if "address" in present:
        levels.append(
            {
                "sql_condition": f"address_l = address_r and {same_postcode_or_unknown}",
                "label_for_charts": "same address",
            }
        )
    if "postcode" in present:
        levels.append(
            {"sql_condition": "postcode_l = postcode_r", "label_for_charts": "same postcode"}
        )
    if "address" in present:
        levels.append(
            {
                "sql_condition": "jaro_winkler_similarity(address_l, address_r) >= 0.9"
                f" and {same_postcode_or_unknown}",
                "label_for_charts": "similar address",
            }
        )
    if "city" in present:
        levels.append(
            {
                "sql_condition": f"city_l = city_r and {same_postcode_or_unknown}",
                "label_for_charts": "same city",
            }
        )
    levels.append({"sql_condition": "ELSE", "label_for_charts": "different location"})
    return cl.CustomComparison(levels, output_column_name="location")


def _initials_comparison(fields: list[str]) -> Any:
    """The letters a masked name shows ("Q***i T***" against "Qian Hui Teo").

    Only where the names cannot be compared: when both sides have a given name, the name
    comparisons already count that evidence and this one stays neutral.
    """
    import splink.comparison_library as cl

    both_named = (
        " or (first_name_l is not null and first_name_r is not null)"
        if "first_name" in fields
        else ""
    )
    surname_unknown = "(substr(name_initials_l, 3, 1) = '_' or substr(name_initials_r, 3, 1) = '_')"
    return cl.CustomComparison(
        [
            {
                "sql_condition": "name_initials_l is null or name_initials_r is null" + both_named,
                "label_for_charts": "no initials on one side, or names to compare",
                "is_null_level": True,
            },
            {
                "sql_condition": f"name_initials_l = name_initials_r and not {surname_unknown}",
                "label_for_charts": "given name's first and last letters and surname initial",
            },
            {
                "sql_condition": "substr(name_initials_l, 1, 2) = substr(name_initials_r, 1, 2)"
                f" and {surname_unknown}",
                "label_for_charts": "given name's first and last letters",
            },
            {"sql_condition": "ELSE", "label_for_charts": "different initials"},
        ],
        output_column_name="name_initials",
    )


def _phone_comparison(fields: list[str]) -> Any:
    """The last four digits, where at least one side may be the other's phone.

    Two whole numbers that only end alike are different phones: that pair is a disagreement,
    not the 1-in-10,000 agreement a masked "+65****5422" against "+6580635422" is.
    """
    import splink.comparison_library as cl

    same_phone_possible = (
        " and (full_phone_l is null or full_phone_r is null or full_phone_l = full_phone_r)"
        if "full_phone" in fields
        else ""
    )
    return cl.CustomComparison(
        [
            {
                "sql_condition": "phone_suffix_l is null or phone_suffix_r is null",
                "label_for_charts": "no phone on one side",
                "is_null_level": True,
            },
            {
                "sql_condition": "phone_suffix_l = phone_suffix_r" + same_phone_possible,
                "label_for_charts": "same last four digits",
            },
            {"sql_condition": "ELSE", "label_for_charts": "different phone"},
        ],
        output_column_name="phone_suffix",
    )


def _comparisons(fields: list[str]) -> list[tuple[frozenset[str], Any]]:
    """(input fields, Splink comparison) for the fields present, in MATCH_FIELDS order."""
    import splink.comparison_library as cl

    out: list[tuple[frozenset[str], Any]] = []
    location = [f for f in LOCATION_FIELDS if f in fields]
    for field in fields:
        if field in ("first_name", "last_name"):
            comparison = cl.NameComparison(field, jaro_winkler_thresholds=[0.92, 0.8])
        elif field == "date_of_birth":
            comparison = cl.DateOfBirthComparison(
                field, input_is_string=True, datetime_format="%Y-%m-%d"
            )
        elif field == "name_initials":
            comparison = _initials_comparison(fields)
        elif field == "phone_suffix":
            comparison = _phone_comparison(fields)
        elif field == "full_phone":
            continue  # read by the phone_suffix comparison
        elif field == "national_id":  # one digit keyed wrong or two swapped is still close
            comparison = cl.DamerauLevenshteinAtThresholds(field, [1])
        elif field in LOCATION_FIELDS:
            if field != location[0]:
                continue
            out.append((frozenset(location), _location_comparison(location)))
            continue
        else:
            comparison = cl.ExactMatch(field)
        out.append((frozenset({field}), comparison))
    return out


def _pair_count(sizes: pd.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def _block_key(frame: pd.DataFrame, fields: tuple[str, ...]) -> tuple[pd.Series, int, int]:
    """Integer block id per record (None where a field is missing, the block is a singleton
    or larger than MAX_BLOCK_SIZE), with the pairs it yields and the records it skipped."""
    present = frame[list(fields)].notna().all(axis=1)
    key = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    if not present.any():
        return key, 0, 0
    groups = frame.loc[present].groupby(list(fields), sort=True, dropna=True).ngroup()
    sizes = groups.map(groups.value_counts())
    usable = (sizes > 1) & (sizes <= MAX_BLOCK_SIZE)
    key.loc[usable[usable].index] = groups[usable].astype("int64")
    block_sizes = groups[usable].value_counts()
    return key, _pair_count(block_sizes), int((sizes > MAX_BLOCK_SIZE).sum())


def _raw_pair_count(frame: pd.DataFrame, fields: tuple[str, ...]) -> int:
    present = frame[list(fields)].notna().all(axis=1)
    if not present.any():
        return 0
    return _pair_count(frame.loc[present].groupby(list(fields), sort=False).size())


def _label_column(clusters: pd.Series) -> tuple[pd.Series, int]:
    """Clusters usable as known matches (2..MAX_LABEL_CLUSTER records) and their pair count."""
    sizes = clusters.map(clusters.value_counts())
    usable = clusters.notna() & (sizes > 1) & (sizes <= MAX_LABEL_CLUSTER)
    labels = clusters.where(usable, None).astype(object)
    return labels, _pair_count(labels.dropna().value_counts())


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = " ".join(record.getMessage().removeprefix("WARNING:").split())
        if not message.startswith(_QUIET_MESSAGES) and message not in self.messages:
            self.messages.append(message)


@contextmanager
def _quiet_splink() -> Iterator[list[str]]:
    """Keep Splink's INFO chatter off and its warnings out of the caller's logs: they are
    returned in stats instead, where the pipeline reports them with its own counts."""
    splink_log = logging.getLogger("splink")
    handler = _Collect()
    saved = (splink_log.level, splink_log.propagate)
    splink_log.setLevel(logging.WARNING)
    splink_log.propagate = False
    splink_log.addHandler(handler)
    try:
        yield handler.messages
    finally:
        splink_log.removeHandler(handler)
        splink_log.setLevel(saved[0])
        splink_log.propagate = saved[1]


def _smooth_model(model: dict[str, Any], u_floor: float) -> dict[str, Any]:
    """m and u per comparison, smoothed and renormalized.

    Splink gives a level never seen in training a probability of 1e-6: with few labelled
    pairs that makes one field veto (or force) a match. Pseudo-counts bound every level's
    weight by what the training data could actually show.
    """
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        count = len(levels)
        m = [lv.get("m_probability") for lv in levels]
        if all(value is None for value in m):  # untrained: a mild "agreement is evidence"
            m = [0.9 if i == 0 else 0.1 / (count - 1) for i in range(count)]
        m = [(value or 0.0) + M_SMOOTHING for value in m]
        u = [max(lv.get("u_probability") or 0.0, u_floor) for lv in levels]
        for level, m_value, u_value in zip(levels, m, u, strict=True):
            # Rounded: EM sums in parallel, so the last bits vary between identical runs.
            level["m_probability"] = float(f"{m_value / sum(m):.10g}")
            level["u_probability"] = float(f"{u_value / sum(u):.10g}")
    return model


def _estimate_m(
    linker: Any,
    splink_input: pd.DataFrame,
    comparisons: list[frozenset[str]],
    labelled: int,
    settings: MatchSettings,
    stats: dict[str, Any],
) -> None:
    """m from the known matches in deterministic clusters, else EM on up to two rules.

    An EM rule cannot train the comparisons on its own fields, so rules are picked until
    every comparison has been trained by at least one of them.
    """
    from splink import block_on

    if labelled >= settings.min_labelled_pairs:
        linker.training.estimate_m_from_label_column(LABEL_COLUMN)
        stats["m_estimation"] = "label_column"
        return
    fields = set().union(*comparisons)
    untrained = set(comparisons)
    used: list[str] = []
    for key in EM_KEYS:
        if not untrained or len(used) == 2:
            break
        trains = {c for c in untrained if not c & set(key)}
        if not set(key) <= fields or not trains:
            continue
        if not 0 < _raw_pair_count(splink_input, key) <= MAX_EM_PAIRS:
            continue
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*key), estimate_without_term_frequencies=True
            )
        except Exception as exc:  # EM on a degenerate block: try the next rule
            log.debug("EM blocked on %s failed: %s", key, exc)
            continue
        used.append("+".join(key))
        untrained -= trains
    stats["m_estimation"] = f"em({', '.join(used)})" if used else "defaults"
    if used and untrained:
        names = sorted(f for c in untrained for f in c)
        stats["m_estimation"] += f", defaults({', '.join(names)})"


def _deterministic_columns(splink_input: pd.DataFrame, fields: list[str]) -> list[str]:
    """Add capped block keys for the deterministic rules; return the columns that pair."""
    keys = [k for k in DETERMINISTIC_KEYS if set(k) <= set(fields)]
    if not any("date_of_birth" in k or "national_id" in k for k in keys):
        keys += [k for k in FALLBACK_DETERMINISTIC_KEYS if set(k) <= set(fields)]
    columns = []
    for key in keys:
        block, pairs, _ = _block_key(splink_input, key)
        if pairs:
            column = f"det__{'__'.join(key)}"
            splink_input[column] = block
            columns.append(column)
    return columns


def _estimate_prior(linker: Any, columns: list[str], whole_phones: bool) -> float | None:
    """Prior from deterministic rules at an assumed recall; None when they cannot give one.

    With `whole_phones`, a rule on the phone suffix does not count two whole phones that only
    end alike: they are different phones, as in the suffix comparison."""
    from splink import block_on
    from splink.blocking_rule_library import CustomRule

    if not columns:
        return None
    same_phone = "(l.full_phone is null or r.full_phone is null or l.full_phone = r.full_phone)"
    rules = [
        CustomRule(f"l.{c} = r.{c} and {same_phone}")
        if whole_phones and c.endswith("__phone_suffix")
        else block_on(c)
        for c in columns
    ]
    try:
        linker.training.estimate_probability_two_random_records_match(rules, recall=PRIOR_RECALL)
    except ValueError as exc:  # more deterministic matches than the recall allows: tiny input
        log.debug("prior estimate failed: %s", exc)
        return None
    prior = float(linker.misc.save_model_to_json()["probability_two_random_records_match"])
    return prior if 0.0 < prior < 1.0 else None


def match_people(records: pd.DataFrame, settings: MatchSettings) -> MatchResult:
    """Pairs of records that are probably the same person and not yet in the same cluster.

    `records` is `normalize_person_frame` output: `cluster` is the deterministic profile (pairs
    inside one are not returned), `known_match` (optional, else `cluster`) groups records known
    to be one person, which m is learnt from. Deterministic for the same input: u is sampled
    with `settings.seed` and the output is sorted.
    """
    if records["record_key"].isna().any() or records["record_key"].duplicated().any():
        raise ValueError("record_key must be present and unique")
    frame = records.reset_index(drop=True)
    clusters = (
        frame["cluster"].astype(object).where(frame["cluster"].notna(), None)
        if "cluster" in frame.columns
        else pd.Series(None, index=frame.index, dtype=object)
    )
    fields = [f for f in MATCH_FIELDS if f in frame.columns and frame[f].notna().sum() >= 2]
    stats: dict[str, Any] = {
        "records": len(frame),
        "fields": fields,
        "blocking_rules": [],
        "blocked_comparisons": 0,
        "pairs_above_threshold": 0,
        "pairs_already_clustered": 0,
        "m_estimation": None,
        "labelled_pairs": 0,
        "prior": None,
        "prior_estimation": None,
        "prior_rules": [],
        "records_in_oversized_blocks": {},
        "warnings": [],
        "seconds": {},
    }
    empty = MatchResult(_empty_pairs(), {}, stats)
    if len(frame) < 3 or not fields:
        return empty

    splink_input = pd.DataFrame({"record_key": frame["record_key"].astype(str)})
    for field in fields:  # plain str or None: DuckDB types an object column from its values
        splink_input[field] = frame[field].map(str, na_action="ignore").astype(object)
        splink_input[field] = splink_input[field].where(frame[field].notna(), None)
    blocking_columns: list[str] = []
    masked_only: set[str] = set()
    skipped: dict[str, int] = {}
    for key in BLOCKING_KEYS:
        if not set(key) <= set(fields):
            continue
        block, pairs, too_common = _block_key(splink_input, key)
        name = "+".join(key)
        if too_common:
            skipped[name] = too_common
        if pairs:
            column = f"block__{'__'.join(key)}"
            splink_input[column] = block
            blocking_columns.append(column)
            stats["blocking_rules"].append(name)
            if key == MASKED_PHONE_KEY and "full_phone" in fields:
                masked_only.add(column)
    stats["records_in_oversized_blocks"] = skipped  # per rule, records left to other rules
    if not blocking_columns:
        return empty
    known = (
        frame["known_match"].astype(object).where(frame["known_match"].notna(), None)
        if "known_match" in frame.columns
        else clusters
    )
    labels, labelled = _label_column(known)
    stats["labelled_pairs"] = labelled
    splink_input[LABEL_COLUMN] = labels
    deterministic = _deterministic_columns(splink_input, fields)
    stats["prior_rules"] = [c.removeprefix("det__").replace("__", "+") for c in deterministic]

    with _quiet_splink() as messages:
        stats["warnings"] = messages
        pairs, model = _run_splink(
            splink_input,
            fields,
            _blocking_rules(blocking_columns, masked_only),
            deterministic,
            labelled,
            settings,
            stats,
        )
    if pairs.empty:
        return MatchResult(_empty_pairs(), model, stats)

    cluster_of = dict(zip(frame["record_key"].astype(str), clusters, strict=True))
    left = pairs["record_key_l"].map(cluster_of)
    right = pairs["record_key_r"].map(cluster_of)
    same = left.notna() & right.notna() & (left == right)
    stats["pairs_already_clustered"] = int(same.sum())
    pairs = pairs.loc[~same]
    stats["pairs_given_name_conflict"] = 0
    if settings.given_name_conflict > 0 and "first_name" in fields:
        conflict = _given_name_conflicts(
            pairs,
            frame,
            known.astype(object),
            settings.given_name_conflict,
            [f for f in settings.conclusive_fields if f in frame.columns],
        )
        stats["pairs_given_name_conflict"] = int(conflict.sum())
        pairs = pairs.loc[~conflict]
    pairs = pairs.sort_values(["record_key_l", "record_key_r"], ignore_index=True)
    stats["pairs_above_threshold"] = len(pairs)
    return MatchResult(pairs, model, stats)


def _given_name_conflicts(
    pairs: pd.DataFrame,
    frame: pd.DataFrame,
    groups: pd.Series,
    below: float,
    conclusive: list[str],
) -> pd.Series:
    """True for pairs whose given names are both known and clearly differ.

    Family members share what the model adds up as independent evidence: surname, address,
    postcode and often one phone (so its masked suffix too). Fellegi-Sunter multiplies those
    agreements as if they were unrelated, and a sibling at the same address scores above any
    threshold despite another first name. The given name is what tells them apart, so a clear
    conflict there (`person_fields.given_names_conflict`) refuses the link instead of only
    lowering its score. Names keyed the wrong way round (`person_fields.names_swapped`) are no
    conflict: the given name is there, in the surname's place. Nor is a pair that states one
    value of a `conclusive` field (the same national id): a name typed wrong does not outweigh
    it.

    A record's given names (and `given_hints`: initials, other readings) are those of every
    record known to be the same person (`groups`, e.g. one loyalty id's versions): a version
    without a name must not let a sibling's record through.
    """
    conflict = pd.Series(False, index=pairs.index)
    if pairs.empty:
        return conflict
    keys = frame["record_key"].astype(str)
    group_of = pd.Series(groups.where(groups.notna(), "r:" + keys).to_numpy(), index=keys)
    hints = frame["given_hints"] if "given_hints" in frame.columns else [None] * len(frame)
    lasts = frame["last_name"] if "last_name" in frame.columns else [None] * len(frame)
    named: dict[str, set[str]] = {}
    full: dict[str, set[tuple[str, str]]] = {}  # (first, last) as written, for swapped names
    for group, first, hint, last in zip(group_of, frame["first_name"], hints, lasts, strict=True):
        named.setdefault(group, set()).update(given_name_candidates(first, hint))
        if isinstance(first, str) and first and isinstance(last, str) and last:
            full.setdefault(group, set()).add((first, last))
    stated: dict[str, set[str]] = {}  # "field=value" of the conclusive fields
    for field in conclusive:
        for group, value in zip(group_of, frame[field], strict=True):
            if isinstance(value, str) and value:
                stated.setdefault(group, set()).add(f"{field}={value}")

    def refused(a: str, b: str) -> bool:
        if not given_names_conflict(named.get(a, ()), named.get(b, ()), below):
            return False
        if stated.get(a, set()) & stated.get(b, set()):
            return False
        return not any(names_swapped(x, y, below) for x in full.get(a, ()) for y in full.get(b, ()))

    left = pairs["record_key_l"].map(group_of)
    right = pairs["record_key_r"].map(group_of)
    conflict[:] = [refused(a, b) for a, b in zip(left, right, strict=True)]
    return conflict


def _blocking_rules(columns: list[str], masked_only: set[str]) -> list[Any]:
    """One Splink rule per block column; those in `masked_only` also need a masked side."""
    from splink import block_on
    from splink.blocking_rule_library import CustomRule

    return [
        CustomRule(f"l.{c} = r.{c} and (l.full_phone is null or r.full_phone is null)")
        if c in masked_only
        else block_on(c)
        for c in columns
    ]


def _run_splink(
    splink_input: pd.DataFrame,
    fields: list[str],
    blocking_rules: list[Any],
    deterministic: list[str],
    labelled: int,
    settings: MatchSettings,
    stats: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Train (prior, u, m), smooth, score; all inside one DuckDB connection closed after."""
    from splink import DuckDBAPI, Linker, SettingsCreator

    n = len(splink_input)
    comparisons = _comparisons(fields)
    fallback_prior = 1.0 / (n - 1)
    con = duckdb.connect(":memory:")
    try:
        db_api = DuckDBAPI(connection=con)
        creator = SettingsCreator(
            link_type="dedupe_only",
            unique_id_column_name="record_key",
            comparisons=[c for _, c in comparisons],
            blocking_rules_to_generate_predictions=blocking_rules,
            probability_two_random_records_match=fallback_prior,
            retain_matching_columns=False,
            retain_intermediate_calculation_columns=False,
            linker_uid="lakecdp_person",
        )
        linker = Linker(splink_input, creator, db_api=db_api, set_up_basic_logging=False)

        seconds = stats["seconds"]
        started = time.perf_counter()
        prior = _estimate_prior(linker, deterministic, "full_phone" in fields)
        stats["prior_estimation"] = "deterministic_rules" if prior else "fallback"
        stats["prior"] = prior or fallback_prior
        seconds["prior"] = round(time.perf_counter() - started, 3)

        started = time.perf_counter()
        linker.training.estimate_u_using_random_sampling(
            max_pairs=settings.max_pairs_for_u, seed=settings.seed
        )
        seconds["u"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        _estimate_m(linker, splink_input, [f for f, _ in comparisons], labelled, settings, stats)
        seconds["m"] = round(time.perf_counter() - started, 3)

        sampled_pairs = min(settings.max_pairs_for_u, n * (n - 1) // 2)
        model = linker.misc.save_model_to_json()
        model["probability_two_random_records_match"] = stats["prior"]
        model = _smooth_model(model, u_floor=0.5 / max(sampled_pairs, 1))

        started = time.perf_counter()
        scorer = Linker(splink_input, model, db_api=db_api, set_up_basic_logging=False)
        predictions = scorer.inference.predict()
        table = predictions.physical_name
        stats["blocked_comparisons"] = con.sql(f"select count(*) from {table}").fetchall()[0][0]
        pairs = con.sql(
            f"select record_key_l, record_key_r, match_probability from {table} "
            f"where match_probability >= {float(settings.threshold)!r}"
        ).df()
        seconds["predict"] = round(time.perf_counter() - started, 3)
    finally:
        con.close()
    pairs["match_probability"] = pairs["match_probability"].astype("float64")
    return pairs, model
