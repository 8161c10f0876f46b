"""`seaembed eval`: evaluate a model (and baselines) on task directories; `seaembed eval make-task` builds tasks.

Imports of torch, sentence-transformers and friends happen inside the command bodies so `seaembed --help` is fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

eval_app = typer.Typer(
    help="Evaluate a model on task directories (retrieval, classification, pair-classification, bitext, "
         "clustering) against baselines; write results.json, results.md and report.html.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@eval_app.callback(invoke_without_command=True)
def eval_command(
    ctx: typer.Context,
    model: str = typer.Option(None, "--model", "-m", help="Model source: a local dir, a hub id, or "
                              "packaged:multilingual-e5-small."),
    tasks: list[Path] = typer.Option(None, "--tasks", "-t", help="A task directory, or a directory of them; "
                                     "repeat for more."),
    baseline: list[str] = typer.Option(None, "--baseline", "-b", help="'bm25' or another model source; repeat "
                                       "for more."),
    out: Path = typer.Option(None, "--out", "-o", help="Output directory for results.json/results.md/report.html."),
    batch_size: int = typer.Option(32, help="Encoding batch size."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the embedding cache."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Evaluate MODEL on the tasks (and the baselines in the same run)."""
    if ctx.invoked_subcommand is not None:
        return
    if not model or not tasks:
        if not (model or tasks):
            typer.echo(ctx.get_help())
        if model or tasks:
            from seaembed.errors import ConfigError

            raise ConfigError("seaembed eval needs both --model and --tasks")
        raise typer.Exit(0)
    from seaembed.evaluate.report import render_markdown
    from seaembed.evaluate.run import evaluate

    out = out or Path("eval-results")
    results = evaluate(model, tasks, baselines=baseline or [], out_dir=out, batch_size=batch_size,
                       show_progress=not quiet, cache=not no_cache)
    typer.echo(render_markdown(results).split("\n## Per language")[0].rstrip())
    typer.echo(f"\nwrote {out / 'results.json'}, {out / 'results.md'}, {out / 'report.html'}")


@eval_app.command("make-task")
def make_task_command(
    task_type: str = typer.Option(..., "--type", help="retrieval | classification | pair-classification | "
                                  "bitext | clustering"),
    input: Path = typer.Option(..., "--input", "-i", help="CSV/TSV/JSONL/Parquet/txt file."),
    input2: Path = typer.Option(None, "--input2", help="Second file: the test split (classification, "
                                "pair-classification), the target side (bitext), extra documents (retrieval)."),
    out: Path = typer.Option(..., "--out", "-o", help="Task directory to write."),
    name: str = typer.Option(..., "--name", help="Task name (unique within a run)."),
    text_field: str = typer.Option("text", help="Column of the text (text1 for pairs, document for retrieval)."),
    text2_field: str = typer.Option("text2", help="Column of the second text of a pair."),
    label_field: str = typer.Option("label", help="Column of the label."),
    query_field: str = typer.Option("query", help="Column of the query (retrieval from query/text rows)."),
    title_field: str = typer.Option(None, help="Column of a document title (retrieval)."),
    lang_field: str = typer.Option("lang", help="Column of the row's language."),
    src_field: str = typer.Option("src", help="Bitext source column."),
    tgt_field: str = typer.Option("tgt", help="Bitext target column."),
    id_field: str = typer.Option(None, help="Column that aligns the rows of --input and --input2 (bitext)."),
    lang: str = typer.Option(None, help="Language of rows that have no language column."),
    src_lang: str = typer.Option(None, help="Bitext source language (when not a column)."),
    tgt_lang: str = typer.Option(None, help="Bitext target language (when not a column)."),
    test_fraction: float = typer.Option(0.3, help="Share of rows for test (classification, pair-classification)."),
    seed: int = typer.Option(0, help="Seed of the split."),
    main_metric: str = typer.Option(None, help="Main metric (default: the type's first metric)."),
    max_rows: int = typer.Option(None, help="Keep at most this many rows (bitext, clustering), sampled by seed."),
) -> None:
    """Turn a CSV/JSONL file into a task directory."""
    from seaembed.evaluate.make_task import Fields, make_task
    from seaembed.evaluate.tasks import load_task

    fields = Fields(text=text_field, text2=text2_field, label=label_field, query=query_field, title=title_field,
                    lang=lang_field, src=src_field, tgt=tgt_field, id=id_field)
    path = make_task(task_type, input, out, name, inp2=input2, fields=fields, lang=lang, src_lang=src_lang,
                     tgt_lang=tgt_lang, test_fraction=test_fraction, seed=seed, main_metric=main_metric,
                     max_rows=max_rows)
    task = load_task(path)
    typer.echo(f"wrote {task.type} task '{task.name}' to {path}: "
               + ", ".join(f"{k} {v}" for k, v in task.describe().items()))
