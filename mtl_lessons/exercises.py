"""Feedback for the lessons' exercises.

Each check compares a learner's answer with the value the course data gives (computed here,
never typed in), prints one line of feedback, and never raises: an exercise the learner has
not started (its answer still ``...`` or ``None``) gets a reminder instead of an error.
Checks return ``None`` so that a notebook cell shows the feedback line and nothing else.
"""
from __future__ import annotations

import math

from sklearn.metrics import roc_auc_score

from . import data as D
from .baselines import popularity_scores
from .mtl_core import embedding_dims

__all__ = ["feedback", "lesson01_cart_to_purchase", "lesson01_oracle_auc_cart", "lesson01_price_sensitive_tier",
           "lesson02_popularity_auc", "lesson02_lr_parameters", "lesson03_parameters_saved",
           "lesson03_sparse_loss", "LESSON04_TOWERS", "lesson04_coupling_penalty", "lesson04_coupling_gradient"]


def _not_started(answer) -> bool:
    return answer is None or answer is Ellipsis


def feedback(exercise: str, answer, expected, *, rel_tol: float = 1e-3, hint: str = "") -> None:
    """Print whether ``answer`` matches ``expected`` (numbers within ``rel_tol``, else equality):
    a line with "correct ✓", "not yet — …" or "not started yet — …"."""
    if _not_started(answer):
        print(f"{exercise}: not started yet — replace ... with your answer and run the cell again.")
        return
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        try:
            value = float(answer)
        except (TypeError, ValueError):
            print(f"{exercise}: expected a number, got {type(answer).__name__}. {hint}".rstrip())
            return
        right = math.isclose(value, float(expected), rel_tol=rel_tol, abs_tol=1e-12)
    else:
        right = answer == expected
    if right:
        print(f"{exercise}: correct ✓")
    else:
        print(f"{exercise}: not yet — {answer!r} is not what the data gives. {hint}".rstrip())


def lesson01_cart_to_purchase(answer, shop: D.Shop) -> None:
    """Exercise 01.1: purchases / add-to-carts on the training split."""
    train = D.chronological_split(shop.impressions).train
    expected = train["purchase"].sum() / train["add_to_cart"].sum()
    feedback("Exercise 1", answer, expected,
                    hint="Divide the number of purchases by the number of add-to-carts, on split.train.")


def lesson01_oracle_auc_cart(answer, shop: D.Shop) -> None:
    """Exercise 01.2: the oracle's AUC on add_to_cart over the validation split."""
    valid = D.chronological_split(shop.impressions).valid
    oracle = shop.oracle.set_index("impression_id").loc[valid["impression_id"], "p_add_to_cart"]
    expected = roc_auc_score(valid["add_to_cart"], oracle)
    feedback("Exercise 2", answer, expected,
                    hint="Use roc_auc_score(labels, oracle p_add_to_cart) on the validation rows only.")


def lesson01_price_sensitive_tier(answer, shop: D.Shop) -> None:
    """Exercise 01.3: the city tier whose purchase rate drops most when items are expensive."""
    expected = int(D.price_sensitivity(shop, "city_tier").index[0])
    feedback("Exercise 3", answer, expected,
                    hint="Compare each city tier's purchase rate below and above the category median price.")


def lesson02_popularity_auc(answer, shop: D.Shop) -> None:
    """Exercise 02.1: test AUC of the popularity baseline (smoothing 100) on add_to_cart."""
    split = D.chronological_split(D.join_features(shop))
    expected = roc_auc_score(split.test["add_to_cart"], popularity_scores(split.train, split.test, "add_to_cart"))
    feedback("Exercise 1", answer, expected,
             hint="Score split.test with popularity_scores(split.train, split.test, 'add_to_cart') "
                  "and compare with split.test['add_to_cart'] using roc_auc_score.")


def lesson02_lr_parameters(answer, cardinalities: dict[str, int]) -> None:
    """Exercise 02.2: parameters of the logistic regression (user_id embedding of size 1)."""
    dims = embedding_dims(cardinalities, {"user_id": 1})
    n_numeric = len(D.NUMERIC_FEATURES)
    expected = sum(cardinalities[f] * d for f, d in dims.items()) + (sum(dims.values()) + n_numeric) + 1
    feedback("Exercise 2", answer, expected, rel_tol=0.0,
             hint="Sum ids × size over the embedding tables, then add one weight per input of the "
                  "output unit (all embedding sizes + 6 numeric) and its bias.")


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


LESSON04_TOWERS = {
    "click": [[1.0, 2.0], [0.0, 1.0]],
    "purchase": [[0.0, 2.0], [1.0, 3.0]],
}
"""Exercise 04.1–2: the one-layer kernels of two tiny towers (no biases)."""
LESSON04_LAMBDA = 0.5


def _lesson04_arrays():
    import numpy as np

    return {task: np.asarray(kernel, dtype=float) for task, kernel in LESSON04_TOWERS.items()}


def lesson04_coupling_penalty(answer) -> None:
    """Exercise 04.1: λ‖W_click − W_purchase‖² for :data:`LESSON04_TOWERS` and λ = 0.5."""
    towers = _lesson04_arrays()
    expected = LESSON04_LAMBDA * float(((towers["click"] - towers["purchase"]) ** 2).sum())
    feedback("Exercise 1", answer, expected,
             hint="Subtract the kernels entry by entry, square, sum, and multiply by λ = 0.5.")


def lesson04_coupling_gradient(answer) -> None:
    """Exercise 04.2: ∂/∂W_click of λ‖W_click − W_purchase‖², a 2 × 2 array."""
    import numpy as np

    if _not_started(answer):
        feedback("Exercise 2", answer, None)
        return
    towers = _lesson04_arrays()
    expected = 2 * LESSON04_LAMBDA * (towers["click"] - towers["purchase"])
    try:
        value = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        print(f"Exercise 2: expected a 2 × 2 array of numbers, got {type(answer).__name__}.")
        return
    if value.shape != expected.shape:
        print(f"Exercise 2: expected a 2 × 2 array, got shape {value.shape}.")
    elif np.allclose(value, expected, rtol=1e-3, atol=1e-9):
        print("Exercise 2: correct ✓")
    elif np.allclose(value, -expected, rtol=1e-3, atol=1e-9):
        print("Exercise 2: not yet — check the sign: the gradient points from W_purchase towards W_click, "
              "so a descent step moves W_click towards W_purchase.")
    elif np.allclose(value, expected / 2, rtol=1e-3, atol=1e-9):
        print("Exercise 2: not yet — the derivative of x² is 2x: did you forget the factor 2?")
    else:
        print("Exercise 2: not yet — differentiate λ Σ (W_click − W_purchase)² entry by entry.")
