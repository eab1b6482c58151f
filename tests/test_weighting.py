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


# --------------------------------------------------------------------------- GradNorm: three tasks, uneven steps, L(0) ≠ 1
# Three tasks (click, purchase, rating), α = 1.5, learning rate 0.1; a shared vector W = (1, 1, 1).
# Step 1: L_i = a_i·W_i with a = (2, 0.5, 4): L(0) = (2, 0.5, 4) (not 1), g = (2, 0.5, 4).
#   L̃ = L/L(0) = (1, 1, 1) → r = 1; G = (2, 0.5, 4), Ḡ = 6.5/3 = 2.1667 = target for all.
#   sign(G − target) = (−, −, +) → ∂L_grad/∂w = (−2, −0.5, +4).
#   Adam's first step moves each weight by 0.1·sign: (1.1, 1.1, 0.9), sum 3.1 (uneven: not 3)
#   → renormalised × 3/3.1: (1.0645161, 1.0645161, 0.8709677).
#   A GradNorm that never renormalises keeps (1.1, 1.1, 0.9); one that uses L instead of L/L(0)
#   gets r = L/mean(L) = (0.923, 0.231, 1.846) → signs (+, +, −) → (0.931, 0.931, 1.138).
# Step 2: L_i = W_i + b_i with b = (−0.4, 0.5, 1): L = (0.6, 1.5, 2.0), g = (1, 1, 1).
#   L̃ = (0.3, 3.0, 0.5), r = (0.2368, 2.3684, 0.3947), r^1.5 = (0.1153, 3.6449, 0.2480);
#   G = w (step 1's), Ḡ = 1 → signs (+, −, +) → ∂L_grad/∂w = (1, −1, 1).
#   Adam: m = 0.9·0.1·(−2, −0.5, 4) + 0.1·(1, −1, 1) = (−0.08, −0.145, 0.46);
#   v = 0.999·0.001·(4, 0.25, 16) + 0.001·1 = (0.004996, 0.00124975, 0.016984);
#   w −= 0.1·(m/0.19)/(√v/√0.001999 + 1e-8) = (+0.026634, +0.096519, −0.083060)
#   → (1.0911498, 1.1610343, 0.7879080), sum 3.0400921 → × 3/sum:
GN3_TASKS = ("click", "purchase", "rating")
GN3_STEP1 = [1.0645161293, 1.0645161279, 0.8709677428]
GN3_STEP2 = [1.0767599585, 1.1457228312, 0.7775172103]
GN3_NO_RENORMALISE = [1.1, 1.1, 0.9]
GN3_NO_INITIAL_LOSS = [0.9 * 3 / 2.9, 0.9 * 3 / 2.9, 1.1 * 3 / 2.9]


def test_gradnorm_gradient_divides_by_the_initial_losses():
    ones, g = np.ones(3), np.array([2.0, 0.5, 4.0])
    assert W.gradnorm_gradient(ones, g, g, g, alpha=1.5).tolist() == [-2.0, -0.5, 4.0]
    # the same losses measured against L(0) = 1 are different training rates
    assert W.gradnorm_gradient(ones, g, g, ones, alpha=1.5).tolist() == [2.0, 0.5, -4.0]


def test_gradnorm_gradient_refuses_losses_without_training_rates():
    with pytest.raises(ValueError, match=r"not all 0 \(with every loss 0 the relative inverse training rates r_i are 0/0\)"):
        W.gradnorm_gradient(np.ones(2), np.zeros(2), np.zeros(2), np.ones(2), alpha=1.0)
    assert W.gradnorm_batch_has_rates(np.array([0.3, 0.2]))
    assert not W.gradnorm_batch_has_rates(np.array([0.3, 0.0]))
    assert not W.gradnorm_batch_has_rates(np.zeros(2))
    with pytest.raises(ValueError, match="the training diverged"):
        W.gradnorm_batch_has_rates(np.array([0.3, np.nan]))


def test_adam_state_follows_torch_adam():
    torch = pytest.importorskip("torch")
    p = torch.tensor([1.0, -0.5, 2.0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([p], lr=0.05)
    state, mine = W.AdamState(3, 0.05), np.array([1.0, -0.5, 2.0])
    for grad in ([0.3, -2.0, 0.0], [1.0, 1.0, -4.0], [-0.2, 0.5, 3.0]):
        p.grad = torch.tensor(grad, dtype=torch.float64)
        optimizer.step()
        mine = state.step(mine, np.array(grad))
        np.testing.assert_allclose(mine, p.detach().numpy(), rtol=1e-15, atol=1e-15)


def _gradnorm_three_tasks(framework: str, *, break_renormalise: bool = False):
    """The weights after step 1 and step 2 of the toy above, with the framework's GradNorm."""
    if framework == "torch":
        torch = pytest.importorskip("torch")
        from mtl_lessons.torch_weighting import GradNorm

        shared = torch.ones(3, requires_grad=True)
        strategy = GradNorm(GN3_TASKS, shared, alpha=1.5, learning_rate=0.1)

        def step(a, b):
            losses = {t: a[i] * shared[i] + b[i] for i, t in enumerate(GN3_TASKS)}
            total = strategy(losses)
            return float(total.detach())
    else:
        tf = pytest.importorskip("tensorflow")
        from mtl_lessons.keras_weighting import GradNorm

        shared = tf.Variable(np.ones(3, np.float32))
        strategy = GradNorm(GN3_TASKS, shared, alpha=1.5, learning_rate=0.1)

        def step(a, b):
            with tf.GradientTape(persistent=True) as tape:
                losses = {t: a[i] * shared[i] + b[i] for i, t in enumerate(GN3_TASKS)}
                total = strategy(losses)
            strategy.after_step(losses, strategy.gradient_norms(tape, losses))
            return float(total)
    totals = [step((2.0, 0.5, 4.0), (0.0, 0.0, 0.0))]
    first = list(strategy.weights().values())
    totals.append(step((1.0, 1.0, 1.0), (-0.4, 0.5, 1.0)))
    return first, list(strategy.weights().values()), totals, strategy


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_gradnorm_three_tasks_uneven_steps_match_hand_values(framework):
    first, second, totals, strategy = _gradnorm_three_tasks(framework)
    assert first == pytest.approx(GN3_STEP1, abs=1e-7)
    assert first != pytest.approx(GN3_NO_RENORMALISE, abs=1e-3)
    assert first != pytest.approx(GN3_NO_INITIAL_LOSS, abs=1e-3)
    assert second == pytest.approx(GN3_STEP2, abs=1e-7)
    assert sum(second) == pytest.approx(3.0, abs=1e-12)
    assert strategy.initial_losses.tolist() == pytest.approx([2.0, 0.5, 4.0])
    # each objective uses the weights before that step's update: 1·(2 + 0.5 + 4), then step 1's weights
    assert totals == pytest.approx([6.5, float(np.dot(GN3_STEP1, [0.6, 1.5, 2.0]))], rel=1e-6)


def test_keras_gradnorm_update_equals_torch_on_the_same_toy():
    pytest.importorskip("torch")
    pytest.importorskip("tensorflow")
    torch_first, torch_second, torch_totals, _ = _gradnorm_three_tasks("torch")
    keras_first, keras_second, keras_totals, _ = _gradnorm_three_tasks("keras")
    np.testing.assert_allclose(keras_first, torch_first, rtol=1e-12)
    np.testing.assert_allclose(keras_second, torch_second, rtol=1e-12)
    np.testing.assert_allclose(keras_totals, torch_totals, rtol=1e-6)


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_gradnorm_skips_batches_without_a_label_and_takes_L0_from_a_full_batch(framework):
    """A task's loss of exactly 0 is train's masked mean over no labelled rows: no training rate."""
    if framework == "torch":
        torch = pytest.importorskip("torch")
        from mtl_lessons.torch_weighting import GradNorm

        shared = torch.ones(2, requires_grad=True)
        strategy = GradNorm(("rating", "dwell"), shared, alpha=1.5, learning_rate=0.1)

        def step(losses):
            return float(strategy({t: l * shared[i] for i, (t, l) in enumerate(losses.items())}).detach())
    else:
        tf = pytest.importorskip("tensorflow")
        from mtl_lessons.keras_weighting import GradNorm

        shared = tf.Variable(np.ones(2, np.float32))
        strategy = GradNorm(("rating", "dwell"), shared, alpha=1.5, learning_rate=0.1)

        def step(losses):
            with tf.GradientTape(persistent=True) as tape:
                tensors = {t: l * shared[i] for i, (t, l) in enumerate(losses.items())}
                total = strategy(tensors)
            strategy.after_step(tensors, strategy.gradient_norms(tape, tensors))
            return float(total)
    assert step({"rating": 0.0, "dwell": 0.0}) == 0.0  # no label at all: 0/0 rates before the fix
    assert step({"rating": 0.0, "dwell": 0.7}) == pytest.approx(0.7)  # rating has no label
    assert strategy.weights() == {"rating": 1.0, "dwell": 1.0}
    assert strategy.initial_losses is None and strategy.skipped_steps == 2
    step({"rating": 2.0, "dwell": 0.5})  # the first batch with every label: L(0), and an update
    assert strategy.initial_losses.tolist() == [2.0, 0.5]
    weights = list(strategy.weights().values())
    assert all(np.isfinite(weights)) and weights != [1.0, 1.0] and sum(weights) == pytest.approx(2.0)
    step({"rating": 0.0, "dwell": 0.0})
    assert list(strategy.weights().values()) == weights and strategy.skipped_steps == 3


# --------------------------------------------------------------------------- Keras DWA and compiled steps
def test_keras_dwa_uses_epoch_losses():
    tf = pytest.importorskip("tensorflow")
    from mtl_lessons.keras_weighting import DynamicWeightAverage

    strategy = DynamicWeightAverage(["click", "purchase"], temperature=2.0)
    strategy.on_epoch_end({"click": 1.0, "purchase": 2.0})
    assert strategy.weights() == {"click": 1.0, "purchase": 1.0}
    strategy.on_epoch_end({"click": 0.5, "purchase": 1.8})
    assert strategy.weights() == pytest.approx({"click": 0.900332005, "purchase": 1.099667995}, abs=1e-9)
    total = strategy({"click": tf.constant(1.0), "purchase": tf.constant(2.0)})
    assert float(total) == pytest.approx(0.900332005 + 2 * 1.099667995, abs=1e-6)
    assert len(strategy.history) == 3


@pytest.mark.parametrize("name", ["GradNorm", "DynamicWeightAverage"])
def test_keras_weights_changed_from_python_reach_a_compiled_step(name):
    """A tf.function traced once keeps reading the strategy's weights: they live in a variable."""
    tf = pytest.importorskip("tensorflow")
    from mtl_lessons import keras_weighting as KW

    tasks = ("click", "purchase")
    shared = tf.Variable(np.ones(2, np.float32))
    strategy = KW.GradNorm(tasks, shared, alpha=1.0, learning_rate=0.1) if name == "GradNorm" \
        else KW.DynamicWeightAverage(tasks)
    compiled = tf.function(lambda a, b: strategy({"click": a, "purchase": b}))
    assert float(compiled(tf.constant(1.0), tf.constant(2.0))) == pytest.approx(3.0)
    if name == "GradNorm":
        strategy.after_step({"click": 2.0, "purchase": 0.5}, {"click": 2.0, "purchase": 0.5})  # → (0.9, 1.1)
        expected = 0.9 * 1.0 + 1.1 * 2.0
    else:
        strategy.on_epoch_end({"click": 1.0, "purchase": 2.0})
        strategy.on_epoch_end({"click": 0.5, "purchase": 1.8})
        expected = 0.900332005 + 2 * 1.099667995
    assert float(compiled(tf.constant(1.0), tf.constant(2.0))) == pytest.approx(expected, abs=1e-6)
    assert compiled.experimental_get_tracing_count() == 1


def test_each_keras_strategy_trains_a_model_and_records_its_weights():
    pytest.importorskip("tensorflow")
    from mtl_contract import small_data

    from mtl_lessons import keras_mtl as K
    from mtl_lessons import keras_weighting as KW

    small = small_data()
    tasks = ("click", "purchase", "rating")
    for make in (lambda m: KW.UncertaintyWeighting(tasks),
                 lambda m: KW.GradNorm(tasks, K.last_shared_layer(m), alpha=1.5, learning_rate=0.01),
                 lambda m: KW.DynamicWeightAverage(tasks)):
        model = K.SharedBottomModel(small.encoder.cardinalities, small.n_numeric, tasks, bottom=(16, 8), seed=0)
        strategy = make(model)
        history = K.train(model, small.train, small.valid, tasks, epochs=3, batch_size=512, patience=None,
                          monitor=("click", "auc"), combine=strategy)
        assert len(history) == 3 and len(strategy.history) == 4
        weights = strategy.history[-1]
        assert set(weights) == set(tasks) and all(np.isfinite(v) and v > 0 for v in weights.values())
        assert strategy.history[-1] != strategy.history[0]
