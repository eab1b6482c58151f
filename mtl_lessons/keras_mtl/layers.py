"""Building blocks of the Keras models: the input layer, MLP blocks and their seeded initialisers."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ..mtl_core import NUMERIC_KEY, check_architecture, embedding_dims

EMBEDDING_INIT_RANGE = 0.05
"""Embeddings start uniform in (−EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE)."""


class _Seeds:
    """Distinct integer seeds for successive initialisers, drawn from ``seed``.

    ``seed=None`` yields None every time: Keras then draws from its global generator, which
    ``repro.setup`` seeds. Integer seeds are used (not a ``SeedGenerator``) so no seed-state
    variable ends up among the model's weights.
    """

    def __init__(self, seed: int | None):
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0):
            raise ValueError(f"seed must be an int ≥ 0 or None, got {seed!r}")
        self._rng = None if seed is None else np.random.default_rng(int(seed))

    def next(self) -> int | None:
        return None if self._rng is None else int(self._rng.integers(0, 2**31 - 1))


def _seeds(seed: int | None | _Seeds) -> _Seeds:
    return seed if isinstance(seed, _Seeds) else _Seeds(seed)


def _dense(units: int, seeds: _Seeds, activation: str | None = None, name: str | None = None) -> keras.layers.Dense:
    return keras.layers.Dense(units, activation=activation, name=name,
                              kernel_initializer=keras.initializers.GlorotUniform(seed=seeds.next()),
                              bias_initializer="zeros")


# --------------------------------------------------------------------------- building blocks
class FeatureInput(keras.layers.Layer):
    """Embeds each categorical feature and appends the numeric columns.

    Args:
        cardinalities: feature name → number of ids (``FeatureEncoder.cardinalities``).
        n_numeric: number of numeric columns k.
        embedding_dims: optional feature name → embedding size; default 8 for ``user_id`` and
            ``item_id``, 4 otherwise (:func:`mtl_lessons.mtl_core.embedding_dims`).
        seed: seed of the initialisation (embeddings uniform(−0.05, 0.05)); None: global generator.

    Input: dict feature name → int (n,), plus ``"numeric"`` → float32 (n, k).
    Output: float32 (n, ``output_dim``) with ``output_dim = Σ embedding sizes + k``.
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int,
                 embedding_dims: Mapping[str, int] | None = None, *,
                 seed: int | None | _Seeds = None, **kwargs):
        super().__init__(**kwargs)
        check_architecture(cardinalities, n_numeric, {}, 0.0)
        seeds = _seeds(seed)
        self.cardinalities = dict(cardinalities)
        self.feature_names = tuple(cardinalities)
        self.embedding_dims = _embedding_dims(cardinalities, embedding_dims)
        self.n_numeric = int(n_numeric)
        self.output_dim = sum(self.embedding_dims.values()) + self.n_numeric
        self.embeddings = {
            name: keras.layers.Embedding(
                self.cardinalities[name], dim, name=f"embedding_{name}",
                embeddings_initializer=keras.initializers.RandomUniform(
                    -EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE, seed=seeds.next()))
            for name, dim in self.embedding_dims.items()
        }

    def build(self, input_shape=None) -> None:
        for table in self.embeddings.values():
            table.build((None,))
        self.built = True

    def call(self, inputs: Mapping[str, tf.Tensor]) -> tf.Tensor:
        parts = [self.embeddings[name](inputs[name]) for name in self.feature_names]
        parts.append(ops.cast(inputs[NUMERIC_KEY], self.compute_dtype))
        return ops.concatenate(parts, axis=1)


_embedding_dims = embedding_dims  # FeatureInput's argument shadows the function's name


class TextEncoder(keras.layers.Layer):
    """A text as the mean embedding of its hashed character n-grams (``data.hashing.hash_texts``).

    h = (1/|G|) Σ_{g ∈ G} E[id(g)] over the non-padding ids G (id 0 is padding): an ``Embedding`` and a
    masked mean; an empty text gives the zero vector. The Keras twin of ``torch_mtl.TextEncoder``.

    Input: int (n, L) ids. Output: (n, ``dim``).
    """

    def __init__(self, n_buckets: int, dim: int, *, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        for name, value, low in (("n_buckets", n_buckets, 2), ("dim", dim, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name} must be an integer ≥ {low}, got {value!r}")
        self.n_buckets, self.dim = int(n_buckets), int(dim)
        self.embedding = keras.layers.Embedding(
            self.n_buckets, self.dim, name="embedding_text",
            embeddings_initializer=keras.initializers.RandomUniform(
                -EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE, seed=_seeds(seed).next()))

    def build(self, input_shape=None) -> None:
        self.embedding.build((None,))
        self.built = True

    def call(self, ids):
        vectors = self.embedding(ids)
        present = ops.expand_dims(ops.cast(ops.not_equal(ids, 0), vectors.dtype), -1)
        return ops.sum(vectors * present, axis=1) / ops.maximum(ops.sum(present, axis=1), 1.0)


def mlp_block(in_features: int, hidden: Sequence[int], dropout: float = 0.0, *,
              seed: int | None | _Seeds = None, name: str | None = None) -> keras.Sequential:
    """Dense(size) → ReLU (→ Dropout(``dropout``)) for each size in ``hidden``, built for
    inputs of width ``in_features``.

    Input (n, ``in_features``) → output (n, ``hidden[-1]``); an empty ``hidden`` is the identity.
    Kernels Glorot-uniform, biases zero (``seed``: as in :class:`FeatureInput`).
    """
    check_architecture({"x": 1}, in_features, {"hidden": hidden}, dropout)
    seeds = _seeds(seed)
    layers: list[keras.layers.Layer] = [keras.Input((in_features,))]
    for size in hidden:
        layers.append(_dense(size, seeds, activation="relu"))
        if dropout > 0:
            layers.append(keras.layers.Dropout(dropout, seed=seeds.next()))
    if not hidden:
        layers.append(keras.layers.Identity())
    return keras.Sequential(layers, name=name)


def _denses(block: keras.Sequential) -> list[keras.layers.Dense]:
    return [layer for layer in block.layers if isinstance(layer, keras.layers.Dense)]
