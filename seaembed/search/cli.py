"""CLI command of the search stage: `seaembed index`.

Light imports only here; the work happens in `index.py` (and `tune_fusion.py` for `--tune-on`).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from seaembed.engine.ray_cli import RAY, RAY_ADDRESS, RAY_WORKERS, ray_options


def index_command(
    model: str = typer.Option(..., "--model", "-m", help="Model source, or a `seaembed export` directory."),
    catalog: Path = typer.Option(..., "--catalog", "-c", help="Catalog file (JSONL, CSV, TSV or Parquet)."),
    out: Path = typer.Option(..., "--out", "-o", help="Index directory to write."),
    text_fields: str = typer.Option("title,category", "--text-fields", help="Fields joined into the indexed text; "
                                                                              "the first is required."),
    id_field: str = typer.Option("id", "--id-field", help="Item id field (default: the line number)."),
    kind: str = typer.Option("auto", "--kind", help="auto|flat|hnsw|ivfpq (auto: by catalog size)."),
    backend: str = typer.Option("auto", "--backend", help="auto|torch|onnx|openvino (auto: the export's own backend for an export dir)."),
    chunk_size: int = typer.Option(1024, "--chunk-size", min=1, help="Items per resumable shard (a rerun "
                                   "re-encodes only shards whose texts or model changed)."),
    default_lang: str | None = typer.Option(None, "--default-lang", help="Language of rows without a 'lang'."),
    detect_lang: bool = typer.Option(False, "--detect-lang", help="Identify the language of rows without one."),
    fusion: str = typer.Option("bounded", "--fusion", help="Hybrid search's default fusion: bounded (default), "
                               "rrf, wrrf, weighted or zscore (see docs/serving.md)."),
    alpha: float | None = typer.Option(None, "--alpha", min=0.0, max=1.0, help="Dense weight of the fusion "
                                       "(default: the method's own, bounded 0.2, wrrf/weighted/zscore 0.5)."),
    tune_on: list[Path] | None = typer.Option(None, "--tune-on", help="A BEIR-layout retrieval task to choose "
                                              "--fusion's alpha on with this model (repeatable; 0 to 1 in steps "
                                              "of 0.05, best mean nDCG@10; writes fusion_tuning.json)."),
    recall_target: float = typer.Option(0.97, "--recall-target", help="HNSW/IVF-PQ: search with the smallest "
                                        "efSearch/nprobe whose recall@10 against exact search reaches this on 500 "
                                        "query-like texts (in (0, 1]; measured at build time, stored in "
                                        "index.json)."),
    calibrate_on: Path | None = typer.Option(None, "--calibrate-on", help="HNSW/IVF-PQ: a text file of queries "
                                             "(one per line, e.g. a search log) to measure --recall-target on "
                                             "(default: the first 2-4 words of 500 catalog titles)."),
    sink: str = typer.Option("local", "--sink", help="local (the index directory only) or qdrant (also copy it to "
                             "--collection at --url)."),
    url: str | None = typer.Option(None, "--url", help="Qdrant: http(s)://HOST:PORT, :memory: or path:DIR (local)."),
    collection: str | None = typer.Option(None, "--collection", help="Qdrant collection to (re)create."),
    ray: bool = RAY,
    ray_workers: int | None = RAY_WORKERS,
    ray_address: str | None = RAY_ADDRESS,
) -> None:
    """Embed a catalog (resumable) and build a dense + BM25 search index."""
    from seaembed.engine.export_meta import resolve_backend
    from seaembed.errors import ConfigError
    from seaembed.search.calibrate import check_target
    from seaembed.search.fusion import FUSIONS
    from seaembed.search.index import build_index

    if fusion not in FUSIONS:
        raise ConfigError(f"--fusion must be one of {', '.join(FUSIONS)}, got '{fusion}'")
    if sink not in ("local", "qdrant") or (sink == "qdrant" and not (url and collection)):
        raise ConfigError("--sink must be local or qdrant; qdrant needs --url and --collection")
    ray_opts = ray_options(ray, ray_workers, ray_address)  # before anything is read or loaded
    check_target(recall_target)
    fields = [f.strip() for f in text_fields.split(",") if f.strip()]
    path = build_index(model, catalog, out, backend=resolve_backend(model, backend), text_fields=fields,
                       id_field=id_field, kind=kind, chunk_size=chunk_size, default_lang=default_lang,
                       detect_lang=detect_lang, fusion=fusion, alpha=alpha, tune_on=tune_on or (), ray=ray_opts,
                       recall_target=recall_target, calibrate_on=calibrate_on)
    if tune_on:
        from seaembed.search.tune_fusion import FusionTuning

        tuning = FusionTuning.from_dict(json.loads((path / "fusion_tuning.json").read_text(encoding="utf-8")))
        typer.echo(f"fusion tuned: {tuning.describe()}")
    info = json.loads((path / "index.json").read_text(encoding="utf-8"))
    if info.get("dense_search"):
        from seaembed.search.calibrate import Calibration

        typer.echo(f"dense search ({info['kind']}): {Calibration(**info['dense_search']).describe()}")
    typer.echo(f"wrote {path}")
    if sink == "qdrant":
        import os

        from seaembed.search.qdrant_sink import push_index

        n = push_index(path, url, collection, api_key=os.environ.get("QDRANT_API_KEY"))
        typer.echo(f"wrote {n} points to Qdrant collection {collection} at {url}")
