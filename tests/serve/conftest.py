"""Fixtures shared by the serve tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def engine(onnx_backend):
    from seaembed.engine.batching import BatchingConfig, Engine

    engine = Engine(onnx_backend, BatchingConfig(max_wait_ms=1))
    yield engine
    engine.close()
