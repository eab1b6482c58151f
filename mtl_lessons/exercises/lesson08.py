"""Exercise checks for lesson 08 (see the package docstring for the contract).

Every check prints one line of feedback and never raises, whatever the answer is (an int, a float,
a NumPy scalar or one-element array, a PyTorch or TensorFlow tensor, a string such as ``"1.64"``,
``"3/4"`` or ``"0.75"``, None, a list, a dict, ...). The expected values are computed here from the
exercise's numbers, never typed in.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from sklearn.metrics import roc_auc_score

from .. import funnel
from ._feedback import _as_one, _finite_float, _never_raise, _plain, _remind_if_not_started, feedback

__all__ = ["lesson08_esmm_loss", "lesson08_cvr_auc"]

# Exercise 1's impression: the two towers' outputs, and its labels (clicked, not bought).
_P_CTR, _P_CVR = 0.2, 0.15
_CLICK, _PURCHASE = 1, 0

# Exercise 2's six test impressions and a model's pCVR on each.
_CLICKS = (1, 1, 1, 0, 1, 0)
_PURCHASES = (0, 1, 0, 0, 1, 0)
_P_CVRS = (0.30, 0.20, 0.10, 0.90, 0.40, 0.50)


def _bce(label: int, probability: float, log: Callable[[float], float] = math.log) -> float:
    """Binary cross-entropy ℓ(y, p) = −y·log p − (1 − y)·log(1 − p) of one impression (natural log by default)."""
    return -(label * log(probability) + (1 - label) * log(1.0 - probability))


def _esmm_loss(p_ctr: float = _P_CTR, p_cvr: float = _P_CVR, click: int = _CLICK, purchase: int = _PURCHASE, *,
               log: Callable[[float], float] = math.log, second: str = "product", click_term: bool = True,
               ctcvr_term: bool = True, cvr_term: int | None = None, mean: bool = False) -> float:
    """ESMM's loss of one impression (paper eq. 3): ℓ(click, pCTR) + ℓ(click ∧ purchase, pCTR × pCVR).

    The keyword arguments describe the usual slips so that the check can recognise them; their
    defaults give the true loss. ``second="cvr"``: pCVR instead of pCTR × pCVR in the second term;
    ``cvr_term=y``: a third term ℓ(y, pCVR) (ESMM has none); ``mean``: the two terms averaged."""
    terms = []
    if click_term:
        terms.append(_bce(click, p_ctr, log))
    if ctcvr_term:
        terms.append(_bce(click * purchase, p_ctr * p_cvr if second == "product" else p_cvr, log))
    if cvr_term is not None:
        terms.append(_bce(cvr_term, p_cvr, log))
    return sum(terms) / len(terms) if mean else sum(terms)


_LOSS_HINT = ("ESMM's loss of one impression has two terms, both binary cross-entropy with the natural log: "
              "ℓ(click, pCTR) + ℓ(click ∧ purchase, pCTR × pCVR), with ℓ(y, p) = −y·ln p − (1 − y)·ln(1 − p). "
              "There is no term on pCVR alone.")

# The usual slips of exercise 1 and what to say about each (never the number itself).
_LOSS_SLIPS = (
    ({"second": "cvr"}, "The second term scores pCTCVR = pCTR × pCVR, not pCVR: its label, click ∧ purchase, is "
                        "defined on every impression, and that is the probability of it."),
    ({"click_term": False}, "Add the click term ℓ(click = 1, pCTR) too: ESMM's loss is the sum of the CTR and the "
                            "CTCVR terms."),
    ({"ctcvr_term": False}, "That is only the click term; add the CTCVR term ℓ(click ∧ purchase = 0, pCTR × pCVR)."),
    ({"cvr_term": 0}, "ESMM has no CVR loss term: pCVR is learned only through the product pCTR × pCVR. Drop the "
                      "third term."),
    ({"cvr_term": 1}, "ESMM has no CVR loss term: pCVR is learned only through the product pCTR × pCVR. Drop the "
                      "third term."),
    ({"second": "cvr", "cvr_term": 0}, "ESMM has no CVR loss term, and its second term scores pCTR × pCVR."),
    ({"log": math.log10}, "Use the natural logarithm (ln), not log10."),
    ({"log": math.log2}, "Use the natural logarithm (ln), not log2."),
    ({"second": "cvr", "log": math.log10}, "Use the natural logarithm (ln), and score pCTR × pCVR in the second term."),
    ({"second": "cvr", "log": math.log2}, "Use the natural logarithm (ln), and score pCTR × pCVR in the second term."),
    ({"purchase": 1}, "The shopper did not buy: the label of the second term, click ∧ purchase, is 0."),
    ({"click": 0}, "The shopper clicked: the label of the click term is 1."),
    ({"mean": True}, "Eq. 3 adds the two terms; do not average them."),
)


def _near(number: float, target: float) -> bool:
    """``number`` matches ``target`` as a learner would round it (0.1 % or 5e-4)."""
    return math.isclose(number, target, rel_tol=1e-3, abs_tol=5e-4)


def _loss_hint(value) -> str:
    number = _finite_float(value)
    if number is None:
        return _LOSS_HINT
    for slip, hint in _LOSS_SLIPS:
        if _near(number, _esmm_loss(**slip)):
            return hint
    if _near(number, -_esmm_loss()):
        return "A cross-entropy is never negative: ℓ(y, p) = −y·ln p − (1 − y)·ln(1 − p)."
    if math.isclose(number, _esmm_loss(), rel_tol=1e-2):
        return "Close: give at least three decimals."
    return _LOSS_HINT


@_never_raise("Exercise 1", ". Give a single number.", detail=0)
def lesson08_esmm_loss(answer) -> None:
    """Exercise 08.1: ESMM's loss (eq. 3, natural log) of one impression with pCTR = 0.2 and pCVR = 0.15,
    clicked but not bought."""
    if _remind_if_not_started("Exercise 1", answer):
        return
    value = _as_one(answer)
    feedback("Exercise 1", value, _esmm_loss(), rel_tol=1e-3, hint=_loss_hint(value))


def _cvr_auc() -> float:
    """Exercise 2's expected answer: the AUC of pCVR against purchase over the clicked impressions."""
    return funnel.cvr_auc(np.asarray(_PURCHASES), np.asarray(_CLICKS), np.asarray(_P_CVRS))


def _all_rows_auc() -> float:
    """The slip of exercise 2: pCVR scored against purchase on all six impressions."""
    return float(roc_auc_score(np.asarray(_PURCHASES), np.asarray(_P_CVRS)))


_AUC_HINT = ("The paper's CVR AUC ranks pCVR against the purchase label on the clicked impressions only: "
             "keep the rows with click = 1, then count the (purchase, non-purchase) pairs in which the purchase "
             "has the higher pCVR, over all such pairs.")


def _auc_hint(value, percent: bool) -> str:
    number = _finite_float(value)
    if number is None:
        return _AUC_HINT
    if percent or (1.0 < number <= 100.0):
        return "Give the AUC as a fraction in [0, 1], not a percentage."
    if _near(number, _all_rows_auc()) or _near(number, 1.0 - _all_rows_auc()):
        return ("That scores all six impressions; only clicked impressions carry a purchase-given-click label, so the "
                "paper's CVR AUC keeps the rows with click = 1.")
    if _near(number, 1.0 - _cvr_auc()):
        return ("That is the AUC reversed: count the (purchase, non-purchase) pairs in which the purchase has the "
                "higher pCVR, not the lower.")
    if _near(number, float(roc_auc_score(np.asarray(_CLICKS), np.asarray(_P_CVRS)))):
        return "Score pCVR against the purchase label (on the clicked impressions), not against the click label."
    return _AUC_HINT


def _read_auc(answer) -> tuple[object, bool]:
    """The answer as :func:`_as_one` reads it, and whether it was written as a percentage (``"75%"``)."""
    plain = _plain(answer)
    if isinstance(plain, str) and plain.strip().endswith("%"):
        return _as_one(plain.strip()[:-1]), True
    return _as_one(answer), False


@_never_raise("Exercise 2", ". Give a single number.", detail=0)
def lesson08_cvr_auc(answer) -> None:
    """Exercise 08.2: the CVR AUC (ESMM's definition) of pCVR = [0.30, 0.20, 0.10, 0.90, 0.40, 0.50] on six test
    impressions with click = [1, 1, 1, 0, 1, 0] and purchase = [0, 1, 0, 0, 1, 0]."""
    if _remind_if_not_started("Exercise 2", answer):
        return
    value, percent = _read_auc(answer)
    if percent:
        print(f"Exercise 2: not yet — {_plain(answer)!r} is a percentage. {_auc_hint(value, True)}")
        return
    feedback("Exercise 2", value, _cvr_auc(), rel_tol=1e-3, hint=_auc_hint(value, False))
