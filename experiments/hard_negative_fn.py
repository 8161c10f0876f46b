"""How often are translations of a positive mined as its hard negatives, before and after the filters?

Parallel rows from ../shared/datasets: TALPCo (English -> Indonesian, Malay, Thai, Vietnamese, Burmese; aligned by
sentence id) and SIB-200 train (English -> Indonesian, Malay, Thai, Vietnamese, Tagalog, Khmer, Burmese; aligned by
`index_id`). Each dataset is one bitext task: query = the English sentence, positive = its translation in language L,
group = the sentence id. The candidate pool is every positive of the task, so the other-language translations of
the same sentence are in it: mining one of them as a negative is a false negative.

Mining (`seaembed.augment.hard_negatives.mine_hard_negatives`, guide = the packaged multilingual-e5-small) runs with
  - no filter,
  - the positive-aware filter only (`fn_ratio` 0.95, NV-Retriever TopK-PercPos),
  - the parallel-group exclusion only,
  - both (the default),
and we count the mined negatives that are translations of the positive (false-negative rate per negative, and the
share of examples with at least one).

Run: .venv/bin/python experiments/hard_negative_fn.py [--talpco 300 --sib 200]
Writes experiments/results/hard_negative_fn.{json,md}.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seaembed.atomic import write_results  # noqa: E402
from seaembed.augment.config import HardNegativesConfig  # noqa: E402
from seaembed.augment.guide import load_guide  # noqa: E402
from seaembed.augment.hard_negatives import mine_hard_negatives  # noqa: E402
from seaembed.augment.pairs import example  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "experiments" / "results"
TALPCO = {"id": "ind", "ms": "zsm", "th": "tha", "vi": "vie", "my": "myn"}
SIB = {"id": "ind_Latn", "ms": "zsm_Latn", "th": "tha_Thai", "vi": "vie_Latn", "tl": "tgl_Latn", "km": "khm_Khmr",
       "my": "mya_Mymr"}
SETTINGS = {"no filter": {"fn_ratio": None, "exclude_same_group": False},
            "fn_ratio 0.95 only": {"fn_ratio": 0.95, "exclude_same_group": False},
            "group exclusion only": {"fn_ratio": None, "exclude_same_group": True},
            "both (default)": {"fn_ratio": 0.95, "exclude_same_group": True}}


def talpco(n: int, rng: np.random.Generator) -> list:
    def read(code: str) -> dict[str, str]:
        out = {}
        for line in (DATA / "talpco" / f"data_{code}.txt").read_text(encoding="utf-8").splitlines():
            if "\t" in line:
                k, v = line.split("\t", 1)
                out[k.strip()] = v.strip()
        return out

    eng = read("eng")
    other = {lang: read(code) for lang, code in TALPCO.items()}
    ids = [k for k in eng if all(k in o and o[k] for o in other.values())]
    ids = [ids[i] for i in rng.permutation(len(ids))[:n]]
    return [example(eng[k], other[lang][k], "bitext", lang="en", source="talpco", origin_id=f"talpco-{k}",
                    group=f"talpco-{k}", positive_lang=lang) for k in ids for lang in other]


def sib(n: int, rng: np.random.Generator) -> list:
    def read(code: str) -> dict[str, str]:
        with open(DATA / "sib200" / code / "train.tsv", encoding="utf-8") as f:
            return {row["index_id"]: row["text"] for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)}

    eng = read("eng_Latn")
    other = {lang: read(code) for lang, code in SIB.items()}
    ids = [k for k in eng if all(k in o for o in other.values())]
    ids = [ids[i] for i in rng.permutation(len(ids))[:n]]
    return [example(eng[k], other[lang][k], "bitext", lang="en", source="sib200", origin_id=f"sib-{k}",
                    group=f"sib-{k}", positive_lang=lang) for k in ids for lang in other]


def measure(rows: list, model, cfg: HardNegativesConfig) -> dict:
    group_of_text: dict[str, set[str]] = {}
    for r in rows:
        group_of_text.setdefault(r.positive, set()).add(r.model_extra["group"])
    mined, stats = mine_hard_negatives(rows, model, cfg, batch_size=32)
    total = sum(len(r.negatives) for r in mined)
    fn = [sum(r.model_extra["group"] in group_of_text.get(n, set()) for n in r.negatives) for r in mined]
    return {"examples": len(mined), "negatives": total, "false_negatives": int(sum(fn)),
            "fn_rate_per_negative": round(sum(fn) / max(total, 1), 4),
            "examples_with_a_false_negative": round(float(np.mean([f > 0 for f in fn])), 4),
            "examples_short_of_negatives": int(sum(stats.short_rows.values())),
            "excluded": {k: int(v) for k, v in stats.excluded.get("bitext", {}).items()}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--guide", default="packaged:multilingual-e5-small")
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--talpco", type=int, default=300, help="TALPCo sentence ids (x5 languages)")
    ap.add_argument("--sib", type=int, default=200, help="SIB-200 sentence ids (x7 languages)")
    ap.add_argument("--num-negatives", type=int, default=3)
    ap.add_argument("--range-max", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    start = time.time()
    rng = np.random.default_rng(args.seed)
    model = load_guide(args.guide, dtype=args.dtype, max_seq_length=128)
    sets = {"TALPCo (en -> id, ms, th, vi, my)": talpco(args.talpco, rng),
            "SIB-200 train (en -> id, ms, th, vi, tl, km, my)": sib(args.sib, rng)}
    results = {"guide": args.guide, "dtype": args.dtype, "num_negatives": args.num_negatives,
               "window": [0, args.range_max], "seed": args.seed, "sets": {}}
    for name, rows in sets.items():
        results["sets"][name] = {"examples": len(rows), "settings": {}}
        for label, over in SETTINGS.items():
            cfg = HardNegativesConfig(num_negatives=args.num_negatives, range_max=args.range_max, **over)
            results["sets"][name]["settings"][label] = measure(rows, model, cfg)
            print(name, label, results["sets"][name]["settings"][label], flush=True)
    results["seconds"] = round(time.time() - start, 1)
    write_results(RESULTS / "hard_negative_fn", results, render(results))
    print(render(results))


def render(r: dict) -> str:
    lines = ["# Translations of the positive mined as hard negatives (false negatives)", "",
             f"Guide `{r['guide']}` ({r['dtype']}), {r['num_negatives']} negatives per example from ranks "
             f"{r['window'][0]}-{r['window'][1]}; query = English sentence, positive = its translation, candidate pool "
             f"= all positives of the set (so the other-language translations of the same sentence compete). "
             f"Seed {r['seed']}, {r['seconds']} s.", "",
             "| set | filter | examples | negatives | false negatives | FN rate / negative | examples with an FN | "
             "excluded by rule |", "|---|---|---:|---:|---:|---:|---:|---|"]
    for name, s in r["sets"].items():
        for label, m in s["settings"].items():
            excl = ", ".join(f"{k} {v}" for k, v in m["excluded"].items()) or "-"
            lines.append(f"| {name} | {label} | {m['examples']} | {m['negatives']} | {m['false_negatives']} | "
                         f"{m['fn_rate_per_negative']:.4f} | {m['examples_with_a_false_negative']:.4f} | {excl} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
