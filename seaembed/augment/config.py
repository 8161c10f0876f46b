"""`DataConfig`: the settings of `seaembed data build`, validated from YAML.

Relative paths are resolved against the directory of the config file; a path written `sample:NAME` names a file of
the bundled sample (`seaembed/samples/NAME`). See `seaembed/augment/example_config.yaml` and `docs/data.md`.

Every source takes `fields`, a mapping from our field names to the user's column names (`{ours: theirs}`), so any
schema can be read without renaming the file. Fields left out of the mapping are looked up under our own name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from seaembed.augment.langid import DEFAULT_LANGS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceFile(_Strict):
    """One user file: its path, optional format, field mapping and default language."""

    path: str
    format: Literal["jsonl", "csv", "tsv", "parquet"] | None = None
    fields: dict[str, str] = Field(default_factory=dict)
    lang: str | None = None  # default language of the rows that carry none (else detected)
    name: str | None = None  # source name in the examples (default: the file stem)
    delimiter: str | None = None  # CSV delimiter (sniffed when unset)


class CatalogSource(SourceFile):
    """Products: id, title, description, category (path or list), attributes (object or JSON), price, brand, lang."""

    category_sep: str = ">"  # separator of a category path "A > B > C"


class QueryLogSource(SourceFile):
    """Search logs: query and the clicked or bought item ids (a list, or a string split on `ids_sep`)."""

    ids_sep: str = ","


class LabelledSource(SourceFile):
    """Labelled texts (text, label), e.g. review sentiment or product-name -> category.

    The label's text is the contrastive positive, so codes such as `0`-`4` or `q` should get readable names in
    `label_names` (`{"4": "5-star review: very satisfied"}`); the label itself stays the class key. When given,
    `label_names` must name exactly the labels of the file (a label without a name, or a name for a label no row
    carries, is an error naming the file and the label).
    """

    task: str = "classification"
    label_names: dict[str, str] = Field(default_factory=dict)
    # a label space shared with other sources: the row's label (its class key) becomes "<label_space>:<name>", the
    # name being `label_map[label]` (default: the label itself), so e.g. SmSA "positive" and Wisesight "pos" are
    # one class; `label_names` still gives the positive's text
    label_space: str | None = None
    label_map: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _space(self) -> LabelledSource:
        if self.label_map and not self.label_space:
            raise ValueError("label_map needs label_space (the name of the shared label space it maps into)")
        return self


class RelevanceSource(SourceFile):
    """QC / QI relevance rows: query, item id or text or category, 0/1 label."""

    kind: Literal["item", "category"] = "item"


class ParallelSource(SourceFile):
    """Parallel text: src, tgt, src_lang, tgt_lang, optional group id (rows sharing it are translations)."""


class ReviewSource(SourceFile):
    """Reviews: item_id, text, optional rating and lang."""

    min_rating: float | None = None  # keep only reviews rated at least this (None: all)


class Sources(_Strict):
    catalogs: list[CatalogSource] = Field(default_factory=list)
    query_logs: list[QueryLogSource] = Field(default_factory=list)
    labelled: list[LabelledSource] = Field(default_factory=list)
    relevance: list[RelevanceSource] = Field(default_factory=list)
    parallel: list[ParallelSource] = Field(default_factory=list)
    reviews: list[ReviewSource] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_task_per_label_space(self) -> Sources:
        # a class key is (task, label): sources of one label space must share their task to share classes
        tasks: dict[str, set[str]] = {}
        for src in self.labelled:
            if src.label_space:
                tasks.setdefault(src.label_space, set()).add(src.task)
        for space, ts in tasks.items():
            if len(ts) > 1:
                raise ValueError(f"labelled: the sources of label_space '{space}' have different tasks "
                                 f"{sorted(ts)}; give them one task, or their labels are not one class")
        return self


PAIR_RULES = ("title-category", "title-description", "query-category", "query-item", "review-item", "bitext",
              "labelled", "relevance")


class PairsConfig(_Strict):
    """Structured pairs from the sources: which rules run, and the filters every pair passes."""

    rules: list[str] = Field(default_factory=lambda: list(PAIR_RULES))
    min_chars: int = 2
    max_chars: int = 2000
    max_products_per_category: int = 100  # query-category pairs per category name
    category_level: Literal["leaf", "path"] = "leaf"  # query-category query: the leaf name or the whole path
    both_directions: bool = False  # bitext: also add tgt -> src


class BackendConfig(_Strict):
    """A translator or chat backend. `kind` selects the file under `seaembed/augment/translate/`."""

    kind: Literal["openai", "hf", "apertium", "dictionary"]
    # openai: an OpenAI-compatible chat endpoint (vLLM, llama.cpp server, a hosted API)
    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = "default"
    api_key_env: str = "OPENAI_API_KEY"
    batch_size: int = 16
    max_retries: int = 4
    timeout: float = 60.0
    backoff: float = 1.0
    temperature: float = 0.0
    # hf: a seq2seq model id or path (NLLB, MADLAD, opus-mt)
    model_path: str | None = None
    max_new_tokens: int = 128
    device: str = "cpu"
    # dictionary: fraction of English content words replaced by Indonesian ones
    fraction: float = 0.5
    dict_path: str | None = None  # default: Debian's /usr/share/dictd/freedict-eng-ind.index
    seed: int = 0


class TranslateConfig(_Strict):
    """Translation augmentation for languages absent or thin in the built pairs."""

    enabled: bool = False
    backend: BackendConfig | None = None
    target_langs: list[str] = Field(default_factory=list)
    source_langs: list[str] = Field(default_factory=list)  # empty: any language the rows carry
    min_share: float = 0.1  # translate into a target language whose share of examples is below this
    fields: list[Literal["query", "positive"]] = Field(default_factory=lambda: ["query"])
    tasks: list[str] = Field(default_factory=lambda: ["query-item", "query-category", "title-category"])
    max_rows: int = 1000  # per target language
    # when the backend needs a system package that is missing (apertium, FreeDict): "error" stops the build with
    # one line naming the package; "skip" builds without translation, says so in one line and in the report
    if_unavailable: Literal["error", "skip"] = "error"


class TemplateQueries(_Strict):
    enabled: bool = True
    per_product: int = 3
    langs: list[str] | None = None  # None: the product's own language (and English)
    typo_rate: float = 0.2  # share of generated queries that get one typo
    code_mix_rate: float = 0.2  # share of local-language queries that take an English category word


class LLMQueries(_Strict):
    enabled: bool = False
    backend: BackendConfig | None = None
    per_product: int = 3
    max_products: int = 500


class ConsistencyFilter(_Strict):
    enabled: bool = True
    top_k: int = 10  # the source product must rank in the top k for its own query


class SyntheticConfig(_Strict):
    """Context-grounded synthetic queries from products."""

    templates: TemplateQueries = Field(default_factory=TemplateQueries)
    llm: LLMQueries = Field(default_factory=LLMQueries)
    consistency: ConsistencyFilter = Field(default_factory=ConsistencyFilter)
    max_products: int | None = None  # cap for a quick build


class HardNegativesConfig(_Strict):
    """Semantic hard-negative mining with the guide model and faiss."""

    enabled: bool = True
    num_negatives: int = 3
    range_min: int = 0  # rank window over the candidate list (0-based ranks, positive excluded)
    range_max: int = 50
    fn_ratio: float | None = 0.95  # drop candidates scoring above fn_ratio x the positive's score
    exclude_same_label: bool = True
    exclude_same_group: bool = True
    exclude_same_query_positives: bool = True  # the other known positives of the same (normalised) query
    tasks: list[str] = Field(default_factory=lambda: ["query-item", "query-category", "title-category",
                                                      "title-description", "review-item", "bitext"])

    @model_validator(mode="after")
    def _window(self) -> HardNegativesConfig:
        if not 0 <= self.range_min < self.range_max:
            raise ValueError(f"need 0 <= range_min < range_max, got {self.range_min} and {self.range_max}")
        if self.num_negatives > self.range_max - self.range_min:
            raise ValueError(f"num_negatives={self.num_negatives} does not fit the rank window "
                             f"[{self.range_min}, {self.range_max})")
        if self.fn_ratio is not None and not 0 < self.fn_ratio <= 1:
            raise ValueError("fn_ratio must be in (0, 1]")
        return self


class SelfValidationConfig(_Strict):
    """k-fold self-validation: rows whose label models that did not see them confidently contradict."""

    enabled: bool = True
    folds: int = 5
    min_rows_per_label: int = 3  # labels rarer than this are not judged
    given_below: float = 0.1  # contradicted if P(given label) < this ...
    other_above: float = 0.6  # ... and some other label has P > this
    # Pair rows (no label): flagged if the positive ranks at this or worse among the task's positives under the
    # guide. Off (None) by default: the guide is the untrained base model, not an out-of-fold one, and its weakest
    # rows are the ones training is for (Khmer, Burmese, cross-lingual pairs), so on its word alone the check drops
    # good rows where they are scarcest. Set a rank (e.g. 50) to turn it on.
    pair_max_rank: int | None = None
    action: Literal["drop", "downweight"] = "drop"
    downweight_to: float = 0.3
    tasks: list[str] | None = None  # None: every task


class LangIdConfig(_Strict):
    enabled: bool = True
    langs: list[str] = Field(default_factory=lambda: list(DEFAULT_LANGS))


class SameClassConfig(_Strict):
    """Same-class text pairs (seaembed.augment.same_class_pairs): title <-> title of a category, review <-> review
    of a rating, as label-space rows for Class-Aware Masking. Off by default."""

    enabled: bool = False
    kinds: list[Literal["title", "review"]] = Field(default_factory=lambda: ["title", "review"])
    per_class: int | None = Field(50, ge=1)  # pairs per class (None: every text of the class once)
    category_level: Literal["leaf", "path"] = "leaf"


class DataConfig(_Strict):
    """The whole `seaembed data build` config."""

    sources: Sources = Field(default_factory=Sources)
    out: str = "runs/data/train.jsonl"
    work_dir: str = "runs/data/work"
    report_dir: str | None = None  # default: <out dir>/data_report
    guide_model: str = "packaged:multilingual-e5-small"
    guide_dtype: Literal["float32", "bfloat16"] = "float32"  # bfloat16: ~2x faster on CPUs with bf16 support
    guide_max_seq_length: int | None = 128  # the guide reads at most this many tokens of a text
    batch_size: int = 64
    seed: int = 0
    errors: Literal["collect", "raise"] = "collect"  # bad rows: report and go on, or stop at the first
    # with errors: collect, fail the build when more than this fraction of the source rows is malformed (0.05: 5%)
    max_error_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    langid: LangIdConfig = Field(default_factory=LangIdConfig)
    pairs: PairsConfig = Field(default_factory=PairsConfig)
    same_class: SameClassConfig = Field(default_factory=SameClassConfig)
    translate: TranslateConfig = Field(default_factory=TranslateConfig)
    synthetic: SyntheticConfig = Field(default_factory=SyntheticConfig)
    hard_negatives: HardNegativesConfig = Field(default_factory=HardNegativesConfig)
    self_validation: SelfValidationConfig = Field(default_factory=SelfValidationConfig)


def resolve_path(path: str, base: Path | None) -> Path:
    """`sample:NAME` -> the bundled sample file; relative -> against `base` (the config's directory)."""
    if path.startswith("sample:"):
        return Path(__file__).resolve().parent.parent / "samples" / path.split(":", 1)[1]
    p = Path(path).expanduser()
    if not p.is_absolute() and base is not None:
        p = base / p
    return p


def load_data_config(path: str | Path) -> DataConfig:
    """Load a `DataConfig` from YAML (a top-level `data:` section is accepted too)."""
    from seaembed.config import load_yaml, validate

    raw = load_yaml(path)
    if "data" in raw and isinstance(raw["data"], dict) and "sources" not in raw:
        raw = raw["data"]
    return validate(DataConfig, raw, source=str(path))
