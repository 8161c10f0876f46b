"""onnxruntime backend: a `seaembed export` directory (fp32 or int8 weights) on the CPU execution provider."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seaembed.engine.backends.base import Backend, l2_normalise
from seaembed.threads import intra_op_threads


class OnnxBackend(Backend):
    """Runs `model.onnx` of an export directory; pooling and normalisation are in the graph."""

    def __init__(self, export_dir: str | Path, *, threads: int | None = None, spin: bool | None = None) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        from seaembed.engine.export_meta import read_export_meta

        export_dir = Path(export_dir)
        meta = read_export_meta(export_dir)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # intra-op threads: the CPUs this process may use (affinity, cgroup quota), not the machine's core count
        opts.intra_op_num_threads = int(threads or intra_op_threads())
        opts.inter_op_num_threads = 1
        # Busy-waiting intra-op threads: with e5-small int8 on 2 cores, spinning on gave ~530 texts/s against ~480
        # with it off (256 titles, batch budget 512-1024 tokens). ORT's pool is its own (not OpenMP), so the passive
        # OpenMP policy of seaembed.threads does not reach it; default (spin=None): spin unless SEAEMBED_SPIN=0.
        if spin is None:
            spin = os.environ.get("SEAEMBED_SPIN", "1") != "0"
        self.spin = bool(spin)
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        self.session = ort.InferenceSession(str(export_dir / meta.get("file", "model.onnx")), opts,
                                            providers=["CPUExecutionProvider"])
        tokenizer = AutoTokenizer.from_pretrained(str(export_dir))
        super().__init__(tokenizer, max_length=meta["max_length"], prompts=meta.get("prompts"))
        self.dim = int(meta["dim"])
        self.meta = meta
        self.name = "onnx-int8" if meta.get("format") == "onnx-int8" else "onnx-fp32"

    def embed_ids(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        ids, mask = self.pad(batch)
        (out,) = self.session.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})
        return l2_normalise(out)
