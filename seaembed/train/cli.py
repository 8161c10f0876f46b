"""CLI commands of this stage (placeholder until the stage lands)."""

import typer


def train_command() -> None:
    """(not implemented yet)"""
    raise typer.Exit(1)
