"""Exercise checks for lesson 05 (see the package docstring for the contract).

Both checks accept every correct form of an answer and never raise:

* a number may be a Python or NumPy number, a 0-d or one-element array or list, or a PyTorch /
  TensorFlow / Keras tensor or variable (also one that requires grad);
* DWA's weights may be a dict (or a pandas Series) task → weight with any of those as values,
  or a sequence, array or tensor of two numbers in the order of the exercise's tasks
  (purchase, rating).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np

from ._feedback import _close, _plain, _remind_if_not_started, _safely

__all__ = ["LESSON05_UNCERTAINTY", "LESSON05_LOSS_HISTORY", "lesson05_uncertainty_objective", "lesson05_dwa_weights"]


LESSON05_UNCERTAINTY = {"losses": {"purchase": 0.05, "rating": 0.8}, "log_variances": {"purchase": -2.0, "rating": 0.5}}
"""Exercise 05.1: two task losses and their log-variances s = log σ²."""
LESSON05_LOSS_HISTORY = [{"purchase": 0.060, "rating": 0.95}, {"purchase": 0.045, "rating": 0.90}]
"""Exercise 05.2: two epochs of average training losses, oldest first."""


def _numbers(answer) -> np.ndarray | None:
    """``answer`` as a flat float array (a tensor, even one requiring grad, included); None if it
    is not numeric (strings, bools, objects, ragged lists)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = _plain(answer)
            if isinstance(value, (str, bytes, bool, np.bool_)) or value is None:
                return None
            if isinstance(value, (list, tuple)):
                value = [_plain(item) for item in value]
                if any(isinstance(item, (str, bytes, bool, np.bool_)) or item is None for item in value):
                    return None
            array = np.asarray(value)
            if array.dtype == object or not (np.issubdtype(array.dtype, np.integer)
                                             or np.issubdtype(array.dtype, np.floating)):
                return None
            return array.astype(np.float64).ravel()
    except Exception:  # a check never raises
        return None


def _number(answer) -> float | None:
    """One number from ``answer`` (see :func:`_numbers`), or None."""
    values = _numbers(answer)
    return float(values[0]) if values is not None and values.size == 1 else None


def lesson05_uncertainty_objective(answer) -> None:
    """Exercise 05.1: Kendall et al.'s objective for :data:`LESSON05_UNCERTAINTY`."""
    _safely("Exercise 1", lambda: _check_uncertainty(answer), "; expected a number.", detail=0)


def _check_uncertainty(answer) -> None:
    from ..weighting import uncertainty_objective

    hint = ("purchase is a classification task: e^{-s}·L + s/2; rating is a regression task: "
            "½·e^{-s}·L + s/2.")
    if _remind_if_not_started("Exercise 1", answer):
        return
    expected = uncertainty_objective(**LESSON05_UNCERTAINTY)
    value = _number(answer)
    if value is None:
        print(f"Exercise 1: expected one number, got {type(answer).__name__}. {hint}")
        return
    if _close(value, expected):
        print("Exercise 1: correct ✓")
        return
    losses, s = LESSON05_UNCERTAINTY["losses"], LESSON05_UNCERTAINTY["log_variances"]
    mistakes = {
        "the ½ in front of e^{-s}·L belongs to the regression task (rating) only":
            sum(0.5 * math.exp(-s[t]) * losses[t] + 0.5 * s[t] for t in losses),
        "the regression task (rating) has a ½ in front of e^{-s}·L":
            sum(math.exp(-s[t]) * losses[t] + 0.5 * s[t] for t in losses),
        "the regulariser is log σ = s/2, not s":
            math.exp(-s["purchase"]) * losses["purchase"] + s["purchase"]
            + 0.5 * math.exp(-s["rating"]) * losses["rating"] + s["rating"],
        "the weight is e^{-s} = 1/σ², not e^{s}":
            math.exp(s["purchase"]) * losses["purchase"] + 0.5 * s["purchase"]
            + 0.5 * math.exp(s["rating"]) * losses["rating"] + 0.5 * s["rating"],
    }
    for mistake, wrong in mistakes.items():
        if _close(value, wrong):
            print(f"Exercise 1: not yet — {mistake}.")
            return
    print(f"Exercise 1: not yet — {value!r} is not the expected value. {hint}")


def lesson05_dwa_weights(answer) -> None:
    """Exercise 05.2: DWA's weights (T = 2) after :data:`LESSON05_LOSS_HISTORY`, as a dict task → weight."""
    _safely("Exercise 2", lambda: _check_dwa(answer), "; expected a dict task → weight.", detail=0)


def _check_dwa(answer) -> None:
    from ..weighting import dwa_weights

    if _remind_if_not_started("Exercise 2", answer):
        return
    expected = dwa_weights(LESSON05_LOSS_HISTORY, temperature=2.0)
    tasks = list(LESSON05_LOSS_HISTORY[-1])
    if isinstance(answer, Mapping) or hasattr(answer, "index") and hasattr(answer, "to_dict"):
        given = dict(answer.items()) if isinstance(answer, Mapping) else answer.to_dict()
        if not isinstance(given, dict) or set(given) != set(tasks):
            print(f"Exercise 2: expected a dict with the keys {sorted(tasks)}, got the keys "
                  f"{sorted(map(str, given))}." if isinstance(given, dict) else
                  f"Exercise 2: expected a dict with the keys {sorted(tasks)}.")
            return
        values = [_number(given[task]) for task in tasks]
    else:
        numbers = _numbers(answer)
        if numbers is None or numbers.size != len(tasks):
            print(f"Exercise 2: expected a dict task → weight with the keys {sorted(tasks)}, "
                  f"got {type(answer).__name__}.")
            return
        values = numbers.tolist()  # in the exercise's task order
    if any(v is None for v in values):
        print("Exercise 2: expected a number as each task's weight.")
        return
    want = [expected[task] for task in tasks]
    if all(_close(v, w) for v, w in zip(values, want)):
        print("Exercise 2: correct ✓")
        return
    k = len(tasks)
    ratios = np.array([LESSON05_LOSS_HISTORY[-1][t] / LESSON05_LOSS_HISTORY[-2][t] for t in tasks])
    inverse = np.exp((1 / ratios) / 2.0)
    mistakes = {
        "the weights sum to 1: DWA multiplies the softmax by K, the number of tasks":
            [w / k for w in want],
        f"the weights are swapped: the order of the tasks is {tasks}":
            want[::-1],
        "r_k = L_k(last epoch) / L_k(the epoch before), not the other way round":
            (k * inverse / inverse.sum()).tolist(),
        "divide the ratios by the temperature T = 2 before the softmax":
            (k * np.exp(ratios) / np.exp(ratios).sum()).tolist(),
    }
    for mistake, wrong in mistakes.items():
        if all(_close(v, w) for v, w in zip(values, wrong)):
            print(f"Exercise 2: not yet — {mistake}.")
            return
    print("Exercise 2: not yet — r_k = L_k(last) / L_k(before last); λ_k = K·exp(r_k/T) / Σ_i exp(r_i/T), K = 2, T = 2.")
