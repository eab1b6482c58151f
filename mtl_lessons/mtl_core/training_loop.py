"""The training loop's framework-free parts: validation, early stopping, the history table,
the checked training plan and the per-epoch bookkeeping (``TrainingPlan``, ``EpochLog``)."""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tqdm import tqdm

from ..data import ModelInputs
from ..metrics import HIGHER_IS_BETTER, task_metrics
from .inputs import check_inputs, label_matrices
from .layout import model_tasks
from .objective import check_combine_tasks
from .training_args import (
    ALL_TASKS,
    check_training_args,
    resolve_embedding_decay,
    resolve_loss_weights,
    resolve_monitor,
)


# --------------------------------------------------------------------------- validation and history
def validation_score(task: str, metric: str, inputs: ModelInputs, prediction: np.ndarray) -> float:
    """``metric`` of ``task`` on ``inputs`` (rows its mask marks) via ``metrics.task_metrics``."""
    return task_metrics(task, inputs.labels[task], prediction, inputs.masks[task], only=metric)[metric]


class EarlyStopping:
    """Remembers the best epoch of a validation metric and says when to stop.

    Args:
        metric: a key of ``metrics.HIGHER_IS_BETTER``, which gives the direction
            (AUC up; RMSE and log loss down).
        patience: stop after this many epochs in a row without improvement; None: never stop.

    A NaN score (e.g. AUC of a split with one class) never counts as an improvement.
    """

    def __init__(self, metric: str, patience: int | None):
        if metric not in HIGHER_IS_BETTER:
            raise ValueError(f"metric must be one of {sorted(HIGHER_IS_BETTER)}, got {metric!r}")
        self.higher_is_better = HIGHER_IS_BETTER[metric]
        self.patience = patience
        self.best_score = math.nan
        self.best_epoch = 0  # 1-based; 0 before the first improvement
        self.bad_epochs = 0

    def update(self, epoch: int, score: float) -> bool:
        """Record ``score`` of ``epoch`` (1-based); return True if it is the best so far."""
        better = not math.isnan(score) and (
            math.isnan(self.best_score)
            or (score > self.best_score if self.higher_is_better else score < self.best_score))
        if better:
            self.best_score, self.best_epoch, self.bad_epochs = float(score), epoch, 0
        else:
            self.bad_epochs += 1
        return better

    @property
    def should_stop(self) -> bool:
        """True once ``patience`` epochs in a row brought no improvement."""
        return self.patience is not None and self.bad_epochs >= self.patience


def history_frame(rows: list[dict[str, float]], monitor: tuple[str, str] | None,
                  best_epoch: int) -> pd.DataFrame:
    """The training history: one row per epoch.

    Columns: ``epoch``; ``loss`` (the combined objective, mean over the epoch's batches) and
    ``loss_<task>`` (the task's training loss over all its labelled rows of the epoch, each
    batch's masked mean weighted by its number of labelled rows); ``valid_<task>_<metric>``
    when a metric is monitored; ``seconds`` (training time of the epoch, validation excluded);
    ``samples_per_second`` (training rows / ``seconds``); ``valid_seconds``. With
    ``monitor=("all", metric)`` there is ``valid_<task>_<metric>`` for each task and their mean
    ``valid_all_<metric>``. ``frame.attrs``
    holds ``monitor``, ``best_epoch`` (1-based; the epoch whose weights the model holds; 0 if no
    epoch had a valid score, then the last weights are kept) and ``best_score``.
    """
    frame = pd.DataFrame(rows)
    frame.attrs["monitor"] = monitor
    frame.attrs["best_epoch"] = best_epoch
    if monitor is not None and best_epoch:
        frame.attrs["best_score"] = float(frame.loc[best_epoch - 1, f"valid_{monitor[0]}_{monitor[1]}"])
    return frame


# --------------------------------------------------------------------------- the training loop's shared parts
@dataclass(frozen=True)
class TrainingPlan:
    """Everything ``train`` needs besides the model, checked and as NumPy arrays.

    Attributes:
        tasks: the trained tasks, in column order of ``labels`` and ``masks``.
        weights: task → loss weight.
        monitor: (task, metric) or None.
        table_decay: embedding feature → decoupled weight decay.
        categorical: int64 (n, n_features), the ids of the model's features in its order
            (row-major, so a mini-batch is one gather of rows).
        numeric: float32 (n, n_numeric).
        labels, masks: float32 (n, len(tasks)) (see :func:`label_matrices`).
    """

    tasks: tuple[str, ...]
    weights: dict[str, float]
    monitor: tuple[str, str] | None
    table_decay: dict[str, float]
    categorical: np.ndarray
    numeric: np.ndarray
    labels: np.ndarray
    masks: np.ndarray

    @property
    def n(self) -> int:
        return len(self.numeric)


def plan_training(model: Any, train_inputs: ModelInputs, valid_inputs: ModelInputs | None,
                  tasks: str | Sequence[str] | None, *, loss_weights: Mapping[str, float] | None,
                  epochs: int, batch_size: int, learning_rate: float, weight_decay: float,
                  embedding_weight_decay: float | Mapping[str, float] | None,
                  patience: int | None, monitor: tuple[str, str] | None, seed: int,
                  combine: Any = None) -> TrainingPlan:
    """Validate ``train``'s arguments (both frameworks) and lay the training split out as arrays.

    ``model`` is a ``torch_mtl`` or ``keras_mtl`` model: only its ``tasks``, ``cardinalities``,
    ``n_numeric``, ``n_classes`` and ``features.feature_names`` are read.

    Raises:
        ValueError: naming the argument (see ``train``).
    """
    tasks = model_tasks(model.tasks, tasks)
    check_combine_tasks(combine, tasks)
    weights = resolve_loss_weights(loss_weights, tasks)
    monitor = resolve_monitor(monitor, tasks)
    check_training_args(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                        weight_decay=weight_decay, patience=patience, seed=seed)
    names = model.features.feature_names
    table_decay = resolve_embedding_decay(embedding_weight_decay, weight_decay, names, learning_rate)
    check_inputs(train_inputs, "train_inputs", cardinalities=model.cardinalities,
                 n_numeric=model.n_numeric, tasks=tasks, n_classes=model.n_classes)
    if monitor is not None:
        if valid_inputs is None:
            raise ValueError("valid_inputs is required when monitor is set; "
                             "pass monitor=None to train without validation")
        check_inputs(valid_inputs, "valid_inputs", cardinalities=model.cardinalities, n_numeric=model.n_numeric,
                     tasks=tasks if monitor[0] == ALL_TASKS else (monitor[0],), n_classes=model.n_classes)
    labels, masks = label_matrices(train_inputs, tasks)
    return TrainingPlan(
        tasks=tasks, weights=weights, monitor=monitor, table_decay=table_decay,
        categorical=np.column_stack([np.asarray(train_inputs.categorical[f], np.int64) for f in names])
        if names else np.zeros((len(train_inputs), 0), np.int64),  # numeric columns only (synthetic tasks)
        numeric=np.asarray(train_inputs.numeric, dtype=np.float32), labels=labels, masks=masks)


class EpochLog:
    """The per-epoch bookkeeping of ``train`` in both frameworks: history rows, the combine
    hook, validation, early stopping and the progress bar.

    Args:
        plan: the :class:`TrainingPlan`.
        patience: as in ``train``.
        combine: the loss combination (its ``on_epoch_end``, if any, is called after each epoch).
        epochs: the maximum number of epochs (the bar's length).
        progress: show a tqdm bar.
        desc: the bar's label.
    """

    def __init__(self, plan: TrainingPlan, patience: int | None, combine: Any, epochs: int,
                 progress: bool, desc: str):
        self.plan = plan
        self.combine = combine
        self.stopper = EarlyStopping(plan.monitor[1], patience) if plan.monitor else None
        self.rows: list[dict[str, float]] = []
        self.bar = tqdm(total=epochs, desc=desc, disable=not progress, leave=False)

    def end_epoch(self, epoch: int, seconds: float, loss_sum: float, steps: int,
                  task_loss_sums: np.ndarray, label_counts: np.ndarray,
                  predict_valid: Callable[[tuple[str, ...]], dict[str, np.ndarray]],
                  valid_inputs: ModelInputs | None) -> bool:
        """Record epoch ``epoch`` (1-based) and return True if its weights are the best so far.

        Args:
            seconds: training time of the epoch.
            loss_sum, steps: sum of the batches' combined losses, and the number of batches.
            task_loss_sums: per task, Σ over batches of (masked-mean loss × labelled rows).
            label_counts: per task, the labelled rows seen in the epoch.
            predict_valid: tasks → the model's predictions on ``valid_inputs`` for those tasks, as a
                dict (called once per epoch, only when a metric is monitored).
        """
        tasks, monitor = self.plan.tasks, self.plan.monitor
        epoch_losses = (np.asarray(task_loss_sums) / np.maximum(label_counts, 1.0)).tolist()
        row = {"epoch": epoch, "loss": loss_sum / steps}
        row.update({f"loss_{t}": value for t, value in zip(tasks, epoch_losses)})
        if hasattr(self.combine, "on_epoch_end"):
            self.combine.on_epoch_end(dict(zip(tasks, epoch_losses)))
        valid_start = time.perf_counter()
        best = False
        if monitor is not None:
            task, metric = monitor
            if task == ALL_TASKS:  # the mean over the trained tasks; each task's score is recorded too
                predictions = predict_valid(tasks)  # one pass over the validation rows for every task
                scores = {t: validation_score(t, metric, valid_inputs, predictions[t]) for t in tasks}
                row.update({f"valid_{t}_{metric}": value for t, value in scores.items()})
                score = float(np.mean(list(scores.values())))
            else:
                score = validation_score(task, metric, valid_inputs, predict_valid((task,))[task])
            row[f"valid_{task}_{metric}"] = score
            best = self.stopper.update(epoch, score)
            self.bar.set_postfix({f"{task} {metric}": f"{score:.4f}"})
        row.update({"seconds": seconds, "samples_per_second": self.plan.n / seconds,
                    "valid_seconds": time.perf_counter() - valid_start})
        self.rows.append(row)
        self.bar.update(1)
        return best

    @property
    def should_stop(self) -> bool:
        return self.stopper is not None and self.stopper.should_stop

    def history(self) -> pd.DataFrame:
        """Close the bar and return the history (see :func:`history_frame`)."""
        self.bar.close()
        best_epoch = self.stopper.best_epoch if self.stopper is not None else len(self.rows)
        return history_frame(self.rows, self.plan.monitor, best_epoch)
