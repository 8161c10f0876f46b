"""Class keys: the integer each training row hands Class-Aware Masking (-1 = the row has no class).

A row gets a key when its `task` is a label-space task (its target is one of a fixed set of classes: a category, a
rating, a topic) and its `label` is set. Retrieval-style rows (query-item, bitext, ...) get -1 even when they carry a
label, because two items of the same category are still distinct answers to a query.

Encoding: key = (task_index << 32) | label_index, so keys never collide across tasks (label "1" of a rating task is not
label "1" of a topic task) and the loss can read a row's task back as `key >> 32` for cross-task masking. Indices are
assigned in order of first appearance, and the mapping is saved with the model so a resumed run reproduces it.
"""

from __future__ import annotations

from collections.abc import Iterable

from seaembed.train.losses.cam_infonce import TASK_SHIFT

LABEL_SPACE_TASKS: tuple[str, ...] = ("title-category", "query-category", "classification", "review-rating",
                                      "topic", "sentiment", "title-title-category", "review-review-rating")


class ClassKeys:
    """Maps (task, label) to the integer class key read by `CAMInfoNCELoss`."""

    def __init__(self, label_space_tasks: Iterable[str] = LABEL_SPACE_TASKS) -> None:
        self.label_space_tasks = tuple(label_space_tasks)
        self.tasks: dict[str, int] = {}
        self.labels: dict[str, dict[str, int]] = {}

    def key(self, task: str, label: str | None) -> int:
        """The class key of one row: -1 unless `task` is label-space and `label` is set."""
        if label is None or task not in self.label_space_tasks:
            return -1
        t = self.tasks.setdefault(task, len(self.tasks))
        labels = self.labels.setdefault(task, {})
        index = labels.setdefault(str(label), len(labels))
        if index >= 1 << TASK_SHIFT:
            raise ValueError(f"task '{task}' has more than 2**32 labels")
        return (t << TASK_SHIFT) | index

    def to_dict(self) -> dict:
        """A JSON-able description: the label-space tasks and every (task, label) -> key."""
        return {"label_space_tasks": list(self.label_space_tasks),
                "keys": {task: {label: (self.tasks[task] << TASK_SHIFT) | i for label, i in labels.items()}
                         for task, labels in self.labels.items()}}
