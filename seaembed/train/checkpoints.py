"""Checkpoints that survive `kill -9`, and the log of which examples each optimizer step consumed.

- A checkpoint directory counts only once it holds the `.complete` marker, written after the trainer finished
  saving it; an interrupted save is ignored (and removed) on resume.
- `examples_seen.jsonl` gets one line per optimizer step ({"step", "epoch", "rank", "ids", "candidates"}), flushed and
  fsynced before the step's checkpoint is written. On resume from step S the lines after S (steps whose updates were
  lost with the killed process) are moved to `examples_discarded.jsonl` and the log is rewritten atomically, so the
  log lists exactly the steps that shaped the final model.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from seaembed.atomic import write_text

COMPLETE_MARKER = ".complete"
_CKPT = re.compile(r"^checkpoint-(\d+)$")


def checkpoint_step(path: Path) -> int | None:
    m = _CKPT.match(path.name)
    return int(m.group(1)) if m else None


def latest_complete_checkpoint(root: Path, *, clean_incomplete: bool = True) -> Path | None:
    """The highest-step complete checkpoint under `root` (incomplete ones are removed when asked)."""
    if not root.is_dir():
        return None
    best: tuple[int, Path] | None = None
    for d in root.iterdir():
        step = checkpoint_step(d)
        if step is None or not d.is_dir():
            continue
        if not (d / COMPLETE_MARKER).exists():
            if clean_incomplete:
                shutil.rmtree(d, ignore_errors=True)
            continue
        if best is None or step > best[0]:
            best = (step, d)
    return best[1] if best else None


def mark_complete(path: Path) -> None:
    """Mark a checkpoint directory as completely written (fsynced)."""
    marker = path / COMPLETE_MARKER
    with open(marker, "w") as f:
        f.write("ok\n")
        f.flush()
        os.fsync(f.fileno())


def log_name(rank: int) -> str:
    return "examples_seen.jsonl" if rank == 0 else f"examples_seen.rank{rank}.jsonl"


class ExamplesSeenLog:
    """Append-only, fsynced log of the example ids consumed per optimizer step."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> list[dict]:
        """All complete lines (a line torn by a kill is ignored)."""
        if not self.path.exists():
            return []
        rows = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return rows

    def truncate_to(self, step: int) -> int:
        """Keep the entries of steps <= `step`; move the rest to examples_discarded.jsonl. Returns how many moved."""
        rows = self.read()
        keep = [r for r in rows if r["step"] <= step]
        drop = [r for r in rows if r["step"] > step]
        if drop:
            discarded = self.path.with_name(self.path.name.replace("examples_seen", "examples_discarded"))
            with open(discarded, "a", encoding="utf-8") as f:
                for r in drop:
                    f.write(json.dumps({**r, "discarded_at_resume_from": step}) + "\n")
        write_text(self.path, "".join(json.dumps(r) + "\n" for r in keep))
        return len(drop)

    def reset(self) -> None:
        if self.path.exists():
            self.path.unlink()

    def append(self, entry: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
            os.fsync(f.fileno())


# -- resume keyed by content -----------------------------------------------------------------------------------
FINGERPRINT_FILE = "train_fingerprint.json"
# settings that change neither which examples a step consumes nor the update it makes: a resume may change them
RESUME_FREE = {"resume", "output_dir", "dev_file", "dev_max_queries", "eval_steps", "logging_steps",
               "checkpoint_steps", "save_total_limit", "dataloader_num_workers", "torch_threads", "device"}


def _sha1(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run_fingerprint(config: Any) -> dict[str, Any]:
    """What a resumed run must share with the run that wrote its checkpoints: the train files' content (not their
    paths), the base model's weights (`seaembed.models.fingerprint`) and every setting outside `RESUME_FREE`."""
    from seaembed.errors import SeaembedError
    from seaembed.models.fingerprint import model_fingerprint

    try:
        model = model_fingerprint(str(config.model))
    except (SeaembedError, OSError):  # not resolvable without loading (e.g. a hub id): key by its name
        model = f"source:{config.model}"
    settings = {k: v for k, v in config.model_dump(mode="json").items()
                if k not in RESUME_FREE and k not in ("model", "train_files")}
    return {"train_files": [{"name": Path(p).name, "sha1": _sha1(Path(p))} for p in config.train_files],
            "model_weights": model, "settings": settings}


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    out = []
    if [f["sha1"] for f in old.get("train_files", [])] != [f["sha1"] for f in new["train_files"]]:
        was = ", ".join(f["name"] for f in old.get("train_files", []))
        now = ", ".join(f["name"] for f in new["train_files"])
        out.append(f"train_files content ({was} -> {now})" if was != now else f"train_files content ({now})")
    if old.get("model_weights") != new["model_weights"]:
        out.append(f"the base model's weights ({old.get('model_weights')} -> {new['model_weights']})")
    s_old, s_new = old.get("settings", {}), new["settings"]
    for key in sorted(set(s_old) | set(s_new)):
        if s_old.get(key) != s_new.get(key):
            out.append(f"{key} ({json.dumps(s_old.get(key))} -> {json.dumps(s_new.get(key))})")
    return out


def resume_mismatch(config: Any, fingerprint: dict[str, Any] | None = None) -> list[str]:
    """What changed since the checkpoints `config` would resume from were written ([] when nothing did, or when
    there is nothing to resume). A caller that owns the decision (the pipeline, whose stage key already changed)
    can start over on a non-empty answer instead of stopping."""
    out = Path(config.output_dir)
    stored_path = out / FINGERPRINT_FILE
    resuming = config.resume and latest_complete_checkpoint(out / "checkpoints", clean_incomplete=False) is not None
    if not (resuming and stored_path.is_file()):
        return []
    return _changes(json.loads(stored_path.read_text(encoding="utf-8")), fingerprint or run_fingerprint(config))


def check_resume(config: Any) -> dict[str, Any]:
    """Before a run loads data and model: when it would resume from a checkpoint written with other train files,
    another base model or other settings, raise a `ConfigError` naming what changed (and how to start over);
    otherwise record this run's fingerprint in `output_dir` (rank 0). Returns the fingerprint."""
    from seaembed.errors import ConfigError

    out = Path(config.output_dir)
    fingerprint = run_fingerprint(config)
    changed = resume_mismatch(config, fingerprint)
    if changed:
        raise ConfigError(f"{out}: cannot resume, the checkpoints were written with other data or settings; "
                          f"changed: {'; '.join(changed)}. Train with --restart to start over (the "
                          "checkpoints are discarded)")
    if int(os.environ.get("RANK", "0")) == 0:
        write_text(out / FINGERPRINT_FILE, json.dumps(fingerprint, indent=2) + "\n")
    return fingerprint
