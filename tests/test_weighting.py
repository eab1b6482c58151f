"""Loss weighting (lesson 05) pinned to the papers' formulas with hand-computed numbers.

Every expected value below was computed by hand (a calculator, not the code under test):
a wrong sign, a missing ½ or a gradient norm taken on the wrong layer changes it.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from mtl_lessons import weighting as W

# Kendall et al. 2018 with s = log σ²: click (binary) L = 0.5, s = 0.2; rating (regression) L = 2.0, s = −0.4.
#   1·e^{−0.2}·0.5 + ½·0.2  +  ½·e^{0.4}·2.0 + ½·(−0.4)  = 0.40936538 + 0.1 + 1.49182470 − 0.2
UNCERTAINTY_LOSSES = {"click": 0.5, "rating": 2.0}
UNCERTAINTY_S = {"click": 0.2, "rating": -0.4}
UNCERTAINTY_VALUE = 1.8011900742
# ∂/∂s: −c e^{−s} L + ½ ;  ∂/∂L: c e^{−s}
UNCERTAINTY_GRAD_S = {"click": 0.0906346235, "rating": -0.9918246976}
UNCERTAINTY_GRAD_L = {"click": 0.8187307531, "rating": 0.7459123488}


# --------------------------------------------------------------------------- uncertainty weighting
def test_uncertainty_scale_is_half_for_regression_and_one_for_classification():
    assert W.UNCERTAINTY_SCALE == {"regression": 0.5, "binary": 1.0, "multiclass": 1.0}
    assert W.uncertainty_scales(["rating", "click", "next_category"]).tolist() == [0.5, 1.0, 1.0]


def test_uncertainty_objective_matches_hand_value():
    assert W.uncertainty_objective(UNCERTAINTY_LOSSES, UNCERTAINTY_S) == pytest.approx(UNCERTAINTY_VALUE, abs=1e-9)


def test_uncertainty_optimum_is_sigma2_equal_L_for_regression_and_2L_for_classification():
    loss = 0.7
    for task, optimum in (("rating", math.log(loss)), ("purchase", math.log(2 * loss))):
        values = [W.uncertainty_objective({task: loss}, {task: optimum + d}) for d in (-1e-3, 0.0, 1e-3)]
        assert values[1] < values[0] and values[1] < values[2]


def test_uncertainty_objective_rejects_mismatched_tasks():
    with pytest.raises(ValueError, match="same tasks"):
        W.uncertainty_objective({"click": 1.0}, {"rating": 0.0})


def test_torch_uncertainty_weighting_value_and_gradients():
    torch = pytest.importorskip("torch")
    from mtl_lessons.torch_weighting import UncertaintyWeighting

    strategy = UncertaintyWeighting(["click", "rating"])
    with torch.no_grad():
        strategy.log_variances.copy_(torch.tensor([UNCERTAINTY_S["click"], UNCERTAINTY_S["rating"]]))
    losses = {t: torch.tensor(v, requires_grad=True) for t, v in UNCERTAINTY_LOSSES.items()}
    total = strategy(losses, weights={"click": 1.0, "rating": 1.0})
    total.backward()
    assert float(total.detach()) == pytest.approx(UNCERTAINTY_VALUE, abs=1e-6)
    grad_s = strategy.log_variances.grad.tolist()
    assert grad_s == pytest.approx([UNCERTAINTY_GRAD_S["click"], UNCERTAINTY_GRAD_S["rating"]], abs=1e-6)
    assert [float(losses[t].grad) for t in ("click", "rating")] == pytest.approx(
        [UNCERTAINTY_GRAD_L["click"], UNCERTAINTY_GRAD_L["rating"]], abs=1e-6)
    assert strategy.weights() == pytest.approx(UNCERTAINTY_GRAD_L, abs=1e-6)


def test_keras_uncertainty_weighting_value_and_gradients():
    tf = pytest.importorskip("tensorflow")
    from mtl_lessons.keras_weighting import UncertaintyWeighting

    strategy = UncertaintyWeighting(["click", "rating"])
    strategy.log_variances.assign(np.array([UNCERTAINTY_S["click"], UNCERTAINTY_S["rating"]], np.float32))
    losses = {t: tf.Variable(v, dtype=tf.float32) for t, v in UNCERTAINTY_LOSSES.items()}
    with tf.GradientTape() as tape:
        total = strategy(losses, weights={"click": 1.0, "rating": 1.0})
    grads = tape.gradient(total, [strategy.log_variances, losses["click"], losses["rating"]])
    assert float(total) == pytest.approx(UNCERTAINTY_VALUE, abs=1e-6)
    assert np.asarray(grads[0]).tolist() == pytest.approx(
        [UNCERTAINTY_GRAD_S["click"], UNCERTAINTY_GRAD_S["rating"]], abs=1e-6)
    assert [float(grads[1]), float(grads[2])] == pytest.approx(
        [UNCERTAINTY_GRAD_L["click"], UNCERTAINTY_GRAD_L["rating"]], abs=1e-6)


@pytest.mark.parametrize("module", ["torch_weighting", "keras_weighting"])
def test_adaptive_weighting_refuses_static_weights(module):
    pytest.importorskip("torch" if module.startswith("torch") else "tensorflow")
    import importlib

    strategy = importlib.import_module(f"mtl_lessons.{module}").UncertaintyWeighting(["click", "purchase"])
    with pytest.raises(ValueError, match="loss_weights must be left at 1.0 when combine is UncertaintyWeighting"):
        strategy({"click": 1.0, "purchase": 1.0}, weights={"click": 1.0, "purchase": 3.0})


# --------------------------------------------------------------------------- GradNorm
# Two tasks, w = (1, 1), g = (1.0, 0.8), L(t) = (0.9, 0.5), L(0) = (1, 1).
#   G = (1.0, 0.8), Ḡ = 0.9; L̃ = (0.9, 0.5), r = (1.285714, 0.714286).
#   α = 1: target = (1.157143, 0.642857) → sign(G − target) = (−, +) → ∂L_grad/∂w = (−1.0, +0.8):
#          the slow task 1 is pushed up although its gradients are larger.
#   α = 0: target = (0.9, 0.9) → sign = (+, −) → ∂L_grad/∂w = (+1.0, −0.8).
GN = dict(weights=np.ones(2), grad_norms=np.array([1.0, 0.8]), losses=np.array([0.9, 0.5]),
          initial_losses=np.ones(2))


def test_gradnorm_gradient_matches_hand_values_and_alpha_matters():
    assert W.gradnorm_gradient(alpha=1.0, **GN).tolist() == pytest.approx([-1.0, 0.8], abs=1e-12)
    assert W.gradnorm_gradient(alpha=0.0, **GN).tolist() == pytest.approx([1.0, -0.8], abs=1e-12)


def test_gradnorm_gradient_uses_the_weighted_norm():
    # w = (2, 1), g = (1, 1), equal rates: G = (2, 1), Ḡ = 1.5 → (+1, −1); with unweighted norms it would be 0
    grad = W.gradnorm_gradient(np.array([2.0, 1.0]), np.ones(2), np.ones(2), np.ones(2), alpha=1.0)
    assert grad.tolist() == [1.0, -1.0]


def test_renormalise_keeps_the_sum_at_the_number_of_tasks_and_refuses_non_positive_weights():
    assert W.renormalise(np.array([0.5, 1.0, 2.5])).tolist() == pytest.approx([0.375, 0.75, 1.875])  # × 3/4
    with pytest.raises(ValueError, match="lower GradNorm's learning_rate"):
        W.renormalise(np.array([1.2, -0.1]))


def test_torch_gradnorm_takes_norms_on_the_shared_layer_only():
    """One update on a toy whose norms differ between the shared layer and another parameter.

    L1 = 2·W0·V0, L2 = 0.5·W1·V1 with W = (0.5, 2), V = (1, 1): L = (1, 1) at the first step,
    so r = (1, 1). On W: g = (2·V0, 0.5·V1) = (2, 0.5) → G = (2, 0.5), Ḡ = 1.25, sign (+, −)
    → ∂L_grad/∂w = (2, −0.5); Adam's first step moves each weight by lr·sign = 0.1:
    w = (0.9, 1.1), already summing to 2. (On V the norms would be (2·W0, 0.5·W1) = (1, 1):
    equal, so the weights would stay (1, 1).)
    """
    torch = pytest.importorskip("torch")
    from mtl_lessons.torch_weighting import GradNorm

    shared = torch.tensor([0.5, 2.0], requires_grad=True)
    other = torch.tensor([1.0, 1.0], requires_grad=True)
    strategy = GradNorm(["click", "purchase"], shared, alpha=1.5, learning_rate=0.1)
    losses = {"click": 2.0 * shared[0] * other[0], "purchase": 0.5 * shared[1] * other[1]}
    total = strategy(losses, weights={"click": 1.0, "purchase": 1.0})
    assert float(total.detach()) == pytest.approx(2.0)  # the weights before the update: 1·1 + 1·1
    assert list(strategy.weights().values()) == pytest.approx([0.9, 1.1], abs=1e-6)
    total.backward()  # the objective's gradient reaches the model, not the task weights
    assert shared.grad.tolist() == pytest.approx([2.0, 0.5])


def test_torch_gradnorm_second_step_uses_the_first_losses_as_reference():
    torch = pytest.importorskip("torch")
    from mtl_lessons.torch_weighting import GradNorm

    shared = torch.tensor([1.0, 1.0], requires_grad=True)
    strategy = GradNorm(["click", "purchase"], shared, alpha=1.0, learning_rate=0.1)
    strategy({"click": shared[0] * 1.0, "purchase": shared[1] * 1.0})  # L(0) = (1, 1), g = (1, 1): gradient 0
    assert list(strategy.weights().values()) == pytest.approx([1.0, 1.0])
    # now the GN toy: L = (0.9, 0.5), g = (1.0, 0.8) → ∂L_grad/∂w = (−1.0, +0.8).
    # Adam's second step (first gradient 0): m̂/√v̂ = (0.1/0.19) / √(0.001/0.001999) = 0.7441352 per unit sign
    strategy({"click": shared[0] - 0.1, "purchase": 0.8 * shared[1] - 0.3})
    step = 0.1 * (0.1 / 0.19) / math.sqrt(0.001 / (1 - 0.999 ** 2))
    assert list(strategy.weights().values()) == pytest.approx([1 + step, 1 - step], abs=1e-6)


# --------------------------------------------------------------------------- DWA
def test_dwa_weights_match_hand_values():
    # r = (0.5/1.0, 1.8/2.0) = (0.5, 0.9); T = 2: 2·e^{0.25}/(e^{0.25}+e^{0.45}) = 0.900332005
    history = [{"click": 1.0, "purchase": 2.0}, {"click": 0.5, "purchase": 1.8}]
    weights = W.dwa_weights(history, temperature=2.0)
    assert weights == pytest.approx({"click": 0.900332005, "purchase": 1.099667995}, abs=1e-9)
    assert W.dwa_weights(history[:1]) == {"click": 1.0, "purchase": 1.0}


def test_dwa_weights_tend_to_one_at_high_temperature_and_reject_bad_input():
    history = [{"a": 1.0, "b": 1.0}, {"a": 0.2, "b": 1.0}]
    assert W.dwa_weights(history, temperature=1e6) == pytest.approx({"a": 1.0, "b": 1.0}, abs=1e-5)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        W.dwa_weights(history, temperature=0.0)
    with pytest.raises(ValueError, match="loss_history must hold"):
        W.dwa_weights([])


def test_torch_dwa_uses_epoch_losses():
    torch = pytest.importorskip("torch")
    from mtl_lessons.torch_weighting import DynamicWeightAverage

    strategy = DynamicWeightAverage(["click", "purchase"], temperature=2.0)
    strategy.on_epoch_end({"click": 1.0, "purchase": 2.0})
    assert strategy.weights() == {"click": 1.0, "purchase": 1.0}
    strategy.on_epoch_end({"click": 0.5, "purchase": 1.8})
    assert strategy.weights() == pytest.approx({"click": 0.900332005, "purchase": 1.099667995}, abs=1e-9)
    total = strategy({"click": torch.tensor(1.0), "purchase": torch.tensor(2.0)})
    assert float(total) == pytest.approx(0.900332005 + 2 * 1.099667995, abs=1e-6)
    assert len(strategy.history) == 3


# --------------------------------------------------------------------------- inside train
def test_each_torch_strategy_trains_a_model_and_records_its_weights():
    pytest.importorskip("torch")
    from mtl_contract import small_data

    from mtl_lessons import torch_mtl as T
    from mtl_lessons import torch_weighting as TW

    small = small_data()
    tasks = ("click", "purchase", "rating")
    for make in (lambda m: TW.UncertaintyWeighting(tasks),
                 lambda m: TW.GradNorm(tasks, T.last_shared_layer(m), alpha=1.5, learning_rate=0.01),
                 lambda m: TW.DynamicWeightAverage(tasks)):
        model = T.SharedBottomModel(small.encoder.cardinalities, small.n_numeric, tasks, bottom=(16, 8), seed=0)
        strategy = make(model)
        history = T.train(model, small.train, small.valid, tasks, epochs=3, batch_size=512, patience=None,
                          monitor=("click", "auc"), combine=strategy)
        assert len(history) == 3 and len(strategy.history) == 4
        weights = strategy.history[-1]
        assert set(weights) == set(tasks) and all(np.isfinite(v) and v > 0 for v in weights.values())
        assert strategy.history[-1] != strategy.history[0]


def test_last_shared_layer_needs_a_shared_layer():
    pytest.importorskip("torch")
    from mtl_lessons import torch_mtl as T

    model = T.SoftSharingModel({"a": 3}, 1, ("click", "purchase"), tower=(4,), seed=0)
    with pytest.raises(ValueError, match="no shared layer"):
        T.last_shared_layer(model)


def test_keras_last_shared_layer_is_the_last_dense_of_the_bottom():
    pytest.importorskip("tensorflow")
    from mtl_lessons import keras_mtl as K

    model = K.SharedBottomModel({"a": 3}, 1, ("click", "purchase"), bottom=(4, 2), seed=0)
    assert tuple(K.last_shared_layer(model).kernel.shape) == (4, 2)
    with pytest.raises(ValueError, match="no shared layer"):
        K.last_shared_layer(K.SoftSharingModel({"a": 3}, 1, ("click", "purchase"), tower=(4,), seed=0))


def test_a_strategy_names_the_tasks_its_call_misses():
    with pytest.raises(ValueError, match=r"task_losses misses tasks \['rating'\]; GradNorm was built for"):
        W.check_strategy_call({"click": 1.0}, None, ("click", "rating"), "GradNorm")
    assert W.check_strategy_call({"rating": 2.0, "click": 1.0}, {"click": 1.0, "rating": 1.0},
                                 ("click", "rating"), "DWA") == [1.0, 2.0]
