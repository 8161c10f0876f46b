"""CLI command `seaembed encode` (light imports only; the work happens in `encode_file.py`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from seaembed.engine.ray_cli import RAY, RAY_ADDRESS, RAY_WORKERS, ray_options


class Prompt(StrEnum):
    query = "query"
    passage = "passage"


class DType(StrEnum):
    float32 = "float32"
    bfloat16 = "bfloat16"


def encode_command(
    model: str = typer.Option("packaged:multilingual-e5-small", "--model",
                              help="packaged:multilingual-e5-small, a hub id, or a local model directory."),
    input: Path = typer.Option(..., "--input", help="Texts: .txt (one a line), .jsonl, .csv/.tsv or .parquet."),
    output: Path = typer.Option(..., "--output", help="Where to write the (n, d) float32 embeddings (.npy)."),
    field: str | None = typer.Option(None, "--field", help="Column/key holding the text (default: text)."),
    prompt: Prompt | None = typer.Option(None, "--prompt", help="Model prompt to prepend (e5: 'query: '/'passage: ')."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Texts per forward pass."),
    dtype: DType = typer.Option(DType.float32, "--dtype", help="Compute dtype."),
    chunk_size: int = typer.Option(1024, "--chunk-size", min=1, help="Texts per resumable shard (a rerun "
                                   "re-encodes only shards whose texts or model changed)."),
    ray: bool = RAY,
    ray_workers: int | None = RAY_WORKERS,
    ray_address: str | None = RAY_ADDRESS,
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar."),
) -> None:
    """Encode the texts of INPUT into L2-normalised float32 embeddings saved as a .npy file (same row order),
    in resumable shards beside it (OUTPUT.partial/ until done)."""
    from seaembed.engine.encode_file import encode_file

    ray_opts = ray_options(ray, ray_workers, ray_address)  # before anything is read or loaded
    result = encode_file(model, input, output, field=field, prompt=prompt.value if prompt else None,
                         batch_size=batch_size, dtype=dtype.value, chunk_size=chunk_size, ray=ray_opts,
                         show_progress=not no_progress)
    s = result.stats
    typer.echo(f"{result.rows} x {result.dim} embeddings -> {output} ({s.shards} shards: {s.encoded} encoded, "
               f"{s.skipped} kept from an earlier run{', with Ray' if ray_opts else ''})")
