"""CLI command `seaembed run` (filled in when the stages land)."""

import typer


def run_command() -> None:
    """(not implemented yet)"""
    raise typer.Exit(1)
