"""`self_validation.action: downweight` end to end: the example's `weight` reaches the loss, which weights each
row's InfoNCE term by it and normalises by the weight sum."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seaembed.atomic import write_jsonl
from seaembed.augment.config import SelfValidationConfig
from seaembed.augment.pairs import example
from seaembed.augment.records import DropLog
from seaembed.augment.self_validation import self_validate
from seaembed.train.data import ExampleTrackingCollator, load_training_data
from seaembed.train.losses import CachedCAMInfoNCELoss, CAMInfoNCELoss


def _embeddings(n: int = 6, dim: int = 16, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, dim, generator=g, dtype=torch.float64).requires_grad_() for _ in range(3)]


def _labels(keys: list[int], weights: list[float]) -> torch.Tensor:
    return torch.tensor([[k, w] for k, w in zip(keys, weights, strict=True)], dtype=torch.float64)


KEYS = [-1, -1, 0, 0, -1, 1]
# raw embeddings have no token ids to fingerprint, so the duplicate rule is off in the tests on embeddings


def test_a_row_of_weight_zero_contributes_no_gradient():
    loss_fn = CAMInfoNCELoss(nn.Identity(), mask_duplicate_positive=False)
    embs = _embeddings()
    loss = loss_fn.compute_loss_from_embeddings(embs, _labels(KEYS, [0, 1, 1, 1, 1, 1]))
    loss.backward()
    assert torch.count_nonzero(embs[0].grad[0]) == 0  # row 0's query is only in row 0's own term
    assert torch.count_nonzero(embs[0].grad[1:]) > 0
    # the loss is the mean of the other rows' terms (row 0's texts stay candidates of the others)
    with torch.no_grad():
        rows = loss_fn.row_losses(loss_fn.prepare(embs, torch.tensor(KEYS), None), 0, 6)
    assert torch.allclose(loss, rows[1:].mean())


def test_weights_scale_each_row_and_normalise_by_their_sum():
    loss_fn = CAMInfoNCELoss(nn.Identity(), mask_duplicate_positive=False)
    embs = _embeddings()
    w = torch.tensor([0.3, 1.0, 2.0, 1.0, 0.5, 1.0], dtype=torch.float64)
    with torch.no_grad():
        rows = loss_fn.row_losses(loss_fn.prepare(embs, torch.tensor(KEYS), None), 0, 6)
        weighted = loss_fn.compute_loss_from_embeddings(embs, _labels(KEYS, w.tolist()))
    assert torch.allclose(weighted, (w * rows).sum() / w.sum())


def test_all_weights_one_equal_the_unweighted_loss_and_gradients():
    loss_fn = CAMInfoNCELoss(nn.Identity(), mask_duplicate_positive=False)
    a, b = _embeddings(), _embeddings()
    plain = loss_fn.compute_loss_from_embeddings(a, torch.tensor(KEYS))
    ones = loss_fn.compute_loss_from_embeddings(b, _labels(KEYS, [1.0] * 6))
    plain.backward()
    ones.backward()
    assert torch.allclose(plain, ones)
    assert all(torch.allclose(x.grad, y.grad) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("mini", [1, 4])
def test_cached_loss_weights_rows_the_same_way(mini):
    plain = CAMInfoNCELoss(nn.Identity(), mask_duplicate_positive=False)
    cached = CachedCAMInfoNCELoss.__new__(CachedCAMInfoNCELoss)  # the cached loss without a model to embed with
    nn.Module.__init__(cached)
    cached.loss, cached.mini_batch_size, cached._fingerprints = CAMInfoNCELoss(nn.Identity(), mask_duplicate_positive=False), mini, None
    labels = _labels(KEYS, [0, 1, 2, 1, 0.5, 1])
    a, b = _embeddings(), _embeddings()
    expected = plain.compute_loss_from_embeddings(a, labels)
    expected.backward()
    reps = [list(e.split(mini)) for e in b]
    value = cached.calculate_loss(reps, labels, with_backward=True)
    assert torch.allclose(value, expected.detach())
    assert torch.count_nonzero(b[0].grad[0]) == 0
    assert all(torch.allclose(x.grad, y.grad) for x, y in zip(a, b, strict=True))


def test_negative_weights_are_rejected():
    with pytest.raises(ValueError, match="weights"):
        CAMInfoNCELoss(nn.Identity(), mask_duplicate_positive=False).compute_loss_from_embeddings(_embeddings(), _labels(KEYS, [1, -1, 1, 1, 1, 1]))


def test_downweighted_row_reaches_the_loss_with_its_weight(bow, tiny_model_dir, tmp_path):
    from sentence_transformers import SentenceTransformer

    from seaembed.train.sampler import TextNoDuplicatesBatchSampler

    texts = {"shoes": [f"sepatu lari {w}" for w in ("pria", "wanita", "anak", "hitam", "putih", "murah", "ringan",
                                                      "original")],
             "bags": [f"tas ransel {w}" for w in ("kulit", "laptop", "sekolah", "hitam", "putih", "murah", "kanvas",
                                                 "original")]}
    rows = [example(t, lab, "classification", lang="id", source="s", origin_id=f"{lab}{i}", label=lab)
            for lab, ts in texts.items() for i, t in enumerate(ts)]
    rows[0] = rows[0].model_copy(update={"label": "bags"})  # "sepatu lari pria" labelled bags
    cfg = SelfValidationConfig(folds=3, given_below=0.4, other_above=0.6, action="downweight", downweight_to=0.25)
    kept = self_validate(rows, bow, cfg, DropLog())
    path = tmp_path / "train.jsonl"
    write_jsonl(path, kept)

    data = load_training_data([path])
    cols = data.groups["classification"]
    assert cols["weight"][cols["query"].index("sepatu lari pria")] == 0.25
    assert sorted(cols["weight"]).count(1.0) == len(rows) - 1
    dataset = data.to_dataset_dict()["classification"]
    # the weight is not a text column: batches are not cut short by equal weights
    sampler = TextNoDuplicatesBatchSampler(dataset, batch_size=8)
    assert "weight" not in sampler.dedupe_columns and all(len(b) == 8 for b in sampler)

    model = SentenceTransformer(str(tiny_model_dir), device="cpu")
    model.eval()
    batch = ExampleTrackingCollator(preprocess_fn=model.preprocess)([dataset[i] for i in range(len(dataset))])
    labels = batch["label"]
    assert labels.shape == (len(rows), 2) and "weight_input_ids" not in batch
    assert labels[:, 1].tolist() == cols["weight"]
    assert labels[:, 0].long().tolist() == cols["label"]

    feats = [model.preprocess(cols["query"]), model.preprocess(cols["positive"])]
    loss_fn = CAMInfoNCELoss(model)
    with torch.no_grad():
        weighted = loss_fn(feats, labels)
        embs = [model(f)["sentence_embedding"] for f in feats]
        per_row = loss_fn.row_losses(loss_fn.prepare(embs, labels[:, 0].long(), loss_fn.fingerprints(feats)), 0,
                                     len(rows))
    w = labels[:, 1].float()
    assert torch.allclose(weighted, (w * per_row).sum() / w.sum(), atol=1e-6)
    assert not torch.allclose(weighted, per_row.mean(), atol=1e-6)


def test_without_downweighted_rows_there_is_no_weight_column(tmp_path):
    path = tmp_path / "train.jsonl"
    write_jsonl(path, [example("sepatu lari", "sepatu lari pria hitam", "query-item", lang="id", source="s",
                               origin_id="p1")])
    assert "weight" not in load_training_data([path]).groups["query-item"]
