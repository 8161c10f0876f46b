"""CLI commands of this stage (placeholder until the stage lands)."""

import typer

data_app = typer.Typer(no_args_is_help=True, help="(not implemented yet)")
