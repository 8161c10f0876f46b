"""Atomic writes: an artifact is either absent or complete, never half-written.

The standard library has `os.replace` (atomic on one filesystem) but no helper that wraps it for files and
directories, so these few lines are ours.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path` in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; the artifact gets an ordinary file's mode
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def check_writable(path: str | Path) -> None:
    """Fail early, before long work, when `path` (a file or directory to be created or replaced, the way the
    helpers here do: beside it, in its parent) cannot be written: the nearest existing ancestor of its parent must
    be a writable directory (probed by creating and removing a temporary file, which also catches read-only mounts
    that `os.access` misses) with some free space. Raises `OutputError`."""
    from seaembed.errors import OutputError

    path = Path(path)
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(path, f"{parent} is not a directory")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".seaembed-write-check.", dir=parent)
        os.close(fd)
        os.unlink(tmp)
        free = shutil.disk_usage(parent).free
    except OSError as e:
        raise OutputError.from_os_error(path, e) from None
    if free == 0:
        raise OutputError(path, "no space left on device")


def write_text(path: str | Path, text: str) -> Path:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | Path, obj: Any) -> Path:
    """Write JSON (UTF-8, indented) atomically."""
    return write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def write_results(stem: str | Path, report: Any, markdown: str) -> Path:
    """A benchmark's or experiment's `stem.json` (the numbers) and `stem.md` (the table a reader sees), each
    written atomically; returns the markdown's path."""
    stem = Path(stem)
    write_json(stem.with_name(stem.name + ".json"), report)
    return write_text(stem.with_name(stem.name + ".md"), markdown)


def write_jsonl(path: str | Path, rows: Iterable[Any]) -> int:
    """Write one JSON object a line, atomically; returns the number of rows."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            if hasattr(row, "model_dump"):
                row = row.model_dump()
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def write_text_set(out_dir: str | Path, files: dict[str, str]) -> dict[str, Path]:
    """Write several text files into `out_dir` as one set: all or none.

    Every file is first written to a temporary file beside its target; only when all of them were written (a full
    disk fails here, before any target changed) are they renamed into place, one `os.replace` each."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    umask = os.umask(0)
    os.umask(umask)
    temps: dict[str, Path] = {}
    try:
        for name, text in files.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
            os.close(fd)
            temps[name] = Path(tmp)
            temps[name].write_text(text, encoding="utf-8")
            os.chmod(temps[name], 0o666 & ~umask)
        for name, tmp in temps.items():
            os.replace(tmp, out / name)
    finally:
        for tmp in temps.values():
            if tmp.exists():
                tmp.unlink()
    return {name: out / name for name in files}


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary directory beside `path`; on success it replaces `path` (and any old copy) in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; the artifact gets an ordinary directory's mode
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
