"""The MMoE paper's synthetic regression tasks (Ma et al. 2018, section 3.2): ``data.make_synthetic_tasks``.

Checked against the recipe: u1 ⟂ u2 unit vectors, w1 = c·u1, w2 = c(p·u1 + √(1−p²)·u2) so that
cos(w1, w2) = p and |w_k| = c; y_k = w_kᵀx + Σ_i sin(α_i w_kᵀx + β_i) + ε; every draw independent of p
(so a sweep over p is paired); the label correlation rises with p; the oracle's MSE is the noise variance.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from mtl_lessons import data as D

TASKS = ("synthetic_1", "synthetic_2")
TINY = dict(n_train=50, n_valid=20, n_test=30, n_features=8, n_sinusoids=3)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("p", [1.0, 0.9, 0.5, 0.0, -0.5, -1.0])
def test_cosine_between_the_weight_vectors_is_p(p):
    tasks = D.make_synthetic_tasks(p, seed=3, **TINY)
    assert cosine(tasks.w1, tasks.w2) == pytest.approx(p, abs=1e-12)
    assert tasks.correlation == p


@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_weight_vectors_have_norm_scale_and_come_from_orthonormal_u1_u2(scale):
    p = 0.3
    tasks = D.make_synthetic_tasks(p, seed=1, scale=scale, **TINY)
    assert np.linalg.norm(tasks.w1) == pytest.approx(scale, rel=1e-12)
    assert np.linalg.norm(tasks.w2) == pytest.approx(scale, rel=1e-12)
    u1 = tasks.w1 / scale
    u2 = (tasks.w2 / scale - p * u1) / math.sqrt(1 - p * p)  # w2 = c(p·u1 + √(1−p²)·u2)
    assert np.linalg.norm(u1) == pytest.approx(1.0, rel=1e-12)
    assert np.linalg.norm(u2) == pytest.approx(1.0, rel=1e-12)
    assert abs(float(u1 @ u2)) < 1e-12


def test_labels_follow_the_papers_formula():
    """y_k − ε = f_k(x) = w_kᵀx + Σ_i sin(α_i w_kᵀx + β_i); the oracle is f_k; noise_std=0 gives y = f."""
    tasks = D.make_synthetic_tasks(0.4, seed=2, noise_std=0.0, **TINY)
    for split in ("train", "valid", "test"):
        inputs = getattr(tasks, split)
        x = inputs.numeric.astype(np.float64)
        for k, (task, w) in enumerate(zip(TASKS, (tasks.w1, tasks.w2))):
            z = x @ w
            expected = z + np.sin(np.outer(z, tasks.alpha) + tasks.beta).sum(axis=1)
            # x is stored as float32: the labels were computed from the float64 draw
            np.testing.assert_allclose(inputs.labels[task], expected, atol=1e-5)
            np.testing.assert_array_equal(inputs.labels[task], tasks.oracle[split][:, k])


def test_draws_do_not_depend_on_p():
    """Same seed, different p: same x, α, β, w1 and noise; only w2 (so task 2's labels) changes."""
    by_p = {p: D.make_synthetic_tasks(p, seed=5, **TINY) for p in (1.0, 0.5, 0.0, -0.5)}
    ref = by_p[1.0]
    for p, tasks in by_p.items():
        np.testing.assert_array_equal(tasks.w1, ref.w1)
        np.testing.assert_array_equal(tasks.alpha, ref.alpha)
        np.testing.assert_array_equal(tasks.beta, ref.beta)
        for split in ("train", "valid", "test"):
            np.testing.assert_array_equal(getattr(tasks, split).numeric, getattr(ref, split).numeric)
            np.testing.assert_array_equal(getattr(tasks, split).labels["synthetic_1"],
                                          getattr(ref, split).labels["synthetic_1"])
            # the noise is the same draw: label − oracle does not depend on p (task 2 included)
            for k, task in enumerate(TASKS):
                np.testing.assert_allclose(getattr(tasks, split).labels[task] - tasks.oracle[split][:, k],
                                           getattr(ref, split).labels[task] - ref.oracle[split][:, k],
                                           atol=1e-12)
        if p != 1.0:
            assert not np.allclose(tasks.train.labels["synthetic_2"], ref.train.labels["synthetic_2"])
    again = D.make_synthetic_tasks(0.5, seed=5, **TINY)
    for task in TASKS:
        np.testing.assert_array_equal(again.train.labels[task], by_p[0.5].train.labels[task])
    other_seed = D.make_synthetic_tasks(0.5, seed=6, **TINY)
    assert not np.allclose(other_seed.train.numeric, by_p[0.5].train.numeric)


def test_label_correlation_rises_with_p():
    ps = (0.0, 0.25, 0.5, 0.75, 1.0)
    corr = [D.label_correlation(D.make_synthetic_tasks(p, seed=0, n_train=20_000, n_valid=1, n_test=1,
                                                         n_features=20))
            for p in ps]
    assert all(b > a + 0.02 for a, b in zip(corr, corr[1:])), corr
    assert corr[-1] > 0.95  # p = 1: the same function, only the noise differs (0.98–0.999 over seeds 0–3)
    assert abs(corr[0]) < 0.2  # p = 0: orthogonal weight vectors, the sinusoids aside
    small = D.make_synthetic_tasks(0.5, seed=0, **TINY)  # Pearson's r of the two label columns, per split
    for split in ("train", "valid", "test"):
        labels = getattr(small, split).labels
        assert D.label_correlation(small, split) == pytest.approx(
            float(np.corrcoef(labels["synthetic_1"], labels["synthetic_2"])[0, 1]), rel=1e-12)


def test_label_correlation_rejects_an_unknown_split():
    with pytest.raises(ValueError, match="split"):
        D.label_correlation(D.make_synthetic_tasks(0.5, seed=0, **TINY), "training")


@pytest.mark.parametrize("noise_std", [0.1, 0.3])
def test_oracle_mse_is_the_noise_variance(noise_std):
    tasks = D.make_synthetic_tasks(0.5, seed=4, n_train=40_000, n_valid=1, n_test=1, n_features=10,
                                   noise_std=noise_std)
    for k, task in enumerate(TASKS):
        mse = float(np.mean((tasks.train.labels[task] - tasks.oracle["train"][:, k]) ** 2))
        assert mse == pytest.approx(noise_std ** 2, rel=0.03), task
    assert tasks.noise_std == noise_std


def test_shapes_dtypes_masks_and_no_categorical_features():
    tasks = D.make_synthetic_tasks(0.5, seed=0, **TINY)
    d, m = TINY["n_features"], TINY["n_sinusoids"]
    assert tasks.w1.shape == tasks.w2.shape == (d,)
    assert tasks.alpha.shape == tasks.beta.shape == (m,)
    for split in ("train", "valid", "test"):
        inputs, n = getattr(tasks, split), TINY[f"n_{split}"]
        assert isinstance(inputs, D.ModelInputs)
        assert inputs.categorical == {}
        assert inputs.numeric.shape == (n, d) and inputs.numeric.dtype == np.float32
        assert len(inputs) == n
        assert set(inputs.labels) == set(inputs.masks) == set(TASKS)
        for task in TASKS:
            assert inputs.labels[task].shape == (n,) and inputs.labels[task].dtype == np.float64
            assert np.isfinite(inputs.labels[task]).all()
            assert inputs.masks[task].dtype == bool and inputs.masks[task].all()
        assert tasks.oracle[split].shape == (n, 2) and tasks.oracle[split].dtype == np.float64
    # no sinusoids: a linear task, y = wᵀx + ε
    linear = D.make_synthetic_tasks(0.5, seed=0, n_train=10, n_valid=1, n_test=1, n_features=4,
                                    n_sinusoids=0, noise_std=0.0)
    assert linear.alpha.shape == (0,)
    np.testing.assert_allclose(linear.train.labels["synthetic_1"],
                               linear.train.numeric.astype(np.float64) @ linear.w1, atol=1e-5)


def test_x_is_standard_normal():
    tasks = D.make_synthetic_tasks(0.5, seed=0, n_train=20_000, n_valid=1, n_test=1, n_features=5)
    x = tasks.train.numeric
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=0.03)
    np.testing.assert_allclose(x.std(axis=0), 1.0, atol=0.03)


@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"correlation": 1.5}, "correlation"),
    ({"correlation": -1.01}, "correlation"),
    ({"correlation": "a"}, "correlation"),
    ({"correlation": float("nan")}, "correlation"),
    ({"correlation": True}, "correlation"),
    ({"n_features": 1}, "n_features"),
    ({"n_features": 2.0}, "n_features"),
    ({"scale": 0}, "scale"),
    ({"scale": -1.0}, "scale"),
    ({"scale": float("inf")}, "scale"),
    ({"seed": -1}, "seed"),
    ({"seed": 1.5}, "seed"),
    ({"noise_std": -1}, "noise_std"),
    ({"noise_std": float("nan")}, "noise_std"),
    ({"noise_std": float("inf")}, "noise_std"),
    ({"n_train": 0}, "n_train"),
    ({"n_valid": 0}, "n_valid"),
    ({"n_test": -3}, "n_test"),
    ({"n_sinusoids": -1}, "n_sinusoids"),
])
def test_bad_arguments_raise_a_value_error_naming_the_argument(kwargs, argument):
    settings = {"correlation": 0.5, "seed": 0, **TINY, **kwargs}
    correlation = settings.pop("correlation")
    with pytest.raises(ValueError, match=argument):
        D.make_synthetic_tasks(correlation, **settings)


def test_synthetic_tasks_are_registered_regression_tasks():
    for task in TASKS:
        assert D.get_task(task).kind == "regression"
        assert task in D.SYNTHETIC_TASKS
        assert task not in D.TASKS  # the shop's registry stays the shop's
    assert D._resolve_tasks(TASKS) == TASKS


def test_feature_encoder_refuses_synthetic_tasks():
    shop = D.simulate_shop(D.ShopConfig(n_users=100, n_items=50, n_impressions=1000))
    table = D.join_features(shop)
    encoder = D.FeatureEncoder(shop).fit(table)
    with pytest.raises(ValueError, match="synthetic_1.*make_synthetic_tasks"):
        encoder.transform(table, tasks=("synthetic_1",))
    with pytest.raises(ValueError, match="synthetic"):
        encoder.transform(table, tasks=("click", "synthetic_2"))
