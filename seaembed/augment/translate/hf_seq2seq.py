"""A Hugging Face seq2seq translation model (NLLB, MADLAD, opus-mt, ...) by hub id or local path, via transformers.

The target language is passed the way the model family expects, read off its tokenizer's vocabulary:
NLLB/M2M (`tgt_lang` code as the forced first token, `src_lang` on the tokenizer), MADLAD/T5 (`<2xx>` prefix),
multi-target opus-mt (`>>xxx<<` prefix), otherwise nothing (a single-pair model such as opus-mt-id-en).
CTranslate2 is not installed here; converting a model with `ct2-transformers-converter` and plugging a backend in
beside this one is left to users who need the speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seaembed.errors import ModelSourceError

NLLB_CODES = {"en": "eng_Latn", "id": "ind_Latn", "ms": "zsm_Latn", "vi": "vie_Latn", "th": "tha_Thai",
              "tl": "tgl_Latn", "km": "khm_Khmr", "my": "mya_Mymr", "zh": "zho_Hans", "jv": "jav_Latn"}
ISO3 = {"en": "eng", "id": "ind", "ms": "zsm", "vi": "vie", "th": "tha", "tl": "tgl", "km": "khm", "my": "mya",
        "zh": "zho", "jv": "jav"}


class HFSeq2SeqTranslator:
    """Translator over `AutoModelForSeq2SeqLM.generate` (greedy, batched)."""

    def __init__(self, model_path: str, *, device: str = "cpu", batch_size: int = 16, max_new_tokens: int = 128):
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model_path)
            self.model = AutoModelForSeq2SeqLM.from_pretrained(model_path).to(device).eval()
        except (OSError, ValueError) as e:
            raise ModelSourceError(f"cannot load the seq2seq model {model_path!r}: {e}") from None
        self.device = device
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.name = f"hf:{model_path}"
        self._vocab = self.tokenizer.get_vocab()

    def supports(self, src: str, tgt: str) -> bool:
        return src != tgt

    def _style(self, src: str, tgt: str) -> tuple[str, dict[str, Any]]:
        """(text prefix, extra generate kwargs) for this model family."""
        nllb = NLLB_CODES.get(tgt)
        if nllb and nllb in self._vocab:
            if hasattr(self.tokenizer, "src_lang") and NLLB_CODES.get(src) in self._vocab:
                self.tokenizer.src_lang = NLLB_CODES[src]
            return "", {"forced_bos_token_id": self._vocab[nllb]}
        if f"<2{tgt}>" in self._vocab:
            return f"<2{tgt}> ", {}
        if f">>{ISO3.get(tgt, tgt)}<<" in self._vocab:
            return f">>{ISO3.get(tgt, tgt)}<< ", {}
        return "", {}

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        import torch

        prefix, extra = self._style(src, tgt)
        out: list[str] = []
        for i in range(0, len(texts), self.batch_size):
            batch = [prefix + t for t in texts[i:i + self.batch_size]]
            enc = self.tokenizer(batch, return_tensors="pt", padding=True, truncation=True).to(self.device)
            with torch.inference_mode():
                ids = self.model.generate(**enc, max_new_tokens=self.max_new_tokens, num_beams=1,
                                          do_sample=False, **extra)
            out += [" ".join(s.split()) for s in self.tokenizer.batch_decode(ids, skip_special_tokens=True)]
        return out
