"""Exercise checks for lesson 04 (see the package docstring for the contract)."""
from __future__ import annotations

import numpy as np

from ._feedback import _not_started, _plain, feedback

__all__ = ["LESSON04_TOWERS", "LESSON04_LAMBDA", "lesson04_coupling_penalty", "lesson04_coupling_gradient"]


LESSON04_TOWERS = {
    "click": [[1.0, 2.0], [0.0, 1.0]],
    "purchase": [[0.0, 2.0], [1.0, 3.0]],
}
"""Exercise 04.1–2: the one-layer kernels of two tiny towers (no biases)."""
LESSON04_LAMBDA = 0.25
"""Exercise 04.1–2: the coupling strength λ."""


def _lesson04_arrays():
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
