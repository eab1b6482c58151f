"""Exercise checks for lesson 02 (see the package docstring for the contract)."""
from __future__ import annotations

from sklearn.metrics import roc_auc_score

from .. import data as D
from ..baselines import popularity_scores
from ..mtl_core import embedding_dims
from ._feedback import feedback

__all__ = ["lesson02_popularity_auc", "lesson02_lr_parameters"]


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
