"""The framework-free half of the training core, shared by ``torch_mtl`` and ``keras_mtl``.

Everything here is plain Python and NumPy, so both framework modules use *one* definition of:

* the default embedding sizes and the layout of a model's inputs (:func:`embedding_dims`,
  :data:`NUMERIC_KEY`);
* argument validation with errors that name the argument (:func:`resolve_tasks`,
  :func:`check_inputs`, :func:`resolve_loss_weights`, :func:`resolve_monitor`, ...);
* the loss combination (:func:`combine_losses`), the one place a later lesson swaps for an
  adaptive weighting strategy;
* early-stopping bookkeeping (:class:`EarlyStopping`) and the training-history table.

Importing this module imports neither PyTorch nor TensorFlow.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tqdm import tqdm

from .data import TASKS, ModelInputs, get_task
from .metrics import HIGHER_IS_BETTER, task_metrics

__all__ = [
    "NUMERIC_KEY",
    "DEFAULT_EMBEDDING_DIM",
    "DEFAULT_EMBEDDING_DIMS",
    "METRICS_BY_KIND",
    "embedding_dims",
    "task_tuple",
    "resolve_tasks",
    "model_tasks",
    "resolve_n_classes",
    "output_size",
    "check_architecture",
    "check_inputs",
    "label_matrices",
    "resolve_loss_weights",
    "resolve_monitor",
    "check_positive_int",
    "check_training_args",
    "resolve_embedding_decay",
    "resolve_learning_rates",
    "combine_losses",
    "check_combine_tasks",
    "SOFT_SHARING_PENALTIES",
    "check_soft_sharing",
    "layer_of",
    "pick_weights",
    "validation_score",
    "EarlyStopping",
    "history_frame",
    "TrainingPlan",
    "plan_training",
    "EpochLog",
]

NUMERIC_KEY = "numeric"
"""Key of the standardised numeric columns, shape (n, n_numeric), in a model's input dict.
The other keys are the categorical feature names, each an int array of shape (n,)."""

DEFAULT_EMBEDDING_DIM = 4
"""Embedding size of a categorical feature not listed in :data:`DEFAULT_EMBEDDING_DIMS`."""

DEFAULT_EMBEDDING_DIMS: dict[str, int] = {"user_id": 8, "item_id": 8}
"""Embedding sizes of the high-cardinality features (thousands of ids)."""

METRICS_BY_KIND: dict[str, tuple[str, ...]] = {
    "binary": ("auc", "log_loss", "accuracy", "precision", "recall", "f1"),
    "multiclass": ("accuracy", "log_loss", "macro_f1"),
    "regression": ("rmse", "mae"),
}
"""The validation metrics ``metrics.task_metrics`` reports for each task kind."""


# --------------------------------------------------------------------------- architecture
def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def embedding_dims(cardinalities: Mapping[str, int],
                   dims: Mapping[str, int] | None = None) -> dict[str, int]:
    """Embedding size of every categorical feature, in ``cardinalities``' order.

    Args:
        cardinalities: feature name → number of ids (``FeatureEncoder.cardinalities``).
        dims: optional overrides, feature name → size; features not named get
            :data:`DEFAULT_EMBEDDING_DIMS` or else :data:`DEFAULT_EMBEDDING_DIM`.

    Raises:
        ValueError: ``dims`` names a feature not in ``cardinalities`` or a size that is not a
            positive int.
    """
    dims = {} if dims is None else dict(dims)
    unknown = [name for name in dims if name not in cardinalities]
    if unknown:
        raise ValueError(f"embedding_dims names features the model does not have: {unknown}; "
                         f"features: {list(cardinalities)}")
    out = {}
    for name in cardinalities:
        size = dims.get(name, DEFAULT_EMBEDDING_DIMS.get(name, DEFAULT_EMBEDDING_DIM))
        if not _is_int(size) or size < 1:
            raise ValueError(f"embedding_dims[{name!r}] must be a positive int, got {size!r}")
        out[name] = int(size)
    return out


def task_tuple(tasks: str | Iterable[str]) -> tuple:
    """``tasks`` as a tuple, a bare string counting as one task (``"click"`` → ``("click",)``,
    never ``("c", "l", ...)``); no other check (see :func:`resolve_tasks`)."""
    return (tasks,) if isinstance(tasks, str) else tuple(tasks)


def resolve_tasks(tasks: str | Sequence[str], argument: str = "tasks") -> tuple[str, ...]:
    """``tasks`` as a tuple of known, distinct task names (a bare string counts as one task).

    Raises:
        ValueError: empty, duplicated, or unknown names (the message lists the known tasks).
    """
    if isinstance(tasks, str):
        tasks = (tasks,)
    try:
        names = tuple(tasks)
    except TypeError:
        raise ValueError(f"{argument} must be a sequence of task names, got {tasks!r}") from None
    if not names:
        raise ValueError(f"{argument} must name at least one task; known tasks: {', '.join(TASKS)}")
    for name in names:
        if not isinstance(name, str) or name not in TASKS:
            raise ValueError(f"{argument}: unknown task {name!r}; known tasks: {', '.join(TASKS)}")
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ValueError(f"{argument} names a task more than once: {duplicated}")
    return names


def model_tasks(heads: Sequence[str], tasks: str | Sequence[str] | None) -> tuple[str, ...]:
    """The tasks to use: all of a model's ``heads`` if ``tasks`` is None, else ``tasks`` checked.

    Raises:
        ValueError: a task is unknown or the model has no head for it.
    """
    if tasks is None:
        return tuple(heads)
    tasks = resolve_tasks(tasks)
    missing = [task for task in tasks if task not in heads]
    if missing:
        raise ValueError(f"tasks {missing} have no head in this model (its tasks: {list(heads)})")
    return tasks


def resolve_n_classes(tasks: str | Sequence[str], n_classes: Mapping[str, int] | None) -> dict[str, int]:
    """Number of classes of each multi-class task in ``tasks`` (``FeatureEncoder.n_classes``).

    Raises:
        ValueError: a multi-class task has no entry in ``n_classes`` or fewer than 2 classes.
    """
    n_classes = {} if n_classes is None else dict(n_classes)
    out = {}
    for task in task_tuple(tasks):
        if get_task(task).kind != "multiclass":
            continue
        if task not in n_classes:
            raise ValueError(f"n_classes must give the number of classes of multi-class task "
                             f"{task!r}, e.g. n_classes=encoder.n_classes")
        value = n_classes[task]
        if not _is_int(value) or value < 2:
            raise ValueError(f"n_classes[{task!r}] must be an int ≥ 2, got {value!r}")
        out[task] = int(value)
    return out


def output_size(task: str, n_classes: Mapping[str, int]) -> int:
    """Width of ``task``'s head: 1 (binary logit or regression value) or the number of classes."""
    return n_classes[task] if get_task(task).kind == "multiclass" else 1


def check_architecture(cardinalities: Mapping[str, int], n_numeric: int,
                       layers: Mapping[str, Sequence[int]], dropout: float) -> None:
    """Validate model-constructor arguments.

    Args:
        cardinalities: feature name → number of ids (each a positive int).
        n_numeric: number of numeric columns (int ≥ 0).
        layers: argument name → hidden sizes, e.g. ``{"bottom": (128, 64), "tower": ()}``.
        dropout: dropout rate in [0, 1).
    """
    if not isinstance(cardinalities, Mapping) or not cardinalities:
        raise ValueError("cardinalities must be a non-empty dict feature name → number of ids")
    for name, value in cardinalities.items():
        if not isinstance(name, str) or name == NUMERIC_KEY:
            raise ValueError(f"cardinalities: feature names must be strings other than "
                             f"{NUMERIC_KEY!r}, got {name!r}")
        if not _is_int(value) or value < 1:
            raise ValueError(f"cardinalities[{name!r}] must be a positive int, got {value!r}")
    if not _is_int(n_numeric) or n_numeric < 0:
        raise ValueError(f"n_numeric must be an int ≥ 0, got {n_numeric!r}")
    for argument, sizes in layers.items():
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or any(
                not _is_int(s) or s < 1 for s in sizes):
            raise ValueError(f"{argument} must be a tuple of positive ints (layer sizes), got {sizes!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")


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


# --------------------------------------------------------------------------- training arguments
def resolve_loss_weights(loss_weights: Mapping[str, float] | None,
                         tasks: str | Sequence[str]) -> dict[str, float]:
    """Per-task loss weights: 1.0 for every task in ``tasks`` unless ``loss_weights`` says otherwise.

    Raises:
        ValueError: ``loss_weights`` names a task that is not trained, a weight that is
            negative or not a finite number, or every weight is 0 (the objective would be 0
            and training would change nothing).
    """
    tasks = task_tuple(tasks)
    loss_weights = {} if loss_weights is None else dict(loss_weights)
    unknown = [task for task in loss_weights if task not in tasks]
    if unknown:
        raise ValueError(f"loss_weights names tasks that are not trained: {unknown}; "
                         f"trained tasks: {list(tasks)}")
    out = {}
    for task in tasks:
        weight = loss_weights.get(task, 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.integer, np.floating)) \
                or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"loss_weights[{task!r}] must be a finite number ≥ 0, got {weight!r}")
        out[task] = float(weight)
    if out and not any(out.values()):
        raise ValueError(f"loss_weights are all 0 ({out}): the objective would be 0 and training would "
                         f"change nothing; give at least one trained task a weight > 0 (to leave a task "
                         f"out, leave it out of tasks=...)")
    return out


def resolve_monitor(monitor: tuple[str, str] | None, tasks: str | Sequence[str]) -> tuple[str, str] | None:
    """Check ``monitor = (task, metric)``: the task is trained and reports that metric.

    Returns:
        ``monitor`` as a tuple, or None (no validation, no early stopping).
    """
    tasks = task_tuple(tasks)
    if monitor is None:
        return None
    if isinstance(monitor, str) or not isinstance(monitor, Sequence) or len(monitor) != 2:
        raise ValueError(f"monitor must be a (task, metric) pair such as ('purchase', 'auc') or "
                         f"None, got {monitor!r}")
    task, metric = monitor
    if task not in tasks:
        raise ValueError(f"monitor task {task!r} is not among the trained tasks {list(tasks)}; "
                         f"pass e.g. monitor=({tasks[0]!r}, {METRICS_BY_KIND[get_task(tasks[0]).kind][0]!r})")
    allowed = METRICS_BY_KIND[get_task(task).kind]
    if metric not in allowed:
        raise ValueError(f"monitor metric {metric!r} is not reported for {get_task(task).kind} "
                         f"task {task!r}; choose one of {list(allowed)}")
    return str(task), str(metric)


def check_positive_int(argument: str, value: object) -> int:
    """``value`` if it is an int ≥ 1, else ValueError naming ``argument``."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"{argument} must be an int ≥ 1, got {value!r}")
    return int(value)


def _check_rate(name: str, value: object, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be a finite number {'> 0' if positive else '≥ 0'}, got {value!r}")
    return float(value)


def check_training_args(*, epochs: int, batch_size: int, learning_rate: float,
                        weight_decay: float, patience: int | None, seed: int) -> None:
    """Validate the scalar arguments of ``train`` (errors name the argument)."""
    for name, value, low in (("epochs", epochs, 1), ("batch_size", batch_size, 1), ("seed", seed, 0)):
        if not _is_int(value) or value < low:
            raise ValueError(f"{name} must be an int ≥ {low}, got {value!r}")
    if patience is not None and (not _is_int(patience) or patience < 1):
        raise ValueError(f"patience must be an int ≥ 1 or None (never stop early), got {patience!r}")
    _check_rate("learning_rate", learning_rate, positive=True)
    _check_rate("weight_decay", weight_decay)
    if learning_rate * weight_decay >= 1:
        raise ValueError("weight_decay × learning_rate must be < 1 (each step multiplies weights by "
                         f"1 − learning_rate × weight_decay), got {learning_rate * weight_decay!r}")


def resolve_embedding_decay(embedding_weight_decay: float | Mapping[str, float] | None,
                            weight_decay: float, features: Sequence[str],
                            learning_rate: float) -> dict[str, float]:
    """The decoupled weight decay of each embedding table.

    Args:
        embedding_weight_decay: None (every table gets ``weight_decay``), one number for every
            table, or feature name → decay (tables not named get ``weight_decay``).
        weight_decay: the dense layers' decay.
        features: the model's categorical features.
        learning_rate: the step size (decay × learning_rate must stay below 1).

    Raises:
        ValueError: naming ``embedding_weight_decay``: unknown features or bad values.
    """
    if embedding_weight_decay is None:
        decay = {name: weight_decay for name in features}
    elif isinstance(embedding_weight_decay, Mapping):
        unknown = [name for name in embedding_weight_decay if name not in features]
        if unknown:
            raise ValueError(f"embedding_weight_decay names features the model does not embed: "
                             f"{unknown}; features: {list(features)}")
        decay = {name: embedding_weight_decay.get(name, weight_decay) for name in features}
    else:
        decay = {name: embedding_weight_decay for name in features}
    out = {}
    for name, value in decay.items():
        value = _check_rate(f"embedding_weight_decay[{name!r}]", value)
        if learning_rate * value >= 1:
            raise ValueError(f"embedding_weight_decay[{name!r}] × learning_rate must be < 1 (each step "
                             f"multiplies the table by 1 − learning_rate × decay), got {learning_rate * value!r}")
        out[name] = value
    return out


def resolve_learning_rates(learning_rates: Mapping[str, float] | None, layers: Sequence[str],
                           learning_rate: float, *, weight_decay: float = 0.0,
                           table_decay: Mapping[str, float] | None = None) -> dict[str, float]:
    """The Adam step size of each of a model's layers (``train(..., learning_rates=...)``).

    Args:
        learning_rates: None (every layer gets ``learning_rate``) or layer-name prefix → step
            size, in the framework-neutral naming of ``export_weights`` (``"features"``,
            ``"features.item_id"``, ``"bottom"``, ``"bottom.1"``, ``"towers.click"``,
            ``"heads.purchase"``, ...). A prefix matches a layer whose name equals it or starts
            with it followed by ``"."``; where several match, the longest wins; layers no
            prefix matches get ``learning_rate``.
        layers: the model's layer names (``features.<feature>``, ``bottom.<i>``,
            ``towers.<task>.<i>``, ``heads.<task>``).
        learning_rate: the default step size.
        weight_decay, table_decay: the dense layers' and each embedding table's (feature →)
            decoupled decay; every step multiplies a weight by 1 − rate × decay, so each
            product must stay below 1.

    Returns:
        layer → step size, for every layer in ``layers`` (in that order).

    Raises:
        ValueError: naming ``learning_rates``: not a mapping of strings, a prefix that matches
            none of the model's layers (the message lists them), a rate that is not a finite
            number > 0, or a rate × decay ≥ 1.
    """
    if learning_rates is None:
        return {layer: float(learning_rate) for layer in layers}
    if not isinstance(learning_rates, Mapping):
        raise ValueError(f"learning_rates must be None or a dict layer-name prefix → step size, such as "
                         f"{{'features': 1e-3, 'heads.purchase': 5e-3}}, got {learning_rates!r}")
    rates: dict[str, float] = {}
    for prefix, rate in learning_rates.items():
        if not isinstance(prefix, str) or not any(layer == prefix or layer.startswith(prefix + ".")
                                                  for layer in layers):
            raise ValueError(f"learning_rates: {prefix!r} matches none of the model's layers; "
                             f"its layers are {list(layers)} (a prefix such as 'features', 'bottom' or "
                             f"'heads.<task>' selects every layer under it)")
        rates[prefix] = _check_rate(f"learning_rates[{prefix!r}]", rate, positive=True)
    table_decay = {} if table_decay is None else table_decay
    out = {}
    for layer in layers:
        matching = [p for p in rates if layer == p or layer.startswith(p + ".")]
        rate = rates[max(matching, key=len)] if matching else float(learning_rate)
        decay = table_decay.get(layer[len("features."):], weight_decay) if layer.startswith("features.") \
            else weight_decay
        if rate * decay >= 1:
            raise ValueError(f"learning_rates: layer {layer!r} has step size {rate!r} and decay {decay!r}; "
                             f"their product must be < 1 (each step multiplies its weights by 1 − rate × decay)")
        out[layer] = rate
    return out


# --------------------------------------------------------------------------- loss combination
def combine_losses(task_losses: Mapping[str, Any], weights: Mapping[str, float]) -> Any:
    """The training objective: the weighted sum Σ_t w_t · L_t of the per-task losses.

    Works on framework tensors (each ``L_t`` a scalar tensor) and on plain floats. This is the
    one place ``train`` combines task losses; pass another callable with the same signature
    as ``train(..., combine=...)`` to weight tasks differently.

    Args:
        task_losses: task → scalar loss (the masked mean over that task's labelled rows).
        weights: task → weight ≥ 0 (every task of ``task_losses`` must have one).
    """
    total = 0.0
    for task, loss in task_losses.items():
        total = total + weights[task] * loss
    return total


def check_combine_tasks(combine: object, tasks: Sequence[str]) -> None:
    """Refuse a ``combine`` built for other tasks than the trained ``tasks``.

    A weighting strategy (``UncertaintyWeighting``, ``GradNorm``, ``DynamicWeightAverage``)
    has a ``tasks`` attribute; a task it lacks would silently leave the objective (its head
    never trained while the history still shows its loss), and a task it has but ``train``
    does not train has no loss. A ``combine`` without ``tasks`` (a plain function) is not checked.

    Raises:
        ValueError: naming both task sets, the missing and the extra tasks.
    """
    own = getattr(combine, "tasks", None)
    if own is None:
        return
    own = task_tuple(own)
    missing = [task for task in tasks if task not in own]
    extra = [task for task in own if task not in tasks]
    if missing or extra:
        name = type(combine).__name__
        parts = ([f"it lacks the trained tasks {missing} (they would leave the objective)"] if missing else []) + (
            [f"it has tasks {extra} that are not trained"] if extra else [])
        raise ValueError(f"combine={name} was built for tasks {list(own)} but train trains {list(tasks)}: "
                         f"{' and '.join(parts)}; build it with the trained tasks, e.g. "
                         f"{name}({tuple(tasks)!r}, ...)")


SOFT_SHARING_PENALTIES = ("coupling", "norm")
"""The two penalties a ``SoftSharingModel`` can add to the objective (λ = ``coupling``):

* ``"coupling"``: λ Σ_{t<s} Σ_l ‖θ_t^l − θ_s^l‖², the soft-sharing penalty of Duong et al. (2015):
  it pulls every pair of task towers towards each other, layer by layer;
* ``"norm"``: λ Σ_t Σ_l ‖θ_t^l‖², the formula some course texts give for soft sharing, which is plain L2 regularisation
  (weight decay): it shrinks each tower towards zero and does not couple the tasks at all.

θ_t^l is the kernel and the bias of layer l of task t's tower; the heads are not penalised.
"""


def check_soft_sharing(tower: Sequence[int], coupling: float, penalty: str) -> tuple[float, str]:
    """Validate a soft-sharing model's arguments; return ``(coupling, penalty)``.

    Raises:
        ValueError: ``tower`` is empty (there would be nothing to couple), ``coupling`` is not
            a finite number ≥ 0, or ``penalty`` is not one of :data:`SOFT_SHARING_PENALTIES`.
    """
    if isinstance(tower, Sequence) and not isinstance(tower, (str, bytes)) and len(tower) == 0:
        raise ValueError("tower must have at least one layer in a soft-sharing model, got ()")
    if isinstance(coupling, bool) or not isinstance(coupling, (int, float, np.integer, np.floating)) \
            or not math.isfinite(coupling) or coupling < 0:
        raise ValueError(f"coupling must be a finite number ≥ 0 (the penalty strength λ), got {coupling!r}")
    if penalty not in SOFT_SHARING_PENALTIES:
        raise ValueError(f"penalty must be one of {SOFT_SHARING_PENALTIES}, got {penalty!r}")
    return float(coupling), penalty


# --------------------------------------------------------------------------- loading weights
def layer_of(name: str) -> str:
    """The layer of a framework-neutral weight name: ``bottom.0.kernel`` → ``bottom.0``; ``features.x`` → itself."""
    return name if name.startswith("features.") else name.rsplit(".", 1)[0]


def weights_checksum(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 (hex) of named arrays: for each name in sorted order, its name, dtype, shape and bytes.

    ``save_weights`` of both frameworks stores it with the file and ``load_weights`` recomputes it
    over what it read, so a damaged file (a flipped byte in the data, a name, a dtype or a shape)
    is refused instead of loading different weights. The dtype is hashed as stored (``'<f4'``), so a
    file whose bytes are re-read under another dtype or byte order does not match either.
    """
    import hashlib  # local: this section is the only user
    import json

    digest = hashlib.sha256(b"mtl_lessons.weights_checksum.v1\n")
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        header = json.dumps([str(name), value.dtype.str, list(value.shape)])
        digest.update(header.encode("utf-8") + b"\n")
        digest.update(value.tobytes())  # its length follows from the dtype and shape just hashed
    return digest.hexdigest()


def pick_weights(expected: Mapping[str, np.ndarray], found: Mapping[str, np.ndarray], path: Path,
                  layers: str | Iterable[str] | None) -> dict[str, np.ndarray]:
    """The entries of ``found`` (a file, neutral names) to load into a model whose weights are ``expected``.

    Raises a ValueError naming the layers when ``layers`` or the file does not fit the model.
    """
    prefixes: tuple[str, ...] = ()
    if layers is not None:
        prefixes = (layers,) if isinstance(layers, str) else tuple(layers)
        if not prefixes or not all(isinstance(p, str) and p for p in prefixes):
            raise ValueError(f"layers must be None or layer-name prefixes such as ('features', 'bottom'), "
                             f"got {layers!r}")

    def chosen(name: str) -> bool:
        return not prefixes or any(name == p or name.startswith(p + ".") for p in prefixes)

    unmatched = [p for p in prefixes if not any(name == p or name.startswith(p + ".") for name in found)]
    if unmatched:
        raise ValueError(f"load_weights: layers {unmatched} match nothing in '{path}', "
                         f"which holds the layers {sorted({layer_of(n) for n in found})}")
    wanted, given = {n for n in expected if chosen(n)}, {n for n in found if chosen(n)}
    missing, extra = sorted({layer_of(n) for n in wanted - given}), sorted({layer_of(n) for n in given - wanted})
    if missing or extra:
        hint = "" if prefixes else ("; to load only some layers (e.g. a pretrained feature extractor) "
                                    "pass layers=('features', 'bottom')")
        parts = ([f"the model's layers {missing} are not in the file"] if missing else []) + (
            [f"the file's layers {extra} are not in the model"] if extra else [])
        raise ValueError(f"load_weights: '{path}' does not fit the model: {' and '.join(parts)}{hint}")
    problems = []
    for name in (n for n in expected if n in wanted):
        part = "embedding table" if name.startswith("features.") else name.rsplit(".", 1)[1]
        value = np.asarray(found[name])
        if value.shape != expected[name].shape:
            problems.append(f"layer '{layer_of(name)}' {part} has shape {value.shape} in '{path}', "
                            f"the model needs {expected[name].shape}")
        elif not np.issubdtype(value.dtype, np.floating):
            problems.append(f"layer '{layer_of(name)}' {part} has dtype {value.dtype} in '{path}', "
                            f"the model needs floating point")
    if problems:
        raise ValueError("load_weights: " + "; ".join(problems))
    return {name: np.asarray(found[name]) for name in wanted}


# --------------------------------------------------------------------------- validation and history
def validation_score(task: str, metric: str, inputs: ModelInputs, prediction: np.ndarray) -> float:
    """``metric`` of ``task`` on ``inputs`` (rows its mask marks) via ``metrics.task_metrics``."""
    return task_metrics(task, inputs.labels[task], prediction, inputs.masks[task])[metric]


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
    ``samples_per_second`` (training rows / ``seconds``); ``valid_seconds``. ``frame.attrs``
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
        check_inputs(valid_inputs, "valid_inputs", cardinalities=model.cardinalities,
                     n_numeric=model.n_numeric, tasks=(monitor[0],), n_classes=model.n_classes)
    labels, masks = label_matrices(train_inputs, tasks)
    return TrainingPlan(
        tasks=tasks, weights=weights, monitor=monitor, table_decay=table_decay,
        categorical=np.column_stack([np.asarray(train_inputs.categorical[f], np.int64) for f in names]),
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
                  predict_valid: Callable[[str], np.ndarray], valid_inputs: ModelInputs | None) -> bool:
        """Record epoch ``epoch`` (1-based) and return True if its weights are the best so far.

        Args:
            seconds: training time of the epoch.
            loss_sum, steps: sum of the batches' combined losses, and the number of batches.
            task_loss_sums: per task, Σ over batches of (masked-mean loss × labelled rows).
            label_counts: per task, the labelled rows seen in the epoch.
            predict_valid: task → the model's predictions on ``valid_inputs`` (called only when
                a metric is monitored).
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
            score = validation_score(task, metric, valid_inputs, predict_valid(task))
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
