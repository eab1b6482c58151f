"""Exercise checks for lesson 06 (see the package docstring for the contract)."""
from __future__ import annotations

from .. import data as D
from ._feedback import feedback

__all__ = ["lesson06_head_parameters", "lesson06_target_shoppers"]


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
