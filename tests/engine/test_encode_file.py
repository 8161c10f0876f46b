"""`seaembed encode` goes through the index's sharded path: one shard of texts a call, an interrupted run's shards
kept and a rerun encoding only the missing ones, the dtype in the shard key, `--ray` without Ray one line."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import seaembed.models.encode as encode_module
from seaembed.models.encode import encode

TITLES = ["Sepatu Running Pria Ringan Sol Karet", "รองเท้าวิ่งผู้ชาย น้ำหนักเบา", "Giày chạy bộ nam siêu nhẹ",
          "Wireless Bluetooth Earbuds Noise Cancelling", "Kasut Larian Lelaki Ringan", "Minyak Goreng Sawit 2L",
          "Tas Ransel Laptop 15 inch Waterproof"]
# 14 texts of varied length (so a length sort that leaked into the output order would show): shards of 4 rows
TEXTS = [f"{t} {'x ' * i}{i}" for i, t in enumerate(TITLES * 2)]


class Recorder:
    """Stands in for `seaembed.models.encode.encode`: records each call's texts; the `fail_on_call`-th raises."""

    def __init__(self, fail_on_call: int | None = None):
        self.real, self.calls, self.fail_on_call = encode, [], fail_on_call

    def __call__(self, model, texts, **kw):
        self.calls.append(list(texts))
        if self.fail_on_call is not None and len(self.calls) >= self.fail_on_call:
            raise RuntimeError("simulated interruption")
        return self.real(model, texts, **kw)


def _input(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "title": t}, ensure_ascii=False) + "\n" for i, t in enumerate(TEXTS)),
                   encoding="utf-8")
    return src


def _args(model, src, out, *extra):
    return ("encode", "--model", str(model), "--input", str(src), "--output", str(out), "--field", "title",
            "--prompt", "passage", "--chunk-size", "4", "--no-progress", *extra)


def test_interrupted_encode_keeps_its_shards_and_a_rerun_encodes_only_the_rest(tiny_model_dir, tiny_model, tmp_path,
                                                                               monkeypatch, seaembed_cli):
    src, out = _input(tmp_path), tmp_path / "vec.npy"
    failing = Recorder(fail_on_call=3)
    monkeypatch.setattr(encode_module, "encode", failing)
    with pytest.raises(RuntimeError, match="simulated interruption"):
        seaembed_cli(*_args(tiny_model_dir, src, out))
    assert failing.calls == [TEXTS[0:4], TEXTS[4:8], TEXTS[8:12]]  # one shard a call, never the whole file
    manifest = json.loads((tmp_path / "vec.npy.partial" / "shards" / "manifest.json").read_text())
    assert [(e["start"], e["stop"]) for e in manifest["shards"]] == [(0, 4), (4, 8)] and not out.exists()

    resumed = Recorder()
    monkeypatch.setattr(encode_module, "encode", resumed)
    code, stdout, err = seaembed_cli(*_args(tiny_model_dir, src, out))
    assert code == 0, err
    assert resumed.calls == [TEXTS[8:12], TEXTS[12:14]]  # only shards 2 and 3
    assert "14 x 32 embeddings" in stdout and "4 shards: 2 encoded, 2 kept from an earlier run" in stdout
    assert not (tmp_path / "vec.npy.partial").exists()
    np.testing.assert_allclose(np.load(out), encode(tiny_model, TEXTS, prompt="passage"), atol=1e-5)  # row order


def test_bad_input_leaves_no_work_directory_and_the_dtype_is_part_of_the_key(tiny_model_dir, tmp_path,
                                                                              seaembed_cli):
    from seaembed.engine.shards import model_key

    src = tmp_path / "in.txt"
    src.write_text("ok\n\nthree\n", encoding="utf-8")
    code, _, err = seaembed_cli("encode", "--model", str(tiny_model_dir), "--input", str(src), "--output",
                                str(tmp_path / "v.npy"))
    assert code == 2 and "in.txt:2: empty line" in err
    assert not (tmp_path / "v.npy").exists() and not (tmp_path / "v.npy.partial").exists()
    fp32 = model_key("w", "torch-fp32", None)
    assert model_key("w", "torch", None, dtype="float32") == fp32  # keys written before the dtype stay valid
    assert model_key("w", "torch", None, dtype="bfloat16") == {**fp32, "dtype": "bfloat16"}


def test_empty_input_writes_an_empty_array(tiny_model_dir, tmp_path, seaembed_cli):
    src = tmp_path / "in.txt"
    src.write_text("", encoding="utf-8")
    code, stdout, err = seaembed_cli("encode", "--model", str(tiny_model_dir), "--input", str(src), "--output",
                                     str(tmp_path / "v.npy"), "--no-progress")
    assert code == 0, err
    assert np.load(tmp_path / "v.npy").shape == (0, 32) and not (tmp_path / "v.npy.partial").exists()


def test_encode_ray_flag_without_ray_is_one_line_exit_2(tiny_model_dir, tmp_path, monkeypatch, seaembed_cli):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    src, out = _input(tmp_path), tmp_path / "vec.npy"
    code, _, err = seaembed_cli(*_args(tiny_model_dir, src, out, "--ray", "--ray-workers", "2"))
    lines = [ln for ln in err.splitlines() if not ln.startswith("warning:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("error: --ray needs Ray Data, and 'ray' is not installed: pip install 'ray[data]'")
    assert not out.exists() and not (tmp_path / "vec.npy.partial").exists()
    code, _, err = seaembed_cli(*_args(tiny_model_dir, src, out, "--ray-address", "auto"))
    assert code == 2 and "--ray-workers and --ray-address go with --ray" in err
