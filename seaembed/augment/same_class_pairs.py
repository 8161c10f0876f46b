"""Same-class text pairs: label-space rows whose positive is another *text* of the same class.

The regime Class-Aware Masking is for (#14 item 5). Label rows whose positive is the class name cost plain InfoNCE
nothing when two rows of one class share a batch (their positives are the same string, which the sampler and the
duplicate mask already handle). Here the positive is another title of the same category (task
`title-title-category`) or another review with the same rating (task `review-review-rating`): two such rows in one
batch have *different* positive texts of the same class, which plain InfoNCE pushes apart as negatives and CAM masks
(both tasks are in `seaembed.train.class_keys.LABEL_SPACE_TASKS`).

Pairing is a seeded cycle inside each class: the class's texts are shuffled and text k is paired with text k+1
(the last with the first), so every text is a query once and a positive once; a class of one text gives no pair.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable

from seaembed.augment.records import Product, Review
from seaembed.data.schema import TrainingExample

TITLE_TASK = "title-title-category"
REVIEW_TASK = "review-review-rating"


def _cycle_pairs(items: list[tuple[str, str, str | None]], task: str, label: str, *, per_class: int | None,
                 rng: random.Random) -> list[TrainingExample]:
    """items: (text, origin id, lang); returns up to `per_class` pairs text k -> text k+1 of the shuffled class."""
    items = list(dict.fromkeys(items))  # a text listed twice is one text
    if len(items) < 2:
        return []
    rng.shuffle(items)
    n = len(items) if len(items) > 2 else 1  # two texts: one pair, not the same pair both ways
    out = []
    for k in range(min(n, per_class) if per_class else n):
        (q, qid, lang), (p, _pid, _) = items[k], items[(k + 1) % len(items)]
        out.append(TrainingExample.model_validate({
            "query": q, "positive": p, "task": task, "label": label, "lang": lang, "source": task,
            "origin_id": qid, "group": f"class:{task}:{label}"}))
    return out


def title_title_category(products: Iterable[Product], *, per_class: int | None = None, level: str = "leaf",
                         seed: int = 0) -> list[TrainingExample]:
    """title -> another title of the same category (leaf name, or the whole path with level="path")."""
    by_class: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
    for p in products:
        if p.category and p.title.strip():
            by_class[p.category[-1] if level == "leaf" else " > ".join(p.category)].append((p.title, p.id, p.lang))
    rng = random.Random(seed)
    return [ex for label in sorted(by_class)
            for ex in _cycle_pairs(by_class[label], TITLE_TASK, label, per_class=per_class, rng=rng)]


def rating_label(rating: float) -> str:
    """The class of a rating: "4" for 4 or 4.0, "4.5" for 4.5."""
    return str(int(rating)) if float(rating).is_integer() else str(rating)


def review_review_rating(reviews: Iterable[Review], *, per_class: int | None = None,
                         seed: int = 0) -> list[TrainingExample]:
    """review -> another review with the same rating (reviews without a rating are skipped)."""
    by_class: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
    for r in reviews:
        if r.rating is not None and r.text.strip():
            by_class[rating_label(r.rating)].append((r.text, r.where or r.item_id, r.lang))
    rng = random.Random(seed)
    return [ex for label in sorted(by_class)
            for ex in _cycle_pairs(by_class[label], REVIEW_TASK, label, per_class=per_class, rng=rng)]


def same_class_pairs(products: Iterable[Product], reviews: Iterable[Review], *, kinds: Iterable[str] = ("title",
                     "review"), per_class: int | None = None, level: str = "leaf", seed: int = 0) -> list[TrainingExample]:
    """The configured same-class pairs: "title" (title <-> title of a category), "review" (review <-> review of a
    rating)."""
    kinds = list(kinds)
    out: list[TrainingExample] = []
    if "title" in kinds:
        out += title_title_category(products, per_class=per_class, level=level, seed=seed)
    if "review" in kinds:
        out += review_review_rating(reviews, per_class=per_class, seed=seed)
    return out
