"""Lesson 08 exercise checks: every correct form is accepted, common slips get their hint, no input ever raises."""
from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mtl_lessons import exercises, funnel
from mtl_lessons.exercises import lesson08

torch = pytest.importorskip("torch")
torch_mtl = pytest.importorskip("mtl_lessons.torch_mtl")

P_CTR, P_CVR = 0.2, 0.15  # clicked, not bought
LOSS = -math.log(P_CTR) - math.log(1 - P_CTR * P_CVR)  # ℓ(1, pCTR) + ℓ(0, pCTR·pCVR), natural log

CLICK = np.array([1, 1, 1, 0, 1, 0])
PURCHASE = np.array([0, 1, 0, 0, 1, 0])
P_CVRS = np.array([0.30, 0.20, 0.10, 0.90, 0.40, 0.50])
CVR_AUC = 3 / 4  # clicked rows 0, 1, 2, 4: purchases 0.20, 0.40 vs 0.30, 0.10 → 3 of 4 pairs in order
ALL_ROWS_AUC = 3 / 8  # all six rows: purchases 0.20, 0.40 vs 0.30, 0.10, 0.90, 0.50 → 3 of 8 pairs


def _run(check, answer, capsys) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a check must not warn either
        assert check(answer) is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("Exercise"), out
    return out


WRONG = [..., None, "text", "", "/", "1/0", "a/b", "%", b"\xff", 10 ** 400, 1e400, float("nan"), float("inf"),
         -float("inf"), True, False, ["a", "list"], [1, 2], [[1]], (), {"a": 1}, {1, 2}, np.arange(4), np.array([]),
         np.array(["1.2"]), np.zeros((2, 2)), np.zeros((30, 30)), torch.arange(3), torch.tensor(float("nan")), 1 + 2j,
         object(), exercises.lesson08_cvr_auc]


# -- exercise 1: ESMM's loss of one impression ---------------------------------------------------------

def test_the_expected_loss_is_eq3_by_hand():
    assert math.isclose(lesson08._esmm_loss(), LOSS, rel_tol=1e-12)
    assert LOSS == pytest.approx(1.6399, abs=1e-4)


def test_the_expected_loss_is_the_packages_loss():
    """The same impression through the package: funnel_logits turns the towers' logits into logit(pCTR × pCVR),
    and binary cross-entropy on the joint logits, summed over the two stages, is the expected answer."""
    conditional = [torch.logit(torch.tensor([P_CTR], dtype=torch.float64)),
                   torch.logit(torch.tensor([P_CVR], dtype=torch.float64))]
    joint = torch_mtl.funnel_logits(conditional)
    labels = [torch.tensor([1.0], dtype=torch.float64), torch.tensor([0.0], dtype=torch.float64)]  # click, click ∧ purchase
    loss = sum(torch.nn.functional.binary_cross_entropy_with_logits(logit, label) for logit, label in zip(joint, labels))
    assert float(loss) == pytest.approx(lesson08._esmm_loss(), rel=1e-10)


def loss_forms(value: float) -> list:
    return [value, round(value, 3), round(value, 4), np.float64(value), np.float32(value), np.array(value),
            np.array([value]), np.array([[value]]), torch.tensor(value), torch.tensor([value], requires_grad=True),
            f"{value:.3f}", f" {value:.4f} ", [value], (value,), [np.float32(value)]]


@pytest.mark.parametrize("form", range(len(loss_forms(LOSS))))
def test_esmm_loss_accepts_every_correct_form(form, capsys):
    out = _run(exercises.lesson08_esmm_loss, loss_forms(LOSS)[form], capsys)
    assert "correct ✓" in out


def test_esmm_loss_accepts_a_tensorflow_scalar(capsys):
    tf = pytest.importorskip("tensorflow")
    out = _run(exercises.lesson08_esmm_loss, tf.constant(LOSS), capsys)
    assert "correct ✓" in out


SLIPS = {
    "pCVR in the second term": (-math.log(P_CTR) - math.log(1 - P_CVR), "pCTR × pCVR"),
    "no click term": (-math.log(1 - P_CTR * P_CVR), "click term"),
    "click term only": (-math.log(P_CTR), "CTCVR term"),
    "a CVR loss term": (LOSS - math.log(1 - P_CVR), "no CVR loss term"),
    "a CVR loss term, label 1": (LOSS - math.log(P_CVR), "no CVR loss term"),
    "log10": (LOSS / math.log(10), "natural logarithm"),
    "log2": (LOSS / math.log(2), "natural logarithm"),
    "purchase label 1": (-math.log(P_CTR) - math.log(P_CTR * P_CVR), "did not buy"),
    "click label 0": (-math.log(1 - P_CTR) - math.log(1 - P_CTR * P_CVR), "clicked"),
    "the mean of the terms": (LOSS / 2, "do not average"),
    "a negative sign": (-LOSS, "never negative"),
}


@pytest.mark.parametrize("slip", SLIPS)
@pytest.mark.parametrize("rounding", [None, 4, 3])
def test_esmm_loss_names_the_slip_without_the_number(slip, rounding, capsys):
    wrong, words = SLIPS[slip]
    wrong = wrong if rounding is None else round(wrong, rounding)
    out = _run(exercises.lesson08_esmm_loss, wrong, capsys)
    assert "not yet" in out and words in out, out
    assert f"{LOSS:.2f}" not in out.replace(repr(wrong), ""), out


def test_the_slips_are_distinct_from_the_answer_and_from_each_other():
    values = [lesson08._esmm_loss(**slip) for slip, _ in lesson08._LOSS_SLIPS]
    assert all(not lesson08._near(value, lesson08._esmm_loss()) for value in values)
    for i, a in enumerate(values):
        for b in values[i + 1:]:
            assert not lesson08._near(a, b)


@pytest.mark.parametrize("answer", [*WRONG, round(LOSS, 2) - 0.01, f"{LOSS:.1f}", 0.0, 1.0, LOSS * 1.01, str(LOSS + 0.01)],
                         ids=lambda a: type(a).__name__)
def test_esmm_loss_never_raises_and_never_passes_a_wrong_answer(answer, capsys):
    out = _run(exercises.lesson08_esmm_loss, answer, capsys)
    assert "correct ✓" not in out


def test_esmm_loss_general_hint_names_the_two_terms(capsys):
    out = _run(exercises.lesson08_esmm_loss, 1.0, capsys)
    assert "not yet" in out and "pCTR × pCVR" in out and "no term on pCVR" in out
    assert "three decimals" in _run(exercises.lesson08_esmm_loss, round(LOSS, 2) - 0.01, capsys)  # 1.63
    assert "correct ✓" in _run(exercises.lesson08_esmm_loss, round(LOSS, 2), capsys)  # 1.64 is within 0.1 %


# -- exercise 2: the paper's CVR AUC ---------------------------------------------------------------

def test_the_expected_auc_is_counted_by_hand():
    assert lesson08._cvr_auc() == funnel.cvr_auc(PURCHASE, CLICK, P_CVRS) == pytest.approx(CVR_AUC)
    clicked = CLICK == 1
    positives, negatives = P_CVRS[clicked & (PURCHASE == 1)], P_CVRS[clicked & (PURCHASE == 0)]
    pairs = [float(p > n) + 0.5 * float(p == n) for p in positives for n in negatives]
    assert np.mean(pairs) == pytest.approx(CVR_AUC)
    assert lesson08._all_rows_auc() == roc_auc_score(PURCHASE, P_CVRS) == pytest.approx(ALL_ROWS_AUC)


def auc_forms(value: float) -> list:
    return [value, np.float64(value), np.float32(value), np.array(value), np.array([value]), torch.tensor(value),
            torch.tensor([value], requires_grad=True), str(value), f" {value:.3f} ", "3/4", " 3 / 4 ", Fraction(3, 4),
            [value], (np.float32(value),)]


@pytest.mark.parametrize("form", range(len(auc_forms(CVR_AUC))))
def test_cvr_auc_accepts_every_correct_form(form, capsys):
    out = _run(exercises.lesson08_cvr_auc, auc_forms(CVR_AUC)[form], capsys)
    assert "correct ✓" in out


def test_cvr_auc_accepts_a_tensorflow_scalar(capsys):
    tf = pytest.importorskip("tensorflow")
    out = _run(exercises.lesson08_cvr_auc, tf.constant(CVR_AUC), capsys)
    assert "correct ✓" in out


@pytest.mark.parametrize("answer", [*WRONG, 75, "75%", " 75 % ", 0.7, 0.8, 1.0, 0.5, -CVR_AUC, ALL_ROWS_AUC,
                                    1 - CVR_AUC, "1/2"], ids=lambda a: type(a).__name__)
def test_cvr_auc_never_raises_and_never_passes_a_wrong_answer(answer, capsys):
    out = _run(exercises.lesson08_cvr_auc, answer, capsys)
    assert "correct ✓" not in out


@pytest.mark.parametrize("answer, words", [
    (ALL_ROWS_AUC, "only clicked impressions carry a purchase-given-click label"),
    (str(ALL_ROWS_AUC), "only clicked impressions carry a purchase-given-click label"),
    (1 - ALL_ROWS_AUC, "only clicked impressions"),
    (1 - CVR_AUC, "reversed"),
    (100 * CVR_AUC, "fraction in [0, 1]"),
    ("75%", "fraction in [0, 1]"),
    (100 * ALL_ROWS_AUC, "fraction in [0, 1]"),
    (roc_auc_score(CLICK, P_CVRS), "not against the click label"),
])
def test_cvr_auc_names_the_slip_without_the_number(answer, words, capsys):
    out = _run(exercises.lesson08_cvr_auc, answer, capsys)
    assert "not yet" in out and words in out, out
    assert "0.75" not in out and "3/4" not in out and "3 of 4" not in out, out


def test_cvr_auc_general_hint_says_clicked_rows(capsys):
    out = _run(exercises.lesson08_cvr_auc, 0.6, capsys)
    assert "not yet" in out and "clicked impressions only" in out


def test_not_started_is_named(capsys):
    for check in (exercises.lesson08_esmm_loss, exercises.lesson08_cvr_auc):
        for answer in (..., None):
            assert "not started" in _run(check, answer, capsys)


@pytest.mark.parametrize("check", [exercises.lesson08_esmm_loss, exercises.lesson08_cvr_auc])
def test_a_missing_or_extra_argument_never_raises(check, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check()
        check(1, 2)
        check(answer=1.0, extra=True)
    out = capsys.readouterr().out
    assert out.count("\n") == 3 and out.count("could not check") == 3, out


def test_the_checks_are_exported():
    assert {"lesson08_esmm_loss", "lesson08_cvr_auc"} <= set(exercises.__all__)
