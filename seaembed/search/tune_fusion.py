"""Per-index tuning of hybrid search's dense weight (alpha) on BEIR-layout retrieval tasks.

The best weight depends on the dense model: `bounded` at 0.2 suits the base multilingual-e5-small, while a model
fine-tuned by `seaembed run` is the stronger side and wants a higher one (experiments/results/hybrid_search.md).
`tune_fusion(model_or_engine, task_dirs)` measures it for the model an index is built with:

- each task's corpus and queries are embedded with that model (an `Engine`, the index's own; or a model source /
  `Encoder`, which goes through the evaluation stage's embedding cache);
- an in-memory `SearchIndex` is built over the corpus as `seaembed index` builds one (flat faiss, the same BM25),
  and every query is searched with k=10 exactly as `/search` answers: `dense`, `bm25`, and `hybrid` with the
  fusion at every alpha of the grid;
- the alpha with the best mean nDCG@10 over the tasks (each task weighs the same) is chosen. The grid includes
  1.0 (dense only) and 0.0 (BM25 only), so a model fusion does not help falls back to one system
  (`FusionTuning.single_system`). Ties go to a single system (dense first), then to the alpha nearest 0.5.

Used by `seaembed index --tune-on TASK_DIR`, the pipeline's index stage (`index.tune_on`) and
experiments/hybrid_search.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seaembed.errors import ConfigError, InputError
from seaembed.search.fusion import DEFAULT_FUSION, FUSIONS

K = 10  # nDCG@10 at k=10: the index fuses the top max(100, 5k) = 100 of each side, as the server does for k=10
GRID: tuple[float, ...] = tuple(round(i * 0.05, 2) for i in range(21))  # 0.0 (BM25 only) ... 1.0 (dense only)
TIE = 1e-12


@dataclass
class TaskScores:
    """Mean nDCG@10 of one task: dense, BM25, and the fusion at each grid alpha (keys `str(alpha)`)."""

    name: str
    path: str
    n_queries: int
    dense: float
    bm25: float
    fused: dict[str, float]


@dataclass
class FusionTuning:
    """What `tune_fusion` chose and measured (written as `fusion_tuning.json` beside index.json)."""

    method: str
    alpha: float
    single_system: str | None  # "dense" (alpha 1.0), "bm25" (alpha 0.0), None: a real fusion
    mean_ndcg: float  # mean over tasks at the chosen alpha
    mean_dense: float
    mean_bm25: float
    mean_fused: dict[str, float]
    grid: list[float]
    n_queries: int
    tasks: list[TaskScores] = field(default_factory=list)
    k: int = K

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FusionTuning:
        return cls(**{**raw, "tasks": [TaskScores(**t) for t in raw.get("tasks", [])]})

    def describe(self) -> str:
        """One line: the choice and what it is worth against the single systems."""
        what = {"dense": " (dense alone)", "bm25": " (BM25 alone)"}.get(self.single_system or "", "")
        return (f"{self.method} alpha {self.alpha:g}{what}: mean nDCG@{self.k} {self.mean_ndcg:.4f} over "
                f"{len(self.tasks)} task(s), {self.n_queries} queries (dense {self.mean_dense:.4f}, "
                f"BM25 {self.mean_bm25:.4f})")


@dataclass
class PreparedTask:
    """A retrieval task embedded and indexed the way the serving stage would index its corpus."""

    task: Any  # seaembed.evaluate.tasks.Task
    qids: list[str]
    index: Any  # SearchIndex
    query_vectors: np.ndarray


class _EngineEncoder:
    """An `Engine` as an evaluation `Encoder` (prompt names are the engine's input types)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.name = getattr(engine.backend, "name", "engine")

    def encode(self, texts: Sequence[str], prompt: str | None = None) -> np.ndarray:
        vectors, _ = self.engine.embed_sync(list(texts), prompt)
        return np.asarray(vectors, dtype=np.float32)


def as_encoder(model_or_engine: Any):
    """An object with `encode(texts, prompt)`: an `Engine` is wrapped; a model source, loaded model or `Encoder`
    goes through `seaembed.evaluate.encoders.load_encoder` (with the evaluation stage's embedding cache)."""
    if hasattr(model_or_engine, "embed_sync"):
        return _EngineEncoder(model_or_engine)
    from seaembed.evaluate.encoders import load_encoder

    return load_encoder(model_or_engine, batch_size=64)


def load_retrieval_tasks(task_dirs: Iterable[Any]) -> list:
    """Load and validate the tasks (directories or loaded `Task`s); each must be a retrieval task."""
    from seaembed.evaluate.tasks import Task, load_task

    tasks = [t if isinstance(t, Task) else load_task(t) for t in task_dirs]
    if not tasks:
        raise ConfigError("fusion tuning needs at least one retrieval task")
    for t in tasks:
        if t.type != "retrieval":
            raise InputError(t.path / "task.json", f"a {t.type} task; fusion tuning needs retrieval tasks",
                             field="type")
    return tasks


def in_memory_index(doc_ids: list[str], texts: list[str], vectors: np.ndarray):
    """A `SearchIndex` over `texts` built the way `seaembed index` builds one (flat faiss, the same BM25)."""
    from seaembed.search import faiss_index
    from seaembed.search.search_index import SearchIndex, bm25_retriever

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    info = {"kind": "flat", "size": len(doc_ids), "dim": int(vectors.shape[1])}
    return SearchIndex(Path("."), info, faiss_index.build(vectors, "flat"), vectors,
                       [{"id": d, "_text": t} for d, t in zip(doc_ids, texts, strict=True)], bm25_retriever(texts))


def prepare_task(task: Any, encoder: Any, qids: Sequence[str] | None = None) -> PreparedTask:
    """Embed a task's corpus (passage prompt) and its judged queries (`qids`, default all, sorted) and index it."""
    from seaembed.evaluate.runners import doc_text

    doc_ids = list(task.corpus)
    qids = sorted(task.qrels) if qids is None else list(qids)
    texts = [doc_text(task.corpus[d]) for d in doc_ids]
    docs = encoder.encode(texts, task.passage_prompt)
    qv = encoder.encode([task.queries[q]["text"] for q in qids], task.query_prompt)
    return PreparedTask(task, qids, in_memory_index(doc_ids, texts, docs), np.asarray(qv, dtype=np.float32))


def search(index, query_vec: np.ndarray, text: str, method: str, alpha: float | None = None,
           k: int = K) -> list[dict]:
    """`SearchIndex.search` as `/search` runs it: `method` is `dense`, `bm25` or a fusion (hybrid mode)."""
    if method in ("dense", "bm25"):
        return index.search(query_vec, text, k=k, mode=method)
    return index.search(query_vec, text, k=k, mode="hybrid", fusion=method, alpha=alpha)


def system_name(method: str, alpha: float | None = None) -> str:
    return method if alpha is None else f"{method}@{alpha}"


def per_query_ndcg(prepared: PreparedTask, method: str, alpha: float | None = None) -> dict[str, float]:
    """nDCG@10 of every prepared query with one system (k=10, as `/search` with k=10)."""
    from seaembed.evaluate.metrics.retrieval import query_metrics

    task = prepared.task
    out = {}
    for i, q in enumerate(prepared.qids):
        hits = search(prepared.index, prepared.query_vectors[i], task.queries[q]["text"], method, alpha, K)
        out[q] = query_metrics([h["id"] for h in hits], task.qrels[q])["ndcg_at_10"]
    return out


def choose_alpha(mean_by_alpha: Mapping[float, float]) -> float:
    """The alpha with the best value; ties go to a single system (1.0, then 0.0), then to the one nearest 0.5."""
    best = max(mean_by_alpha.values())
    tied = [a for a, v in mean_by_alpha.items() if v >= best - TIE]
    for single in (1.0, 0.0):
        if single in tied:
            return single
    return min(tied, key=lambda a: (round(abs(a - 0.5), 9), a))


def _check(fusion: str, grid: Sequence[float]) -> list[float]:
    if fusion not in FUSIONS or fusion == "rrf":
        raise ConfigError(f"fusion tuning needs a weighted fusion ({', '.join(f for f in FUSIONS if f != 'rrf')}),"
                          f" got '{fusion}'")
    grid = sorted({float(a) for a in grid})
    if not grid or any(not 0.0 <= a <= 1.0 or math.isnan(a) for a in grid):
        raise ConfigError(f"alpha grid must be non-empty values in [0, 1], got {grid}")
    return grid


def tuning_from_scores(method: str, grid: Sequence[float],
                       runs: Sequence[tuple[str, str, Mapping, Sequence[str]]]) -> FusionTuning:
    """Choose alpha from per-query nDCG already measured. `runs`: one `(name, path, scores, qids)` per task, with
    `scores[system_name(...)][qid]` for `dense`, `bm25` and `method@alpha` of every grid alpha; only `qids` count
    (the experiment passes a task's dev half)."""
    grid = _check(method, grid)
    tasks = []
    for name, path, scores, qids in runs:
        if not qids:
            raise ConfigError(f"task {name}: no judged queries to tune on")
        m = {s: float(np.mean([scores[s][q] for q in qids])) for s in scores}
        tasks.append(TaskScores(name, str(path), len(qids), round(m["dense"], 6), round(m["bm25"], 6),
                                {str(a): round(m[system_name(method, a)], 6) for a in grid}))
    mean_fused = {a: float(np.mean([t.fused[str(a)] for t in tasks])) for a in grid}
    alpha = choose_alpha(mean_fused)
    return FusionTuning(
        method=method, alpha=alpha, single_system={1.0: "dense", 0.0: "bm25"}.get(alpha),
        mean_ndcg=round(mean_fused[alpha], 6), mean_dense=round(float(np.mean([t.dense for t in tasks])), 6),
        mean_bm25=round(float(np.mean([t.bm25 for t in tasks])), 6),
        mean_fused={str(a): round(v, 6) for a, v in mean_fused.items()}, grid=grid,
        n_queries=sum(t.n_queries for t in tasks), tasks=tasks)


def tune_fusion(model_or_engine: Any, task_dirs: Iterable[Any], *, fusion: str = DEFAULT_FUSION,
                grid: Sequence[float] = GRID) -> FusionTuning:
    """Choose `fusion`'s dense weight for `model_or_engine` on retrieval tasks (see the module doc).

    `model_or_engine`: the index's `Engine`, or a model source / loaded model / `Encoder` (embedded through the
    evaluation stage's cache). `task_dirs`: BEIR-layout task directories (or loaded tasks)."""
    grid = _check(fusion, grid)
    tasks = load_retrieval_tasks(task_dirs)
    encoder = as_encoder(model_or_engine)
    runs = []
    for task in tasks:
        prepared = prepare_task(task, encoder)
        scores = {system_name(m, a): per_query_ndcg(prepared, m, a)
                  for m, a in [("dense", None), ("bm25", None), *((fusion, a) for a in grid)]}
        runs.append((task.name, str(task.path), scores, prepared.qids))
    return tuning_from_scores(fusion, grid, runs)


__all__ = ["GRID", "FusionTuning", "TaskScores", "as_encoder", "choose_alpha", "in_memory_index",
           "load_retrieval_tasks", "per_query_ndcg", "prepare_task", "search", "system_name", "tune_fusion",
           "tuning_from_scores"]
