"""CLI command `seaembed run` (placeholder until the pipeline lands)."""

import typer


def run_command() -> None:
    """(not implemented yet)"""
    raise typer.Exit(1)
