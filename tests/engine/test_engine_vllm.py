"""The vLLM backend on a machine without vLLM or a GPU: argument building and the missing-install error."""

from __future__ import annotations

import importlib.util

import pytest

from seaembed.engine.backends.vllm_backend import build_llm_kwargs, token_prompts
from seaembed.errors import ModelSourceError


def test_new_vllm_uses_the_pooling_runner_with_fp8():
    kw = build_llm_kwargs("/models/e5", vllm_version="0.11.2", quantization="fp8", max_model_len=512)
    assert kw["runner"] == "pooling" and kw["convert"] == "embed" and "task" not in kw
    assert kw["quantization"] == "fp8" and kw["max_model_len"] == 512 and kw["model"] == "/models/e5"


def test_old_vllm_uses_task_embed_and_no_quantization_by_default():
    kw = build_llm_kwargs("m", vllm_version="0.6.6.post1")
    assert kw["task"] == "embed" and "runner" not in kw and "quantization" not in kw


def test_unknown_quantization_is_refused():
    with pytest.raises(ModelSourceError, match="unsupported vLLM quantization 'int4'"):
        build_llm_kwargs("m", vllm_version="0.11.0", quantization="int4")


def test_token_prompts_are_vllm_tokens_prompts():
    assert token_prompts([[0, 5, 2], (0, 7)]) == [{"prompt_token_ids": [0, 5, 2]}, {"prompt_token_ids": [0, 7]}]


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_missing_vllm_gives_an_install_hint(tiny_model_dir):
    from seaembed.engine.backends import create_backend

    with pytest.raises(ModelSourceError, match=r"pip install 'seaembed\[gpu\]'"):
        create_backend("vllm", tiny_model_dir, quantization="fp8")


def test_quantization_flag_on_torch_backend_is_a_config_error(tiny_model_dir):
    from seaembed.engine.backends import create_backend
    from seaembed.errors import ConfigError

    with pytest.raises(ConfigError, match="onnx-int8"):
        create_backend("torch", tiny_model_dir, quantization="fp8")
