"""The purchase funnel (click → add-to-cart → purchase): a label conditioned on the previous stage, and
the two AUCs of the ESMM paper (lesson 08). Plain NumPy and scikit-learn; no framework.

ESMM (Ma et al., SIGIR 2018, section 2) names three quantities of an impression with features x:

* pCTR  = P(click = 1 | x), learned on all impressions;
* pCVR  = P(purchase = 1 | click = 1, x), the post-click conversion rate;
* pCTCVR = P(click = 1, purchase = 1 | x) = pCTR × pCVR (eq. 1).

and scores them as the paper does (section 3.2): **CVR AUC** ranks pCVR against the purchase label on
the *clicked* test impressions only (the only ones where "purchase given click" is observed);
**CTCVR AUC** ranks pCTCVR against the purchase label (= click ∧ purchase, since a purchase needs a
click) on *all* test impressions. Scoring pCVR against purchase labels on all impressions measures
neither: it asks the CVR model to rank P(click ∧ purchase), which it was never meant to estimate.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from .data import ModelInputs, get_task


def condition_on(inputs: ModelInputs, task: str, given: str) -> ModelInputs:
    """A copy of ``inputs`` in which ``task``'s label exists only on rows whose ``given`` label is 1.

    With ``task="purchase", given="click"`` the purchase head of a model trained on the copy learns
    P(purchase | click, x), pCVR, from the clicked rows only: the "train on clicks" CVR model whose
    sample-selection bias ESMM removes. The rows themselves are all kept (features, other labels), so a
    model trained on the copy takes the same optimiser steps over the same batches as one trained on
    ``inputs``; its unclicked rows simply carry no purchase label.

    Raises:
        ValueError: ``task`` or ``given`` is not a label of ``inputs``, ``given`` is not a binary task,
            or ``given`` is missing on a row where ``task`` has a label.
    """
    for argument, name in (("task", task), ("given", given)):
        get_task(name)
        if name not in inputs.labels:
            raise ValueError(f"{argument}: {name!r} is not a label of inputs (it holds {', '.join(inputs.labels)}); "
                             f"encode it, e.g. encoder.transform(table, ({given!r}, {task!r}))")
    if get_task(given).kind != "binary":
        raise ValueError(f"given must be a binary task (a stage of the funnel), got {given!r} ({get_task(given).kind})")
    missing = inputs.masks[task] & ~inputs.masks[given]
    if missing.any():
        raise ValueError(f"given: {given!r} has no label on {int(missing.sum())} rows where {task!r} has one, so "
                         f"those rows cannot be kept or dropped by it")
    keep = inputs.masks[task] & (inputs.labels[given] == 1)
    labels = dict(inputs.labels)
    labels[task] = np.where(keep, inputs.labels[task], np.nan)
    masks = dict(inputs.masks)
    masks[task] = keep
    return ModelInputs(categorical=inputs.categorical, numeric=inputs.numeric, labels=labels, masks=masks)


def _labels(argument: str, values, n: int | None) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or (n is not None and len(values) != n):
        raise ValueError(f"{argument} must be a 1-d array" + (f" of length {n}" if n is not None else "")
                         + f", got shape {values.shape}")
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        raise ValueError(f"{argument} must hold 0/1 labels on every impression, found {values[bad][0]!r} on "
                         f"{int(bad.sum())} rows")
    return values


def _probabilities(argument: str, values, n: int) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (n,):
        raise ValueError(f"{argument} must be a 1-d array of length {n} (one probability per impression), "
                         f"got shape {values.shape}")
    bad = ~((values >= 0.0) & (values <= 1.0))  # NaN fails both
    if bad.any():
        raise ValueError(f"{argument} must hold probabilities in [0, 1], found {values[bad][0]!r} on "
                         f"{int(bad.sum())} rows")
    return values


def _auc(name: str, labels: np.ndarray, scores: np.ndarray) -> float:
    if len(np.unique(labels)) < 2:
        raise ValueError(f"{name} needs both purchases and non-purchases among the rows it scores "
                         f"({len(labels)} rows, all {labels[0] if len(labels) else 'absent'})")
    return float(roc_auc_score(labels, scores))


def cvr_auc(purchase, click, p_cvr) -> float:
    """CVR AUC as ESMM defines it: the AUC of ``p_cvr`` against ``purchase`` over the clicked rows.

    Args:
        purchase: 0/1 purchase labels of every impression, shape (n,).
        click: 0/1 click labels, shape (n,); a purchase must come with a click.
        p_cvr: predicted P(purchase | click, x), shape (n,) (rows without a click are ignored).

    Raises:
        ValueError: shapes differ, labels not 0/1, a purchase without a click, probabilities outside
            [0, 1] or NaN on any row, or the clicked rows hold only one class.
    """
    click = _labels("click", click, None)
    purchase = _labels("purchase", purchase, len(click))
    p_cvr = _probabilities("p_cvr", p_cvr, len(click))
    orphan = (purchase == 1) & (click == 0)
    if orphan.any():
        raise ValueError(f"purchase: {int(orphan.sum())} rows have a purchase without a click; the funnel "
                         f"requires purchase ⇒ click (are the arguments in the order purchase, click, p_cvr?)")
    clicked = click == 1
    return _auc("cvr_auc", purchase[clicked], p_cvr[clicked])


def ctcvr_auc(purchase, p_ctcvr) -> float:
    """CTCVR AUC as ESMM defines it: the AUC of ``p_ctcvr`` = pCTR × pCVR against ``purchase`` (which
    is click ∧ purchase) over all impressions.

    Args:
        purchase: 0/1 purchase labels of every impression, shape (n,).
        p_ctcvr: predicted P(click, purchase | x), shape (n,).

    Raises:
        ValueError: shapes differ, labels not 0/1, probabilities outside [0, 1] or NaN, one class only.
    """
    purchase = _labels("purchase", purchase, None)
    p_ctcvr = _probabilities("p_ctcvr", p_ctcvr, len(purchase))
    return _auc("ctcvr_auc", purchase, p_ctcvr)
