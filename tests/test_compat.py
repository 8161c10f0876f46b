"""The startup check names a known-bad library combination in one line (transformers that refuses the peft)."""

import subprocess
import sys

import pytest
from packaging.version import Version

from seaembed import compat
from seaembed.errors import SeaembedError


def _versions(monkeypatch, peft: str, transformers: str, needed: str):
    found = {"peft": Version(peft), "transformers": Version(transformers)}
    monkeypatch.setattr(compat, "installed_version", found.get)
    monkeypatch.setattr(compat, "transformers_min_peft", lambda: Version(needed))


def test_transformers_that_refuses_the_installed_peft_is_named(monkeypatch):
    _versions(monkeypatch, "0.21.2", "5.24.0", "0.22.0")
    problem = compat.peft_problem()
    assert problem is not None and "\n" not in problem
    assert "transformers 5.24.0 needs peft >= 0.22.0" in problem and "peft 0.21.2" in problem
    assert "constraints.txt" in problem
    with pytest.raises(SeaembedError, match="needs peft >= 0.22.0"):
        compat.require_peft()


def test_a_compatible_pair_passes(monkeypatch):
    _versions(monkeypatch, "0.21.2", "5.23.0", "0.20.0")
    assert compat.peft_problem() is None and compat.environment_problems() == []
    compat.require_peft()


def test_min_peft_is_read_from_the_installed_transformers():
    import importlib

    for name in ("transformers.utils.peft_utils", "transformers.integrations.peft"):
        needed = getattr(importlib.import_module(name), "MIN_PEFT_VERSION", None)
        if needed:
            break
    assert needed and compat.transformers_min_peft() == Version(needed)


def test_this_install_is_not_a_known_bad_combination():
    """`make install` uses the lock: the suite runs on a combination that the check accepts."""
    assert compat.environment_problems() == []


def test_the_cli_warns_in_one_line_at_startup(tmp_path):
    # a sitecustomize that makes the installed transformers look like one that needs a newer peft
    (tmp_path / "sitecustomize.py").write_text(
        "import seaembed.compat as c\nfrom packaging.version import Version\n"
        "c.transformers_min_peft = lambda: Version('99.0')\n", encoding="utf-8")
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "seaembed.cli", "--help"], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "needs peft >= 99.0" in warnings[0]
