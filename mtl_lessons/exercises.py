"""Feedback for the lessons' exercises.

Each check compares a learner's answer with the value the course data gives (computed here,
never typed in), prints one line of feedback, and never raises: an exercise the learner has
not started (its answer still ``...`` or ``None``) gets a reminder instead of an error.
Checks return ``None`` so that a notebook cell shows the feedback line and nothing else.
"""
from __future__ import annotations

import math

import numpy as np

from sklearn.metrics import roc_auc_score

from . import data as D
from .baselines import popularity_scores
from .mtl_core import embedding_dims

__all__ = ["feedback", "lesson01_cart_to_purchase", "lesson01_oracle_auc_cart", "lesson01_price_sensitive_tier",
           "lesson02_popularity_auc", "lesson02_lr_parameters", "lesson03_parameters_saved",
           "lesson03_sparse_loss", "LESSON04_TOWERS", "lesson04_coupling_penalty", "lesson04_coupling_gradient",
           "LESSON05_UNCERTAINTY", "lesson05_uncertainty_objective", "LESSON05_LOSS_HISTORY", "lesson05_dwa_weights",
           "lesson06_head_parameters", "lesson06_target_shoppers"]


def _plain(answer):
    """A framework tensor (even one that requires grad) as a NumPy value; anything else unchanged."""
    try:
        if hasattr(answer, "detach"):
            answer = answer.detach()
        if hasattr(answer, "numpy") and not isinstance(answer, np.ndarray):
            answer = answer.numpy()
    except Exception:  # a check never raises
        return answer
    return answer.item() if isinstance(answer, np.ndarray) and answer.ndim == 0 else answer


def _not_started(answer) -> bool:
    return answer is None or answer is Ellipsis


def feedback(exercise: str, answer, expected, *, rel_tol: float = 1e-3, hint: str = "") -> None:
    """Print whether ``answer`` matches ``expected`` (numbers within ``rel_tol``, else equality):
    a line with "correct ✓", "not yet — …" or "not started yet — …"."""
    if _not_started(answer):
        print(f"{exercise}: not started yet — replace ... with your answer and run the cell again.")
        return
    answer = _plain(answer)
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        try:
            value = float(answer)
        except (TypeError, ValueError, RuntimeError):
            print(f"{exercise}: expected a number, got {type(answer).__name__}. {hint}".rstrip())
            return
        right = math.isclose(value, float(expected), rel_tol=rel_tol, abs_tol=1e-12)
    else:
        right = answer == expected
    if right:
        print(f"{exercise}: correct ✓")
    else:
        print(f"{exercise}: not yet — {answer!r} is not the expected value. {hint}".rstrip())


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
LESSON04_LAMBDA = 0.25
"""Exercise 04.1–2: the coupling strength λ."""


def _lesson04_arrays():
    import numpy as np

    return {task: np.asarray(kernel, dtype=float) for task, kernel in LESSON04_TOWERS.items()}


def lesson04_coupling_penalty(answer) -> None:
    """Exercise 04.1: λ‖W_click − W_purchase‖² for :data:`LESSON04_TOWERS` and λ = :data:`LESSON04_LAMBDA`."""
    towers = _lesson04_arrays()
    expected = LESSON04_LAMBDA * float(((towers["click"] - towers["purchase"]) ** 2).sum())
    feedback("Exercise 1", answer, expected,
             hint=f"Subtract the kernels entry by entry, square, sum, and multiply by λ = {LESSON04_LAMBDA}.")


def lesson04_coupling_gradient(answer) -> None:
    """Exercise 04.2: ∂/∂W_click of λ‖W_click − W_purchase‖², a 2 × 2 array."""
    import numpy as np

    if _not_started(answer):
        feedback("Exercise 2", answer, None)
        return
    towers = _lesson04_arrays()
    expected = 2 * LESSON04_LAMBDA * (towers["click"] - towers["purchase"])
    try:
        value = np.asarray(_plain(answer), dtype=float)
    except Exception:  # a check never raises
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
    elif np.allclose(value, expected / (2 * LESSON04_LAMBDA), rtol=1e-3, atol=1e-9):
        print(f"Exercise 2: not yet — that is W_click − W_purchase itself: multiply by 2λ = {2 * LESSON04_LAMBDA}.")
    else:
        print("Exercise 2: not yet — differentiate λ Σ (W_click − W_purchase)² entry by entry.")


LESSON05_UNCERTAINTY = {"losses": {"purchase": 0.05, "rating": 0.8}, "log_variances": {"purchase": -2.0, "rating": 0.5}}
"""Exercise 05.1: two task losses and their log-variances s = log σ²."""
LESSON05_LOSS_HISTORY = [{"purchase": 0.060, "rating": 0.95}, {"purchase": 0.045, "rating": 0.90}]
"""Exercise 05.2: two epochs of average training losses, oldest first."""


def lesson05_uncertainty_objective(answer) -> None:
    """Exercise 05.1: Kendall et al.'s objective for :data:`LESSON05_UNCERTAINTY`."""
    from .weighting import uncertainty_objective

    expected = uncertainty_objective(**LESSON05_UNCERTAINTY)
    losses, s = LESSON05_UNCERTAINTY["losses"], LESSON05_UNCERTAINTY["log_variances"]
    mistakes = {
        "the ½ in front of e^{-s}·L belongs to the regression task (rating) only":
            sum(0.5 * math.exp(-s[t]) * losses[t] + 0.5 * s[t] for t in losses),
        "the regression task (rating) has a ½ in front of e^{-s}·L":
            sum(math.exp(-s[t]) * losses[t] + 0.5 * s[t] for t in losses),
        "the regulariser is log σ = s/2, not s":
            math.exp(-s["purchase"]) * losses["purchase"] + s["purchase"]
            + 0.5 * math.exp(-s["rating"]) * losses["rating"] + s["rating"],
    }
    value = _plain(answer)
    for hint, wrong in mistakes.items():
        if not _not_started(value) and isinstance(value, (int, float)) and math.isclose(float(value), wrong, rel_tol=1e-3):
            print(f"Exercise 1: not yet — {hint}.")
            return
    feedback("Exercise 1", answer, expected,
             hint="purchase is a classification task: e^{-s}·L + s/2; rating is a regression task: "
                  "½·e^{-s}·L + s/2.")


def lesson05_dwa_weights(answer) -> None:
    """Exercise 05.2: DWA's weights (T = 2) after :data:`LESSON05_LOSS_HISTORY`, as a dict task → weight."""
    from .weighting import dwa_weights

    if _not_started(answer):
        feedback("Exercise 2", answer, None)
        return
    expected = dwa_weights(LESSON05_LOSS_HISTORY, temperature=2.0)
    if not isinstance(answer, dict) or set(answer) != set(expected):
        print(f"Exercise 2: expected a dict with the keys {sorted(expected)}, got {answer!r}.")
        return
    try:
        close = all(math.isclose(float(answer[t]), expected[t], rel_tol=1e-3) for t in expected)
    except (TypeError, ValueError):
        print("Exercise 2: expected numbers as the dict's values.")
        return
    if close:
        print("Exercise 2: correct ✓")
    elif all(math.isclose(float(answer[t]), expected[t] / len(expected), rel_tol=1e-3) for t in expected):
        print("Exercise 2: not yet — the weights sum to 1: DWA multiplies the softmax by K, the number of tasks.")
    else:
        print("Exercise 2: not yet — r_k = L_k(last) / L_k(before last); λ_k = K·exp(r_k/T) / Σ_i exp(r_i/T), K = 2, T = 2.")


def lesson06_head_parameters(answer, bottom: tuple[int, ...] = (128, 64)) -> None:
    """Exercise 06.1: trainable parameters of a binary head on a frozen extractor with ``bottom``."""
    expected = bottom[-1] + 1
    feedback("Exercise 1", answer, expected,
             hint="Only the head trains: one weight per unit of the last shared layer, plus one bias.")


def lesson06_target_shoppers(answer, target: D.Shop) -> None:
    """Exercise 06.2: distinct target shoppers with at least one impression in the target's training split."""
    split = D.chronological_split(D.join_features(target))
    expected = int(split.train["user_id"].nunique())
    feedback("Exercise 2", answer, expected, rel_tol=0.0,
             hint="Split the target's joined table with data.chronological_split and count the distinct user_id "
                  "values of the training part.")
