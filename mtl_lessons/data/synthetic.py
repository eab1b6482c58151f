r"""The synthetic regression tasks of the MMoE paper, whose relatedness is one number.

Ma et al., "Modeling Task Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts"
(KDD 2018), section 3.2, generate two regression tasks whose relatedness is set by the cosine
:math:`p` between their weight vectors:

1. two orthogonal unit vectors :math:`u_1, u_2 \in \mathbb{R}^d`;
2. :math:`w_1 = c\,u_1`, :math:`w_2 = c\,(p\,u_1 + \sqrt{1-p^2}\,u_2)`, so :math:`\cos(w_1, w_2) = p`;
3. inputs :math:`x \sim \mathcal{N}(0, I_d)`;
4. labels :math:`y_k = w_k^\top x + \sum_{i=1}^{m} \sin(\alpha_i\, w_k^\top x + \beta_i) + \varepsilon_k`,
   :math:`\varepsilon_k \sim \mathcal{N}(0, 0.01)` (variance 0.01: standard deviation 0.1).

The paper uses :math:`d = 100`, :math:`c = 1`, :math:`m = 10` and draws :math:`\alpha_i, \beta_i` from
a normal distribution. Here every random quantity (:math:`u_1, u_2, \alpha, \beta`, the rows
:math:`x` and the noise) is drawn from one generator seeded by ``seed``, in an order that does not
depend on :math:`p`: two calls with the same seed and different ``correlation`` differ *only* in
:math:`w_2`, so a comparison across :math:`p` is paired (same inputs, same sinusoids, same noise).

The non-linear part makes the label correlation a distorted proxy of :math:`p` (the paper's
Figure 2): :func:`label_correlation` measures it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .encode import ModelInputs

__all__ = ["SyntheticTasks", "make_synthetic_tasks", "label_correlation"]

SYNTHETIC_TASK_NAMES = ("synthetic_1", "synthetic_2")


@dataclass(frozen=True)
class SyntheticTasks:
    """Two synthetic regression tasks, split into train / valid / test.

    Attributes:
        train, valid, test: ``ModelInputs`` with no categorical features, ``numeric`` = x
            (float32, (n, d)) and the labels of ``"synthetic_1"`` and ``"synthetic_2"`` (every
            row labelled).
        oracle: split name → (n, 2) float64 array of the noise-free labels :math:`f_k(x)`, the
            best possible predictions (their test MSE is the noise variance, about 0.01).
        w1, w2: the task weight vectors, (d,); ``cos(w1, w2) == correlation``.
        alpha, beta: the sinusoids' parameters, (m,).
        correlation: p, the cosine between w1 and w2.
        noise_std: the standard deviation of ε.
    """

    train: ModelInputs
    valid: ModelInputs
    test: ModelInputs
    oracle: dict[str, np.ndarray]
    w1: np.ndarray
    w2: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    correlation: float
    noise_std: float


def _check_count(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an int ≥ {low}, got {value!r}")
    return int(value)


def _check_number(name: str, value: object, low: float, high: float) -> float:
    """``value`` as a float if it is a finite number in [low, high] (high may be inf: no upper bound)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
            math.isfinite(float(value)) and low <= float(value) <= high):
        bounds = f"≥ {low}" if math.isinf(high) else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be a finite number {bounds}, got {value!r}")
    return float(value)


def make_synthetic_tasks(correlation: float, *, seed: int = 0, n_train: int = 10_000,
                         n_valid: int = 2_000, n_test: int = 10_000, n_features: int = 100,
                         n_sinusoids: int = 10, scale: float = 1.0,
                         noise_std: float = 0.1) -> SyntheticTasks:
    """Draw the MMoE paper's two regression tasks with task correlation ``correlation`` (= p).

    Args:
        correlation: p in [−1, 1], the cosine between the tasks' weight vectors.
        seed: seed of every draw (integer ≥ 0); the draws do not depend on ``correlation``.
        n_train, n_valid, n_test: rows per split (each ≥ 1).
        n_features: d ≥ 2, the input dimension (paper: 100).
        n_sinusoids: m ≥ 0, the number of sine terms (paper: 10).
        scale: c > 0, the norm of the weight vectors (paper: 1).
        noise_std: standard deviation of ε (paper: variance 0.01, i.e. 0.1).

    Returns:
        A :class:`SyntheticTasks`; tasks ``"synthetic_1"`` and ``"synthetic_2"``.

    Raises:
        ValueError: naming the argument that is out of range or of the wrong type.
    """
    p = _check_number("correlation", correlation, -1.0, 1.0)
    seed = _check_count("seed", seed, 0)
    sizes = {"train": _check_count("n_train", n_train, 1), "valid": _check_count("n_valid", n_valid, 1),
             "test": _check_count("n_test", n_test, 1)}
    d = _check_count("n_features", n_features, 2)
    m = _check_count("n_sinusoids", n_sinusoids, 0)
    c = _check_number("scale", scale, 0.0, math.inf)
    if c == 0.0:
        raise ValueError("scale must be a number > 0 (the norm of the weight vectors), got 0")
    noise_std = _check_number("noise_std", noise_std, 0.0, math.inf)

    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((d, 2)))  # two orthonormal columns
    u1, u2 = basis[:, 0], basis[:, 1]
    alpha, beta = rng.standard_normal(m), rng.standard_normal(m)
    n = sum(sizes.values())
    x = rng.standard_normal((n, d))
    noise = noise_std * rng.standard_normal((n, 2))
    w1 = c * u1
    w2 = c * (p * u1 + math.sqrt(max(0.0, 1.0 - p * p)) * u2)
    clean = np.stack([_response(x @ w, alpha, beta) for w in (w1, w2)], axis=1)  # (n, 2): f_k(x)
    labels = clean + noise

    parts, oracle, start = {}, {}, 0
    for split, size in sizes.items():
        rows = slice(start, start + size)
        parts[split] = ModelInputs(
            categorical={}, numeric=x[rows].astype(np.float32),
            labels={task: labels[rows, k].copy() for k, task in enumerate(SYNTHETIC_TASK_NAMES)},
            masks={task: np.ones(size, dtype=bool) for task in SYNTHETIC_TASK_NAMES})
        oracle[split] = clean[rows].copy()
        start += size
    return SyntheticTasks(train=parts["train"], valid=parts["valid"], test=parts["test"], oracle=oracle,
                          w1=w1, w2=w2, alpha=alpha, beta=beta, correlation=p, noise_std=noise_std)


def _response(z: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """f(z) = z + Σ_i sin(α_i z + β_i) for z = wᵀx, shape (n,)."""
    return z + np.sin(np.outer(z, alpha) + beta).sum(axis=1)


def label_correlation(tasks: SyntheticTasks, split: str = "train") -> float:
    """Pearson correlation between the two tasks' labels on ``split`` ("train", "valid" or "test")."""
    if split not in ("train", "valid", "test"):
        raise ValueError(f"split must be 'train', 'valid' or 'test', got {split!r}")
    inputs = getattr(tasks, split)
    return float(np.corrcoef(inputs.labels["synthetic_1"], inputs.labels["synthetic_2"])[0, 1])
