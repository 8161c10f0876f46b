"""The relevance cross-encoder (#17): one pair classifier for query-category (QC) and query-item (QI) relevance.

Built on sentence-transformers' CrossEncoder training (`CrossEncoderTrainer` + `BinaryCrossEntropyLoss`), on any
sentence-transformers / HF encoder: a SentenceTransformer directory (the packaged multilingual-e5-small) is converted
by sentence-transformers to a `...ForSequenceClassification` model with a new 1-logit head. LoRA (peft) is optional.

QC and QI share one model and one head; the pair's kind is a field written into the target text
(`category: Fashion > Shoes`, `item: Nike Air ...`). Why one model and not two heads: the query side (the hard part,
short multilingual queries) is the same for both, the QC data is small and profits from the QI pairs, and one
model is one forward pass and one artifact to serve / export; the marker lets the model learn the different
notion of "relevant" a category path has (broad) from the one a title has (specific).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

KIND_MARKERS = {"query-category": "category", "title-category": "category", "category": "category",
                "query-item": "item", "item": "item"}


@dataclass(frozen=True)
class RelevancePair:
    """One labelled pair: is `target` (a category path or an item title) relevant to `query`?"""

    query: str
    target: str
    label: int
    kind: str = "query-item"  # query-category | query-item | title-category
    lang: str | None = None


@dataclass
class CrossEncoderConfig:
    """Training settings of the relevance cross-encoder."""

    base_model: str = "packaged:multilingual-e5-small"
    max_length: int = 64
    batch_size: int = 16
    max_steps: int = 200
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    freeze_embeddings: bool = True  # the 96 M-parameter word-embedding table of e5-small (see models/freeze.py)
    seed: int = 0
    pos_weight: float | None = None  # BCE weight of positives; None: negatives / positives of the data
    lora: dict[str, Any] | None = None  # e.g. {"r": 8, "alpha": 16, "dropout": 0.1}: peft LoRA instead of full FT
    extra: dict[str, Any] = field(default_factory=dict)


def marked_target(kind: str, target: str) -> str:
    """The target text with the pair's kind written in front (the field QC and QI share one model by)."""
    try:
        marker = KIND_MARKERS[kind]
    except KeyError:
        raise ValueError(f"unknown pair kind {kind!r}; use one of {sorted(KIND_MARKERS)}") from None
    return f"{marker}: {target}"


def model_inputs(pairs: Sequence[RelevancePair]) -> list[tuple[str, str]]:
    """(query, marked target) for each pair, as the cross-encoder reads them."""
    return [(p.query, marked_target(p.kind, p.target)) for p in pairs]


def _base_path(base_model: str) -> str:
    from seaembed.models import PACKAGED_PREFIX, ensure_packaged

    if base_model.startswith(PACKAGED_PREFIX):
        return str(ensure_packaged(base_model[len(PACKAGED_PREFIX):]))
    return base_model


def new_cross_encoder(base_model: str, *, max_length: int = 64, lora: dict[str, Any] | None = None,
                      seed: int | None = 0):
    """A CrossEncoder with a 1-logit head on `base_model` (packaged:..., a hub id or a local dir). The head (and
    any LoRA adapter) is initialised from `seed`, so the same call gives the same model (None: torch's current
    random state)."""
    import torch
    from sentence_transformers.cross_encoder import CrossEncoder

    if seed is not None:
        torch.manual_seed(seed)
    model = CrossEncoder(_base_path(base_model), num_labels=1, max_length=max_length, device="cpu")
    if lora:
        from peft import LoraConfig, TaskType

        model.add_adapter(LoraConfig(task_type=TaskType.SEQ_CLS, r=int(lora.get("r", 8)),
                                     lora_alpha=int(lora.get("alpha", 16)),
                                     lora_dropout=float(lora.get("dropout", 0.1))))
    return model


def class_balance(pairs: Sequence[RelevancePair]) -> dict[str, dict[str, int]]:
    """Positive and negative counts per kind (what the training report shows)."""
    out: dict[str, dict[str, int]] = {}
    for p in pairs:
        c = out.setdefault(p.kind, {"pos": 0, "neg": 0})
        c["pos" if p.label else "neg"] += 1
    return out


def train_cross_encoder(pairs: Sequence[RelevancePair], config: CrossEncoderConfig, out_dir: str | Path, *,
                        model: Any = None) -> Path:
    """Train the relevance cross-encoder on `pairs` and save it to `out_dir`; returns `out_dir`."""
    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    if not pairs:
        raise ValueError("no relevance pairs to train on")
    labels = [int(p.label) for p in pairs]
    if set(labels) - {0, 1}:
        raise ValueError(f"relevance labels must be 0 or 1, got {sorted(set(labels) - {0, 1})}")
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    model = model or new_cross_encoder(config.base_model, max_length=config.max_length, lora=config.lora,
                                       seed=config.seed)
    if config.freeze_embeddings and not config.lora:
        from seaembed.models import freeze_word_embeddings

        freeze_word_embeddings(model)
    inputs = model_inputs(pairs)
    data = Dataset.from_dict({"query": [a for a, _ in inputs], "target": [b for _, b in inputs],
                              "label": [float(y) for y in labels]})
    n_pos = sum(labels)
    pos_weight = config.pos_weight if config.pos_weight is not None else (len(labels) - n_pos) / max(n_pos, 1)
    loss = BinaryCrossEntropyLoss(model, pos_weight=torch.tensor(float(pos_weight)))
    out_dir = Path(out_dir)
    args = CrossEncoderTrainingArguments(
        output_dir=str(out_dir / "_trainer"), max_steps=config.max_steps, per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate, warmup_steps=float(config.warmup_ratio), seed=config.seed, data_seed=config.seed,
        save_strategy="no", report_to="none", logging_steps=max(config.max_steps // 10, 1), use_cpu=True,
        dataloader_num_workers=0, disable_tqdm=True)
    CrossEncoderTrainer(model=model, args=args, train_dataset=data, loss=loss).train()
    model.save(str(out_dir))
    import shutil

    shutil.rmtree(out_dir / "_trainer", ignore_errors=True)
    return out_dir


def is_saved_cross_encoder(path: str | Path) -> bool:
    """Whether `path` is a saved cross-encoder (an HF `...ForSequenceClassification` config, and no
    sentence-transformers model type other than CrossEncoder). A bi-encoder directory is not: loaded as a
    CrossEncoder it would get a new random head and give meaningless scores."""
    import json

    def read(name: str) -> dict:
        try:
            data = json.loads((Path(path) / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    archs = read("config.json").get("architectures") or []
    st_type = read("config_sentence_transformers.json").get("model_type")
    return st_type in (None, "CrossEncoder") and any(str(a).endswith("ForSequenceClassification") for a in archs)


def load_cross_encoder(path: str | Path):
    """A saved relevance cross-encoder (scores in [0, 1]: sigmoid of the logit)."""
    from sentence_transformers.cross_encoder import CrossEncoder

    return CrossEncoder(str(path), device="cpu")


def score_pairs(model: Any, pairs: Sequence[RelevancePair], *, batch_size: int = 64) -> np.ndarray:
    """Relevance scores in [0, 1] of `pairs`, in order."""
    if not pairs:
        return np.zeros(0, dtype=np.float32)
    return np.asarray(model.predict(model_inputs(pairs), batch_size=batch_size, show_progress_bar=False),
                      dtype=np.float32).reshape(-1)
