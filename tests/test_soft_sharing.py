"""Soft parameter sharing (lesson 04): the penalty and its gradient, in both frameworks.

The reference is NumPy on the exported weights, written from the formulas
Ω_coupling = λ Σ_{t<s} Σ_l ‖θ_t^l − θ_s^l‖² (gradient 2λ Σ_{s≠t} (θ_t − θ_s)) and
Ω_norm = λ Σ_t Σ_l ‖θ_t^l‖² (gradient 2λ θ_t).
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

TASKS = ("click", "add_to_cart", "purchase")
CARD = {"user_id": 5, "item_id": 7}
TOWER = (4, 3)


def tower_arrays(weights: dict[str, np.ndarray], task: str) -> list[np.ndarray]:
    return [weights[f"towers.{task}.{i}.{part}"] for i in range(len(TOWER)) for part in ("kernel", "bias")]


def reference(weights: dict[str, np.ndarray], coupling: float, penalty: str) -> float:
    if penalty == "norm":
        return coupling * sum(float((a ** 2).sum()) for t in TASKS for a in tower_arrays(weights, t))
    return coupling * sum(float(((a - b) ** 2).sum()) for t, s in itertools.combinations(TASKS, 2)
                          for a, b in zip(tower_arrays(weights, t), tower_arrays(weights, s)))


def test_hand_computed_two_tower_penalty():
    """Two towers of one unit on one input: θ_click = (k=1, b=0), θ_purchase = (k=3, b=−1)."""
    torch = pytest.importorskip("torch")
    from mtl_lessons import torch_mtl as T

    model = T.SoftSharingModel({"a": 1}, 0, ("click", "purchase"), tower=(1,), coupling=0.5,
                               embedding_dims={"a": 1}, seed=0)
    layers = {t: model.towers[t][0] for t in model.tasks}
    with torch.no_grad():
        layers["click"].weight.fill_(1.0), layers["click"].bias.fill_(0.0)
        layers["purchase"].weight.fill_(3.0), layers["purchase"].bias.fill_(-1.0)
    # coupling: 0.5 · ((1−3)² + (0−(−1))²) = 0.5 · 5 = 2.5; gradient on k_click: 2·0.5·(1−3) = −2
    penalty = model.penalty()
    penalty.backward()
    assert float(penalty.detach()) == pytest.approx(2.5)
    assert float(layers["click"].weight.grad) == pytest.approx(-2.0)
    assert float(layers["purchase"].bias.grad) == pytest.approx(2 * 0.5 * (-1.0 - 0.0))
    model.penalty_kind = "norm"  # 0.5 · (1 + 0 + 9 + 1) = 5.5
    assert float(model.penalty().detach()) == pytest.approx(5.5)


@pytest.mark.parametrize("penalty", ["coupling", "norm"])
def test_torch_penalty_and_gradient_match_the_formula(penalty):
    torch = pytest.importorskip("torch")
    from mtl_lessons import torch_mtl as T

    model = T.SoftSharingModel(CARD, 2, TASKS, tower=TOWER, coupling=0.3, penalty=penalty, seed=1)
    weights = T.export_weights(model)
    value = model.penalty()
    value.backward()
    assert float(value.detach()) == pytest.approx(reference(weights, 0.3, penalty), rel=1e-5)
    for task in TASKS:
        kernel = model.towers[task][0].weight.grad.numpy().T  # (in, out) like the export
        mine = weights[f"towers.{task}.0.kernel"]
        if penalty == "coupling":
            expected = 2 * 0.3 * sum(mine - weights[f"towers.{s}.0.kernel"] for s in TASKS if s != task)
        else:
            expected = 2 * 0.3 * mine
        np.testing.assert_allclose(kernel, expected, rtol=1e-5, atol=1e-7)
    assert all(p.grad is None for p in model.heads.parameters())  # heads are not penalised


@pytest.mark.parametrize("penalty", ["coupling", "norm"])
def test_keras_penalty_equals_torch_on_the_same_weights(penalty):
    pytest.importorskip("torch")
    pytest.importorskip("tensorflow")
    from mtl_lessons import keras_mtl as K
    from mtl_lessons import torch_mtl as T

    torch_model = T.SoftSharingModel(CARD, 2, TASKS, tower=TOWER, coupling=0.3, penalty=penalty, seed=1)
    keras_model = K.SoftSharingModel(CARD, 2, TASKS, tower=TOWER, coupling=0.3, penalty=penalty, seed=5)
    K.import_weights(keras_model, T.export_weights(torch_model))
    assert float(keras_model.penalty()) == pytest.approx(float(torch_model.penalty().detach()), rel=1e-5)
    assert float(keras_model.tower_distance()) == pytest.approx(torch_model.tower_distance(), rel=1e-5)


@pytest.mark.parametrize("framework", ["torch_mtl", "keras_mtl"])
def test_soft_sharing_arguments_are_checked(framework):
    pytest.importorskip("torch" if framework == "torch_mtl" else "tensorflow")
    import importlib

    F = importlib.import_module(f"mtl_lessons.{framework}")
    with pytest.raises(ValueError, match="tower must have at least one layer"):
        F.SoftSharingModel(CARD, 2, TASKS, tower=())
    with pytest.raises(ValueError, match="coupling must be a finite number ≥ 0"):
        F.SoftSharingModel(CARD, 2, TASKS, coupling=-1.0)
    with pytest.raises(ValueError, match="penalty must be one of"):
        F.SoftSharingModel(CARD, 2, TASKS, penalty="l1")
    assert F.SoftSharingModel(CARD, 2, TASKS, tower=(4,), coupling=0.0).penalty() is None


@pytest.mark.parametrize("framework", ["torch_mtl", "keras_mtl"])
def test_training_with_coupling_pulls_the_towers_together(framework):
    pytest.importorskip("torch" if framework == "torch_mtl" else "tensorflow")
    import importlib

    from mtl_contract import small_data

    F = importlib.import_module(f"mtl_lessons.{framework}")
    small = small_data()
    distances = {}
    for coupling in (0.0, 0.1):
        model = F.SoftSharingModel(small.encoder.cardinalities, small.n_numeric, TASKS, tower=(8, 4),
                                   coupling=coupling, seed=0)
        F.train(model, small.train, None, TASKS, epochs=3, batch_size=512, learning_rate=1e-2,
                monitor=None, patience=None)
        distances[coupling] = model.tower_distance()
    assert distances[0.1] < 0.2 * distances[0.0]
