"""What ``train`` minimises: the combination of the per-task losses, and a soft-sharing model's penalty."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .layout import task_tuple


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
