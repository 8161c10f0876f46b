"""Metrics, one module per task family. Each takes embeddings (or scores) and returns plain floats."""

from seaembed.evaluate.metrics.bitext import bitext_metrics
from seaembed.evaluate.metrics.classification import classification_metrics
from seaembed.evaluate.metrics.clustering import clustering_metrics
from seaembed.evaluate.metrics.pair_classification import best_threshold, pair_metrics
from seaembed.evaluate.metrics.retrieval import query_metrics, retrieval_metrics, top_k

__all__ = ["bitext_metrics", "classification_metrics", "clustering_metrics", "best_threshold", "pair_metrics",
           "query_metrics", "retrieval_metrics", "top_k"]
