"""The popularity baseline of lesson 02: score an item by its smoothed training rate.

No model, no features beyond the item id: the item's past rate of the task's label, shrunk
towards the overall rate so that rarely shown items are not scored 0 or 1 by chance.
Imports neither PyTorch nor TensorFlow.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .data import get_task, task_labels

__all__ = ["popularity_scores"]


def popularity_scores(train: pd.DataFrame, rows: pd.DataFrame, task: str,
                      smoothing: float = 100.0) -> np.ndarray:
    r"""Smoothed per-item mean of ``task``'s label in ``train``, looked up for ``rows``.

    .. math::

        \hat y_i = \frac{\sum_{r \in i} y_r + m\,\bar y}{n_i + m}

    with :math:`n_i` the labelled training rows of item i, :math:`\bar y` the mean label over
    all labelled training rows and :math:`m` = ``smoothing`` (pseudo-rows at the mean). An item
    never seen in training gets :math:`\bar y`.

    Args:
        train: ``join_features`` rows to learn from (e.g. ``split.train``).
        rows: ``join_features`` rows to score (e.g. ``split.test``).
        task: a binary or regression task (click rate, purchase rate, mean rating, ...).
        smoothing: m ≥ 0, the number of pseudo-rows at the overall mean.

    Returns:
        float64 array (len(rows),): a probability for binary tasks, a value for regression.

    Raises:
        ValueError: unknown or multi-class ``task``, negative ``smoothing``, no row of ``train``
            carries ``task``'s label (nothing to learn from).
    """
    spec = get_task(task)
    if spec.kind == "multiclass":
        raise ValueError(f"task {task!r} is multi-class; popularity_scores needs a binary or regression task")
    if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)) or not smoothing >= 0:
        raise ValueError(f"smoothing must be a number ≥ 0, got {smoothing!r}")
    labels = pd.Series(task_labels(train, task), index=train.index)
    labelled = labels.notna()
    if not labelled.any():
        rows_with = "every row" if spec.rows == "all" else f"rows with {spec.rows} = 1"
        raise ValueError(f"train has no rows that carry the label of task {task!r} ({len(train)} rows given; "
                         f"the label exists on {rows_with}): popularity_scores needs labelled training rows")
    overall = float(labels[labelled].mean())
    per_item = labels[labelled].groupby(train.loc[labelled, "item_id"]).agg(["sum", "count"])
    smoothed = (per_item["sum"] + smoothing * overall) / (per_item["count"] + smoothing)
    return rows["item_id"].map(smoothed).fillna(overall).to_numpy(dtype=np.float64)
