"""CAMInfoNCELoss: equals MNRL without keys/duplicates, masks exactly the right candidates, cached == uncached."""

from __future__ import annotations

import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import (
    CachedMultipleNegativesRankingLoss,
    MultipleNegativesRankingLoss,
)

from seaembed.train.losses import CachedCAMInfoNCELoss, CAMInfoNCELoss
from seaembed.train.losses.text_identity import text_fingerprints

QUERIES = [f"sepatu lari pria {i}" for i in range(8)]
POSITIVES = [f"tas ransel wanita kulit {i}" for i in range(8)]
NEGATIVES = [f"kaos polos katun hitam {i}" for i in range(8)]


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    m = SentenceTransformer(str(tiny_model_dir), device="cpu")
    m.eval()  # no dropout: the two losses must see identical embeddings
    return m


def features(model, *columns):
    return [model.preprocess(list(c)) for c in columns]


def no_keys(n=8):
    return torch.full((n,), -1, dtype=torch.long)


@pytest.mark.parametrize("negatives", [False, True])
@pytest.mark.parametrize("gte", [False, True])
def test_equals_mnrl_without_keys_and_duplicates(model, negatives, gte):
    cols = (QUERIES, POSITIVES, NEGATIVES) if negatives else (QUERIES, POSITIVES)
    feats = features(model, *cols)
    directions = ("query_to_doc", "query_to_query", "doc_to_query", "doc_to_doc") if gte else ("query_to_doc",)
    mnrl = MultipleNegativesRankingLoss(model, scale=1 / 0.05, directions=directions)(feats, no_keys())
    cam = CAMInfoNCELoss(model, temperature=0.05, query_query=gte, doc_query=gte, doc_doc=gte)(feats, no_keys())
    assert torch.allclose(cam, mnrl, atol=1e-6, rtol=0), (cam.item(), mnrl.item())


def test_same_class_keys_change_the_loss_but_not_without_masking(model):
    feats = features(model, QUERIES, POSITIVES)
    keys = torch.tensor([0, 0, 1, 1, -1, -1, 2, 2])
    unmasked = CAMInfoNCELoss(model, mask_same_class=False)(feats, keys)
    plain = CAMInfoNCELoss(model)(feats, no_keys())
    masked = CAMInfoNCELoss(model)(feats, keys)
    assert torch.allclose(unmasked, plain, atol=1e-7)
    assert masked < plain  # removing candidates can only shrink each row's denominator


def _logit_grads(model, loss: CAMInfoNCELoss, feats, keys):
    """d loss / d (q_i . d_j) through the similarity matrix, by hooking the query->document logits."""
    with torch.no_grad():
        embs = [model(f)["sentence_embedding"] for f in feats]
    embs = [e.clone().requires_grad_() for e in embs]
    fps = loss.fingerprints(feats)
    captured = {}
    from seaembed.train.losses import cam_infonce

    original = cam_infonce.cos_sim

    def hooked(a, b):
        s = original(a, b)
        if "qd" not in captured:
            s.retain_grad()
            captured["qd"] = s
        return s

    cam_infonce.cos_sim = hooked
    try:
        value = loss.compute_loss_from_embeddings(embs, keys, fps)
        value.backward()
    finally:
        cam_infonce.cos_sim = original
    return captured["qd"].grad, embs


def test_masked_candidates_get_exactly_zero_gradient(model):
    positives = list(POSITIVES)
    positives[5] = positives[4]  # rows 4 and 5 share their positive text (rule b), both without a class
    feats = features(model, QUERIES, positives, NEGATIVES)
    keys = torch.tensor([0, 0, 1, 1, -1, -1, 2, 3])
    grad, _ = _logit_grads(model, CAMInfoNCELoss(model), feats, keys)
    n = 8
    expected_masked = {(0, 1), (1, 0), (2, 3), (3, 2), (4, 5), (5, 4)}
    for i in range(n):
        for j in range(2 * n):
            g = grad[i, j].item()
            if (i, j) in expected_masked:
                assert g == 0.0, (i, j)
            else:
                assert g != 0.0, (i, j)  # every unmasked candidate (own positive, others, hard negatives) trains


def test_margin_rule_masks_candidates_above_the_positive(model):
    feats = features(model, QUERIES, POSITIVES)
    loss = CAMInfoNCELoss(model, margin_mask=-2.0)  # every other candidate scores above s_pos - 2: all masked
    value = loss(feats, no_keys())
    assert torch.allclose(value, torch.zeros(()), atol=1e-6)  # only the positive remains: -log 1 = 0
    loss = CAMInfoNCELoss(model, margin_mask=2.0)  # nothing scores above s_pos + 2
    assert torch.allclose(loss(feats, no_keys()), CAMInfoNCELoss(model)(feats, no_keys()))


def test_cross_task_and_no_in_batch_options(model):
    feats = features(model, QUERIES, POSITIVES, NEGATIVES)
    t0, t1 = 0, 1 << 32  # keys of two different tasks (class_keys encoding)
    keys = torch.tensor([t0, t0 + 1, t1, t1 + 1, -1, -1, -1, -1])
    grad, _ = _logit_grads(model, CAMInfoNCELoss(model, mask_cross_task_label_space=True), feats, keys)
    assert grad[0, 2].item() == 0.0 and grad[0, 4].item() == 0.0  # task-0 row: task-1 and retrieval rows masked
    assert grad[0, 1].item() != 0.0  # same task, different class: still a negative
    assert grad[4, 0].item() != 0.0  # retrieval rows keep every candidate
    grad, _ = _logit_grads(model, CAMInfoNCELoss(model, label_space_in_batch_negatives=False), feats, keys)
    assert all(grad[0, j].item() == 0.0 for j in range(16) if j not in (0, 8))  # only own positive + own negative
    assert grad[0, 8].item() != 0.0


def test_fingerprints_identify_identical_token_sequences(model):
    f = model.preprocess(["tas kulit", "tas kulit", "tas  kulit", "kaos"])
    fp = text_fingerprints(f)
    assert fp[0] == fp[1] and fp[1] == fp[2]  # whitespace normalised by the tokenizer: the model sees the same
    assert fp[0] != fp[3]
    g = model.preprocess(["tas kulit", "a much longer text that widens the padding"])
    assert text_fingerprints(g)[0] == fp[0]  # independent of padding width


def _param_grads(model, loss, feats, keys):
    model.zero_grad()
    loss(feats, keys).backward()
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


@pytest.mark.parametrize("gte", [False, True])
def test_cached_gradients_equal_uncached(tiny_model_dir, gte):
    model = SentenceTransformer(str(tiny_model_dir), device="cpu").double()
    model.eval()
    positives = list(POSITIVES)
    positives[3] = positives[2]
    feats = features(model, QUERIES, positives, NEGATIVES)
    keys = torch.tensor([0, 0, 1, 1, -1, -1, 2, 2])
    kw = dict(query_query=gte, doc_doc=gte, doc_query=gte)
    g_plain = _param_grads(model, CAMInfoNCELoss(model, **kw), feats, keys)
    for mini in (1, 3, 8):
        g_cached = _param_grads(model, CachedCAMInfoNCELoss(model, mini_batch_size=mini, **kw), feats, keys)
        assert torch.allclose(g_cached, g_plain, atol=1e-5, rtol=0), (mini, (g_cached - g_plain).abs().max())
        assert g_plain.abs().max() > 1e-3


def test_cached_float32_matches_and_values_agree(model):
    feats = features(model, QUERIES, POSITIVES)
    keys = torch.tensor([0, 0, 1, 1, -1, -1, 2, 2])
    plain = CAMInfoNCELoss(model)(feats, keys)
    cached = CachedCAMInfoNCELoss(model, mini_batch_size=3)(feats, keys)
    assert torch.allclose(plain, cached, atol=1e-5)
    mnrl_cached = CachedMultipleNegativesRankingLoss(model, scale=20, mini_batch_size=3)(feats, no_keys())
    cam_cached = CachedCAMInfoNCELoss(model, mini_batch_size=3)(feats, no_keys())
    assert torch.allclose(mnrl_cached, cam_cached, atol=1e-6)


def test_bad_labels_shape_is_rejected(model):
    with pytest.raises(ValueError, match="one class key per row"):
        CAMInfoNCELoss(model)(features(model, QUERIES, POSITIVES), torch.zeros(3, dtype=torch.long))
