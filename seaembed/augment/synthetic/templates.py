"""Template-based synthetic queries from a product's title, category, brand and attributes, per language.

Forms: `dropped-attributes` (the title without its attribute values and tail), `brand` (brand/category/model
combinations), `attribute` (category + one attribute value), `colloquial` (shopping phrases around a short name),
then, on a share of them, `typo` (keyboard neighbour, deletion, transposition) and `code-mix` (a local word swapped
for its English equivalent). Templates live in `seaembed/augment/templates/<lang>.yaml`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from seaembed.augment.langid import script_language
from seaembed.augment.records import Product
from seaembed.augment.synthetic.typos import add_typo

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
_UNITS = {"gb", "tb", "mb", "ml", "l", "kg", "g", "gr", "cm", "mm", "m", "w", "mah", "pcs", "inch", "v", "hz"}
_MODEL = re.compile(r"(?<!\w)(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9][\w-]{1,15}(?!\w)")
_BRACKETS = re.compile(r"[\[\(【][^\]\)】]*[\]\)】]")
BRAND_KEYS = ("brand", "merek", "merk", "thương hiệu", "ยี่ห้อ", "jenama", "tatak")


@dataclass
class SyntheticQuery:
    query: str
    form: str
    lang: str


@lru_cache(maxsize=16)
def load_templates(lang: str) -> dict | None:
    """The templates of `lang` (None when there are none)."""
    path = TEMPLATE_DIR / f"{lang}.yaml"
    if not path.exists():
        return None
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def available_languages() -> list[str]:
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.yaml"))


def model_code(title: str) -> str | None:
    """A model code in the title (letters and digits, e.g. 'A55', 'WH-1000XM5'), not a size like '256GB'."""
    for m in _MODEL.finditer(title):
        token = m.group(0)
        if re.sub(r"[\d.,/]", "", token).lower() not in _UNITS:
            return token
    return None


def product_brand(p: Product) -> str | None:
    if p.brand:
        return p.brand
    return next((v for k, v in p.attributes.items() if k.lower() in BRAND_KEYS), None)


def short_name(p: Product, *, max_words: int = 4) -> str:
    """The title without bracketed text, attribute values and sizes, cut to its first `max_words` words."""
    text = _BRACKETS.sub(" ", p.title)
    for value in sorted(p.attributes.values(), key=len, reverse=True):
        if len(value) >= 2:
            text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", " ", text, flags=re.IGNORECASE)
    words = [w for w in re.split(r"[\s,|/+]+", text) if w and not re.fullmatch(r"[\d.,]+\w{0,4}", w)
             and w not in "-–"]
    return " ".join(words[:max_words]).strip(" -")


def _fill(template: str, slots: dict[str, str | None]) -> str | None:
    names = re.findall(r"{(\w+)}", template)
    if any(not slots.get(n) for n in names):
        return None
    return " ".join(template.format(**{n: slots[n] for n in names}).split())


def _occurs(word: str, query: str) -> bool:
    if script_language(word) == "th":  # Thai writes no spaces between words: a substring is a match
        return word in query
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", query, flags=re.IGNORECASE) is not None


def code_mix(query: str, lexicon: dict[str, str], rng: random.Random) -> str | None:
    """Swap one local word (or phrase) of `query` for its English equivalent; None if none occurs."""
    found = sorted(w for w in lexicon if _occurs(w, query))
    if not found:
        return None
    w = rng.choice(found)
    if script_language(w) == "th":
        return " ".join(query.replace(w, f" {lexicon[w]} ", 1).split())
    return re.sub(rf"(?<!\w){re.escape(w)}(?!\w)", lexicon[w], query, count=1, flags=re.IGNORECASE)


def candidates(p: Product, lang: str) -> list[SyntheticQuery]:
    """Every template query for `p` in `lang` (before sampling)."""
    t = load_templates(lang)
    if t is None:
        return []
    leaf = p.category[-1].lower() if p.category else None
    short = short_name(p)
    slots = {"brand": product_brand(p), "category": leaf, "model": model_code(p.title), "item": short.lower() or leaf}
    out: list[SyntheticQuery] = []
    if short and short.lower() != p.title.lower():
        out.append(SyntheticQuery(short, "dropped-attributes", lang))
    for form in ("brand", "colloquial"):
        for tpl in t.get(form) or []:
            q = _fill(tpl, slots)
            if q:
                out.append(SyntheticQuery(q, form, lang))
    for value in list(p.attributes.values())[:6]:
        if 1 < len(value) <= 30 and len(value.split()) <= 3 and value != slots["brand"]:
            for tpl in t.get("attribute") or []:
                q = _fill(tpl, {**slots, "value": value.lower()})
                if q:
                    out.append(SyntheticQuery(q, "attribute", lang))
    seen, uniq = set(), []
    for c in out:
        key = c.query.casefold()
        if key not in seen and key != p.title.casefold():
            seen.add(key)
            uniq.append(c)
    return uniq


def template_queries(p: Product, lang: str, *, n: int, rng: random.Random, typo_rate: float = 0.2,
                     code_mix_rate: float = 0.2) -> list[SyntheticQuery]:
    """`n` diverse template queries (one per form first, then any), some with a typo or a code-mixed word."""
    pool = candidates(p, lang)
    rng.shuffle(pool)
    by_form: dict[str, list[SyntheticQuery]] = {}
    for c in pool:
        by_form.setdefault(c.form, []).append(c)
    chosen: list[SyntheticQuery] = []
    while len(chosen) < n and any(by_form.values()):
        for form in sorted(by_form):
            if by_form[form] and len(chosen) < n:
                chosen.append(by_form[form].pop())
    lexicon = (load_templates(lang) or {}).get("code_mix") or {}
    out = []
    for c in chosen:
        if lexicon and rng.random() < code_mix_rate:
            mixed = code_mix(c.query, lexicon, rng)
            if mixed and mixed != c.query:
                c = SyntheticQuery(mixed, c.form + "+code-mix", lang)
        if rng.random() < typo_rate:
            typo, kind = add_typo(c.query, rng)
            if kind:
                c = SyntheticQuery(typo, c.form + "+typo", lang)
        out.append(c)
    return out
