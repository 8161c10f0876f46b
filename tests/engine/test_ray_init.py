"""Which Ray `seaembed index --ray` connects to: --ray-address, else RAY_ADDRESS, else a new local Ray."""

from __future__ import annotations

import os
import sys
import types


def test_address_flag_then_env_then_a_local_ray_with_a_cpu_per_worker(monkeypatch):
    from seaembed.engine.ray_encode import init_ray

    calls: list[dict] = []
    fake = types.SimpleNamespace(is_initialized=lambda: False, init=lambda **kw: calls.append(kw))
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    assert init_ray("ray://head:10001", 4) is True
    assert init_ray(None, 4) is True
    monkeypatch.delenv("RAY_ADDRESS")
    init_ray(None, 4)
    init_ray(None, None)
    assert calls == [{"address": "ray://head:10001", "log_to_driver": False},
                     {"address": "auto", "log_to_driver": False},
                     {"num_cpus": 4, "include_dashboard": False, "log_to_driver": False},
                     {"num_cpus": 2, "include_dashboard": False, "log_to_driver": False}]
    fake.is_initialized = lambda: True
    assert init_ray("auto", 2) is False and len(calls) == 4  # already connected: left as it is
