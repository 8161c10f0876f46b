"""Progress that suits where it goes: a tqdm bar on a terminal, plain periodic lines in a log file.

A tqdm bar redirected to a file writes a carriage-return frame per update, and nested bars add cursor-movement
codes, so a `make demo > log` held thousands of unreadable lines. `tqdm(...)` here is a drop-in for
`tqdm.auto.tqdm`: on a terminal it is tqdm itself; otherwise a tqdm subclass that prints one plain line
(`[desc] 120/811 15% 3.2 it/s, 38 s`) at most every `LOG_INTERVAL` seconds and one when it closes.
`quiet_library_bars()` turns the libraries' own bars (transformers, huggingface_hub) off when not on a terminal.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from tqdm import tqdm as _tqdm
from tqdm.auto import tqdm as _auto_tqdm

LOG_INTERVAL = 30.0  # seconds between two progress lines in a log


def interactive(stream: Any = None) -> bool:
    """Whether progress goes to a terminal (`SEAEMBED_PROGRESS=lines|bar` overrides)."""
    forced = os.environ.get("SEAEMBED_PROGRESS", "")
    if forced in ("bar", "lines"):
        return forced == "bar"
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


class LineProgress(_tqdm):
    """tqdm that prints whole lines: the first update, then at most one per `LOG_INTERVAL` seconds, and the end."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("file", sys.stderr)
        kwargs["mininterval"] = kwargs.get("mininterval") or 0.0
        self._last_line = None
        self._last_n = -1
        super().__init__(*args, **kwargs)

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        now = time.monotonic()
        finished = self.total is not None and self.n >= self.total
        if self._last_line is not None and not finished and now - self._last_line < LOG_INTERVAL:
            return True
        if self.n == 0 and not finished:  # tqdm draws an empty bar on creation: nothing to say yet
            return True
        if self.n == self._last_n:  # said already (e.g. the last update, then close)
            return True
        self._last_line, self._last_n = now, self.n
        d = self.format_dict
        rate = d.get("rate") or (self.n / d["elapsed"] if d.get("elapsed") else 0.0)
        total = f"/{self.total:,}" if self.total else ""
        share = f" {100 * self.n / self.total:.0f}%" if self.total else ""
        line = (f"[{self.desc or 'progress'}] {self.n:,}{total}{share} {rate:.1f} {self.unit}/s, "
                f"{d.get('elapsed', 0):.0f} s")
        self.fp.write(line + "\n")
        self.fp.flush()
        return True

    def close(self) -> None:
        if self.disable:
            return
        if self._last_line is not None or self.n:
            self._last_line = None  # always print the closing line
            self.display()
        self.disable = True  # tqdm's own close would redraw the bar


def tqdm(*args: Any, **kwargs: Any) -> _tqdm:
    """A progress bar on a terminal, plain lines otherwise (same arguments as tqdm)."""
    if kwargs.get("disable"):
        return _tqdm(*args, **kwargs)
    return _auto_tqdm(*args, **kwargs) if interactive(kwargs.get("file")) else LineProgress(*args, **kwargs)


def quiet_library_bars() -> None:
    """Off with transformers' and huggingface_hub's own bars when progress goes to a log (their frames are noise)."""
    if interactive():
        return
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass
