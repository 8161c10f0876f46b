#!/usr/bin/env python
"""Build the bundled sample data and the shipped dev tasks (`seaembed/samples/`) from ../shared/datasets.

    .venv/bin/python scripts/build_samples.py [--datasets DIR] [--out DIR]

Deterministic: every split and sample is keyed by a fixed seed (hashes of ids, seeded RNGs), so running it twice
gives byte-identical files. The outputs are committed; tests/samples checks them (and, when the datasets are
present, that a rebuild reproduces them).

Splits (so the dev tasks measure generalisation):
- PRDECT-ID products are grouped by the first three words of their name (variants of one listing stay together),
  and ~45% of each category's groups are held out. Training files (catalog, reviews, queries) only hold the
  other products; every dev task only holds held-out ones.
- Hand-written products are split by `intent` (all products of a shopping need go to the same side), so held-out
  queries ask for needs the training data never showed.
- TALPCo: ids from TALPCO_HELDOUT_FROM on are the bitext task; lower ids are training pairs.
- SIB-200: the task's test split is `dev.tsv`, its classifier train split is `train.tsv`; training pairs come
  from `train.tsv` only. No file named test is read anywhere.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from seaembed.atomic import atomic_dir, write_json, write_jsonl, write_text  # noqa: E402
from seaembed.evaluate.title_queries import cut_title_queries  # noqa: E402

SEED = "seaembed-samples-v1"
HANDWRITTEN = REPO / "scripts" / "samples_source" / "handwritten_products.yaml"
HW_SOURCE = "seaembed-handwritten"

PRDECT_HELDOUT_FRACTION = 0.45  # of each category's products
HW_HELDOUT_FRACTION = 0.45  # of intents
TALPCO_HELDOUT_FROM = 3400  # TALPCo ids >= this are the bitext dev task (ids run 1176..3916)
TALPCO_LANGS = {"ind": "id", "tha": "th", "vie": "vi", "zsm": "ms", "myn": "my"}
SIB_LANGS = {"tha_Thai": "th", "vie_Latn": "vi", "ind_Latn": "id", "zsm_Latn": "ms", "tgl_Latn": "tl",
             "khm_Khmr": "km", "mya_Mymr": "my", "eng_Latn": "en"}
SIB_TASK_TRAIN_IDS = 250  # SIB-200 train sentences per language in the topic task's train split
SIB_PARALLEL_IDS = 80  # SIB-200 train sentences (per language, paired with English) in parallel.jsonl
LABEL_SAMPLE = 800  # rows per labelled set
REVIEWS_PER_PRODUCT = 2  # at most, in reviews.jsonl
SHOPEE_TASK_PER_SPLIT = 800
TITLE_QUERIES = 150  # queries of the prdect-title-queries dev task

# A two-level taxonomy over PRDECT-ID's 29 categories, for `category_path` (the upper level is seaembed's grouping).
PARENT = {
    "Men's Fashion": "Fashion", "Women's Fashion": "Fashion", "Muslim Fashion": "Fashion",
    "Kids and Baby Fashion": "Fashion",
    "Electronics": "Electronics", "Computers and Laptops": "Electronics", "Phones and Tablets": "Electronics",
    "Camera": "Electronics", "Gaming": "Electronics",
    "Household": "Home and Living", "Kitchen": "Home and Living", "Carpentry": "Home and Living",
    "Property": "Home and Living",
    "Beauty": "Health and Beauty", "Body Care": "Health and Beauty", "Health": "Health and Beauty",
    "Mother and Baby": "Mother, Baby and Toys", "Toys and Hobbies": "Mother, Baby and Toys",
    "Food and Drink": "Food and Groceries",
    "Sport": "Hobbies and Leisure", "Books": "Hobbies and Leisure", "Movies and Music": "Hobbies and Leisure",
    "Party Supplies and Craft": "Hobbies and Leisure",
    "Office & Stationery": "Office and School", "Automotive": "Automotive", "Animal Care": "Pets",
    "Precious Metal": "Gold and Jewellery", "Tour and Travel": "Travel and Services", "Other Products": "Others",
}
# Indonesian names of the categories (as Tokopedia words them), the second query language of the category task.
CATEGORY_ID = {
    "Computers and Laptops": "Komputer dan Laptop", "Toys and Hobbies": "Mainan dan Hobi",
    "Food and Drink": "Makanan dan Minuman", "Office & Stationery": "Perlengkapan Kantor dan Alat Tulis",
    "Automotive": "Otomotif", "Animal Care": "Perawatan Hewan", "Body Care": "Perawatan Tubuh",
    "Party Supplies and Craft": "Perlengkapan Pesta dan Kerajinan", "Carpentry": "Pertukangan",
    "Other Products": "Produk Lainnya", "Sport": "Olahraga", "Books": "Buku", "Kitchen": "Dapur",
    "Electronics": "Elektronik", "Kids and Baby Fashion": "Fashion Anak dan Bayi", "Muslim Fashion": "Fashion Muslim",
    "Men's Fashion": "Fashion Pria", "Women's Fashion": "Fashion Wanita", "Movies and Music": "Film dan Musik",
    "Gaming": "Gaming", "Phones and Tablets": "Handphone dan Tablet", "Mother and Baby": "Ibu dan Bayi",
    "Camera": "Kamera", "Beauty": "Kecantikan", "Health": "Kesehatan", "Household": "Rumah Tangga",
    "Precious Metal": "Logam Mulia", "Tour and Travel": "Tour dan Travel", "Property": "Properti",
}
LANGS = ("en", "id", "th", "vi", "ms", "tl", "km", "my")

LICENSES = {
    "prdect-id": ("PRDECT-ID (Sutoyo et al., Data in Brief 44, 2022; Mendeley Data 574v66hf2v)", "CC BY 4.0"),
    "filipino-shopee-reviews": ("Shopee PH reviews, tl stars (scaredmeow/shopee-reviews-tl-stars, via MTEB)", "MPL-2.0"),
    "wisesight-sentiment": ("Wisesight Sentiment Corpus v1.1 (PyThaiNLP/wisesight-sentiment)", "CC0 1.0"),
    "indonlu-smsa": ("IndoNLU SmSA (IndoNLP/indonlu)", "CC BY-SA 4.0 (repo LICENSE: Apache-2.0)"),
    "talpco": ("TALPCo, TUFS Asian Language Parallel Corpus (matbahasa/TALPCo)", "CC BY 4.0"),
    "sib200": ("SIB-200 (dadelani/sib-200), texts from FLORES-200", "CC BY-SA 4.0"),
    HW_SOURCE: ("written for seaembed by its developers", "Apache-2.0 (the project's license)"),
    "nusax": ("NusaX (IndoNLP/nusax; Winata et al., EACL 2023)", "CC BY-SA 4.0"),
    "indonlu-emot": ("IndoNLU EmoT (IndoNLP/indonlu)", "CC BY-SA 4.0 (repo LICENSE: Apache-2.0)"),
    "indonlu-wrete": ("IndoNLU WReTE (IndoNLP/indonlu)", "CC BY-SA 4.0 (repo LICENSE: Apache-2.0)"),
}

# The sources some training file (catalog, reviews, queries, labels, parallel) holds rows of.
TRAINING_SOURCES = {"prdect-id", HW_SOURCE, "filipino-shopee-reviews", "wisesight-sentiment", "indonlu-smsa",
                    "talpco", "sib200"}

# General guard tasks: built only from sources no training file uses (their task.json says
# "touches_training": false), so a merge that forgets general ability shows it there.
NUSAX_LANGS = {"indonesian": "id", "english": "en", "javanese": "jv", "sundanese": "su", "balinese": "ban",
               "minangkabau": "min"}
NUSAX_BITEXT = [("english", "indonesian"), ("indonesian", "javanese"), ("indonesian", "sundanese"),
                ("english", "balinese"), ("indonesian", "minangkabau")]
NUSAX_BITEXT_PAIRS = 160  # per language pair
NUSAX_SENT_LANGS = ["indonesian", "english", "javanese", "sundanese"]
NUSAX_SENT_TRAIN = 150  # probe train rows per language (test: the 100 validation rows of each language)
EMOT_TRAIN = 600  # probe train rows (test: the validation split, 440 rows)


# PRDECT-ID products that serve the same shopping need as a hand-written intent, matched on the title by
# (include, exclude) patterns that were checked by hand against every PRDECT-ID title. They are judged relevant
# (score 1) in `multilingual-product-search` and listed in `queries.jsonl` item_ids, so a real Tokopedia listing
# for the same need is never counted as a wrong answer.
SAME_NEED: dict[str, tuple[str, str | None]] = {
    "karaoke-microphone": (r"\bmic\b.*karaoke|karaoke.*\bmic", None),
    "microsd-card": (r"micro ?sd", r"converter|adapter"),
    "power-bank": (r"power ?bank", r"\btas\b"),
    "wall-paint": (r"cat tembok", None),
    "cordless-drill": (r"cordless drill|bor baterai", None),
    "suitcase": (r"\bkoper\b", r"sabuk|tali"),
    "hijab-pashmina": (r"pashmina|pasmina", None),
    "tudung-bawal": (r"segi ?empat|bawal", None),
    "wireless-mouse": (r"wireless.*mouse|mouse.*wireless", r"touchpad"),
    "kitchen-knife-set": (r"pisau set|set pisau|knife set", None),
    "body-lotion": (r"body ?lotion", None),
    "chili-sauce": (r"\bsamb[ae]l\b", None),
    "ssd-drive": (r"\bssd\b", r"acer|laptop"),
    "matte-lipstick": (r"lip ?cream|lipstick|lipstik|lip matte|lip tint", None),
    "gaming-headset": (r"gaming headset|headset gaming|headphone gaming|gaming headphone", None),
    "laptop": (r"^laptop\b|thinkpad", r"stand|holder"),
    "deodorant": (r"deodorant|deodoran", None),
    "led-bulb": (r"\bbulb\b|bohlam", None),
    "kids-pajamas": (r"(piyama|baju tidur|pajamas?) anak", None),
    "plain-cotton-tshirt": (r"kaos polos|t-?shirt polos|plain t-?shirt", None),
    "laundry-detergent": (r"deterjen|detergen|detergent|sabun cuci (baju|pakaian)", None),
    "vitamin-c-supplement": (r"vitamin c\b", r"serum"),
    "vitamin-c-serum": (r"serum vitamin c|vitamin c serum", None),
    "storage-box": (r"kotak penyimpanan|container box|storage box", None),
    "spin-mop": (r"spin mop|alat pel|pel lantai|\bmop\b", None),
    "motorcycle-helmet": (r"\bhelm\b", r"mount|bubble|pembungkus"),
    "tumbler": (r"tumbler|botol minum|termos", None),
    "baby-bottle": (r"botol (susu|dot)|dot bayi|baby bottle", None),
    "baby-stroller": (r"stroller|kereta dorong", None),
    "a4-paper": (r"kertas a4|kertas hvs|\bhvs\b", None),
    "gift-wrapping-paper": (r"kertas kado|wrapping paper", None),
    "yoga-mat": (r"yoga mat|matras yoga", None),
    "dog-leash": (r"leash|tali anjing|kalung anjing", None),
    "aquarium-filter": (r"filter (aquarium|akuarium|aquascape)|pompa (aquarium|akuarium)", None),
    "fish-sauce": (r"kecap ikan|fish sauce", None),
    "instant-noodles": (r"indomie|mie instan|mi instan|mie goreng", None),
    "cookbook": (r"buku resep|buku masak|cookbook", None),
    "game-voucher": (r"diamond (ml|mobile legends)|top ?up|steam wallet|google play", None),
    "men-polo-shirt": (r"(kaos|baju) polo\b|polo shirt", None),
    "leather-belt": (r"ikat pinggang.*(pria|kulit)|\bbelt\b.*\b(pria|men)\b", r"haji"),
    "women-summer-dress": (r"\bdress\b|\bgaun\b", r"daster"),
    "gamis-dress": (r"\bgamis\b|\babaya\b", None),
    "building-blocks-toy": (r"\blego\b|building blocks?", None),
    "plush-doll": (r"boneka|plush|teddy", None),
    "electric-fan": (r"kipas angin|stand fan|desk fan", None),
    "rice-cooker": (r"rice cooker|magic ?com|penanak nasi", None),
    "tws-earbuds": (r"\btws\b|earbuds|true wireless|(headset|earphone) bluetooth", None),
    "screen-protector": (r"tempered glass|anti ?gores", None),
    "men-running-shoes": (r"sepatu (lari|running)|running shoes", None),
    "badminton-racket": (r"\braket\b|racket", None),
    "baby-diapers": (r"popok|diapers?\b|mamypoko|merries|sweety", None),
    "sunscreen-spf50": (r"sunscreen|sunblock|tabir surya|\bspf\b", None),
    "facial-foam": (r"facial (foam|wash)|sabun (muka|wajah)|face wash", None),
    "shampoo": (r"shampo|shampoo|sampo", r"mobil|motor|hair color"),
    "face-mask-medical": (r"masker (medis|3 ?ply|karet medis)|3 ?ply", None),
    "cat-food": (r"makanan kucing|cat ?food|whiskas|me-o|\bbolt\b", None),
    "cat-litter": (r"pasir kucing|cat litter", None),
    "gel-pen-set": (r"gel pen|pen gel|pulpen gel|pena gel", r"refill"),
    "acoustic-guitar": (r"gitar akustik|acoustic guitar", r"capo"),
    "birthday-balloon-set": (r"happy birthday", None),
    "car-phone-holder": (r"holder (hp|handphone) mobil|car (phone )?holder|holder mobil", None),
    "wifi-cctv-camera": (r"cctv|ip cam", r"power supply|adaptor"),
    "tripod": (r"tripod", r"holder phone"),
    "game-controller": (r"gamepad|game controller|joystick", r"trigger|dock|grip"),
    "nonstick-frying-pan": (r"anti lengket|non ?stick|frypan|teflon", r"cetakan"),
    "air-fryer": (r"air fryer", None),
    "measuring-tape": (r"meteran|measuring tape", r"plastik"),
    "umbrella": (r"\bpayung\b|umbrella", None),
    "gold-bar": (r"logam mulia|antam", None),
    "usb-flash-drive": (r"flash ?disk|flash drive", r"\bwii\b"),
    "usb-c-charger": (r"(charger|adaptor).*(20w|18w|pd\b|fast charg)", None),
}


def same_need(intent: str, products: list[dict]) -> list[str]:
    """Ids of the PRDECT-ID `products` whose title matches the intent's SAME_NEED patterns."""
    if intent not in SAME_NEED:
        return []
    inc, exc = SAME_NEED[intent]
    return [p["id"] for p in products
            if re.search(inc, p["title"], re.I) and not (exc and re.search(exc, p["title"], re.I))]


# ---------------------------------------------------------------------------------------------- helpers
def h(*parts: object) -> str:
    """A stable hash of `parts` under the fixed seed: the sort key of every split."""
    return hashlib.sha1("\x1f".join([SEED, *map(str, parts)]).encode("utf-8")).hexdigest()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def cat_path(category: str) -> str:
    return f"{PARENT[category]} > {category}"


def norm_title(t: str) -> str:
    return " ".join(re.findall(r"\w+", t.lower()))


def assert_not_test(path: Path) -> Path:
    """Refuse any file named test: the project is measured on data it never saw."""
    if "test" in path.stem.lower():
        raise SystemExit(f"refusing to read {path}: files named test are never used")
    return path


# ---------------------------------------------------------------------------------------------- PRDECT-ID
def load_prdect(ds: Path) -> tuple[list[dict], pd.DataFrame]:
    """Products (one per distinct name) and the review rows, each review pointing at its product id."""
    df = pd.read_csv(assert_not_test(ds / "prdect_id" / "prdect_id.csv"), sep=";", dtype=str, keep_default_na=False)
    df["Product Name"] = df["Product Name"].str.strip()
    products = []
    for name, rows in df.groupby("Product Name", sort=True):
        cats = Counter(rows["Category"])
        category = sorted(cats.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        price = Counter(rows["Price"]).most_common(1)[0][0]
        first = rows.iloc[0]
        products.append({
            "id": "prdect-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:12],
            "title": name,
            "description": None,
            "category": category,
            "category_path": cat_path(category),
            "price": int(price),
            "currency": "IDR",
            "brand": None,
            "attributes": {"seller_location": first["Location"], "overall_rating": float(first["Overall Rating"]),
                           "number_sold": int(first["Number Sold"])},
            "lang": "id",
            "source": "prdect-id",
        })
    name_to_id = {p["title"]: p["id"] for p in products}
    df["item_id"] = df["Product Name"].map(name_to_id)
    return products, df


def group_key(title: str) -> str:
    return " ".join(norm_title(title).split()[:3])


def split_prdect(products: list[dict]) -> tuple[set[str], dict[str, str]]:
    """Held-out product ids (~PRDECT_HELDOUT_FRACTION of each category, whole name groups) and product -> group."""
    group_of = {p["id"]: group_key(p["title"]) for p in products}
    members: dict[str, list[dict]] = defaultdict(list)
    for p in products:
        members[group_of[p["id"]]].append(p)
    group_cat = {g: sorted(Counter(p["category"] for p in ps).items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
                 for g, ps in members.items()}
    by_cat: dict[str, list[str]] = defaultdict(list)
    for g, c in group_cat.items():
        by_cat[c].append(g)
    held: set[str] = set()
    for _c, groups in sorted(by_cat.items()):
        total = sum(len(members[g]) for g in groups)
        taken = 0
        for g in sorted(groups, key=lambda g: h("prdect-split", g)):
            if taken >= PRDECT_HELDOUT_FRACTION * total or (taken and len(groups) == 1):
                break
            held.update(p["id"] for p in members[g])
            taken += len(members[g])
    return held, group_of


# ---------------------------------------------------------------------------------------------- hand-written
def load_handwritten() -> list[dict]:
    items = yaml.safe_load(HANDWRITTEN.read_text(encoding="utf-8"))["products"]
    intent_cat: dict[str, str] = {}
    for p in items:
        if p["category"] not in PARENT:
            raise SystemExit(f"{HANDWRITTEN}: {p['id']}: unknown category {p['category']!r}")
        if intent_cat.setdefault(p["intent"], p["category"]) != p["category"]:
            raise SystemExit(f"{HANDWRITTEN}: {p['id']}: intent {p['intent']!r} spans two categories")
    return items


def hw_catalog_row(p: dict) -> dict:
    price = p["price"]
    return {
        "id": p["id"], "title": p["title"], "description": p.get("description"), "category": p["category"],
        "category_path": cat_path(p["category"]), "price": int(price) if float(price).is_integer() else float(price),
        "currency": p["currency"], "brand": p.get("brand"),
        "attributes": {k: str(v) for k, v in (p.get("attributes") or {}).items()}, "lang": p["lang"],
        "source": HW_SOURCE,
    }


def split_handwritten(items: list[dict]) -> set[str]:
    """Held-out intents: the first HW_HELDOUT_FRACTION of intents in hash order, stratified by category."""
    by_cat: dict[str, list[str]] = defaultdict(list)
    for p in items:
        if p["intent"] not in by_cat[p["category"]]:
            by_cat[p["category"]].append(p["intent"])
    held: set[str] = set()
    for _, intents in sorted(by_cat.items()):
        ordered = sorted(intents, key=lambda i: h("hw-split", i))
        held.update(ordered[: round(HW_HELDOUT_FRACTION * len(ordered))])
    return held


def queries_of(items: list[dict]) -> list[dict]:
    """Distinct (text, lang) queries of `items`, each with the products it was written for."""
    out: dict[tuple[str, str], dict] = {}
    for p in items:
        for lang, texts in p["queries"].items():
            for t in texts:
                q = out.setdefault((t.strip().lower(), lang), {"text": t.strip(), "lang": lang, "intent": p["intent"],
                                                               "exact": []})
                q["exact"].append(p["id"])
    return list(out.values())


# ---------------------------------------------------------------------------------------------- tasks
def write_task(root: Path, name: str, meta: dict, files: dict[str, list[dict] | str]) -> None:
    """Write one task directory atomically: task.json plus its files (JSONL rows, or text)."""
    # touches_training: a source of the task also feeds a training file (see TRAINING_SOURCES)
    meta = {**meta, "touches_training": bool(set(meta.get("source", [])) & TRAINING_SOURCES)}
    with atomic_dir(root / name) as tmp:
        write_json(tmp / "task.json", {"name": name, **meta})
        for rel, content in files.items():
            if isinstance(content, str):
                write_text(tmp / rel, content)
            else:
                write_jsonl(tmp / rel, content)


def qrels_tsv(qrels: list[tuple[str, str, int]]) -> str:
    return "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in qrels)


def source_note(*keys: str, extra: str = "") -> str:
    lines = ["# Sources and licenses", ""]
    for k in keys:
        what, lic = LICENSES[k]
        lines.append(f"- `{k}`: {what}. License: {lic}.")
    if extra:
        lines += ["", extra]
    lines += ["", "Full attribution: `seaembed/samples/ATTRIBUTION.md`.", ""]
    return "\n".join(lines)


def prdect_doc(p: dict) -> dict:
    return {"_id": p["id"], "title": p["title"], "text": p["description"] or "", "lang": p["lang"]}


def build_prdect_tasks(root: Path, held: list[dict], group_of: dict[str, str]) -> None:
    # Retrieval: the category name (English, and Indonesian) as the query, all held-out products as the corpus.
    cats = sorted({p["category"] for p in held} - {"Other Products"})
    queries, qrels = [], []
    for c in cats:
        for lang, text in (("en", c), ("id", CATEGORY_ID[c])):
            qid = f"cat-{lang}-{re.sub(r'[^a-z]+', '-', c.lower()).strip('-')}"
            queries.append({"_id": qid, "text": text, "lang": lang})
            qrels += [(qid, p["id"], 1) for p in held if p["category"] == c]
    write_task(root, "prdect-category-retrieval", {
        "type": "retrieval", "group": "domain", "languages": ["en", "id"], "main_metric": "ndcg_at_10",
        "description": "Category name (English or Indonesian) as the query; held-out PRDECT-ID (Tokopedia) "
                       "products as the corpus; every product of that category is relevant.",
        "source": ["prdect-id"], "license": "CC BY 4.0",
    }, {"corpus.jsonl": [prdect_doc(p) for p in held], "queries.jsonl": queries,
        "qrels/test.tsv": qrels_tsv(qrels), "SOURCE.md": source_note("prdect-id", extra=(
            "The Indonesian category names are seaembed's translation of the English ones."))})

    # Retrieval: short navigational queries cut from held-out product names (seaembed.evaluate.title_queries),
    # the same held-out corpus. BM25's home ground: the fusion tuning of `seaembed run` sees it beside the others.
    items = sorted(((p["id"], p["title"]) for p in held), key=lambda it: (it[1], it[0]))
    queries, qrels = cut_title_queries(items, TITLE_QUERIES, seed=0)
    write_task(root, "prdect-title-queries", {
        "type": "retrieval", "group": "domain", "languages": ["id"], "main_metric": "ndcg_at_10",
        "description": "Shopper-style queries of 2-3 words cut from held-out PRDECT-ID (Tokopedia) product names; "
                       "grade 2 = the product the query came from, 1 = listings whose first three words are the same.",
        "source": ["prdect-id"], "license": "CC BY 4.0",
    }, {"corpus.jsonl": [prdect_doc(p) for p in held], "queries.jsonl": queries,
        "qrels/test.tsv": qrels_tsv(qrels), "SOURCE.md": source_note("prdect-id", extra=(
            "Queries built by seaembed.evaluate.title_queries.cut_title_queries (seed 0)."))})

    # Classification: half of each category's held-out name groups train the probe, the other half test it.
    train, test = [], []
    by_cat: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for p in held:
        by_cat[p["category"]][group_of[p["id"]]].append(p)
    for c in sorted(by_cat):
        groups = sorted(by_cat[c], key=lambda g: h("prdect-clf", g))
        for i, g in enumerate(groups):
            side = train if (i % 2 == 0 or len(groups) == 1) else test
            side += [{"id": p["id"], "text": p["title"], "label": c, "lang": "id"} for p in by_cat[c][g]]
    write_task(root, "prdect-category-clf", {
        "type": "classification", "group": "domain", "languages": ["id"], "main_metric": "accuracy",
        "description": "Product name -> one of 29 Tokopedia categories (held-out PRDECT-ID products; train and "
                       "test are disjoint name groups).",
        "source": ["prdect-id"], "license": "CC BY 4.0",
    }, {"train.jsonl": train, "test.jsonl": test, "SOURCE.md": source_note("prdect-id")})


def build_hw_tasks(root: Path, hw_held: list[dict], prdect_held: list[dict]) -> None:
    by_intent: dict[str, list[dict]] = defaultdict(list)
    for p in hw_held:
        by_intent[p["intent"]].append(p)
    qs = queries_of(hw_held)
    for i, q in enumerate(sorted(qs, key=lambda q: (q["intent"], q["lang"], q["text"]))):
        q["_id"] = f"q{i:04d}"

    # Retrieval: exact product = 2, other held-out products of the same need = 1 (ESCI's Exact / Substitute).
    corpus = [{"_id": p["id"], "title": p["title"], "text": p.get("description") or "", "lang": p["lang"]}
              for p in hw_held] + [prdect_doc(p) for p in prdect_held]
    qrels = []
    for q in sorted(qs, key=lambda q: q["_id"]):
        for p in by_intent[q["intent"]]:
            qrels.append((q["_id"], p["id"], 2 if p["id"] in q["exact"] else 1))
        qrels += [(q["_id"], pid, 1) for pid in same_need(q["intent"], prdect_held)]
    queries = [{"_id": q["_id"], "text": q["text"], "lang": q["lang"]} for q in sorted(qs, key=lambda q: q["_id"])]
    write_task(root, "multilingual-product-search", {
        "type": "retrieval", "group": "domain",
        "languages": sorted({q["lang"] for q in qs}, key=LANGS.index), "main_metric": "ndcg_at_10",
        "description": "Hand-written shopper queries (en, id, th, vi, ms, tl, km, my) against held-out hand-written "
                       "products in seven languages, with held-out PRDECT-ID products as distractors. Relevance 2 = "
                       "the product the query was written for, 1 = another product for the same need (hand-written, "
                       "or a PRDECT-ID listing matched by the SAME_NEED title patterns of scripts/build_samples.py).",
        "source": [HW_SOURCE, "prdect-id"], "license": "Apache-2.0 (queries, hand-written products); "
                                                       "CC BY 4.0 (PRDECT-ID distractors)",
    }, {"corpus.jsonl": corpus, "queries.jsonl": queries, "qrels/test.tsv": qrels_tsv(qrels),
        "SOURCE.md": source_note(HW_SOURCE, "prdect-id")})

    # Pair classification (QC / QI shape): query vs category path, query vs product title; plus PRDECT titles vs
    # category paths. Dev and test are disjoint by intent (hand-written) and by name group (PRDECT).
    rng = random.Random(SEED + "pqr")
    all_cats = sorted(PARENT)
    dev, test = [], []
    held_by_cat: dict[str, list[dict]] = defaultdict(list)
    for p in hw_held:
        held_by_cat[p["category"]].append(p)
    for q in sorted(qs, key=lambda q: q["_id"]):
        out = dev if int(h("pqr-dev", q["intent"]), 16) % 3 == 0 else test
        exact = next(p for p in hw_held if p["id"] == q["exact"][0])
        cat = exact["category"]
        siblings = [c for c in all_cats if PARENT[c] == PARENT[cat] and c != cat]
        neg_cat = rng.choice(siblings or [c for c in all_cats if c != cat])
        out.append({"text1": q["text"], "text2": cat_path(cat), "label": 1, "lang": q["lang"], "kind": "query-category"})
        out.append({"text1": q["text"], "text2": cat_path(neg_cat), "label": 0, "lang": q["lang"],
                    "kind": "query-category"})
        out.append({"text1": q["text"], "text2": exact["title"], "label": 1, "lang": q["lang"], "kind": "query-item"})
        hard = [p for p in held_by_cat[cat] if p["intent"] != q["intent"]]
        easy = [p for p in hw_held if p["category"] != cat]
        neg_item = rng.choice(hard or easy)
        out.append({"text1": q["text"], "text2": neg_item["title"], "label": 0, "lang": q["lang"], "kind": "query-item"})
    for p in prdect_held:
        if int(h("pqr-prdect", p["id"]), 16) % 2:  # half of the held-out products, to keep the task small
            continue
        out = dev if int(h("pqr-dev", group_key(p["title"])), 16) % 3 == 0 else test
        neg_cat = rng.choice([c for c in all_cats if c != p["category"]])
        out.append({"text1": p["title"], "text2": p["category_path"], "label": 1, "lang": "id", "kind": "title-category"})
        out.append({"text1": p["title"], "text2": cat_path(neg_cat), "label": 0, "lang": "id", "kind": "title-category"})
    write_task(root, "product-query-relevance", {
        "type": "pair-classification", "group": "domain",
        "languages": sorted({r["lang"] for r in dev + test}, key=LANGS.index), "main_metric": "f1",
        "description": "Is this product title / category path relevant to this query? (the QC / QI shape of the "
                       "CIKM AnalytiCup 2025). Hand-written held-out queries against category paths and titles, "
                       "plus held-out PRDECT-ID titles against category paths. The threshold is chosen on dev.jsonl.",
        "source": [HW_SOURCE, "prdect-id"], "license": "Apache-2.0 (hand-written rows); CC BY 4.0 (PRDECT-ID rows)",
    }, {"dev.jsonl": dev, "test.jsonl": test, "SOURCE.md": source_note(HW_SOURCE, "prdect-id")})


def build_shopee_task(root: Path, ds: Path) -> None:
    rows = read_jsonl(assert_not_test(ds / "filipino_shopee_reviews" / "validation.jsonl"))
    by_label: dict[int, list[dict]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_label[int(r["label"])].append({"id": f"shopee-val-{i}", "text": r["text"].strip(),
                                          "label": str(int(r["label"]) + 1), "lang": "tl"})
    rng = random.Random(SEED + "shopee-task")
    train, test = [], []
    per = SHOPEE_TASK_PER_SPLIT // len(by_label)
    for label in sorted(by_label):
        items = sorted(by_label[label], key=lambda r: r["id"])
        rng.shuffle(items)
        train += items[:per]
        test += items[per: 2 * per]
    write_task(root, "shopee-ph-review-rating", {
        "type": "classification", "group": "domain", "languages": ["tl"], "main_metric": "accuracy",
        "description": "Shopee PH review (Tagalog / Taglish) -> star rating 1-5. Both splits are drawn (disjointly) "
                       "from the dataset's validation split; training samples only use its train split.",
        "source": ["filipino-shopee-reviews"], "license": "MPL-2.0",
    }, {"train.jsonl": train, "test.jsonl": test, "SOURCE.md": source_note("filipino-shopee-reviews")})


def read_sib(ds: Path, code: str, split: str) -> list[dict]:
    path = assert_not_test(ds / "sib200" / code / f"{split}.tsv")
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def sib_task_train_ids(ds: Path) -> set[str]:
    """The SIB-200 train sentences used as the topic task's train split (kept out of parallel.jsonl)."""
    eng_train = read_sib(ds, "eng_Latn", "train")
    return set(sorted((r["index_id"] for r in eng_train), key=lambda i: h("sib-task", i))[:SIB_TASK_TRAIN_IDS])


def build_sib_task(root: Path, ds: Path) -> None:
    train_ids = sib_task_train_ids(ds)
    train, test = [], []
    for code, lang in SIB_LANGS.items():
        train += [{"id": f"sib200-{r['index_id']}-{lang}", "text": r["text"], "label": r["category"], "lang": lang}
                  for r in read_sib(ds, code, "train") if r["index_id"] in train_ids]
        test += [{"id": f"sib200-{r['index_id']}-{lang}", "text": r["text"], "label": r["category"], "lang": lang}
                 for r in read_sib(ds, code, "dev")]
    write_task(root, "sib200-topic-clf", {
        "type": "classification", "group": "general-touched", "languages": list(SIB_LANGS.values()),
        "main_metric": "accuracy", "touches_training": True,
        "description": f"SIB-200 topic (7 classes) per language; test = the dev split (99 sentences a language), "
                       f"train = {SIB_TASK_TRAIN_IDS} sentences a language from the train split.",
        "source": ["sib200"], "license": "CC BY-SA 4.0",
    }, {"train.jsonl": train, "test.jsonl": test, "SOURCE.md": source_note("sib200")})


def read_csv_rows(path: Path) -> list[dict]:
    with open(assert_not_test(path), encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_texts(ds: Path) -> set[str]:
    """Normalised texts (cells > 25 characters) of every dataset file named test: what must never be used."""
    out = set()
    for path in sorted(ds.rglob("*")):
        if path.is_file() and "test" in path.stem.lower():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                out.update(norm_title(c) for cell in line.split("\t") for c in [cell] if len(c) > 25)
                out.update(norm_title(c) for c in next(csv.reader([line]), []) if len(c) > 25)
    return out


def build_general_tasks(root: Path, ds: Path, train_texts: set[str]) -> None:
    """The general guard tasks from untouched sources: NusaX bitext and sentiment, EmoT, WReTE retrieval.

    NusaX's Indonesian sentences were drawn from SmSA, so some are also SmSA training rows or SmSA test rows: any
    row with a text (normalised as `norm_title`) that a training file or a dataset file named test holds is left
    out, in every language of that sentence (`test_texts`: the test files are read only to exclude their texts).
    """
    def seen(*texts: str) -> bool:
        return any(norm_title(t) in train_texts for t in texts if t)

    nx = ds / "nusax" / "datasets"
    mt = [r for split in ("train", "valid") for r in read_csv_rows(nx / "mt" / f"{split}.csv")]
    mt = [r for r in mt if not seen(*(r[k] for k in NUSAX_LANGS if k in r))]
    pairs = []
    for src, tgt in NUSAX_BITEXT:
        rows = [r for r in mt if r[src].strip() and r[tgt].strip()]
        rows = sorted(rows, key=lambda r: h("nusax-bitext", src, tgt, r[""]))[:NUSAX_BITEXT_PAIRS]
        pairs += [{"id": f"nusax-mt-{r['']}-{NUSAX_LANGS[tgt]}", "src": r[src].strip(), "tgt": r[tgt].strip(),
                   "src_lang": NUSAX_LANGS[src], "tgt_lang": NUSAX_LANGS[tgt]}
                  for r in sorted(rows, key=lambda r: int(r[""]))]
    write_task(root, "nusax-bitext", {
        "type": "bitext", "group": "general", "languages": sorted({NUSAX_LANGS[x] for p in NUSAX_BITEXT for x in p}),
        "main_metric": "f1", "touches_training": False,
        "description": f"NusaX parallel sentences (train and validation splits), {NUSAX_BITEXT_PAIRS} a language "
                       "pair: " + ", ".join(f"{NUSAX_LANGS[a]}->{NUSAX_LANGS[b]}" for a, b in NUSAX_BITEXT)
                       + ". No training file uses NusaX.",
        "source": ["nusax"], "license": "CC BY-SA 4.0",
    }, {"pairs.jsonl": pairs, "SOURCE.md": source_note("nusax")})

    train, test = [], []
    for name in NUSAX_SENT_LANGS:
        lang = NUSAX_LANGS[name]
        rows = [r for r in read_csv_rows(nx / "sentiment" / name / "train.csv") if not seen(r["text"])]
        rows = sorted(sorted(rows, key=lambda r: h("nusax-sent", name, r["id"]))[:NUSAX_SENT_TRAIN],
                      key=lambda r: int(r["id"]))
        train += [{"id": f"nusax-sent-{name}-{r['id']}", "text": r["text"].strip(), "label": r["label"], "lang": lang}
                  for r in rows]
        test += [{"id": f"nusax-sent-{name}-{r['id']}", "text": r["text"].strip(), "label": r["label"], "lang": lang}
                 for r in read_csv_rows(nx / "sentiment" / name / "valid.csv")
                 if not seen(r["text"]) and norm_title(r["text"]) not in {norm_title(x["text"]) for x in rows}]
    write_task(root, "nusax-sentiment-clf", {
        "type": "classification", "group": "general", "languages": [NUSAX_LANGS[n] for n in NUSAX_SENT_LANGS],
        "main_metric": "accuracy", "touches_training": False,
        "description": f"NusaX sentiment (positive/neutral/negative) per language; train = {NUSAX_SENT_TRAIN} rows a "
                       "language of the train split, test = the validation split (100 a language).",
        "source": ["nusax"], "license": "CC BY-SA 4.0",
    }, {"train.jsonl": train, "test.jsonl": test, "SOURCE.md": source_note("nusax")})

    em = ds / "indonlu" / "emot_emotion-twitter"
    rows = [r for r in read_csv_rows(em / "train_preprocess.csv") if not seen(r["tweet"])]
    picked = sorted(sorted(range(len(rows)), key=lambda i: h("emot", i))[:EMOT_TRAIN])
    emot_train = {norm_title(rows[i]["tweet"]) for i in picked}  # a tweet in both splits stays in train only
    write_task(root, "emot-emotion-clf", {
        "type": "classification", "group": "general", "languages": ["id"], "main_metric": "accuracy",
        "touches_training": False,
        "description": f"IndoNLU EmoT: Indonesian tweet -> one of 5 emotions; train = {EMOT_TRAIN} rows of the train "
                       "split, test = the validation split.",
        "source": ["indonlu-emot"], "license": "CC BY-SA 4.0",
    }, {"train.jsonl": [{"id": f"emot-train-{i}", "text": rows[i]["tweet"].strip(), "label": rows[i]["label"],
                         "lang": "id"} for i in picked],
        "test.jsonl": [{"id": f"emot-valid-{i}", "text": r["tweet"].strip(), "label": r["label"], "lang": "id"}
                       for i, r in enumerate(read_csv_rows(em / "valid_preprocess.csv"))
                       if not seen(r["tweet"]) and norm_title(r["tweet"]) not in emot_train],
        "SOURCE.md": source_note("indonlu-emot")})

    wr = ds / "indonlu" / "wrete_entailment-ui"
    corpus: dict[str, str] = {}
    queries, qrels = [], []
    for split in ("train", "valid"):
        for i, r in enumerate(read_csv_rows(wr / f"{split}_preprocess.csv")):
            premise, hyp = r["sent_A"].strip(), r["sent_B"].strip()
            if seen(premise, hyp):
                continue
            doc = corpus.setdefault(premise, f"wrete-doc-{len(corpus)}")
            if hyp == premise:
                continue
            qid = f"wrete-{split}-{i}"
            queries.append({"_id": qid, "text": hyp, "lang": "id"})
            qrels.append((qid, doc, 1))
    write_task(root, "wrete-sentence-retrieval", {
        "type": "retrieval", "group": "general", "languages": ["id"], "main_metric": "ndcg_at_10",
        "touches_training": False, "query_prompt": "query", "passage_prompt": "passage",
        "description": "IndoNLU WReTE (train and validation splits) as sentence -> passage retrieval: the query is "
                       "a hypothesis (entailed or not), the corpus every premise, the relevant document the "
                       "hypothesis's own premise. Wikipedia-revision sentences, so the pairs overlap heavily in "
                       "words: a forgetting guard for the asymmetric query/passage encoding, not a hard task.",
        "source": ["indonlu-wrete"], "license": "CC BY-SA 4.0",
    }, {"corpus.jsonl": [{"_id": d, "title": "", "text": t, "lang": "id"} for t, d in corpus.items()],
        "queries.jsonl": queries, "qrels/test.tsv": qrels_tsv(qrels), "SOURCE.md": source_note("indonlu-wrete")})


def read_talpco(ds: Path, code: str) -> dict[int, str]:
    out = {}
    for line in (ds / "talpco" / f"data_{code}.txt").read_text(encoding="utf-8").splitlines():
        if line.strip():
            i, text = line.split("\t", 1)
            out[int(i)] = text.strip()
    return out


def build_talpco(root: Path, ds: Path) -> list[dict]:
    """Write the bitext task (held-out ids); return the training pairs (the other ids)."""
    eng = read_talpco(ds, "eng")
    langs = {code: read_talpco(ds, code) for code in TALPCO_LANGS}
    # TALPCo repeats some sentences under several ids: a training pair whose sentence (in any language) is also a
    # held-out sentence is dropped, so the bitext task is unseen text, not only unseen ids.
    held_texts = {norm_title(t) for texts in [eng, *langs.values()] for i, t in texts.items() if i >= TALPCO_HELDOUT_FROM}
    pairs, training = [], []
    for code, lang in TALPCO_LANGS.items():
        other = langs[code]
        for i in sorted(set(eng) & set(other)):
            if not eng[i] or not other[i]:
                continue
            row = {"src": eng[i], "tgt": other[i], "src_lang": "en", "tgt_lang": lang}
            if i >= TALPCO_HELDOUT_FROM:
                pairs.append({"id": f"talpco-{i}", **row})
            elif norm_title(eng[i]) not in held_texts and norm_title(other[i]) not in held_texts:
                training.append({**row, "group": f"talpco-{i}", "source": "talpco"})
    write_task(root, "talpco-bitext", {
        "type": "bitext", "group": "general-touched", "languages": ["en", *TALPCO_LANGS.values()], "main_metric": "f1",
        "touches_training": True,
        "description": f"TALPCo everyday sentences, English -> id/th/vi/ms/my, ids >= {TALPCO_HELDOUT_FROM} "
                       "(lower ids are the training pairs in parallel.jsonl).",
        "source": ["talpco"], "license": "CC BY 4.0",
    }, {"pairs.jsonl": pairs, "SOURCE.md": source_note("talpco")})
    return training


# ---------------------------------------------------------------------------------------------- training files
def sib_parallel(ds: Path) -> list[dict]:
    eng = {r["index_id"]: r["text"] for r in read_sib(ds, "eng_Latn", "train")}
    task_ids = sib_task_train_ids(ds)
    ids = sorted((i for i in eng if i not in task_ids), key=lambda i: h("sib-parallel", i))[:SIB_PARALLEL_IDS]
    out = []
    for code, lang in SIB_LANGS.items():
        if lang == "en":
            continue
        other = {r["index_id"]: r["text"] for r in read_sib(ds, code, "train")}
        out += [{"src": eng[i], "tgt": other[i], "src_lang": "en", "tgt_lang": lang, "group": f"sib200-{i}",
                 "source": "sib200"} for i in sorted(ids, key=int) if i in other]
    return out


def sample_labels(ds: Path) -> dict[str, list[dict]]:
    rng = random.Random(SEED + "labels")
    out = {}
    shopee = read_jsonl(assert_not_test(ds / "filipino_shopee_reviews" / "train.jsonl"))
    by: dict[int, list[int]] = defaultdict(list)
    for i, r in enumerate(shopee):
        by[int(r["label"])].append(i)
    picked = sorted(i for lab in sorted(by) for i in rng.sample(by[lab], LABEL_SAMPLE // len(by)))
    out["shopee_ph_reviews.jsonl"] = [{"id": f"shopee-train-{i}", "text": shopee[i]["text"].strip(),
                                       "label": str(int(shopee[i]["label"]) + 1), "rating": int(shopee[i]["label"]) + 1,
                                       "lang": "tl", "source": "filipino-shopee-reviews"} for i in picked]
    wise = read_jsonl(assert_not_test(ds / "wisesight_sentiment" / "train.jsonl"))
    short = [i for i, r in enumerate(wise) if 10 <= len(r["texts"].strip()) <= 300]
    picked = sorted(rng.sample(short, LABEL_SAMPLE))
    out["wisesight_sentiment.jsonl"] = [{"id": f"wisesight-train-{i}", "text": wise[i]["texts"].strip(),
                                         "label": wise[i]["category"], "lang": "th", "source": "wisesight-sentiment"}
                                        for i in picked]
    path = assert_not_test(ds / "indonlu" / "smsa_doc-sentiment-prosa" / "train_preprocess.tsv")
    smsa = [line.rsplit("\t", 1) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    picked = sorted(rng.sample(range(len(smsa)), LABEL_SAMPLE))
    out["smsa_sentiment.jsonl"] = [{"id": f"smsa-train-{i}", "text": smsa[i][0].strip(), "label": smsa[i][1].strip(),
                                    "lang": "id", "source": "indonlu-smsa"} for i in picked]
    return out


# ---------------------------------------------------------------------------------------------- docs
def attribution() -> str:
    return """# Attribution and licenses of the bundled samples

Everything under `seaembed/samples/` is built by `scripts/build_samples.py` from the openly licensed datasets in
the project's `shared/datasets` folder (each row keeps a `source` key where the format allows), plus rows written
for this project. Samples are small excerpts, reformatted; the texts themselves are unchanged (stripped of
surrounding whitespace). Test splits are never used.

| source key | dataset | upstream | license | used in |
|---|---|---|---|---|
| `prdect-id` | PRDECT-ID: Indonesian product reviews from Tokopedia (Sutoyo, R., et al. 2022, *PRDECT-ID: Indonesian product reviews dataset for emotions classification tasks*, Data in Brief 44, 108554; Mendeley Data doi:10.17632/574v66hf2v) | copy in Blacks-sketc/pba2026-crazyrichteam @ 50a5663, `data/PRDECT-ID Dataset.csv` | CC BY 4.0 | `catalog.jsonl`, `reviews.jsonl`, tasks `prdect-category-retrieval`, `prdect-title-queries`, `prdect-category-clf`, `multilingual-product-search` (distractors), `product-query-relevance` |
| `filipino-shopee-reviews` | Shopee PH product reviews, Tagalog/Taglish, 1-5 stars (scaredmeow/shopee-reviews-tl-stars; the MTEB FilipinoShopeeReviewsClassification data) | JethroIsHere/product-review-sentiment-classifier @ 7f1f571 | MPL-2.0 (per the SEACrowd loader; provenance is a third-party copy) | `labels/shopee_ph_reviews.jsonl` (train split), task `shopee-ph-review-rating` (validation split) |
| `wisesight-sentiment` | Wisesight Sentiment Corpus v1.1 (Suriyawongkul, A., et al. 2019) | PyThaiNLP/wisesight-sentiment @ c1d0636 | CC0 1.0 | `labels/wisesight_sentiment.jsonl` (train split) |
| `indonlu-smsa` | SmSA sentiment from IndoNLU (Wilie, B., et al. 2020, *IndoNLU: Benchmark and Resources for Evaluating Indonesian Natural Language Understanding*, AACL) | IndoNLP/indonlu @ ce728f6 | CC BY-SA 4.0 (as listed by SEACrowd; the repo LICENSE file is Apache-2.0) | `labels/smsa_sentiment.jsonl` (train split) |
| `talpco` | TALPCo, the TUFS Asian Language Parallel Corpus (Nomoto, H., et al. 2018) | matbahasa/TALPCo @ eb47462 | CC BY 4.0 | `parallel.jsonl` (ids < 3400), task `talpco-bitext` (ids >= 3400) |
| `sib200` | SIB-200 topic classification (Adelani, D. I., et al. 2024, EACL); texts from FLORES-200 (NLLB Team 2022) | dadelani/sib-200 @ 593cea8 | CC BY-SA 4.0 (repo code: Apache-2.0) | `parallel.jsonl` (train split), task `sib200-topic-clf` (train split as the probe's train, dev split as its test) |
| `nusax` | NusaX: parallel sentences and sentiment in Indonesian, English and 10 local languages (Winata, G. I., et al. 2023, *NusaX: Multilingual Parallel Sentiment Dataset for 10 Indonesian Local Languages*, EACL) | IndoNLP/nusax (copy in shared/datasets/nusax, see its SOURCE.txt) | CC BY-SA 4.0 | tasks `nusax-bitext` (mt train+valid), `nusax-sentiment-clf` (sentiment train as probe train, valid as test); no training file |
| `indonlu-emot` | EmoT emotion classification from IndoNLU (Wilie, B., et al. 2020) | IndoNLP/indonlu @ ce728f6 | CC BY-SA 4.0 (as listed by SEACrowd; the repo LICENSE file is Apache-2.0) | task `emot-emotion-clf` (train split as probe train, valid as test); no training file |
| `indonlu-wrete` | WReTE entailment from IndoNLU (Wilie, B., et al. 2020) | IndoNLP/indonlu @ ce728f6 | CC BY-SA 4.0 (as listed by SEACrowd; the repo LICENSE file is Apache-2.0) | task `wrete-sentence-retrieval` (train+valid); no training file |
| `seaembed-handwritten` | Multilingual product listings (th, vi, id, ms, tl, km, my) and shopper queries written for seaembed by its developers, in the style of SEA marketplace listings; no row is copied from a marketplace. Brand and model names appear only as the tokens real listings carry. The Indonesian category names in `prdect-category-retrieval` are also ours. Source: `scripts/samples_source/handwritten_products.yaml`. | this repository | Apache-2.0, the project's license | `catalog.jsonl`, `queries.jsonl`, tasks `multilingual-product-search`, `product-query-relevance` |

Share-alike: files that contain CC BY-SA 4.0 text (`parallel.jsonl`, `labels/smsa_sentiment.jsonl`,
`tasks/sib200-topic-clf/`, `tasks/nusax-*`, `tasks/emot-emotion-clf/`, `tasks/wrete-sentence-retrieval/`) stay under CC BY-SA 4.0 when redistributed. MPL-2.0 data (`labels/shopee_ph_reviews.jsonl`,
`tasks/shopee-ph-review-rating/`) stays under MPL-2.0. The upper level of `category_path` ("Fashion > ...") is
seaembed's grouping of PRDECT-ID's 29 categories.
"""


def readme(counts: dict[str, Counter]) -> str:
    def fmt(c: Counter) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(c.items(), key=lambda kv: (LANGS.index(kv[0])
                                                                                  if kv[0] in LANGS else 99, kv[0])))
    rows = "\n".join(f"| `{name}` | {sum(c.values())} | {fmt(c)} |" for name, c in counts.items())
    return f"""# seaembed bundled samples

Small real SEA e-commerce data (plus a hand-written multilingual catalog) for the demo, the examples and the tests.
Built by `scripts/build_samples.py` (fixed seed; do not edit these files by hand). Licenses: `ATTRIBUTION.md`.
In Python: `seaembed.samples.sample_path("catalog.jsonl")`, `seaembed.samples.task_dirs("domain")`.

Training files and dev tasks are disjoint: PRDECT-ID products are split by name group, hand-written products and
queries by shopping need (`intent`), TALPCo by id, SIB-200 by split (train vs dev). No file named test was read.

## Training data (use these to build training sets)
- `catalog.jsonl`: products. `id, title, description, category, category_path ("A > B"), price, currency, brand,
  attributes (object), lang, source`. PRDECT-ID (Tokopedia, `lang` id, `source` prdect-id) has no description or
  brand (null); its `attributes` are seller location, overall rating and number sold. Hand-written rows
  (`source` seaembed-handwritten) are in th, vi, id, ms, tl, km, my with descriptions and local prices.
- `queries.jsonl`: a hand-written multilingual query log over the hand-written catalog rows: `query, item_ids,
  lang, source`. `item_ids` are the catalog products that answer the query (the first is the one it was written for).
- `reviews.jsonl`: PRDECT-ID reviews of the catalog's products: `id, item_id, text, rating (1-5), sentiment,
  emotion, lang, source`.
- `labels/`: labelled sets for classification-style supervision, each `id, text, label, lang, source`:
  `shopee_ph_reviews.jsonl` (tl, label = stars "1".."5"), `wisesight_sentiment.jsonl` (th, pos/neu/neg/q; texts
  of 10-300 characters), `smsa_sentiment.jsonl` (id, positive/neutral/negative). All from train splits.
- `parallel.jsonl`: translation pairs `src, tgt, src_lang, tgt_lang, group, source` (English -> id/th/vi/ms/my from
  TALPCo, English -> th/vi/id/ms/tl/km/my from SIB-200 train). `group` ties the translations of one sentence.

## Dev tasks (`tasks/<name>/`, design.md task format; `group` is "domain" or "general")
Each has `task.json` (`type, name, languages, main_metric, group, description, source, license`) and `SOURCE.md`.
- `prdect-category-retrieval` (domain, retrieval): category name in English or Indonesian -> held-out Tokopedia products.
- `prdect-title-queries` (domain, retrieval): 2-3 words cut from held-out Tokopedia product names -> those products;
  qrels 2 = the source listing, 1 = listings with the same first three words.
- `prdect-category-clf` (domain, classification): product name -> 29 categories, held-out products.
- `multilingual-product-search` (domain, retrieval): hand-written queries in 8 languages -> held-out hand-written
  products in 7 languages + held-out PRDECT-ID products as distractors; qrels 2 = exact product, 1 = same need.
- `product-query-relevance` (domain, pair-classification, `dev.jsonl` + `test.jsonl`): query vs category path,
  query vs title, title vs category path; rows carry `kind`.
- `shopee-ph-review-rating` (domain, classification): Taglish review -> stars, from the validation split.
- `sib200-topic-clf` (general, classification): SIB-200 topics in th, vi, id, ms, tl, km, my, en (test = dev split).
- `talpco-bitext` (general, bitext): English -> id/th/vi/ms/my, held-out TALPCo ids.

## Row counts (per language)
| file | rows | per language |
|---|---|---|
{rows}
"""


# ---------------------------------------------------------------------------------------------- main
def build(ds: Path, out: Path) -> dict[str, Counter]:
    out.mkdir(parents=True, exist_ok=True)
    tasks = out / "tasks"
    counts: dict[str, Counter] = {}

    products, reviews = load_prdect(ds)
    held, group_of = split_prdect(products)
    prdect_train = [p for p in products if p["id"] not in held]
    prdect_held = [p for p in products if p["id"] in held]

    hw = load_handwritten()
    hw_held_intents = split_handwritten(hw)
    hw_train = [p for p in hw if p["intent"] not in hw_held_intents]
    hw_held = [p for p in hw if p["intent"] in hw_held_intents]

    catalog = prdect_train + [hw_catalog_row(p) for p in hw_train]
    write_jsonl(out / "catalog.jsonl", catalog)
    counts["catalog.jsonl"] = Counter(p["lang"] for p in catalog)

    held_texts = {q["text"].lower() for q in queries_of(hw_held)}
    train_by_intent: dict[str, list[str]] = defaultdict(list)
    for p in hw_train:
        train_by_intent[p["intent"]].append(p["id"])
    qlog = []
    for q in sorted(queries_of(hw_train), key=lambda q: (q["intent"], q["lang"], q["text"])):
        if q["text"].lower() in held_texts:  # the same words asked in a dev task stay out of training
            continue
        others = [i for i in train_by_intent[q["intent"]] if i not in q["exact"]]
        others += same_need(q["intent"], prdect_train)
        qlog.append({"query": q["text"], "item_ids": q["exact"] + others, "lang": q["lang"], "source": HW_SOURCE})
    write_jsonl(out / "queries.jsonl", qlog)
    counts["queries.jsonl"] = Counter(q["lang"] for q in qlog)

    train_ids = {p["id"] for p in prdect_train}
    rev, per_item = [], Counter()
    for i, r in reviews.iterrows():
        if r["item_id"] not in train_ids or not r["Customer Review"].strip() or per_item[r["item_id"]] >= REVIEWS_PER_PRODUCT:
            continue
        per_item[r["item_id"]] += 1
        rev.append({"id": f"prdect-review-{i}", "item_id": r["item_id"], "text": r["Customer Review"].strip(),
                    "rating": int(r["Customer Rating"]), "sentiment": r["Sentiment"].lower(),
                    "emotion": r["Emotion"].lower(), "lang": "id", "source": "prdect-id"})
    write_jsonl(out / "reviews.jsonl", rev)
    counts["reviews.jsonl"] = Counter(r["lang"] for r in rev)

    labels = sample_labels(ds)
    for name, rows in labels.items():
        write_jsonl(out / "labels" / name, rows)
        counts[f"labels/{name}"] = Counter(r["lang"] for r in rows)
    write_text(out / "labels" / "SOURCE.md", source_note("filipino-shopee-reviews", "wisesight-sentiment",
                                                         "indonlu-smsa"))

    talpco_train = build_talpco(tasks, ds)
    parallel = talpco_train + sib_parallel(ds)
    write_jsonl(out / "parallel.jsonl", parallel)
    counts["parallel.jsonl"] = Counter(f"{r['src_lang']}-{r['tgt_lang']}" for r in parallel)

    build_prdect_tasks(tasks, prdect_held, group_of)
    build_hw_tasks(tasks, hw_held, prdect_held)
    build_shopee_task(tasks, ds)
    build_sib_task(tasks, ds)
    train_texts = {norm_title(x) for p in catalog for x in (p["title"], p.get("description") or "") if x}
    train_texts |= {norm_title(q["query"]) for q in qlog} | {norm_title(r["text"]) for r in rev}
    train_texts |= {norm_title(r["text"]) for rows in labels.values() for r in rows}
    train_texts |= {norm_title(x) for r in parallel for x in (r["src"], r["tgt"])}
    build_general_tasks(tasks, ds, (train_texts | test_texts(ds)) - {""})

    for task_dir in sorted(p for p in tasks.iterdir() if p.is_dir() and not p.name.startswith(".")):
        meta = json.loads((task_dir / "task.json").read_text(encoding="utf-8"))
        c: Counter = Counter()
        for f in sorted(task_dir.rglob("*.jsonl")):
            for r in read_jsonl(f):
                c[r.get("lang") or r.get("tgt_lang") or "?"] += 1
        counts[f"tasks/{task_dir.name} ({meta['type']})"] = c

    write_text(out / "ATTRIBUTION.md", attribution())
    write_text(out / "README.md", readme(counts))
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", type=Path, default=REPO.parent / "shared" / "datasets",
                    help="the shared datasets folder (default: ../shared/datasets)")
    ap.add_argument("--out", type=Path, default=REPO / "seaembed" / "samples", help="output folder")
    args = ap.parse_args(argv)
    if not (args.datasets / "prdect_id").is_dir():
        print(f"error: {args.datasets}: not the shared datasets folder (no prdect_id/)", file=sys.stderr)
        return 2
    counts = build(args.datasets, args.out)
    for name, c in counts.items():
        print(f"{name:55s} {sum(c.values()):6d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
