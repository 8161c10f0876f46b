"""Inference backends: torch (fp32/bf16), onnxruntime (fp32/int8 exports), OpenVINO (fp32/int8 exports, optional)
and vLLM (GPU, optional fp8)."""

from __future__ import annotations

from pathlib import Path

from seaembed.engine.backends.base import Backend
from seaembed.errors import ConfigError

BACKENDS = ("torch", "onnx", "openvino", "vllm")


def create_backend(name: str, source: str | Path, *, dtype: str = "float32", threads: int | None = None,
                   quantization: str | None = None) -> Backend:
    """Build a backend by name. `source` is a model source (torch, vllm) or an export directory (onnx,
    openvino)."""
    if name == "torch":
        from seaembed.engine.backends.torch_backend import TorchBackend

        if quantization:
            raise ConfigError("--quantization applies to the vllm backend; for CPU int8 use `seaembed export "
                              "--format onnx-int8` and --backend onnx")
        return TorchBackend(source, dtype=dtype, threads=threads)
    if name == "onnx":
        from seaembed.engine.backends.onnx_backend import OnnxBackend

        return OnnxBackend(source, threads=threads)
    if name == "openvino":
        from seaembed.engine.backends.openvino_backend import OpenVinoBackend

        return OpenVinoBackend(source, threads=threads, dtype=dtype)
    if name == "vllm":
        from seaembed.engine.backends.vllm_backend import VllmBackend

        return VllmBackend(source, quantization=quantization)
    raise ConfigError(f"unknown backend '{name}': use one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Backend", "create_backend"]
