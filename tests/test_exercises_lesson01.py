"""Lesson 01's exercise checks accept every correct form, name common slips and never raise."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from mtl_lessons import data, exercises

ODD_INPUTS = [..., None, "text", "", 12345.0, -1, float("nan"), True, ["a", "list"], {"a": 1}, (1, 2),
              np.arange(3), np.array("x"), np.zeros((2, 2)), pd.Series([1.0, 2.0]), pd.DataFrame({"a": [1]}),
              object(), print, b"bytes"]
CHECKS = [exercises.lesson01_cart_to_purchase, exercises.lesson01_oracle_auc_cart,
          exercises.lesson01_price_ratio_by_tier, exercises.lesson01_price_sensitive_tier]


@pytest.fixture(scope="module")
def shop() -> data.Shop:
    return data.load_shop()


@pytest.fixture(scope="module")
def split(shop) -> data.Split:
    return data.chronological_split(shop.impressions)


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("answer", ODD_INPUTS, ids=repr)
def test_checks_never_raise_and_never_pass_odd_inputs(check, answer, shop, capsys):
    assert check(answer, shop) is None
    out = capsys.readouterr().out
    assert out.count("Exercise") == 1 and "correct ✓" not in out


def test_cart_to_purchase_forms_and_slips(shop, split, capsys):
    torch = pytest.importorskip("torch")
    train = split.train
    rate = train["purchase"].sum() / train["add_to_cart"].sum()
    for answer in (rate, float(rate), np.float32(rate), np.array([rate]), torch.tensor(rate), f"{rate:.6f}",
                   pd.Series([rate])):
        exercises.lesson01_cart_to_purchase(answer, shop)
    assert capsys.readouterr().out.count("correct ✓") == 7
    exercises.lesson01_cart_to_purchase(1 / rate, shop)
    assert "turn the fraction over" in capsys.readouterr().out
    whole = shop.impressions["purchase"].sum() / shop.impressions["add_to_cart"].sum()
    exercises.lesson01_cart_to_purchase(whole, shop)
    assert "training split" in capsys.readouterr().out


def test_oracle_auc_recognises_misaligned_rows_and_other_slips(shop, split, capsys):
    valid = split.valid
    right = roc_auc_score(valid["add_to_cart"], shop.oracle_for(valid)["p_add_to_cart"])
    for answer in (right, np.float64(right), np.array(right), str(right)):
        exercises.lesson01_oracle_auc_cart(answer, shop)
    assert capsys.readouterr().out.count("correct ✓") == 4
    # the classic slip: split.valid starts again at index 0, so .loc on the whole oracle takes other rows
    misaligned = roc_auc_score(valid["add_to_cart"], shop.oracle.loc[valid.index, "p_add_to_cart"])
    assert abs(misaligned - 0.5) < 0.05
    exercises.lesson01_oracle_auc_cart(misaligned, shop)
    assert "not aligned" in capsys.readouterr().out
    exercises.lesson01_oracle_auc_cart(1 - right, shop)
    assert "reversed" in capsys.readouterr().out
    test_auc = roc_auc_score(split.test["add_to_cart"], shop.oracle_for(split.test)["p_add_to_cart"])
    exercises.lesson01_oracle_auc_cart(test_auc, shop)
    assert "test rows" in capsys.readouterr().out
    click_auc = roc_auc_score(valid["click"], shop.oracle_for(valid)["p_click"])
    exercises.lesson01_oracle_auc_cart(click_auc, shop)
    assert "for click" in capsys.readouterr().out
    exercises.lesson01_oracle_auc_cart(1.7, shop)
    assert "between 0 and 1" in capsys.readouterr().out


def _ratios(shop, median_over_items: bool = False) -> pd.Series:
    table = data.join_features(shop)
    if median_over_items:
        median = table["category"].map(shop.items.groupby("category", observed=True)["price"].median()).astype(float)
    else:
        median = table.groupby("category", observed=True)["price"].transform("median")
    rates = table.groupby(["city_tier", table["price"] < median])["purchase"].mean().unstack()
    return rates[True] / rates[False]


def test_price_ratio_check_verifies_the_computed_values_in_every_form(shop, capsys):
    ratios = _ratios(shop)
    assert np.allclose(ratios.sort_index(), data.price_sensitivity(shop, "city_tier").sort_index())
    forms = [ratios, ratios.sort_values(), ratios.to_dict(), ratios.tolist(), ratios.to_numpy(), tuple(ratios),
             ratios.to_frame("cheap / expensive"), pd.Series(ratios.to_numpy(), index=["1", "2", "3"]),
             _ratios(shop, median_over_items=True)]
    for answer in forms:
        exercises.lesson01_price_ratio_by_tier(answer, shop)
    assert capsys.readouterr().out.count("correct ✓") == len(forms)
    exercises.lesson01_price_ratio_by_tier(1 / ratios, shop)
    assert "expensive ÷ cheap" in capsys.readouterr().out
    exercises.lesson01_price_ratio_by_tier(ratios.to_numpy()[::-1].tolist(), shop)
    assert "tier order" in capsys.readouterr().out
    exercises.lesson01_price_ratio_by_tier(ratios * 1.1, shop)
    out = capsys.readouterr().out
    assert "not yet" in out and "correct" not in out


def test_price_sensitive_tier_forms(shop, capsys):
    torch = pytest.importorskip("torch")
    tier = int(data.price_sensitivity(shop, "city_tier").index[0])
    for answer in (tier, float(tier), np.int64(tier), str(tier), f"tier {tier}", torch.tensor(tier), [tier]):
        exercises.lesson01_price_sensitive_tier(answer, shop)
    assert capsys.readouterr().out.count("correct ✓") == 7
    exercises.lesson01_price_sensitive_tier(_ratios(shop), shop)
    assert "one tier" in capsys.readouterr().out
    exercises.lesson01_price_sensitive_tier(5, shop)
    assert "not a city tier" in capsys.readouterr().out
