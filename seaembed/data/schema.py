"""The training-example format (one JSON object a line), shared by data construction and training."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from seaembed.data.io import ReadReport, iter_records
from seaembed.errors import InputError

TASKS = ("query-item", "query-category", "title-category", "title-description", "review-item", "bitext",
         "classification", "sts", "pair")
# the label-space tasks of `seaembed.train.class_keys.LABEL_SPACE_TASKS` that are not in TASKS (data may not import
# train; a test checks that no label-space task is ever rejected as a typo)
KNOWN_TASKS = (*TASKS, "review-rating", "topic", "sentiment", "title-title-category", "review-review-rating")


@functools.lru_cache(maxsize=256)
def near_miss_task(task: str) -> str | None:
    """The known task that `task` is a likely typo of ("title-categroy" -> "title-category"), else None. Other
    new task names are allowed: a custom task is a feature, a misspelled known one silently loses its masking."""
    if task in KNOWN_TASKS:
        return None
    close = difflib.get_close_matches(task, KNOWN_TASKS, n=1, cutoff=0.85)
    return close[0] if close else None


class TrainingExample(BaseModel):
    """One contrastive example: a query, its positive, optional hard negatives, and its supervision kind.

    `task` names the kind of supervision; `label` is the class key for label-space tasks (a category id, a class
    name) and None otherwise. Class-Aware Masking reads `task` and `label`.
    """

    model_config = ConfigDict(extra="allow")

    query: str = Field(min_length=1)
    positive: str = Field(min_length=1)
    negatives: list[str] = Field(default_factory=list)
    task: str = "query-item"
    label: str | None = None
    lang: str | None = None
    source: str | None = None
    weight: float = 1.0

    @field_validator("task")
    @classmethod
    def _known_task(cls, v: str) -> str:
        near = near_miss_task(v)
        if near is not None:
            raise ValueError(f"unknown task {v!r}; did you mean {near!r}?")
        return v

    @field_validator("label", mode="before")
    @classmethod
    def _label_to_str(cls, v: object) -> object:
        return None if v is None else str(v)


def read_examples(path: str | Path, *, errors: str = "raise", report: ReadReport | None = None) -> Iterator[TrainingExample]:
    """Yield the training examples of a JSONL file; a bad row raises (or is collected) as file:line: field."""
    report = report if report is not None else ReadReport()
    for rec in iter_records(path, fmt="jsonl", errors=errors, report=report):  # type: ignore[arg-type]
        try:
            yield TrainingExample.model_validate(rec.data)
        except ValidationError as e:
            first = e.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or None
            err = InputError(path, first["msg"], line=rec.line, field=field)
            if errors == "raise":
                raise err from None
            report.errors.append(err)
