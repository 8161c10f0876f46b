"""The rebuilt XLM-R tokenizer gives the same ids as the exact XLM-R tokenizer.json, on >= 200 hard strings."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import pytest

from seaembed.models.spm_charsmap import charsmap_rules, compile_charsmap

EDGE_CASES = [
    "", " ", "   ", "\t", "\n", "a\tb", "a\nb", "a\r\nb", "tab\there\tand\tthere", "line1\nline2\n\nline4",
    "  leading", "trailing  ", "  both  ", "many     spaces", "x\u200by", "\u200bstart", "end\u200b",
    "zero\u200cwidth\u200dnon-joiner", "soft\u00adhyphen", "nbsp\u00a0space", "ideographic\u3000space",
    "narrow\u202fnbsp", "em\u2003space", "word\u2060joiner", "bom\ufeffinside", "ctrl\u0007bell\u001b",
    "cafe\u0301", "café", "Vie\u0323\u0302t Nam", "Việt Nam", "n\u0303", "A\u030a", "a\u0308\u0301",
    "\u1100\u1161\u11a8", "한국어 텍스트", "ｶﾞｷﾞｸﾞ", "ＦＵＬＬ　ｗｉｄｔｈ　ＡＢＣ　１２３", "ｈｅｌｌｏ！？",
    "①②③ ⅻ ㎏ ㎝ ﬁ ﬂ", "x² y₃ ½ ¼", "™ © ®", "😀", "👍🏽 thumbs", "👨‍👩‍👧 family", "🇹🇭🇻🇳🇮🇩 flags",
    "emoji🎉inside", "❤️ love", "<s> tags </s>", "<mask>", "a<mask>b", "<unk> <pad>", "query: passage: ",
    "รองเท้าวิ่งผู้ชาย", "เสื้อยืด สีดำ ไซส์ L", "กำ กํา ก่ำ", "ស្បែកជើងរត់បុរស", "ខ្ញុំ​ស្រលាញ់​អ្នក",
    "ဖိနပ် အမျိုးသား", "မြန်မာ\u200bစာ", "Giày chạy bộ nam", "Sepatu Lari Pria", "Kasut Larian Lelaki",
    "Sapatos ng Lalaki", "中文商品标题 手机壳", "日本語のテキスト", "العربية نص", "עברית", "Ελληνικά", "Русский текст",
    "हिन्दी पाठ", "ÀÉÎÕÜ àéîõü", "ǅ ǈ ǋ", "İstanbul ıi", "ß ẞ", "ﬀ ﬃ", "…‥", "“quotes” ‘single’", "—–-",
    "123,456.78", "50% OFF!!!", "iPhone15ProMax", "USB-C 3.1 Gen2", "1/2 kg", "ราคา ฿1,299",
    "http://example.com/path?q=1", "email@example.co.id", "#hashtag @mention", "C++ / C# / F#",
    "\u0e40\u0e01\u0e49\u0e32\u0e2d\u0e35\u0e49", "\u17a2\u17d2\u1780", "\u1000\u103c\u1031\u102c\u1004\u103a\u1038",
]

POOL = (list("abcxyzABC019 .,-") + ["\t", "\n", "  ", "\u200b", "\u200d", "\u00a0", "\u3000", "\u0301", "\u0323",
        "\u0302", "\u0308", "é", "ệ", "ｶ", "ﾞ", "Ａ", "１", "😀", "🇹", "🇭", "ก", "ำ", "่", "េ", "ស", "្", "ក", "မ",
        "်", "ြ", "ä", "ﬁ", "㎏", "ǅ", "<s>", "</s>", "<mask>", "한", "\u1100", "\u1161"])


def hard_strings(texts: list[str]) -> list[str]:
    rng = random.Random(0)
    randoms = ["".join(rng.choice(POOL) for _ in range(rng.randint(1, 24))) for _ in range(120)]
    return EDGE_CASES + randoms + texts


def test_charsmap_round_trip() -> None:
    rules = {"\u3000": " ", "e\u0301": "é", "ﬁ": "fi", "\u200b": ""}
    assert charsmap_rules(compile_charsmap(rules)) == rules


@pytest.mark.integration
def test_normalisation_rules_equal_xlmr(reference_tokenizer_path: Path, packaged_e5_dir: Path) -> None:
    """Our compiled charsmap (in the built tokenizer.json) is byte-identical to XLM-R's."""
    def charsmap(path: Path) -> bytes:
        normalizer = json.loads(path.read_text(encoding="utf-8"))["normalizer"]
        return base64.b64decode(normalizer["normalizers"][0]["precompiled_charsmap"])

    ours, ref = charsmap(packaged_e5_dir / "tokenizer.json"), charsmap(reference_tokenizer_path)
    if ours != ref:  # explain the difference rule by rule
        a, b = charsmap_rules(ours), charsmap_rules(ref)
        diff = sorted(set(a.items()) ^ set(b.items()))[:10]
        pytest.fail(f"charsmaps differ; {len(a)} vs {len(b)} rules; first differences: {diff}")


@pytest.mark.integration
def test_token_ids_equal_xlmr(reference_tokenizer_path: Path, packaged_e5_dir: Path,
                              multilingual_texts: list[tuple[str, str]]) -> None:
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    ref = Tokenizer.from_file(str(reference_tokenizer_path))
    ours = AutoTokenizer.from_pretrained(str(packaged_e5_dir))  # as sentence-transformers loads it
    strings = hard_strings([t for _, t in multilingual_texts])
    assert len(strings) >= 200
    mismatches = []
    for s in strings:
        want = ref.encode(s).ids
        got = ours(s, truncation=False)["input_ids"]
        if got != want:
            mismatches.append((s, want, got))
    assert not mismatches, f"{len(mismatches)}/{len(strings)} strings differ, e.g. {mismatches[:3]}"
    assert ours.model_max_length == 512
    assert ours("x")["input_ids"][0] == 0 and ours("x")["input_ids"][-1] == 2
    assert ours.pad_token_id == 1 and ours.unk_token_id == 3 and ours.mask_token_id == 250001
