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
@pytest.mark.parametrize("answer, word", [(..., "not started"), (None, "not started"),
                                          ("not a number", "expected a number"), (12345.0, "not yet"),
                                          (["a list"], "expected a number")])
def test_unstarted_or_wrong_answers_get_feedback_not_errors(check, answer, word, shop, capsys):
    assert check(answer, shop) is None  # nothing for a notebook cell to display but the feedback
    out = capsys.readouterr().out
    assert word in out and "correct" not in out


def test_right_answers_pass(shop, capsys):
    train = data.chronological_split(shop.impressions).train
    exercises.lesson01_cart_to_purchase(train["purchase"].sum() / train["add_to_cart"].sum(), shop)
    exercises.lesson01_price_sensitive_tier(int(data.price_sensitivity(shop, "city_tier").index[0]), shop)
    assert capsys.readouterr().out.count("correct ✓") == 2


def test_feedback_tolerance(capsys):
    exercises.feedback("x", 0.5001, 0.5, rel_tol=1e-3)
    assert "correct" in capsys.readouterr().out
    exercises.feedback("x", 0.6, 0.5, rel_tol=1e-3)
    assert "not yet" in capsys.readouterr().out
