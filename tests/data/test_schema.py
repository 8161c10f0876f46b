"""The training-example format: validation errors name the file, line and field."""

from __future__ import annotations

import pytest

from seaembed.data.schema import TrainingExample, read_examples
from seaembed.errors import InputError


def test_reads_examples_and_normalises_labels(tmp_path):
    p = tmp_path / "train.jsonl"
    p.write_text(
        '{"query": "sepatu lari", "positive": "Sepatu Running Pria", "task": "query-item"}\n'
        '{"query": "Kaos", "positive": "Fashion", "task": "title-category", "label": 12, "lang": "id"}\n',
        encoding="utf-8",
    )
    rows = list(read_examples(p))
    assert rows[0].negatives == [] and rows[0].label is None
    assert rows[1].label == "12" and rows[1].lang == "id"


def test_missing_positive_is_located(tmp_path):
    p = tmp_path / "train.jsonl"
    p.write_text('{"query": "a", "positive": "b"}\n{"query": "a"}\n', encoding="utf-8")
    with pytest.raises(InputError) as e:
        list(read_examples(p))
    assert e.value.line == 2 and e.value.field == "positive"


def test_empty_query_rejected():
    with pytest.raises(ValueError):
        TrainingExample(query="", positive="x")
