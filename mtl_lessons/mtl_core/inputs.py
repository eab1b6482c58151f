"""Checks of a ``ModelInputs`` against a model, and its labels and masks as matrices."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..data import ModelInputs, get_task
from .layout import task_tuple


# --------------------------------------------------------------------------- inputs
def check_inputs(inputs: ModelInputs, argument: str, *, cardinalities: Mapping[str, int],
                 n_numeric: int, tasks: str | Sequence[str] = (),
                 n_classes: Mapping[str, int] | None = None) -> int:
    """Check that ``inputs`` fits a model and carries usable labels for ``tasks``.

    Args:
        inputs: the arrays to check.
        argument: the caller's argument name, used in error messages (e.g. ``"train_inputs"``).
        cardinalities: the model's categorical features and their numbers of ids.
        n_numeric: the model's number of numeric columns.
        tasks: tasks whose labels and masks must be present (none for prediction).
        n_classes: classes of multi-class tasks (for the label range check).

    Returns:
        The number of rows n.

    Raises:
        ValueError: naming ``argument``: wrong type, arrays of different lengths, missing
            features or labels, ids out of range, NaN labels on rows the mask marks as
            labelled, labels of the wrong kind (binary not 0/1, class index out of range,
            infinite values), or a task without any labelled row.
    """
    if not isinstance(inputs, ModelInputs):
        raise ValueError(f"{argument} must be a ModelInputs (FeatureEncoder.transform output), "
                         f"got {type(inputs).__name__}")
    numeric = np.asarray(inputs.numeric)
    if numeric.ndim != 2 or numeric.shape[1] != n_numeric:
        raise ValueError(f"{argument}.numeric must have shape (n, {n_numeric}), got {numeric.shape}")
    n = numeric.shape[0]
    if not np.isfinite(numeric).all():
        raise ValueError(f"{argument}.numeric has NaN or infinite values")
    for name, cardinality in cardinalities.items():
        if name not in inputs.categorical:
            raise ValueError(f"{argument}.categorical lacks feature {name!r} that the model embeds")
        ids = np.asarray(inputs.categorical[name])
        if ids.ndim != 1 or len(ids) != n:
            raise ValueError(f"{argument}.categorical[{name!r}] has shape {ids.shape} but "
                             f"{argument}.numeric has {n} rows: arrays must have the same length")
        if not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"{argument}.categorical[{name!r}] must hold integer ids, got {ids.dtype}")
        if n and (ids.min() < 0 or ids.max() >= cardinality):
            raise ValueError(f"{argument}.categorical[{name!r}] has ids outside [0, {cardinality})")
    n_classes = {} if n_classes is None else n_classes
    for task in task_tuple(tasks):
        if task not in inputs.labels or task not in inputs.masks:
            raise ValueError(
                f"task {task!r} has no labels in {argument} (it has: {sorted(inputs.labels)}); "
                f"encode it with FeatureEncoder.transform(table, tasks=...)")
        labels = np.asarray(inputs.labels[task], dtype=np.float64)
        mask = np.asarray(inputs.masks[task])
        for what, array in (("labels", labels), ("masks", mask)):
            if array.shape != (n,):
                raise ValueError(f"{argument}.{what}[{task!r}] has shape {array.shape} but "
                                 f"{argument}.numeric has {n} rows: arrays must have the same length")
        if mask.dtype != bool:
            raise ValueError(f"{argument}.masks[{task!r}] must be a bool array, got {mask.dtype}")
        present = labels[mask]
        bad = int(np.isnan(present).sum())
        if bad:
            raise ValueError(f"{argument}.labels[{task!r}] has NaN on {bad} rows where "
                             f"{argument}.masks[{task!r}] is True")
        if not mask.any():
            raise ValueError(f"{argument}.masks[{task!r}] is all False: task {task!r} has no "
                             "labelled rows")
        kind = get_task(task).kind
        if kind == "binary" and not np.isin(present, (0.0, 1.0)).all():
            raise ValueError(f"{argument}.labels[{task!r}] must be 0 or 1 on labelled rows (binary task)")
        if kind == "multiclass":
            classes = n_classes.get(task)
            if (present != np.round(present)).any() or present.min() < 0 or (
                    classes is not None and present.max() >= classes):
                raise ValueError(f"{argument}.labels[{task!r}] must be class indices in "
                                 f"[0, {classes}) on labelled rows")
        if kind == "regression" and not np.isfinite(present).all():
            raise ValueError(f"{argument}.labels[{task!r}] has infinite values on labelled rows")
    return n


def label_matrices(inputs: ModelInputs, tasks: str | Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Labels and masks of ``tasks`` as two float32 matrices of shape (n, len(tasks)).

    Missing labels (mask False) are replaced by 0 here, before any framework sees them, so a
    NaN never enters a computation graph; the mask (1.0 / 0.0) then removes those rows from
    the loss. Column j belongs to ``tasks[j]`` (a bare string is one task).
    """
    tasks = task_tuple(tasks)
    if not tasks:
        return (np.zeros((len(inputs), 0), np.float32),) * 2
    masks = np.column_stack([np.asarray(inputs.masks[t], dtype=bool) for t in tasks])
    labels = np.column_stack([np.asarray(inputs.labels[t], dtype=np.float64) for t in tasks])
    labels = np.where(masks, labels, 0.0)
    return labels.astype(np.float32), masks.astype(np.float32)
