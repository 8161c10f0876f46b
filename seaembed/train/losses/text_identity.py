"""Text identity of tokenized rows, for the duplicate rule of Class-Aware Masking.

The loss only receives token ids (the trainer's collator tokenizes the texts), so two candidates are "the same
text" when the model sees the same tokens: same `input_ids` over the non-padding positions. That is the right
notion for masking: identical inputs give identical embeddings, so such a candidate scores exactly like the
positive and cannot be a negative. (Strings the tokenizer normalises to the same ids, e.g. case under a lower-casing
tokenizer, count as duplicates for the same reason.) Rows are fingerprinted with a 64-bit BLAKE2b digest so the
fingerprints can be compared across columns of different padded widths and gathered across processes.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch import Tensor


def text_fingerprints(features: dict[str, Tensor]) -> Tensor:
    """One int64 fingerprint per row of a tokenized column (equal iff the non-padding token ids are equal)."""
    ids = features["input_ids"].detach().to("cpu").numpy().astype(np.int64, copy=False)
    mask = features.get("attention_mask")
    mask_np = mask.detach().to("cpu").numpy().astype(bool) if mask is not None else np.ones(ids.shape, dtype=bool)
    out = np.empty(ids.shape[0], dtype=np.int64)
    for row in range(ids.shape[0]):
        digest = hashlib.blake2b(ids[row][mask_np[row]].tobytes(), digest_size=8).digest()
        out[row] = int.from_bytes(digest, "little", signed=True)
    return torch.from_numpy(out).to(features["input_ids"].device)
