"""The exercise checks give feedback and never raise."""
from __future__ import annotations

import pytest

from mtl_lessons import data, exercises


@pytest.fixture(scope="module")
def shop() -> data.Shop:
    return data.load_shop()


CHECKS = [exercises.lesson01_cart_to_purchase, exercises.lesson01_oracle_auc_cart,
          exercises.lesson01_price_sensitive_tier]


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("answer", [..., None, "not a number", 12345.0, ["a list"]])
def test_unstarted_or_wrong_answers_get_feedback_not_errors(check, answer, shop, capsys):
    assert check(answer, shop) is False
    assert capsys.readouterr().out.strip()


def test_right_answers_pass(shop, capsys):
    train = data.chronological_split(shop.impressions).train
    assert exercises.lesson01_cart_to_purchase(train["purchase"].sum() / train["add_to_cart"].sum(), shop)
    tier = int(data.price_sensitivity(shop, "city_tier").index[0])
    assert exercises.lesson01_price_sensitive_tier(tier, shop)
    assert "correct" in capsys.readouterr().out


def test_feedback_tolerance():
    assert exercises.feedback("x", 0.5001, 0.5, rel_tol=1e-3)
    assert not exercises.feedback("x", 0.6, 0.5, rel_tol=1e-3)
