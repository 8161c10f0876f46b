"""GradCache variant of `CAMInfoNCELoss`: a contrastive batch of thousands in the memory of one mini-batch.

The caching machinery is sentence-transformers' own (`CachedLossMixin`, the mechanism of
`CachedMultipleNegativesRankingLoss`): (1) embed every mini-batch without a graph, (2) compute the loss over the
whole batch and back-propagate it to the embeddings only, (3) re-embed each mini-batch with a graph and push the
cached embedding gradients through it. This class only supplies step (2): the CAM loss, computed
`mini_batch_size` rows at a time so the score matrix never exceeds (mini_batch_size x candidates).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from sentence_transformers.base.losses.gradcache import CachedLossMixin, has_static_embedding_input
from torch import Tensor, nn

from seaembed.train.losses.cam_infonce import CAMInfoNCELoss, weight_total, weighted_row_sum


class CachedCAMInfoNCELoss(CachedLossMixin, nn.Module):
    """`CAMInfoNCELoss` with gradient caching; same arguments plus `mini_batch_size` (independent of the batch)."""

    def __init__(self, model: nn.Module, mini_batch_size: int = 32, show_progress_bar: bool = False,
                 **cam_kwargs: Any) -> None:
        super().__init__()
        if has_static_embedding_input(model):
            raise ValueError("CachedCAMInfoNCELoss needs a transformer model whose inputs split into mini-batches")
        if mini_batch_size < 1:
            raise ValueError("mini_batch_size must be >= 1")
        self.model = model
        self.loss = CAMInfoNCELoss(model, **cam_kwargs)
        self.mini_batch_size = mini_batch_size
        self.show_progress_bar = show_progress_bar
        self._fingerprints: list[Tensor] | None = None

    @property
    def last_stats(self) -> dict[str, int]:
        return self.loss.last_stats

    @property
    def temperature(self) -> float:
        return self.loss.temperature

    def calculate_loss(self, reps: list[list[Tensor]], labels: Tensor | None = None, *,
                       with_backward: bool = False) -> Tensor:
        """The CAM loss over the whole batch, `mini_batch_size` rows of the score matrix at a time."""
        self.loss.last_stats = {}
        embeddings = [torch.cat(r) for r in reps]
        batch = self.loss.prepare(embeddings, labels, self._fingerprints)
        if with_backward:
            # Back-propagate each chunk into leaf copies of the (gathered) embeddings, then once through the
            # gather/concatenation: one collective per step however many chunks, and no graph kept across chunks.
            graph_tensors = [batch.queries, batch.docs]
            batch.queries = batch.queries.detach().requires_grad_()
            batch.docs = batch.docs.detach().requires_grad_()
        total = torch.zeros((), device=embeddings[0].device)
        n, total_weight = batch.local_rows, weight_total(batch)
        for begin in range(0, n, self.mini_batch_size):
            end = min(begin + self.mini_batch_size, n)
            chunk = weighted_row_sum(self.loss.row_losses(batch, begin, end), batch.weights, begin, end) / total_weight
            if with_backward:
                chunk.backward()
                chunk = chunk.detach()
            total = total + chunk
        if with_backward:
            leaves = [batch.queries, batch.docs]
            grads = [leaf.grad if leaf.grad is not None else torch.zeros_like(leaf) for leaf in leaves]
            torch.autograd.backward(graph_tensors, grads)
        return total

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None) -> Tensor:
        features = list(sentence_features)
        self._fingerprints = self.loss.fingerprints(features)
        try:
            return self.forward_cached(features, labels)
        finally:
            self._fingerprints = None

    def get_config_dict(self) -> dict[str, Any]:
        return {**self.loss.get_config_dict(), "mini_batch_size": self.mini_batch_size}

    @property
    def citation(self) -> str:
        return self.loss.citation + """
@misc{gao2021scaling,
    title={Scaling Deep Contrastive Learning Batch Size under Memory Limited Setup},
    author={Luyu Gao and Yunyi Zhang and Jiawei Han and Jamie Callan},
    year={2021},
    eprint={2101.06983},
    archivePrefix={arXiv},
    primaryClass={cs.LG}
}
"""
