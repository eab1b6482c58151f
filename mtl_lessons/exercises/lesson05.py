"""Exercise checks for lesson 05 (see the package docstring for the contract)."""
from __future__ import annotations

import math

from ._feedback import _not_started, _plain, feedback

__all__ = ["LESSON05_UNCERTAINTY", "LESSON05_LOSS_HISTORY", "lesson05_uncertainty_objective", "lesson05_dwa_weights"]


LESSON05_UNCERTAINTY = {"losses": {"purchase": 0.05, "rating": 0.8}, "log_variances": {"purchase": -2.0, "rating": 0.5}}
"""Exercise 05.1: two task losses and their log-variances s = log σ²."""
LESSON05_LOSS_HISTORY = [{"purchase": 0.060, "rating": 0.95}, {"purchase": 0.045, "rating": 0.90}]
"""Exercise 05.2: two epochs of average training losses, oldest first."""


def lesson05_uncertainty_objective(answer) -> None:
    """Exercise 05.1: Kendall et al.'s objective for :data:`LESSON05_UNCERTAINTY`."""
    from ..weighting import uncertainty_objective

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
    from ..weighting import dwa_weights

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
