"""Exercise checks for lesson 03 (see the package docstring for the contract).

Every check prints one feedback line and never raises, whatever it is given. Keras objects are
recognised by their type's module name: this module never imports Keras or TensorFlow.
"""
from __future__ import annotations

import numpy as np

from .. import data as D
from ..mtl_core import embedding_dims
from ._feedback import _never_raise, _plain, _remind_if_not_started, feedback

__all__ = ["lesson03_parameters_saved", "lesson03_sparse_loss"]


def _mlp_parameters(inputs: int, hidden: tuple[int, ...], outputs: int) -> int:
    sizes = (inputs, *hidden, outputs)
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


@_never_raise("Exercise 1")
def lesson03_parameters_saved(answer, cardinalities: dict[str, int]) -> None:
    """Exercise 03.1: parameters of 3 single-task MLPs minus those of one 3-task shared bottom."""
    dims = embedding_dims(cardinalities, {"user_id": 1})
    embeddings = sum(cardinalities[f] * d for f, d in dims.items())
    width = sum(dims.values()) + len(D.NUMERIC_FEATURES)
    bottom = _mlp_parameters(width, (128,), 64)  # the two hidden layers
    head = 64 + 1
    singles = 3 * (embeddings + bottom + head)
    shared = embeddings + bottom + 3 * head
    hint = ("Two extra copies of the embedding tables and of the (128, 64) bottom: "
            "2 × (Σ ids × size + the two Linear layers' weights and biases).")
    slips = {embeddings + bottom: "one copy of embeddings + bottom; three models hold two copies more than one",
             singles: "the three single-task models' total; subtract the shared model's count",
             shared: "the shared model's count; the exercise asks for the difference",
             2 * bottom: "two copies of the bottom only; the embedding tables are copied too",
             2 * embeddings: "two copies of the embeddings only; the bottom MLP is copied too"}
    value = _plain(answer)
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, float) and value != singles - shared and value in slips:
        print(f"Exercise 1: not yet — {value:,.0f} is {slips[value]}.")
        return
    feedback("Exercise 1", answer, singles - shared, rel_tol=0.0, hint=hint)


_SPARSE = "sparsecategoricalcrossentropy"
_NEAR_MISSES = {
    "categoricalcrossentropy": "categorical_crossentropy expects one-hot label rows, not class indices",
    "binarycrossentropy": "binary_crossentropy is for one 0/1 label per row, not 10 classes",
    "categoricalfocalcrossentropy": "the focal loss expects one-hot label rows, not class indices",
    "sparsecategoricalaccuracy": "that is a metric, not a loss",
}


def _loss_key(answer) -> tuple[str | None, object]:
    """The normalised name of a loss given as a string, a Keras loss class, instance or function
    (recognised by its type's module name, so this never imports Keras), and the object itself."""
    if isinstance(answer, str):
        name = answer.strip().strip("'\"").strip()
        for prefix in ("tf.keras.losses.", "keras.losses.", "losses."):
            if name.startswith(prefix):
                name = name[len(prefix):]
        name = name.removesuffix("()")
        return name.replace("_", "").lower(), None
    if isinstance(answer, type):
        module, name = getattr(answer, "__module__", ""), answer.__name__
    elif callable(answer) and hasattr(answer, "__name__") and not hasattr(answer, "get_config"):
        module, name = getattr(answer, "__module__", ""), answer.__name__
    else:
        module, name = type(answer).__module__, type(answer).__name__
    if not module.split(".")[0] in ("keras", "tensorflow", "tf_keras"):
        return None, None
    return name.replace("_", "").lower(), answer if not isinstance(answer, type) else None


def _from_logits(instance) -> bool:
    """True if a Keras loss instance was built with from_logits=True (False when it cannot tell)."""
    try:
        return bool(instance.get_config().get("from_logits", False))
    except Exception:
        return bool(getattr(instance, "_fn_kwargs", {}).get("from_logits", False))


@_never_raise("Exercise 2")
def lesson03_sparse_loss(answer) -> None:
    """Exercise 03.2: the Keras loss for integer class labels.

    Correct forms: the name ``"sparse_categorical_crossentropy"`` (or ``"SparseCategoricalCrossentropy"``),
    ``keras.losses.SparseCategoricalCrossentropy`` (the class or an instance with probabilities, i.e.
    ``from_logits=False``) and the function ``keras.losses.sparse_categorical_crossentropy``.
    """
    exercise = "Exercise 2"
    if _remind_if_not_started(exercise, answer):
        return
    key, loss = _loss_key(answer)
    if key == _SPARSE:
        if loss is not None and hasattr(loss, "get_config") and _from_logits(loss):
            print(f"{exercise}: not yet — the right loss, but from_logits=True expects raw scores; the "
                  "next_category head ends in a softmax, so its outputs are probabilities (from_logits=False).")
            return
        print(f"{exercise}: correct ✓")
        return
    if key in _NEAR_MISSES:
        print(f"{exercise}: not yet — {_NEAR_MISSES[key]}. Class indices go with the *sparse* categorical cross-entropy.")
        return
    shown = repr(answer) if isinstance(answer, (str, int, float)) else type(answer).__name__
    print(f"{exercise}: not yet — {shown[:60]} is not a Keras loss for class indices. Give the loss's name "
          "(a string) or the Keras loss itself; class indices go with the *sparse* categorical cross-entropy, "
          "categorical_crossentropy expects one-hot rows.")
