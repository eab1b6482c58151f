"""Exercise checks for lesson 01 (see the package docstring for the contract).

Every check prints one feedback line and never raises, whatever it is given (a number, a string,
an array, a tensor, a pandas object, ``None`` …): the whole body runs inside ``_never_raise``.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from .. import data as D
from ._feedback import _close, _never_raise, _not_started, _plain, _remind_if_not_started, feedback

__all__ = ["lesson01_cart_to_purchase", "lesson01_oracle_auc_cart", "lesson01_price_ratio_by_tier",
           "lesson01_price_sensitive_tier"]

# what a check adds after "could not check this answer (<error>)"
_GIVE_THE_VALUE = ". Give the value the exercise asks for."


def _number(answer) -> float | None:
    """``answer`` as one float (a number, a 0-d or one-element array or tensor, a numeric string), else None."""
    if _not_started(answer):
        return None
    answer = _plain(answer)
    if isinstance(answer, bool) or answer is None:
        return None
    if isinstance(answer, str):
        try:
            return float(answer.strip().strip("'\"").rstrip("%")) / (100 if answer.strip().endswith("%") else 1)
        except ValueError:
            return None
    if isinstance(answer, (pd.Series, pd.DataFrame)):
        answer = answer.to_numpy()
    try:
        values = np.asarray(answer, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        return None
    return float(values[0]) if values.size == 1 else None


def _describe(answer) -> str:
    shape = getattr(answer, "shape", None)
    return f"{type(answer).__name__} of shape {tuple(shape)}" if shape is not None else type(answer).__name__


@_never_raise("Exercise 1", _GIVE_THE_VALUE)
def lesson01_cart_to_purchase(answer, shop: D.Shop) -> None:
    """Exercise 01.1: purchases / add-to-carts on the training split."""
    train = D.chronological_split(shop.impressions).train
    expected = train["purchase"].sum() / train["add_to_cart"].sum()
    hint = "Divide the number of purchases by the number of add-to-carts, on split.train."
    value = _number(answer)
    if value is None:
        feedback("Exercise 1", answer, float(expected), hint=hint)
        return
    whole = shop.impressions["purchase"].sum() / shop.impressions["add_to_cart"].sum()
    if not _close(value, expected) and _close(value, 1 / expected):
        print(f"Exercise 1: not yet — {value:.4g} is add-to-carts ÷ purchases; turn the fraction over.")
    elif not _close(value, expected) and _close(value, whole):
        print(f"Exercise 1: not yet — {value:.4f} is the rate over the whole log; use the training split only.")
    else:
        feedback("Exercise 1", value, float(expected), hint=hint)


def _oracle_auc(shop: D.Shop, table: pd.DataFrame, task: str) -> float:
    oracle = shop.oracle_for(table)[D.TASKS[task].oracle].to_numpy()
    return float(roc_auc_score(table[task].to_numpy(), oracle))


@_never_raise("Exercise 2", _GIVE_THE_VALUE)
def lesson01_oracle_auc_cart(answer, shop: D.Shop) -> None:
    """Exercise 01.2: the oracle's AUC on add_to_cart over the validation split.

    Besides right and wrong it names the common slips: an AUC near 0.5 (labels and oracle rows not
    aligned), 1 − AUC (scores reversed), another split's or another task's AUC.
    """
    split = D.chronological_split(shop.impressions)
    expected = _oracle_auc(shop, split.valid, "add_to_cart")
    hint = "Use roc_auc_score(labels, oracle p_add_to_cart) on the validation rows only."
    if _remind_if_not_started("Exercise 2", answer):
        return
    value = _number(answer)
    if value is None:
        print(f"Exercise 2: expected a number (one AUC), got {_describe(_plain(answer))}. {hint}")
        return
    if _close(value, expected):
        print("Exercise 2: correct ✓")
        return
    if not 0.0 <= value <= 1.0:
        print(f"Exercise 2: not yet — {value!r} cannot be an AUC, which lies between 0 and 1. {hint}")
        return
    if abs(value - 0.5) < 0.05:
        print(f"Exercise 2: not yet — {value:.4f} is about 0.5, the AUC of random scores: your labels and oracle "
              "probabilities are probably not aligned (row i of the labels must meet row i's probability; "
              "shop.oracle is in the whole log's order and split.valid starts again at index 0). "
              "Take the oracle rows with shop.oracle_for(split.valid).")
        return
    if _close(value, 1 - expected):
        print(f"Exercise 2: not yet — {value:.4f} is 1 − the AUC: the scores are reversed "
              "(a higher probability must mean more likely to add to cart).")
        return
    for name, table in (("training", split.train), ("test", split.test), ("whole log", shop.impressions)):
        if _close(value, _oracle_auc(shop, table, "add_to_cart")):
            print(f"Exercise 2: not yet — {value:.4f} is the oracle's AUC on the {name} rows; use split.valid.")
            return
    for task in ("click", "purchase"):
        if _close(value, _oracle_auc(shop, split.valid, task)):
            print(f"Exercise 2: not yet — {value:.4f} is the oracle's AUC for {task}; the exercise asks for add_to_cart "
                  "(labels add_to_cart, scores p_add_to_cart).")
            return
    print(f"Exercise 2: not yet — {value!r} is not the expected value. {hint}")


def _price_ratios(shop: D.Shop, median_over: str, rows: pd.DataFrame | None = None) -> pd.Series:
    """Purchase rate below ÷ above the category's median price, per city tier (index 1, 2, 3).

    ``median_over``: ``"impressions"`` (median over the log's rows, as ``data.price_sensitivity``)
    or ``"items"`` (median over the catalogue).
    """
    table = D.join_features(shop) if rows is None else rows
    if median_over == "items":
        median = table["category"].map(shop.items.groupby("category", observed=True)["price"].median())
        median = median.astype(float)
    else:
        median = table.groupby("category", observed=True)["price"].transform("median")
    cheap = table["price"] < median
    rates = table.groupby([table["city_tier"], cheap], observed=True)["purchase"].mean().unstack()
    return (rates[True] / rates[False]).sort_index()


def _three_values(answer) -> tuple[np.ndarray | None, str]:
    """Three numbers in tier order 1, 2, 3 from a Series / dict (keyed by tier) or a sequence; else (None, why)."""
    answer = _plain(answer)
    if isinstance(answer, pd.DataFrame):
        ratio_columns = [c for c in answer.columns if "/" in str(c)]
        if answer.shape[1] == 1:
            answer = answer.iloc[:, 0]
        elif len(ratio_columns) == 1:
            answer = answer[ratio_columns[0]]
        else:
            return None, ("a table with several columns; give one value per tier "
                          "(e.g. rates[True] / rates[False])")
    if isinstance(answer, Mapping) and not isinstance(answer, pd.Series):
        answer = pd.Series(dict(answer))
    if isinstance(answer, pd.Series):
        try:
            keys = [int(float(str(k).lower().replace("tier", "").strip())) for k in answer.index]
        except ValueError:
            keys = []
        if sorted(keys) == [1, 2, 3]:
            answer = pd.Series(answer.to_numpy(), index=keys).sort_index()
        elif len(answer) != 3 or sorted(keys) != [0, 1, 2]:
            return None, f"a Series indexed by {list(answer.index)[:5]}; index it by the tiers 1, 2, 3"
        answer = answer.to_numpy()
    if isinstance(answer, (str, bytes)):
        return None, "text"
    try:
        values = np.asarray(answer, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        return None, _describe(answer)
    if values.size != 3:
        return None, f"{values.size} value(s)"
    return values, ""


@_never_raise("Exercise 3a", _GIVE_THE_VALUE)
def lesson01_price_ratio_by_tier(answer, shop: D.Shop) -> None:
    """Exercise 01.3a: per city tier, the purchase rate of items priced below their category's median
    price divided by that of items priced above it (all impressions).

    Accepts a Series or dict keyed by tier (1, 2, 3; any order) or three numbers in tier order, with
    the median taken over the log's rows or over the catalogue's items.
    """
    exercise = "Exercise 3a"
    if _remind_if_not_started(exercise, answer):
        return
    values, why = _three_values(answer)
    if values is None:
        print(f"{exercise}: expected three ratios, one per city tier (1, 2, 3), got {why}.")
        return
    forms = {median_over: _price_ratios(shop, median_over).to_numpy() for median_over in ("impressions", "items")}
    if any(np.allclose(values, expected, rtol=1e-3) for expected in forms.values()):
        print(f"{exercise}: correct ✓ (cheap ÷ expensive purchase rate: "
              + ", ".join(f"tier {t} {v:.3f}" for t, v in zip((1, 2, 3), values)) + ")")
        return
    for expected in forms.values():
        if np.allclose(values, 1 / expected, rtol=1e-3):
            print(f"{exercise}: not yet — these are expensive ÷ cheap; divide the rate of items priced below "
                  "the median by the rate of items priced above it.")
            return
        if np.allclose(np.sort(values), np.sort(expected), rtol=1e-3):
            print(f"{exercise}: not yet — the values are right but not in tier order 1, 2, 3 "
                  "(a Series indexed by city_tier keeps them in order).")
            return
    train = D.chronological_split(D.join_features(shop)).train
    if np.allclose(values, _price_ratios(shop, "impressions", train).to_numpy(), rtol=1e-3):
        print(f"{exercise}: not yet — these come from the training split; use every impression "
              "(data.join_features(shop)).")
        return
    print(f"{exercise}: not yet — these are not the expected ratios. Mark each impression cheap when its price "
          "is below its category's median price, then per city tier divide the purchase rate of cheap items "
          "by that of expensive ones.")


@_never_raise("Exercise 3b", _GIVE_THE_VALUE)
def lesson01_price_sensitive_tier(answer, shop: D.Shop) -> None:
    """Exercise 01.3b: the city tier whose purchase rate drops most when items are expensive."""
    expected = int(D.price_sensitivity(shop, "city_tier").index[0])
    hint = "Compare each city tier's purchase rate below and above the category median price."
    value = _number(answer)
    if value is None and isinstance(_plain(answer), str):
        digits = [c for c in _plain(answer) if c.isdigit()]
        value = float(digits[0]) if len(digits) == 1 else None
    if value is None or _not_started(answer):
        values, _ = _three_values(answer) if not _not_started(answer) else (None, "")
        if values is not None:
            print("Exercise 3b: expected one tier (1, 2 or 3), got three values; "
                  "take the tier with the largest ratio (e.g. ratios.idxmax()).")
            return
        feedback("Exercise 3b", answer, expected, hint=hint)
        return
    if value not in (1.0, 2.0, 3.0):
        print(f"Exercise 3b: not yet — {value:g} is not a city tier (1, 2 or 3). {hint}")
        return
    feedback("Exercise 3b", int(value), expected, hint=hint)
