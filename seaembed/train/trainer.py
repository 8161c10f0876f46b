"""`train(config)`: contrastive fine-tuning on sentence-transformers' trainer, resumable after `kill -9`.

`SeaembedTrainer` is a thin `SentenceTransformerTrainer` subclass that adds what the run needs beyond it:
- the consumed-examples log (one fsynced line per optimizer step, see `checkpoints.py`);
- compact checkpoints holding only the trainable parameters (the frozen embedding table or the frozen base under
  LoRA is rebuilt from the base model), with a completeness marker and our own rotation after the marker is down.
Everything else (optimizer, cosine warm-up schedule, bf16 autocast, DDP, RNG state, data skipping on resume) is the
HF Trainer's.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from sentence_transformers import SentenceTransformerTrainer
from transformers import TrainerCallback

from seaembed.progress import interactive
from seaembed.progress import tqdm as progress_tqdm
from seaembed.runner import release_free_memory
from seaembed.train.checkpoints import (
    ExamplesSeenLog,
    check_resume,
    checkpoint_step,
    latest_complete_checkpoint,
    log_name,
    mark_complete,
)
from seaembed.train.config import TrainConfig

logger = logging.getLogger(__name__)

TRAINABLE_STATE = "trainable_state.safetensors"


def _rank_world() -> tuple[int, int]:
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def loss_stats(loss: Any) -> dict[str, int]:
    """The `last_stats` of a (possibly wrapped, e.g. Matryoshka) seaembed loss, or {}."""
    seen = 0
    while loss is not None and seen < 4:
        stats = getattr(loss, "last_stats", None)
        if isinstance(stats, dict):
            return stats
        loss = getattr(loss, "loss", None)
        seen += 1
    return {}


def route_model_card_bar_to_progress() -> None:
    """sentence-transformers' model card draws a "Computing widget examples" tqdm bar of its own while the trainer
    is built; route it through `seaembed.progress.tqdm`, so a log gets plain lines instead of cursor codes.

    Its module binds `tqdm` at import, after our CLI has set up progress, so `TQDM_DISABLE` cannot reach it.
    """
    try:
        from sentence_transformers.base import model_card
    except ImportError:  # an older layout without the shared model-card module: nothing to route
        return
    if hasattr(model_card, "tqdm"):
        model_card.tqdm = progress_tqdm


class _ExamplesSeenCallback(TrainerCallback):
    def __init__(self, trainer: SeaembedTrainer) -> None:
        self.trainer = trainer

    def on_step_end(self, args, state, control, **kwargs):
        self.trainer.flush_step_log(state)
        if not torch.cuda.is_available():
            release_free_memory()  # CPU: freed activations go back to the OS each step (RSS 4.4 -> 1.3 GiB)
        delay = float(os.environ.get("SEAEMBED_TRAIN_STEP_DELAY", "0") or 0)
        if delay > 0:  # slows a run down on purpose, so tests can kill it mid-way
            time.sleep(delay)


class SeaembedTrainer(SentenceTransformerTrainer):
    """SentenceTransformerTrainer + consumed-examples log + compact, kill-safe checkpoints."""

    def __init__(self, *args: Any, examples_log: ExamplesSeenLog | None = None, keep_checkpoints: int | None = 2,
                 warmup_ratio: float | None = None, **kwargs: Any) -> None:
        route_model_card_bar_to_progress()
        super().__init__(*args, **kwargs)
        self.warmup_ratio = warmup_ratio
        self.examples_log = examples_log
        self.keep_checkpoints = keep_checkpoints
        self._step_ids: list[int] = []
        self._step_candidates: int | None = None
        if examples_log is not None:
            self.add_callback(_ExamplesSeenCallback(self))

    # -- warm-up ------------------------------------------------------------------------------------------

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        """The configured scheduler, its warm-up `ceil(warmup_ratio * planned steps)` as an integer step count.

        `num_training_steps` is the trainer's own plan (max_steps, or epochs x batches per epoch). An integer
        `warmup_steps` means the same on transformers 4.x and 5.x (a float below 1 is a ratio only on 5.x).
        """
        if self.warmup_ratio is not None and self.lr_scheduler is None:
            self.args.warmup_steps = warmup_steps_for(self.warmup_ratio, num_training_steps)
        return super().create_scheduler(num_training_steps, optimizer)

    # -- consumed-examples log ----------------------------------------------------------------------------

    def compute_loss(self, model, inputs, return_outputs: bool = False, num_items_in_batch=None):
        ids = inputs.pop("example_idx", None)
        out = super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)
        if ids is not None and self.model.training:
            self._step_ids.extend(int(i) for i in ids.tolist())
            self._step_candidates = loss_stats(self.loss).get("candidates")
        return out

    def flush_step_log(self, state) -> None:
        if self.examples_log is None or not self._step_ids:
            return
        rank, _ = _rank_world()
        self.examples_log.append({"step": state.global_step, "epoch": max(0, math.ceil((state.epoch or 0) - 1e-6) - 1),
                                  "rank": rank, "ids": self._step_ids, "candidates": self._step_candidates})
        self._step_ids, self._step_candidates = [], None

    # -- compact checkpoints ------------------------------------------------------------------------------

    def _save(self, output_dir: str | None = None, state_dict=None) -> None:
        if output_dir is not None and checkpoint_step(Path(output_dir)) is not None:
            from safetensors.torch import save_file

            os.makedirs(output_dir, exist_ok=True)
            model = getattr(self.model, "_orig_mod", self.model)
            tensors = {n: p.detach().to("cpu").contiguous() for n, p in model.named_parameters() if p.requires_grad}
            save_file(tensors, os.path.join(output_dir, TRAINABLE_STATE))
            return
        super()._save(output_dir, state_dict)

    def _load_from_checkpoint(self, checkpoint_path: str, model=None) -> None:
        from safetensors.torch import load_file

        path = os.path.join(checkpoint_path, TRAINABLE_STATE)
        if not os.path.exists(path):
            return super()._load_from_checkpoint(checkpoint_path)
        state = load_file(path)
        target = getattr(self.model, "_orig_mod", self.model)
        trainable = {n for n, p in target.named_parameters() if p.requires_grad}
        if set(state) != trainable:
            from seaembed.errors import ConfigError

            raise ConfigError(f"{checkpoint_path}: checkpoint does not match the model's trainable parameters "
                              "(was the config changed since it was written?); train with --no-resume to start over")
        params = dict(target.named_parameters())
        with torch.no_grad():
            for n, t in state.items():
                params[n].copy_(t.to(params[n].device, params[n].dtype))

    def _save_checkpoint(self, model, trial) -> None:
        super()._save_checkpoint(model, trial)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.barrier()  # every rank's RNG state is on disk before the marker
        if self.args.should_save:
            run_dir = Path(self._get_output_dir(trial=trial))
            mark_complete(run_dir / f"checkpoint-{self.state.global_step}")
            self._rotate_complete(run_dir)

    def _rotate_complete(self, run_dir: Path) -> None:
        if not self.keep_checkpoints:
            return
        done = sorted((checkpoint_step(d), d) for d in run_dir.iterdir()
                      if checkpoint_step(d) is not None and (d / ".complete").exists())
        for _, d in done[: max(0, len(done) - self.keep_checkpoints)]:
            shutil.rmtree(d, ignore_errors=True)


def warmup_steps_for(ratio: float, total_steps: int) -> int:
    """Warm-up steps for a warm-up `ratio` of `total_steps` planned optimizer steps: ceil(ratio * total)."""
    return int(math.ceil(ratio * total_steps - 1e-9)) if ratio > 0 else 0


# -- building a run -------------------------------------------------------------------------------------------

def build_loss(config: TrainConfig, model, class_keys=None, distributed: bool = False):
    """The configured loss (CAM or MNRL, cached or not, optionally inside MatryoshkaLoss)."""
    from sentence_transformers.sentence_transformer import losses as st_losses

    from seaembed.train.losses import CachedCAMInfoNCELoss, CAMInfoNCELoss

    lc = config.loss
    gather = lc.gather_across_devices and distributed
    if lc.name == "mnrl":
        directions = ("query_to_doc",) + (("query_to_query",) if lc.query_query else ()) + \
            (("doc_to_query",) if lc.doc_query else ()) + (("doc_to_doc",) if lc.doc_doc else ())
        kw = dict(scale=1.0 / lc.temperature, gather_across_devices=gather, directions=directions)
        loss = (st_losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=lc.mini_batch_size, **kw)
                if lc.cached else st_losses.MultipleNegativesRankingLoss(model, **kw))
    else:
        kw = dict(temperature=lc.temperature, mask_same_class=lc.mask_same_class,
                  mask_duplicate_positive=lc.mask_duplicate_positive, margin_mask=lc.margin_mask,
                  mask_cross_task_label_space=lc.mask_cross_task_label_space,
                  label_space_in_batch_negatives=lc.label_space_in_batch_negatives, query_query=lc.query_query,
                  doc_query=lc.doc_query, doc_doc=lc.doc_doc, gather_across_devices=gather)
        loss = (CachedCAMInfoNCELoss(model, mini_batch_size=lc.mini_batch_size, **kw) if lc.cached
                else CAMInfoNCELoss(model, **kw))
    if config.matryoshka_dims:
        dims = [d for d in config.matryoshka_dims if d <= model.get_embedding_dimension()]
        loss = st_losses.MatryoshkaLoss(model, loss, matryoshka_dims=dims)
    return loss


def _device(config: TrainConfig) -> str:
    if config.device != "auto":
        return config.device
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class PreparedRun:
    """A training run built but not started: the trainer and what `train` reports once it has run."""

    trainer: SeaembedTrainer
    resume_from: Path | None
    model: Any
    data: Any
    loss: Any
    inference_max_seq_length: int
    trainable: int
    total: int
    frozen: int


def train(config: TrainConfig, *, progress: bool = True) -> Path:
    """Run one training job; returns the directory of the trained sentence-transformers model (OUTPUT/model)."""
    from seaembed.atomic import atomic_dir, write_json
    from seaembed.train.model_setup import merge_lora

    rank, world = _rank_world()
    out = Path(config.output_dir)
    run = prepare_run(config, progress=progress)
    trainer, model, data, loss = run.trainer, run.model, run.data, run.loss
    trainer.train(resume_from_checkpoint=str(run.resume_from) if run.resume_from else None)

    model_dir = out / "model"
    if trainer.is_world_process_zero():
        merged = merge_lora(model)
        model.max_seq_length = run.inference_max_seq_length
        _fill_model_card(model, config, data, loss)
        with atomic_dir(model_dir) as tmp:
            model.save(str(tmp))
            _insert_card_section(tmp / "README.md", card_section(config, data, loss, trainer.state.log_history))
        write_json(out / "class_keys.json", data.class_keys.to_dict())
        write_json(out / "train_summary.json", {
            "model": str(config.model), "train_files": [str(p) for p in config.train_files],
            "examples": data.n_examples, "tasks": data.tasks, "groups": {k: len(v["query"]) for k, v in
                                                                         data.groups.items()},
            "loss": type(loss).__name__, "loss_config": loss.get_config_dict(), "lora_merged": merged,
            "trainable_parameters": run.trainable, "total_parameters": run.total,
            "frozen_word_embedding_parameters": run.frozen,
            "global_step": trainer.state.global_step, "log_history": trainer.state.log_history,
            "world_size": world})
    if world > 1 and torch.distributed.is_initialized():
        torch.distributed.barrier()
    return model_dir


def prepare_run(config: TrainConfig, *, progress: bool = True) -> PreparedRun:
    """Load data and model and build the trainer (and the resume point) of `config`, without training."""
    from sentence_transformers import SentenceTransformerTrainingArguments
    from transformers import set_seed

    from seaembed.models import freeze_word_embeddings, load_model
    from seaembed.train.class_keys import ClassKeys
    from seaembed.train.data import ExampleTrackingCollator, column_prompts, load_training_data
    from seaembed.train.dev_eval import build_dev_evaluator
    from seaembed.train.model_setup import add_lora, count_parameters

    rank, world = _rank_world()
    out = Path(config.output_dir)
    ckpt_root = out / "checkpoints"
    out.mkdir(parents=True, exist_ok=True)
    check_resume(config)  # a resume with other train files, base model or settings stops here, before loading
    device = _device(config)
    if config.torch_threads:
        torch.set_num_threads(config.torch_threads)
    set_seed(config.seed)

    data = load_training_data(config.train_files, group_by=config.group_by, max_negatives=config.max_negatives,
                              class_keys=ClassKeys(config.label_space_tasks))
    model = load_model(config.model, device=device)
    inference_max_seq_length = model.max_seq_length
    if config.max_seq_length:  # a training-time truncation only: the saved model keeps the base's limit
        model.max_seq_length = config.max_seq_length
    query_prompt = config.query_prompt if config.query_prompt is not None else model.prompts.get("query")
    passage_prompt = config.passage_prompt if config.passage_prompt is not None else (
        model.prompts.get("passage") or model.prompts.get("document"))
    frozen = 0
    if config.lora is not None:
        add_lora(model, config.lora.r, config.lora.alpha, config.lora.dropout, config.lora.target_modules)
    elif config.freeze_word_embeddings if config.freeze_word_embeddings is not None else device == "cpu":
        frozen = freeze_word_embeddings(model)
    trainable, total = count_parameters(model)
    logger.info("trainable parameters: %d of %d (%d frozen in the word-embedding table)", trainable, total, frozen)

    loss = build_loss(config, model, distributed=world > 1)
    evaluator = None
    if config.dev_file is not None:
        evaluator = build_dev_evaluator(config.dev_file, max_queries=config.dev_max_queries,
                                        query_prompt=query_prompt, passage_prompt=passage_prompt)

    from seaembed.train.sampler import make_group_sampler, make_mixing_sampler

    columns = ["query", "positive", *data.negative_columns()]
    prompts = column_prompts(columns, query_prompt, passage_prompt)
    eval_steps = config.eval_steps or config.checkpoint_steps
    args = SentenceTransformerTrainingArguments(
        output_dir=str(ckpt_root),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=0,  # set from warmup_ratio and the planned step count in SeaembedTrainer.create_scheduler
        lr_scheduler_type=config.scheduler,
        bf16=config.bf16,
        gradient_checkpointing=config.gradient_checkpointing,
        # non-reentrant, the variant torch recommends (it needs no input that requires grad)
        gradient_checkpointing_kwargs={"use_reentrant": False} if config.gradient_checkpointing else None,
        use_cpu=device == "cpu",
        save_strategy="steps",
        save_steps=config.checkpoint_steps,
        save_total_limit=None,  # rotated by SeaembedTrainer once the newest checkpoint is marked complete
        eval_strategy="steps" if evaluator is not None else "no",
        eval_steps=eval_steps if evaluator is not None else None,
        logging_steps=config.logging_steps,
        seed=config.seed,
        data_seed=config.seed,
        prompts=prompts or None,
        batch_sampler=make_group_sampler,
        multi_dataset_batch_sampler=make_mixing_sampler(
            config.mixing, epochs=None if config.max_steps else math.ceil(config.epochs), max_steps=config.max_steps),
        dataloader_drop_last=False,
        dataloader_num_workers=config.dataloader_num_workers,
        report_to="none",
        disable_tqdm=not (progress and interactive()),  # in a log: the trainer prints a line per logging step
        ddp_backend=("gloo" if device == "cpu" else None) if world > 1 else None,
    )
    log = ExamplesSeenLog(out / log_name(rank))
    resume_from = None
    if config.resume:
        resume_from = latest_complete_checkpoint(ckpt_root, clean_incomplete=rank == 0)
    elif rank == 0 and ckpt_root.exists():
        shutil.rmtree(ckpt_root)
    if resume_from is not None:
        moved = log.truncate_to(checkpoint_step(resume_from) or 0)
        logger.info("resuming from %s (%d logged steps after it were discarded)", resume_from, moved)
    else:
        log.reset()
    collator = ExampleTrackingCollator(preprocess_fn=model.preprocess, prompts=args.prompts)
    trainer = SeaembedTrainer(model=model, args=args, train_dataset=data.to_dataset_dict(), loss=loss,
                              evaluator=evaluator, data_collator=collator, examples_log=log,
                              keep_checkpoints=config.save_total_limit, warmup_ratio=config.warmup_ratio)
    return PreparedRun(trainer=trainer, resume_from=resume_from, model=model, data=data, loss=loss,
                       inference_max_seq_length=inference_max_seq_length, trainable=trainable, total=total,
                       frozen=frozen)


def _fill_model_card(model, config: TrainConfig, data, loss) -> None:
    """Name and tag the card sentence-transformers generates (its body comes from the trainer's callback)."""
    card = model.model_card_data
    try:
        card.model_name = f"seaembed fine-tune of {config.model}"
        if not str(config.model).startswith("packaged:") and not Path(str(config.model)).exists():
            card.base_model = str(config.model)
        card.tags = sorted(set((card.tags or []) + ["seaembed", "class-aware-masking"]))
    except Exception as e:  # the card is informative; never fail a finished training run over it
        logger.warning("could not fill the model card: %s", e)


def card_section(config: TrainConfig, data, loss, log_history: list[dict]) -> str:
    """The seaembed section of the model card: base model, data, loss, last dev evaluation."""
    lines = ["## seaembed training", "",
             f"- **Base model:** `{config.model}`",
             f"- **Training data:** {data.n_examples} examples from " +
             ", ".join(f"`{Path(p).name}`" for p in config.train_files),
             "- **Examples per task:** " + ", ".join(f"{t}: {n}" for t, n in sorted(data.tasks.items())),
             f"- **Loss:** `{type(loss).__name__}` `{json.dumps(loss.get_config_dict(), default=str)}` "
             "(InfoNCE with Class-Aware Masking; see seaembed docs/training.md)",
             f"- **Batch size:** {config.batch_size}, lr {config.learning_rate}, {config.scheduler} schedule, "
             f"warm-up ratio {config.warmup_ratio}, LoRA: {f'r={config.lora.r}' if config.lora else 'no'}"]
    evals = [h for h in log_history if any(k.startswith("eval_") and k.endswith("accuracy@1") for k in h)]
    if evals:
        last = evals[-1]
        lines += ["", f"Dev evaluation at step {last.get('step')}:", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k[5:]} | {v:.4f} |" for k, v in sorted(last.items())
                  if k.startswith("eval_") and isinstance(v, float) and ("accuracy@1" in k or "ndcg@10" in k)]
    return "\n".join(lines) + "\n"


def _insert_card_section(readme: Path, section: str) -> None:
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    marker = "\n## Model Details"
    text = text.replace(marker, "\n" + section + marker, 1) if marker in text else text + "\n" + section
    readme.write_text(text, encoding="utf-8")
