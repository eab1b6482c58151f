"""Exercise checks for lesson 01 (see the package docstring for the contract)."""
from __future__ import annotations

from sklearn.metrics import roc_auc_score

from .. import data as D
from ._feedback import feedback

__all__ = ["lesson01_cart_to_purchase", "lesson01_oracle_auc_cart", "lesson01_price_sensitive_tier"]


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
