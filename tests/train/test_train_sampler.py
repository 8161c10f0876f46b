"""Batch sampling: one group per batch, no duplicate texts, every example exactly once, deterministic per epoch."""

from __future__ import annotations

from collections import Counter

import pytest
from datasets import Dataset
from torch.utils.data import ConcatDataset

from seaembed.train.sampler import TaskMixingBatchSampler, _split_to_multiple, make_group_sampler


def _datasets():
    a = Dataset.from_dict({  # retrieval-style group with some duplicated positives
        "query": [f"q{i}" for i in range(30)],
        "positive": [f"p{i % 20}" for i in range(30)],
        "label": [-1] * 30, "example_idx": list(range(30))})
    b = Dataset.from_dict({  # label-space group: 3 class names shared by many rows
        "query": [f"title {i}" for i in range(25)],
        "positive": [f"cat{i % 3}" for i in range(25)],
        "label": [i % 3 for i in range(25)], "example_idx": list(range(30, 55))})
    return [a, b]


def _sampler(mixing="proportional", world_size=1, seed=7, batch_size=8):
    ds = _datasets()
    children = [make_group_sampler(d, batch_size=batch_size, seed=seed) for d in ds]
    return TaskMixingBatchSampler(ConcatDataset(ds), children, seed=seed, mixing=mixing, world_size=world_size), ds


@pytest.mark.parametrize("mixing", ["proportional", "round_robin"])
def test_every_example_once_one_group_per_batch_no_duplicates(mixing):
    sampler, ds = _sampler(mixing)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    flat = [i for b in batches for i in b]
    assert Counter(flat) == Counter(range(55))  # exactly once
    for b in batches:
        assert all(i < 30 for i in b) or all(i >= 30 for i in b)  # one group
        assert len(b) <= 8
        if b[0] < 30:
            texts = [ds[0][i]["query"] for i in b] + [ds[0][i]["positive"] for i in b]
            assert len(texts) == len(set(texts))  # retrieval group: no duplicate text at all
        else:
            queries = [ds[1][i - 30]["query"] for i in b]
            assert len(queries) == len(set(queries))
    # label-space group keeps several rows of one class in a batch (CAM's job, not the sampler's)
    assert any(len({ds[1][i - 30]["positive"] for i in b}) < len(b) for b in batches if b[0] >= 30)


def test_deterministic_per_seed_and_epoch_and_varies_across_epochs():
    s1, _ = _sampler()
    s2, _ = _sampler()
    assert list(s1) == list(s2)
    s1.set_epoch(1)
    s2.set_epoch(1)
    e1 = list(s1)
    assert e1 == list(s2)
    s1.set_epoch(0)
    assert list(s1) != e1
    s3, _ = _sampler(seed=8)
    assert list(s3) != list(_sampler()[0])


def test_round_robin_alternates_groups():
    sampler, _ = _sampler("round_robin")
    groups = [b[0] >= 30 for b in sampler]
    assert groups[0] != groups[1]  # both groups have batches left at the start, so they alternate


def test_world_size_steps_share_a_group_and_counts_divide():
    sampler, _ = _sampler(world_size=2)
    batches = list(sampler)
    assert len(batches) % 2 == 0
    assert sampler.batch_size is None  # tells accelerate the batch size is dynamic
    for k in range(0, len(batches), 2):
        assert (batches[k][0] >= 30) == (batches[k + 1][0] >= 30)  # one step = one group on every process
    assert Counter(i for b in batches for i in b) == Counter(range(55))


def test_split_to_multiple_keeps_every_index():
    out = _split_to_multiple([[1, 2, 3], [4, 5], [6]], 2)
    assert len(out) % 2 == 0 and sorted(i for b in out for i in b) == [1, 2, 3, 4, 5, 6]
    assert _split_to_multiple([[1]], 2) == []  # one example cannot feed 2 processes without repeating it
    assert _split_to_multiple([[1], [2], [3]], 2) == [[1], [2]]  # singletons (duplicates): the remainder waits


@pytest.mark.parametrize("mixing", ["proportional", "round_robin"])
def test_world_size_two_with_groups_of_one_three_and_seven(mixing):
    sizes = (1, 3, 7)
    offsets = [0, 1, 4]
    ds = [Dataset.from_dict({"query": [f"g{g} q{i}" for i in range(n)], "positive": [f"g{g} p{i}" for i in range(n)],
                             "label": [-1] * n, "example_idx": [offsets[g] + i for i in range(n)]})
          for g, n in enumerate(sizes)]
    children = [make_group_sampler(d, batch_size=8, seed=5) for d in ds]
    sampler = TaskMixingBatchSampler(ConcatDataset(ds), children, seed=5, mixing=mixing, world_size=2, epochs=3)
    lengths = set()
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        lengths.add(len(batches))
        assert len(batches) == len(sampler) and len(batches) % 2 == 0  # both ranks get the same number of batches
        assert all(batches)  # no empty batch for either rank
        group = [0 if b[0] < 1 else 1 if b[0] < 4 else 2 for b in batches]
        for k in range(0, len(batches), 2):
            assert group[k] == group[k + 1]  # one step = one group on both ranks
        seen = Counter(i for b in batches for i in b)
        assert max(seen.values()) == 1  # nothing repeated
        assert set(seen) == set(range(1, 11))  # groups of 3 and 7 split evenly: all seen; the one-row group left out
    assert len(lengths) == 1
    ranks = [batches[r::2] for r in range(2)]  # accelerate's BatchSamplerShard: batch k goes to rank k % 2
    assert len(ranks[0]) == len(ranks[1])


def test_every_epoch_has_the_same_number_of_batches():
    ds = _datasets()
    children = [make_group_sampler(d, batch_size=8, seed=1) for d in ds]
    sampler = TaskMixingBatchSampler(ConcatDataset(ds), children, seed=1, epochs=6)
    raw = {len(sampler._raw_steps(e)) for e in range(6)}
    assert len(raw) > 1  # this seed's shuffles do give different batch counts per epoch
    lengths = set()
    for epoch in range(6):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        lengths.add(len(batches))
        assert len(batches) == len(sampler)
        assert Counter(i for b in batches for i in b) == Counter(range(55))  # padding splits, never repeats
    assert lengths == {max(raw)}  # the trainer draws len() batches every epoch: all of them, every epoch


def test_pad_steps_splits_whole_steps():
    from seaembed.train.sampler import _pad_steps

    steps = [[[1, 2, 3, 4], [5, 6]], [[7], [8]]]
    out = _pad_steps(steps, 3)
    assert len(out) == 3 and all(len(s) == 2 for s in out)
    assert sorted(i for s in out for b in s for i in b) == list(range(1, 9))
