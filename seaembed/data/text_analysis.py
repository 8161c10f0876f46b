"""The one lexical analyser for BM25, used on both sides (queries and documents) by evaluation and serving.

`analyze(text)` depends on the text alone, never on a language tag: a query tagged `en` and a title tagged `tl`
that share the word "shoes" get the same token. It splits the NFKC-normalised, lowercased text into runs by script:
- Thai runs: pythainlp's dictionary word segmenter `newmm` (Thai is written without spaces between words);
- Lao, Khmer and Burmese runs: overlapping bigrams of grapheme clusters (a base letter with its marks) (no segmenter
  for them ships with pythainlp or another small library here; bigrams are the standard dictionary-free fallback
  for unsegmented scripts);
- everything else (Latin, Vietnamese, CJK ideographs as \\w runs, digits): Unicode word characters; every token
  spelt in plain ASCII (English, and the English words, brand names and unaccented words of Indonesian, Malay,
  Tagalog or Vietnamese rows) is then stemmed with the English Snowball stemmer (PyStemmer, a required dependency):
  English plurals and inflections ("shoes", "shoe", "running") meet wherever they occur, whatever the row's
  language. Tokens with other letters (Vietnamese "giày", CJK) are left as they are: the English rules would only
  mangle them ("giày" -> "giài"). BM25 nDCG@10 on the bundled retrieval tasks
  (multilingual-product-search / prdect-category-retrieval / prdect-title-queries): 0.663 / 0.215 / 0.956 with
  this rule (the same with every Latin-script token stemmed), 0.659 / 0.183 / 0.956 without stemming, 0.651 /
  0.192 / 0.956 stemming only rows tagged `en` (the old rule).
Splitting by script rather than by the row's language lets mixed titles ("รองเท้า Nike Air") work unlabelled.

`ANALYZER` names this behaviour; a saved BM25 index records it, so an index built with another analyser is
refused rather than queried with mismatched tokens. Change it whenever `analyze` changes its output.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

ANALYZER = "seaembed-bm25-v2:script-split+ascii-snowball-english"

_THAI = "\u0e00-\u0e7f"
_BIGRAM = "\u0e80-\u0eff\u1000-\u109f\ua9e0-\ua9ff\uaa60-\uaa7f\u1780-\u17ff\u19e0-\u19ff"
_TOKEN_RE = re.compile(rf"(?P<thai>[{_THAI}]+)|(?P<bigram>[{_BIGRAM}]+)|(?P<word>[^\W{_THAI}{_BIGRAM}]+)")
_STACKERS = {"\u17d2", "\u1039"}  # Khmer coeng, Myanmar virama: the next consonant joins the cluster


@lru_cache(maxsize=1)
def _thai_segmenter():
    from pythainlp.tokenize import word_tokenize

    return word_tokenize


@lru_cache(maxsize=1)
def _english_stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def _is_wordlike(token: str) -> bool:
    return any(unicodedata.category(c)[0] in "LN" for c in token)


def _clusters(run: str) -> list[str]:
    """Rough grapheme clusters: a base character with its combining marks (and stacked consonants)."""
    out: list[str] = []
    for c in run:
        if unicodedata.category(c).startswith(("Z", "P")):
            continue
        if out and (unicodedata.category(c)[0] == "M" or out[-1][-1] in _STACKERS):
            out[-1] += c
        else:
            out.append(c)
    return out


def _bigrams(run: str) -> list[str]:
    chars = _clusters(run)
    if len(chars) < 2:
        return ["".join(chars)] if chars else []
    return [chars[i] + chars[i + 1] for i in range(len(chars) - 1)]


def analyze(text: str) -> list[str]:
    """BM25 tokens of `text` (see the module docstring for the rule per script). No language tag, by design."""
    # NFKC splits Thai SARA AM (and Lao AM) into NIKHAHIT + SARA AA, which breaks dictionary segmentation: undo it.
    text = unicodedata.normalize("NFKC", text).lower().replace("\u0e4d\u0e32", "\u0e33").replace("\u0ecd\u0eb2", "\u0eb3")
    tokens: list[str] = []
    stem = _english_stemmer().stemWord
    for m in _TOKEN_RE.finditer(text):
        if m.lastgroup == "thai":
            segment = _thai_segmenter()
            tokens.extend(t for t in segment(m.group(), engine="newmm", keep_whitespace=False) if _is_wordlike(t))
        elif m.lastgroup == "bigram":
            tokens.extend(_bigrams(m.group()))
        else:
            token = m.group()
            tokens.append(stem(token) if token.isascii() else token)
    return tokens
