"""Tests of per-task metrics: masks, shapes, values against hand computations."""
from __future__ import annotations

import numpy as np
import pytest

from mtl_lessons import metrics as M


def test_binary_metrics_by_hand():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.9])
    out = M.task_metrics("click", y, p)
    assert out["auc"] == pytest.approx(0.75)
    assert out["accuracy"] == pytest.approx(0.5)
    assert out["precision"] == pytest.approx(0.5) and out["recall"] == pytest.approx(0.5)
    expected_ll = -np.mean(np.log([0.9, 0.4, 0.4, 0.9]))
    assert out["log_loss"] == pytest.approx(expected_ll)
    assert out["n"] == 4


def test_masked_rows_are_left_out_not_zero():
    y = np.array([1.0, np.nan, 0.0, 1.0])
    p = np.array([0.8, 0.9, 0.2, 0.7])
    out = M.task_metrics("sentiment", y, p)
    assert out["n"] == 3 and out["auc"] == pytest.approx(1.0)
    mask = np.array([True, False, True, False])
    assert M.task_metrics("sentiment", y, p, mask)["n"] == 2


def test_regression_and_multiclass():
    out = M.task_metrics("rating", np.array([5.0, 3.0, np.nan]), np.array([4.0, 3.0, 1.0]))
    assert out["rmse"] == pytest.approx(np.sqrt(0.5)) and out["mae"] == pytest.approx(0.5)
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    out = M.task_metrics("next_category", np.array([0.0, 1.0]), probs)
    assert out["accuracy"] == pytest.approx(0.5)
    assert out["log_loss"] == pytest.approx(-np.mean(np.log([0.7, 0.1])))


@pytest.mark.parametrize(
    "task, y, p, message",
    [
        ("click", [0, 1], [0.5], "rows"),
        ("click", [0, 1], [0.5, 1.5], "probabilities"),
        ("click", [0, 1], [np.nan, 0.5], "NaN"),
        ("next_category", [0, 1], [0.5, 0.5], "n_classes"),
        ("buy", [0, 1], [0.5, 0.5], "unknown task"),
        ("rating", [np.nan, np.nan], [1.0, 2.0], "no labelled rows"),
    ],
)
def test_bad_input_is_named(task, y, p, message):
    with pytest.raises(ValueError, match=message):
        M.task_metrics(task, np.array(y, dtype=float), np.array(p, dtype=float))


def test_evaluate_is_tidy():
    labels = {"click": np.array([0.0, 1.0, 1.0]), "rating": np.array([np.nan, 4.0, 5.0])}
    preds = {"click": np.array([0.2, 0.7, 0.4]), "rating": np.array([3.0, 4.0, 4.0])}
    table = M.evaluate(labels, preds, model="demo")
    assert list(table.columns) == ["model", "task", "metric", "value"]
    assert set(table["task"]) == {"click", "rating"}
    with pytest.raises(ValueError, match="without labels"):
        M.evaluate(labels, {"purchase": np.array([0.1, 0.2, 0.3])})


def test_oracle_lift():
    assert M.oracle_lift(0.7, 0.9) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="oracle_auc"):
        M.oracle_lift(0.7, 0.5)


def test_oracle_scores_match_hand_computation():
    from sklearn.metrics import roc_auc_score

    from mtl_lessons import data as D

    shop = D.simulate_shop(D.ShopConfig(n_users=200, n_items=100, n_impressions=20_000))
    test = D.chronological_split(D.join_features(shop)).test
    scores = M.oracle_scores(shop, test, ("click", "rating", "next_category"))
    oracle = shop.oracle_for(test)
    assert scores["click"] == pytest.approx(roc_auc_score(test["click"], oracle["p_click"]))
    bought = test["purchase"].to_numpy() == 1
    rmse = np.sqrt(np.mean((test["rating"].to_numpy()[bought] - oracle["expected_rating"].to_numpy()[bought]) ** 2))
    assert scores["rating"] == pytest.approx(rmse)
    hits = oracle["next_category_argmax"].astype(str).to_numpy() == test["next_category"].astype(str).to_numpy()
    assert scores["next_category"] == pytest.approx(hits.mean())
