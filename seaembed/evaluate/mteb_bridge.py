"""Interop with mteb 2.x (optional): our model as an mteb encoder, our task directories as mteb tasks.

- `MtebEncoder` implements mteb's `EncoderProtocol` on top of a seaembed `Encoder` (so the embedding cache and the
  model's `query: `/`passage: ` prompts are used): mteb's `PromptType.query` -> our `query` prompt,
  `PromptType.document` -> `passage`, no prompt type (symmetric tasks) -> `query`, as e5 recommends.
- `to_mteb_task(task)` builds an `AbsTaskRetrieval` / `AbsTaskClassification` / `AbsTaskPairClassification` /
  `AbsTaskBitextMining` / `AbsTaskClustering` whose `load_data` reads the local files (no hub access).
- `run_mteb(model, task_dirs)` runs them through `mteb.evaluate` with mteb's result cache off.

mteb's protocols differ from ours on purpose in places (classification: 10 undersampled experiments of 8 samples
per label; pair classification: best threshold on test; clustering: mini-batch k-means on subsamples), so only
the retrieval numbers are expected to match ours exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seaembed.evaluate.encoders import Encoder, load_encoder
from seaembed.evaluate.runners import doc_text
from seaembed.evaluate.tasks import Task, find_task_dirs, load_task

# ISO 639-1 (what our tasks use) -> mteb's "iso639-3-Script" codes, for the languages of the region and a few more.
MTEB_LANGS = {
    "en": "eng-Latn", "id": "ind-Latn", "ms": "zsm-Latn", "th": "tha-Thai", "vi": "vie-Latn", "tl": "tgl-Latn",
    "fil": "fil-Latn", "km": "khm-Khmr", "my": "mya-Mymr", "lo": "lao-Laoo", "jv": "jav-Latn", "su": "sun-Latn",
    "zh": "zho-Hans", "ja": "jpn-Jpan", "ko": "kor-Hang", "ta": "tam-Taml", "ceb": "ceb-Latn",
}

_TYPES = {"retrieval": "Retrieval", "classification": "Classification", "pair-classification": "PairClassification",
          "bitext": "BitextMining", "clustering": "Clustering"}
# our main metric -> mteb's score name (pair classification: mteb's are best-on-test over similarity functions)
_MAIN = {"ndcg_at_10": "ndcg_at_10", "recall_at_10": "recall_at_10", "recall_at_100": "recall_at_100",
         "mrr_at_10": "mrr_at_10", "accuracy": "accuracy", "f1_macro": "f1", "f1": "f1", "v_measure": "v_measure",
         "precision": "precision", "recall": "recall"}
_MAIN_PAIRS = {"f1": "similarity_f1", "ap": "similarity_ap", "precision": "similarity_precision",
               "recall": "similarity_recall", "accuracy": "similarity_accuracy"}


def mteb_lang(code: str) -> str:
    """Our language code as mteb's `xxx-Scrp` (codes already in that form pass through)."""
    if "-" in code and len(code.split("-")[1]) == 4:
        return code
    return MTEB_LANGS.get(code.lower(), f"{code.lower()}-Latn" if len(code) == 3 else "eng-Latn")


def _prompt_name(prompt_type: Any) -> str:
    value = getattr(prompt_type, "value", prompt_type)
    return "passage" if value == "document" else "query"


def MtebEncoder(model: Any, *, name: str | None = None, batch_size: int = 32):  # noqa: N802 - a class factory
    """An mteb `EncoderProtocol` object around `model` (a model source, a SentenceTransformer, or an `Encoder`)."""
    from mteb.models import ModelMeta
    from mteb.models.abs_encoder import AbsEncoder
    from mteb.models.model_meta import ScoringFunction

    class _MtebEncoder(AbsEncoder):
        def __init__(self, encoder: Encoder, model_name: str):
            self.encoder = encoder
            self.model = encoder
            safe = model_name.strip("/").replace(":", "-").split("/")[-1] or "model"
            self.mteb_model_meta = ModelMeta.create_empty(
                {"name": f"seaembed/{safe}", "revision": encoder.fingerprint, "similarity_fn_name": ScoringFunction.COSINE,
                 "framework": ["PyTorch"]})

        def encode(self, inputs, *, task_metadata, hf_split, hf_subset, prompt_type=None, **kwargs) -> np.ndarray:
            texts: list[str] = []
            for batch in inputs:
                texts.extend(batch["text"])
            return self.encoder.encode(texts, _prompt_name(prompt_type))

    encoder = load_encoder(model, batch_size=batch_size, name=name)
    return _MtebEncoder(encoder, name or getattr(encoder, "name", "model"))


def _metadata(task: Task, eval_langs: Any, mteb_type: str | None = None):
    from mteb.abstasks.task_metadata import TaskMetadata

    return TaskMetadata(
        name=f"Seaembed{task.name.replace('-', ' ').title().replace(' ', '')}",
        description=f"seaembed local task {task.name} ({task.path})", reference=None,
        dataset={"path": str(task.path), "revision": "local"}, type=mteb_type or _TYPES[task.type],
        category="t2t", modalities=["text"], eval_splits=["test"], eval_langs=eval_langs,
        main_score=(_MAIN_PAIRS if task.type == "pair-classification" else _MAIN)[task.main_metric], date=None, domains=None, task_subtypes=None, license=None,
        annotations_creators=None, dialect=None, sample_creation=None, bibtex_citation="",
    )


def to_mteb_task(task: Task):
    """An mteb task object whose data come from the local task directory `task.path`."""
    from datasets import Dataset, DatasetDict

    langs = [mteb_lang(x) for x in task.languages] or ["eng-Latn"]

    if task.type == "retrieval":
        from mteb.abstasks.retrieval import AbsTaskRetrieval
        from mteb.abstasks.retrieval_dataset_loaders import RetrievalSplitData

        class LocalRetrieval(AbsTaskRetrieval):
            metadata = _metadata(task, langs)

            def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
                split = RetrievalSplitData(
                    corpus=Dataset.from_list([{"id": d, "title": "", "text": doc_text(v)}
                                              for d, v in task.corpus.items()]),
                    queries=Dataset.from_list([{"id": q, "text": task.queries[q]["text"]} for q in task.qrels]),
                    relevant_docs={q: dict(v) for q, v in task.qrels.items()}, top_ranked=None)
                self.dataset = {"default": {"test": split}}
                self.data_loaded = True

        return LocalRetrieval()

    if task.type == "classification":
        from mteb.abstasks.classification import AbsTaskClassification

        class LocalClassification(AbsTaskClassification):
            metadata = _metadata(task, langs)

            def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
                self.dataset = DatasetDict({
                    "train": Dataset.from_dict({"text": [r.text for r in task.train],
                                                "label": [r.label for r in task.train]}),
                    "test": Dataset.from_dict({"text": [r.text for r in task.test],
                                               "label": [r.label for r in task.test]})})
                self.data_loaded = True

        return LocalClassification()

    if task.type == "pair-classification":
        from mteb.abstasks.pair_classification import AbsTaskPairClassification

        class LocalPairs(AbsTaskPairClassification):
            metadata = _metadata(task, langs)

            def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
                self.dataset = DatasetDict({"test": Dataset.from_dict({
                    "sentence1": [p.text1 for p in task.test], "sentence2": [p.text2 for p in task.test],
                    "labels": [p.label for p in task.test]})})
                self.data_loaded = True

        return LocalPairs()

    if task.type == "bitext":
        from mteb.abstasks.text.bitext_mining import AbsTaskBitextMining

        groups: dict[str, list] = {}
        for p in task.pairs:
            groups.setdefault(f"{p.src_lang}-{p.tgt_lang}", []).append(p)
        eval_langs = {k: [mteb_lang(v[0].src_lang), mteb_lang(v[0].tgt_lang)] for k, v in groups.items()}

        class LocalBitext(AbsTaskBitextMining):
            metadata = _metadata(task, eval_langs)

            def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
                self.dataset = {k: DatasetDict({"test": Dataset.from_dict({
                    "sentence1": [p.src for p in v], "sentence2": [p.tgt for p in v]})}) for k, v in groups.items()}
                self.data_loaded = True

        return LocalBitext()

    from mteb.abstasks.clustering import AbsTaskClustering

    class LocalClustering(AbsTaskClustering):
        metadata = _metadata(task, langs)
        max_fraction_of_documents_to_embed = None  # mteb's default (4 %) assumes large sets; embed them all

        def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
            self.dataset = DatasetDict({"test": Dataset.from_dict({
                "sentences": [r.text for r in task.test], "labels": [r.label for r in task.test]})})
            self.data_loaded = True

    return LocalClustering()


def run_mteb(model: Any, task_dirs: Sequence[str | Path], *, batch_size: int = 32,
             show_progress: bool = False) -> dict[str, dict[str, Any]]:
    """Run local task directories through `mteb.evaluate`; returns `{task name: {"main_score", "scores"}}`."""
    import mteb

    tasks = [load_task(d) for d in find_task_dirs(list(task_dirs))]
    encoder = MtebEncoder(model, batch_size=batch_size, name=model if isinstance(model, str) else None)
    out: dict[str, dict[str, Any]] = {}
    for task in tasks:
        result = mteb.evaluate(encoder, to_mteb_task(task), cache=None, show_progress_bar=show_progress,
                               encode_kwargs={"batch_size": batch_size})
        task_result = result.task_results[0]
        scores = task_result.scores["test"]
        out[task.name] = {"main_score": float(np.mean([s["main_score"] for s in scores])), "scores": scores}
    return out
