"""Paths in the configuration: local folders and object-store URIs handled alike.

A field typed `LocalPath` is a location that a relative value in `lakecdp.yaml` means relative
to the file's folder, not to whatever folder a command happens to start in. The type, not a
list of keys, marks such fields, so a new path field cannot be forgotten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo

# Key of the validation context that holds the configuration file's folder.
CONFIG_DIR = "config_dir"


def join_path(base: str, *parts: str) -> str:
    """Join path parts for local folders and object-store URIs alike."""
    out = base.rstrip("/")
    for part in parts:
        out = f"{out}/{part.strip('/')}"
    return out


def is_absolute(path: str) -> bool:
    """An absolute local path or a URI (`s3a://...`): nothing to resolve."""
    return path.startswith("/") or "://" in path


def _resolve_against_config_dir(value: str, info: ValidationInfo) -> str:
    # No context (a model built in code, not from a file): there is no folder to resolve against.
    config_dir = (info.context or {}).get(CONFIG_DIR)
    if config_dir is None or is_absolute(value):
        return value
    return str((Path(config_dir) / value).resolve())


LocalPath = Annotated[str, AfterValidator(_resolve_against_config_dir)]
"""A local folder or object-store URI; relative values are relative to the configuration file
when validated with `context={CONFIG_DIR: <its folder>}` (what `load_config` does)."""
