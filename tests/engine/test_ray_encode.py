"""Ray Data bulk encoding on a local Ray with 2 workers: same rows, same order, same vectors as one process."""

from __future__ import annotations

import numpy as np
import pytest

ray = pytest.importorskip("ray")

TITLES = ["Sepatu Running Pria Ringan Sol Karet", "รองเท้าวิ่งผู้ชาย น้ำหนักเบา", "Giày chạy bộ nam siêu nhẹ",
          "Wireless Bluetooth Earbuds Noise Cancelling", "Kasut Larian Lelaki Ringan", "Minyak Goreng Sawit 2L"]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.timeout(120)
def test_two_workers_match_single_process(local_ray, tiny_model_dir):
    from seaembed.engine.backends import create_backend
    from seaembed.engine.batching import Engine
    from seaembed.engine.ray_encode import encode_with_ray

    texts = [f"{t} {'x ' * i}{i}" for i in range(10) for t in TITLES]  # 60 texts of varied length, 4 batches
    engine = Engine(create_backend("torch", tiny_model_dir, threads=1))
    try:
        single, _ = engine.embed_sync(texts, "passage")
    finally:
        engine.close()
    got = encode_with_ray(str(tiny_model_dir), texts, backend="torch", num_workers=2, batch_size=16)
    assert got.shape == single.shape
    cos = np.sum(got * single, axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(single, axis=1))
    assert cos.min() >= 0.9999
