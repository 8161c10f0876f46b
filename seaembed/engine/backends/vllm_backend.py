"""vLLM backend (GPU): vLLM's pooling runner, optionally with FP8 weights (`--quantization fp8`).

vLLM is an optional dependency (`pip install 'seaembed[gpu]'`); importing this module works without it, and
creating the backend raises a clear `ModelSourceError` when it is missing. The engine still does our batching:
each batch goes to `LLM.embed` as pre-tokenised prompts, so usage counts match the other backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seaembed.engine.backends.base import Backend, l2_normalise
from seaembed.errors import ModelSourceError

QUANTIZATIONS = (None, "fp8")


def import_vllm():
    """The `vllm` module, or a `ModelSourceError` saying how to install it."""
    try:
        import vllm
    except ImportError as e:
        raise ModelSourceError(
            "the vllm backend needs vLLM and a CUDA GPU: pip install 'seaembed[gpu]' (or pip install vllm); "
            f"on CPU use --backend onnx or --backend torch ({e})") from None
    return vllm


def _version_tuple(version: str) -> tuple[int, int]:
    parts = []
    for p in version.split(".")[:2]:
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits or 0))
    return (parts + [0, 0])[0], (parts + [0, 0])[1]


def build_llm_kwargs(model: str, *, vllm_version: str, quantization: str | None = None, dtype: str = "auto",
                     max_model_len: int | None = None, gpu_memory_utilization: float = 0.85,
                     seed: int = 0) -> dict[str, Any]:
    """Keyword arguments for `vllm.LLM` that run `model` as an embedding (pooling) model.

    vLLM >= 0.10 selects pooling with `runner="pooling"` (and `convert="embed"` for plain encoders); older
    releases used `task="embed"`.
    """
    if quantization not in QUANTIZATIONS:
        raise ModelSourceError(f"unsupported vLLM quantization '{quantization}': use fp8 or none")
    kwargs: dict[str, Any] = {"model": str(model), "dtype": dtype, "gpu_memory_utilization": gpu_memory_utilization,
                              "seed": seed, "enforce_eager": False}
    if _version_tuple(vllm_version) >= (0, 10):
        kwargs.update(runner="pooling", convert="embed")
    else:
        kwargs["task"] = "embed"
    if quantization:
        kwargs["quantization"] = quantization
    if max_model_len:
        kwargs["max_model_len"] = int(max_model_len)
    return kwargs


def token_prompts(batch: Sequence[Sequence[int]]) -> list[dict[str, list[int]]]:
    """vLLM `TokensPrompt` dicts for pre-tokenised inputs."""
    return [{"prompt_token_ids": list(map(int, ids))} for ids in batch]


class VllmBackend(Backend):
    """Embeds with `vllm.LLM(...).embed`; tokenisation (and prompts) by the model's Hugging Face tokenizer."""

    def __init__(self, source: str | Path, *, quantization: str | None = None, dtype: str = "auto",
                 max_model_len: int | None = None) -> None:
        vllm = import_vllm()
        from transformers import AutoTokenizer

        path = str(source)
        st_cfg = Path(path) / "config_sentence_transformers.json"
        prompts = {}
        if st_cfg.is_file():
            import json

            prompts = json.loads(st_cfg.read_text(encoding="utf-8")).get("prompts", {}) or {}
        tokenizer = AutoTokenizer.from_pretrained(path)
        kwargs = build_llm_kwargs(path, vllm_version=vllm.__version__, quantization=quantization, dtype=dtype,
                                  max_model_len=max_model_len)
        self.llm = vllm.LLM(**kwargs)
        model_config = getattr(getattr(self.llm, "llm_engine", None), "model_config", None)
        max_len = max_model_len or getattr(model_config, "max_model_len", None) or tokenizer.model_max_length
        max_len = min(int(max_len), 8192)
        super().__init__(tokenizer, max_length=max_len, prompts=prompts)
        probe = self.embed_ids(self.tokenize(["probe"]))
        self.dim = int(probe.shape[1])
        self.name = f"vllm-{quantization or dtype}"

    def embed_ids(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        outputs = self.llm.embed(token_prompts(batch), use_tqdm=False)
        return l2_normalise(np.asarray([o.outputs.embedding for o in outputs], dtype=np.float32))
