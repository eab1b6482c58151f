"""Checks of ``train``'s arguments: loss weights, the monitored metric, scalar settings,
embedding decay and per-layer learning rates (errors name the argument)."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..data import get_task
from .layout import _is_int, task_tuple

METRICS_BY_KIND: dict[str, tuple[str, ...]] = {
    "binary": ("auc", "log_loss", "accuracy", "precision", "recall", "f1"),
    "multiclass": ("accuracy", "log_loss", "macro_f1"),
    "regression": ("rmse", "mae"),
}
"""The validation metrics ``metrics.task_metrics`` reports for each task kind."""


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


ALL_TASKS = "all"
"""``monitor=("all", metric)`` scores the mean of ``metric`` over every trained task."""


def resolve_monitor(monitor: tuple[str, str] | None, tasks: str | Sequence[str]) -> tuple[str, str] | None:
    """Check ``monitor = (task, metric)``: the task is trained and reports that metric.

    ``("all", metric)`` monitors the mean of ``metric`` over the trained tasks (each must report
    it, e.g. ``("all", "auc")`` for binary tasks): one checkpoint that favours no task.

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
    if task == ALL_TASKS:
        for trained in tasks:
            allowed = METRICS_BY_KIND[get_task(trained).kind]
            if metric not in allowed:
                raise ValueError(f"monitor=('all', {metric!r}) needs every trained task to report {metric!r}, but "
                                 f"{get_task(trained).kind} task {trained!r} reports {list(allowed)}")
        return ALL_TASKS, str(metric)
    if task not in tasks:
        raise ValueError(f"monitor task {task!r} is not among the trained tasks {list(tasks)}; "
                         f"pass e.g. monitor=({tasks[0]!r}, {METRICS_BY_KIND[get_task(tasks[0]).kind][0]!r}) "
                         f"or ('all', metric)")
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
