"""Per-task evaluation that respects label masks, built on scikit-learn.

Each task type gets the metrics it calls for:

* binary: AUC, log loss, accuracy, precision, recall, F1 (at a 0.5 threshold on probabilities);
* multi-class: accuracy, log loss, macro F1;
* regression: RMSE, MAE.

Rows whose label is missing (NaN, or False in the mask) are left out of a task's metrics; they
are never counted as zeros.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from .data import _resolve_tasks, get_task, task_labels

__all__ = ["task_metrics", "evaluate", "oracle_lift", "oracle_scores", "HEADLINE", "HIGHER_IS_BETTER"]

HIGHER_IS_BETTER = {
    "auc": True, "log_loss": False, "accuracy": True, "precision": True, "recall": True,
    "f1": True, "macro_f1": True, "rmse": False, "mae": False,
}


HEADLINE = {"binary": "auc", "multiclass": "accuracy", "regression": "rmse"}
"""The one metric the lessons report first for each task kind."""


def _rows(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''}"


def _masked(task: str, y_true, y_pred, mask) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim != 1:
        raise ValueError(f"y_true for task {task!r} must have shape (n,), got {y_true.shape}")
    if len(y_pred) != len(y_true):
        raise ValueError(f"y_pred for task {task!r} has {len(y_pred)} rows, y_true has {len(y_true)}")
    keep = ~np.isnan(y_true)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != y_true.shape:
            raise ValueError(f"mask for task {task!r} must have shape {y_true.shape}, got {mask.shape}")
        keep &= mask
    y_true, y_pred = y_true[keep], y_pred[keep]
    infinite = np.isinf(y_true)
    if infinite.any():
        raise ValueError(f"y_true for task {task!r} has ±inf on {_rows(int(infinite.sum()))}: labels must be finite "
                         "numbers (NaN marks a missing label)")
    if np.isnan(y_pred).any():
        raise ValueError(f"y_pred for task {task!r} has NaN on rows that carry a label")
    infinite = np.isinf(y_pred)
    if infinite.any():
        rows = int(infinite.any(axis=1).sum()) if infinite.ndim == 2 else int(infinite.sum())
        raise ValueError(f"y_pred for task {task!r} has ±inf on {_rows(rows)} carrying a label: predictions must "
                         "be finite (probabilities for classification tasks)")
    return y_true, y_pred


def task_metrics(task: str, y_true, y_pred, mask=None, *, only: str | None = None) -> dict[str, float]:
    """Metrics of one task.

    Args:
        task: a name from ``mtl_lessons.data.TASKS``.
        y_true: labels, shape (n,); NaN where missing.
        y_pred: binary → P(label = 1), shape (n,); multi-class → class probabilities, shape
            (n, n_classes); regression → predicted values, shape (n,).
        mask: optional bool array (n,), True where the label counts.
        only: compute just this metric (e.g. ``"auc"``; early stopping needs one number per epoch).

    Returns:
        metric name → value, plus ``n`` (rows that carry a label).

    Raises:
        ValueError: unknown task, wrong shapes, no labelled rows, ±inf in a label, NaN or ±inf
            in a prediction on a labelled row, binary predictions outside [0, 1], an ``only``
            that the task's kind does not report.
    """
    kind = get_task(task).kind
    y_true, y_pred = _masked(task, y_true, y_pred, mask)
    if len(y_true) == 0:
        raise ValueError(f"task {task!r} has no labelled rows to evaluate")
    if kind == "binary":
        if y_pred.ndim != 1 or y_pred.min() < 0 or y_pred.max() > 1:
            raise ValueError(f"y_pred for binary task {task!r} must be probabilities in [0, 1], shape (n,)")
        hard = lambda: (y_pred >= 0.5).astype(int)  # noqa: E731
        compute = {
            "auc": lambda: skm.roc_auc_score(y_true, y_pred) if len(np.unique(y_true)) == 2 else np.nan,
            "log_loss": lambda: skm.log_loss(y_true, y_pred, labels=[0, 1]),
            "accuracy": lambda: skm.accuracy_score(y_true, hard()),
            "precision": lambda: skm.precision_score(y_true, hard(), zero_division=0),
            "recall": lambda: skm.recall_score(y_true, hard(), zero_division=0),
            "f1": lambda: skm.f1_score(y_true, hard(), zero_division=0),
        }
    elif kind == "multiclass":
        if y_pred.ndim != 2:
            raise ValueError(f"y_pred for multi-class task {task!r} must have shape (n, n_classes)")
        labels = np.arange(y_pred.shape[1])
        hard = lambda: y_pred.argmax(axis=1)  # noqa: E731
        compute = {
            "accuracy": lambda: skm.accuracy_score(y_true, hard()),
            "log_loss": lambda: skm.log_loss(y_true, y_pred, labels=labels),
            "macro_f1": lambda: skm.f1_score(y_true, hard(), labels=labels, average="macro", zero_division=0),
        }
    else:
        compute = {
            "rmse": lambda: float(np.sqrt(skm.mean_squared_error(y_true, y_pred))),
            "mae": lambda: skm.mean_absolute_error(y_true, y_pred),
        }
    if only is not None and only not in compute:
        raise ValueError(f"only={only!r} is not a metric of {kind} task {task!r}; choose one of {list(compute)}")
    out: dict[str, float] = {"n": float(len(y_true))}
    out.update({name: f() for name, f in compute.items() if only is None or name == only})
    return {k: float(v) for k, v in out.items()}


def evaluate(labels: Mapping[str, np.ndarray], predictions: Mapping[str, np.ndarray],
             masks: Mapping[str, np.ndarray] | None = None, model: str | None = None) -> pd.DataFrame:
    """Tidy table of every task's metrics: one row per (task, metric).

    Args:
        labels: task → labels (n,), as in ``ModelInputs.labels``.
        predictions: task → predictions (see ``task_metrics``); every key must be in ``labels``.
        masks: optional task → bool mask.
        model: optional name put in a ``model`` column.

    Returns:
        DataFrame with columns ``[model,] task, metric, value``.
    """
    unknown = set(predictions) - set(labels)
    if unknown:
        raise ValueError(f"predictions for tasks without labels: {sorted(unknown)}")
    rows = []
    for task, y_pred in predictions.items():
        mask = None if masks is None else masks.get(task)
        for metric, value in task_metrics(task, labels[task], y_pred, mask).items():
            rows.append({"task": task, "metric": metric, "value": value})
    table = pd.DataFrame(rows, columns=["task", "metric", "value"])
    if model is not None:
        table.insert(0, "model", model)
    return table


def oracle_lift(auc: float, oracle_auc: float) -> float:
    """Share of the oracle's lift over chance a model captures: (AUC − 0.5) / (AUC_oracle − 0.5)."""
    if not 0.5 < oracle_auc <= 1.0:
        raise ValueError(f"oracle_auc must be in (0.5, 1], got {oracle_auc}")
    return (auc - 0.5) / (oracle_auc - 0.5)


def oracle_scores(shop, table: pd.DataFrame, tasks) -> dict[str, float]:
    """The oracle's headline metric (:data:`HEADLINE`) of each task on the rows of ``table``.

    Args:
        shop: the ``data.Shop`` the rows come from (its oracle table is looked up by impression).
        table: a ``join_features`` table, e.g. ``split.test``.
        tasks: task names, or one name as a string.

    Returns:
        task → the oracle's AUC (binary), RMSE (regression) or accuracy (multi-class), on the
        rows that carry the task's label: the ceiling no model can beat except by chance.
    """
    tasks = _resolve_tasks(tasks)
    oracle = shop.oracle_for(table)
    out = {}
    for task in tasks:
        spec = get_task(task)
        labels = task_labels(table, task)
        best = oracle[spec.oracle].to_numpy()
        if spec.kind == "multiclass":
            codes = pd.Categorical(best, categories=table[spec.label].cat.categories).codes
            out[task] = float(np.mean(codes == labels))
        else:
            out[task] = task_metrics(task, labels, np.asarray(best, dtype=np.float64))[HEADLINE[spec.kind]]
    return out
