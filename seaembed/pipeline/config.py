"""`RunConfig`: one YAML file for the whole flow, with per-profile overrides.

```yaml
base_model: packaged:multilingual-e5-small
data:   {...}                  # a DataConfig (seaembed data build); its out/work/report paths are set by the run
train:  {batch_size: 32, ...}  # a TrainConfig without model/train_files/output_dir (the run fills them)
merge:  {method: slerp, t: auto, grid: [0, 0.25, 0.5, 0.75, 1.0], epsilon: 0.01}
eval:   {domain_tasks: [sample:tasks/...], general_tasks: [...], baselines: [bm25]}
export: {formats: [onnx-int8]}
index:  {catalog: sample:catalog.jsonl, text_fields: [title, category], tune_on: [sample:tasks/...]}
relevance: {enabled: true, max_steps: 150}   # the QC / QI cross-encoder (off by default)
profiles:
  quick: {train: {max_steps: 80}}   # deep-merged over the sections above by --profile quick
```
Paths are relative to the config file; `sample:NAME` names a file or task of the bundled sample; `domain` and
`general` in a task list stand for the bundled dev tasks of that group.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from seaembed import PACKAGED_E5
from seaembed.config import load_yaml, validate
from seaembed.errors import ConfigError

DEFAULT_CONFIG = Path(__file__).with_name("default.yaml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MergeSettings(_Strict):
    """Spherical merge of the tuned model with the base; `t: auto` searches t on the dev tasks."""

    enabled: bool = True
    method: Literal["slerp", "linear"] = "slerp"
    t: float | Literal["auto"] = "auto"
    grid: list[float] = Field(default_factory=lambda: [0.0, 0.25, 0.5, 0.75, 1.0])
    epsilon: float = Field(0.01, ge=0)
    domain_tasks: list[str] | None = None  # None: the eval section's
    general_tasks: list[str] | None = None
    # a general (guard) task whose task.json `source` is also a source of a training row: warn (one line, and
    # run.json `guard_overlap`) or refuse to start
    guard_overlap: Literal["warn", "error"] = "warn"


class EvalSettings(_Strict):
    """Dev tasks the final model is judged on, and the baselines evaluated in the same run."""

    domain_tasks: list[str] = Field(default_factory=lambda: ["domain"])
    general_tasks: list[str] = Field(default_factory=lambda: ["general"])
    baselines: list[str] = Field(default_factory=lambda: ["bm25"])
    compare_base: bool = True
    compare_tuned: bool = True
    batch_size: int = Field(32, ge=1)
    # every dev task is cut into a select half (the run's choices: merge t, fusion weight) and a report half
    # (what the eval stage, the summary and the HTML report quote), seeded by this (seaembed.evaluate.halves)
    split_seed: int = 0


class ExportSettings(_Strict):
    formats: list[Literal["onnx", "onnx-int8", "openvino", "openvino-int8"]] = Field(default_factory=lambda: ["onnx-int8"])


# The shipped dev retrieval tasks of the domain group: the index stage tunes hybrid search's weight on them.
# Three query shapes: descriptive multilingual queries (dense's strength), category names, and words copied from
# titles (BM25's): the weight is chosen for the mix a marketplace's traffic has, not for one shape.
DEFAULT_TUNE_ON = ["sample:tasks/multilingual-product-search", "sample:tasks/prdect-category-retrieval",
                   "sample:tasks/prdect-title-queries"]


class IndexSettings(_Strict):
    """The catalog index of the final model. `tune_on`: retrieval tasks (entries as in the eval section: paths,
    `sample:tasks/NAME`) on which the index's fusion weight is chosen for this model; [] keeps the default."""

    enabled: bool = True
    catalog: str = "sample:catalog.jsonl"
    text_fields: list[str] = Field(default_factory=lambda: ["title", "category"])
    kind: Literal["auto", "flat", "hnsw", "ivfpq"] = "auto"
    tune_on: list[str] = Field(default_factory=lambda: list(DEFAULT_TUNE_ON))
    showcase_queries: list[str] = Field(default_factory=list)  # searched at the end of the run, results printed


class RelevanceFile(_Strict):
    """A CIKM-shaped CSV (`language, origin_query, category_path | item_title, label`) and the kind of its pairs."""

    path: str
    kind: Literal["query-category", "query-item", "title-category"]


class RelevanceSettings(_Strict):
    """The relevance cross-encoder (QC / QI, docs/relevance.md), trained after `train` as its own stage and scored
    on `eval_task` (threshold per group chosen on its select half, F1 on its report half) beside the bi-encoder
    cosine of the final model (and of the base with `eval.compare_base`) and the all-positive floor. Off by default.
    `files`: relevance JSONL (`text1, text2, label, kind, lang`) or CIKM CSVs with their kind; None reads the data
    section's `sources.relevance` (with their `fields`)."""

    enabled: bool = False
    files: list[str | RelevanceFile] | None = None
    base_model: str | None = None  # None: the run's base model (a new 1-logit head on it)
    max_steps: int = Field(150, ge=1)
    batch_size: int = Field(16, ge=1)
    learning_rate: float = Field(5e-5, gt=0)
    max_length: int = Field(64, ge=8)
    seed: int = 0
    freeze_embeddings: bool = True
    lora: dict[str, Any] | None = None  # e.g. {r: 8, alpha: 16}: peft LoRA instead of full fine-tuning
    eval_task: str = "sample:tasks/product-query-relevance"


class ServeSettings(_Strict):
    """How the result should be served: shapes the `seaembed serve` command the run prints (serving is not a stage)."""

    backend: Literal["auto", "torch", "onnx", "openvino", "vllm"] = "auto"
    quantization: Literal["fp8"] | None = None
    use_export: Literal["onnx", "onnx-int8", "openvino", "openvino-int8"] | None = None  # serve the exported ONNX model instead of the torch one
    port: int = 8080


class RunConfig(_Strict):
    """The whole flow. `data` and `train` are validated by their stages' own models when the run starts."""

    base_model: str = PACKAGED_E5
    data: dict[str, Any] = Field(default_factory=dict)
    train: dict[str, Any] = Field(default_factory=dict)
    merge: MergeSettings = Field(default_factory=MergeSettings)
    eval: EvalSettings = Field(default_factory=EvalSettings)
    export: ExportSettings = Field(default_factory=ExportSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    relevance: RelevanceSettings = Field(default_factory=RelevanceSettings)
    serve: ServeSettings = Field(default_factory=ServeSettings)
    profiles: dict[str, dict[str, Any]] = Field(default_factory=dict)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`base` with `override` merged in: mappings recursively, everything else replaced."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_run_config(path: str | Path | None = None, *, profile: str | None = None,
                    overrides: dict[str, Any] | None = None) -> tuple[RunConfig, Path]:
    """Load a run config (the embedded default when `path` is None), apply a profile and overrides.

    Returns the config and the directory its relative paths are resolved against.
    """
    path = Path(path) if path is not None else DEFAULT_CONFIG
    raw = load_yaml(path)
    profiles = raw.get("profiles", {}) or {}
    if profile is not None:
        if profile not in profiles:
            known = ", ".join(sorted(profiles)) or "none"
            raise ConfigError(f"{path}: no profile '{profile}' (profiles in this config: {known})")
        raw = deep_merge({k: v for k, v in raw.items() if k != "profiles"}, profiles[profile])
        raw["profiles"] = profiles
    if overrides:
        raw = deep_merge(raw, overrides)
    return validate(RunConfig, raw, source=str(path)), path.resolve().parent
