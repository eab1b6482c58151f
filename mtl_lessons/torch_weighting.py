r"""Adaptive loss weighting for :func:`mtl_lessons.torch_mtl.train` (PyTorch).

Each strategy is a ``combine`` for ``train(..., combine=strategy)``: called with the per-task
losses of a batch, it returns the objective; ``train`` calls its ``on_epoch_end`` with the
epoch's average per-task training losses. Every strategy keeps ``history``, a list of
task → weight dicts (the weights in force at the start, then after each epoch), for plotting.

* :class:`UncertaintyWeighting` (Kendall, Gal & Cipolla 2018): learned log-variances
  :math:`s_t`, objective :math:`\sum_t c_t e^{-s_t} L_t + \tfrac12 s_t` (:data:`~mtl_lessons.weighting.UNCERTAINTY_SCALE`).
* :class:`GradNorm` (Chen, Badrinarayanan, Lee & Rabinovich 2018): weights moved after every
  step so that the gradient norms on the last shared layer follow each task's training rate.
* :class:`DynamicWeightAverage` (Liu, Johns & Davison 2019): weights from the ratio of the last
  two epochs' losses.

The formulas themselves are in :mod:`mtl_lessons.weighting` (NumPy), shared with the tests.
Imports torch, never TensorFlow.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .mtl_core import resolve_tasks
from .weighting import (
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


def _stack(task_losses: Mapping[str, torch.Tensor], weights: Mapping[str, float] | None,
           tasks: Sequence[str], strategy: str) -> torch.Tensor:
    return torch.stack(check_strategy_call(task_losses, weights, tasks, strategy))


class UncertaintyWeighting(nn.Module):
    r"""Uncertainty weighting (Kendall et al. 2018, eq. 5 and 10): one learned :math:`s_t = \log\sigma_t^2` per task.

    Objective: :math:`\sum_t c_t\, e^{-s_t} L_t + \tfrac12 s_t` with :math:`c_t = \tfrac12` for a
    regression task and 1 for a classification task. The effective weight of task t is
    :math:`c_t e^{-s_t}`; a noisy (or large-scale) loss earns a large :math:`s_t` and a small
    weight, and :math:`\tfrac12 s_t` stops :math:`s_t` from growing without bound. The
    :math:`s_t` are ``nn.Parameter``\ s, so ``train`` optimises them with the model (without
    weight decay).

    Args:
        tasks: the trained tasks, in any order (exactly those ``train`` trains).
        initial_log_variance: :math:`s_t` at the start (0: σ = 1), a finite number.

    Raises:
        ValueError: unknown tasks, or ``initial_log_variance`` NaN or infinite.
    """

    def __init__(self, tasks: str | Sequence[str], initial_log_variance: float = 0.0):
        super().__init__()
        self.tasks = resolve_tasks(tasks)
        initial_log_variance = check_log_variance(initial_log_variance)
        self.register_buffer("scales", torch.tensor(uncertainty_scales(self.tasks), dtype=torch.float32))
        self.log_variances = nn.Parameter(torch.full((len(self.tasks),), initial_log_variance))
        self.history: list[dict[str, float]] = [self.weights()]

    def forward(self, task_losses: Mapping[str, torch.Tensor],
                weights: Mapping[str, float] | None = None) -> torch.Tensor:
        losses = _stack(task_losses, weights, self.tasks, "UncertaintyWeighting")
        s = self.log_variances
        return (self.scales * torch.exp(-s) * losses + 0.5 * s).sum()

    def weights(self) -> dict[str, float]:
        """task → effective weight :math:`c_t e^{-s_t}` now."""
        values = (self.scales * torch.exp(-self.log_variances.detach())).tolist()
        return dict(zip(self.tasks, values))

    def on_epoch_end(self, task_losses: Mapping[str, float]) -> None:
        self.history.append(self.weights())


class GradNorm:
    r"""GradNorm (Chen et al. 2018): task weights that balance gradient norms on the last shared layer.

    At every step, before the model's update (Algorithm 1 of the paper):

    1. :math:`g_i = \lVert\nabla_W L_i\rVert_2` on the weights W of the last shared layer
       (``torch_mtl.last_shared_layer(model)``), one ``autograd.grad`` per task;
    2. :math:`\partial L_{grad}/\partial w_i` from :func:`mtl_lessons.weighting.gradnorm_gradient`
       (eq. 2, the target held constant);
    3. one Adam step of size ``learning_rate`` on the weights (the paper leaves the optimiser open;
       Adam's step does not depend on the gradient's scale, so one ``learning_rate`` suits any
       loss scale), then :func:`~mtl_lessons.weighting.renormalise` to Σ w = T.

    The returned objective is :math:`\sum_i w_i L_i` with the weights *before* the update, as
    constants: the model never receives gradients of :math:`L_{grad}`, and the weights never
    receive gradients of the objective.

    Batches without a label: a task with no labelled row in a batch has a loss of exactly 0
    there (``train``'s masked mean), and its training rate :math:`L_i(t)/L_i(0)` is undefined,
    not 0; eq. 2 compares all T tasks at the same step, so such a batch updates nothing (the
    weights stay, the objective uses them; counted in :attr:`skipped_steps`; see
    :func:`~mtl_lessons.weighting.gradnorm_batch_has_rates`). With sparse labels and small
    batches many steps may be skipped: use larger batches. :math:`L_i(0)` are the losses of the
    first batch in which every task has a label.

    Args:
        tasks: the trained tasks (exactly those ``train`` trains).
        shared_layer: the last shared ``nn.Linear`` (or its weight tensor).
        alpha: asymmetry α ≥ 0 (the paper uses 0.12–3; 1.5 is a common choice).
        learning_rate: the weights' Adam step size.
    """

    def __init__(self, tasks: str | Sequence[str], shared_layer: nn.Linear | torch.Tensor, *,
                 alpha: float = 1.5, learning_rate: float = 0.025):
        self.tasks = resolve_tasks(tasks)
        weight = shared_layer.weight if isinstance(shared_layer, nn.Linear) else shared_layer
        if not isinstance(weight, torch.Tensor) or not weight.requires_grad:
            raise ValueError("shared_layer must be an nn.Linear (or a weight tensor that requires grad), "
                             f"got {type(shared_layer).__name__}")
        self.alpha, self.learning_rate = check_gradnorm_settings(alpha, learning_rate)
        self.shared_weight = weight
        self.task_weights = torch.ones(len(self.tasks), dtype=torch.float64)
        self._optimizer = torch.optim.Adam([self.task_weights], lr=self.learning_rate)
        self.initial_losses: np.ndarray | None = None
        self.skipped_steps = 0
        self.history: list[dict[str, float]] = [self.weights()]

    def gradient_norms(self, losses: torch.Tensor) -> np.ndarray:
        r""":math:`g_i = \lVert\nabla_W L_i\rVert_2` for each task's (unweighted) loss, shape (T,)."""
        norms = []
        for loss in losses:
            (grad,) = torch.autograd.grad(loss, self.shared_weight, retain_graph=True, allow_unused=True)
            norms.append(0.0 if grad is None else float(grad.norm()))
        return np.array(norms)

    def __call__(self, task_losses: Mapping[str, torch.Tensor],
                 weights: Mapping[str, float] | None = None) -> torch.Tensor:
        losses = _stack(task_losses, weights, self.tasks, "GradNorm")
        values = losses.detach().numpy().astype(np.float64)
        current = self.task_weights.detach().to(losses.dtype).clone()
        if not gradnorm_batch_has_rates(values):  # a task without labels in this batch: no update
            self.skipped_steps += 1
            return (current * losses).sum()
        if self.initial_losses is None:
            self.initial_losses = values
        grad = gradnorm_gradient(self.task_weights.numpy(), self.gradient_norms(losses), values,
                                 self.initial_losses, self.alpha)
        self.task_weights.grad = torch.from_numpy(grad)
        self._optimizer.step()
        with torch.no_grad():
            self.task_weights.copy_(torch.from_numpy(renormalise(self.task_weights.numpy())))
        return (current * losses).sum()

    def weights(self) -> dict[str, float]:
        """task → current weight."""
        return dict(zip(self.tasks, self.task_weights.tolist()))

    def on_epoch_end(self, task_losses: Mapping[str, float]) -> None:
        self.history.append(self.weights())


class DynamicWeightAverage:
    r"""Dynamic Weight Average (Liu et al. 2019, eq. 1): :math:`\lambda_k(t) = K\,\mathrm{softmax}_k(r_k(t-1)/T)`.

    :math:`r_k(t-1) = L_k(t-1)/L_k(t-2)` uses the epoch-average training losses ``train``
    reports to :meth:`on_epoch_end`; the first two epochs use λ = 1 (:func:`~mtl_lessons.weighting.dwa_weights`).
    The objective of a batch is :math:`\sum_k \lambda_k L_k`. The Keras twin is
    :class:`mtl_lessons.keras_weighting.DynamicWeightAverage`.

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
        self.history: list[dict[str, float]] = [self.weights()]

    def __call__(self, task_losses: Mapping[str, torch.Tensor],
                 weights: Mapping[str, float] | None = None) -> torch.Tensor:
        losses = _stack(task_losses, weights, self.tasks, "DynamicWeightAverage")
        return (torch.tensor([self.task_weights[t] for t in self.tasks], dtype=losses.dtype) * losses).sum()

    def weights(self) -> dict[str, float]:
        """task → the weight in force now."""
        return dict(self.task_weights)

    def on_epoch_end(self, task_losses: Mapping[str, float]) -> None:
        self.loss_history.append({task: float(task_losses[task]) for task in self.tasks})
        self.task_weights = dwa_weights(self.loss_history, self.temperature)
        self.history.append(self.weights())
