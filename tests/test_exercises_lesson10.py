"""Lesson 10 exercise checks: every correct form is accepted, common slips get their hint, no input ever raises."""
from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mtl_lessons import exercises, ranking
from mtl_lessons.exercises import lesson10

# -- exercise 1's numbers, by hand ----------------------------------------------------------------
# Shopper A (5 impressions): clicks at 0.60, 0.40; non-clicks at 0.70, 0.20, 0.30.
#   0.60 beats 0.20, 0.30; 0.40 beats 0.20, 0.30 → 4 of 6 pairs → AUC_A = 2/3
# Shopper B (2 impressions): click 0.15 above non-click 0.10 → AUC_B = 1
# Shopper C (2 impressions): no click → no pair, no AUC: left out
# GAUC = (5 · 2/3 + 2 · 1) / (5 + 2) = 16/21 = 0.7619
GAUC = Fraction(16, 21)
UNWEIGHTED = (Fraction(2, 3) + 1) / 2  # 5/6
BY_CLICKS = (2 * Fraction(2, 3) + 1 * 1) / 3  # 7/9
# pooled: clicks 0.60, 0.40, 0.15 beat 4, 3, 1 of the six non-clicks 0.70, 0.20, 0.30, 0.10, 0.80, 0.50 → 8/18
POOLED = Fraction(8, 18)
C_AS = {extra: (5 * Fraction(2, 3) + 2 + 2 * Fraction(extra)) / 9 for extra in ("1/2", "1", "0")}
PLAIN_C_AS = {extra: (Fraction(2, 3) + 1 + Fraction(extra)) / 3 for extra in ("1/2", "1", "0")}

# -- exercise 2's numbers, by hand (5 bins of width 0.2) --------------------------------------------
#   bin [0, 0.2]:   p 0.05, 0.12, 0.18  labels 0, 1, 0  mean 0.11667 observed 1/3  gap +0.21667  n 3
#   bin (0.2, 0.4]: p 0.30              label 1         mean 0.3     observed 1    gap +0.7      n 1
#   bin (0.4, 0.6]: p 0.42, 0.58        labels 0, 0     mean 0.5     observed 0    gap −0.5      n 2
#   bin (0.6, 0.8]: p 0.66, 0.74        labels 1, 0     mean 0.7     observed 0.5  gap −0.2      n 2
#   bin (0.8, 1]:   p 0.86, 0.94        labels 1, 1     mean 0.9     observed 1    gap +0.1      n 2
# ECE = (3·0.21667 + 1·0.7 + 2·0.5 + 2·0.2 + 2·0.1) / 10 = 2.95 / 10 = 0.295
ECE = 0.295
ECE_UNWEIGHTED = (0.65 / 3 + 0.7 + 0.5 + 0.2 + 0.1) / 5  # 0.34333
ECE_SIGNED = (0.65 + 0.7 - 1.0 - 0.4 + 0.2) / 10  # 0.015: the gaps cancel
# thresholded at 0.5, accuracy per bin: 2/3, 0, 1/2, 1/2, 1 → |acc − mean|: 0.55, 0.3, 0, 0.2, 0.1
ECE_ACCURACY = (3 * 0.55 + 0.3 + 0 + 2 * 0.2 + 2 * 0.1) / 10  # 0.255


def _run(check, answer, capsys) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a check must not warn either
        assert check(answer) is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("Exercise"), out
    return out


WRONG = [..., None, "text", "", "/", "1/0", "a/b", "%", b"\xff", 10 ** 400, 1e400, float("nan"), float("inf"),
         -float("inf"), True, False, ["a", "list"], [1, 2], [[1]], (), {"a": 1}, {1, 2}, np.arange(4), np.array([]),
         np.array(["1.2"]), np.zeros((2, 2)), np.zeros((30, 30)), 1 + 2j, object(), exercises.lesson10_gauc]


def test_the_data_is_public_and_consistent():
    assert {"LESSON10_GAUC", "LESSON10_ECE", "lesson10_gauc", "lesson10_ece"} <= set(exercises.__all__)
    data = exercises.LESSON10_GAUC
    assert len(data["shopper"]) == len(data["click"]) == len(data["score"]) == 9
    assert len(set(data["shopper"])) == 3
    data = exercises.LESSON10_ECE
    assert len(data["probability"]) == len(data["label"]) == 10 and data["n_bins"] == 5
    edges = np.linspace(0, 1, 6)
    assert not np.isin(data["probability"], edges).any()  # no probability on a bin edge


# -- exercise 1: GAUC ---------------------------------------------------------------------------------

def test_the_expected_gauc_is_counted_by_hand():
    assert lesson10._gauc() == pytest.approx(float(GAUC), abs=1e-12)
    data = exercises.LESSON10_GAUC
    assert roc_auc_score(data["click"], data["score"]) == pytest.approx(float(POOLED))
    table = ranking.per_user_auc(data["shopper"], data["click"], data["score"])
    assert table["auc"].iloc[:2].tolist() == pytest.approx([2 / 3, 1.0]) and np.isnan(table["auc"].iloc[2])


def gauc_forms(value: float) -> list:
    return [value, round(value, 3), round(value, 4), np.float64(value), np.float32(value), np.array(value),
            np.array([value]), np.array([[value]]), f"{value:.3f}", f" {value:.4f} ", "16/21", " 16 / 21 ",
            Fraction(16, 21), [value], (np.float32(value),)]


@pytest.mark.parametrize("form", range(len(gauc_forms(float(GAUC)))))
def test_gauc_accepts_every_correct_form(form, capsys):
    out = _run(exercises.lesson10_gauc, gauc_forms(float(GAUC))[form], capsys)
    assert "correct ✓" in out


def test_gauc_accepts_framework_scalars(capsys):
    torch = pytest.importorskip("torch")
    assert "correct ✓" in _run(exercises.lesson10_gauc, torch.tensor(float(GAUC)), capsys)
    assert "correct ✓" in _run(exercises.lesson10_gauc, torch.tensor([float(GAUC)], requires_grad=True), capsys)


def test_gauc_accepts_a_tensorflow_scalar(capsys):
    tf = pytest.importorskip("tensorflow")
    assert "correct ✓" in _run(exercises.lesson10_gauc, tf.constant(float(GAUC)), capsys)


GAUC_SLIPS = {
    "plain mean of the AUCs": (UNWEIGHTED, "plain mean of the shoppers' AUCs"),
    "weighted by clicks": (BY_CLICKS, "weights each shopper by their clicks"),
    "global AUC": (POOLED, "global AUC of the nine impressions pooled"),
    "C counted as 0.5": (C_AS["1/2"], "instead of counting it as 0.5"),
    "C counted as 1": (C_AS["1"], "instead of counting it as 1"),
    "C counted as 0": (C_AS["0"], "instead of counting it as 0"),
    "plain mean, C as 0.5": (PLAIN_C_AS["1/2"], "leave out shopper C"),
    "plain mean, C as 1": (PLAIN_C_AS["1"], "leave out shopper C"),
    "plain mean, C as 0": (PLAIN_C_AS["0"], "leave out shopper C"),
    "reversed": (1 - GAUC, "reversed"),
    "a percentage": (100 * GAUC, "not a percentage"),
}


@pytest.mark.parametrize("slip", GAUC_SLIPS)
@pytest.mark.parametrize("rounding", [None, 4, 3])
def test_gauc_names_the_slip_without_the_number(slip, rounding, capsys):
    wrong, words = GAUC_SLIPS[slip]
    wrong = float(wrong) if rounding is None else round(float(wrong), rounding)
    out = _run(exercises.lesson10_gauc, wrong, capsys)
    assert "not yet" in out and words in out, out
    assert "0.76" not in out.replace(repr(wrong), "") and "16/21" not in out, out


def test_gauc_slips_are_distinct_from_the_answer_and_from_each_other():
    values = [value for value, _ in lesson10._gauc_slips()]
    assert all(not math.isclose(value, lesson10._gauc(), rel_tol=2e-2) for value in values)
    for i, a in enumerate(values):
        for b in values[i + 1:]:
            assert not lesson10._near(a, b)


@pytest.mark.parametrize("answer", [*WRONG, 0.5, 0.7, 0.8, 1.0, 0.0, -float(GAUC), "76.19%", " 76 % ", 76.19,
                                    float(GAUC) * 1.03, "5/6"], ids=lambda a: type(a).__name__)
def test_gauc_never_raises_and_never_passes_a_wrong_answer(answer, capsys):
    out = _run(exercises.lesson10_gauc, answer, capsys)
    assert "correct ✓" not in out


def test_gauc_general_and_close_hints(capsys):
    out = _run(exercises.lesson10_gauc, 0.6, capsys)
    assert "not yet" in out and "weighted by each shopper's number of impressions" in out
    assert "three decimals" in _run(exercises.lesson10_gauc, 0.76, capsys)
    assert "not a percentage" in _run(exercises.lesson10_gauc, "76.2%", capsys)


# -- exercise 2: ECE ----------------------------------------------------------------------------------

def test_the_expected_ece_is_computed_by_hand():
    assert lesson10._ece() == pytest.approx(ECE, abs=1e-12)
    data = exercises.LESSON10_ECE
    table = ranking.reliability_table(data["label"], data["probability"], data["n_bins"])
    assert table["count"].tolist() == [3, 1, 2, 2, 2]
    assert table["observed_rate"].tolist() == pytest.approx([1 / 3, 1.0, 0.0, 0.5, 1.0])
    assert table["mean_predicted"].tolist() == pytest.approx([0.35 / 3, 0.3, 0.5, 0.7, 0.9])


def ece_forms(value: float) -> list:
    return [value, round(value, 3), np.float64(value), np.float32(value), np.array(value), np.array([value]),
            str(value), f" {value:.3f} ", "59/200", Fraction(59, 200), [value], (np.float32(value),)]


@pytest.mark.parametrize("form", range(len(ece_forms(ECE))))
def test_ece_accepts_every_correct_form(form, capsys):
    out = _run(exercises.lesson10_ece, ece_forms(ECE)[form], capsys)
    assert "correct ✓" in out


def test_ece_accepts_framework_scalars(capsys):
    torch = pytest.importorskip("torch")
    assert "correct ✓" in _run(exercises.lesson10_ece, torch.tensor(ECE), capsys)
    assert "correct ✓" in _run(exercises.lesson10_ece, torch.tensor([ECE], requires_grad=True), capsys)


ECE_SLIPS = {
    "plain mean over bins": (ECE_UNWEIGHTED, "plain mean of the bins' gaps"),
    "signed gaps": (ECE_SIGNED, "absolute value"),
    "signed gaps, other sign": (-ECE_SIGNED, "absolute value"),
    "accuracy instead of the observed rate": (ECE_ACCURACY, "not with the accuracy of predictions thresholded"),
    "the largest gap": (0.7, "maximum calibration error"),
    "no bins": (np.mean(np.abs(np.array(exercises.LESSON10_ECE["label"])
                               - np.array(exercises.LESSON10_ECE["probability"]))), "Bin the predictions first"),
    "10 bins": (ranking.expected_calibration_error(exercises.LESSON10_ECE["label"],
                                                   exercises.LESSON10_ECE["probability"], 10), "not 10"),
    "2 bins": (ranking.expected_calibration_error(exercises.LESSON10_ECE["label"],
                                                  exercises.LESSON10_ECE["probability"], 2), "not 2"),
    "a percentage": (100 * ECE, "not a percentage"),
}


@pytest.mark.parametrize("slip", ECE_SLIPS)
@pytest.mark.parametrize("rounding", [None, 4, 3])
def test_ece_names_the_slip_without_the_number(slip, rounding, capsys):
    wrong, words = ECE_SLIPS[slip]
    wrong = float(wrong) if rounding is None else round(float(wrong), rounding)
    out = _run(exercises.lesson10_ece, wrong, capsys)
    assert "not yet" in out and words in out, out
    assert "0.295" not in out.replace(repr(wrong), ""), out


def test_ece_slips_are_distinct_from_the_answer_and_from_each_other():
    values = [value for value, _ in lesson10._ece_slips()]
    assert all(not math.isclose(value, lesson10._ece(), rel_tol=2e-2) for value in values)
    for i, a in enumerate(values):
        for b in values[i + 1:]:
            assert not lesson10._near(a, b)


@pytest.mark.parametrize("answer", [*WRONG, 0.2, 0.25, 0.5, 1.0, 0.0, -ECE, "29.5%", 29.5, ECE * 1.03, "1/3"],
                         ids=lambda a: type(a).__name__)
def test_ece_never_raises_and_never_passes_a_wrong_answer(answer, capsys):
    out = _run(exercises.lesson10_ece, answer, capsys)
    assert "correct ✓" not in out


def test_ece_general_and_close_hints(capsys):
    out = _run(exercises.lesson10_ece, 0.2, capsys)
    assert "not yet" in out and "equal-width bins" in out and "observed rate of positives" in out
    for rounded in (0.29, 0.3, "0.30"):
        assert "three decimals" in _run(exercises.lesson10_ece, rounded, capsys)


# -- both ---------------------------------------------------------------------------------------------

def test_not_started_is_named(capsys):
    for check in (exercises.lesson10_gauc, exercises.lesson10_ece):
        for answer in (..., None):
            assert "not started" in _run(check, answer, capsys)


@pytest.mark.parametrize("check", [exercises.lesson10_gauc, exercises.lesson10_ece])
def test_a_missing_or_extra_argument_never_raises(check, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check()
        check(1, 2)
        check(answer=0.5, extra=True)
    out = capsys.readouterr().out
    assert out.count("\n") == 3 and out.count("could not check") == 3, out


def test_the_checks_do_not_change_the_exercise_data(capsys):
    before = (dict(exercises.LESSON10_GAUC), dict(exercises.LESSON10_ECE))
    exercises.lesson10_gauc(0.5)
    exercises.lesson10_ece(0.5)
    capsys.readouterr()
    assert (dict(exercises.LESSON10_GAUC), dict(exercises.LESSON10_ECE)) == before
