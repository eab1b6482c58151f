r"""Loss-weighting strategies, the framework-free half: the formulas as plain NumPy.

A multi-task objective is :math:`L = \sum_t w_t L_t`. Lesson 05 compares ways to choose the
weights :math:`w_t`; the trainable versions live in :mod:`mtl_lessons.torch_weighting` and
:mod:`mtl_lessons.keras_weighting` and are passed to ``train(..., combine=...)``. This module
holds what needs no framework, so both frameworks (and the tests) use one definition:

* :data:`UNCERTAINTY_SCALE`: the factor in front of each task's loss in uncertainty weighting
  (Kendall, Gal & Cipolla 2018): ½ for regression (their eq. 5), 1 for classification (eq. 10);
* :func:`uncertainty_objective`: that objective for given losses and log-variances;
* :func:`gradnorm_gradient` and :func:`renormalise`: GradNorm's gradient for the task weights
  (Chen et al. 2018, eq. 2) and the renormalisation of their Algorithm 1;
  :func:`gradnorm_batch_has_rates` (which batches may update them) and :class:`AdamState`
  (the optimiser step on them, ``torch.optim.Adam``'s formula in NumPy, for Keras);
* :func:`dwa_weights`: Dynamic Weight Average (Liu, Johns & Davison 2019, eq. 1).

Importing this module imports neither PyTorch nor TensorFlow.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from .data import get_task
from .mtl_core import task_tuple

__all__ = [
    "UNCERTAINTY_SCALE",
    "check_log_variance",
    "uncertainty_scales",
    "uncertainty_objective",
    "gradnorm_gradient",
    "renormalise",
    "check_gradnorm_settings",
    "gradnorm_batch_has_rates",
    "AdamState",
    "dwa_weights",
    "check_strategy_call",
]

UNCERTAINTY_SCALE: dict[str, float] = {"regression": 0.5, "binary": 1.0, "multiclass": 1.0}
r"""Task kind → :math:`c` in the uncertainty-weighted loss :math:`c\,e^{-s}L + \tfrac12 s`.

With :math:`s = \log\sigma^2`, Kendall et al. (2018) write a regression task's term as
:math:`\frac{1}{2\sigma^2}L + \log\sigma` (eq. 5, Gaussian likelihood) and a classification task's
as :math:`\frac{1}{\sigma^2}L + \log\sigma` (eq. 10, a softmax with temperature σ², binary tasks
included), i.e. :math:`c = \tfrac12` and :math:`c = 1`; the regulariser is always
:math:`\log\sigma = \tfrac12 s`."""


def _finite(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_log_variance(value: object) -> float:
    """``initial_log_variance`` of an uncertainty weighting as a float, if it is finite.

    Raises:
        ValueError: NaN, ±inf or not a number (s = log σ² = ±inf is a weight of 0 or ∞, NaN
            poisons every prediction).
    """
    return _finite("initial_log_variance (s = log σ²)", value)


def uncertainty_scales(tasks: str | Sequence[str]) -> np.ndarray:
    """:data:`UNCERTAINTY_SCALE` of each task's kind, in ``tasks`` order, shape (T,)."""
    return np.array([UNCERTAINTY_SCALE[get_task(task).kind] for task in task_tuple(tasks)], dtype=np.float64)


def uncertainty_objective(losses: Mapping[str, float], log_variances: Mapping[str, float]) -> float:
    r"""Kendall et al. (2018): :math:`\sum_t c_t\,e^{-s_t} L_t + \tfrac12 s_t`, :math:`s_t = \log\sigma_t^2`.

    Args:
        losses: task → its loss :math:`L_t` (MSE for regression, cross-entropy otherwise).
        log_variances: task → :math:`s_t` (same tasks).

    Returns:
        The objective, a float. Its minimum over :math:`s_t` is at :math:`e^{s_t} = 2c_t L_t`
        (σ² = L for regression, σ² = 2L for classification).
    """
    if set(losses) != set(log_variances):
        raise ValueError(f"losses and log_variances must name the same tasks, got {sorted(losses)} "
                         f"and {sorted(log_variances)}")
    tasks = list(losses)
    scales = uncertainty_scales(tasks)
    total = 0.0
    for c, task in zip(scales, tasks):
        s = _finite(f"log_variances[{task!r}]", log_variances[task])
        total += c * math.exp(-s) * _finite(f"losses[{task!r}]", losses[task]) + 0.5 * s
    return total


def gradnorm_gradient(weights: np.ndarray, grad_norms: np.ndarray, losses: np.ndarray,
                      initial_losses: np.ndarray, alpha: float) -> np.ndarray:
    r"""The gradient of GradNorm's loss with respect to the task weights (Chen et al. 2018, eq. 2).

    With :math:`g_i = \lVert\nabla_W L_i\rVert_2` the gradient norm of task i's *unweighted* loss
    on the last shared layer's weights W:

    * :math:`G_i = w_i g_i` (the norm of :math:`\nabla_W w_i L_i`), :math:`\bar G = \frac1T\sum_i G_i`;
    * :math:`\tilde L_i = L_i / L_i(0)` (inverse training rate) and
      :math:`r_i = \tilde L_i / \frac1T\sum_j \tilde L_j`;
    * :math:`L_{grad} = \sum_i \lvert G_i - \bar G\, r_i^{\alpha}\rvert_1` (eq. 2), where the target
      :math:`\bar G r_i^\alpha` is held constant, so
      :math:`\partial L_{grad}/\partial w_i = \operatorname{sign}(G_i - \bar G r_i^\alpha)\, g_i`.

    A task whose gradients are too large for its training rate gets a positive gradient (its
    weight goes down); a task that trains slowly (large :math:`r_i`) gets a negative one.

    Args:
        weights: current weights w (T,), positive.
        grad_norms: g (T,), ≥ 0.
        losses: current losses L(t) (T,), ≥ 0, not all 0.
        initial_losses: L(0) (T,), > 0 (the losses of the first step).
        alpha: the asymmetry α ≥ 0 (0: equal gradient norms; larger: slow tasks get more).

    Returns:
        ∂L_grad/∂w, shape (T,).

    Raises:
        ValueError: an array of the wrong shape or not finite, L(0) ≤ 0, a loss < 0, or every
            loss 0 (then every :math:`\tilde L_i = 0` and :math:`r_i = 0/0`; see
            :func:`gradnorm_batch_has_rates`).
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in (weights, grad_norms, losses, initial_losses)]
    w, g, loss, loss0 = arrays
    for name, a in zip(("weights", "grad_norms", "losses", "initial_losses"), arrays):
        if a.ndim != 1 or a.shape != w.shape or not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be a finite 1-D array of shape {w.shape}, got {a.shape}")
    if np.any(loss0 <= 0):
        raise ValueError(f"initial_losses must be > 0, got {loss0.tolist()}")
    if np.any(loss < 0) or not np.any(loss > 0):
        raise ValueError(f"losses must be ≥ 0 and not all 0 (with every loss 0 the relative inverse training "
                         f"rates r_i are 0/0), got {loss.tolist()}")
    alpha = _finite("alpha", alpha)
    if alpha < 0:
        raise ValueError(f"alpha must be ≥ 0, got {alpha}")
    G = w * g
    relative = loss / loss0
    r = relative / relative.mean()
    target = G.mean() * r ** alpha
    return np.sign(G - target) * g


def check_gradnorm_settings(alpha: float, learning_rate: float) -> tuple[float, float]:
    """GradNorm's ``alpha`` (≥ 0) and ``learning_rate`` (> 0) as floats.

    Raises:
        ValueError: naming the argument.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)) or not alpha >= 0 \
            or not math.isfinite(alpha):
        raise ValueError(f"alpha must be a number ≥ 0, got {alpha!r}")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float, np.integer, np.floating)) \
            or not learning_rate > 0 or not math.isfinite(learning_rate):
        raise ValueError(f"learning_rate must be a number > 0, got {learning_rate!r}")
    return float(alpha), float(learning_rate)


def renormalise(weights: np.ndarray) -> np.ndarray:
    """GradNorm's renormalisation (Algorithm 1): w ← T·w / Σ w, so the weights sum to T.

    Raises:
        ValueError: a weight is ≤ 0 (the weights' learning rate is too large).
    """
    w = np.asarray(weights, dtype=np.float64)
    if np.any(w <= 0):
        raise ValueError(f"a GradNorm weight became ≤ 0 ({w.tolist()}); lower GradNorm's learning_rate")
    return len(w) * w / w.sum()


def gradnorm_batch_has_rates(losses: np.ndarray) -> bool:
    r"""Whether GradNorm may update its weights on a batch with these per-task losses, shape (T,).

    ``train`` gives a task without any labelled row in the batch a loss of exactly 0 (its masked
    mean over no rows), so its inverse training rate :math:`\tilde L_i(t) = L_i(t)/L_i(0)` is
    *undefined* on that batch, not 0. Eq. 2 of Chen et al. (2018) compares every task at the same
    step (:math:`\bar G` and the mean of :math:`\tilde L` run over all T tasks), so the paper
    gives no update for such a batch: returns False when any loss is 0, and GradNorm keeps its
    weights. (With no label at all, :math:`r_i` would be 0/0: NaN weights.)

    Raises:
        ValueError: a loss is negative, NaN or infinite (the training diverged).
    """
    values = np.asarray(losses, dtype=np.float64)
    if values.ndim != 1 or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"GradNorm needs finite per-task losses ≥ 0, got {values.tolist()} "
                         f"(a NaN or infinite loss: the training diverged; lower the learning rate)")
    return bool(values.size and np.all(values > 0))


class AdamState:
    r"""Adam (Kingma & Ba 2015) on a float64 NumPy vector, step for step ``torch.optim.Adam``'s formula.

    :math:`m \leftarrow m + (1-\beta_1)(g - m)`, :math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2`,
    :math:`p \leftarrow p - \frac{\eta}{1-\beta_1^k}\, m / (\sqrt{v}/\sqrt{1-\beta_2^k} + \epsilon)` at step k.
    Used by Keras' GradNorm so that its task weights move exactly as the PyTorch one's.

    Args:
        size: number of parameters.
        learning_rate: η > 0.
        betas: (β1, β2); eps: ε (PyTorch's defaults).
    """

    def __init__(self, size: int, learning_rate: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        self.learning_rate = _finite("learning_rate", learning_rate)
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
        self.beta1, self.beta2 = (float(b) for b in betas)
        self.eps = float(eps)
        self.m = np.zeros(size)
        self.v = np.zeros(size)
        self.steps = 0

    def step(self, params: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """The parameters after one step with gradient ``grad`` (both shape (size,))."""
        grad = np.asarray(grad, dtype=np.float64)
        self.steps += 1
        self.m = self.m + (1 - self.beta1) * (grad - self.m)
        self.v = self.v * self.beta2 + (1 - self.beta2) * (grad * grad)
        step_size = self.learning_rate / (1 - self.beta1 ** self.steps)
        denom = np.sqrt(self.v) / (1 - self.beta2 ** self.steps) ** 0.5 + self.eps
        return np.asarray(params, dtype=np.float64) + (-step_size) * (self.m / denom)


def dwa_weights(loss_history: Sequence[Mapping[str, float]], temperature: float = 2.0) -> dict[str, float]:
    r"""Dynamic Weight Average (Liu, Johns & Davison 2019, eq. 1): the weights for the next epoch.

    :math:`\lambda_k(t) = K \exp(r_k(t-1)/T) / \sum_i \exp(r_i(t-1)/T)` with
    :math:`r_k(t-1) = L_k(t-1) / L_k(t-2)`, the ratio of task k's average training loss in the
    last two epochs; K tasks, temperature T (large T: weights near 1). With fewer than two epochs
    of history every weight is 1 (the paper's :math:`\lambda_k(1) = \lambda_k(2) = 1`).

    Args:
        loss_history: one dict task → average training loss per finished epoch, oldest first.
        temperature: T > 0.

    Returns:
        task → λ_k, summing to K.
    """
    temperature = _finite("temperature", temperature)
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not loss_history:
        raise ValueError("loss_history must hold at least one epoch (a dict task → loss)")
    tasks = list(loss_history[-1])
    if len(loss_history) < 2:
        return {task: 1.0 for task in tasks}
    last, before = loss_history[-1], loss_history[-2]
    if set(last) != set(before):
        raise ValueError(f"loss_history epochs name different tasks: {sorted(before)} and {sorted(last)}")
    for task in tasks:
        if _finite(f"loss_history[-2][{task!r}]", before[task]) <= 0:
            raise ValueError(f"loss_history[-2][{task!r}] must be > 0, got {before[task]}")
        _finite(f"loss_history[-1][{task!r}]", last[task])
    ratios = np.array([last[task] / before[task] for task in tasks])
    exps = np.exp(ratios / temperature)
    weights = len(tasks) * exps / exps.sum()
    return dict(zip(tasks, weights.tolist()))


def check_strategy_call(task_losses: Mapping[str, object], weights: Mapping[str, float] | None,
                        tasks: str | Sequence[str], strategy: str) -> list:
    """Check one call of an adaptive strategy and return its losses in ``tasks`` order.

    An adaptive strategy learns the weights itself, so ``train``'s ``loss_weights`` must stay 1;
    and it was built for ``tasks``, so every one of them needs a loss, and a loss of another
    task would silently leave the objective.

    Raises:
        ValueError: naming ``loss_weights`` and the strategy if a weight is not 1, or naming the
            tasks ``task_losses`` misses or has in excess.
    """
    tasks = task_tuple(tasks)
    others = {task: w for task, w in (weights or {}).items() if w != 1.0}
    if others:
        raise ValueError(f"loss_weights must be left at 1.0 when combine is {strategy} "
                         f"(it sets the weights itself), got {others}")
    missing = [task for task in tasks if task not in task_losses]
    if missing:
        raise ValueError(f"task_losses misses tasks {missing}; {strategy} was built for {list(tasks)}")
    extra = [task for task in task_losses if task not in tasks]
    if extra:
        raise ValueError(f"task_losses has tasks {extra} that {strategy} was not built for (they would leave "
                         f"the objective); {strategy} was built for {list(tasks)}: build it with every trained task")
    return [task_losses[task] for task in tasks]
