"""Contrastive losses for seaembed training (sentence-transformers losses, one per file)."""

from seaembed.train.losses.cached_cam_infonce import CachedCAMInfoNCELoss
from seaembed.train.losses.cam_infonce import CAMInfoNCELoss

__all__ = ["CAMInfoNCELoss", "CachedCAMInfoNCELoss"]
