"""mtl_lessons.ranking: each metric pinned to hand-computed values on tiny tables, equal to
scikit-learn where scikit-learn has the metric, fast on lesson 10's size, and strict about its inputs."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import (accuracy_score, f1_score, ndcg_score, precision_score, recall_score,
                             roc_auc_score)

from mtl_lessons import ranking

ROOT = Path(__file__).resolve().parents[1]
LOG2_3, LOG2_5 = math.log2(3), math.log2(5)


def shop_like(seed: int = 0, n: int = 50_000, n_users: int = 3_000, noise: float = 0.05):
    """A test split like lesson 10's: n impressions of n_users shoppers, each with their own click
    propensity (a user offset), the true click probability p, and a model's noisy copy of it."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n)
    logit = rng.normal(size=n) + rng.normal(0.0, 1.0, n_users)[users] - 2.5
    p = 1.0 / (1.0 + np.exp(-logit))
    y = (rng.random(n) < p).astype(int)
    score = np.clip(p + rng.normal(0.0, noise, n), 0.0, 1.0)
    return users, y, p, score


# -- per-user AUC and GAUC ------------------------------------------------------------------------

# u1: positive 0.9 above both negatives 0.5, 0.7                            → AUC 2/2 = 1
# u2: positives 0.2, 0.6 vs negatives 0.4, 0.1: (0.2>0.4 no) (0.2>0.1 yes)
#     (0.6>0.4 yes) (0.6>0.1 yes)                                           → AUC 3/4
# u3: two negatives, no positive                                            → AUC undefined (NaN)
# u4: positive and negative tied at 0.5: the pair counts 1/2                → AUC 1/2
USERS = ["u1"] * 3 + ["u2"] * 4 + ["u3"] * 2 + ["u4"] * 2
LABELS = [1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0]
SCORES = [0.9, 0.5, 0.7, 0.2, 0.4, 0.6, 0.1, 0.3, 0.8, 0.5, 0.5]


def test_per_user_auc_by_hand():
    table = ranking.per_user_auc(USERS, LABELS, SCORES)
    assert list(table.columns) == ["user_id", "impressions", "positives", "auc"]
    assert table["user_id"].tolist() == ["u1", "u2", "u3", "u4"]
    assert table["impressions"].tolist() == [3, 4, 2, 2]
    assert table["positives"].tolist() == [1, 2, 0, 1]
    assert table["auc"].iloc[[0, 1, 3]].tolist() == pytest.approx([1.0, 0.75, 0.5], abs=1e-12)
    assert np.isnan(table["auc"].iloc[2])


def test_gauc_by_hand():
    # impressions: (3·1 + 4·3/4 + 2·1/2) / (3 + 4 + 2) = 7/9; u3 (one class) is left out
    assert ranking.gauc(USERS, LABELS, SCORES) == pytest.approx(7 / 9, abs=1e-12)
    # positives: (1·1 + 2·3/4 + 1·1/2) / (1 + 2 + 1) = 3/4
    assert ranking.gauc(USERS, LABELS, SCORES, weight="positives") == pytest.approx(3 / 4, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_user_auc_is_roc_auc_score_per_user_ties_included(seed):
    rng = np.random.default_rng(seed)
    users = rng.integers(0, 40, 600)
    y = (rng.random(600) < 0.3).astype(int)
    score = np.round(rng.random(600), 1)  # many ties within users
    table = ranking.per_user_auc(users, y, score).set_index("user_id")
    for user, rows in pd.DataFrame({"u": users, "y": y, "s": score}).groupby("u"):
        if rows["y"].nunique() == 2:
            assert table.loc[user, "auc"] == pytest.approx(roc_auc_score(rows["y"], rows["s"]), abs=1e-12)
        else:
            assert np.isnan(table.loc[user, "auc"])
        assert table.loc[user, "impressions"] == len(rows) and table.loc[user, "positives"] == rows["y"].sum()


def test_gauc_disagrees_with_the_global_auc_when_users_differ_in_level():
    # Shopper A: scores 0.7, 0.8 (no click), 0.9 (click); shopper B: 0.1 (no click), 0.2, 0.3 (click).
    # Within each shopper every click is ranked above every non-click: AUC_A = AUC_B = 1, GAUC = 1.
    # Pooled, B's clicks (0.2, 0.3) sit below A's non-clicks (0.7, 0.8): positives 0.9, 0.2, 0.3 beat
    # 3, 1, 1 of the negatives 0.7, 0.8, 0.1 → global AUC = 5/9.
    users = ["A"] * 3 + ["B"] * 3
    y = [0, 0, 1, 0, 1, 1]
    score = [0.7, 0.8, 0.9, 0.1, 0.2, 0.3]
    assert ranking.gauc(users, y, score) == 1.0
    assert roc_auc_score(y, score) == pytest.approx(5 / 9)


def test_gauc_ignores_a_user_offset_that_moves_the_global_auc():
    users, y, p, score = shop_like(0, n=20_000, n_users=1_000)
    shift = np.random.default_rng(5).normal(0.0, 3.0, 1_000)[users]  # a per-user constant added to every score
    assert ranking.gauc(users, y, score + shift) == pytest.approx(ranking.gauc(users, y, score), abs=1e-12)
    assert abs(roc_auc_score(y, score + shift) - roc_auc_score(y, score)) > 0.05


def test_gauc_accepts_bools_series_and_any_hashable_ids():
    table = pd.DataFrame({"user": USERS, "y": np.array(LABELS, dtype=bool), "s": SCORES})
    assert ranking.gauc(table["user"], table["y"], table["s"]) == pytest.approx(7 / 9)
    codes = pd.factorize(np.array(USERS))[0] * 7 + 100
    assert ranking.gauc(codes, LABELS, SCORES) == pytest.approx(7 / 9)


# -- NDCG@k ---------------------------------------------------------------------------------------

def test_ndcg_by_hand():
    # One user, labels 0, 1, 0, 1 already in score order (0.9, 0.8, 0.3, 0.1):
    # DCG@4 = 1/log2(3) + 1/log2(5), IDCG@4 = 1 + 1/log2(3); @2: DCG = 1/log2(3), IDCG = 1 + 1/log2(3).
    y, s = [0, 1, 0, 1], [0.9, 0.8, 0.3, 0.1]
    users = [7] * 4
    assert ranking.ndcg_at_k(users, y, s, 4) == pytest.approx((1 / LOG2_3 + 1 / LOG2_5) / (1 + 1 / LOG2_3))
    assert ranking.ndcg_at_k(users, y, s, 2) == pytest.approx((1 / LOG2_3) / (1 + 1 / LOG2_3))
    assert ranking.ndcg_at_k(users, y, s, 1) == 0.0
    assert ranking.ndcg_at_k(users, y, s, 100) == ranking.ndcg_at_k(users, y, s, 4)  # k beyond the list


def test_ndcg_averages_over_users_with_a_relevant_impression_only():
    # user 1 as above (@2: 0.3869), user 2 ranks its click first (1.0), user 3 has no click (left out)
    users = [1] * 4 + [2] * 2 + [3] * 3
    y = [0, 1, 0, 1] + [1, 0] + [0, 0, 0]
    s = [0.9, 0.8, 0.3, 0.1] + [0.6, 0.2] + [0.5, 0.4, 0.3]
    expected = ((1 / LOG2_3) / (1 + 1 / LOG2_3) + 1.0) / 2
    assert ranking.ndcg_at_k(users, y, s, 2) == pytest.approx(expected)


def test_ndcg_tie_handling_by_hand():
    # labels 1, 0 with tied scores. "average": each rank gets the mean gain 1/2:
    # DCG@2 = 1/2·(1 + 1/log2 3), IDCG = 1; @1: 1/2. "first": row order, the click first → 1; the
    # click second → 1/log2 3.
    assert ranking.ndcg_at_k([0, 0], [1, 0], [0.5, 0.5], 2) == pytest.approx(0.5 * (1 + 1 / LOG2_3))
    assert ranking.ndcg_at_k([0, 0], [1, 0], [0.5, 0.5], 1) == pytest.approx(0.5)
    assert ranking.ndcg_at_k([0, 0], [1, 0], [0.5, 0.5], 2, ties="first") == 1.0
    assert ranking.ndcg_at_k([0, 0], [0, 1], [0.5, 0.5], 2, ties="first") == pytest.approx(1 / LOG2_3)


def _sklearn_ndcg_per_user(users, y, s, k, ignore_ties=False):
    values = []
    for _, rows in pd.DataFrame({"u": users, "y": y, "s": s}).groupby("u"):
        if rows["y"].sum() > 0 and len(rows) > 1:  # ndcg_score needs ≥ 2 documents
            values.append(ndcg_score([rows["y"].to_numpy()], [rows["s"].to_numpy()], k=k, ignore_ties=ignore_ties))
    return float(np.mean(values))


@pytest.mark.parametrize("k", [1, 3, 5, 20])
@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("graded", [False, True])
def test_ndcg_equals_sklearn_per_user(k, tied, graded):
    rng = np.random.default_rng(k)
    n = 800
    users = rng.integers(0, 60, n)
    users[:60] = np.arange(60)  # every user has at least 2 rows (ndcg_score's minimum)
    users[60:120] = np.arange(60)
    y = rng.integers(0, 3, n) * (rng.random(n) < 0.4) if graded else (rng.random(n) < 0.25).astype(int)
    s = np.round(rng.random(n), 1) if tied else rng.random(n)
    ours = ranking.ndcg_at_k(users, y, s, k)
    assert ours == pytest.approx(_sklearn_ndcg_per_user(users, y, s, k), abs=1e-12)
    if not tied:  # without ties the order is unique: "first" is the same number
        assert ranking.ndcg_at_k(users, y, s, k, ties="first") == pytest.approx(ours, abs=1e-12)


# -- recall@k -------------------------------------------------------------------------------------

def test_recall_by_hand_with_the_documented_tie_break():
    # user 1: clicks at scores 0.8 and 0.1; the top 2 (0.9, 0.8) hold one of the two → 1/2
    # user 2: all tied at 0.5, the click is the first row → the top 1 holds it → 1
    # user 3: all tied at 0.5, the click is the second row → the top 1 (the first row) misses it → 0
    # user 4: no click → left out.   mean = (1/2 + 1 + 0) / 3 = 1/2
    users = [1] * 4 + [2] * 3 + [3] * 3 + [4] * 2
    y = [0, 1, 0, 1] + [1, 0, 0] + [0, 1, 0] + [0, 0]
    s = [0.9, 0.8, 0.3, 0.1] + [0.5] * 3 + [0.5] * 3 + [0.2, 0.1]
    assert ranking.recall_at_k(users, y, s, 2) == pytest.approx((0.5 + 1 + 1) / 3)  # k = 2 covers users 2, 3
    assert ranking.recall_at_k(users, y, s, 1) == pytest.approx((0.0 + 1 + 0) / 3)  # user 1's top 1 is 0.9
    assert ranking.recall_at_k(users, y, s, 4) == 1.0


def test_recall_equals_a_plain_loop_on_random_data():
    rng = np.random.default_rng(3)
    users = rng.integers(0, 50, 700)
    y = (rng.random(700) < 0.2).astype(int)
    s = np.round(rng.random(700), 1)
    values = []
    for _, rows in pd.DataFrame({"u": users, "y": y, "s": s}).groupby("u"):
        if rows["y"].sum():
            top = rows.sort_values("s", ascending=False, kind="stable").head(5)  # stable: row order breaks ties
            values.append(top["y"].sum() / rows["y"].sum())
    assert ranking.recall_at_k(users, y, s, 5) == pytest.approx(np.mean(values), abs=1e-12)


# -- calibration ----------------------------------------------------------------------------------

def test_reliability_table_and_ece_by_hand():
    # 2 uniform bins [0, 0.5], (0.5, 1]:
    #   bin 0: p = 0.1, 0.3, 0.35, 0.0 → mean 0.1875, labels 0, 1, 0, 0 → observed 1/4
    #   bin 1: p = 0.8, 1.0 → mean 0.9, labels 1, 1 → observed 1
    # ECE = 4/6 · |0.25 − 0.1875| + 2/6 · |1 − 0.9| = 0.041667 + 0.033333 = 0.075
    y, p = [0, 1, 0, 1, 1, 0], [0.1, 0.3, 0.35, 0.8, 1.0, 0.0]
    table = ranking.reliability_table(y, p, 2)
    assert list(table.columns) == ["bin", "lower", "upper", "count", "mean_predicted", "observed_rate"]
    assert table["count"].tolist() == [4, 2]
    assert table["lower"].tolist() == [0.0, 0.5] and table["upper"].tolist() == [0.5, 1.0]
    assert table["mean_predicted"].tolist() == pytest.approx([0.1875, 0.9])
    assert table["observed_rate"].tolist() == pytest.approx([0.25, 1.0])
    assert ranking.expected_calibration_error(y, p, 2) == pytest.approx(0.075)


def test_bin_edges_zero_one_and_inner_edges():
    # p = 0 → first bin; p = 1 → last bin; p on an inner edge (0.5) → the lower bin, as calibration_curve
    table = ranking.reliability_table([0, 1, 1], [0.0, 1.0, 0.5], 2)
    assert table["count"].tolist() == [2, 1]
    assert table["mean_predicted"].tolist() == pytest.approx([0.25, 1.0])


def test_empty_bins_are_kept_in_the_table_and_skipped_by_ece():
    # 4 bins; bins 1 and 2 empty. ECE = 1/2·|0 − 0.1| + 1/2·|1 − 0.9| = 0.1
    table = ranking.reliability_table([0, 1], [0.1, 0.9], 4)
    assert table["count"].tolist() == [1, 0, 0, 1]
    assert table["mean_predicted"].isna().tolist() == [False, True, True, False]
    assert ranking.expected_calibration_error([0, 1], [0.1, 0.9], 4) == pytest.approx(0.1)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [1, 2, 5, 10, 15])
def test_reliability_table_matches_calibration_curve(strategy, n_bins):
    rng = np.random.default_rng(n_bins)
    p = np.concatenate([rng.beta(1, 4, 2_000), np.linspace(0, 1, 21)])  # edge values 0, 0.05, …, 1 included
    y = (rng.random(len(p)) < p).astype(int)
    observed, predicted = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    table = ranking.reliability_table(y, p, n_bins, strategy=strategy)
    full = table[table["count"] > 0]
    assert full["observed_rate"].to_numpy() == pytest.approx(observed, abs=1e-12)
    assert full["mean_predicted"].to_numpy() == pytest.approx(predicted, abs=1e-12)
    assert table["count"].sum() == len(p)
    # ECE from calibration_curve's bins: weights are the bin counts
    counts = full["count"].to_numpy()
    expected = float(np.sum(counts / len(p) * np.abs(observed - predicted)))
    assert ranking.expected_calibration_error(y, p, n_bins, strategy=strategy) == pytest.approx(expected, abs=1e-12)


def test_ece_is_small_for_calibrated_and_large_for_overconfident_probabilities():
    _, y, p, _ = shop_like(1)
    overconfident = 1.0 / (1.0 + np.exp(-3.0 * np.log(p / (1 - p))))
    assert ranking.expected_calibration_error(y, p) < 0.01
    assert ranking.expected_calibration_error(y, overconfident) > 0.05


# -- thresholds ---------------------------------------------------------------------------------

Y_T = [0, 0, 1, 1, 0, 1]
P_T = [0.1, 0.4, 0.35, 0.8, 0.7, 0.9]


def test_cost_threshold_by_hand():
    # predict 1 when p ≥ t; (FP, FN) for t = 0, 0.1: (3, 0); 0.35: (2, 0); 0.4: (2, 1); 0.7: (1, 1);
    # 0.8: (0, 1); 0.9: (0, 2); 1.0: (0, 3).
    # c_FP = c_FN = 1: costs 3, 3, 2, 3, 2, 1, 2, 3 → t = 0.8.   c_FN = 5: 3, 3, 2, 7, 6, 5, 10, 15 → t = 0.35
    assert ranking.cost_threshold(Y_T, P_T, cost_false_positive=1, cost_false_negative=1) == 0.8
    assert ranking.cost_threshold(Y_T, P_T, cost_false_positive=1, cost_false_negative=5) == 0.35
    # misses free: no false alarm costs nothing at t = 0.8, 0.9, 1.0 → the smallest, 0.8;
    # false alarms free: no miss costs nothing at t = 0, 0.1, 0.35 → 0.0
    assert ranking.cost_threshold(Y_T, P_T, cost_false_positive=1, cost_false_negative=0) == 0.8
    assert ranking.cost_threshold(Y_T, P_T, cost_false_positive=0, cost_false_negative=1) == 0.0
    assert ranking.decision_cost(Y_T, P_T, 0.8, cost_false_positive=1, cost_false_negative=1) == 1.0
    assert ranking.decision_cost(Y_T, P_T, 0.4, cost_false_positive=2, cost_false_negative=5) == 9.0


def test_cost_threshold_predicts_no_one_above_a_probability_of_one():
    t = ranking.cost_threshold([0, 0, 1], [1.0, 1.0, 0.5], cost_false_positive=5, cost_false_negative=1)
    assert t > 1.0  # above every probability: p ≥ t for none of them (cost 1, the one missed click)
    assert ranking.binary_report([0, 0, 1], [1.0, 1.0, 0.5], t)["predicted_positive_rate"] == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cost_threshold_is_the_cheapest_on_a_fine_grid(seed):
    rng = np.random.default_rng(seed)
    p = np.round(rng.random(500), 3)
    y = (rng.random(500) < p).astype(int)
    best = ranking.cost_threshold(y, p, cost_false_positive=2.0, cost_false_negative=3.0)
    grid = np.concatenate([np.linspace(0, 1, 2001), [best]])
    costs = [ranking.decision_cost(y, p, t, cost_false_positive=2.0, cost_false_negative=3.0) for t in grid]
    assert ranking.decision_cost(y, p, best, cost_false_positive=2.0, cost_false_negative=3.0) == min(costs)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("c_fp, c_fn", [(1.0, 4.0), (3.0, 1.0), (1.0, 1.0)])
def test_cost_threshold_is_near_the_bayes_threshold_on_calibrated_data(seed, c_fp, c_fn):
    # calibrated: y ~ Bernoulli(p), so the cost-minimising threshold is near c_FP / (c_FP + c_FN) (Elkan 2001)
    rng = np.random.default_rng(seed)
    p = rng.random(200_000)
    y = (rng.random(p.size) < p).astype(int)
    t = ranking.cost_threshold(y, p, cost_false_positive=c_fp, cost_false_negative=c_fn)
    assert t == pytest.approx(c_fp / (c_fp + c_fn), abs=0.02)


@pytest.mark.parametrize("threshold", [0.0, 0.2, 0.5, 0.73, 1.0, 1.5])
def test_binary_report_matches_sklearn(threshold):
    rng = np.random.default_rng(4)
    p = np.round(rng.random(300), 2)
    y = (rng.random(300) < p).astype(int)
    hard = (p >= threshold).astype(int)
    report = ranking.binary_report(y, p, threshold)
    assert report["accuracy"] == pytest.approx(accuracy_score(y, hard))
    assert report["precision"] == pytest.approx(precision_score(y, hard, zero_division=0))
    assert report["recall"] == pytest.approx(recall_score(y, hard, zero_division=0))
    assert report["f1"] == pytest.approx(f1_score(y, hard, zero_division=0))
    assert report["predicted_positive_rate"] == pytest.approx(hard.mean())
    assert report["threshold"] == threshold
    assert report["true_positives"] + report["false_positives"] == hard.sum()


def test_binary_report_by_hand():
    # t = 0.5 on Y_T, P_T: predicted 1 at 0.8, 0.7, 0.9 → TP 2 (0.8, 0.9), FP 1 (0.7), FN 1 (0.35), TN 2
    report = ranking.binary_report(Y_T, P_T, 0.5)
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["precision"] == pytest.approx(2 / 3) and report["recall"] == pytest.approx(2 / 3)
    assert report["f1"] == pytest.approx(2 / 3) and report["predicted_positive_rate"] == 0.5


# -- paired bootstrap ---------------------------------------------------------------------------

def test_weighted_auc_equals_roc_auc_score_with_sample_weight():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 12, 80)
    y = (rng.random(80) < 0.4).astype(float)
    s = np.round(rng.random(80), 1)  # ties too
    counts = rng.integers(0, 4, (5, 12))
    counts[0] = 1
    aucs = ranking._weighted_aucs(codes, y, s, counts)
    for row, auc in zip(counts, aucs):
        assert auc == pytest.approx(roc_auc_score(y, s, sample_weight=row[codes]), abs=1e-12)


def _explicit_resample(users, y, a, b, drawn):
    """The resample built row by row: every impression of every drawn user, copies included."""
    frame = pd.DataFrame({"u": users, "y": y, "a": a, "b": b})
    parts = [frame[frame["u"] == user].assign(u=f"{user}#{i}") for i, user in enumerate(drawn)]
    return pd.concat(parts)


@pytest.mark.parametrize("metric", ["gauc", "auc"])
def test_each_resample_is_all_impressions_of_the_drawn_users(metric):
    users, y, p, a = shop_like(2, n=1_500, n_users=60)
    b = np.clip(p + np.random.default_rng(9).normal(0, 0.02, len(p)), 0, 1)
    uniques = np.unique(users)
    counts = ranking._draw_counts(np.random.default_rng(0), 3, len(uniques))
    assert (counts.sum(axis=1) == len(uniques)).all()
    for row in counts:
        sample = _explicit_resample(users, y, a, b, np.repeat(uniques, row))
        if metric == "gauc":
            expected = (ranking.gauc(sample["u"], sample["y"], sample["b"])
                        - ranking.gauc(sample["u"], sample["y"], sample["a"]))
            _, _, auc_a = ranking._user_aucs(np.searchsorted(uniques, users), len(uniques), y.astype(float), a)
            _, _, auc_b = ranking._user_aucs(np.searchsorted(uniques, users), len(uniques), y.astype(float), b)
            imps = np.bincount(np.searchsorted(uniques, users))
            both = ~np.isnan(auc_a)
            w = row[both] * imps[both]
            got = np.dot(w, auc_b[both]) / w.sum() - np.dot(w, auc_a[both]) / w.sum()
        else:
            expected = roc_auc_score(sample["y"], sample["b"]) - roc_auc_score(sample["y"], sample["a"])
            codes = np.searchsorted(uniques, users)
            got = (ranking._weighted_aucs(codes, y.astype(float), b, row[None])[0]
                   - ranking._weighted_aucs(codes, y.astype(float), a, row[None])[0])
        assert got == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("metric", ["gauc", "auc"])
def test_bootstrap_is_deterministic_and_its_interval_holds_the_difference(metric):
    users, y, p, a = shop_like(3, n=8_000, n_users=500, noise=0.08)
    b = np.clip(p + np.random.default_rng(1).normal(0, 0.06, len(p)), 0, 1)
    first = ranking.paired_bootstrap(users, y, a, b, metric=metric, n_resamples=300, seed=7)
    assert first == ranking.paired_bootstrap(users, y, a, b, metric=metric, n_resamples=300, seed=7)
    other = ranking.paired_bootstrap(users, y, a, b, metric=metric, n_resamples=300, seed=8)
    assert (other["low"], other["high"]) != (first["low"], first["high"])
    assert first["low"] <= first["difference"] <= first["high"]
    assert first["difference"] == pytest.approx(first["b"] - first["a"])
    full = ranking.gauc(users, y, a) if metric == "gauc" else roc_auc_score(y, a)
    assert first["a"] == pytest.approx(full, abs=1e-12)
    assert first["n_resamples"] == 300 and first["resampled_users"] == 500 and first["undefined_resamples"] == 0
    assert 0.0 <= first["share_b_better"] <= 1.0


@pytest.mark.parametrize("metric", ["gauc", "auc"])
def test_identical_models_differ_by_exactly_zero(metric):
    users, y, _, a = shop_like(4, n=5_000, n_users=300)
    result = ranking.paired_bootstrap(users, y, a, a.copy(), metric=metric, n_resamples=200)
    assert result["difference"] == 0.0 and result["low"] == 0.0 and result["high"] == 0.0
    assert result["share_b_better"] == 0.0


@pytest.mark.parametrize("metric", ["gauc", "auc"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_clearly_better_model_has_an_interval_above_zero(metric, seed):
    users, y, p, _ = shop_like(seed, n=20_000, n_users=1_000)
    rng = np.random.default_rng(seed + 10)
    worse = p + rng.normal(0, 0.15, len(p))  # much noisier copy of the true probability
    better = p + rng.normal(0, 0.02, len(p))
    result = ranking.paired_bootstrap(users, y, worse, better, metric=metric, n_resamples=500, seed=seed)
    assert result["low"] > 0.0 and result["share_b_better"] > 0.99
    swapped = ranking.paired_bootstrap(users, y, better, worse, metric=metric, n_resamples=500, seed=seed)
    assert swapped["high"] < 0.0
    assert swapped["low"] == pytest.approx(-result["high"]) and swapped["high"] == pytest.approx(-result["low"])


def test_a_noise_only_difference_has_an_interval_around_zero():
    users, y, p, _ = shop_like(5, n=20_000, n_users=1_000)
    rng = np.random.default_rng(6)
    a, b = p + rng.normal(0, 0.05, len(p)), p + rng.normal(0, 0.05, len(p))
    result = ranking.paired_bootstrap(users, y, a, b, n_resamples=500)
    assert result["low"] < 0.0 < result["high"]


def test_bootstrap_with_positive_weights_and_confidence():
    users, y, p, a = shop_like(6, n=5_000, n_users=300)
    b = np.clip(p + np.random.default_rng(2).normal(0, 0.03, len(p)), 0, 1)
    wide = ranking.paired_bootstrap(users, y, a, b, n_resamples=400, confidence=0.99, weight="positives")
    narrow = ranking.paired_bootstrap(users, y, a, b, n_resamples=400, confidence=0.5, weight="positives")
    assert wide["a"] == pytest.approx(ranking.gauc(users, y, a, weight="positives"))
    assert wide["low"] <= narrow["low"] <= narrow["high"] <= wide["high"]


# -- speed on lesson 10's size (50 000 impressions of 3 000 shoppers) ------------------------------

def _seconds(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def test_every_function_is_fast_on_lesson_10s_size():
    """Generous limits (the measured times are 10–100× smaller) that catch a loop over rows."""
    users, y, p, a = shop_like(0)
    b = np.clip(p + np.random.default_rng(1).normal(0, 0.03, len(p)), 0, 1)
    metrics = {
        "per_user_auc": lambda: ranking.per_user_auc(users, y, a),
        "gauc": lambda: ranking.gauc(users, y, a),
        "ndcg_at_k": lambda: ranking.ndcg_at_k(users, y, np.round(a, 2), 10),
        "recall_at_k": lambda: ranking.recall_at_k(users, y, a, 10),
        "reliability_table": lambda: ranking.reliability_table(y, p, 10, strategy="quantile"),
        "expected_calibration_error": lambda: ranking.expected_calibration_error(y, p),
        "cost_threshold": lambda: ranking.cost_threshold(y, p, cost_false_positive=1, cost_false_negative=4),
        "binary_report": lambda: ranking.binary_report(y, p, 0.2),
    }
    for name, function in metrics.items():
        assert _seconds(function) < 1.0, name
    assert _seconds(lambda: ranking.paired_bootstrap(users, y, a, b, metric="gauc")) < 5.0
    assert _seconds(lambda: ranking.paired_bootstrap(users, y, a, b, metric="auc")) < 15.0


def test_importing_ranking_imports_no_framework():
    code = ("import json, sys; import mtl_lessons.ranking; "
            "print(json.dumps([name in sys.modules for name in ('torch', 'tensorflow', 'keras')]))")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [False, False, False]


# -- every bad input raises ValueError naming the argument ----------------------------------------

U3, Y3, S3 = ["a", "a", "b"], [1, 0, 1], [0.9, 0.2, 0.5]


def _ranking_calls(users=U3, y=Y3, s=S3, k=2):
    return {
        "per_user_auc": lambda: ranking.per_user_auc(users, y, s),
        "gauc": lambda: ranking.gauc(users, y, s),
        "ndcg_at_k": lambda: ranking.ndcg_at_k(users, y, s, k),
        "recall_at_k": lambda: ranking.recall_at_k(users, y, s, k),
        "paired_bootstrap": lambda: ranking.paired_bootstrap(users, y, s, s, n_resamples=5),
    }


RANKING_BAD = {
    "lengths differ (scores)": (dict(s=[0.9, 0.2]), "y_score|score_a"),
    "lengths differ (labels)": (dict(y=[1, 0]), "y_true"),
    "labels not 0/1": (dict(y=[1, 2, 0]), "y_true"),
    "NaN label": (dict(y=[1, np.nan, 0]), "y_true"),
    "string labels": (dict(y=["yes", "no", "yes"]), "y_true"),
    "NaN score": (dict(s=[0.9, np.nan, 0.5]), "y_score|score_a"),
    "inf score": (dict(s=[0.9, np.inf, 0.5]), "y_score|score_a"),
    "string scores": (dict(s=["high", "low", "mid"]), "y_score|score_a"),
    "numeric strings": (dict(s=["0.9", "0.2", "0.5"]), "y_score|score_a"),
    "mixed objects": (dict(s=[0.9, "0.2", 0.5]), "y_score|score_a"),
    "None in scores": (dict(s=[0.9, None, 0.5]), "y_score|score_a"),
    "complex scores": (dict(s=[0.9 + 1j, 0.2, 0.5]), "y_score|score_a"),
    "2-d scores": (dict(s=[[0.9], [0.2], [0.5]]), "y_score|score_a"),
    "missing user": (dict(users=["a", None, "b"]), "user_ids"),
    "empty": (dict(users=[], y=[], s=[]), "user_ids"),
    "2-d users": (dict(users=[["a"], ["a"], ["b"]]), "user_ids"),
}


@pytest.mark.parametrize("function, case", [
    (function, case) for function in _ranking_calls() for case in RANKING_BAD
    if not (function == "ndcg_at_k" and case == "labels not 0/1")])  # NDCG takes graded relevance: 2 is a gain
def test_ranking_functions_name_the_bad_argument(function, case):
    kwargs, names = RANKING_BAD[case]
    with pytest.raises(ValueError, match=names):
        _ranking_calls(**kwargs)[function]()


@pytest.mark.parametrize("k", [0, -1, 2.0, 1.5, "3", True, None])
@pytest.mark.parametrize("function", ["ndcg_at_k", "recall_at_k"])
def test_k_must_be_an_integer_of_at_least_one(function, k):
    with pytest.raises(ValueError, match="k must be an integer"):
        _ranking_calls(k=k)[function]()


def test_numpy_integer_k_is_accepted():
    assert ranking.recall_at_k(U3, Y3, S3, np.int64(1)) == 1.0


OTHER_BAD = [
    (lambda: ranking.gauc(U3, Y3, S3, weight="clicks"), "weight"),
    (lambda: ranking.gauc(U3, [0, 0, 0], S3), "y_true: no user has both"),
    (lambda: ranking.ndcg_at_k(U3, [0, -1, 1], S3, 2), "y_true must hold relevance ≥ 0"),
    (lambda: ranking.ndcg_at_k(U3, [0, 0, 0], S3, 2), "y_true: no user has a relevant"),
    (lambda: ranking.ndcg_at_k(U3, Y3, S3, 2, ties="random"), "ties"),
    (lambda: ranking.recall_at_k(U3, [0, 0, 0], S3, 2), "y_true: no user has a positive"),
    (lambda: ranking.reliability_table(Y3, [0.9, 1.2, 0.5]), "y_prob must hold probabilities"),
    (lambda: ranking.reliability_table(Y3, [0.9, -0.1, 0.5]), "y_prob must hold probabilities"),
    (lambda: ranking.reliability_table(Y3, [0.9, np.nan, 0.5]), "y_prob"),
    (lambda: ranking.reliability_table([1, 0], S3), "y_true has 2 entries"),
    (lambda: ranking.reliability_table([1, 3, 0], S3), "y_true must hold 0/1"),
    (lambda: ranking.reliability_table(Y3, S3, 0), "n_bins"),
    (lambda: ranking.reliability_table(Y3, S3, 2.5), "n_bins"),
    (lambda: ranking.reliability_table(Y3, S3, True), "n_bins"),
    (lambda: ranking.reliability_table(Y3, S3, strategy="equal"), "strategy"),
    (lambda: ranking.expected_calibration_error(Y3, S3, -3), "n_bins"),
    (lambda: ranking.expected_calibration_error(Y3, [2.0, 0.1, 0.1]), "y_prob"),
    (lambda: ranking.expected_calibration_error(Y3, S3, strategy="Uniform"), "strategy"),
    (lambda: ranking.cost_threshold(Y3, S3, cost_false_positive=-1, cost_false_negative=1),
     "cost_false_positive"),
    (lambda: ranking.cost_threshold(Y3, S3, cost_false_positive=1, cost_false_negative=np.inf),
     "cost_false_negative"),
    (lambda: ranking.cost_threshold(Y3, S3, cost_false_positive=0, cost_false_negative=0), "both 0"),
    (lambda: ranking.cost_threshold(Y3, [0.9, 1.1, 0.5], cost_false_positive=1, cost_false_negative=1),
     "y_prob"),
    (lambda: ranking.cost_threshold([1, 0.5, 0], S3, cost_false_positive=1, cost_false_negative=1),
     "y_true"),
    (lambda: ranking.decision_cost(Y3, S3, np.nan, cost_false_positive=1, cost_false_negative=1), "threshold"),
    (lambda: ranking.binary_report(Y3, S3, float("nan")), "threshold"),
    (lambda: ranking.binary_report(Y3, S3, "0.5"), "threshold"),
    (lambda: ranking.binary_report(Y3, [0.9, 0.2], 0.5), "y_true has 3 entries"),
    (lambda: ranking.binary_report(Y3, [0.9, 0.2, 7], 0.5), "y_prob"),
    (lambda: ranking.paired_bootstrap(U3, Y3, S3, S3, metric="ndcg"), "metric"),
    (lambda: ranking.paired_bootstrap(U3, Y3, S3, S3, n_resamples=0), "n_resamples"),
    (lambda: ranking.paired_bootstrap(U3, Y3, S3, S3, n_resamples=10.0), "n_resamples"),
    (lambda: ranking.paired_bootstrap(U3, Y3, S3, S3, confidence=1.0), "confidence"),
    (lambda: ranking.paired_bootstrap(U3, Y3, S3, S3, confidence=95), "confidence"),
    (lambda: ranking.paired_bootstrap(U3, Y3, S3, S3, seed=-1), "seed"),
    (lambda: ranking.paired_bootstrap(U3, Y3, S3, S3, seed=1.5), "seed"),
    (lambda: ranking.paired_bootstrap(U3, Y3, S3, S3, weight="users"), "weight"),
    (lambda: ranking.paired_bootstrap(U3, Y3, S3, [0.1, 0.2]), "score_b"),
    (lambda: ranking.paired_bootstrap(U3, Y3, S3, [0.1, np.inf, 0.3]), "score_b"),
    (lambda: ranking.paired_bootstrap(U3, [1, 1, 1], S3, S3, metric="auc"), "y_true holds one class"),
    (lambda: ranking.paired_bootstrap(U3, [1, 1, 0], S3, S3, metric="gauc"), "y_true: no user has both"),
]


@pytest.mark.parametrize("case", range(len(OTHER_BAD)))
def test_other_bad_arguments_are_named(case):
    call, words = OTHER_BAD[case]
    with pytest.raises(ValueError, match=words):
        call()


def test_one_user_with_both_classes_is_enough_for_gauc():
    assert ranking.gauc(U3, [1, 0, 0], S3) == 1.0  # user a: 0.9 (click) above 0.2; user b has one class
