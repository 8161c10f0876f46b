"""seaembed.engine: the batching inference engine and its backends (torch, onnxruntime, OpenVINO, vLLM)."""
