"""CLI command of the export stage: `seaembed export`.

Light imports only here; the work happens in `export.py` (a bi-encoder) and `cross_encoder.py` (the relevance
cross-encoder, detected as `seaembed serve --reranker` detects it).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer


def export_command(
    model: str = typer.Option(..., "--model", "-m", help="Model source: a directory, hub id or packaged:NAME."),
    format: str = typer.Option("onnx-int8", "--format", "-f", help="onnx (fp32), onnx-int8 (int8 weights), "
                               "openvino (fp32 IR) or openvino-int8 (NNCF static int8; needs seaembed[openvino]). "
                               "A relevance cross-encoder: onnx or onnx-int8."),
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
                                     "per-channel-keep-ffn-out. A cross-encoder: auto means per-channel."),
) -> None:
    """Export a model to ONNX or OpenVINO (fp32 or int8) with a parity report (cosine and nDCG@10 against fp32
    torch). A relevance cross-encoder directory (`seaembed train` kind: cross-encoder, or a run's
    relevance/cross-encoder) is exported to ONNX with a parity report of its scores against the torch model."""
    from seaembed.export.cross_encoder import cross_encoder_format

    if cross_encoder_format(model) is not None:
        _export_cross_encoder(model, format, out, task=task, threads=threads, calibration=calibration,
                              int8_variant=int8_variant)
        return
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


def _export_cross_encoder(model: str, fmt: str, out: Path, *, task: Path | None, threads: int | None,
                          calibration: Path | None, int8_variant: str) -> None:
    """`seaembed export` of a relevance cross-encoder: ONNX fp32 or int8 and the parity of its scores, in one line."""
    from seaembed.errors import ConfigError
    from seaembed.export.cross_encoder import (
        DEFAULT_INT8_VARIANT,
        FORMATS,
        cross_encoder_format,
        export_cross_encoder,
        parity_line,
    )

    if cross_encoder_format(model) == "onnx":
        raise ConfigError(f"--model {model}: already an ONNX export of a cross-encoder; export the trained directory")
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt}: a relevance cross-encoder exports to {' or '.join(FORMATS)} only "
                          f"({model} is a cross-encoder; `seaembed serve --reranker` has no OpenVINO backend)")
    for name, value in (("--task", task), ("--calibration", calibration)):
        if value is not None:
            raise ConfigError(f"{name} is for a bi-encoder; a cross-encoder's parity uses bundled relevance pairs")
    if int8_variant == "auto-all":
        raise ConfigError("--int8-variant auto-all times embedding variants; for a cross-encoder use auto "
                          f"({DEFAULT_INT8_VARIANT}) or name a variant")
    variant = DEFAULT_INT8_VARIANT if int8_variant == "auto" else int8_variant
    path = export_cross_encoder(model, out, int8=fmt == "onnx-int8", int8_variant=variant, threads=threads)
    meta = json.loads((path / "cross_encoder.json").read_text(encoding="utf-8"))
    what = f"{fmt} cross-encoder" + (f", int8 variant {variant}" if fmt == "onnx-int8" else "")
    typer.echo(f"wrote {path} ({what}); parity: {parity_line(meta['parity'])}")
