"""`encoding_format` of `/v1/embeddings`: float and base64 (OpenAI) and the quantised int8, uint8, binary and ubinary
(as infinity and sentence-transformers name them), through sentence-transformers' `quantize_embeddings`.

int8/uint8 need a range per dimension. Ranges taken from the request's own vectors would make a text's codes depend
on what it was sent with (and a 1-text request has no range at all), so the server calibrates once, on a fixed
calibration set embedded on first use: `calibration_texts()` (bundled catalog titles with the passage prompt and
bundled queries with the query prompt) unless the settings give other texts. The ranges are the per-dimension min
and max over that set (what `quantize_embeddings(calibration_embeddings=...)` computes), per output size
(`dimensions` truncates and renormalises first); values outside are clipped to the end codes. binary/ubinary need no
calibration: one bit per dimension (> 0), packed 8 to a byte (big-endian bit order, `np.packbits`; binary is the
packed byte minus 128 as int8), so a 384-d vector gives 48 values.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources

import numpy as np

FLOAT_FORMATS = ("float", "base64")
QUANTIZED_FORMATS = ("int8", "uint8", "binary", "ubinary")
FORMATS = FLOAT_FORMATS + QUANTIZED_FORMATS
CALIBRATION_PER_KIND = 200  # titles and queries each: 400 vectors, enough for a stable min/max on 384 dims


def calibration_texts(n: int = CALIBRATION_PER_KIND) -> list[tuple[str, str]]:
    """The default calibration set: `(text, prompt)` pairs, the first `n` bundled catalog titles as passages and the
    first `n` bundled queries as queries (fixed files, fixed order: the same ranges on every start)."""
    samples = resources.files("seaembed.samples")
    out: list[tuple[str, str]] = []
    for name, field, prompt in (("catalog.jsonl", "title", "passage"), ("queries.jsonl", "query", "query")):
        lines = samples.joinpath(name).read_text(encoding="utf-8").splitlines()
        texts = [json.loads(line)[field] for line in lines if line.strip()]
        out += [(t, prompt) for t in texts[:n]]
    return out


def renormalised_prefix(vectors: np.ndarray, dims: int | None) -> np.ndarray:
    """Keep the first `dims` components and renormalise (Matryoshka-style)."""
    if dims is None or dims >= vectors.shape[1]:
        return vectors
    cut = vectors[:, :dims]
    return cut / np.maximum(np.linalg.norm(cut, axis=1, keepdims=True), 1e-12)


class Quantizer:
    """Calibrated quantisation of embeddings. `embed(texts, prompt)` is how the calibration set gets embedded
    (the server's engine); calibration runs once, on the first int8/uint8 request, under a lock."""

    def __init__(self, embed: Callable[[list[str], str | None], Awaitable[np.ndarray]],
                 texts: Sequence[tuple[str, str | None]] | None = None) -> None:
        self._embed = embed
        self._texts = list(texts) if texts is not None else None
        self._calibration: np.ndarray | None = None
        self._ranges: dict[int | None, np.ndarray] = {}
        self._lock = asyncio.Lock()

    async def calibration(self) -> np.ndarray:
        """The calibration set's full-size vectors (embedded on first call)."""
        async with self._lock:
            if self._calibration is None:
                texts = self._texts if self._texts is not None else calibration_texts()
                parts = []
                for prompt in dict.fromkeys(p for _, p in texts):
                    parts.append(await self._embed([t for t, p in texts if p == prompt], prompt))
                self._calibration = np.concatenate(parts).astype(np.float32)
            return self._calibration

    async def ranges(self, dims: int | None) -> np.ndarray:
        """Per-dimension `[min; max]` (shape (2, d)) of the calibration set at output size `dims`."""
        if dims not in self._ranges:
            cal = renormalised_prefix(await self.calibration(), dims)
            self._ranges[dims] = np.vstack([cal.min(axis=0), cal.max(axis=0)])
        return self._ranges[dims]

    async def encode(self, vectors: np.ndarray, fmt: str, dims: int | None) -> list:
        """One JSON value per row of `vectors` (already truncated to `dims`) in format `fmt`."""
        if fmt == "base64":
            return [base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode("ascii") for v in vectors]
        if fmt == "float":
            return np.asarray(vectors, dtype=np.float32).tolist()
        from sentence_transformers.quantization import quantize_embeddings

        ranges = await self.ranges(dims) if fmt in ("int8", "uint8") else None
        return quantize_embeddings(np.asarray(vectors, dtype=np.float32), precision=fmt, ranges=ranges).tolist()
