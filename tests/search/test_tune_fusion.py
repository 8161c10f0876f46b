"""Per-index fusion tuning: the choice rule, tasks where one side is perfect and the other useless, the files
`seaembed index --tune-on` writes, and its errors."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from seaembed.errors import ConfigError, InputError
from seaembed.search.fusion import resolve_alpha
from seaembed.search.tune_fusion import GRID, FusionTuning, choose_alpha, tune_fusion

# Words in the tiny model's vocabulary (seaembed.testing.TINY_CORPUS), so its embeddings can tell them apart.
KNOWN = ["sepatu", "lari", "tas", "ransel", "kaos", "polos", "katun", "hitam", "samsung", "iphone", "xiaomi",
         "oppo", "makanan", "minuman", "rumah", "tangga", "leather", "backpack", "cotton", "black"]
# Words the tiny model does not know: each is one [UNK] to it, and a distinct token to BM25.
UNKNOWN = ["αλφα", "βητα", "γαμμα", "δελτα", "εψιλον", "ζητα", "ητα", "θητα"]


def _write_task(root: Path, name: str, docs: list[str], queries: list[str], relevant: list[int]) -> Path:
    """A BEIR-layout retrieval task: query i is judged relevant to document `relevant[i]`."""
    path = root / name
    (path / "qrels").mkdir(parents=True)
    (path / "corpus.jsonl").write_text("".join(json.dumps({"_id": f"d{i}", "title": t}, ensure_ascii=False) + "\n"
                                               for i, t in enumerate(docs)), encoding="utf-8")
    (path / "queries.jsonl").write_text("".join(json.dumps({"_id": f"q{i}", "text": t}, ensure_ascii=False) + "\n"
                                                for i, t in enumerate(queries)), encoding="utf-8")
    (path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"q{i}\td{r}\t1\n" for i, r in enumerate(relevant)), encoding="utf-8")
    (path / "task.json").write_text(json.dumps({"name": name, "type": "retrieval", "languages": ["id"],
                                                "main_metric": "ndcg_at_10"}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def lexical_task(tmp_path_factory) -> Path:
    """BM25 is perfect (each query is the one word only its document has), dense is noise: the query is a lone
    [UNK] to the tiny model, the documents differ only in words it knows."""
    docs = [f"{u} {KNOWN[i]} {KNOWN[-1 - i]}" for i, u in enumerate(UNKNOWN)]
    return _write_task(tmp_path_factory.mktemp("tasks"), "lexical-only", docs, list(UNKNOWN), list(range(8)))


@pytest.fixture(scope="module")
def dense_task(tmp_path_factory) -> Path:
    """Only dense can match: the query `w1_w2` is one BM25 token that no document has (`_` is a word character to
    BM25), while the tiny model splits it at the `_` into the two words of its document `w1 w2`; ten
    distractor documents pair other known words."""
    pairs = [(KNOWN[2 * i], KNOWN[2 * i + 1]) for i in range(8)]
    distractors = [f"{a} {b}" for a, b in itertools.permutations(KNOWN[16:], 2)][:10]
    docs = distractors + [f"{a} {b}" for a, b in pairs]
    queries = [f"{a}_{b}" for a, b in pairs]
    return _write_task(tmp_path_factory.mktemp("tasks"), "dense-only", docs, queries, [10 + i for i in range(8)])


def test_choose_alpha_prefers_a_single_system_on_ties_then_the_middle():
    assert choose_alpha({0.0: 0.5, 0.3: 0.7, 0.7: 0.7, 1.0: 0.6}) == 0.3  # equally near 0.5: the lower
    assert choose_alpha({0.0: 0.5, 0.4: 0.7, 0.8: 0.7, 1.0: 0.6}) == 0.4  # nearest 0.5
    assert choose_alpha({0.0: 0.9, 0.1: 0.9, 0.5: 0.8, 1.0: 0.2}) == 0.0
    assert choose_alpha({0.0: 0.2, 0.5: 0.9, 0.9: 0.9, 1.0: 0.9}) == 1.0
    assert choose_alpha({0.0: 0.9, 0.5: 0.9, 1.0: 0.9}) == 1.0


def test_bm25_perfect_dense_noise_chooses_bm25(tiny_model_dir, lexical_task):
    t = tune_fusion(str(tiny_model_dir), [lexical_task])
    task = t.tasks[0]
    assert task.bm25 == 1.0 and task.dense < 0.9, task
    assert t.alpha == 0.0 and t.single_system == "bm25" and t.method == "bounded"
    assert t.mean_ndcg == 1.0 and t.n_queries == 8 and t.grid == list(GRID)
    assert set(task.fused) == {str(a) for a in GRID}


def test_dense_only_match_chooses_dense(tiny_model_dir, dense_task):
    t = tune_fusion(str(tiny_model_dir), [dense_task])
    task = t.tasks[0]
    assert task.bm25 == 0.0 and task.dense > 0.5, task
    # BM25 adds nothing at any weight (alpha 0 orders its non-matches by dense): a tie, and ties go to dense alone
    assert set(task.fused.values()) == {task.dense}
    assert t.alpha == 1.0 and t.single_system == "dense"


def test_two_tasks_mean_and_other_fusions(tiny_model_dir, lexical_task, dense_task):
    t = tune_fusion(str(tiny_model_dir), [lexical_task, dense_task], fusion="zscore", grid=[0.0, 0.5, 1.0])
    assert t.method == "zscore" and t.grid == [0.0, 0.5, 1.0] and [x.name for x in t.tasks] == ["lexical-only",
                                                                                             "dense-only"]
    for a in ("0.0", "0.5", "1.0"):
        assert t.mean_fused[a] == pytest.approx((t.tasks[0].fused[a] + t.tasks[1].fused[a]) / 2, abs=1e-6)
    assert t.mean_ndcg == max(t.mean_fused.values())
    assert FusionTuning.from_dict(json.loads(json.dumps(t.to_dict()))) == t
    with pytest.raises(ConfigError, match="weighted fusion"):
        tune_fusion(str(tiny_model_dir), [lexical_task], fusion="rrf")


def test_index_tune_on_writes_alpha_and_tuning(tiny_model_dir, catalog_file, lexical_task, tmp_path):
    from seaembed.search.index import build_index
    from seaembed.search.search_index import SearchIndex

    out = build_index(str(tiny_model_dir), catalog_file, tmp_path / "idx", tune_on=[lexical_task],
                      show_progress=False)
    info = json.loads((out / "index.json").read_text())
    tuning = json.loads((out / "fusion_tuning.json").read_text())
    assert info["fusion"] == "bounded" and info["alpha"] == tuning["alpha"] == 0.0
    assert info["fusion_tuning"] == "fusion_tuning.json"
    assert tuning["tasks"][0]["name"] == "lexical-only" and tuning["single_system"] == "bm25"
    index = SearchIndex.load(out)
    assert resolve_alpha("bounded", None, index.info) == 0.0  # what /search uses when the request names none

    plain = build_index(str(tiny_model_dir), catalog_file, tmp_path / "plain", show_progress=False)
    assert not (plain / "fusion_tuning.json").exists()
    assert "fusion_tuning" not in json.loads((plain / "index.json").read_text())


def test_index_tune_on_errors_come_before_embedding(tiny_model_dir, catalog_file, lexical_task, tmp_path):
    from seaembed.samples import sample_path
    from seaembed.search.index import build_index

    with pytest.raises(InputError, match="fusion tuning needs retrieval tasks"):
        build_index(str(tiny_model_dir), catalog_file, tmp_path / "a", tune_on=[sample_path("tasks/talpco-bitext")])
    with pytest.raises(ConfigError, match="not both"):
        build_index(str(tiny_model_dir), catalog_file, tmp_path / "b", tune_on=[lexical_task], alpha=0.3)
    with pytest.raises(ConfigError, match="rrf"):
        build_index(str(tiny_model_dir), catalog_file, tmp_path / "c", tune_on=[lexical_task], fusion="rrf")
    assert not any(tmp_path.iterdir())  # nothing embedded, nothing written


def test_cli_bad_task_dir_is_one_line(tiny_model_dir, catalog_file, tmp_path):
    missing = tmp_path / "no-such-task"
    proc = subprocess.run([sys.executable, "-m", "seaembed.cli", "index", "--model", str(tiny_model_dir),
                           "--catalog", str(catalog_file), "--out", str(tmp_path / "idx"), "--tune-on", str(missing)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {missing}: no such task directory"
    assert not (tmp_path / "idx").exists() and not (tmp_path / "idx.partial").exists()
