"""Translation augmentation: add translated copies of examples for target languages that are absent or thin.

A target language is "thin" when its share of the examples of the chosen tasks is below `min_share`. Rows are then
picked from the source languages the backend can translate from (seeded, at most `max_rows` per target), and their
query, positive, or both are translated. A translated example keeps `origin_id`, `group` and `label` of the row it
came from and records `translated_from`.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict

from seaembed.augment.config import TranslateConfig
from seaembed.augment.filters import normalise
from seaembed.augment.records import DropLog
from seaembed.augment.translate.base import Translator
from seaembed.data.schema import TrainingExample

STAGE = "translate"


def language_shares(examples: list[TrainingExample], tasks: list[str]) -> dict[str, float]:
    """Share of each language among the examples of `tasks`."""
    counts = Counter(ex.lang or "und" for ex in examples if ex.task in tasks)
    total = sum(counts.values()) or 1
    return {lang: n / total for lang, n in counts.items()}


def thin_languages(examples: list[TrainingExample], cfg: TranslateConfig) -> list[str]:
    """The target languages whose share is below `min_share`."""
    shares = language_shares(examples, cfg.tasks)
    return [t for t in cfg.target_langs if shares.get(t, 0.0) < cfg.min_share]


def translate_examples(examples: list[TrainingExample], cfg: TranslateConfig, translator: Translator,
                       drops: DropLog, *, seed: int = 0, kind: str = "translate") -> list[TrainingExample]:
    """New, translated examples for each thin target language (the inputs are not changed)."""
    out: list[TrainingExample] = []
    for tgt in thin_languages(examples, cfg):
        pool = [ex for ex in examples if ex.task in cfg.tasks and ex.lang and ex.lang != tgt
                and (not cfg.source_langs or ex.lang in cfg.source_langs) and translator.supports(ex.lang, tgt)]
        random.Random(f"{seed}:{tgt}").shuffle(pool)
        pool = pool[:cfg.max_rows]
        by_src: dict[str, list[TrainingExample]] = defaultdict(list)
        for ex in pool:
            by_src[ex.lang].append(ex)  # type: ignore[index]
        for src, rows in sorted(by_src.items()):
            fields = {f: translator.translate([getattr(ex, f) for ex in rows], src, tgt) for f in cfg.fields}
            for i, ex in enumerate(rows):
                data = ex.model_dump()
                changed = False
                for f, texts in fields.items():
                    text = texts[i].strip()
                    if not text:
                        drops.add(STAGE, "empty translation", where=str(data.get("origin_id", "")), preview=ex.query,
                                  lang=tgt)
                        break
                    changed |= normalise(text) != normalise(data[f])
                    data[f] = text
                else:
                    if not changed:
                        drops.add(STAGE, "translation identical to its source", where=str(data.get("origin_id", "")),
                                  preview=ex.query, lang=tgt)
                        continue
                    data.update(lang=tgt if "query" in fields else ex.lang, negatives=[],
                                source=f"{ex.source}+{kind}:{translator.name.split(':')[0]}",
                                translated_from=src, translated_fields=list(fields))
                    out.append(TrainingExample.model_validate(data))
    return out
