"""Sharded, resumable embedding output (seaembed.engine.shards): keys by content, resume, pruning, any order."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seaembed.engine.shards import ShardStore, encode_to_shards, iter_shards, model_key, shard_key

KEY = model_key("weights-a", "torch-fp32", "passage")


def _vec(text: str) -> np.ndarray:
    """A deterministic stand-in vector of a text."""
    return np.random.default_rng(sum(map(ord, text))).normal(size=4).astype(np.float32)


class FakeEncoder:
    """Records the shards it is asked for; yields them in reverse order of a window (as Ray may), and can fail."""

    def __init__(self, fail_after: int | None = None, window: int = 2):
        self.encoded: list[list[str]] = []
        self.fail_after, self.window = fail_after, window

    def __call__(self, shards):
        buf = []
        for shard in shards:
            buf.append(shard)
            if len(buf) == self.window:
                yield from self._flush(buf)
                buf = []
        yield from self._flush(buf)

    def _flush(self, buf):
        for shard in reversed(buf):
            if self.fail_after is not None and len(self.encoded) >= self.fail_after:
                raise RuntimeError("simulated interruption")
            self.encoded.append(shard.texts)
            yield shard, np.stack([_vec(t) for t in shard.texts])


def test_keys_depend_on_texts_and_model_not_on_anything_else():
    assert shard_key(["a", "b"], KEY) == shard_key(["a", "b"], dict(KEY))
    assert shard_key(["a", "b"], KEY) != shard_key(["a", "c"], KEY)
    assert shard_key(["ab", ""], KEY) != shard_key(["a", "b"], KEY)  # texts are length-prefixed
    assert shard_key(["a"], KEY) != shard_key(["a"], model_key("weights-b", "torch-fp32", "passage"))
    assert shard_key(["a"], KEY) == shard_key(["a"], model_key("weights-a", "torch", "passage"))  # family only
    assert [(s.index, s.start, s.stop) for s in iter_shards("abcdefg", 3, KEY)] == [(0, 0, 3), (1, 3, 6), (2, 6, 7)]


def test_interrupt_then_resume_encodes_only_the_missing_shards(tmp_path):
    texts = [f"t{i}" for i in range(10)]
    store = ShardStore(tmp_path / "s")
    with pytest.raises(RuntimeError, match="simulated"):
        encode_to_shards(iter_shards(texts, 3, KEY), store, FakeEncoder(fail_after=2), key=KEY)
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    # window 2 came back reversed: shard 1 then 0 landed before the failure
    assert [(e["index"], e["start"], e["stop"]) for e in manifest["shards"]] == [(0, 0, 3), (1, 3, 6)]
    assert [e["key"] for e in manifest["shards"]] == [shard_key(texts[:3], KEY), shard_key(texts[3:6], KEY)]
    assert manifest["complete"] is False and manifest["dim"] == 4
    np.testing.assert_array_equal(np.load(tmp_path / "s" / manifest["shards"][1]["file"]),
                                  np.stack([_vec(t) for t in texts[3:6]]))

    enc = FakeEncoder()
    stats = encode_to_shards(iter_shards(texts, 3, KEY), ShardStore(tmp_path / "s"), enc, key=KEY)
    assert enc.encoded == [texts[9:], texts[6:9]] and (stats.encoded, stats.skipped) == (2, 2)
    store = ShardStore(tmp_path / "s")
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["complete"] is True and manifest["rows"] == 10 and manifest["model"]["model_weights"] == "weights-a"
    assert len(manifest["shards"]) == 4


def test_changed_text_reencodes_its_shard_only_and_a_shorter_catalog_prunes(tmp_path):
    texts = [f"t{i}" for i in range(9)]
    root = tmp_path / "s"
    encode_to_shards(iter_shards(texts, 3, KEY), ShardStore(root), FakeEncoder(), key=KEY)
    changed = texts[:4] + ["new"] + texts[5:]
    enc = FakeEncoder()
    store = ShardStore(root)
    encode_to_shards(iter_shards(changed, 3, KEY), store, enc, key=KEY)
    assert enc.encoded == [changed[3:6]]
    np.testing.assert_array_equal(store.assemble(tmp_path / "all.npy"), np.stack([_vec(t) for t in changed]))
    assert len(list(root.glob("shard_000001-*.npy"))) == 1  # the old content's file went

    enc = FakeEncoder()
    encode_to_shards(iter_shards(changed[:4], 3, KEY), ShardStore(root), enc, key=KEY)
    assert enc.encoded == [changed[3:4]]  # shard 1 is now one row: new content
    assert sorted(p.name[:12] for p in root.glob("shard_*.npy")) == ["shard_000000", "shard_000001"]
    assert json.loads((root / "manifest.json").read_text())["rows"] == 4

    enc = FakeEncoder()
    other = model_key("weights-b", "torch", "passage")
    encode_to_shards(iter_shards(changed[:4], 3, other), ShardStore(root), enc, key=other)
    assert enc.encoded == [changed[:3], changed[3:4]][::-1]  # another model: everything again


def test_wrong_row_count_from_an_encoder_is_refused(tmp_path):
    def short(shards):
        for s in shards:
            yield s, np.zeros((len(s.texts) - 1, 4), dtype=np.float32)

    with pytest.raises(ValueError, match="3 texts but vectors of shape"):
        encode_to_shards(iter_shards(["a", "b", "c"], 3, KEY), ShardStore(tmp_path / "s"), short)
    assert not list((tmp_path / "s").glob("shard_*.npy"))
