"""`seaembed train CONFIG.yaml`: contrastive fine-tuning (imports of torch & co. happen inside the command)."""

from __future__ import annotations

from pathlib import Path

import typer


def train_command(
    config: Path = typer.Argument(..., help="Training config (YAML); see docs/training.md."),
    resume: bool = typer.Option(True, "--resume/--no-resume",
                                help="Continue from the latest complete checkpoint in OUTPUT/checkpoints."),
    restart: bool = typer.Option(False, "--restart", help="Discard OUTPUT's checkpoints and start over (e.g. after "
                                 "the train files or settings changed)."),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1, help="Stop after this many optimizer steps."),
    output: Path | None = typer.Option(None, "--output", help="Output directory (overrides output_dir)."),
) -> None:
    """Fine-tune an embedding model on training-example JSONL files (InfoNCE with Class-Aware Masking)."""
    from seaembed.train.cross_encoder_cli import is_cross_encoder_config, train_from_config

    if is_cross_encoder_config(config):  # the relevance cross-encoder (#17): its own config, see cross_encoder_cli
        typer.echo(f"model: {train_from_config(config, max_steps=max_steps, output=output)}")
        return
    from seaembed.train.config import load_train_config
    from seaembed.train.trainer import train

    cfg = load_train_config(config)
    update: dict = {"resume": resume and not restart}
    if max_steps is not None:
        update["max_steps"] = max_steps
    if output is not None:
        update["output_dir"] = output
    cfg = cfg.model_copy(update=update)
    model_dir = train(cfg)
    typer.echo(f"model: {model_dir}")
