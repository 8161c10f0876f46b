r"""InfoNCE with Class-Aware Masking (CAM), a sentence-transformers loss.

Definition (ours; the Compass-Embedding v4 paper names CAM but publishes no formula). A batch holds N pairs
(q_i, p_i), each optionally with hard negatives n_{i,1..K}, and a class key k_i (-1 = no class). Let
s(a, b) be the cosine similarity, tau the temperature, D = {p_j} u {n_{j,k}} all candidate documents of the
batch (of every process when gathering). For row i:

    L_i = -log  exp(s(q_i, p_i)/tau) / Z_i

    Z_i = sum_{d in D}          [not M_i(d)]  exp(s(q_i, d)/tau)                     (query -> document)
        + sum_{j != i}          [not M_i(q_j)] exp(s(q_i, q_j)/tau)     if query_query (GTE)
        + sum_{j}               [not M_i(q_j)] exp(s(q_j, p_i)/tau)     if doc_query   (GTE; j = i is the pair)
        + sum_{d not of row i}  [not M_i(d)]  exp(s(p_i, d)/tau)        if doc_doc     (GTE)

The own positive is never masked. A candidate c owned by row j (c is q_j, p_j or n_{j,k}) is masked for row i,
M_i(c), when any enabled rule holds:

  (a) same class:  j != i, k_i = k_j >= 0, and c is q_j or p_j (hard negatives are explicit negatives of their
      row and carry no class);
  (b) duplicate:   c is a token-identical copy of row i's text of the same kind: of p_i for document candidates,
      of q_i for query candidates (identical inputs embed identically, so c would score exactly as the positive);
  (c) margin (Qwen3-Embedding, off by default):  s(anchor, c) > s(q_i, p_i) + margin;
  (d) cross-task (option): k_i >= 0 and row j belongs to another task (retrieval rows count as another task);
  (e) no in-batch negatives for label-space rows (option, an ablation): k_i >= 0 and j != i.

The loss is the mean of L_i over the rows or, when the batch carries row weights w_i (the `weight` of a training
example, e.g. one that self-validation down-weighted), sum_i w_i L_i / sum_i w_i: a row of weight 0 contributes
nothing, and all weights 1 give the plain mean. Weights scale a row's own term only; its texts stay candidates of
the other rows. The weights travel in the `labels` tensor, the one per-row tensor sentence-transformers hands a
loss: `labels` is either the class keys (R,) or (R, 2) float64 rows (class key, weight), see `split_labels`. Masked logits are set to -inf before the log-sum-exp, so masked
candidates receive exactly zero gradient. With every k_i = -1 and distinct texts no rule fires and the loss is
exactly sentence-transformers' MultipleNegativesRankingLoss with scale = 1/tau (with the same `directions`).

Why this definition: InfoNCE treats every other in-batch candidate as a negative. Under mixed-task supervision a
label-space row (title -> category, review -> rating) shares its target with many rows of the batch, so those
candidates are false negatives: the loss would push apart texts the labels say belong together. Rule (a) removes
exactly the candidates the labels declare positive, (b) the candidates that are the positive itself, and nothing
else, so retrieval rows keep the full set of in-batch negatives.

Reference: Ueareeworakul et al., "Compass-Embedding v4: Robust Contrastive Learning for Multilingual E-commerce
Embeddings", arXiv:2601.11565 (2025).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from seaembed.train.losses.gather import gather_layout, gather_no_grad, gather_with_grad
from seaembed.train.losses.text_identity import text_fingerprints

TASK_SHIFT = 32  # class keys built by seaembed.train.class_keys carry the task index in their high bits


@dataclass
class ContrastiveBatch:
    """The (possibly gathered) contrastive batch: embeddings and per-row metadata, in global row numbering."""

    queries: Tensor  # (R, dim)  R = rows of all processes (padded when gathering)
    docs: Tensor  # (C * R, dim) column-major: positives first, then each hard-negative column
    keys: Tensor  # (R,) class keys, -1 = none
    tasks: Tensor  # (R,) task ids, -1 = retrieval-style row
    query_fp: Tensor  # (R,) text fingerprints of the queries
    doc_fp: Tensor  # (C * R,)
    valid: Tensor  # (R,) False for padding rows of uneven gathers
    offset: int  # global index of this process's first row
    local_rows: int
    weights: Tensor | None = None  # (local_rows,) row weights of this process's rows; None = all 1

    @property
    def rows(self) -> int:
        return self.queries.shape[0]

    @property
    def columns(self) -> int:
        return self.docs.shape[0] // self.rows


def split_labels(labels: Tensor | None) -> tuple[Tensor | None, Tensor | None]:
    """(class keys, row weights) of a `labels` tensor: (R,) keys, or (R, 2) float64 (key, weight) rows as
    `seaembed.train.data.ExampleTrackingCollator` builds when the training data has a `weight` column (float64
    holds every class key exactly: keys are below 2**53)."""
    if labels is None or labels.dim() != 2:
        return labels, None
    if labels.shape[1] != 2:
        raise ValueError(f"labels must be (rows,) class keys or (rows, 2) (key, weight), got {tuple(labels.shape)}")
    return labels[:, 0].round().long(), labels[:, 1]


def weighted_row_sum(losses: Tensor, weights: Tensor | None, begin: int, end: int) -> Tensor:
    """sum of the row losses of rows [begin, end), each times its weight (weight 1 without weights)."""
    if weights is None:
        return losses.sum()
    return (losses * weights[begin:end].to(losses.dtype)).sum()


def weight_total(batch: ContrastiveBatch) -> float:
    """The normaliser of the loss: the number of rows, or the sum of their weights (1 where the sum is 0, so an
    all-zero batch is a loss of 0 without gradient rather than NaN)."""
    if batch.weights is None:
        return float(batch.local_rows)
    total = float(batch.weights.sum())
    return total if total > 0 else 1.0


class CAMInfoNCELoss(nn.Module):
    """InfoNCE with Class-Aware Masking; see the module docstring for the formula.

    Args:
        model: the SentenceTransformer being trained.
        temperature: tau; logits are cos_sim / tau (0.05 = MNRL's default scale 20).
        mask_same_class: rule (a), drop in-batch candidates of rows that share the row's class key (>= 0).
        mask_duplicate_positive: rule (b), drop candidates token-identical to the row's positive (or query).
        margin_mask: rule (c), drop candidates scoring above the positive's cosine plus this margin (Qwen3: 0.1).
        mask_cross_task_label_space: rule (d), for label-space rows drop candidates of rows from other tasks.
        label_space_in_batch_negatives: if False, rule (e): label-space rows keep only their own hard negatives.
        query_query / doc_query / doc_doc: add the GTE improved-contrastive terms to the denominator.
        task_ids: map from class key to task id for rule (d); by default the task is `key >> 32`, the encoding of
            `seaembed.train.class_keys.ClassKeys`.
        gather_across_devices: under torch.distributed, use the candidates of every process (gradients flow back
            through `torch.distributed.nn.all_gather`).
    """

    def __init__(
        self,
        model: nn.Module,
        temperature: float = 0.05,
        mask_same_class: bool = True,
        mask_duplicate_positive: bool = True,
        margin_mask: float | None = None,
        mask_cross_task_label_space: bool = False,
        label_space_in_batch_negatives: bool = True,
        query_query: bool = False,
        doc_query: bool = False,
        doc_doc: bool = False,
        task_ids: Mapping[int, int] | Sequence[int] | None = None,
        gather_across_devices: bool = False,
    ) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError("temperature must be positive")
        self.model = model
        self.temperature = float(temperature)
        self.mask_same_class = mask_same_class
        self.mask_duplicate_positive = mask_duplicate_positive
        self.margin_mask = margin_mask
        self.mask_cross_task_label_space = mask_cross_task_label_space
        self.label_space_in_batch_negatives = label_space_in_batch_negatives
        self.query_query = query_query
        self.doc_query = doc_query
        self.doc_doc = doc_doc
        self.task_ids = dict(task_ids) if isinstance(task_ids, Mapping) else (
            dict(enumerate(task_ids)) if task_ids is not None else None)
        self.gather_across_devices = gather_across_devices
        self.last_stats: dict[str, int] = {}

    @property
    def scale(self) -> float:
        return 1.0 / self.temperature

    # -- inputs -------------------------------------------------------------------------------------------

    def fingerprints(self, features: list[dict[str, Tensor]]) -> list[Tensor] | None:
        """Text fingerprints per column, needed only by the duplicate rule."""
        return [text_fingerprints(f) for f in features] if self.mask_duplicate_positive else None

    def _tasks_of(self, keys: Tensor) -> Tensor:
        if self.task_ids is None:
            tasks = torch.div(keys, 1 << TASK_SHIFT, rounding_mode="floor")
        else:
            tasks = torch.tensor([self.task_ids.get(int(k), -1) for k in keys.tolist()], dtype=torch.long,
                                 device=keys.device)
        return torch.where(keys >= 0, tasks, torch.full_like(keys, -1))

    def prepare(self, embeddings: list[Tensor], labels: Tensor | None,
                fingerprints: list[Tensor] | None) -> ContrastiveBatch:
        """Gather (optionally) and assemble the batch the loss is computed on."""
        if len(embeddings) < 2:
            raise ValueError(f"CAMInfoNCELoss needs (query, positive[, negatives...]) columns, got {len(embeddings)}")
        queries, columns = embeddings[0], list(embeddings[1:])
        n, device = queries.shape[0], queries.device
        labels, weights = split_labels(labels)
        if weights is not None:
            if (weights < 0).any() or not torch.isfinite(weights).all():
                raise ValueError("row weights must be finite and >= 0")
            weights = weights.to(device)
        keys = torch.full((n,), -1, dtype=torch.long, device=device) if labels is None else labels.to(device).long().view(-1)
        if keys.shape[0] != n:
            raise ValueError(f"labels must hold one class key per row ({n}), got shape {tuple(labels.shape)}")
        fps = fingerprints or [torch.zeros(n, dtype=torch.long, device=device) for _ in embeddings]
        fps = [f.to(device) for f in fps]
        if self.gather_across_devices:
            layout = gather_layout(n, device)
            queries = gather_with_grad(queries, layout)
            columns = [gather_with_grad(c, layout) for c in columns]
            keys = gather_no_grad(keys, layout)
            fps = [gather_no_grad(f, layout) for f in fps]
            valid, offset = layout.valid, layout.offset
        else:
            valid, offset = torch.ones(n, dtype=torch.bool, device=device), 0
        return ContrastiveBatch(queries=queries, docs=torch.cat(columns, dim=0), keys=keys, tasks=self._tasks_of(keys),
                                query_fp=fps[0], doc_fp=torch.cat(fps[1:], dim=0), valid=valid, offset=offset,
                                local_rows=n, weights=weights)

    # -- the loss -----------------------------------------------------------------------------------------

    def _mask(self, row: Tensor, batch: ContrastiveBatch, owner: Tensor, cand_key: Tensor, dup: Tensor,
              raw: Tensor, pos_raw: Tensor) -> Tensor:
        """Candidates masked for rows `row` (m,) among candidates owned by rows `owner` (n,): (m, n) bool."""
        mask = ~batch.valid[owner].unsqueeze(0).expand(row.shape[0], -1)
        key_i = batch.keys[row].unsqueeze(1)
        labelled = key_i >= 0
        other = owner.unsqueeze(0) != row.unsqueeze(1)
        if self.mask_same_class:
            mask = mask | (labelled & other & (cand_key.unsqueeze(0) == key_i))
        if self.mask_duplicate_positive:
            mask = mask | dup
        if self.margin_mask is not None:
            mask = mask | (raw.detach() > pos_raw.detach().unsqueeze(1) + self.margin_mask)
        if self.mask_cross_task_label_space:
            mask = mask | (labelled & other & (batch.tasks[owner].unsqueeze(0) != batch.tasks[row].unsqueeze(1)))
        if not self.label_space_in_batch_negatives:
            mask = mask | (labelled & other)
        return mask

    def row_losses(self, batch: ContrastiveBatch, begin: int, end: int) -> Tensor:
        """Per-row losses of this process's rows [begin, end)."""
        device = batch.queries.device
        rows, cols = batch.rows, batch.columns
        g = torch.arange(batch.offset + begin, batch.offset + end, device=device)
        ar = torch.arange(g.shape[0], device=device)
        q, p = batch.queries[g], batch.docs[g]
        doc_owner = torch.arange(rows * cols, device=device) % rows
        doc_key = torch.where(torch.arange(rows * cols, device=device) < rows, batch.keys[doc_owner],
                              torch.full_like(doc_owner, -1))
        q_owner = torch.arange(rows, device=device)
        pos_fp, q_fp = batch.doc_fp[g].unsqueeze(1), batch.query_fp[g].unsqueeze(1)

        raw_qd = cos_sim(q, batch.docs)
        pos_raw = raw_qd[ar, g]
        own_pos = torch.zeros_like(raw_qd, dtype=torch.bool)
        own_pos[ar, g] = True
        mask = self._mask(g, batch, doc_owner, doc_key, batch.doc_fp.unsqueeze(0) == pos_fp, raw_qd, pos_raw)
        mask &= ~own_pos
        logits = [(raw_qd * self.scale).masked_fill(mask, -torch.inf)]
        masked = int((mask & batch.valid[doc_owner].unsqueeze(0)).sum())

        if self.query_query:
            raw = cos_sim(q, batch.queries)
            m = self._mask(g, batch, q_owner, batch.keys, batch.query_fp.unsqueeze(0) == q_fp, raw, pos_raw)
            m[ar, g] = True  # never the anchor itself
            logits.append((raw * self.scale).masked_fill(m, -torch.inf))
        if self.doc_query:
            raw = cos_sim(batch.queries, p).T  # s(q_j, p_i)
            m = self._mask(g, batch, q_owner, batch.keys, batch.query_fp.unsqueeze(0) == q_fp, raw, pos_raw)
            m[ar, g] = False  # (q_i, p_i) is the pair itself, as in MNRL's doc_to_query
            logits.append((raw * self.scale).masked_fill(m, -torch.inf))
        if self.doc_doc:
            raw = cos_sim(batch.docs, p).T  # s(p_i, d)
            m = self._mask(g, batch, doc_owner, doc_key, batch.doc_fp.unsqueeze(0) == pos_fp, raw, pos_raw)
            m |= doc_owner.unsqueeze(0) == g.unsqueeze(1)  # the row's own documents, as in MNRL's doc_to_doc
            logits.append((raw * self.scale).masked_fill(m, -torch.inf))

        scores = torch.cat(logits, dim=1) if len(logits) > 1 else logits[0]
        log_z = torch.logsumexp(scores, dim=1)
        self._accumulate_stats(candidates=int(batch.valid.sum()) * cols, masked=masked, rows=end - begin)
        return log_z - pos_raw * self.scale

    def _accumulate_stats(self, **values: int) -> None:
        for k, v in values.items():
            self.last_stats[k] = self.last_stats.get(k, 0) + v if k != "candidates" else v

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor | None,
                                     fingerprints: list[Tensor] | None = None) -> Tensor:
        """The loss of a batch given its column embeddings (query, positive, negatives...)."""
        self.last_stats = {}
        batch = self.prepare(embeddings, labels, fingerprints)
        losses = self.row_losses(batch, 0, batch.local_rows)
        if batch.weights is None:
            return losses.mean()
        return weighted_row_sum(losses, batch.weights, 0, batch.local_rows) / weight_total(batch)

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None) -> Tensor:
        from sentence_transformers.base.losses.merged_forward import embed_columns

        features = list(sentence_features)
        fingerprints = self.fingerprints(features)  # before the forward: modules may edit features in place
        embeddings = embed_columns(self.model, features)
        return self.compute_loss_from_embeddings(embeddings, labels, fingerprints)

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "mask_same_class": self.mask_same_class,
            "mask_duplicate_positive": self.mask_duplicate_positive,
            "margin_mask": self.margin_mask,
            "mask_cross_task_label_space": self.mask_cross_task_label_space,
            "label_space_in_batch_negatives": self.label_space_in_batch_negatives,
            "query_query": self.query_query,
            "doc_query": self.doc_query,
            "doc_doc": self.doc_doc,
            "gather_across_devices": self.gather_across_devices,
        }

    @property
    def citation(self) -> str:
        return """
@misc{ueareeworakul2025compassembeddingv4,
      title={Compass-Embedding v4: Robust Contrastive Learning for Multilingual E-commerce Embeddings},
      author={Pakorn Ueareeworakul and Shuman Liu and Jinghao Feng and Ling Hu and Zhantang Shi and Chengqi Sun
              and Liang Yao and Panyi Ouyang and Haibo Zhang and Anxiang Zeng},
      year={2025},
      eprint={2601.11565},
      archivePrefix={arXiv},
      primaryClass={cs.CL},
      url={https://arxiv.org/abs/2601.11565},
}
"""


def cos_sim(a: Tensor, b: Tensor) -> Tensor:
    """Cosine similarity matrix (sentence-transformers' own, so results match MNRL bit for bit)."""
    from sentence_transformers.util import cos_sim as st_cos_sim

    return st_cos_sim(a, b)
