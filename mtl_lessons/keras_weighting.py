r"""Uncertainty weighting for :func:`mtl_lessons.keras_mtl.train` (Keras 3).

The twin of :class:`mtl_lessons.torch_weighting.UncertaintyWeighting` (Kendall, Gal & Cipolla
2018): learned :math:`s_t = \log\sigma_t^2`, objective :math:`\sum_t c_t e^{-s_t} L_t + \tfrac12 s_t`
with :math:`c_t` from :data:`mtl_lessons.weighting.UNCERTAINTY_SCALE` (½ regression, 1 classification).
GradNorm and Dynamic Weight Average are PyTorch only in this course: Keras' compiled training
step would freeze weights that change between steps from Python, and working around that
(weights as variables fed into the step, a second tape for GradNorm's norms) would hide the idea.
Imports keras and tensorflow, never torch.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from . import keras_mtl  # noqa: F401 - sets Keras' environment defaults before keras is imported
import keras  # noqa: E402
from keras import ops  # noqa: E402

from .mtl_core import resolve_tasks  # noqa: E402
from .weighting import check_strategy_call, uncertainty_scales  # noqa: E402

__all__ = ["UncertaintyWeighting"]


class UncertaintyWeighting:
    r"""Uncertainty weighting (Kendall et al. 2018): one learned :math:`s_t = \log\sigma_t^2` per task.

    ``train`` optimises :attr:`trainable_variables` (the log-variances, without weight decay)
    with the model. See :class:`mtl_lessons.torch_weighting.UncertaintyWeighting`.

    Args:
        tasks: the trained tasks.
        initial_log_variance: :math:`s_t` at the start (0: σ = 1).
    """

    def __init__(self, tasks: Sequence[str], initial_log_variance: float = 0.0):
        self.tasks = resolve_tasks(tasks)
        self.scales = np.asarray(uncertainty_scales(self.tasks), dtype=np.float32)
        self.log_variances = keras.Variable(np.full(len(self.tasks), float(initial_log_variance), np.float32),
                                            name="log_variances")
        self.history: list[dict[str, float]] = [self.weights()]

    @property
    def trainable_variables(self) -> list[keras.Variable]:
        return [self.log_variances]

    def __call__(self, task_losses: Mapping[str, object], weights: Mapping[str, float] | None = None):
        losses = ops.stack(check_strategy_call(task_losses, weights, self.tasks, "UncertaintyWeighting"))
        s = self.log_variances
        return ops.sum(self.scales * ops.exp(-s) * losses + 0.5 * s)

    def weights(self) -> dict[str, float]:
        """task → effective weight :math:`c_t e^{-s_t}` now."""
        values = self.scales * np.exp(-np.asarray(self.log_variances.numpy()))
        return dict(zip(self.tasks, values.astype(float).tolist()))

    def on_epoch_end(self, task_losses: Mapping[str, float]) -> None:
        self.history.append(self.weights())
