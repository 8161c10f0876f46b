"""Batch sampling for contrastive training: one task per batch, no duplicate texts, every example once per epoch.

Built on sentence-transformers' sampler machinery (the trainer calls these through `batch_sampler` /
`multi_dataset_batch_sampler` with a `DatasetDict` of one dataset per task group):

- `TextNoDuplicatesBatchSampler` (a `NoDuplicatesBatchSampler`) batches one group so that no text repeats within a
  batch, comparing only the text columns it is told to (label-space groups compare only the queries: their targets
  are class names shared by design, which Class-Aware Masking handles). It never drops or repeats an example.
- `TaskMixingBatchSampler` (a `MultiDatasetDefaultBatchSampler`) interleaves the groups' batches proportionally or
  round-robin. Unlike sentence-transformers' Proportional/RoundRobin samplers it keeps every batch the child samplers
  produce (those may yield more batches than their estimated length, or stop early), so every example is seen exactly
  once per epoch. Under DDP it emits the batches of one training step (one per process) from the same group and
  makes each group's batch count a multiple of the world size by splitting batches, never by repeating examples
  (a remainder that cannot be split, e.g. a one-row group under 2 processes, is left out of that epoch: see
  `_split_to_multiple`).

The order depends only on (seed, epoch), so a resumed run replays the same order and the trainer can skip the batches
already consumed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from itertools import accumulate
from typing import Literal

import torch
from sentence_transformers.base.sampler import MultiDatasetDefaultBatchSampler, NoDuplicatesBatchSampler
from torch.utils.data import BatchSampler, ConcatDataset

logger = logging.getLogger(__name__)

TEXT_COLUMNS_EXCLUDED = ("label", "example_idx", "weight", "dataset_name")
MAX_PLANNED_EPOCHS = 50


class TextNoDuplicatesBatchSampler(NoDuplicatesBatchSampler):
    """No-duplicate batches over `dedupe_columns` (default: every text column; label-space data: the queries)."""

    def __init__(self, dataset, batch_size: int, drop_last: bool = False, valid_label_columns=None, generator=None,
                 seed: int = 0, dedupe_columns: Sequence[str] | None = None) -> None:
        # Our own generator: the trainer shares one between all child samplers, which would couple their orders.
        super().__init__(dataset, batch_size=batch_size, drop_last=False, valid_label_columns=valid_label_columns,
                         generator=torch.Generator(), seed=seed)
        if dedupe_columns is None:
            dedupe_columns = [c for c in dataset.column_names if c not in TEXT_COLUMNS_EXCLUDED]
            if "label" in dataset.column_names and any(k >= 0 for k in dataset["label"]):
                dedupe_columns = ["query"]
        self.dedupe_columns = list(dedupe_columns)
        self.dataset = dataset.select_columns(self.dedupe_columns)


def make_group_sampler(dataset, batch_size: int, drop_last: bool = False, valid_label_columns=None, generator=None,
                       seed: int = 0) -> TextNoDuplicatesBatchSampler:
    """Factory with the signature sentence-transformers' trainer calls for `batch_sampler`."""
    return TextNoDuplicatesBatchSampler(dataset, batch_size, drop_last, valid_label_columns, generator, seed)


def _world() -> tuple[int, int]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def _split_to_multiple(batches: list[list[int]], multiple: int) -> list[list[int]]:
    """Bring the batch count to a multiple of `multiple` (the world size) without repeating an example.

    The largest batches are split in two until the count divides. When every batch is down to one example and the
    count still does not divide (a group with fewer examples than processes, or singletons forced by duplicate
    texts), the last `count % multiple` one-example batches are left out of this epoch: no process waits for a
    batch the others do not have, and no example is repeated. The batches come shuffled per epoch, so a group with
    more examples than processes leaves out a different example each epoch; a group with fewer examples than
    processes (e.g. one row under 2 processes) is never trained on, with a warning.
    """
    batches = [list(b) for b in batches]
    while len(batches) % multiple:
        i = max(range(len(batches)), key=lambda j: len(batches[j]))
        if len(batches[i]) < 2:
            extra = len(batches) % multiple
            left_out = [x for b in batches[len(batches) - extra:] for x in b]
            batches = batches[: len(batches) - extra]
            logger.warning("a task group's %d example(s) cannot be spread over %d processes without repeating one: "
                           "example(s) %s left out of this epoch", sum(map(len, batches)) + len(left_out), multiple,
                           left_out)
            break
        b = batches.pop(i)
        half = (len(b) + 1) // 2
        batches[i:i] = [b[:half], b[half:]]
    return batches


class TaskMixingBatchSampler(MultiDatasetDefaultBatchSampler):
    """Interleave per-group batches (`mixing` = "proportional" or "round_robin"); every example once per epoch.

    The HF trainer takes the number of batches per epoch from `len()` once, before the first epoch, and then draws
    exactly that many batches every epoch. No-duplicate batching can give a different count per shuffle, so every
    epoch's plan is brought to the same length (the largest over every planned epoch) by splitting its largest
    batches in two; nothing is dropped or repeated. The planned epochs are `epochs`, or, given `max_steps`, as many
    as `max_steps` steps of that length need (the count is solved jointly, since a longer epoch needs fewer). The
    trainer's plan (epochs x len(), or max_steps) is then exactly the number of steps the sampler yields. At most
    `MAX_PLANNED_EPOCHS` epochs are planned; a later epoch longer than the plan loses its last steps, with a warning.
    """

    def __init__(self, dataset: ConcatDataset, batch_samplers: list[BatchSampler], generator=None, seed: int = 0,
                 mixing: Literal["proportional", "round_robin"] = "proportional", epochs: int | None = None,
                 world_size: int | None = None, max_steps: int | None = None) -> None:
        super().__init__(dataset, batch_samplers=batch_samplers, generator=generator, seed=seed)
        if mixing not in ("proportional", "round_robin"):
            raise ValueError(f"mixing must be 'proportional' or 'round_robin', got {mixing!r}")
        self.mixing = mixing
        self.epochs = max(1, min(int(epochs or 1), MAX_PLANNED_EPOCHS))
        self.max_steps = max_steps
        self.world_size = world_size if world_size is not None else _world()[0]
        self._steps: dict[int, list[list[list[int]]]] = {}
        self._target_steps: int | None = None
        if self.world_size > 1:
            # accelerate's BatchSamplerShard holds back a step whose last batch is not `batch_size` long; our batches
            # legitimately vary (duplicates, group ends), so declare a dynamic batch size (None) to have all kept.
            self.batch_size = None

    def plan(self, epoch: int) -> list[list[int]]:
        """The batches of `epoch`, as global indices into the concatenated dataset."""
        target = self.target_steps()
        steps = self._raw_steps(epoch)
        if len(steps) > target:
            logger.warning("epoch %d has %d steps, more than the %d planned; the last ones will not be used",
                           epoch, len(steps), target)
        steps = steps[:target]
        steps = _pad_steps(steps, target)
        if len(steps) < target:
            logger.warning("epoch %d has only %d steps of the %d planned (its batches cannot be split further)",
                           epoch, len(steps), target)
        return [b for step in steps for b in step]

    def target_steps(self) -> int:
        """Steps (world_size batches each) of every epoch: the most any planned epoch needs."""
        if self._target_steps is None:
            n = self.epochs
            target = max(len(self._raw_steps(e)) for e in range(n))
            while self.max_steps:  # the epochs max_steps needs depend on the epoch length, which they can raise
                need = min(math.ceil(self.max_steps / max(target, 1)), MAX_PLANNED_EPOCHS)
                if need <= n:
                    break
                self.epochs = need  # keeps the plans of every planned epoch in the cache
                target = max(target, *(len(self._raw_steps(e)) for e in range(n, need)))
                n = need
            self.epochs, self._target_steps = n, target
        return self._target_steps

    def _raw_steps(self, epoch: int) -> list[list[list[int]]]:
        if epoch not in self._steps:
            if len(self._steps) > self.epochs + 2:
                self._steps.pop(min(self._steps))
            self._steps[epoch] = self._build_steps(epoch)
        return self._steps[epoch]

    def _build_steps(self, epoch: int) -> list[list[list[int]]]:
        """Steps of `epoch` (each a list of world_size batches from one group), in mixing order."""
        offsets = [0, *accumulate(len(d) for d in self.dataset.datasets)]
        steps_per_group: list[list[list[list[int]]]] = []  # group -> steps -> batches (world_size of them)
        w = self.world_size
        for g, sampler in enumerate(self.batch_samplers):
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(epoch)
            batches = [[i + offsets[g] for i in b] for b in sampler if b]
            if w > 1 and batches:
                batches = _split_to_multiple(batches, w)
            steps_per_group.append([batches[i:i + w] for i in range(0, len(batches), w)])
        gen = torch.Generator().manual_seed(self.seed + epoch)
        order: list[int] = []
        if self.mixing == "proportional":
            order = [g for g, steps in enumerate(steps_per_group) for _ in steps]
            order = [order[i] for i in torch.randperm(len(order), generator=gen).tolist()]
        else:
            remaining = [len(s) for s in steps_per_group]
            groups = torch.randperm(len(steps_per_group), generator=gen).tolist()
            while any(remaining):
                for g in groups:
                    if remaining[g]:
                        order.append(g)
                        remaining[g] -= 1
        cursors = [0] * len(steps_per_group)
        steps: list[list[list[int]]] = []
        for g in order:
            steps.append(steps_per_group[g][cursors[g]])
            cursors[g] += 1
        return steps

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.plan(self.epoch)

    def __len__(self) -> int:
        return len(self.plan(self.epoch))


def _pad_steps(steps: list[list[list[int]]], target: int) -> list[list[list[int]]]:
    """Split the largest steps (every batch of the step in two halves) until there are `target` steps."""
    steps = [list(s) for s in steps]
    while len(steps) < target:
        splittable = [i for i, s in enumerate(steps) if all(len(b) >= 2 for b in s)]
        if not splittable:
            break
        i = max(splittable, key=lambda j: sum(len(b) for b in steps[j]))
        step = steps.pop(i)
        halves = [(b[: (len(b) + 1) // 2], b[(len(b) + 1) // 2:]) for b in step]
        steps[i:i] = [[h[0] for h in halves], [h[1] for h in halves]]
    return steps


def make_mixing_sampler(mixing: str = "proportional", epochs: int | None = None, max_steps: int | None = None):
    """A picklable factory for `multi_dataset_batch_sampler` with the chosen mixing and planned epochs or steps."""
    import functools

    return functools.partial(TaskMixingBatchSampler, mixing=mixing, epochs=epochs, max_steps=max_steps)
