r"""Adaptive loss weighting for :func:`mtl_lessons.keras_mtl.train` (Keras 3).

The twins of :mod:`mtl_lessons.torch_weighting`, with the same API and the same numbers:

* :class:`UncertaintyWeighting` (Kendall, Gal & Cipolla 2018): learned :math:`s_t = \log\sigma_t^2`,
  objective :math:`\sum_t c_t e^{-s_t} L_t + \tfrac12 s_t` with :math:`c_t` from
  :data:`mtl_lessons.weighting.UNCERTAINTY_SCALE` (½ regression, 1 classification);
* :class:`GradNorm` (Chen, Badrinarayanan, Lee & Rabinovich 2018): weights moved after every
  step so that the gradient norms on the last shared layer follow each task's training rate;
* :class:`DynamicWeightAverage` (Liu, Johns & Davison 2019): weights from the ratio of the last
  two epochs' losses.

Weights that change between steps in a compiled step
-----------------------------------------------------
``keras_mtl.train`` runs its step as a ``tf.function``: a Python float read inside it is baked
into the graph as a constant when the step is traced, so weights changed later from Python would
be ignored. GradNorm and DWA therefore hold their weights in a non-trainable ``keras.Variable``
(:attr:`weight_variable`, float32) that the compiled step *reads*, and assign new values to it
between steps (GradNorm, :meth:`GradNorm.after_step`) or epochs (DWA, ``on_epoch_end``). The
weights themselves are computed in float64 NumPy with the formulas of :mod:`mtl_lessons.weighting`,
shared with PyTorch. GradNorm also needs each task's gradient norm on the last shared layer
inside the step: ``train`` records the step on a persistent ``tf.GradientTape`` when ``combine``
has a :attr:`~GradNorm.gradient_norm_variable`, asks :meth:`GradNorm.gradient_norms` for the
norms, and passes them with the batch's losses to :meth:`GradNorm.after_step`.

Imports keras and tensorflow, never torch.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from . import keras_mtl  # noqa: F401 - sets Keras' environment defaults before keras is imported
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

from .mtl_core import resolve_tasks  # noqa: E402
from .weighting import (  # noqa: E402
    AdamState,
    check_gradnorm_settings,
    check_log_variance,
    check_strategy_call,
    dwa_weights,
    gradnorm_batch_has_rates,
    gradnorm_gradient,
    renormalise,
    uncertainty_scales,
)

__all__ = ["UncertaintyWeighting", "GradNorm", "DynamicWeightAverage"]


class UncertaintyWeighting:
    r"""Uncertainty weighting (Kendall et al. 2018): one learned :math:`s_t = \log\sigma_t^2` per task.

    ``train`` optimises :attr:`trainable_variables` (the log-variances, without weight decay)
    with the model. See :class:`mtl_lessons.torch_weighting.UncertaintyWeighting`.

    Args:
        tasks: the trained tasks (exactly those ``train`` trains).
        initial_log_variance: :math:`s_t` at the start (0: σ = 1), a finite number.

    Raises:
        ValueError: unknown tasks, or ``initial_log_variance`` NaN or infinite.
    """

    def __init__(self, tasks: str | Sequence[str], initial_log_variance: float = 0.0):
        self.tasks = resolve_tasks(tasks)
        initial_log_variance = check_log_variance(initial_log_variance)
        self.scales = np.asarray(uncertainty_scales(self.tasks), dtype=np.float32)
        self.log_variances = keras.Variable(np.full(len(self.tasks), initial_log_variance, np.float32),
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


class GradNorm:
    r"""GradNorm (Chen et al. 2018): task weights that balance gradient norms on the last shared layer.

    The twin of :class:`mtl_lessons.torch_weighting.GradNorm`, step for step (Algorithm 1 of
    the paper):

    1. :math:`g_i = \lVert\nabla_W L_i\rVert_2` on the kernel W of the last shared layer
       (``keras_mtl.last_shared_layer(model)``), from the step's persistent tape
       (:meth:`gradient_norms`);
    2. :math:`\partial L_{grad}/\partial w_i` from :func:`mtl_lessons.weighting.gradnorm_gradient`
       (eq. 2, the target held constant);
    3. one Adam step of size ``learning_rate`` on the weights
       (:class:`~mtl_lessons.weighting.AdamState`, ``torch.optim.Adam``'s formula), then
       :func:`~mtl_lessons.weighting.renormalise` to Σ w = T (:meth:`after_step`).

    The objective of a batch (:meth:`__call__`) is :math:`\sum_i w_i L_i` with the weights
    *before* that batch's update, read from :attr:`weight_variable` inside the compiled step; the
    model never receives gradients of :math:`L_{grad}`. ``train`` does all three steps; in a
    loop of your own::

        with tf.GradientTape(persistent=True) as tape:
            losses = keras_mtl.task_losses(model(feeds, training=True), labels, masks)
            total = strategy(losses)
        norms = strategy.gradient_norms(tape, losses)
        ...  # the model's optimiser step on tape.gradient(total, model.trainable_variables)
        strategy.after_step(losses, norms)

    Batches without a label: a task with no labelled row in a batch has a loss of exactly 0
    there, its training rate is undefined, and the batch updates nothing (counted in
    :attr:`skipped_steps`; see :func:`~mtl_lessons.weighting.gradnorm_batch_has_rates`).
    :math:`L_i(0)` are the losses of the first batch in which every task has a label.

    Args:
        tasks: the trained tasks (exactly those ``train`` trains).
        shared_layer: the last shared ``keras.layers.Dense`` (or its kernel variable).
        alpha: asymmetry α ≥ 0 (the paper uses 0.12–3; 1.5 is a common choice).
        learning_rate: the weights' Adam step size.

    Attributes:
        task_weights: the weights, float64 (T,), in ``tasks`` order.
        weight_variable: the same as a non-trainable float32 ``keras.Variable`` (read by the step).
        gradient_norm_variable: W, the variable the norms are taken on.
        initial_losses: :math:`L_i(0)` (None before the first usable batch).
    """

    def __init__(self, tasks: str | Sequence[str], shared_layer: keras.layers.Dense | keras.Variable | tf.Variable, *,
                 alpha: float = 1.5, learning_rate: float = 0.025):
        self.tasks = resolve_tasks(tasks)
        variable = shared_layer.kernel if isinstance(shared_layer, keras.layers.Dense) else shared_layer
        if not isinstance(variable, (keras.Variable, tf.Variable)) or not variable.trainable:
            raise ValueError("shared_layer must be a keras.layers.Dense (or a trainable kernel variable), "
                             f"got {type(shared_layer).__name__}")
        self.alpha, self.learning_rate = check_gradnorm_settings(alpha, learning_rate)
        self.gradient_norm_variable = variable
        self.task_weights = np.ones(len(self.tasks))
        self.weight_variable = keras.Variable(self.task_weights.astype(np.float32), trainable=False,
                                              name="gradnorm_weights")
        self._adam = AdamState(len(self.tasks), self.learning_rate)
        self.initial_losses: np.ndarray | None = None
        self.skipped_steps = 0
        self.history: list[dict[str, float]] = [self.weights()]

    def __call__(self, task_losses: Mapping[str, object], weights: Mapping[str, float] | None = None):
        losses = ops.stack(check_strategy_call(task_losses, weights, self.tasks, "GradNorm"))
        return ops.sum(ops.cast(self.weight_variable, losses.dtype) * losses)

    def gradient_norms(self, tape, task_losses: Mapping[str, object]) -> dict[str, object]:
        r"""task → :math:`g_i = \lVert\nabla_W L_i\rVert_2` of its (unweighted) loss, a scalar tensor.

        ``tape`` must be a persistent ``tf.GradientTape`` that recorded the losses.
        """
        norms = {}
        for task in self.tasks:
            grad = tape.gradient(task_losses[task], self.gradient_norm_variable)
            norms[task] = ops.zeros(()) if grad is None else ops.sqrt(ops.sum(ops.square(ops.convert_to_tensor(grad))))
        return norms

    def after_step(self, task_losses: Mapping[str, float], grad_norms: Mapping[str, float]) -> None:
        """GradNorm's update from one batch's losses and gradient norms (floats or scalar tensors)."""
        values = np.array([float(task_losses[task]) for task in self.tasks])
        if not gradnorm_batch_has_rates(values):  # a task without labels in this batch: no update
            self.skipped_steps += 1
            return
        if self.initial_losses is None:
            self.initial_losses = values
        norms = np.array([float(grad_norms[task]) for task in self.tasks])
        grad = gradnorm_gradient(self.task_weights, norms, values, self.initial_losses, self.alpha)
        self.task_weights = renormalise(self._adam.step(self.task_weights, grad))
        self.weight_variable.assign(self.task_weights.astype(np.float32))

    def weights(self) -> dict[str, float]:
        """task → current weight."""
        return dict(zip(self.tasks, self.task_weights.tolist()))

    def on_epoch_end(self, task_losses: Mapping[str, float]) -> None:
        self.history.append(self.weights())


class DynamicWeightAverage:
    r"""Dynamic Weight Average (Liu et al. 2019, eq. 1): :math:`\lambda_k(t) = K\,\mathrm{softmax}_k(r_k(t-1)/T)`.

    The twin of :class:`mtl_lessons.torch_weighting.DynamicWeightAverage`:
    :math:`r_k(t-1) = L_k(t-1)/L_k(t-2)` from the epoch-average training losses ``train`` reports
    to :meth:`on_epoch_end` (:func:`~mtl_lessons.weighting.dwa_weights`; λ = 1 in the first two
    epochs). The objective of a batch is :math:`\sum_k \lambda_k L_k`, with λ read from
    :attr:`weight_variable` inside the compiled step and assigned after each epoch.

    Args:
        tasks: the trained tasks (exactly those ``train`` trains).
        temperature: T > 0 (the paper uses 2).
    """

    def __init__(self, tasks: str | Sequence[str], temperature: float = 2.0):
        self.tasks = resolve_tasks(tasks)
        dwa_weights([{task: 1.0 for task in self.tasks}], temperature)  # validates the temperature
        self.temperature = float(temperature)
        self.loss_history: list[dict[str, float]] = []
        self.task_weights = {task: 1.0 for task in self.tasks}
        self.weight_variable = keras.Variable(np.ones(len(self.tasks), np.float32), trainable=False,
                                              name="dwa_weights")
        self.history: list[dict[str, float]] = [self.weights()]

    def __call__(self, task_losses: Mapping[str, object], weights: Mapping[str, float] | None = None):
        losses = ops.stack(check_strategy_call(task_losses, weights, self.tasks, "DynamicWeightAverage"))
        return ops.sum(ops.cast(self.weight_variable, losses.dtype) * losses)

    def weights(self) -> dict[str, float]:
        """task → the weight in force now."""
        return dict(self.task_weights)

    def on_epoch_end(self, task_losses: Mapping[str, float]) -> None:
        self.loss_history.append({task: float(task_losses[task]) for task in self.tasks})
        self.task_weights = dwa_weights(self.loss_history, self.temperature)
        self.weight_variable.assign(np.array([self.task_weights[t] for t in self.tasks], np.float32))
        self.history.append(self.weights())
