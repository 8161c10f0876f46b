"""Stage-by-stage execution with resume: a stage whose config and inputs are unchanged is skipped.

Each finished stage leaves `DIR/stages/<name>.json` with its fingerprint and outputs. The fingerprint hashes the
stage's settings and the content fingerprints of its input paths, so editing a config value or an input file
re-runs that stage and everything downstream of it (their inputs change), while an interrupted run picks up at the
first stage that did not finish. Workflow engines (Make, DVC, Snakemake) do this too, but pulling one in for six
in-process stages would cost more than these few lines.
"""

from __future__ import annotations

import hashlib
import json
import resource
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seaembed.atomic import write_json


def path_fingerprint(path: str | Path) -> str:
    """A content hash of a file or directory tree (names, sizes and bytes; large files sampled)."""
    path = Path(path)
    h = hashlib.sha1()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        rel = p.relative_to(path).as_posix() if path.is_dir() else p.name
        if rel.startswith(".") or "/." in rel:
            continue
        size = p.stat().st_size
        h.update(f"{rel}\0{size}\0".encode())
        with open(p, "rb") as f:
            if size <= 8 << 20:
                h.update(f.read())
            else:  # sample 1 MiB at 8 places: enough to see a retrained or re-merged weight file
                for k in range(8):
                    f.seek(size * k // 8)
                    h.update(f.read(1 << 20))
    return h.hexdigest()


def fingerprint(settings: Any, inputs: Mapping[str, str | Path | None]) -> str:
    """Fingerprint of a stage: its settings (JSON-able) and the content of its input paths."""
    h = hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode())
    for name in sorted(inputs):
        value = inputs[name]
        h.update(name.encode())
        if value is not None and Path(value).exists():
            h.update(path_fingerprint(value).encode())
        else:
            h.update(str(value).encode())
    return h.hexdigest()


def release_free_memory() -> bool:
    """Collect garbage and hand glibc's freed heap back to the OS (`malloc_trim(0)`); False where there is no glibc.

    Training frees gigabytes of activations of varying shapes each step; glibc keeps them on its heap, so without a
    trim the process's RSS only grows, and the next stage starts from the last one's high-water mark. No library
    exposes malloc_trim, hence ctypes.
    """
    import ctypes
    import gc

    gc.collect()
    try:
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0)) or True
    except (OSError, AttributeError):
        return False


def reset_peak_rss() -> bool:
    """Reset this process's peak resident set size (Linux: `5` to /proc/self/clear_refs); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> float:
    """This process's peak resident set size since start or the last `reset_peak_rss`, in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux/BSD report KiB


def children_peak_rss_mib() -> float:
    """The largest peak resident set size of any finished child process, in MiB."""
    return round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)


@dataclass
class StageResult:
    """What a stage left behind: named output paths and a few numbers worth printing."""

    outputs: dict[str, str]
    summary: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False


class StageRunner:
    """Runs named stages in order under `out_dir`, skipping those already done with the same fingerprint."""

    def __init__(self, out_dir: str | Path, *, log: Callable[[str], None] = print):
        self.out_dir = Path(out_dir)
        self.state_dir = self.out_dir / "stages"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log = log
        self.results: dict[str, StageResult] = {}

    def run(self, name: str, fn: Callable[[], StageResult], *, settings: Any,
            inputs: Mapping[str, str | Path | None]) -> StageResult:
        """Run stage `name` unless a previous run finished it with the same fingerprint and its outputs exist."""
        fp = fingerprint(settings, inputs)
        state_file = self.state_dir / f"{name}.json"
        if state_file.exists():
            state = json.loads(state_file.read_text(encoding="utf-8"))
            outputs_exist = all(Path(p).exists() for p in state.get("outputs", {}).values() if p)
            if state.get("fingerprint") == fp and outputs_exist:
                self.log(f"[{name}] unchanged since the last run: skipped")
                result = StageResult(state["outputs"], state.get("summary", {}), skipped=True)
                self.results[name] = result
                return result
        self.log(f"[{name}] running")
        release_free_memory()  # a stage starts from what it needs, not from the previous stage's freed heap
        exact = reset_peak_rss()  # else the peak is the process's so far, an upper bound on the stage's
        children_before = children_peak_rss_mib()
        start = time.perf_counter()
        result = fn()
        seconds = round(time.perf_counter() - start, 1)
        result.summary.setdefault("seconds", seconds)
        result.summary["peak_rss_mib"] = peak_rss_mib()
        if not exact:
            result.summary["peak_rss_is_process_peak"] = True
        children = children_peak_rss_mib()
        if children > children_before:
            result.summary["children_peak_rss_mib"] = children
        write_json(state_file, {"fingerprint": fp, "outputs": result.outputs, "summary": result.summary,
                                "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S")})
        self.log(f"[{name}] done in {seconds:.0f}s, peak RSS {result.summary['peak_rss_mib']:,.0f} MiB")
        self.results[name] = result
        return result
