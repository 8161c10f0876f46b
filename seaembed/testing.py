"""Tiny random sentence-transformers models, built locally in well under a second, for tests and CI.

They have the structure of the real model (BERT encoder, mean pooling, normalisation, `query: `/`passage: `
prompts) but random weights and a small vocabulary trained on a few multilingual strings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

TINY_CORPUS = [
    "sepatu lari pria ringan", "tas ransel wanita kulit", "kaos polos katun hitam", "running shoes for men",
    "leather backpack women", "black cotton t-shirt", "giày chạy bộ nam", "áo thun cotton màu đen",
    "รองเท้าวิ่งผู้ชาย", "เสื้อยืดสีดำ", "kasut larian lelaki", "sapatos pangtakbo panlalaki",
    "query: passage: 0123456789 ml gb kg cm xl", "samsung iphone xiaomi oppo vivo asus lenovo",
    "ស្បែកជើងរត់", "ဖိနပ်", "makanan minuman kesehatan kecantikan elektronik rumah tangga",
]


def build_tiny_model(out_dir: str | Path, *, seed: int = 0, dim: int = 32, layers: int = 2,
                     vocab_size: int = 400, max_len: int = 128) -> Path:
    """Write a tiny random sentence-transformers model to `out_dir` and return the path."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    out_dir = Path(out_dir)
    hf_dir = out_dir / "_hf"
    hf_dir.mkdir(parents=True, exist_ok=True)

    # A fixed vocabulary (not a trained one: the WordPiece trainer breaks ties differently between processes, so
    # two tiny models built apart could differ in shape): specials, the corpus's words, and every character.
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    text = normalizer.normalize_str(" ".join(TINY_CORPUS))
    chars = sorted({c for c in text + "abcdefghijklmnopqrstuvwxyz0123456789" if not c.isspace()})
    words = sorted({w for w in text.split() if len(w) > 1})[: max(vocab_size - len(specials) - 2 * len(chars), 0)]
    vocab = {tok: i for i, tok in enumerate(specials + chars + ["##" + c for c in chars] + words)}
    tok = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
                                                       special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.decoder = decoders.WordPiece()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=max_len)
    fast.save_pretrained(hf_dir)

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=dim, num_hidden_layers=layers,
                        num_attention_heads=2, intermediate_size=dim * 2, max_position_embeddings=max_len)
    BertModel(config).save_pretrained(hf_dir)

    transformer = models.Transformer(str(hf_dir), max_seq_length=max_len)
    pooling = models.Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    model = SentenceTransformer(modules=[transformer, pooling, models.Normalize()],
                                prompts={"query": "query: ", "passage": "passage: "}, device="cpu")
    model.save(str(out_dir))
    import shutil

    shutil.rmtree(hf_dir)
    return out_dir


def clustered_vectors(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    """L2-normalised float32 vectors around n/50 random centres (the shape of benchmarks/scale.py's generated data),
    for tests of approximate search."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(1, n // 50), dim)).astype(np.float32)
    v = centres[np.arange(n) % len(centres)] + 0.9 * rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)
