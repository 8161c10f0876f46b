"""Checkpoints that survive `kill -9`, and the log of which examples each optimizer step consumed.

- A checkpoint directory counts only once it holds the `.complete` marker, written after the trainer finished
  saving it; an interrupted save is ignored (and removed) on resume.
- `examples_seen.jsonl` gets one line per optimizer step ({"step", "epoch", "rank", "ids", "candidates"}), flushed and
  fsynced before the step's checkpoint is written. On resume from step S the lines after S (steps whose updates were
  lost with the killed process) are moved to `examples_discarded.jsonl` and the log is rewritten atomically, so the
  log lists exactly the steps that shaped the final model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

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
