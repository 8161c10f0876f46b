"""onnx-int8 export: every int8 variant is timed here and the fastest one within the cosine gate is kept."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from seaembed.export import int8_select


def test_auto_int8_records_the_measurement_and_keeps_the_first_passing(int8_dir: Path) -> None:
    meta = json.loads((int8_dir / "seaembed_export.json").read_text(encoding="utf-8"))
    sel = meta["int8_selection"]
    assert meta["int8_variant"] == sel["chosen"]
    names = [r["variant"]["name"] for r in sel["candidates"]]
    assert names == list(int8_select.AUTO_CANDIDATES[:len(names)]) and names
    built = [r for r in sel["candidates"] if "error" not in r]
    assert built, sel
    passing = [r for r in built if r["cosine_mean"] >= sel["min_cosine_mean"]]
    if passing:  # the search stopped at the first faithful variant
        assert sel["chosen"] == names[-1] == passing[0]["variant"]["name"] and len(passing) == 1
    else:
        assert len(names) == len(int8_select.AUTO_CANDIDATES)
    assert sel["threads"]["intra_op_threads"] >= 1 and "loadavg" in sel["threads"]
    assert not (int8_dir / "int8_candidates").exists() and not list(int8_dir.glob("*.fp32.onnx"))


def test_keep_ffn_out_leaves_the_down_projections_in_float(tmp_path: Path, onnx_dir: Path) -> None:
    """The fidelity variants quantise less: the FFN down-projections (keep-ffn-out) or the embedding tables
    (matmul-only) stay fp32, and the rest is int8 as in the plain variant."""
    import collections

    import onnx

    def ops(name: str) -> tuple[collections.Counter, list[str]]:
        v = next(v for v in int8_select.VARIANTS if v.name == name)
        out = tmp_path / f"{name}.onnx"
        int8_select.quantize(onnx_dir / "model.onnx", out, v)
        g = onnx.load(str(out)).graph
        return collections.Counter(n.op_type for n in g.node), [n.name for n in g.node if n.op_type == "MatMul"]

    plain, plain_float = ops("per-channel")
    keep, keep_float = ops("per-channel-keep-ffn-out")
    mm_only, _ = ops("per-channel-matmul-only")
    ffn_out = [n for n in keep_float if n.endswith("/output/dense/MatMul") and "attention" not in n]
    assert len(ffn_out) == 2 and not any(n in plain_float for n in ffn_out)  # 2 layers in the tiny model
    assert keep["MatMulInteger"] == plain["MatMulInteger"] - 2
    assert plain["DequantizeLinear"] > 0 and mm_only["DequantizeLinear"] == 0  # Gather tables left in float
    assert mm_only["MatMulInteger"] == plain["MatMulInteger"]


def test_stop_at_first_pass_builds_no_more_variants(monkeypatch, tmp_path: Path) -> None:
    built: list[str] = []

    def fake_quantize(src, dst, v, calibration=None):
        built.append(v.name)
        Path(dst).write_text(v.name)

    monkeypatch.setattr(int8_select, "quantize", fake_quantize)
    monkeypatch.setattr(int8_select, "_session", lambda path, threads: Path(path).read_text())
    monkeypatch.setattr(int8_select, "_batches", lambda tok, texts: [])
    good = np.eye(4, dtype=np.float32)
    bad = np.roll(good, 1, axis=1)
    monkeypatch.setattr(int8_select, "_embed", lambda s, b: bad if s == "bad" else good)
    monkeypatch.setattr(int8_select, "time_session", lambda run, repeats=3: (run(), 0.1)[1])
    (tmp_path / "fp32.onnx").write_text("ref")
    variants = [int8_select.Variant(n) for n in ("bad", "good", "also-good")]
    out = int8_select.select_int8(tmp_path / "fp32.onnx", tmp_path / "m.onnx", None, timing_texts=["a"],
                                  parity_texts=["b"], variants=variants, stop_at_first_pass=True)
    assert built == ["bad", "good"] and out["chosen"] == "good" and out["passed_parity"]
    assert (tmp_path / "m.onnx").read_text() == "good"
    built.clear()
    out = int8_select.select_int8(tmp_path / "fp32.onnx", tmp_path / "m2.onnx", None, timing_texts=["a"],
                                  parity_texts=["b"], variants=variants)
    assert built == ["bad", "good", "also-good"]


def test_selection_gates_on_cosine(monkeypatch, tmp_path: Path) -> None:
    """A faster variant below the cosine gate loses to a slower one above it; nothing passing keeps the most
    faithful and says so."""
    names = ("fast-bad", "slow-good")
    drift = {"fast-bad": 0.5, "slow-good": 0.0}

    def fake_quantize(src, dst, v, calibration=None):
        Path(dst).write_text(v.name)

    class FakeSession:
        def __init__(self, name):
            self.name = name

    def fake_session(path, threads):
        return FakeSession(Path(path).read_text() if Path(path).suffix == ".onnx" and Path(path).exists() and
                           Path(path).read_text() in names else "ref")

    rng = np.random.default_rng(0)
    base = rng.normal(size=(8, 4)).astype(np.float32)

    def fake_embed(session, batches):
        if session.name == "ref":
            return base / np.linalg.norm(base, axis=1, keepdims=True)
        noisy = base + drift[session.name] * rng.normal(size=base.shape).astype(np.float32) * 3
        return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)

    monkeypatch.setattr(int8_select, "quantize", fake_quantize)
    monkeypatch.setattr(int8_select, "_session", fake_session)
    monkeypatch.setattr(int8_select, "_batches", lambda tok, texts: [])
    monkeypatch.setattr(int8_select, "_embed", fake_embed)
    times = iter([0.2, 0.01, 0.1])  # fp32, fast-bad, slow-good
    monkeypatch.setattr(int8_select, "time_session", lambda run, repeats=3: (run(), next(times))[1])
    (tmp_path / "fp32.onnx").write_text("ref")
    variants = [int8_select.Variant("fast-bad"), int8_select.Variant("slow-good")]
    out = int8_select.select_int8(tmp_path / "fp32.onnx", tmp_path / "model.onnx", None, timing_texts=["a"] * 10,
                                  parity_texts=["b"], variants=variants)
    assert out["chosen"] == "slow-good" and out["passed_parity"]
    assert (tmp_path / "model.onnx").read_text() == "slow-good"
    fast = next(r for r in out["candidates"] if r["variant"]["name"] == "fast-bad")
    assert fast["texts_per_s"] > 10 * 5 and fast["cosine_mean"] < 0.99
    times = iter([0.2, 0.01])
    monkeypatch.setattr(int8_select, "time_session", lambda run, repeats=3: (run(), next(times))[1])
    out = int8_select.select_int8(tmp_path / "fp32.onnx", tmp_path / "model2.onnx", None, timing_texts=["a"],
                                  parity_texts=["b"], variants=variants[:1])
    assert out["chosen"] == "fast-bad" and out["passed_parity"] is False


def test_named_variant_and_unknown_variant(tiny_model_dir: Path, tmp_path: Path) -> None:
    import pytest

    from seaembed.errors import ConfigError
    from seaembed.export.export import export

    out = export(tiny_model_dir, "onnx-int8", tmp_path / "e", int8_variant="per-tensor", parity=False)
    meta = json.loads((out / "seaembed_export.json").read_text(encoding="utf-8"))
    assert meta["int8_variant"] == "per-tensor" and "int8_selection" not in meta
    with pytest.raises(ConfigError, match="unknown int8 variant"):
        export(tiny_model_dir, "onnx-int8", tmp_path / "f", int8_variant="nope", parity=False)
