"""OpenVINO exports: the ONNX graph of `export.py` converted to OpenVINO IR, fp32 or int8.

int8 is NNCF post-training static quantisation (weights and activations int8, SmoothQuant for transformers),
calibrated on real texts. On Intel CPUs with VNNI/AMX its int8 kernels are the fastest CPU path we measured
(benchmarks/serve.py); onnxruntime's dynamic int8 stays the portable default. OpenVINO and NNCF are optional:
`pip install 'seaembed[openvino]'`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

from seaembed.engine.backends.openvino_backend import require_openvino
from seaembed.errors import ConfigError

CALIBRATION_SIZE = 300
IR_FILE = "model.xml"


def default_calibration_texts(prompts: dict[str, str], n: int = CALIBRATION_SIZE, seed: int = 0) -> list[str]:
    """Half passages (bundled sample reviews), half queries (the non-English side of the bundled parallel
    sentences), prompt-prefixed as the model sees them. Product titles are left out on purpose: the benchmarks
    measure int8 quality on titles, and calibrating on them would flatter the result."""
    from seaembed.samples import sample_path

    def rows(name: str) -> list[dict]:
        return [json.loads(x) for x in sample_path(name).read_text(encoding="utf-8").splitlines() if x.strip()]

    rng = random.Random(seed)
    reviews = [r["text"] for r in rows("reviews.jsonl")]
    sentences = [r["tgt"] for r in rows("parallel.jsonl")]
    passages = rng.sample(reviews, min(n // 2, len(reviews)))
    queries = rng.sample(sentences, min(n - len(passages), len(sentences)))
    return ([prompts.get("passage", "") + t for t in passages]
            + [prompts.get("query", "") + t for t in queries])


def calibration_texts(path: str | Path | None, prompts: dict[str, str], field: str | None = None,
                      n: int = CALIBRATION_SIZE, seed: int = 0) -> list[str]:
    """Texts from `path` (txt/JSONL/CSV, one per row; used as given, prompts included), or the default mix above.
    A file with more than `n` rows gives a seeded sample of `n` of them, in file order (calibration needs a few
    hundred representative texts, and NNCF's time grows with each)."""
    if path is None:
        return default_calibration_texts(prompts, n=n, seed=seed)
    from seaembed.data.io import read_texts

    texts = read_texts(path, field=field)
    if not texts:
        raise ConfigError(f"{path}: no calibration texts")
    if len(texts) <= n:
        return texts
    return [texts[i] for i in sorted(random.Random(seed).sample(range(len(texts)), n))]


def convert(onnx_path: Path, out_dir: Path, *, int8: bool, tokenizer, max_length: int,
            calibration: Sequence[str] = ()) -> Path:
    """Write `out_dir/model.xml` (+ .bin) from an ONNX graph; with `int8`, quantise on `calibration` texts."""
    ov = require_openvino()
    model = ov.convert_model(str(onnx_path))
    if int8:
        try:
            import nncf
        except ImportError:
            raise ConfigError("--format openvino-int8 needs NNCF: pip install 'seaembed[openvino]'") from None
        if not calibration:
            raise ConfigError("int8 quantisation needs calibration texts")
        import numpy as np

        def feed(text: str) -> dict:
            ids = tokenizer(text, truncation=True, max_length=max_length)["input_ids"]
            return {"input_ids": np.array([ids], dtype=np.int64), "attention_mask": np.ones((1, len(ids)), np.int64)}

        data = [feed(t) for t in calibration]
        model = nncf.quantize(model, nncf.Dataset(data), model_type=nncf.ModelType.TRANSFORMER,
                              subset_size=len(data))
    path = out_dir / IR_FILE
    ov.save_model(model, str(path), compress_to_fp16=False)
    return path
