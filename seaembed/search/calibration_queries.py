"""Query-like texts for the build-time calibration of the dense index's search effort (seaembed.search.calibrate).

Indexed rows are too easy as calibration queries: each one's nearest neighbours sit right around it. Real queries
are short and lie farther from the catalog. Without a search log, the closest stand-in that every catalog has is
the first words of its own titles (2 to 4 of them, as a shopper types), embedded with the model's *query* prompt.
The scaling benchmark queries the same way ("a few words of its product's title"). A user with a search log gives
it instead (`seaembed index --calibrate-on queries.txt`: one query per line).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path

from seaembed.errors import ConfigError, InputError

SAMPLE = 500
TITLE_SEPARATOR = ". "  # how seaembed.search.catalog joins the text fields: the title comes first


def title_prefix_queries(texts: Iterable[str], n: int, *, sample: int = SAMPLE, seed: int = 0) -> list[str]:
    """Up to `sample` query-like texts from the `n` streamed index texts: for a seeded sample of rows, the first
    2-4 words of the row's first field (its title). Rows with no words are skipped."""
    rnd = random.Random(seed)
    rows = set(rnd.sample(range(n), min(sample, n)))
    out = []
    for i, text in enumerate(texts):
        if i in rows:
            words = text.split(TITLE_SEPARATOR, 1)[0].split()
            if words:
                out.append(" ".join(words[:rnd.randint(2, 4)]))
    return out


def read_query_file(path: str | Path, *, sample: int = SAMPLE, seed: int = 0) -> list[str]:
    """Up to `sample` (seeded) non-empty lines of a UTF-8 text file of queries, e.g. a search log's queries."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--calibrate-on: no such file: {path}")
    lines = []
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                lines.append(raw.decode("utf-8").strip())
            except UnicodeDecodeError as e:
                raise InputError(path, f"not UTF-8 (byte {e.start} of the line)", line=number) from None
    queries = [q for q in lines if q]
    if not queries:
        raise InputError(path, "no queries: every line is empty")
    if len(queries) > sample:
        queries = random.Random(seed).sample(queries, sample)
    return queries
