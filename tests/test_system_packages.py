import subprocess
import sys

from seaembed import system_packages


def test_missing_packages_are_named_with_what_they_add_and_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(system_packages, "OPTIONAL", system_packages.OPTIONAL[:1] + (
        system_packages.SystemPackage("FreeDict eng-ind", "apt-get install x", "code-switching",
                                      path=tmp_path / "none.index"),))
    lines = system_packages.describe()
    assert len(lines) == 2 and all(line.lstrip().startswith("missing") for line in lines)
    assert "apt-get install apertium apertium-ind-zlm" in lines[0] and "translate" in lines[0]


def test_a_present_program_is_reported_found(monkeypatch, tmp_path):
    exe = tmp_path / "apertium"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert system_packages.describe()[0].lstrip().startswith("found    apertium")


def test_module_prints_the_table():
    done = subprocess.run([sys.executable, "-m", "seaembed.system_packages"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "apertium" in done.stdout and "chromium" in done.stdout
