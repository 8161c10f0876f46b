"""`seaembed data ...`: build a training set from a catalog, logs and labels (heavy imports inside the commands)."""

from __future__ import annotations

from pathlib import Path

import typer

data_app = typer.Typer(no_args_is_help=True, help="Build training data: structured pairs, translation, synthetic "
                                                  "queries, hard negatives, self-validation filtering.")


@data_app.command("build")
def build_command(
    config: Path = typer.Argument(..., help="DataConfig YAML (see docs/data.md)."),
    out: Path | None = typer.Option(None, "--out", help="Training JSONL to write (default: the config's `out`)."),
    report: Path | None = typer.Option(None, "--report", help="Directory for report.md / report.json."),
    work_dir: Path | None = typer.Option(None, "--work-dir", help="Per-stage cache directory (resumable)."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide progress bars."),
) -> None:
    """Build the training set described by CONFIG and write its data report."""
    from seaembed.augment.build import build_dataset
    from seaembed.augment.config import load_data_config

    cfg = load_data_config(config)
    result = build_dataset(cfg, base_dir=config.resolve().parent, out=out, report_dir=report, work_dir=work_dir,
                           show_progress=not no_progress)
    typer.echo(f"{result.examples} examples -> {result.out}")
    typer.echo(f"report: {result.report_dir / 'report.md'}")
