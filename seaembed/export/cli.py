"""CLI command of the export stage: `seaembed export`.

Light imports only here; the work happens in `export.py`.
"""

from __future__ import annotations

from pathlib import Path

import typer


def export_command(
    model: str = typer.Option(..., "--model", "-m", help="Model source: a directory, hub id or packaged:NAME."),
    format: str = typer.Option("onnx-int8", "--format", "-f", help="onnx (fp32), onnx-int8 (int8 weights), "
                               "openvino (fp32 IR) or openvino-int8 (NNCF static int8; needs seaembed[openvino])."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (replaced atomically)."),
    task: Path | None = typer.Option(None, "--task", help="A BEIR-layout retrieval task for the parity report "
                                                          "(default: a small built-in multilingual task)."),
    threads: int | None = typer.Option(None, "--threads", help="Intra-op threads for the parity run."),
    calibration: Path | None = typer.Option(None, "--calibration", help="openvino-int8: texts to calibrate on "
                                            "(txt/JSONL/CSV, prompts included; a seeded sample of 300 rows when longer; default: a bundled sample mix)."),
    calibration_field: str | None = typer.Option(None, "--calibration-field", help="Column of --calibration."),
    int8_variant: str = typer.Option("auto", "--int8-variant", help="onnx-int8: auto (the fast variant first, then "
                                     "more faithful ones, keeping the first with cosine >= 0.99 vs fp32), auto-all "
                                     "(time every variant here, keep the fastest that passes) or a variant: "
                                     "per-channel, per-tensor, per-channel-reduce-range, fused-per-channel, "
                                     "fused-per-tensor, fused-matmul-only, per-channel-matmul-only, "
                                     "per-channel-keep-ffn-out."),
) -> None:
    """Export a model to ONNX or OpenVINO (fp32 or int8) with a parity report (cosine and nDCG@10 against fp32
    torch)."""
    import json

    from seaembed.export.export import export

    path = export(model, format, out, task_dir=task, threads=threads,  # type: ignore[arg-type]
                  calibration=calibration, calibration_field=calibration_field, int8_variant=int8_variant)
    report = json.loads((path / "parity.json").read_text(encoding="utf-8"))
    meta = json.loads((path / "seaembed_export.json").read_text(encoding="utf-8"))
    if sel := meta.get("int8_selection"):
        best = next(r for r in sel["candidates"] if r["variant"]["name"] == sel["chosen"])
        typer.echo(f"int8 variant: {sel['chosen']} ({best['texts_per_s']} texts/s here, {best['x_vs_onnx_fp32']}x "
                   f"onnx fp32, cosine {best['cosine_mean']}) of {len(sel['candidates'])} measured")
    typer.echo(f"wrote {path} ({format}); parity: cosine mean {report['cosine_mean']:.5f} "
               f"(min {report['cosine_min']:.5f}), nDCG@10 {report['ndcg@10_reference']:.4f} -> "
               f"{report['ndcg@10_candidate']:.4f} on {report['task']}")
