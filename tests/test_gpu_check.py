"""scripts/gpu_check.sh and its Python parts, on CPU: the script fails loudly without a GPU; the parity/speed,
HTTP and DDP-training code runs with the tiny model (torch bf16 stands in for vLLM, gloo for NCCL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import gpu_check  # noqa: E402


def test_script_fails_loudly_without_a_gpu(tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "nvidia-smi").write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    (fake / "nvidia-smi").chmod(0o755)
    out = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), str(tmp_path / "venv")],
                         env={**os.environ, "PATH": f"{fake}:/usr/bin:/bin"}, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 1
    assert "GPU CHECK FAILED: no NVIDIA GPU" in out.stderr
    assert not (tmp_path / "venv").exists()  # failed before installing anything
    text = (ROOT / "scripts" / "gpu_check.sh").read_text()
    assert "set -euo pipefail" in text and "--variant fp8" in text and "--dist-backend nccl" in text


def test_cuda_asked_without_a_gpu_is_an_error(tiny_model_dir: Path, tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is here")
    with pytest.raises(SystemExit) as e:
        gpu_check.main(["serve", "--variant", "bf16", "--model", str(tiny_model_dir), "--out", str(tmp_path)])
    assert e.value.code == 1


def test_serve_check_on_cpu_writes_parity_speed_and_http(tiny_model_dir: Path, tmp_path: Path) -> None:
    row = gpu_check.serve_check(str(tiny_model_dir), "torch-bf16", "cpu", 24, tmp_path)
    saved = json.loads((tmp_path / "serve-torch-bf16.json").read_text())
    assert saved == row and row["n_texts"] == 24 and row["texts_per_s"] > 0 and row["torch_fp32_texts_per_s"] > 0
    assert 0.99 <= row["cosine_mean"] <= 1.0001 and row["http_cosine"] >= 0.99


def test_parity_below_the_gate_fails(tiny_model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(gpu_check.MIN_COSINE, "torch-bf16", 1.01)
    with pytest.raises(SystemExit):
        gpu_check.serve_check(str(tiny_model_dir), "torch-bf16", "cpu", 8, tmp_path)


def test_ddp_training_under_torchrun_and_the_report(tiny_model_dir: Path, tmp_path: Path) -> None:
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([str(torchrun), "--nproc-per-node", "1", str(ROOT / "scripts" / "gpu_check.py"), "train",
                          "--dist-backend", "gloo", "--device", "cpu", "--steps", "2", "--model", str(tiny_model_dir),
                          "--out", str(tmp_path)], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    train = json.loads((tmp_path / "train.json").read_text())
    assert train["world_size"] == 1 and train["all_reduce_world"] == 1 and len(train["losses"]) == 2
    assert train["max_weight_change"] > 0
    with pytest.raises(SystemExit):  # serve parts missing: the report fails, it does not write a partial table
        gpu_check.report(tmp_path, tmp_path / "res")
    for v in ("bf16", "fp8"):
        (tmp_path / f"serve-{v}.json").write_text(json.dumps({
            "variant": v, "gpu": "test", "model": "m", "n_texts": 4, "cosine_mean": 0.999, "cosine_min": 0.99,
            "http_cosine": 0.999, "texts_per_s": 10.0, "torch_fp32_texts_per_s": 5.0, "x_vs_torch_fp32": 2.0}))
    text = gpu_check.report(tmp_path, tmp_path / "res")
    assert "| fp8 | 0.99900 |" in text and (tmp_path / "res.json").is_file()
