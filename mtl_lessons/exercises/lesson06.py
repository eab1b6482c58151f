"""Exercise checks for lesson 06 (see the package docstring for the contract).

Every check prints one line of feedback and never raises, whatever the answer is (an int, a float
such as ``65.0``, a NumPy scalar or one-element array, a PyTorch or TensorFlow tensor, a string such
as ``"1,495"``, None, a list, ...).
"""
from __future__ import annotations

from .. import data as D
from ._feedback import _as_number, _plain, _remind_if_not_started, _safely, feedback

__all__ = ["lesson06_head_parameters", "lesson06_target_shoppers"]


def _as_count(answer):
    """A one-element list or tuple as its element, then as :func:`_as_number` reads it (``"65"``,
    ``"1,495"``, ``"1_495"``, a one-element array or tensor as that number; anything else unchanged)."""
    answer = _plain(answer)
    if isinstance(answer, (list, tuple)) and len(answer) == 1:
        answer = answer[0]
    return _as_number(answer)


# what a check adds after "could not check this answer (<error>)"
_GIVE_A_COUNT = ". Give a single whole number and pass the objects the exercise cell names."


def lesson06_head_parameters(answer, bottom: tuple[int, ...] = (128, 64)) -> None:
    """Exercise 06.1: trainable parameters of a binary head on a frozen extractor with ``bottom``."""
    def check() -> None:
        expected = int(bottom[-1]) + 1
        feedback("Exercise 1", _as_count(answer), expected, rel_tol=0.0,
                 hint="Only the head trains: one weight per unit of the last shared layer, plus one bias.")
    _safely("Exercise 1", check, _GIVE_A_COUNT, detail=0)


def lesson06_target_shoppers(answer, target: D.Shop) -> None:
    """Exercise 06.2: distinct target shoppers with at least one impression in the target's training split."""
    def check() -> None:
        if _remind_if_not_started("Exercise 2", answer):  # no need to touch the data
            return
        split = D.chronological_split(D.join_features(target))
        expected = int(split.train["user_id"].nunique())
        feedback("Exercise 2", _as_count(answer), expected, rel_tol=0.0,
                 hint="Split the target's joined table with data.chronological_split and count the distinct user_id "
                      "values of the training part.")
    _safely("Exercise 2", check, _GIVE_A_COUNT, detail=0)
