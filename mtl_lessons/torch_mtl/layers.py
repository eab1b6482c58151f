"""Building blocks of the PyTorch models: the input layer, MLP blocks and their seeded initialisation."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ..mtl_core import NUMERIC_KEY, check_architecture, embedding_dims

EMBEDDING_INIT_RANGE = 0.05
"""Embeddings start uniform in (−EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE)."""


@contextlib.contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    """Run the block with torch's CPU generator seeded by ``seed`` and restore it afterwards.

    ``None`` uses (and advances) the global generator, which ``repro.setup`` seeds.
    """
    if seed is None:
        yield
        return
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be an int ≥ 0 or None, got {seed!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def _init_linear(layer: nn.Linear) -> nn.Linear:
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


# --------------------------------------------------------------------------- building blocks
class FeatureInput(nn.Module):
    """Embeds each categorical feature and appends the numeric columns.

    Args:
        cardinalities: feature name → number of ids (``FeatureEncoder.cardinalities``).
        n_numeric: number of numeric columns k.
        embedding_dims: optional feature name → embedding size; default 8 for ``user_id`` and
            ``item_id``, 4 otherwise (:func:`mtl_lessons.mtl_core.embedding_dims`).
        seed: seed of the initialisation (embeddings uniform(−0.05, 0.05)); None: global generator.

    Input: dict feature name → int64 (n,), plus ``"numeric"`` → float32 (n, k).
    Output: float32 (n, ``output_dim``) with ``output_dim = Σ embedding sizes + k``.
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int,
                 embedding_dims: Mapping[str, int] | None = None, *, seed: int | None = None):
        super().__init__()
        check_architecture(cardinalities, n_numeric, {}, 0.0)
        self.cardinalities = dict(cardinalities)
        self.feature_names = tuple(cardinalities)
        self.embedding_dims = _embedding_dims(cardinalities, embedding_dims)
        self.n_numeric = int(n_numeric)
        self.output_dim = sum(self.embedding_dims.values()) + self.n_numeric
        with _seeded(seed):
            self.embeddings = nn.ModuleDict({
                name: nn.Embedding(self.cardinalities[name], dim)
                for name, dim in self.embedding_dims.items()
            })
            for table in self.embeddings.values():
                nn.init.uniform_(table.weight, -EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE)

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        parts = [self.embeddings[name](inputs[name]) for name in self.feature_names]
        parts.append(inputs[NUMERIC_KEY])
        return torch.cat(parts, dim=1)


_embedding_dims = embedding_dims  # FeatureInput's argument shadows the function's name


class TextEncoder(nn.Module):
    """A text as the mean embedding of its hashed character n-grams (``data.hashing.hash_texts``).

    h = (1/|G|) Σ_{g ∈ G} E[id(g)], over the text's non-padding ids G (id 0 is padding); an empty text
    gives the zero vector. Implemented by ``nn.EmbeddingBag(mode="mean", padding_idx=0)``.

    Args:
        n_buckets: size of the id space (``hash_texts``' ``n_buckets``).
        dim: embedding size.
        seed: seed of the initialisation (uniform(−0.05, 0.05)); None: global generator.

    Input: int64 (n, L) ids. Output: float32 (n, ``dim``).
    """

    def __init__(self, n_buckets: int, dim: int, *, seed: int | None = None):
        super().__init__()
        for name, value, low in (("n_buckets", n_buckets, 2), ("dim", dim, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name} must be an integer ≥ {low}, got {value!r}")
        self.n_buckets, self.dim = int(n_buckets), int(dim)
        with _seeded(seed):
            self.bag = nn.EmbeddingBag(self.n_buckets, self.dim, mode="mean", padding_idx=0)
            with torch.no_grad():
                nn.init.uniform_(self.bag.weight, -EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE)
                self.bag.weight[0].zero_()

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.bag(ids)


def mlp_block(in_features: int, hidden: Sequence[int], dropout: float = 0.0, *,
              seed: int | None = None) -> nn.Sequential:
    """Linear(→ size) → ReLU (→ Dropout(``dropout``)) for each size in ``hidden``.

    Input (n, ``in_features``) → output (n, ``hidden[-1]``); an empty ``hidden`` is the identity.
    Weights Glorot-uniform, biases zero (``seed``: as in :class:`FeatureInput`).
    """
    check_architecture({"x": 1}, in_features, {"hidden": hidden}, dropout)
    layers: list[nn.Module] = []
    width = in_features
    with _seeded(seed):
        for size in hidden:
            layers += [_init_linear(nn.Linear(width, size)), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
    return nn.Sequential(*layers)


def _linears(block: nn.Module) -> list[nn.Linear]:
    return [layer for layer in block.modules() if isinstance(layer, nn.Linear)]
