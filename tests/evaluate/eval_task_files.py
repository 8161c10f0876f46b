"""Small task directories of every type, written into a test's tmp dir (shared by the evaluation tests)."""

from __future__ import annotations

import json
from pathlib import Path

ITEMS = [
    ("shoes", "en", "running shoes for men"), ("shoes", "id", "sepatu lari pria ringan"),
    ("shoes", "th", "รองเท้าวิ่งผู้ชาย"), ("shirt", "en", "black cotton t-shirt"),
    ("shirt", "id", "kaos polos katun hitam"), ("shirt", "th", "เสื้อยืดสีดำ"),
    ("bag", "en", "leather backpack women"), ("bag", "id", "tas ransel wanita kulit"),
    ("bag", "th", "กระเป๋าเป้ผู้หญิง"),
]


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _meta(d: Path, **kw) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "task.json").write_text(json.dumps(kw), encoding="utf-8")


def write_retrieval(d: Path) -> Path:
    _meta(d, type="retrieval", name="toy-retrieval", languages=["en", "id", "th"], main_metric="ndcg_at_10")
    _jsonl(d / "corpus.jsonl", [{"_id": f"d{i}", "title": "", "text": t, "lang": lang}
                                for i, (_, lang, t) in enumerate(ITEMS)])
    queries = [("q1", "shoes", "en"), ("q2", "sepatu", "id"), ("q3", "เสื้อ", "th"), ("q4", "backpack", "en")]
    _jsonl(d / "queries.jsonl", [{"_id": q, "text": t, "lang": lang} for q, t, lang in queries])
    rel = {"q1": "shoes", "q2": "shoes", "q3": "shirt", "q4": "bag"}
    lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\td{i}\t1" for q, lab in rel.items()
                                              for i, (c, _, _) in enumerate(ITEMS) if c == lab]
    (d / "qrels").mkdir(exist_ok=True)
    (d / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d


def write_classification(d: Path) -> Path:
    _meta(d, type="classification", name="toy-classification", languages=["en", "id", "th"])
    rows = [{"text": t, "label": c, "lang": lang} for c, lang, t in ITEMS]
    _jsonl(d / "train.jsonl", rows + [{"text": r["text"] + " murah", "label": r["label"], "lang": r["lang"]}
                                      for r in rows])
    _jsonl(d / "test.jsonl", [{"text": r["text"] + " promo", "label": r["label"], "lang": r["lang"]} for r in rows])
    return d


def write_pairs(d: Path, *, dev: bool = True) -> Path:
    _meta(d, type="pair-classification", name="toy-pairs", languages=["en", "id", "th"], main_metric="f1")
    rows = []
    for i, (c1, lang, t1) in enumerate(ITEMS):
        for j, (c2, _, t2) in enumerate(ITEMS):
            if i < j:
                rows.append({"text1": t1, "text2": t2, "label": int(c1 == c2), "lang": lang})
    _jsonl(d / "test.jsonl", rows[::2])
    if dev:
        _jsonl(d / "dev.jsonl", rows[1::2])
    return d


def write_bitext(d: Path) -> Path:
    _meta(d, type="bitext", name="toy-bitext", languages=["en", "id", "th"])
    by = {(c, lang): t for c, lang, t in ITEMS}
    rows = [{"src": by[(c, "en")], "tgt": by[(c, tl)], "src_lang": "en", "tgt_lang": tl}
            for tl in ("id", "th") for c in ("shoes", "shirt", "bag")]
    _jsonl(d / "pairs.jsonl", rows)
    return d


def write_clustering(d: Path) -> Path:
    _meta(d, type="clustering", name="toy-clustering", languages=["en", "id", "th"])
    _jsonl(d / "test.jsonl", [{"text": t, "label": c, "lang": lang} for c, lang, t in ITEMS])
    return d


def write_all(root: Path) -> Path:
    """A directory holding one task of each type."""
    write_retrieval(root / "retrieval")
    write_classification(root / "classification")
    write_pairs(root / "pairs")
    write_bitext(root / "bitext")
    write_clustering(root / "clustering")
    return root
