"""`seaembed run [CONFIG] [--out DIR] [--profile quick|full]`: the whole flow, resumable by stage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def run_command(
    config: Annotated[Path | None, typer.Argument(help="Run config YAML (default: the embedded default: bundled "
                                                       "sample data and packaged:multilingual-e5-small).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Output directory; rerunning with it resumes.")] = Path("runs/default"),
    profile: Annotated[str, typer.Option("--profile", help="A profile of the config: quick or full.")] = "quick",
    base_model: Annotated[str | None, typer.Option("--base-model", help="Override the config's base model.")] = None,
) -> None:
    """Run data build, training, merging, evaluation, export and indexing; print where everything is."""
    from seaembed.pipeline.config import load_run_config
    from seaembed.pipeline.run import run_pipeline
    from seaembed.pipeline.summary import summarise

    overrides = {"base_model": base_model} if base_model else None
    cfg, base = load_run_config(config, profile=profile, overrides=overrides)
    manifest = run_pipeline(cfg, base, out, log=lambda m: typer.echo(m, err=True))
    typer.echo(summarise(manifest, out))
