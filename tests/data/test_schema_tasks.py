"""A typo of a known training task is an error at file:line (#15 item 5); new task names stay allowed."""

from __future__ import annotations

import pytest

from seaembed.data.schema import KNOWN_TASKS, near_miss_task, read_examples
from seaembed.errors import InputError


def test_a_misspelled_task_names_file_line_and_the_known_task(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"query": "a", "positive": "b", "task": "title-category", "label": "x"}\n'
                    '{"query": "c", "positive": "d", "task": "title-categroy", "label": "y"}\n')
    with pytest.raises(InputError, match=r"train.jsonl:2: field 'task': .*unknown task 'title-categroy'; did you "
                                         r"mean 'title-category'\?"):
        list(read_examples(path))


def test_custom_task_names_are_allowed(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"query": "a", "positive": "b", "task": "my-shop-faq"}\n')
    assert [e.task for e in read_examples(path)] == ["my-shop-faq"]


def test_no_label_space_task_is_taken_for_a_typo():
    from seaembed.train.class_keys import LABEL_SPACE_TASKS

    assert [t for t in LABEL_SPACE_TASKS if near_miss_task(t) is not None] == []
    assert set(LABEL_SPACE_TASKS) <= set(KNOWN_TASKS)  # so their own typos are caught too
