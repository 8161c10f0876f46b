"""Load YAML configs into pydantic models, with errors that name the file and the field.

Each stage keeps its own settings model next to its code (e.g. `seaembed.train.config.TrainConfig`); this module
holds the shared loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from seaembed.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def load_yaml(path: str | Path) -> dict:
    """Parse a YAML mapping; a missing file or bad YAML gives a `ConfigError` naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: invalid YAML ({getattr(e, 'problem', e)})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def validate(model: type[M], data: dict, *, source: str = "config") -> M:
    """Validate `data` into `model`; errors list each bad field as `source: field.path: message`."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        lines = [f"{source}: {'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in e.errors()]
        raise ConfigError("invalid config\n  " + "\n  ".join(lines)) from None


def load_config(model: type[M], path: str | Path, *, section: str | None = None) -> M:
    """Load a YAML file (or one top-level `section` of it) into a pydantic model; relative paths stay as written."""
    data = load_yaml(path)
    if section is not None:
        data = data.get(section, {}) or {}
    return validate(model, data, source=str(path) + (f" [{section}]" if section else ""))
