"""Text as hashed character n-grams: no tokenizer, no vocabulary file, no download (lesson 09).

A Chinese utterance is split into its characters (1-grams) and adjacent pairs (2-grams), e.g.
"问尺码" → 问, 尺, 码, 问尺, 尺码. Each n-gram is mapped to one of ``n_buckets − 1`` buckets by a stable
hash (CRC-32 of its UTF-8 bytes, the same on every machine and every run, unlike Python's ``hash``):

    id(g) = 1 + crc32(utf8(g)) mod (n_buckets − 1),

and id 0 is kept for padding. ``hash_texts`` returns a padded id matrix; a text encoder embeds the ids
and averages the embeddings of the non-padding positions (``EmbeddingBag(mode="mean")`` in PyTorch, a
masked mean in Keras). Two different n-grams may share a bucket (a collision): with B buckets and m distinct
n-grams, about m²/(2B) pairs collide (lesson 09 counts them for its texts); it is the
price of needing no vocabulary. A text longer than ``max_ngrams`` n-grams keeps its first ``max_ngrams`` (its
characters first), so its mean is over those. Unlike Weinberger et al.'s feature hashing, there is no sign hash:
the embedding averages, it does not sum signed counts.
"""
from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

PAD = 0


def char_ngrams(text: str, orders: Sequence[int] = (1, 2)) -> list[str]:
    """The character n-grams of ``text`` for each order in ``orders``, 1-grams first, in text order.
    Spaces are dropped first (Chinese is written without them)."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    bad = [n for n in orders if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1]
    if bad or not orders:
        raise ValueError(f"orders must be positive integers such as (1, 2), got {tuple(orders)!r}")
    chars = text.replace(" ", "")
    return [chars[i:i + n] for n in orders for i in range(len(chars) - n + 1)]


def ngram_id(ngram: str, n_buckets: int) -> int:
    """The bucket of one n-gram: 1 + crc32(utf-8 bytes) mod (n_buckets − 1)."""
    return 1 + zlib.crc32(ngram.encode("utf-8")) % (n_buckets - 1)


def hash_texts(texts: Sequence[str], n_buckets: int = 2 ** 16, max_ngrams: int = 64,
               orders: Sequence[int] = (1, 2)) -> tuple[np.ndarray, np.ndarray]:
    """Hashed n-gram ids of each text, padded with 0.

    Args:
        texts: the texts (str each).
        n_buckets: size of the id space including the padding id 0 (≥ 2).
        max_ngrams: longest id row; a text with more n-grams keeps its first ``max_ngrams`` (1-grams
            come first, so long texts lose 2-grams before characters).
        orders: the n-gram orders.

    Returns:
        ``(ids, lengths)``: int64 (n_texts, max_ngrams) with ids in [1, n_buckets) then zeros, and int64
        (n_texts,) the number of non-padding ids (0 for an empty text).
    """
    if isinstance(n_buckets, bool) or not isinstance(n_buckets, (int, np.integer)) or n_buckets < 2:
        raise ValueError(f"n_buckets must be an integer ≥ 2, got {n_buckets!r}")
    if isinstance(max_ngrams, bool) or not isinstance(max_ngrams, (int, np.integer)) or max_ngrams < 1:
        raise ValueError(f"max_ngrams must be an integer ≥ 1, got {max_ngrams!r}")
    if isinstance(texts, str):
        raise ValueError("texts must be a sequence of str, got one str (wrap it in a list)")
    ids = np.zeros((len(texts), max_ngrams), dtype=np.int64)
    lengths = np.zeros(len(texts), dtype=np.int64)
    for row, text in enumerate(texts):
        grams = char_ngrams(text, orders)[:max_ngrams]
        ids[row, :len(grams)] = [ngram_id(g, n_buckets) for g in grams]
        lengths[row] = len(grams)
    return ids, lengths
