"""Exercise checks for lesson 06 (see the package docstring for the contract).

Every check prints one line of feedback and never raises, whatever the answer is (an int, a float
such as ``65.0``, a NumPy scalar or one-element array, a PyTorch or TensorFlow tensor, a string such
as ``"1,495"``, None, a list, ...).
"""
from __future__ import annotations

import numpy as np

from .. import data as D
from ._feedback import _plain, feedback

__all__ = ["lesson06_head_parameters", "lesson06_target_shoppers"]


def _as_count(answer):
    """A one-element array, tensor or list as its value; a string that spells a number (``"65"``,
    ``"1,495"``, ``"1_495"``) as that number; any other answer unchanged (the feedback line handles it)."""
    answer = _plain(answer)
    if isinstance(answer, (list, tuple)) and len(answer) == 1:
        answer = _plain(answer[0])
    if isinstance(answer, np.ndarray) and answer.size == 1 and answer.dtype.kind in "iuf":
        return answer.reshape(()).item()
    if isinstance(answer, (str, bytes)):
        text = answer.decode(errors="replace") if isinstance(answer, bytes) else answer
        try:
            return float(text.strip().replace(",", "").replace("_", "").replace(" ", ""))
        except ValueError:
            return answer
    return answer


def _safely(exercise: str, check) -> None:
    """Run ``check``; if anything goes wrong, print a feedback line instead of raising."""
    try:
        check()
    except Exception as error:  # a check never raises
        print(f"{exercise}: could not check this answer ({type(error).__name__}). "
              "Give a single whole number and pass the objects the exercise cell names.")


def lesson06_head_parameters(answer, bottom: tuple[int, ...] = (128, 64)) -> None:
    """Exercise 06.1: trainable parameters of a binary head on a frozen extractor with ``bottom``."""
    def check() -> None:
        expected = int(bottom[-1]) + 1
        feedback("Exercise 1", _as_count(answer), expected, rel_tol=0.0,
                 hint="Only the head trains: one weight per unit of the last shared layer, plus one bias.")
    _safely("Exercise 1", check)


def lesson06_target_shoppers(answer, target: D.Shop) -> None:
    """Exercise 06.2: distinct target shoppers with at least one impression in the target's training split."""
    def check() -> None:
        if answer is None or answer is Ellipsis:  # not started: no need to touch the data
            feedback("Exercise 2", answer, 0)
            return
        split = D.chronological_split(D.join_features(target))
        expected = int(split.train["user_id"].nunique())
        feedback("Exercise 2", _as_count(answer), expected, rel_tol=0.0,
                 hint="Split the target's joined table with data.chronological_split and count the distinct user_id "
                      "values of the training part.")
    _safely("Exercise 2", check)
