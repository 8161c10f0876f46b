"""Screenshot an HTML report (e.g. report.html of `seaembed eval`) in Debian's headless chromium.

    python scripts/screenshot_report.py OUTDIR/report.html docs/images/eval_report.png [--height 2000]

Uses the flags that keep chromium quiet on a machine with no outside network, and a fresh profile directory.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    """Path of a chromium binary, or None."""
    for c in CHROMIUM_CANDIDATES:
        path = shutil.which(c)
        if path:
            return path
    return None


def screenshot(html: str | Path, png: str | Path, *, width: int = 1280, height: int = 2000,
               timeout: float = 120) -> Path:
    """Render `html` (a local file) to `png` with headless chromium; returns the PNG path."""
    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("chromium not found (Debian: apt-get install chromium)")
    html, png = Path(html).resolve(), Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    if png.exists():
        png.unlink()
    with tempfile.TemporaryDirectory(prefix="seaembed-chromium-") as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", f"--user-data-dir={profile}", f"--screenshot={png}",
               f"--window-size={width},{height}", html.as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if not png.is_file():
        raise RuntimeError(f"chromium wrote no screenshot (exit {proc.returncode}): {proc.stderr[-800:]}")
    return png


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html")
    ap.add_argument("png")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=2000)
    args = ap.parse_args()
    print(screenshot(args.html, args.png, width=args.width, height=args.height))


if __name__ == "__main__":
    main()
