"""LLM-generated queries through an OpenAI-compatible chat endpoint, grounded in the product's own data.

The prompt gives the title, description, category path and attributes and asks for N realistic shopper queries in
one language as a JSON array. Replies are cached (same sqlite cache as translations), so a rerun sends nothing.
"""

from __future__ import annotations

import hashlib
import json

from seaembed.augment.records import Product
from seaembed.augment.translate.base import lang_name
from seaembed.augment.translate.cache import TranslationCache
from seaembed.augment.translate.openai_chat import ChatClient, parse_json_array

SYSTEM = ("You write realistic e-commerce search queries. Given one product, write {n} different queries that a "
          "shopper in {lang} would type into a marketplace search box to find exactly this product: short, "
          "lower-case is fine, some with the brand or model, some with only the product type and a key attribute, "
          "some colloquial. Use only facts present in the product data. Reply with only a JSON array of {n} strings.")


def product_prompt(p: Product, *, max_description: int = 600) -> str:
    """The grounded product block of the prompt."""
    data = {"title": p.title, "category": " > ".join(p.category), "brand": p.brand,
            "attributes": p.attributes, "description": p.description[:max_description]}
    return json.dumps({k: v for k, v in data.items() if v}, ensure_ascii=False)


def llm_queries(client: ChatClient, products: list[Product], lang_of: dict[str, str], *, n: int,
                cache: TranslationCache) -> dict[str, list[str]]:
    """Product id -> up to `n` generated queries (cached per prompt)."""
    out: dict[str, list[str]] = {}
    backend = f"llm-queries:{client.url}:{client.model}"
    for p in products:
        lang = lang_of[p.id]
        system = SYSTEM.format(n=n, lang=lang_name(lang))
        user = product_prompt(p)
        key = hashlib.sha256((system + "\n" + user).encode()).hexdigest()
        hit = cache.get_many(backend, lang, str(n), [key])
        if key in hit:
            reply = hit[key]
        else:
            reply = client.complete([{"role": "system", "content": system}, {"role": "user", "content": user}],
                                    temperature=0.7)
            cache.put_many(backend, lang, str(n), [(key, reply)])
        items = parse_json_array(reply) or []
        queries = [" ".join(q.split()) for q in items if isinstance(q, str) and q.strip()]
        out[p.id] = list(dict.fromkeys(queries))[:n]
    return out
