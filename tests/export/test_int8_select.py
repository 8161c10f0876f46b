"""onnx-int8 export: every int8 variant is timed here and the fastest one within the cosine gate is kept."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from seaembed.export import int8_select


def test_auto_int8_records_the_measurement_and_keeps_the_fastest_passing(int8_dir: Path) -> None:
    meta = json.loads((int8_dir / "seaembed_export.json").read_text(encoding="utf-8"))
    sel = meta["int8_selection"]
    assert meta["int8_variant"] == sel["chosen"]
    names = [r["variant"]["name"] for r in sel["candidates"]]
    assert names == [v.name for v in int8_select.VARIANTS]
    built = [r for r in sel["candidates"] if "error" not in r]
    assert built, sel
    passing = [r for r in built if r["cosine_mean"] >= sel["min_cosine_mean"]]
    if passing:
        assert sel["chosen"] == max(passing, key=lambda r: r["texts_per_s"])["variant"]["name"]
    assert sel["threads"]["intra_op_threads"] >= 1 and "loadavg" in sel["threads"]
    assert not (int8_dir / "int8_candidates").exists() and not list(int8_dir.glob("*.fp32.onnx"))


def test_selection_gates_on_cosine(monkeypatch, tmp_path: Path) -> None:
    """A faster variant below the cosine gate loses to a slower one above it; nothing passing keeps the most
    faithful and says so."""
    names = ("fast-bad", "slow-good")
    drift = {"fast-bad": 0.5, "slow-good": 0.0}

    def fake_quantize(src, dst, v):
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
