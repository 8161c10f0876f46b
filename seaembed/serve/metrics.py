"""Prometheus metrics of one server (own registry, so several apps in one process do not collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from seaembed.engine.batching import BatchStats

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class ServerMetrics:
    """Request counts and latency by endpoint, batch sizes and tokens of the engine."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("seaembed_requests", "HTTP requests by endpoint and status code",
                                ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram("seaembed_request_latency_seconds", "Request latency by endpoint", ["endpoint"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.batch_size = Histogram("seaembed_batch_size", "Sequences per forward pass", buckets=BATCH_BUCKETS,
                                    registry=self.registry)
        self.batch_seconds = Histogram("seaembed_batch_seconds", "Forward pass time", buckets=LATENCY_BUCKETS,
                                       registry=self.registry)
        self.tokens = Counter("seaembed_tokens", "Tokens embedded (without padding)", registry=self.registry)
        self.padded_tokens = Counter("seaembed_padded_tokens", "Tokens processed including padding",
                                     registry=self.registry)
        self.inputs = Counter("seaembed_inputs", "Texts embedded", registry=self.registry)

    def observe_batch(self, stats: BatchStats) -> None:
        """Engine callback: one forward pass."""
        self.batch_size.observe(stats.size)
        self.batch_seconds.observe(stats.seconds)
        self.tokens.inc(stats.tokens)
        self.padded_tokens.inc(stats.padded_tokens)
        self.inputs.inc(stats.size)

    def render(self) -> bytes:
        """Prometheus text exposition."""
        return generate_latest(self.registry)
