"""`seaembed train CONFIG.yaml` with `kind: cross-encoder`: train the relevance cross-encoder from a config.

    kind: cross-encoder
    base_model: packaged:multilingual-e5-small   # or a CrossEncoder / HF model id or directory
    train_files:                                 # relevance JSONL (text1, text2, label, kind, lang)
      - data/relevance.jsonl                     # or {path: x.csv, kind: query-category} for CIKM-shaped CSVs
    output_dir: runs/relevance
    max_steps: 150
    batch_size: 16
    learning_rate: 2.0e-4
    max_length: 64
    lora: {r: 8, alpha: 16}                      # optional
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CsvFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    kind: str


class CrossEncoderTrainConfig(BaseModel):
    """A cross-encoder training config (relative paths against the config file's folder)."""

    model_config = ConfigDict(extra="forbid")
    kind: str = "cross-encoder"
    base_model: str = "packaged:multilingual-e5-small"
    train_files: list[str | CsvFile] = Field(min_length=1)
    output_dir: str = "runs/relevance"
    max_steps: int = Field(default=150, ge=1)
    batch_size: int = Field(default=16, ge=1)
    learning_rate: float = Field(default=2e-4, gt=0)
    max_length: int = Field(default=64, ge=8)
    seed: int = 0
    freeze_embeddings: bool = True
    lora: dict[str, Any] | None = None


def is_cross_encoder_config(path: str | Path) -> bool:
    """True when the YAML at `path` says `kind: cross-encoder` (top level or under `train:`)."""
    from seaembed.config import load_yaml

    data = load_yaml(Path(path))
    section = data.get("train") if isinstance(data.get("train"), dict) else data
    return section.get("kind") == "cross-encoder"


def train_from_config(path: str | Path, *, max_steps: int | None = None, output: str | Path | None = None) -> Path:
    """Read the pairs the config names, train, save; returns the model directory."""
    from seaembed.config import load_yaml, validate
    from seaembed.train.cross_encoder import CrossEncoderConfig, class_balance, train_cross_encoder
    from seaembed.train.cross_encoder_data import read_cikm_csv, read_relevance_jsonl

    path = Path(path)
    data = load_yaml(path)
    if isinstance(data.get("train"), dict):
        data = data["train"]
    cfg = validate(CrossEncoderTrainConfig, data, source=str(path))
    root = path.parent.resolve()
    pairs = []
    for f in cfg.train_files:
        if isinstance(f, CsvFile):
            pairs += read_cikm_csv(root / f.path, f.kind)
        else:
            pairs += read_relevance_jsonl(root / f)
    out = Path(output) if output is not None else root / cfg.output_dir
    print(f"relevance pairs: {len(pairs)}; class balance per kind: {class_balance(pairs)}", flush=True)
    return train_cross_encoder(pairs, CrossEncoderConfig(
        base_model=cfg.base_model, max_length=cfg.max_length, batch_size=cfg.batch_size,
        max_steps=max_steps or cfg.max_steps, learning_rate=cfg.learning_rate, seed=cfg.seed,
        freeze_embeddings=cfg.freeze_embeddings, lora=cfg.lora), out)
