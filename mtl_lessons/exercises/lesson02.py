"""Exercise checks for lesson 02 (see the package docstring for the contract).

Every check prints one line of feedback and never raises, whatever the answer is (a number, a NumPy
scalar or array, a PyTorch or TensorFlow tensor, a string such as ``"12,460"``, None, ...).
"""
from __future__ import annotations

from sklearn.metrics import roc_auc_score

from .. import data as D
from ..baselines import popularity_scores
from ..mtl_core import embedding_dims
from ._feedback import _as_number, _safely, feedback

__all__ = ["lesson02_popularity_auc", "lesson02_lr_parameters"]


# what a check adds after "could not check this answer (<error>)"
_GIVE_A_NUMBER = ". Give a single number and pass the objects the exercise cell names."


def lesson02_popularity_auc(answer, shop: D.Shop) -> None:
    """Exercise 02.1: test AUC of the popularity baseline (smoothing 100) on add_to_cart (加购).

    Accepted: the AUC as a number within 0.6 % (so 0.68 as well as 0.6768), in any numeric form.
    """
    def check() -> None:
        split = D.chronological_split(D.join_features(shop))
        expected = roc_auc_score(split.test["add_to_cart"], popularity_scores(split.train, split.test, "add_to_cart"))
        feedback("Exercise 1", _as_number(answer), float(expected), rel_tol=6e-3,
                 hint="Score split.test with popularity_scores(split.train, split.test, 'add_to_cart') "
                      "and compare with split.test['add_to_cart'] using roc_auc_score.")
    _safely("Exercise 1", check, _GIVE_A_NUMBER, detail=None)


def lesson02_lr_parameters(answer, cardinalities: dict[str, int]) -> None:
    """Exercise 02.2: parameters of the logistic regression (user_id embedding of size 1).

    Accepted: the exact count, as an int, a float, a NumPy or framework scalar or a string
    (``"12460"``, ``"12,460"``).
    """
    def check() -> None:
        dims = embedding_dims(cardinalities, {"user_id": 1})
        n_numeric = len(D.NUMERIC_FEATURES)
        expected = sum(cardinalities[f] * d for f, d in dims.items()) + (sum(dims.values()) + n_numeric) + 1
        feedback("Exercise 2", _as_number(answer), int(expected), rel_tol=0.0,
                 hint="Sum ids × size over the embedding tables, then add one weight per input of the "
                      "output unit (all embedding sizes + 6 numeric) and its bias.")
    _safely("Exercise 2", check, _GIVE_A_NUMBER, detail=None)
