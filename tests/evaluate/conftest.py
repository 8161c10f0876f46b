"""Small task directories of every type, written into tmp dirs, for the evaluation tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from eval_task_files import write_all


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    return write_all(tmp_path / "tasks")
