"""The base of every section model of `lakecdp.yaml`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Unknown keys are refused, so a typo fails at load instead of being silently ignored;
    frozen, because a loaded configuration is read by every component and changed by none."""

    model_config = ConfigDict(extra="forbid", frozen=True)
