"""Hashed character n-grams (``data.hashing``) and the text encoders of both frameworks, on hand-computed values."""
from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

from mtl_lessons.data import hashing as H
from mtl_lessons.torch_mtl.layers import TextEncoder


def test_char_ngrams_by_hand():
    assert H.char_ngrams("问尺码") == ["问", "尺", "码", "问尺", "尺码"]
    assert H.char_ngrams("a b") == ["a", "b", "ab"]  # spaces dropped
    assert H.char_ngrams("好", (1, 2)) == ["好"] and H.char_ngrams("", (1, 2)) == []
    assert H.char_ngrams("问尺码", (2,)) == ["问尺", "尺码"]


def test_ids_are_a_stable_crc32_with_zero_for_padding():
    assert H.ngram_id("问", 16) == 1 + zlib.crc32("问".encode("utf-8")) % 15
    ids, lengths = H.hash_texts(["问尺码", "", "好"], n_buckets=16, max_ngrams=4)
    assert ids.dtype == np.int64 and ids.shape == (3, 4) and lengths.tolist() == [4, 0, 1]
    assert ids[0].tolist() == [H.ngram_id(g, 16) for g in ["问", "尺", "码", "问尺"]]  # truncated: 2-grams go first
    assert ids[1].tolist() == [0, 0, 0, 0] and ids[2, 1:].tolist() == [0, 0, 0]
    assert (ids[ids > 0] < 16).all()


@pytest.mark.parametrize("kwargs, message", [({"n_buckets": 1}, "n_buckets must be an integer ≥ 2"),
                                             ({"max_ngrams": 0}, "max_ngrams must be an integer ≥ 1"),
                                             ({"orders": (0,)}, "orders must be positive integers")])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        H.hash_texts(["好"], **kwargs)
    with pytest.raises(ValueError, match="wrap it in a list"):
        H.hash_texts("好")


def test_the_torch_encoder_is_the_mean_of_the_non_padding_embeddings():
    encoder = TextEncoder(16, 3, seed=0)
    table = encoder.bag.weight.detach().numpy()
    ids = torch.tensor([[5, 3, 5, 0], [0, 0, 0, 0], [7, 0, 0, 0]])
    out = encoder(ids).detach().numpy()
    np.testing.assert_allclose(out[0], (2 * table[5] + table[3]) / 3, rtol=1e-6)
    np.testing.assert_array_equal(out[1], np.zeros(3))
    np.testing.assert_allclose(out[2], table[7], rtol=1e-6)
    encoder(ids).sum().backward()  # gradients reach only the rows used
    used = {3, 5, 7}
    grad = encoder.bag.weight.grad.numpy()
    assert all((grad[row] != 0).any() == (row in used) for row in range(16))


def test_the_keras_encoder_equals_the_torch_one_with_the_same_table():
    from mtl_lessons.keras_mtl.layers import TextEncoder as KerasTextEncoder

    torch_encoder = TextEncoder(16, 3, seed=0)
    keras_encoder = KerasTextEncoder(16, 3, seed=0)
    keras_encoder.build()
    keras_encoder.embedding.embeddings.assign(torch_encoder.bag.weight.detach().numpy())
    ids = np.array([[5, 3, 5, 0], [0, 0, 0, 0], [7, 9, 11, 2]])
    np.testing.assert_allclose(np.asarray(keras_encoder(ids)), torch_encoder(torch.tensor(ids)).detach().numpy(),
                               rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="dim must be an integer ≥ 1"):
        KerasTextEncoder(16, 0)
    with pytest.raises(ValueError, match="n_buckets must be an integer ≥ 2"):
        TextEncoder(1, 3)
