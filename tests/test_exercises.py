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


@pytest.mark.parametrize("call", [
    lambda answer, shop: exercises.lesson02_popularity_auc(answer, shop),
    lambda answer, shop: exercises.lesson02_lr_parameters(answer, data.FeatureEncoder(shop).cardinalities),
    lambda answer, shop: exercises.lesson03_parameters_saved(answer, data.FeatureEncoder(shop).cardinalities),
    lambda answer, shop: exercises.lesson03_sparse_loss(answer),
])
@pytest.mark.parametrize("answer, word", [(..., "not started"), (None, "not started"), (12345.0, "not yet")])
def test_lesson02_03_checks_give_feedback_not_errors(call, answer, word, shop, capsys):
    assert call(answer, shop) is None
    out = capsys.readouterr().out
    assert word in out and "correct" not in out


def test_parameter_exercises_match_the_models(shop, capsys):
    """The hand counts the checks expect equal what the PyTorch models really have."""
    from mtl_lessons import torch_mtl

    cards = data.FeatureEncoder(shop).cardinalities
    n_numeric = len(data.NUMERIC_FEATURES)
    small = {"embedding_dims": {"user_id": 1}}
    lr = torch_mtl.SingleTaskModel(cards, n_numeric, "purchase", hidden=(), **small)
    exercises.lesson02_lr_parameters(torch_mtl.parameter_count(lr), cards)
    funnel = ("click", "add_to_cart", "purchase")
    shared = torch_mtl.SharedBottomModel(cards, n_numeric, funnel, bottom=(128, 64), **small)
    singles = sum(torch_mtl.parameter_count(torch_mtl.SingleTaskModel(cards, n_numeric, t, hidden=(128, 64), **small))
                  for t in funnel)
    exercises.lesson03_parameters_saved(singles - torch_mtl.parameter_count(shared), cards)
    exercises.lesson03_sparse_loss("sparse_categorical_crossentropy")
    assert capsys.readouterr().out.count("correct ✓") == 3


# --------------------------------------------------------------------------- lessons 04-06
NO_DATA_CHECKS = [exercises.lesson04_coupling_penalty, exercises.lesson04_coupling_gradient,
                  exercises.lesson05_uncertainty_objective, exercises.lesson05_dwa_weights,
                  exercises.lesson06_head_parameters]


@pytest.mark.parametrize("check", NO_DATA_CHECKS)
@pytest.mark.parametrize("answer", [..., None, "text", 12345.0, ["a", "list"], {"a": 1}, float("nan")])
def test_lesson04_06_checks_never_raise(check, answer, capsys):
    assert check(answer) is None
    out = capsys.readouterr().out
    assert out.strip() and "correct ✓" not in out


def test_lesson04_06_right_answers_pass(capsys):
    import numpy as np

    from mtl_lessons import weighting

    towers = {t: np.asarray(k, dtype=float) for t, k in exercises.LESSON04_TOWERS.items()}
    difference = towers["click"] - towers["purchase"]
    exercises.lesson04_coupling_penalty(exercises.LESSON04_LAMBDA * float((difference ** 2).sum()))
    exercises.lesson04_coupling_gradient(2 * exercises.LESSON04_LAMBDA * difference)
    exercises.lesson05_uncertainty_objective(weighting.uncertainty_objective(**exercises.LESSON05_UNCERTAINTY))
    exercises.lesson05_dwa_weights(weighting.dwa_weights(exercises.LESSON05_LOSS_HISTORY, 2.0))
    exercises.lesson06_head_parameters(65)
    assert capsys.readouterr().out.count("correct ✓") == 5


def test_lesson04_gradient_check_accepts_a_tensor_that_requires_grad_and_names_common_slips(capsys):
    torch = pytest.importorskip("torch")
    import numpy as np

    click = torch.tensor(np.asarray(exercises.LESSON04_TOWERS["click"]), requires_grad=True)
    purchase = torch.tensor(np.asarray(exercises.LESSON04_TOWERS["purchase"]))
    exercises.lesson04_coupling_gradient(2 * exercises.LESSON04_LAMBDA * (click - purchase))
    assert "correct ✓" in capsys.readouterr().out
    exercises.lesson04_coupling_gradient(-2 * exercises.LESSON04_LAMBDA * (click - purchase))
    assert "sign" in capsys.readouterr().out
    exercises.lesson04_coupling_gradient(click - purchase)
    assert "2λ" in capsys.readouterr().out


def test_lesson06_target_shoppers(capsys):
    target = data.load_target()
    expected = data.chronological_split(data.join_features(target)).train["user_id"].nunique()
    exercises.lesson06_target_shoppers(expected, target)
    exercises.lesson06_target_shoppers(..., target)
    exercises.lesson06_target_shoppers("many", target)
    out = capsys.readouterr().out
    assert out.count("correct ✓") == 1 and "not started" in out and "expected a number" in out
