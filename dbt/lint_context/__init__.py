"""sqlfluff's jinja context: `var()` answers with the defaults in dbt_project.yml, so models
that loop over configured lists (identifier types, consent purposes) lint as they compile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_VARS: dict[str, Any] = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "dbt_project.yml").read_text()
)["vars"]


def var(name: str, default: Any = None) -> Any:
    return _VARS.get(name, default)
