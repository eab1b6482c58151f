"""Exercise checks for lesson 10 (see the package docstring for the contract).

Every check prints one line of feedback and never raises, whatever the answer is (an int, a float,
a NumPy scalar or one-element array, a PyTorch or TensorFlow tensor, a string such as ``"0.762"``,
``"16/21"`` or ``"76.2%"``, None, a list, a dict, ...). The expected values are computed here from the
exercise's numbers with :mod:`mtl_lessons.ranking`, never typed in. The numbers themselves are the
public constants :data:`LESSON10_GAUC` and :data:`LESSON10_ECE`, so that the notebook prints them
instead of retyping them.
"""
from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import roc_auc_score

from .. import ranking
from ._feedback import _as_one, _finite_float, _never_raise, _plain, _remind_if_not_started, feedback

__all__ = ["LESSON10_GAUC", "LESSON10_ECE", "lesson10_gauc", "lesson10_ece"]

LESSON10_GAUC = {
    "shopper": ("A", "A", "A", "A", "A", "B", "B", "C", "C"),
    "click": (1, 0, 0, 1, 0, 0, 1, 0, 0),
    "score": (0.60, 0.70, 0.20, 0.40, 0.30, 0.10, 0.15, 0.80, 0.50),
}
"""Exercise 10.1: nine test impressions of three shoppers, whether each was clicked, and a model's score."""

LESSON10_ECE = {
    "probability": (0.05, 0.12, 0.18, 0.30, 0.42, 0.58, 0.66, 0.74, 0.86, 0.94),
    "label": (0, 1, 0, 1, 0, 0, 1, 0, 1, 1),
    "n_bins": 5,
}
"""Exercise 10.2: ten predicted probabilities, their labels, and the number of equal-width bins
([0, 0.2], (0.2, 0.4], …, (0.8, 1])."""


# -- reading an answer ------------------------------------------------------------------------------

def _read(answer) -> tuple[object, bool]:
    """The answer as :func:`_as_one` reads it, and whether it was written as a percentage (``"76%"``)."""
    plain = _plain(answer)
    if isinstance(plain, str) and plain.strip().endswith("%"):
        return _as_one(plain.strip()[:-1]), True
    return _as_one(answer), False


def _near(number: float, target: float) -> bool:
    """``number`` matches ``target`` as a learner would round it (0.1 % or 5e-4)."""
    return math.isclose(number, target, rel_tol=1e-3, abs_tol=5e-4)


def _slip_hint(value, percent: bool, expected: float, slips, general: str) -> str:
    """The hint of the first slip whose value ``value`` matches, else a percentage, "close" or the general hint."""
    number = _finite_float(value)
    if number is None:
        return general
    if percent or (1.0 < number <= 100.0):
        return "Give a fraction in [0, 1], not a percentage."
    for wrong, hint in slips:
        if _near(number, wrong):
            return hint
    if math.isclose(number, expected, rel_tol=2e-2):  # e.g. 0.29 or 0.3 for 0.295
        return "Close: give at least three decimals."
    return general


def _check(exercise: str, answer, expected: float, slips, general: str) -> None:
    if _remind_if_not_started(exercise, answer):
        return
    value, percent = _read(answer)
    if percent:
        print(f"{exercise}: not yet — {_plain(answer)!r} is a percentage. "
              f"{_slip_hint(value, True, expected, slips, general)}")
        return
    feedback(exercise, value, expected, rel_tol=1e-3, hint=_slip_hint(value, False, expected, slips, general))


# -- exercise 1: GAUC by hand ---------------------------------------------------------------------------

def _gauc_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.asarray(LESSON10_GAUC["shopper"]), np.asarray(LESSON10_GAUC["click"]),
            np.asarray(LESSON10_GAUC["score"], dtype=np.float64))


def _gauc() -> float:
    """Exercise 1's expected answer: GAUC weighted by impressions (DIN §6.3), shopper C left out."""
    return ranking.gauc(*_gauc_arrays())


def _gauc_slips() -> list[tuple[float, str]]:
    """The usual slips of exercise 1 (computed from the exercise's numbers) and what to say about each."""
    users, clicks, scores = _gauc_arrays()
    table = ranking.per_user_auc(users, clicks, scores)
    both = table[table["auc"].notna()]
    one_class = table[table["auc"].isna()]
    aucs, impressions = both["auc"].to_numpy(), both["impressions"].to_numpy(dtype=np.float64)
    pooled = float(roc_auc_score(clicks, scores))

    def weighted(extra: float) -> float:
        """Impression-weighted, with every one-class shopper counted at AUC = ``extra``."""
        return float((np.dot(impressions, aucs) + extra * one_class["impressions"].sum())
                     / (impressions.sum() + one_class["impressions"].sum()))

    def plain(extra: float) -> float:
        return float((aucs.sum() + extra * len(one_class)) / (len(aucs) + len(one_class)))

    no_pair = ("Shopper C never clicked, so C has no (click, non-click) pair to rank and no AUC: leave C out of "
               "both sums instead of counting it as")
    return [
        (float(aucs.mean()), "That is the plain mean of the shoppers' AUCs; GAUC weights each shopper's AUC by "
                             "their number of impressions."),
        (ranking.gauc(users, clicks, scores, weight="positives"),
         "That weights each shopper by their clicks; DIN's GAUC weights by impressions."),
        (pooled, "That is the global AUC of the nine impressions pooled; GAUC computes one AUC per shopper, "
                 "comparing only impressions of the same shopper, then averages them."),
        (weighted(0.5), f"{no_pair} 0.5."),
        (weighted(1.0), f"{no_pair} 1."),
        (weighted(0.0), f"{no_pair} 0 (its impressions belong in neither the numerator nor the denominator)."),
        (plain(0.5), "Weight each shopper's AUC by their impressions, and leave out shopper C (one class, no AUC)."),
        (plain(1.0), "Weight each shopper's AUC by their impressions, and leave out shopper C (one class, no AUC)."),
        (plain(0.0), "Weight each shopper's AUC by their impressions, and leave out shopper C (one class, no AUC)."),
        (1.0 - _gauc(), "That is the AUC reversed: count the (click, non-click) pairs in which the click has the "
                        "higher score, not the lower."),
    ]


_GAUC_HINT = ("Compute each shopper's AUC on their own impressions (the share of their (click, non-click) pairs "
              "in which the click scores higher), leave out a shopper with no such pair, then average the AUCs "
              "weighted by each shopper's number of impressions.")


@_never_raise("Exercise 1", ". Give a single number.", detail=0)
def lesson10_gauc(answer) -> None:
    """Exercise 10.1: the GAUC (weighted by impressions) of the model's scores in :data:`LESSON10_GAUC`."""
    _check("Exercise 1", answer, _gauc(), _gauc_slips(), _GAUC_HINT)


# -- exercise 2: expected calibration error by hand ------------------------------------------------------

def _ece_arrays() -> tuple[np.ndarray, np.ndarray, int]:
    return (np.asarray(LESSON10_ECE["label"]), np.asarray(LESSON10_ECE["probability"], dtype=np.float64),
            int(LESSON10_ECE["n_bins"]))


def _ece() -> float:
    """Exercise 2's expected answer: ECE over the equal-width bins (Guo et al. 2017 eq. 3)."""
    labels, probabilities, n_bins = _ece_arrays()
    return ranking.expected_calibration_error(labels, probabilities, n_bins)


def _ece_slips() -> list[tuple[float, str]]:
    labels, probabilities, n_bins = _ece_arrays()
    table = ranking.reliability_table(labels, probabilities, n_bins)
    full = table[table["count"] > 0]
    share = full["count"].to_numpy() / len(labels)
    gap = (full["observed_rate"] - full["mean_predicted"]).to_numpy()
    bins = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], probabilities)
    correct = labels == (probabilities >= 0.5)
    accuracy = np.array([correct[bins == b].mean() for b in full["bin"]])
    signed = "Take the absolute value of each bin's gap before adding: over- and under-confident bins cancel."
    return [
        (float(np.abs(gap).mean()), "That is the plain mean of the bins' gaps; weight each bin by its share of the "
                                    "predictions, n_b / N."),
        (float(np.dot(share, gap)), signed),
        (float(-np.dot(share, gap)), signed),
        (float(np.dot(share, np.abs(accuracy - full["mean_predicted"].to_numpy()))),
         "Compare each bin's mean predicted probability with the observed rate of positives in the bin (the share "
         "of labels equal to 1), not with the accuracy of predictions thresholded at 0.5."),
        (float(np.abs(gap).max()), "That is the largest gap (the maximum calibration error); ECE averages the gaps, "
                                   "weighting each bin by its share of the predictions."),
        (float(np.abs(labels - probabilities).mean()),
         "Bin the predictions first: ECE compares each bin's mean prediction with the bin's observed rate, not each "
         "label with its own prediction."),
        (ranking.expected_calibration_error(labels, probabilities, 10),
         f"Use {n_bins} equal-width bins, not 10."),
        (ranking.expected_calibration_error(labels, probabilities, 2), f"Use {n_bins} equal-width bins, not 2."),
    ]


_ECE_HINT = ("Put the probabilities in 5 equal-width bins ([0, 0.2], (0.2, 0.4], …), then add up, over the bins, "
             "(share of the predictions in the bin) × |observed rate of positives − mean predicted probability|.")


@_never_raise("Exercise 2", ". Give a single number.", detail=0)
def lesson10_ece(answer) -> None:
    """Exercise 10.2: the expected calibration error of :data:`LESSON10_ECE` over 5 equal-width bins."""
    _check("Exercise 2", answer, _ece(), _ece_slips(), _ECE_HINT)
