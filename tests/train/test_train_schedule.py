"""The optimizer-step plan of a run: warm-up steps from warmup_ratio, and max_steps covering every epoch."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest
import yaml


def _write_rows(d: Path, n_cat: int = 30, n_ret: int = 30, dup_every: int = 0) -> Path:
    cats = ["sepatu", "tas", "kaos"]
    rows = [{"query": f"{cats[i % 3]} model {i}", "positive": f"kategori {cats[i % 3]}", "task": "title-category",
             "label": cats[i % 3]} for i in range(n_cat)]
    # dup_every > 0: retrieval rows share positives, so the no-duplicate batching varies with the shuffle
    rows += [{"query": f"cari barang {i}", "positive": f"barang {i % dup_every if dup_every else i}",
              "task": "query-item"} for i in range(n_ret)]
    path = d / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _load(d: Path, model_dir: Path, **overrides):
    from seaembed.train.config import load_train_config

    train = _write_rows(d, dup_every=overrides.pop("dup_every", 0))
    cfg = {"model": str(model_dir), "train_files": [train.name], "output_dir": "out", "batch_size": 8,
           "checkpoint_steps": 1000, "learning_rate": 1e-3, "logging_steps": 1, "seed": 3, "resume": False,
           **overrides}
    path = d / "train.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return load_train_config(path)


def _v4_get_warmup_steps(self, num_training_steps: int) -> int:
    """transformers 4.x: `warmup_steps` is a step count; the ratio applies only when it is 0."""
    return self.warmup_steps if self.warmup_steps > 0 else math.ceil(num_training_steps * self.warmup_ratio)


def test_warmup_steps_are_an_integer_count():
    from seaembed.train.trainer import warmup_steps_for

    assert warmup_steps_for(0.1, 100) == 10 and warmup_steps_for(0.1, 95) == 10 and warmup_steps_for(0.0, 50) == 0
    assert warmup_steps_for(0.3, 10) == 3 and warmup_steps_for(1.0, 7) == 7


@pytest.mark.parametrize("semantics", ["installed", "transformers4"])
def test_scheduler_lr_follows_the_warmup_ratio_of_the_planned_steps(tmp_path, tiny_model_dir, monkeypatch,
                                                                     semantics):
    import torch
    from transformers import TrainingArguments, get_linear_schedule_with_warmup

    from seaembed.train.trainer import prepare_run

    if semantics == "transformers4":
        monkeypatch.setattr(TrainingArguments, "get_warmup_steps", _v4_get_warmup_steps)
    cfg = _load(tmp_path, tiny_model_dir, max_steps=10, warmup_ratio=0.25, scheduler="linear")
    run = prepare_run(cfg, progress=False)
    run.trainer.train()
    assert run.trainer.state.global_step == 10
    assert run.trainer.args.warmup_steps == 3  # ceil(0.25 * 10)
    logged = {h["step"]: h["learning_rate"] for h in run.trainer.state.log_history if "learning_rate" in h}
    assert sorted(logged) == list(range(1, 11))
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    ref = get_linear_schedule_with_warmup(opt, num_warmup_steps=3, num_training_steps=10)
    expected = {}
    for k in range(1, 11):  # the rate logged at step k is the one step k was taken with
        expected[k] = ref.get_last_lr()[0]
        opt.step()
        ref.step()
    assert expected[1] == 0 and expected[3] == pytest.approx(2e-3 / 3) and expected[4] == pytest.approx(1e-3)
    for k in range(1, 11):
        assert logged[k] == pytest.approx(expected[k], rel=1e-6, abs=1e-12), (k, logged, expected)


def _sampler_of(trainer):
    sampler = trainer.get_train_dataloader().batch_sampler
    return getattr(sampler, "batch_sampler", sampler)


def _epochs_seen(out: Path) -> dict[int, list[int]]:
    by_epoch: dict[int, list[int]] = {}
    for line in (out / "examples_seen.jsonl").read_text().splitlines():
        r = json.loads(line)
        by_epoch.setdefault(r["epoch"], []).extend(r["ids"])
    return by_epoch


def test_three_epochs_plan_and_run_the_sum_of_their_batches(tmp_path, tiny_model_dir):
    from seaembed.train.trainer import prepare_run

    cfg = _load(tmp_path, tiny_model_dir, epochs=3, dup_every=12)
    run = prepare_run(cfg, progress=False)
    sampler = _sampler_of(run.trainer)
    raw = [len(sampler._raw_steps(e)) for e in range(3)]
    assert len(set(raw)) > 1  # the shuffles of this data and seed do give epochs of different lengths
    per_epoch = []
    for e in range(3):
        sampler.set_epoch(e)
        per_epoch.append(len(list(sampler)))
    sampler.set_epoch(0)
    run.trainer.train()
    assert run.trainer.state.max_steps == sum(per_epoch)
    assert run.trainer.state.global_step == sum(per_epoch)
    seen = _epochs_seen(Path(cfg.output_dir))
    assert sorted(seen) == [0, 1, 2]
    for e in range(3):
        assert Counter(seen[e]) == Counter(range(60)), f"epoch {e}: examples lost or repeated"


def test_max_steps_over_several_epochs_plans_every_epoch_it_reaches(tmp_path, tiny_model_dir):
    """max_steps reaching into epoch 2: epochs 0 and 1 each show every example exactly once."""
    from seaembed.train.trainer import prepare_run

    (tmp_path / "probe").mkdir()
    probe = _sampler_of(prepare_run(_load(tmp_path / "probe", tiny_model_dir, epochs=3, dup_every=12),
                                    progress=False).trainer)
    raw = [len(probe._raw_steps(e)) for e in range(3)]
    assert raw[0] < max(raw[1:])  # epoch 0 alone under-plans the later epochs
    max_steps = 2 * max(raw) + 2
    cfg = _load(tmp_path, tiny_model_dir, max_steps=max_steps, dup_every=12)
    run = prepare_run(cfg, progress=False)
    run.trainer.train()
    assert run.trainer.state.global_step == max_steps
    seen = _epochs_seen(Path(cfg.output_dir))
    for e in (0, 1):
        assert Counter(seen[e]) == Counter(range(60)), f"epoch {e}: examples lost or repeated"
    assert len(seen[2]) == len(set(seen[2]))
