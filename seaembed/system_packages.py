"""The optional system (Debian) packages: what each adds, and whether this machine has it.

Nothing in the embedded default needs one: without them `seaembed run` builds, trains, evaluates and serves,
and says in one line which step it left out. `python -m seaembed.system_packages` prints the table (`make demo`
does, before the run).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from seaembed.augment.translate.dictionary import DEFAULT_INDEX


@dataclass(frozen=True)
class SystemPackage:
    """One optional system package: how to find it and what it adds."""

    name: str
    install: str
    helps: str
    program: str | None = None
    path: Path | None = None

    def present(self) -> bool:
        if self.program is not None:
            return shutil.which(self.program) is not None
        return self.path is not None and self.path.exists()


OPTIONAL = (
    SystemPackage("apertium", "apt-get install apertium apertium-ind-zlm",
                  "Indonesian -> Malay translation in the default data build (translate stage)", program="apertium"),
    SystemPackage("FreeDict eng-ind", "apt-get install dict-freedict-eng-ind",
                  "English -> Indonesian code-switching (translate backend `dictionary`)", path=DEFAULT_INDEX),
    SystemPackage("chromium", "apt-get install chromium",
                  "the report screenshot and the search-page browser tests", program="chromium"),
)


def describe() -> list[str]:
    """One line per optional package: found, or what it would add and how to install it."""
    lines = []
    for pkg in OPTIONAL:
        if pkg.present():
            lines.append(f"  found    {pkg.name}: {pkg.helps}")
        else:
            lines.append(f"  missing  {pkg.name}: would add {pkg.helps} ({pkg.install}, or `make system-deps`)")
    return lines


def main() -> None:
    print("Optional system packages (none is needed by the default run):")
    print("\n".join(describe()))


if __name__ == "__main__":
    main()
