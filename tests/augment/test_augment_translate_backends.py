import shutil
from pathlib import Path

import pytest

from seaembed.augment.config import BackendConfig, TranslateConfig
from seaembed.augment.pairs import example
from seaembed.augment.records import DropLog
from seaembed.augment.translate import make_backend, make_translator
from seaembed.augment.translate.augment import thin_languages, translate_examples
from seaembed.augment.translate.cache import CachedTranslator, TranslationCache
from seaembed.augment.translate.dictionary import DEFAULT_INDEX, DictionaryCodeSwitcher

HAS_APERTIUM = shutil.which("apertium") is not None and Path("/usr/share/apertium/modes/ind-zlm.mode").exists()
HAS_FREEDICT = DEFAULT_INDEX.exists()


class CountingUpper:
    """A backend that upper-cases and counts what it was asked."""

    name = "upper"

    def __init__(self):
        self.asked: list[str] = []
        self.calls = 0

    def supports(self, src, tgt):
        return src == "id" and tgt in ("ms", "vi")

    def translate(self, texts, src, tgt):
        self.calls += 1
        self.asked += list(texts)
        return [f"{tgt}:{t.upper()}" for t in texts]


def test_cache_means_a_rerun_asks_the_backend_nothing(tmp_path):
    backend = CountingUpper()
    t = CachedTranslator(backend, TranslationCache(tmp_path / "c.sqlite"), batch_size=2)
    assert t.translate(["a", "b", "a", "c"], "id", "ms") == ["ms:A", "ms:B", "ms:A", "ms:C"]
    assert backend.asked == ["a", "b", "c"] and backend.calls == 2  # deduped, batches of 2
    t2 = CachedTranslator(backend, TranslationCache(tmp_path / "c.sqlite"))  # a new process, same cache file
    assert t2.translate(["c", "a"], "id", "ms") == ["ms:C", "ms:A"]
    assert backend.calls == 2 and t2.misses == 0 and t2.hits == 2
    t2.translate(["a"], "id", "vi")  # another target language is another key
    assert backend.asked[-1] == "a" and backend.calls == 3


def test_translate_examples_targets_thin_languages_and_keeps_ids(tmp_path):
    rows = [example(f"sepatu {i}", f"Sepatu Lari {i}", "query-item", lang="id", source="logs", origin_id=f"p{i}",
                    group=f"item:p{i}") for i in range(10)]
    rows.append(example("kasut", "Kasut Lari", "query-item", lang="ms", source="logs", origin_id="m1"))
    cfg = TranslateConfig(enabled=True, target_langs=["ms", "id"], min_share=0.2, fields=["query"], max_rows=4)
    assert thin_languages(rows, cfg) == ["ms"]  # id has ~91%
    backend = CountingUpper()
    out = translate_examples(rows, cfg, backend, DropLog(), seed=1)
    assert len(out) == 4
    for ex in out:
        src = next(r for r in rows if r.model_extra["origin_id"] == ex.model_extra["origin_id"])
        assert ex.query == "ms:" + src.query.upper() and ex.positive == src.positive
        assert (ex.lang, ex.source, ex.model_extra["translated_from"], ex.model_extra["group"]) == (
            "ms", "logs+translate:upper", "id", src.model_extra["group"])


@pytest.mark.skipif(not HAS_APERTIUM, reason="Debian apertium + apertium-ind-zlm not installed (.ci/system-deps.sh)")
def test_apertium_translates_indonesian_to_malay_for_real(tmp_path):
    t = make_translator(BackendConfig(kind="apertium"), tmp_path)
    assert t.supports("id", "ms") and t.supports("ms", "id") and not t.supports("id", "vi")
    out = t.translate(["sepatu lari murah", "tas kulit wanita", "saya mau beli sepatu"], "id", "ms")
    assert out == ["kasut lari murah", "beg kulit wanita", "saya mahu beli kasut"]
    assert t.translate(["kasut larian"], "ms", "id") == ["sepatu lari"]


@pytest.mark.skipif(not HAS_FREEDICT, reason="Debian dict-freedict-eng-ind not installed (.ci/system-deps.sh)")
def test_freedict_code_switching_for_real():
    full = DictionaryCodeSwitcher(fraction=1.0)
    assert len(full.table) > 5000
    assert full.translate(["red leather bags for women"], "en", "id") == ["merah kulit tas for wanita"]
    half = make_backend(BackendConfig(kind="dictionary", fraction=0.5, seed=3))
    out = half.translate(["cheap black running shoes"], "en", "id")[0]
    changed = sum(a != b for a, b in zip(out.split(), "cheap black running shoes".split(), strict=False))
    assert 1 <= changed <= 3 and out == half.translate(["cheap black running shoes"], "en", "id")[0]
    assert not half.supports("id", "en")


def test_hf_seq2seq_backend_runs_a_tiny_local_model(tmp_path):
    """A tiny random T5 built here: checks the plumbing (batching, MADLAD-style <2xx> prefix), not quality."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(["sepatu lari murah kasut tas kulit", "<2ms> <2id>"],
                            trainers.WordLevelTrainer(special_tokens=["<pad>", "</s>", "<unk>", "<2ms>", "<2id>"]))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    fast.save_pretrained(tmp_path / "t5")
    cfg = T5Config(vocab_size=tok.get_vocab_size(), d_model=16, d_ff=32, num_layers=1, num_heads=2, d_kv=8,
                   decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    T5ForConditionalGeneration(cfg).save_pretrained(tmp_path / "t5")
    t = make_backend(BackendConfig(kind="hf", model_path=str(tmp_path / "t5"), batch_size=2, max_new_tokens=5))
    assert t._style("id", "ms")[0] == "<2ms> "
    out = t.translate(["sepatu lari", "tas kulit murah", "kasut"], "id", "ms")
    assert len(out) == 3 and all(isinstance(s, str) for s in out)
