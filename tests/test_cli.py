"""The `seaembed` entry point: every stage is registered; user errors are one line with exit status 2."""

from __future__ import annotations

import subprocess
import sys


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seaembed.cli", *args], capture_output=True, text=True)


def test_help_lists_every_stage():
    proc = _run("--help")
    assert proc.returncode == 0
    for command in ("model", "encode", "data", "train", "merge", "eval", "export", "index", "serve", "run"):
        assert command in proc.stdout


def test_usage_error_exits_2_without_traceback():
    proc = _run("encode", "--bogus")
    assert proc.returncode == 2
    assert "No such option" in proc.stderr and "Traceback" not in proc.stderr


def test_user_error_is_one_line(tmp_path):
    proc = _run("encode", "--model", "x", "--input", str(tmp_path / "missing.txt"), "--output", str(tmp_path / "o.npy"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {tmp_path / 'missing.txt'}: no such file"
