"""Training tests use one torch thread: the tiny model gains nothing from more, and on a CPU shared with other jobs
OpenMP threads spinning against them made these tests several times slower."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
