"""Which layers of a fine-tuned encoder lose most under onnxruntime dynamic int8 (#15 item 11).

    PYTHONPATH=$PWD .venv/bin/python experiments/int8_sensitivity.py --model runs/demo/merged

Starting from `per-channel-keep-ffn-out` (FFN down-projections in fp32), each candidate also keeps one more group
of MatMuls in fp32: every MatMul of encoder layer i (one candidate per layer), or one projection kind in every layer
(attention output, FFN up-projection, Q/K/V). Each is compared with the model's own fp32 ONNX graph on the export's
parity texts (both prompts), as `seaembed export` gates it (cosine mean >= 0.99). Writes
experiments/results/int8_sensitivity.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--out", default=str(ROOT / "experiments" / "results" / "int8_sensitivity"))
    a = ap.parse_args()
    from seaembed.atomic import write_json, write_text
    from seaembed.export.export import _selection_texts, export_onnx_graph
    from seaembed.export.int8_select import FFN_OUTPUT, Variant, _batches, _embed, _session, quantize

    started = time.time()
    groups: dict[str, tuple[str, ...]] = {"(keep-ffn-out only)": ()}
    groups |= {f"+ layer {i} whole": (rf"/layer\.{i}/",) for i in range(a.layers)}
    groups |= {"+ attention output (all layers)": (r"/attention/output/dense/MatMul$",),
               "+ FFN up-projection (all layers)": (r"/intermediate/dense/MatMul$",),
               "+ Q/K/V (all layers)": (r"/attention/self/(query|key|value)/MatMul$",)}
    rows = []
    with tempfile.TemporaryDirectory() as d:
        fp32 = Path(d) / "model.onnx"
        meta = export_onnx_graph(a.model, fp32)
        tok = meta.pop("tokenizer")
        _, parity = _selection_texts(meta["prompts"])
        batches = _batches(tok, parity)
        ref = _embed(_session(fp32, None), batches)
        for name, extra in groups.items():
            out = Path(d) / "q.onnx"
            quantize(fp32, out, Variant(name, exclude=FFN_OUTPUT + extra))
            cos = np.sum(ref * _embed(_session(out, None), batches), axis=1)
            rows.append({"candidate": name, "cosine_mean": round(float(cos.mean()), 5),
                         "cosine_min": round(float(cos.min()), 5)})
            print(json.dumps(rows[-1]), flush=True)
    env = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "loadavg_end": os.getloadavg(),
           "wall_s": round(time.time() - started)}
    write_json(Path(a.out + ".json"), {"model": a.model, "rows": rows, "env": env})
    lines = ["# int8 sensitivity of a fine-tuned encoder", "",
             f"`python experiments/int8_sensitivity.py --model {a.model}`; {env}. Every candidate keeps the FFN "
             "down-projections in fp32 (`per-channel-keep-ffn-out`) plus the group named; cosine against the "
             f"model's own fp32 ONNX graph on {len(parity)} parity texts (gate: mean >= 0.99).", "",
             "| candidate | cosine mean | cosine min |", "|---|---|---|"]
    lines += [f"| {r['candidate']} | {r['cosine_mean']:.4f} | {r['cosine_min']:.4f} |" for r in rows]
    write_text(Path(a.out + ".md"), "\n".join(lines) + "\n")
    print(f"wrote {a.out}.md")


if __name__ == "__main__":
    main()
