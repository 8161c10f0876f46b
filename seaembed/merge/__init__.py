"""seaembed.merge: spherical (SLERP) and multi-model merges of fine-tuned models with their base, weight search.

Public API: `slerp`, `lerp`, `linear_soup`, `multislerp` (tensor level), `merge_models` (model directories),
`search_merge_weight` (choose t on dev tasks). None of these modules imports torch at import time.
"""

from seaembed.merge.linear import lerp, linear_soup
from seaembed.merge.merge_models import merge_models
from seaembed.merge.multislerp import multislerp
from seaembed.merge.search import search_merge_weight
from seaembed.merge.slerp import slerp

__all__ = ["lerp", "linear_soup", "merge_models", "multislerp", "search_merge_weight", "slerp"]
