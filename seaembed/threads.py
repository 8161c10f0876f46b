"""CPU threads for torch / onnxruntime: how many CPUs this process may really use, and an OpenMP wait policy that
does not burn a shared machine.

Two problems on a shared box (#15 item 12): torch sizes its intra-op pool from the machine's core count, not from
the CPUs this process is allowed (affinity mask, cgroup `cpu.max` quota), and its bundled OpenMP (libgomp in the
pip wheels) lets idle worker threads spin-wait, so two jobs on 2 cores steal each other's cycles spinning.
`configure()` fixes both; it must run before torch is imported (OpenMP reads its environment once, at load), which
is why the `seaembed` entry point calls it first. Nothing here imports torch.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

# libgomp (torch's bundled OpenMP on Linux) honours OMP_WAIT_POLICY and GOMP_SPINCOUNT; KMP_BLOCKTIME is the
# Intel/LLVM OpenMP spelling (MKL/oneDNN builds linked against libiomp). PASSIVE: idle threads sleep at once.
PASSIVE_ENV = {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "0", "KMP_BLOCKTIME": "0"}
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME",
              "SEAEMBED_THREADS")
_configured: dict | None = None


def cgroup_cpu_limit(root: str | Path = "/sys/fs/cgroup") -> float | None:
    """CPUs allowed by the cgroup quota (`cpu.max` on cgroup v2, `cpu.cfs_quota_us` on v1); None when unlimited."""
    root = Path(root)
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def available_cpus(cgroup_root: str | Path = "/sys/fs/cgroup") -> int:
    """CPUs this process can use: its affinity mask, capped by the cgroup quota (rounded up, at least 1)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    limit = cgroup_cpu_limit(cgroup_root)
    if limit is not None:
        n = min(n, max(1, math.ceil(limit - 1e-9)))
    return max(1, n)


def intra_op_threads() -> int:
    """The intra-op thread count to use: $SEAEMBED_THREADS, else $OMP_NUM_THREADS, else `available_cpus()`."""
    for var in ("SEAEMBED_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return available_cpus()


def configure(*, passive: bool | None = None) -> dict:
    """Set the thread environment before torch loads (existing values win: the user's settings are kept):
    OMP_NUM_THREADS/MKL_NUM_THREADS = `intra_op_threads()`, and the passive wait policy unless
    $SEAEMBED_SPIN=1 (or `passive=False`). If torch is already imported, also sizes its pool. Returns `describe()`."""
    global _configured
    threads = intra_op_threads()
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    os.environ.setdefault("MKL_NUM_THREADS", str(threads))
    if passive is None:
        passive = os.environ.get("SEAEMBED_SPIN", "") != "1"
    if passive:
        for key, value in PASSIVE_ENV.items():
            os.environ.setdefault(key, value)
    import sys

    if "torch" in sys.modules:  # too late for the OpenMP environment, not for the pool size
        sys.modules["torch"].set_num_threads(threads)
    _configured = {"threads": threads, "passive": passive}
    return describe()


def describe() -> dict:
    """The thread settings in effect, for run.json and benchmark results: CPUs (affinity, cgroup quota, count),
    the intra-op threads chosen, the relevant environment, and torch's pool size if torch is loaded."""
    import sys

    try:
        affinity = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = None
    out = {
        "cpu_count": os.cpu_count(),
        "affinity_cpus": affinity,
        "cgroup_cpu_limit": cgroup_cpu_limit(),
        "available_cpus": available_cpus(),
        "intra_op_threads": intra_op_threads(),
        "configured_by_seaembed": _configured is not None,
        "env": {k: os.environ.get(k) for k in THREAD_ENV},
        "loadavg": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        out["torch_threads"] = torch.get_num_threads()
        out["torch_interop_threads"] = torch.get_num_interop_threads()
    return out
