"""CLI commands of this stage (placeholder until the stage lands)."""

import typer

model_app = typer.Typer(no_args_is_help=True, help="(not implemented yet)")


def encode_command() -> None:
    """Encode texts (not implemented yet)."""
    raise typer.Exit(1)
