"""CLI commands of this stage (placeholder until the stage lands)."""

import typer


def export_command() -> None:
    """(not implemented yet)"""
    raise typer.Exit(1)


def index_command() -> None:
    """(not implemented yet)"""
    raise typer.Exit(1)


def serve_command() -> None:
    """(not implemented yet)"""
    raise typer.Exit(1)
