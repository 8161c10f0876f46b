"""Apertium (Debian `apertium` + `apertium-ind-zlm`): rule-based Indonesian <-> Malay, fully offline.

Texts go through one `apertium -u <pair>` process per batch, one text a line (apertium keeps line breaks).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from seaembed.errors import SeaembedError

# Our codes -> apertium's (ISO 639-3).
APERTIUM_CODES = {"id": "ind", "ms": "zlm", "en": "eng", "jv": "jav"}


def apertium_pairs() -> set[str]:
    """The language pairs installed (e.g. {"ind-zlm", "zlm-ind"}); empty when apertium is absent."""
    exe = shutil.which("apertium")
    if exe is None:
        return set()
    try:
        out = subprocess.run([exe, "-l"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return set()
    return {line.strip() for line in out.splitlines() if line.strip()}


class ApertiumTranslator:
    """Translator over the `apertium` command."""

    def __init__(self, *, timeout: float = 300.0):
        self.exe = shutil.which("apertium")
        if self.exe is None:
            raise SeaembedError("the apertium backend needs Debian's apertium and apertium-ind-zlm "
                                "(apt-get install apertium apertium-ind-zlm)")
        self.pairs = apertium_pairs()
        self.timeout = timeout
        self.name = "apertium"

    def _pair(self, src: str, tgt: str) -> str:
        return f"{APERTIUM_CODES.get(src, src)}-{APERTIUM_CODES.get(tgt, tgt)}"

    def supports(self, src: str, tgt: str) -> bool:
        return self._pair(src, tgt) in self.pairs

    def _run(self, pair: str, lines: list[str]) -> list[str]:
        proc = subprocess.run([self.exe, "-u", pair], input="\n".join(lines) + "\n", capture_output=True,
                              text=True, timeout=self.timeout)
        if proc.returncode != 0:
            raise SeaembedError(f"apertium {pair} failed: {proc.stderr.strip()[:200]}")
        return proc.stdout.rstrip("\n").split("\n") if lines else []

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        pair = self._pair(src, tgt)
        if pair not in self.pairs:
            raise SeaembedError(f"apertium has no {pair} pair installed (have: {sorted(self.pairs)})")
        lines = [" ".join(t.split()) for t in texts]  # one text a line
        out = self._run(pair, lines)
        if len(out) != len(lines):  # a text apertium split or merged: translate one by one
            out = [self._run(pair, [line])[0] if line else "" for line in lines]
        return [o.strip() for o in out]
