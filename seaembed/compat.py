"""Known-bad combinations of installed libraries, named in one line before they fail deep inside a stage.

pip resolves each library's declared ranges, but some libraries check a neighbour's version only at run time
(transformers refuses peft below its `MIN_PEFT_VERSION` the moment a LoRA adapter is added). `make install`
avoids these with the tested lock `constraints.txt`; a user who installs with plain pip gets this check instead.
Only package metadata and source text are read here, nothing is imported, so the check costs milliseconds.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from pathlib import Path

from packaging.version import InvalidVersion, Version

from seaembed.errors import SeaembedError

FIX = "run `make install` (it installs the tested lock constraints.txt) or pin the older library"


def installed_version(name: str) -> Version | None:
    """The installed version of distribution `name`, or None when it is absent or unparsable."""
    try:
        return Version(importlib.metadata.version(name))
    except (importlib.metadata.PackageNotFoundError, InvalidVersion):
        return None


def transformers_min_peft() -> Version | None:
    """The lowest peft that the installed transformers accepts (its `MIN_PEFT_VERSION`), read from its source."""
    spec = importlib.util.find_spec("transformers")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    for rel in ("utils/peft_utils.py", "integrations/peft.py"):
        path = root / rel
        if path.exists():
            m = re.search(r'^MIN_PEFT_VERSION\s*=\s*["\']([^"\']+)["\']', path.read_text(encoding="utf-8"), re.M)
            if m:
                return Version(m.group(1))
    return None


def peft_problem() -> str | None:
    """Why LoRA cannot work with the installed transformers and peft, in one line, or None."""
    peft, transformers = installed_version("peft"), installed_version("transformers")
    needed = transformers_min_peft()
    if peft is None or transformers is None or needed is None or peft >= needed:
        return None
    return (f"transformers {transformers} needs peft >= {needed}, but peft {peft} is installed, so LoRA "
            f"training and adapter merging fail; {FIX}")


def environment_problems() -> list[str]:
    """Every known-bad combination in this environment, one line each."""
    return [p for p in (peft_problem(),) if p]


def require_peft() -> None:
    """Raise a one-line `SeaembedError` when LoRA cannot work with the installed transformers and peft."""
    problem = peft_problem()
    if problem:
        raise SeaembedError(problem)


def main() -> int:
    """`python -m seaembed.compat`: print each known-bad combination; exit 1 when there is one."""
    import sys

    problems = environment_problems()
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
