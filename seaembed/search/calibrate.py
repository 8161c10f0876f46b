"""Build-time calibration of the approximate dense index's search effort (HNSW efSearch, IVF-PQ nprobe).

A fixed effort loses recall as the catalog grows (benchmarks/results/scale.md: HNSW at efSearch 128 had a
recall@10 of 0.9999 at 10k, 0.877 at 100k), so after the index is built a sample of its own rows is searched at
increasing effort and the smallest effort whose recall@10 against the exact top 10 reaches a target is kept in
index.json (`dense_search`), where `SearchIndex` reads it.

This is the idea of faiss's own auto-tuning (`faiss.ParameterSpace` / `OperatingPoints`), written as a small loop
here because we need two things it does not do: the exact reference comes from a chunked scan of the
memory-mapped `embeddings.npy` (`seaembed.knn.exact_top_k`, no second copy of the vectors), and the search measured is
`faiss_index.search` itself, the serving path, including the exact re-ranking of IVF-PQ's candidates.

The queries are indexed rows, each one's own row dropped from both lists. They are much easier than real queries,
which lie farther from the data: at N = 100k (benchmarks/results/scale.md, generated vectors) the whole grid
chose efSearch 32 at a sample recall@10 of 0.990, which gave 0.594 on the benchmark's queries, against 0.877 at
the old fixed 128. So by default the calibration only ever *raises* the effort above the old fixed values
(`faiss_index.EF_SEARCH` / `NPROBE`): it cannot serve worse than before, and it climbs where even indexed rows
miss the target.

Query-like vectors calibrate better, so `calibrate` takes them when it has them (`queries`): `seaembed index`
embeds the first words of a sample of the catalog's own titles with the model's query prompt (or the lines of a
query file, e.g. a search log, with `--calibrate-on`), and benchmarks/scale.py uses held-out generated queries
(never the ones it reports on). The floor stays: these queries are still samples of a guess at the real traffic.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from seaembed.errors import ConfigError
from seaembed.knn import exact_top_k
from seaembed.search import faiss_index

log = logging.getLogger(__name__)
DEFAULT_TARGET = 0.97
SAMPLE = 500  # indexed rows searched as queries
K = 10  # recall@K is what is calibrated
EF_SEARCH_GRID = (16, 32, 64, 128, 256, 512, 1024, 2048)
NPROBE_GRID = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)  # capped at the index's nlist
# IVF-PQ: candidates re-ranked exactly per result wanted, tried at each nprobe (cheap next to a wider probe: 100 x 10
# rows read from the memory map); at 1M the PQ ranking, not the probe, was what lost the neighbours
REFINE_GRID = (faiss_index.REFINE_FACTOR, 30, 100)
PARAM = {"hnsw": "ef_search", "ivfpq": "nprobe"}  # the keyword of faiss_index.search each kind's effort is


@dataclass
class Calibration:
    """The effort chosen for a kind (`param` = `value`), the recall@k measured at it on `sample` queries (`on`:
    what they were, e.g. "indexed rows" or "query-prompt title prefixes"), the target, whether it was met, every
    effort tried with its recall (`curve`), and the time it all took."""

    param: str
    value: int
    recall: float
    target: float
    sample: int
    k: int
    met: bool
    seconds: float
    curve: dict[str, float] = field(default_factory=dict)
    on: str = "indexed rows"
    refine_factor: int | None = None  # IVF-PQ: the re-ranking depth chosen with the nprobe

    def params(self) -> dict[str, int]:
        """The `faiss_index.search` keywords this calibration chose."""
        out = {self.param: int(self.value)}
        if self.refine_factor is not None:
            out["refine_factor"] = int(self.refine_factor)
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        missed = "" if self.met else " (target MISSED: the largest effort tried)"
        depth = f", refine x{self.refine_factor}" if self.refine_factor is not None else ""
        return (f"{self.param} {self.value}{depth}: recall@{self.k} {self.recall:.4f} on {self.sample} {self.on}, "
                f"target {self.target}{missed}, {self.seconds:.1f} s")


def check_target(target: float) -> float:
    """`target` if it is in (0, 1], else a ConfigError naming the option."""
    if not isinstance(target, (int, float)) or not 0 < target <= 1:  # NaN fails both comparisons
        raise ConfigError(f"--recall-target must be in (0, 1], got {target}")
    return float(target)


def search_params(info: dict[str, Any]) -> dict[str, int]:
    """The `faiss_index.search` keywords an index.json asks for: its calibrated effort, or nothing (the fixed
    defaults, `faiss_index.EF_SEARCH` / `NPROBE`) for an index written before calibration, or a flat one."""
    cal = info.get("dense_search")
    if not isinstance(cal, dict) or cal.get("param") not in PARAM.values():
        return {}
    out = {cal["param"]: int(cal["value"])}
    if cal.get("refine_factor"):  # written since the re-ranking depth is calibrated too
        out["refine_factor"] = int(cal["refine_factor"])
    return out


def _grid(index, kind: str, min_effort: int | None) -> list[tuple[int, int | None]]:
    """The (effort, refine factor) points tried, in increasing order: the kind's grid (nprobe capped at nlist) from
    `min_effort` up (None: the old fixed default, `faiss_index.EF_SEARCH` / `NPROBE`; 0: the whole grid); for
    IVF-PQ each nprobe with each re-ranking depth of REFINE_GRID (HNSW: None, it has no re-ranking)."""
    if kind == "hnsw":
        grid = list(EF_SEARCH_GRID)
    else:
        grid = sorted({min(p, int(index.nlist)) for p in NPROBE_GRID})
    if min_effort is None:
        min_effort = faiss_index.EF_SEARCH if kind == "hnsw" else faiss_index.NPROBE
    floor = min(min_effort, grid[-1])
    depths: tuple[int | None, ...] = (None,) if kind == "hnsw" else REFINE_GRID
    return [(v, r) for v in grid if v >= floor for r in depths]


def _recall(found: np.ndarray, truth: np.ndarray, own: int, k: int) -> float:
    got = [i for i in found.tolist() if i != own][:k]
    want = [i for i in truth.tolist() if i != own][:k]
    return len(set(got) & set(want)) / len(want) if want else 1.0


def calibrate(index, vectors: np.ndarray, kind: str, *, target: float = DEFAULT_TARGET, sample: int = SAMPLE,
              k: int = K, seed: int = 0, min_effort: int | None = None, queries: np.ndarray | None = None,
              queries_are: str = "queries") -> Calibration | None:
    """The smallest effort of `kind`'s grid (HNSW efSearch 16..2048, IVF-PQ nprobe 1..1024 capped at nlist, each
    with re-ranking depths 10, 30, 100 x k; from
    `min_effort` up, by default the old fixed 128 / 16, see the module's docstring) at which `faiss_index.search`
    reaches a recall@k >= `target` on the calibration queries, or the largest effort when none does (with a
    one-line warning).

    The queries are up to `sample` rows of `queries` (L2-normalised query vectors; `queries_are` says what they
    are, for the record) when given, else up to `sample` of `index`'s own rows (seeded), each one's own row
    dropped from both lists. `vectors`: the indexed vectors (may be memory-mapped; IVF-PQ's candidates are
    re-ranked on them, as served). None for a flat index."""
    if kind not in PARAM:
        return None
    target = check_target(target)
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    if queries is not None and len(queries):
        queries = np.asarray(queries, dtype=np.float32)
        pick = np.sort(rng.choice(len(queries), min(sample, len(queries)), replace=False))
        qs, own, extra, on = np.asarray(queries[pick], dtype=np.float32), [-1] * len(pick), 0, queries_are
    else:
        n = int(index.ntotal)
        rows = np.sort(rng.choice(n, min(sample, n), replace=False))
        qs, own, extra, on = np.asarray(vectors[rows], dtype=np.float32), rows.tolist(), 1, "indexed rows"
    _, truth = exact_top_k(vectors, qs, k + extra)  # + 1 for indexed rows: each query's own row is dropped
    refine = vectors if kind == "ivfpq" else None
    param, curve, value, depth, recall = PARAM[kind], {}, 0, None, 0.0
    for value, depth in _grid(index, kind, min_effort):
        kw = {param: value} if depth is None else {param: value, "refine_factor": depth}
        recall = float(np.mean([_recall(faiss_index.search(index, q, k + extra, refine=refine, **kw)[1], t,
                                        int(r), k)
                                for q, t, r in zip(qs, truth, own, strict=True)]))
        curve[str(value) if depth is None else f"{value}/x{depth}"] = round(recall, 4)
        if recall >= target:
            break
    cal = Calibration(param, int(value), round(recall, 4), target, len(qs), k, recall >= target,
                      round(time.perf_counter() - t0, 2), curve, on, depth)
    if not cal.met:
        log.warning("dense index calibration missed its target: %s", cal.describe())
    return cal
