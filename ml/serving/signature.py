"""Does a model's signature fit the feature service it is served from?

Read from the model's MLmodel file as plain data, so the decision endpoint checks a champion
before it swaps it in without importing MLflow, and the promotion gate refuses the same models
with the same words. The rule: every input the model names must be a feature of its service, of
a floating type (features arrive as doubles, a missing one as NaN); a model may use fewer
features than its service serves.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FLOAT_TYPES = ("double", "float")


class SignatureMismatch(ValueError):
    """The model's inputs cannot be fed from its feature service; the message says which."""


@dataclass(frozen=True)
class InputCheck:
    inputs: tuple[str, ...]  # what the model reads, in its signature's order
    unused: tuple[str, ...]  # features the service serves that the model ignores


def signature_inputs(mlmodel: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The column specs of an MLmodel's input signature ([] when it has none)."""
    raw = (mlmodel.get("signature") or {}).get("inputs")
    if not raw:
        return []
    parsed = json.loads(raw) if isinstance(raw, str) else raw
    return list(parsed)


def check_inputs(
    mlmodel: Mapping[str, Any], features: Sequence[str], service: str, model: str
) -> InputCheck:
    """The model's inputs if its signature fits `features` (the service's), else
    SignatureMismatch naming every problem."""
    columns = signature_inputs(mlmodel)
    if not columns:
        raise SignatureMismatch(
            f"{model} has no input signature: log it with one (mlflow.models.infer_signature "
            f"on a frame of {service}'s features) so it can be checked and served"
        )
    unnamed = [c for c in columns if not c.get("name")]
    if unnamed:
        raise SignatureMismatch(
            f"{model}'s signature is tensor-based (unnamed inputs): the platform feeds named "
            f"columns, {service}'s features"
        )
    names = [str(c["name"]) for c in columns]
    problems = []
    missing = [n for n in names if n not in features]
    if missing:
        problems.append(f"needs inputs {service} does not serve: {', '.join(missing)}")
    wrong = [f"{c['name']} ({c.get('type')})" for c in columns if c.get("type") not in FLOAT_TYPES]
    if wrong:
        problems.append(
            f"inputs not typed double: {', '.join(wrong)} (features arrive as doubles and a "
            "missing one as NaN: infer the signature from a float64 frame)"
        )
    if problems:
        raise SignatureMismatch(
            f"{model} does not fit feature service {service}: " + "; ".join(problems)
        )
    return InputCheck(tuple(names), tuple(f for f in features if f not in names))
