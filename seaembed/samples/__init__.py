"""The bundled sample data and dev tasks (built by `scripts/build_samples.py`; see README.md and ATTRIBUTION.md).

    from seaembed.samples import sample_path, task_dirs
    sample_path("catalog.jsonl")          # Path to the bundled catalog
    task_dirs("domain")                   # the e-commerce dev task directories
"""

from __future__ import annotations

import json
from importlib.resources import as_file, files
from pathlib import Path

# general-touched: general tasks one of whose sources also feeds a training file (kept, but no guard)
GROUPS = ("domain", "general", "general-touched")


def samples_dir() -> Path:
    """The directory holding the samples (the package data of `seaembed.samples`)."""
    # The package ships as plain files (setuptools package-data), so the resource is a real path; as_file would
    # only copy for zipped installs, which the data files could not be used from anyway.
    with as_file(files(__name__)) as p:
        return Path(p)


def sample_path(name: str) -> Path:
    """Path to a bundled sample file or folder, e.g. "catalog.jsonl", "labels/smsa_sentiment.jsonl", "tasks"."""
    path = samples_dir() / name
    if not path.exists():
        available = sorted(p.name for p in samples_dir().iterdir() if not p.name.startswith(("_", ".")))
        raise FileNotFoundError(f"{path}: no such bundled sample (available: {', '.join(available)})")
    return path


def task_dirs(group: str | None = None) -> list[Path]:
    """The bundled dev task directories, sorted by name; `group` (one of GROUPS) keeps only that group."""
    if group is not None and group not in GROUPS:
        raise ValueError(f"group must be one of {', '.join(GROUPS)} or None; got {group!r}")
    out = []
    for meta_path in sorted(sample_path("tasks").glob("*/task.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if group is None or meta.get("group") == group:
            out.append(meta_path.parent)
    return out


__all__ = ["GROUPS", "sample_path", "samples_dir", "task_dirs"]
