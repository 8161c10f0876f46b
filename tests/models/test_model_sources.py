"""Model sources: local sentence-transformers dir, plain Hugging Face dir, hub id offline, packaged cache reuse."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from seaembed.errors import ConfigError, ModelSourceError
from seaembed.models import ensure_packaged, load_model, packaged_dir, resolve_model_dir
from seaembed.models.encode import encode

TEXTS = ["sepatu lari pria", "รองเท้าวิ่ง", "giày chạy bộ nam", "running shoes"]


def plain_hf_copy(st_dir: Path, out: Path) -> Path:
    """A plain Hugging Face directory (config, weights, tokenizer) taken from a sentence-transformers dir."""
    out.mkdir(parents=True)
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(st_dir / name, out / name)
    return out


def test_local_sentence_transformers_dir(tiny_model_dir: Path, tiny_model) -> None:
    assert resolve_model_dir(str(tiny_model_dir)) == tiny_model_dir
    model = load_model(str(tiny_model_dir))
    got = encode(model, TEXTS, prompt="query")
    want = tiny_model.encode(TEXTS, prompt_name="query", normalize_embeddings=True)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_plain_hf_dir_is_wrapped_with_mean_pooling_and_normalize(tiny_model_dir: Path, tiny_model, tmp_path: Path) -> None:
    hf = plain_hf_copy(tiny_model_dir, tmp_path / "hf")
    model = load_model(str(hf))
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Transformer", "Pooling", "Normalize"]
    assert model[1].pooling_mode == "mean"
    got = encode(model, TEXTS)
    np.testing.assert_allclose(got, tiny_model.encode(TEXTS, normalize_embeddings=True), atol=1e-5)


def test_hub_id_offline_gives_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    with pytest.raises(ModelSourceError) as err:
        load_model("intfloat/multilingual-e5-small")
    msg = str(err.value)
    assert "intfloat/multilingual-e5-small" in msg and "HF_HUB_OFFLINE" in msg
    assert "packaged:multilingual-e5-small" in msg


def test_hub_id_found_in_offline_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model_dir: Path) -> None:
    """With HF_HUB_OFFLINE, a hub id already in the HF cache resolves to the cached snapshot (the real code path)."""
    cache = tmp_path / "hub"
    snap = cache / "models--acme--tiny" / "snapshots" / ("0" * 40)
    shutil.copytree(tiny_model_dir, snap)
    (cache / "models--acme--tiny" / "refs").mkdir()
    (cache / "models--acme--tiny" / "refs" / "main").write_text("0" * 40)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(cache))
    assert resolve_model_dir("acme/tiny") == snap


@pytest.mark.parametrize(
    ("source", "message"),
    [("./no/such/dir", "no such model directory"), ("/nope/model", "no such model directory"),
     ("", "empty model source"), ("packaged:bert-huge", "unknown packaged model 'bert-huge'"),
     ("not a hub id!", "no such model directory")],
)
def test_bad_sources(source: str, message: str) -> None:
    with pytest.raises(ModelSourceError, match=message):
        resolve_model_dir(source)


def test_file_and_non_model_dir_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ModelSourceError, match="is a file"):
        resolve_model_dir(str(tmp_path / "weights.bin"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelSourceError, match="not a model directory"):
        resolve_model_dir(str(tmp_path / "empty"))


def test_broken_weights_give_model_source_error(tiny_model_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ModelSourceError, match="cannot load the model"):
        load_model(str(broken))


def test_dtype_option(tiny_model_dir: Path) -> None:
    import torch

    model = load_model(str(tiny_model_dir), dtype="bfloat16")
    assert next(model.parameters()).dtype == torch.bfloat16
    out = encode(model, TEXTS)
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    with pytest.raises(ConfigError, match="unknown dtype 'int3'"):
        load_model(str(tiny_model_dir), dtype="int3")


def _fake_builder(calls: list[int], delay: float = 0.0):
    def build(out_dir: Path, *, progress: bool = True) -> Path:
        calls.append(1)
        time.sleep(delay)
        (Path(out_dir) / "modules.json").write_text("[]")
        from seaembed.atomic import write_json
        from seaembed.models.packaged import BUILD_FORMAT, BUILD_INFO

        write_json(Path(out_dir) / BUILD_INFO, {"format": BUILD_FORMAT})
        return Path(out_dir)

    return build


def test_packaged_cache_is_built_once_and_reused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from seaembed.models import packaged

    monkeypatch.setenv("SEAEMBED_HOME", str(tmp_path / "home"))
    calls: list[int] = []
    monkeypatch.setattr(packaged, "build_e5_small", _fake_builder(calls, delay=0.3))
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(ensure_packaged(progress=False))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1]  # three concurrent callers, one build (file lock)
    assert results == [packaged_dir()] * 3 == [tmp_path / "home" / "models" / "multilingual-e5-small"] * 3
    assert resolve_model_dir("packaged:multilingual-e5-small") == packaged_dir()
    assert calls == [1]
    assert not [p for p in packaged_dir().parent.iterdir() if p.name.endswith(".tmp")]


def test_incomplete_cache_is_rebuilt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from seaembed.models import packaged

    monkeypatch.setenv("SEAEMBED_HOME", str(tmp_path / "home"))
    packaged_dir().mkdir(parents=True)
    (packaged_dir() / "model.safetensors").write_bytes(b"half")  # a copy without its build record
    calls: list[int] = []
    monkeypatch.setattr(packaged, "build_e5_small", _fake_builder(calls))
    ensure_packaged(progress=False)
    assert calls == [1]
    assert not (packaged_dir() / "model.safetensors").exists()


def test_failed_build_leaves_no_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from seaembed.models import packaged

    monkeypatch.setenv("SEAEMBED_HOME", str(tmp_path / "home"))

    def explode(out_dir: Path, *, progress: bool = True) -> Path:
        (Path(out_dir) / "model.safetensors").write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(packaged, "build_e5_small", explode)
    with pytest.raises(KeyboardInterrupt):
        ensure_packaged(progress=False)
    assert not packaged_dir().exists()
    assert not [p for p in packaged_dir().parent.iterdir() if p.name.endswith(".tmp")]


def test_unwritable_home_gives_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "home"
    blocker.write_text("a file where the cache directory should go")
    monkeypatch.setenv("SEAEMBED_HOME", str(blocker))
    from seaembed.errors import ModelSourceError as MSE

    with pytest.raises(MSE, match="cannot write the packaged model to .*set SEAEMBED_HOME"):
        ensure_packaged(progress=False)
