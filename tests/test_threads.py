"""seaembed.threads: CPUs from affinity and cgroup quota, the passive OpenMP environment set before torch loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from seaembed import threads


def test_cgroup_v2_quota_caps_available_cpus(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert threads.cgroup_cpu_limit(tmp_path) == 1.5
    assert threads.available_cpus(tmp_path) == min(2, len(os.sched_getaffinity(0)))
    (tmp_path / "cpu.max").write_text("50000 100000\n")
    assert threads.available_cpus(tmp_path) == 1  # half a CPU still gets one thread


def test_cgroup_unlimited_and_v1(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert threads.cgroup_cpu_limit(tmp_path) is None
    assert threads.available_cpus(tmp_path) == len(os.sched_getaffinity(0))
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert threads.cgroup_cpu_limit(v1) == 1.0
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert threads.cgroup_cpu_limit(v1) is None


def _run(code: str, env: dict) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in threads.THREAD_ENV and k != "SEAEMBED_SPIN"}
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-c", code], env={**base, **env, "PYTHONPATH": root},
                         capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cli_import_sets_passive_env_and_thread_count_before_torch() -> None:
    """Importing the entry point configures the environment; torch loaded afterwards uses the chosen count."""
    code = ("import json, sys; import seaembed.cli; assert 'torch' not in sys.modules, 'cli imported torch';"
            "import torch; from seaembed.threads import describe; print(json.dumps(describe()))")
    d = _run(code, {"SEAEMBED_THREADS": "1"})
    assert d["env"]["OMP_WAIT_POLICY"] == "PASSIVE" and d["env"]["KMP_BLOCKTIME"] == "0"
    assert d["env"]["OMP_NUM_THREADS"] == "1" and d["torch_threads"] == 1
    assert d["configured_by_seaembed"] is True


def test_user_settings_win_and_spin_opt_out() -> None:
    code = ("import json; from seaembed.threads import configure; print(json.dumps(configure()))")
    d = _run(code, {"OMP_NUM_THREADS": "1", "SEAEMBED_SPIN": "1"})
    assert d["intra_op_threads"] == 1 and d["env"]["OMP_WAIT_POLICY"] is None
    d = _run(code, {"OMP_WAIT_POLICY": "ACTIVE"})
    assert d["env"]["OMP_WAIT_POLICY"] == "ACTIVE"
    assert d["intra_op_threads"] == threads.available_cpus()
