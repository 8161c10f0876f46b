"""Model sources (local dir, hub id, `packaged:multilingual-e5-small`), loading, encoding and fingerprints.

    from seaembed.models import load_model, model_fingerprint
        model = load_model("packaged:multilingual-e5-small")
    vectors = encode(model, ["sepatu lari pria"], prompt="query")

`encode` lives in the submodule `seaembed.models.encode` (not re-exported, so the module name stays importable).
Heavy libraries (torch, transformers) are imported only inside the functions.
"""

from seaembed.models.fingerprint import model_fingerprint
from seaembed.models.freeze import freeze_word_embeddings, trainable_parameters
from seaembed.models.packaged import PACKAGED_PREFIX, ensure_packaged, packaged_dir, seaembed_home
from seaembed.models.sources import load_model, resolve_model_dir

PACKAGED_E5 = "packaged:multilingual-e5-small"

__all__ = [
    "PACKAGED_E5", "PACKAGED_PREFIX", "ensure_packaged", "freeze_word_embeddings", "load_model",
    "model_fingerprint", "packaged_dir", "resolve_model_dir", "seaembed_home", "trainable_parameters",
]
