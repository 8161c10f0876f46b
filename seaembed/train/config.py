"""Settings of `seaembed train CONFIG.yaml` (pydantic; validated with errors naming the file and field)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from seaembed.train.class_keys import LABEL_SPACE_TASKS


class LossConfig(BaseModel):
    """The contrastive loss: CAM-masked InfoNCE (default) or plain MultipleNegativesRankingLoss (`name: mnrl`)."""

    model_config = ConfigDict(extra="forbid")

    name: Literal["cam", "mnrl"] = "cam"
    temperature: float = Field(0.05, gt=0)
    mask_same_class: bool = True
    mask_duplicate_positive: bool = True
    margin_mask: float | None = None
    mask_cross_task_label_space: bool = False
    label_space_in_batch_negatives: bool = True
    query_query: bool = False
    doc_query: bool = False
    doc_doc: bool = False
    cached: bool = False
    mini_batch_size: int = Field(32, ge=1)
    gather_across_devices: bool = True


class LoraConfig(BaseModel):
    """LoRA adapters through peft; merged into the weights when training ends."""

    model_config = ConfigDict(extra="forbid")

    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: ["query", "key", "value", "dense"])


class TrainConfig(BaseModel):
    """Everything one training run needs. Relative paths are resolved against the config file's folder."""

    model_config = ConfigDict(extra="forbid")

    model: str = "packaged:multilingual-e5-small"
    train_files: list[Path] = Field(min_length=1)
    dev_file: Path | None = None
    dev_max_queries: int = Field(500, ge=1)
    output_dir: Path
    group_by: Literal["task", "source"] = "task"
    mixing: Literal["proportional", "round_robin"] = "proportional"
    label_space_tasks: list[str] = Field(default_factory=lambda: list(LABEL_SPACE_TASKS))
    max_negatives: int = Field(3, ge=0)
    query_prompt: str | None = None  # None: the model's "query" prompt
    passage_prompt: str | None = None  # None: the model's "passage"/"document" prompt
    max_seq_length: int | None = Field(128, ge=8)

    loss: LossConfig = Field(default_factory=LossConfig)
    batch_size: int = Field(64, ge=1)
    epochs: float = Field(1.0, gt=0)
    max_steps: int | None = Field(None, ge=1)
    learning_rate: float = Field(2e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, le=1)
    scheduler: Literal["cosine", "linear", "constant_with_warmup"] = "cosine"
    bf16: bool = False
    # Recompute activations in the backward pass: lower peak memory per step, at the cost of a second forward.
    gradient_checkpointing: bool = False
    lora: LoraConfig | None = None
    freeze_word_embeddings: bool | None = None  # None: freeze on CPU, train on GPU
    matryoshka_dims: list[int] | None = None
    checkpoint_steps: int = Field(500, ge=1)
    save_total_limit: int | None = Field(2, ge=1)
    eval_steps: int | None = Field(None, ge=1)  # None: evaluate at every checkpoint (when a dev file is given)
    logging_steps: int = Field(10, ge=1)
    seed: int = 42
    resume: bool = True
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dataloader_num_workers: int = Field(0, ge=0)
    torch_threads: int | None = Field(None, ge=1)  # None: torch's default; 1 is often faster on a busy shared CPU

    @field_validator("matryoshka_dims")
    @classmethod
    def _dims_positive(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (not v or any(d < 1 for d in v)):
            raise ValueError("matryoshka_dims must be a non-empty list of positive integers")
        return sorted(set(v), reverse=True) if v else v

    def resolve_paths(self, base: Path) -> TrainConfig:
        """A copy with relative file paths made absolute against `base` (the config file's folder)."""

        def fix(p: Path | None) -> Path | None:
            return None if p is None or p.is_absolute() else (base / p)

        model = self.model
        if not model.startswith("packaged:") and (base / model).exists() and not Path(model).is_absolute():
            model = str(base / model)
        return self.model_copy(update={
            "model": model,
            "train_files": [fix(p) or p for p in self.train_files],
            "dev_file": fix(self.dev_file) or self.dev_file,
            "output_dir": fix(self.output_dir) or self.output_dir,
        })


def load_train_config(path: str | Path) -> TrainConfig:
    """Load and validate a training config (a top-level `train:` section is accepted too)."""
    from seaembed.config import load_yaml, validate

    path = Path(path)
    data = load_yaml(path)
    if "train" in data and isinstance(data["train"], dict) and "train_files" not in data:
        data = data["train"]
    return validate(TrainConfig, data, source=str(path)).resolve_paths(path.parent.resolve())
