"""Exercise checks for lesson 04 (see the package docstring for the contract).

Both checks accept every correct form of the answer — a Python number, a NumPy scalar or array, a
one-element list, a numeric string, a PyTorch or TensorFlow tensor (also one that requires grad), a
nested list of tensors — and never raise, whatever they are given.
"""
from __future__ import annotations

import math

import numpy as np

from ._feedback import _plain, _remind_if_not_started, _safely

__all__ = ["LESSON04_TOWERS", "LESSON04_LAMBDA", "lesson04_coupling_penalty", "lesson04_coupling_gradient"]


LESSON04_TOWERS = {
    "click": [[1.0, 2.0], [0.0, 1.0]],
    "purchase": [[0.0, 2.0], [1.0, 3.0]],
}
"""Exercise 04.1–2: the one-layer kernels of two tiny towers (no biases)."""
LESSON04_LAMBDA = 0.25
"""Exercise 04.1–2: the coupling strength λ."""


def _lesson04_arrays() -> dict[str, np.ndarray]:
    return {task: np.asarray(kernel, dtype=float) for task, kernel in LESSON04_TOWERS.items()}


def _as_array(answer) -> np.ndarray | None:
    """``answer`` as a float array, or None if it is not made of numbers (never raises).

    Tensors (even ones that require grad) are detached first; lists and tuples are converted
    element by element, so a list of tensors works too; a string is parsed as a number.
    """
    try:
        value = _plain(answer)
        if isinstance(value, (str, bytes)):
            return np.asarray(float(value.strip()), dtype=float)
        if isinstance(value, (list, tuple)):
            parts = [_as_array(part) for part in value]
            if any(part is None for part in parts):
                return None
            return np.asarray(np.stack(parts), dtype=float) if parts else None
        if isinstance(value, (dict, set, frozenset)) or value is None or value is Ellipsis:
            return None
        array = np.asarray(value, dtype=float)
        return array if array.dtype == float else None
    except Exception:  # a check never raises: anything that is not numbers is "not numbers"
        return None


def _close(value: np.ndarray, expected: np.ndarray | float) -> bool:
    return bool(np.allclose(value, expected, rtol=1e-3, atol=1e-6))


def _coupling_penalty(answer) -> None:
    name = "Exercise 1"
    if _remind_if_not_started(name, answer):
        return
    value = _as_array(answer)
    if value is None or value.size != 1:
        shape = "" if value is None else f" of shape {value.shape}"
        print(f"{name}: expected one number, got {type(answer).__name__}{shape}. "
              "The penalty λ‖W_click − W_purchase‖² is a single number.")
        return
    number = float(value.reshape(-1)[0])
    towers = _lesson04_arrays()
    difference = towers["click"] - towers["purchase"]
    squared = float((difference ** 2).sum())
    expected = LESSON04_LAMBDA * squared
    slips = {
        "multiply by λ = 0.25: that is ‖W_click − W_purchase‖² alone": squared,
        "the penalty uses the *squared* norm: do not take the square root": LESSON04_LAMBDA * math.sqrt(squared),
        "square each difference before summing (the signs must not cancel)": LESSON04_LAMBDA * float(difference.sum()),
        "with two towers there is one pair (t < s): count it once, not twice": 2 * expected,
        "that is the norm penalty λ(‖W_click‖² + ‖W_purchase‖²), weight decay, not the coupling":
            LESSON04_LAMBDA * float((towers["click"] ** 2).sum() + (towers["purchase"] ** 2).sum()),
    }
    if not math.isfinite(number):
        print(f"{name}: not yet — {number!r} is not a finite number.")
    elif math.isclose(number, expected, rel_tol=1e-3):
        print(f"{name}: correct ✓")
    else:
        for hint, wrong in slips.items():
            if math.isclose(number, wrong, rel_tol=1e-3):
                print(f"{name}: not yet — {hint}.")
                return
        print(f"{name}: not yet — {number:g} is not the expected value. Subtract the kernels entry by entry, "
              f"square, sum, and multiply by λ = {LESSON04_LAMBDA}.")


def lesson04_coupling_penalty(answer) -> None:
    """Exercise 04.1: λ‖W_click − W_purchase‖² for :data:`LESSON04_TOWERS` and λ = :data:`LESSON04_LAMBDA`.

    Prints one line of feedback and returns None; never raises.
    """
    _safely("Exercise 1", lambda: _coupling_penalty(answer),
            instead="could not read that answer: give one number, e.g. 1.23.")


def _coupling_gradient(answer) -> None:
    name = "Exercise 2"
    if _remind_if_not_started(name, answer):
        return
    towers = _lesson04_arrays()
    expected = 2 * LESSON04_LAMBDA * (towers["click"] - towers["purchase"])
    value = _as_array(answer)
    if value is None:
        print(f"{name}: expected a 2 × 2 array of numbers, got {type(answer).__name__}.")
        return
    if value.size == expected.size and value.shape != expected.shape:
        value = value.reshape(expected.shape)  # e.g. the four entries row by row
        note = " (read row by row as a 2 × 2 array)"
    else:
        note = ""
    if value.shape != expected.shape:
        print(f"{name}: expected a 2 × 2 array, got shape {value.shape}.")
    elif not np.all(np.isfinite(value)):
        print(f"{name}: not yet — the gradient has only finite entries.")
    elif _close(value, expected):
        print(f"{name}: correct ✓{note}")
    elif _close(value, -expected):
        print(f"{name}: not yet — check the sign: the gradient points from W_purchase towards W_click, "
              "so a descent step moves W_click towards W_purchase.")
    elif _close(value, expected.T):
        print(f"{name}: not yet — that is the transpose: entry (i, j) is ∂Ω/∂W_click[i, j].")
    elif _close(value, expected / 2):
        print(f"{name}: not yet — the derivative of x² is 2x: did you forget the factor 2?")
    elif _close(value, expected / (2 * LESSON04_LAMBDA)):
        print(f"{name}: not yet — that is W_click − W_purchase itself: multiply by 2λ = {2 * LESSON04_LAMBDA}.")
    elif _close(value, 2 * LESSON04_LAMBDA * towers["click"]):
        print(f"{name}: not yet — that is the gradient of the norm penalty λ‖W_click‖² (weight decay); "
              "differentiate the coupling λ‖W_click − W_purchase‖².")
    else:
        print(f"{name}: not yet — differentiate λ Σ (W_click − W_purchase)² entry by entry.")


def lesson04_coupling_gradient(answer) -> None:
    """Exercise 04.2: ∂/∂W_click of λ‖W_click − W_purchase‖², a 2 × 2 array (or its four entries row by row).

    Prints one line of feedback and returns None; never raises.
    """
    _safely("Exercise 2", lambda: _coupling_gradient(answer),
            instead="could not read that answer: give a 2 × 2 list or array of numbers.")
