"""The `seaembed` command: one sub-command per stage, each a thin call into that stage's module.

Each stage owns a small `cli.py` (light imports only; heavy libraries are imported inside the command bodies so
`seaembed --help` stays fast). User errors (`SeaembedError`) print one clear line and exit with status 2.
"""

from __future__ import annotations

import sys

from seaembed.threads import configure as _configure_threads

_configure_threads()  # thread count from the CPUs we may use, passive OpenMP waits: before anything imports torch

import typer  # noqa: E402

from seaembed.errors import SeaembedError  # noqa: E402

app = typer.Typer(
    name="seaembed",
    help="Build, evaluate and serve multilingual embedding models for Southeast Asian e-commerce.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    from seaembed.augment.cli import data_app
    from seaembed.engine.encode_cli import encode_command
    from seaembed.evaluate.cli import eval_app
    from seaembed.export.cli import export_command
    from seaembed.merge.cli import merge_command
    from seaembed.models.cli import model_app
    from seaembed.pipeline.cli import run_command
    from seaembed.search.cli import index_command
    from seaembed.serve.cli import serve_command
    from seaembed.train.cli import train_command

    app.add_typer(model_app, name="model")
    app.command("encode")(encode_command)
    app.add_typer(data_app, name="data")
    app.command("train")(train_command)
    app.command("merge")(merge_command)
    app.add_typer(eval_app, name="eval")
    app.command("export")(export_command)
    app.command("index")(index_command)
    app.command("serve")(serve_command)
    app.command("run")(run_command)


_register()


def main() -> None:
    """Entry point: run the app, turning user errors into one line on stderr and exit status 2.

    Click's standalone mode handles usage errors (exit 2 with a usage line) and --help; only our own errors and
    interrupts need catching here.
    """
    from seaembed.compat import environment_problems
    from seaembed.progress import quiet_library_bars

    quiet_library_bars()

    for problem in environment_problems():
        typer.secho(f"warning: {problem}", err=True, fg=typer.colors.YELLOW)
    try:
        app()
    except SeaembedError as e:
        typer.secho(f"error: {e}", err=True, fg=typer.colors.RED)
        sys.exit(2)
    except OSError as e:
        from seaembed.errors import OUTPUT_ERRNOS

        if e.errno not in OUTPUT_ERRNOS:  # disk full, read-only, no permission: the user's to fix; else a bug
            raise
        typer.secho(f"error: {e.filename or '?'}: {e.strerror or e}", err=True, fg=typer.colors.RED)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
