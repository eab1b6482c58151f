"""Exercise checks for lesson 03 (see the package docstring for the contract)."""
from __future__ import annotations

from .. import data as D
from ..mtl_core import embedding_dims
from ._feedback import feedback

__all__ = ["lesson03_parameters_saved", "lesson03_sparse_loss"]


def _mlp_parameters(inputs: int, hidden: tuple[int, ...], outputs: int) -> int:
    sizes = (inputs, *hidden, outputs)
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def lesson03_parameters_saved(answer, cardinalities: dict[str, int]) -> None:
    """Exercise 03.1: parameters of 3 single-task MLPs minus those of one 3-task shared bottom."""
    dims = embedding_dims(cardinalities, {"user_id": 1})
    embeddings = sum(cardinalities[f] * d for f, d in dims.items())
    width = sum(dims.values()) + len(D.NUMERIC_FEATURES)
    bottom = _mlp_parameters(width, (128,), 64)  # the two hidden layers
    head = 64 + 1
    singles = 3 * (embeddings + bottom + head)
    shared = embeddings + bottom + 3 * head
    feedback("Exercise 1", answer, singles - shared, rel_tol=0.0,
             hint="Two extra copies of the embedding tables and of the (128, 64) bottom: "
                  "2 × (Σ ids × size + the two Linear layers' weights and biases).")


def lesson03_sparse_loss(answer) -> None:
    """Exercise 03.2: the Keras loss for integer class labels."""
    if isinstance(answer, str):
        answer = answer.strip().strip("'\"")
    feedback("Exercise 2", answer, "sparse_categorical_crossentropy",
             hint="Class indices go with the *sparse* categorical cross-entropy; "
                  "categorical_crossentropy expects one-hot rows.")
