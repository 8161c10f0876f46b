"""The layers of the `seaembed` package, lowest first: the one place they are written down (docs/architecture.md
explains them; tests/test_architecture.py enforces them).

A top-level subpackage or module may import from its own layer and the layers below it, never from a layer above.
Names within one layer are peers: they may import each other as long as no import circle forms.
"""

from __future__ import annotations

PACKAGE = "seaembed"

LAYERS: tuple[tuple[str, ...], ...] = (
    # foundations: errors, atomic writes, config loading, progress bars, version checks, the resumable stage
    # runner, the bundled samples, the tiny test model, exact nearest neighbours
    ("errors", "atomic", "config", "progress", "compat", "runner", "samples", "testing", "threads", "knn"),
    ("data",),  # reading and writing records, text analysis
    ("models",),  # model sources, loading, encoding
    ("engine",),  # the batching engine and its backends
    ("augment", "train", "merge", "evaluate", "export", "search"),  # the stages
    ("serve",),  # the HTTP server over the engine and the search index
    ("pipeline",),  # `seaembed run`: every stage in order
    ("cli", "system_packages"),  # entry points
)
