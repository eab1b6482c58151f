r"""The expert models (lesson 07): MMoE / OMoE (Ma et al. 2018) and PLE / CGC (Tang et al. 2020), both frameworks.

The forward passes are pinned to values computed by hand on tiny weights, and to a NumPy reference
written from the papers' formulas on the exported weights:

* MMoE: :math:`g_k(x) = \mathrm{softmax}(W_k x)`, :math:`f^k(x) = \sum_i g_k(x)_i f_i(x)`,
  :math:`y_k = h_k(f^k(x))`; OMoE: one gate, the same mixture for every task.
* PLE: task k's gate mixes [its own experts; the shared experts]; a non-final level also has a
  shared gate over all experts of the level; at level j > 1 task k's experts and gate read task k's
  fused output of level j − 1, the shared experts and gate the shared fused output.

Also: experts differ at initialisation, parameter counts, training through ``train`` with the
weighting strategies, weights export / import / save / load, Keras ↔ PyTorch parity and bad inputs.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from mtl_lessons import data as D

TASKS = ("synthetic_1", "synthetic_2")
ATOL = 1e-5
FRAMEWORKS = ("torch", "keras")


# --------------------------------------------------------------------------- helpers
def framework(name: str):
    """The framework module ``torch_mtl`` or ``keras_mtl`` (skipped if the framework is missing)."""
    if name == "torch":
        pytest.importorskip("torch")
        from mtl_lessons import torch_mtl
        return torch_mtl
    pytest.importorskip("tensorflow")
    from mtl_lessons import keras_mtl
    return keras_mtl


def weighting(name: str):
    if name == "torch":
        from mtl_lessons import torch_weighting
        return torch_weighting
    from mtl_lessons import keras_weighting
    return keras_weighting


def inputs_of(x: np.ndarray, categorical: dict[str, np.ndarray] | None = None,
              labels: dict[str, np.ndarray] | None = None) -> D.ModelInputs:
    """ModelInputs of numeric rows ``x`` (labels zero unless given, every row labelled)."""
    x = np.asarray(x, np.float32)
    labels = labels or {task: np.zeros(len(x)) for task in TASKS}
    return D.ModelInputs(categorical=dict(categorical or {}), numeric=x, labels=labels,
                         masks={task: np.ones(len(x), bool) for task in labels})


def random_x(n: int = 16, d: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def to_numpy(tensor) -> np.ndarray:
    return tensor.detach().numpy() if hasattr(tensor, "detach") else np.asarray(tensor)


def outputs(F, model, x: np.ndarray) -> dict[str, np.ndarray]:
    """task → raw output (n,), by a plain eager forward pass (``F.predict`` is used where it is the point:
    Keras' predict traces a graph per model, which would make these many small tests slow)."""
    feeds = F.feature_tensors(inputs_of(x))
    if hasattr(model, "eval"):  # PyTorch
        import torch
        model.eval()
        with torch.no_grad():
            return {task: value.numpy() for task, value in model(feeds).items()}
    return {task: np.asarray(value) for task, value in model(feeds, training=False).items()}


def relu(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0.0)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def mlp(w: dict[str, np.ndarray], prefix: str, n_layers: int, x: np.ndarray) -> np.ndarray:
    for i in range(n_layers):
        x = relu(x @ w[f"{prefix}.{i}.kernel"] + w[f"{prefix}.{i}.bias"])
    return x


def mix_reference(logits: np.ndarray, experts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ_i softmax(logits)_i · experts[:, i]: mixture (n, width), weights (n, E)."""
    g = softmax(logits)
    return np.einsum("ne,new->nw", g, experts), g


def heads(w, x_by_task, n_tower_layers):
    return {task: (mlp(w, f"towers.{task}", n_tower_layers, x_by_task[task]) @ w[f"heads.{task}.kernel"]
                   + w[f"heads.{task}.bias"])[:, 0] for task in TASKS}


def mmoe_reference(w, x, *, n_experts, n_expert_layers, n_tower_layers, one_gate=False):
    """The MMoE paper's eq. 6–8 in NumPy on exported weights: task → y (n,), gate name → g (n, E)."""
    f = np.stack([mlp(w, f"experts.{i}", n_expert_layers, x) for i in range(n_experts)], axis=1)
    gates, mixtures = {}, {}
    for task in TASKS:
        name = "all" if one_gate else task
        mixtures[task], gates[name] = mix_reference(x @ w[f"gates.{name}.kernel"], f)
    return heads(w, mixtures, n_tower_layers), gates


def ple_reference(w, x, *, n_levels, n_specific, n_shared, n_expert_layers, n_tower_layers):
    """PLE (section 4 of the paper) in NumPy on exported weights: task → y (n,), "<level>.<owner>" → g."""
    owners = (*TASKS, "shared")
    counts = {o: n_shared if o == "shared" else n_specific for o in owners}
    level_inputs = {o: x for o in owners}
    gates = {}
    for j in range(n_levels):
        experts = {o: np.stack([mlp(w, f"levels.{j}.experts.{o}.{i}", n_expert_layers, level_inputs[o])
                                for i in range(counts[o])], axis=1) for o in owners}
        fused = {}
        for task in TASKS:  # own experts first, then the shared ones
            candidates = np.concatenate([experts[task], experts["shared"]], axis=1)
            fused[task], gates[f"{j}.{task}"] = mix_reference(
                level_inputs[task] @ w[f"levels.{j}.gates.{task}.kernel"], candidates)
        if j < n_levels - 1:  # the shared gate mixes every expert of the level
            candidates = np.concatenate([experts[o] for o in owners], axis=1)
            fused["shared"], gates[f"{j}.shared"] = mix_reference(
                level_inputs["shared"] @ w[f"levels.{j}.gates.shared.kernel"], candidates)
        level_inputs = fused
    return heads(w, level_inputs, n_tower_layers), gates


def perturbed(weights: dict[str, np.ndarray], prefix: str, seed: int = 9) -> dict[str, np.ndarray]:
    """A copy of ``weights`` with every array whose name starts with ``prefix`` changed."""
    rng = np.random.default_rng(seed)
    changed = {name: (value + rng.normal(0.0, 0.5, value.shape)).astype(np.float32) if name.startswith(prefix)
               else value for name, value in weights.items()}
    assert any(name.startswith(prefix) for name in weights), prefix
    return changed


def mmoe(F, **kwargs):
    kwargs.setdefault("seed", 0)
    n_numeric = kwargs.pop("n_numeric", 3)
    cardinalities = kwargs.pop("cardinalities", {})
    return F.MMoEModel(cardinalities, n_numeric, TASKS, **kwargs)


def ple(F, **kwargs):
    kwargs.setdefault("seed", 0)
    n_numeric = kwargs.pop("n_numeric", 3)
    cardinalities = kwargs.pop("cardinalities", {})
    return F.PLEModel(cardinalities, n_numeric, TASKS, **kwargs)


# --------------------------------------------------------------------------- MMoE: hand-computed forward pass
# Two numeric inputs x = (x1, x2), two experts of one unit, no towers:
#   f_0(x) = relu(x1),  f_1(x) = relu(x2 + 0.5)
#   gate of task 1: logits (x1, 0); gate of task 2: logits (0, 2·x2)
#   y_1 = 2·f^1 + 0.5,  y_2 = −f^2
HAND_X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 2.0]], np.float32)
HAND_MMOE = {
    "experts.0.0.kernel": [[1.0], [0.0]], "experts.0.0.bias": [0.0],
    "experts.1.0.kernel": [[0.0], [1.0]], "experts.1.0.bias": [0.5],
    "gates.synthetic_1.kernel": [[1.0, 0.0], [0.0, 0.0]],
    "gates.synthetic_2.kernel": [[0.0, 0.0], [0.0, 2.0]],
    "heads.synthetic_1.kernel": [[2.0]], "heads.synthetic_1.bias": [0.5],
    "heads.synthetic_2.kernel": [[-1.0]], "heads.synthetic_2.bias": [0.0],
}
S1, S2, S4 = sigmoid(1.0), sigmoid(2.0), sigmoid(4.0)  # softmax(a, b)_0 = sigmoid(a − b)
# row (1, 0):  f = (1, 0.5);  g_1 = (σ(1), 1−σ(1)),  g_2 = (½, ½)
# row (0, 1):  f = (0, 1.5);  g_1 = (½, ½),          g_2 = (1−σ(2), σ(2))
# row (−1, 2): f = (0, 2.5);  g_1 = (1−σ(1), σ(1)),  g_2 = (1−σ(4), σ(4))
HAND_MMOE_GATES = {
    "synthetic_1": [[S1, 1 - S1], [0.5, 0.5], [1 - S1, S1]],
    "synthetic_2": [[0.5, 0.5], [1 - S2, S2], [1 - S4, S4]],
}
HAND_MMOE_MIXTURES = {
    "synthetic_1": [S1 * 1 + (1 - S1) * 0.5, 0.5 * 0 + 0.5 * 1.5, (1 - S1) * 0 + S1 * 2.5],
    "synthetic_2": [0.5 * 1 + 0.5 * 0.5, S2 * 1.5, S4 * 2.5],
}
HAND_MMOE_Y = {
    "synthetic_1": [2.2310585786, 2.0, 4.1552932894],    # 2·(0.8655293, 0.75, 1.8276466) + 0.5
    "synthetic_2": [-0.75, -1.3211956162, -2.4550344646],  # −(0.75, 1.5·σ(2), 2.5·σ(4))
}


def as_weights(table: dict[str, list]) -> dict[str, np.ndarray]:
    return {name: np.asarray(value, np.float32) for name, value in table.items()}


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_mmoe_forward_pass_matches_hand_computed_values(fw):
    F = framework(fw)
    model = F.MMoEModel({}, 2, TASKS, n_experts=2, expert=(1,), tower=(), seed=0)
    assert set(F.export_weights(model)) == set(HAND_MMOE)  # the neutral names, gates without a bias
    F.import_weights(model, as_weights(HAND_MMOE))
    y = F.predict(model, inputs_of(HAND_X), raw=True)  # the public path
    gates = F.gate_weights(model, inputs_of(HAND_X))
    assert set(gates) == set(TASKS)
    for task in TASKS:
        # the literals, and the formulas they come from
        np.testing.assert_allclose(y[task], HAND_MMOE_Y[task], rtol=1e-6, atol=1e-6, err_msg=task)
        head_kernel, head_bias = HAND_MMOE[f"heads.{task}.kernel"][0][0], HAND_MMOE[f"heads.{task}.bias"][0]
        expected = head_kernel * np.asarray(HAND_MMOE_MIXTURES[task]) + head_bias  # y_k = h_k(f^k)
        np.testing.assert_allclose(y[task], expected, rtol=1e-6, atol=1e-6, err_msg=task)
        np.testing.assert_allclose(gates[task], HAND_MMOE_GATES[task], rtol=1e-6, atol=1e-7, err_msg=task)
        assert gates[task].shape == (3, 2) and gates[task].dtype == np.float32
        np.testing.assert_allclose(gates[task].sum(axis=1), 1.0, atol=1e-6)
    reference, ref_gates = mmoe_reference(as_weights(HAND_MMOE), HAND_X.astype(np.float64), n_experts=2,
                                          n_expert_layers=1, n_tower_layers=0)
    for task in TASKS:
        np.testing.assert_allclose(reference[task], HAND_MMOE_Y[task], rtol=1e-6)
        np.testing.assert_allclose(ref_gates[task], HAND_MMOE_GATES[task], rtol=1e-6)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_omoe_gives_every_task_the_same_mixture(fw):
    F = framework(fw)
    model = F.MMoEModel({}, 2, TASKS, n_experts=2, expert=(1,), tower=(), one_gate=True, seed=0)
    table = {name: value for name, value in HAND_MMOE.items() if not name.startswith("gates.")}
    table["gates.all.kernel"] = HAND_MMOE["gates.synthetic_1.kernel"]  # task 1's gate of the MMoE test
    assert set(F.export_weights(model)) == set(table)
    F.import_weights(model, as_weights(table))
    y = outputs(F, model, HAND_X)
    gates = F.gate_weights(model, inputs_of(HAND_X))
    assert set(gates) == {"all"}
    np.testing.assert_allclose(gates["all"], HAND_MMOE_GATES["synthetic_1"], rtol=1e-6, atol=1e-7)
    mixture = np.asarray(HAND_MMOE_MIXTURES["synthetic_1"])
    np.testing.assert_allclose(y["synthetic_1"], 2 * mixture + 0.5, rtol=1e-6)
    np.testing.assert_allclose(y["synthetic_2"], -mixture, rtol=1e-6)  # the same mixture, task 2's head
    # with equal heads the two tasks' outputs are equal on any input
    model = mmoe(F, one_gate=True, n_experts=3, expert=(4,), tower=(2,))
    weights = F.export_weights(model)
    for part in ("towers.{}.0.kernel", "towers.{}.0.bias", "heads.{}.kernel", "heads.{}.bias"):
        weights[part.format("synthetic_2")] = weights[part.format("synthetic_1")]
    F.import_weights(model, weights)
    y = outputs(F, model, random_x())
    np.testing.assert_array_equal(y["synthetic_1"], y["synthetic_2"])


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_mix_is_the_softmax_weighted_sum_of_the_experts(fw):
    F = framework(fw)
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (5, 4)).astype(np.float32)
    experts = rng.normal(0, 1, (5, 4, 3)).astype(np.float32)
    if fw == "torch":
        import torch
        mixture, weights = F.mix(torch.from_numpy(logits), torch.from_numpy(experts))
    else:
        mixture, weights = F.mix(logits, experts)
    mixture, weights = to_numpy(mixture), to_numpy(weights)
    g = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(weights, g, rtol=1e-5)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    expected = sum(g[:, i:i + 1] * experts[:, i] for i in range(4))
    np.testing.assert_allclose(mixture, expected, rtol=1e-5, atol=1e-6)
    assert mixture.shape == (5, 3) and weights.shape == (5, 4)


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("one_gate", [False, True])
def test_mmoe_matches_the_numpy_reference_on_random_weights(fw, one_gate):
    F = framework(fw)
    model = mmoe(F, n_experts=3, expert=(5, 4), tower=(3,), one_gate=one_gate, seed=4)
    x = random_x(n=32)
    y = outputs(F, model, x)
    gates = F.gate_weights(model, inputs_of(x), batch_size=10)  # several batches, concatenated in order
    expected, expected_gates = mmoe_reference(F.export_weights(model), x.astype(np.float64), n_experts=3,
                                              n_expert_layers=2, n_tower_layers=1, one_gate=one_gate)
    for task in TASKS:
        np.testing.assert_allclose(y[task], expected[task], rtol=1e-5, atol=1e-6)
    assert set(gates) == set(expected_gates)
    for name in gates:
        np.testing.assert_allclose(gates[name], expected_gates[name], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(gates[name].sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_gate_weights_are_readable_after_a_forward_pass(fw):
    F = framework(fw)
    model = F.MMoEModel({}, 2, TASKS, n_experts=2, expert=(1,), tower=(), seed=0)
    F.import_weights(model, as_weights(HAND_MMOE))
    model(F.feature_tensors(inputs_of(HAND_X)))
    assert set(model.gate_weights) == set(TASKS)
    for task in TASKS:
        np.testing.assert_allclose(to_numpy(model.gate_weights[task]), HAND_MMOE_GATES[task], rtol=1e-6, atol=1e-7)


def test_torch_gate_weights_run_in_eval_mode_and_restore_the_mode():
    F = framework("torch")
    model = mmoe(F, dropout=0.5)
    batch = inputs_of(random_x(n=64))
    model.train()
    first, second = F.gate_weights(model, batch), F.gate_weights(model, batch)
    assert model.training
    for name in first:  # no dropout: the same weights twice
        np.testing.assert_array_equal(first[name], second[name])
    model.eval()
    F.gate_weights(model, batch)
    assert not model.training


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_one_task_expert_models(fw):
    """One task: MMoE is a plain mixture of experts; PLE's shared gate mixes the task's and the shared experts."""
    F = framework(fw)
    x = random_x(n=5)
    model = F.MMoEModel({}, 3, ("synthetic_1",), n_experts=3, expert=(4,), seed=0)
    assert outputs(F, model, x)["synthetic_1"].shape == (5,)
    assert {k: v.shape for k, v in F.gate_weights(model, inputs_of(x)).items()} == {"synthetic_1": (5, 3)}
    model = F.PLEModel({}, 3, ("synthetic_1",), n_levels=2, n_specific=2, n_shared=1, expert=(4,), seed=0)
    assert outputs(F, model, x)["synthetic_1"].shape == (5,)
    assert {k: v.shape for k, v in F.gate_weights(model, inputs_of(x)).items()} == {
        "0.synthetic_1": (5, 3), "0.shared": (5, 3), "1.synthetic_1": (5, 3)}


# --------------------------------------------------------------------------- PLE: hand-computed forward pass (CGC)
# One level, one expert per task and one shared expert of one unit, no towers, heads y = mixture:
#   E_1 = relu(x1), E_2 = relu(x2), E_s = relu(x1 + x2 + 1)
#   task 1's gate over [E_1, E_s]: logits (x1, 0); task 2's gate over [E_2, E_s]: logits (0, x2)
HAND_PLE_X = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0]], np.float32)
HAND_PLE = {
    "levels.0.experts.synthetic_1.0.0.kernel": [[1.0], [0.0]], "levels.0.experts.synthetic_1.0.0.bias": [0.0],
    "levels.0.experts.synthetic_2.0.0.kernel": [[0.0], [1.0]], "levels.0.experts.synthetic_2.0.0.bias": [0.0],
    "levels.0.experts.shared.0.0.kernel": [[1.0], [1.0]], "levels.0.experts.shared.0.0.bias": [1.0],
    "levels.0.gates.synthetic_1.kernel": [[1.0, 0.0], [0.0, 0.0]],
    "levels.0.gates.synthetic_2.kernel": [[0.0, 0.0], [0.0, 1.0]],
    "heads.synthetic_1.kernel": [[1.0]], "heads.synthetic_1.bias": [0.0],
    "heads.synthetic_2.kernel": [[1.0]], "heads.synthetic_2.bias": [0.0],
}
# E = (E_1, E_2, E_s); y_1 = g_1 · (E_1, E_s), y_2 = g_2 · (E_2, E_s):
# row (1, 0):  E = (1, 0, 2);  g_1 = (σ(1), 1−σ(1)) → σ(1) + 2(1−σ(1));  g_2 = (½, ½) → 1
# row (0, 2):  E = (0, 2, 3);  g_1 = (½, ½) → 1.5;   g_2 = (1−σ(2), σ(2)) → 2(1−σ(2)) + 3σ(2)
# row (−1, 1): E = (0, 1, 1);  g_1 = (1−σ(1), σ(1)) → σ(1);   g_2 = (1−σ(1), σ(1)) → 1
HAND_PLE_GATES = {
    "0.synthetic_1": [[S1, 1 - S1], [0.5, 0.5], [1 - S1, S1]],
    "0.synthetic_2": [[0.5, 0.5], [1 - S2, S2], [1 - S1, S1]],
}
HAND_PLE_Y = {
    "synthetic_1": [1.2689414214, 1.5, 0.7310585786],
    "synthetic_2": [1.0, 2.8807970780, 1.0],
}


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_cgc_forward_pass_matches_hand_computed_values(fw):
    F = framework(fw)
    model = F.PLEModel({}, 2, TASKS, n_levels=1, n_specific=1, n_shared=1, expert=(1,), tower=(), seed=0)
    assert set(F.export_weights(model)) == set(HAND_PLE)  # one level: no shared gate
    F.import_weights(model, as_weights(HAND_PLE))
    y = outputs(F, model, HAND_PLE_X)
    gates = F.gate_weights(model, inputs_of(HAND_PLE_X))
    assert set(gates) == set(HAND_PLE_GATES)
    for task in TASKS:
        np.testing.assert_allclose(y[task], HAND_PLE_Y[task], rtol=1e-6, atol=1e-6, err_msg=task)
    for name, expected in HAND_PLE_GATES.items():
        np.testing.assert_allclose(gates[name], expected, rtol=1e-6, atol=1e-7, err_msg=name)
        np.testing.assert_allclose(gates[name].sum(axis=1), 1.0, atol=1e-6)
    reference, _ = ple_reference(as_weights(HAND_PLE), HAND_PLE_X.astype(np.float64), n_levels=1, n_specific=1,
                                 n_shared=1, n_expert_layers=1, n_tower_layers=0)
    for task in TASKS:
        np.testing.assert_allclose(reference[task], HAND_PLE_Y[task], rtol=1e-6)


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("n_levels", [1, 3])
def test_ple_matches_the_numpy_reference_on_random_weights(fw, n_levels):
    """The routing of the reference (level j+1's task experts read task k's fused output of level j,
    the shared experts the shared fused output) reproduces the model's outputs and gates."""
    F = framework(fw)
    model = ple(F, n_levels=n_levels, n_specific=1, n_shared=2, expert=(4, 3), tower=(2,), seed=5)
    x = random_x(n=24)
    y = outputs(F, model, x)
    gates = F.gate_weights(model, inputs_of(x))
    expected, expected_gates = ple_reference(F.export_weights(model), x.astype(np.float64), n_levels=n_levels,
                                             n_specific=1, n_shared=2, n_expert_layers=2, n_tower_layers=1)
    for task in TASKS:
        np.testing.assert_allclose(y[task], expected[task], rtol=1e-5, atol=1e-6, err_msg=task)
    assert set(gates) == set(expected_gates)
    for name in gates:
        np.testing.assert_allclose(gates[name], expected_gates[name], rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_ple_gate_shapes_and_no_shared_gate_at_the_last_level(fw):
    F = framework(fw)
    n_specific, n_shared, n = 2, 3, 7
    model = ple(F, n_levels=2, n_specific=n_specific, n_shared=n_shared, expert=(4,), tower=())
    gates = F.gate_weights(model, inputs_of(random_x(n=n)))
    assert set(gates) == {"0.synthetic_1", "0.synthetic_2", "0.shared", "1.synthetic_1", "1.synthetic_2"}
    for name, g in gates.items():
        width = len(TASKS) * n_specific + n_shared if name.endswith("shared") else n_specific + n_shared
        assert g.shape == (n, width), name
        np.testing.assert_allclose(g.sum(axis=1), 1.0, atol=1e-6)
        assert (g > 0).all()
    names = set(F.export_weights(model))
    assert "levels.0.gates.shared.kernel" in names and "levels.1.gates.shared.kernel" not in names
    assert not any(name.startswith("levels.0.gates.") and name.endswith(".bias") for name in names)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_cgc_task_sees_only_its_own_and_the_shared_experts(fw):
    """One level: changing task 2's experts or gate leaves task 1's output exactly as it was."""
    F = framework(fw)
    model = ple(F, n_levels=1, n_specific=2, n_shared=1, expert=(4,), tower=(3,), seed=1)
    x = random_x()
    original = F.export_weights(model)
    before = outputs(F, model, x)
    for prefix in ("levels.0.experts.synthetic_2.", "levels.0.gates.synthetic_2"):
        F.import_weights(model, perturbed(original, prefix))
        after = outputs(F, model, x)
        np.testing.assert_array_equal(after["synthetic_1"], before["synthetic_1"], err_msg=prefix)
        assert np.abs(after["synthetic_2"] - before["synthetic_2"]).max() > 1e-3, prefix
    F.import_weights(model, perturbed(original, "levels.0.experts.shared."))  # the shared experts reach both
    after = outputs(F, model, x)
    for task in TASKS:
        assert np.abs(after[task] - before[task]).max() > 1e-3, task


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_ple_non_final_shared_gate_mixes_every_expert(fw):
    """Two levels: task 2's level-1 experts reach task 1 through the shared gate of level 1
    (it mixes all experts) and the shared experts of level 2; task 2's level-2 experts never do."""
    F = framework(fw)
    model = ple(F, n_levels=2, n_specific=1, n_shared=1, expert=(4,), tower=(), seed=2)
    x = random_x()
    original = F.export_weights(model)
    before = outputs(F, model, x)
    F.import_weights(model, perturbed(original, "levels.0.experts.synthetic_2."))
    assert np.abs(outputs(F, model, x)["synthetic_1"] - before["synthetic_1"]).max() > 1e-4
    F.import_weights(model, perturbed(original, "levels.1.experts.synthetic_2."))
    np.testing.assert_array_equal(outputs(F, model, x)["synthetic_1"], before["synthetic_1"])
    # the only path is the shared gate: when it gives task 2's expert (column 1 of [E_1, E_2, E_s]) a
    # weight of ~0 (logit −200·Σx on positive inputs), task 2's level-1 experts no longer reach task 1
    closed = dict(original)
    kernel = np.zeros_like(original["levels.0.gates.shared.kernel"])  # (3 numeric columns, 3 experts)
    kernel[:, 1] = -200.0
    closed["levels.0.gates.shared.kernel"] = kernel
    x_pos = np.abs(x) + 0.1
    F.import_weights(model, closed)
    base = outputs(F, model, x_pos)
    F.import_weights(model, perturbed(closed, "levels.0.experts.synthetic_2."))
    np.testing.assert_allclose(outputs(F, model, x_pos)["synthetic_1"], base["synthetic_1"], atol=1e-6)


def test_torch_ple_level_two_reads_the_fused_outputs_of_level_one():
    """PyTorch hooks: level 2's task-k experts and gate get task k's fused output of level 1,
    its shared experts get the shared fused output."""
    F = framework("torch")
    import torch

    model = ple(F, n_levels=2, n_specific=1, n_shared=2, expert=(4,), tower=(), seed=3)
    feeds = F.feature_tensors(inputs_of(random_x()))
    seen: dict[str, torch.Tensor] = {}

    def remember(name):
        def hook(module, args):
            seen[name] = args[0].detach().clone()
        return hook

    second = model.levels[1]
    handles = [second.experts[o][0].register_forward_pre_hook(remember(f"expert.{o}")) for o in (*TASKS, "shared")]
    handles += [second.gates[t].register_forward_pre_hook(remember(f"gate.{t}")) for t in TASKS]
    with torch.no_grad():
        model(feeds)
        features = model.features(feeds)
        fused = model.levels[0]({o: features for o in (*TASKS, "shared")})
    for handle in handles:
        handle.remove()
    assert set(fused) == {*TASKS, "shared"}
    for task in TASKS:
        torch.testing.assert_close(seen[f"expert.{task}"], fused[task], rtol=0, atol=0)
        torch.testing.assert_close(seen[f"gate.{task}"], fused[task], rtol=0, atol=0)
    torch.testing.assert_close(seen["expert.shared"], fused["shared"], rtol=0, atol=0)
    assert not torch.equal(fused["synthetic_1"], fused["synthetic_2"])


# --------------------------------------------------------------------------- initialisation
def assert_all_differ(kernels: dict[str, np.ndarray]) -> None:
    names = sorted(kernels)
    assert len(names) >= 2
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not np.allclose(kernels[a], kernels[b]), f"{a} and {b} start equal"


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("seed", [0, None])
def test_experts_differ_at_initialisation(fw, seed):
    F = framework(fw)
    weights = F.export_weights(mmoe(F, n_experts=4, expert=(5, 3), seed=seed))
    for layer in range(2):
        assert_all_differ({n: w for n, w in weights.items()
                           if n.startswith("experts.") and n.endswith(f".{layer}.kernel")})
    assert_all_differ({n: w for n, w in weights.items() if n.startswith("gates.")})
    weights = F.export_weights(ple(F, n_levels=2, n_specific=2, n_shared=2, expert=(5, 3), seed=seed))
    for level in range(2):
        for layer in range(2):  # every expert of the level, across owners
            assert_all_differ({n: w for n, w in weights.items()
                               if n.startswith(f"levels.{level}.experts.") and n.endswith(f".{layer}.kernel")})


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_a_seed_makes_the_initialisation_reproducible(fw):
    F = framework(fw)
    for build in (mmoe, ple):
        a, b, c = (F.export_weights(build(F, seed=s)) for s in (7, 7, 8))
        assert all(np.array_equal(a[n], b[n]) for n in a)
        assert not all(np.array_equal(a[n], c[n]) for n in a)


# --------------------------------------------------------------------------- parameter counts
def mmoe_count(d, n_experts, expert, tower, n_tasks, one_gate=False):
    """Experts (d·h + h each), gates (d·n_experts each, no bias), towers (h·t + t), heads (t + 1)."""
    return (n_experts * (d * expert + expert) + (1 if one_gate else n_tasks) * d * n_experts
            + n_tasks * (expert * tower + tower + tower + 1))


def ple_count(d, n_levels, n_specific, n_shared, expert, tower, n_tasks):
    total, width = 0, d
    for j in range(n_levels):
        n_experts = n_tasks * n_specific + n_shared
        total += n_experts * (width * expert + expert)  # experts
        total += n_tasks * width * (n_specific + n_shared)  # task gates
        if j < n_levels - 1:
            total += width * n_experts  # the shared gate
        width = expert
    return total + n_tasks * (expert * tower + tower + tower + 1)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_parameter_counts(fw):
    F = framework(fw)
    paper = F.MMoEModel({}, 100, TASKS, n_experts=8, expert=(16,), tower=(8,), seed=0)
    assert 8 * (100 * 16 + 16) + 2 * (100 * 8) + 2 * (16 * 8 + 8 + 8 + 1) == 14818
    assert F.parameter_count(paper) == mmoe_count(100, 8, 16, 8, 2) == 14818
    omoe = F.MMoEModel({}, 100, TASKS, n_experts=8, expert=(16,), tower=(8,), one_gate=True, seed=0)
    assert F.parameter_count(omoe) == mmoe_count(100, 8, 16, 8, 2, one_gate=True) == 14818 - 800
    # PLE, 2 levels: level 1: 5 experts of 100·16+16, task gates 2·100·3, shared gate 100·5;
    # level 2: 5 experts of 16·16+16, task gates 2·16·3; towers and heads 2·(16·8+8+8+1)
    assert ple_count(100, 2, 2, 1, 16, 8, 2) == 5 * 1616 + 600 + 500 + 5 * 272 + 96 + 2 * 145 == 10926
    for n_levels in (1, 3):
        model = F.PLEModel({}, 100, TASKS, n_levels=n_levels, n_specific=2, n_shared=1, expert=(16,),
                           tower=(8,), seed=0)
        assert F.parameter_count(model) == ple_count(100, n_levels, 2, 1, 16, 8, 2), n_levels


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_every_trainable_parameter_has_a_neutral_name(fw):
    """export_weights covers the whole model (so import, files, parity and per-layer learning rates see every
    expert and gate)."""
    F = framework(fw)
    for model in (mmoe(F, n_experts=3, expert=(5, 4), tower=(3,)), mmoe(F, one_gate=True),
                  ple(F, n_levels=2, n_specific=2, n_shared=1, expert=(5, 4)),
                  mmoe(F, cardinalities={"a": 6}, n_numeric=2)):
        assert sum(value.size for value in F.export_weights(model).values()) == F.parameter_count(model)


def test_parameter_counts_agree_across_frameworks():
    T, K = framework("torch"), framework("keras")
    for build, kwargs in ((mmoe, dict(n_experts=3, expert=(5, 4), tower=(3,))),
                          (mmoe, dict(one_gate=True)),
                          (ple, dict(n_levels=2, n_specific=2, n_shared=1, expert=(5, 4))),
                          (mmoe, dict(cardinalities={"a": 6}, n_numeric=2, embedding_dims={"a": 3}))):
        assert T.parameter_count(build(T, **kwargs)) == K.parameter_count(build(K, **kwargs)), kwargs


# --------------------------------------------------------------------------- training
@pytest.fixture(scope="module")
def synthetic():
    return D.make_synthetic_tasks(0.5, seed=0, n_train=512, n_valid=128, n_test=8, n_features=6, n_sinusoids=3)


def train_briefly(F, model, synthetic, **kwargs):
    return F.train(model, synthetic.train, synthetic.valid, epochs=2, batch_size=128, learning_rate=1e-2,
                   patience=None, monitor=("synthetic_1", "rmse"), seed=0, **kwargs)


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("strategy", ["UncertaintyWeighting", "DynamicWeightAverage"])
def test_mmoe_trains_with_the_weighting_strategies(fw, strategy, synthetic):
    F, W = framework(fw), weighting(fw)
    model = F.MMoEModel({}, 6, TASKS, n_experts=3, expert=(8,), tower=(4,), seed=0)
    before = F.export_weights(model)
    combine = getattr(W, strategy)(TASKS)
    history = train_briefly(F, model, synthetic, combine=combine)
    assert len(history) == 2
    assert np.isfinite(history["loss"]).all()
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]
    after = F.export_weights(model)
    for prefix in ("experts.", "gates.", "towers.", "heads."):
        assert any(not np.array_equal(after[n], before[n]) for n in after if n.startswith(prefix)), prefix
    assert len(combine.history) == 3  # the initial weights, then one entry per epoch
    gates = F.gate_weights(model, synthetic.test)
    for g in gates.values():
        np.testing.assert_allclose(g.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_ple_trains_with_the_default_objective(fw, synthetic):
    F = framework(fw)
    model = F.PLEModel({}, 6, TASKS, n_levels=2, n_specific=1, n_shared=1, expert=(8,), tower=(4,), dropout=0.1,
                       seed=0)
    before = F.export_weights(model)
    history = train_briefly(F, model, synthetic)
    assert np.isfinite(history["loss"]).all()
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]
    assert "valid_synthetic_1_rmse" in history
    after = F.export_weights(model)
    for prefix in ("levels.0.experts.", "levels.0.gates.shared", "levels.1.gates.", "heads."):
        assert any(not np.array_equal(after[n], before[n]) for n in after if n.startswith(prefix)), prefix


def test_masked_labels_do_not_reach_the_expert_model(synthetic):
    """``train``'s masks work as for every architecture: changing the labels of unlabelled rows changes nothing."""
    F = framework("torch")
    masked = synthetic.train.take(np.arange(256))
    masked.masks["synthetic_2"][::2] = False
    masked.labels["synthetic_2"][::2] = np.nan
    other = masked.take(np.arange(256))
    other.labels["synthetic_2"][::2] = 1e6
    trained = []
    for inputs in (masked, other):
        model = F.MMoEModel({}, 6, TASKS, n_experts=2, expert=(4,), tower=(), seed=0)
        history = F.train(model, inputs, None, epochs=1, batch_size=64, monitor=None, seed=0)
        assert np.isfinite(history["loss"]).all()
        trained.append(F.export_weights(model))
    for name in trained[0]:
        np.testing.assert_array_equal(trained[0][name], trained[1][name], err_msg=name)


def test_per_layer_learning_rates_reach_experts_and_gates(synthetic):
    """``learning_rates`` names the expert layers by their neutral names; a tiny rate keeps them nearly still."""
    F = framework("torch")
    model = F.MMoEModel({}, 6, TASKS, n_experts=2, expert=(4,), tower=(), seed=0)
    before = F.export_weights(model)
    F.train(model, synthetic.train, None, epochs=1, batch_size=128, monitor=None, learning_rate=1e-2,
            learning_rates={"experts": 1e-9, "gates.synthetic_1": 1e-9})
    after = F.export_weights(model)
    moved = {name: float(np.abs(after[name] - before[name]).max()) for name in after}
    assert all(moved[n] < 1e-6 for n in moved if n.startswith(("experts.", "gates.synthetic_1."))), moved
    assert moved["gates.synthetic_2.kernel"] > 1e-3 and moved["heads.synthetic_1.kernel"] > 1e-3, moved
    with pytest.raises(ValueError, match="learning_rates"):
        F.train(model, synthetic.train, None, epochs=1, monitor=None, learning_rates={"bottom": 1e-3})


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_monitor_all_tasks_stops_on_the_mean_score(fw, synthetic):
    """``monitor=("all", "rmse")``: each task's validation RMSE and their mean; the model keeps the best mean's epoch."""
    F = framework(fw)
    model = F.MMoEModel({}, 6, TASKS, n_experts=2, expert=(8,), tower=(4,), seed=0)
    history = F.train(model, synthetic.train, synthetic.valid, epochs=3, batch_size=128, learning_rate=1e-2,
                      patience=None, monitor=("all", "rmse"), seed=0)
    per_task = history[[f"valid_{task}_rmse" for task in TASKS]].to_numpy()
    assert np.isfinite(per_task).all()
    np.testing.assert_allclose(history["valid_all_rmse"], per_task.mean(axis=1), rtol=1e-12)
    best = int(history["valid_all_rmse"].to_numpy().argmin()) + 1  # RMSE: lower is better
    assert history.attrs["best_epoch"] == best
    predictions = F.predict(model, synthetic.valid)  # the restored (best) weights
    rmse = [math.sqrt(float(np.mean((predictions[t] - synthetic.valid.labels[t]) ** 2))) for t in TASKS]
    assert float(np.mean(rmse)) == pytest.approx(history["valid_all_rmse"].iloc[best - 1], rel=1e-4)
    assert history.attrs["best_score"] == pytest.approx(history["valid_all_rmse"].iloc[best - 1], rel=1e-12)


def test_monitor_all_tasks_means_the_trained_tasks_only(synthetic):
    F = framework("torch")
    model = F.MMoEModel({}, 6, TASKS, n_experts=2, expert=(4,), seed=0)
    history = F.train(model, synthetic.train, synthetic.valid, ("synthetic_1",), epochs=1, batch_size=256,
                      monitor=("all", "rmse"))
    assert "valid_synthetic_2_rmse" not in history
    np.testing.assert_allclose(history["valid_all_rmse"], history["valid_synthetic_1_rmse"], rtol=1e-12)
    valid = D.ModelInputs(categorical={}, numeric=synthetic.valid.numeric,
                          labels={"synthetic_1": synthetic.valid.labels["synthetic_1"]},
                          masks={"synthetic_1": synthetic.valid.masks["synthetic_1"]})
    with pytest.raises(ValueError, match="valid_inputs"):  # every trained task is scored: all need labels
        F.train(model, synthetic.train, valid, epochs=1, monitor=("all", "rmse"))


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_monitor_all_tasks_needs_a_metric_every_task_reports(fw, synthetic):
    F = framework(fw)
    model = F.MMoEModel({}, 6, TASKS, n_experts=2, expert=(4,), seed=0)
    with pytest.raises(ValueError, match=r"monitor=\('all', 'auc'\).*regression task 'synthetic_1'"):
        F.train(model, synthetic.train, synthetic.valid, epochs=1, monitor=("all", "auc"))
    with pytest.raises(ValueError, match="monitor"):
        F.train(model, synthetic.train, synthetic.valid, epochs=1, monitor=("synthetic_3", "rmse"))


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_last_shared_layer_refuses_expert_models(fw):
    """GradNorm needs one last shared layer; MMoE and PLE share through gated experts instead."""
    F = framework(fw)
    for model in (mmoe(F), ple(F)):
        with pytest.raises(ValueError, match="shared layer"):
            F.last_shared_layer(model)


# --------------------------------------------------------------------------- weights: files and parity
EXPERT_MODELS = {
    "mmoe": (mmoe, dict(n_experts=3, expert=(5, 4), tower=(3,), dropout=0.2)),
    "omoe": (mmoe, dict(n_experts=2, expert=(4,), one_gate=True)),
    "ple": (ple, dict(n_levels=2, n_specific=1, n_shared=2, expert=(5, 4), tower=(3,), dropout=0.2)),
    "mmoe_categorical": (mmoe, dict(cardinalities={"a": 6}, n_numeric=2, embedding_dims={"a": 3}, n_experts=2,
                                    expert=(4,))),
}


def batch_for(kwargs, n=40, seed=0) -> D.ModelInputs:
    n_numeric = kwargs.get("n_numeric", 3)
    categorical = {name: np.random.default_rng(seed).integers(0, size, n).astype(np.int64)
                   for name, size in kwargs.get("cardinalities", {}).items()}
    return inputs_of(random_x(n=n, d=n_numeric, seed=seed), categorical)


@pytest.mark.parametrize(("fw", "kind"), [("torch", kind) for kind in sorted(EXPERT_MODELS)]
                         + [("keras", "mmoe"), ("keras", "ple")])
def test_export_import_round_trip(fw, kind):
    F = framework(fw)
    build, kwargs = EXPERT_MODELS[kind]
    source, target = build(F, **{**kwargs, "seed": 1}), build(F, **{**kwargs, "seed": 2})
    batch = batch_for(kwargs)
    exported = F.export_weights(source)
    before = F.predict(target, batch, raw=True)
    F.import_weights(target, exported)
    again = F.export_weights(target)
    assert set(again) == set(exported)
    for name in exported:
        np.testing.assert_array_equal(again[name], exported[name], err_msg=name)
    expected, got = F.predict(source, batch, raw=True), F.predict(target, batch, raw=True)
    for task in TASKS:
        np.testing.assert_array_equal(got[task], expected[task])
        assert not np.allclose(before[task], expected[task])
    missing = dict(exported)
    missing.pop(next(name for name in exported if "gates." in name))
    with pytest.raises(ValueError, match="missing"):
        F.import_weights(target, missing)


@pytest.mark.parametrize(("kind", "direction"), [
    ("mmoe", "torch_to_keras"), ("mmoe", "keras_to_torch"), ("ple", "torch_to_keras"), ("ple", "keras_to_torch"),
    ("omoe", "torch_to_keras"), ("mmoe_categorical", "keras_to_torch")])
def test_keras_and_torch_agree_with_the_same_weights(kind, direction):
    T, K = framework("torch"), framework("keras")
    source_fw, target_fw = (T, K) if direction == "torch_to_keras" else (K, T)
    build, kwargs = EXPERT_MODELS[kind]
    source, target = build(source_fw, **{**kwargs, "seed": 1}), build(target_fw, **{**kwargs, "seed": 2})
    assert source_fw.parameter_count(source) == target_fw.parameter_count(target)
    assert set(source_fw.export_weights(source)) == set(target_fw.export_weights(target))
    target_fw.import_weights(target, source_fw.export_weights(source))
    batch = batch_for(kwargs, n=64)
    expected, got = source_fw.predict(source, batch, raw=True), target_fw.predict(target, batch, raw=True)
    for task in TASKS:
        assert got[task].shape == expected[task].shape == (64,)
        np.testing.assert_allclose(got[task], expected[task], atol=ATOL, rtol=0, err_msg=task)
    expected_gates, got_gates = source_fw.gate_weights(source, batch), target_fw.gate_weights(target, batch)
    assert set(got_gates) == set(expected_gates)
    for name in expected_gates:
        np.testing.assert_allclose(got_gates[name], expected_gates[name], atol=ATOL, rtol=0, err_msg=name)


@pytest.mark.parametrize(("fw", "kind"), [("torch", "mmoe"), ("torch", "omoe"), ("torch", "ple"),
                                        ("keras", "mmoe"), ("keras", "ple")])
def test_save_and_load_weights_round_trip(fw, kind, tmp_path):
    F = framework(fw)
    build, kwargs = EXPERT_MODELS[kind]
    source, target = build(F, **{**kwargs, "seed": 1}), build(F, **{**kwargs, "seed": 2})
    path = tmp_path / ("model.pt" if fw == "torch" else "model.weights.h5")
    assert F.save_weights(source, path) == path
    F.load_weights(target, path)
    exported, loaded = F.export_weights(source), F.export_weights(target)
    assert set(loaded) == set(exported)
    for name in exported:
        np.testing.assert_array_equal(loaded[name], exported[name], err_msg=name)
    batch = batch_for(kwargs)
    expected, got = F.predict(source, batch, raw=True), F.predict(target, batch, raw=True)
    for task in TASKS:
        np.testing.assert_array_equal(got[task], expected[task])


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_load_only_the_expert_levels(fw, tmp_path):
    """``layers=("levels",)``: the experts and gates come from the file, the towers and heads stay."""
    F = framework(fw)
    build, kwargs = EXPERT_MODELS["ple"]
    source, target = build(F, **{**kwargs, "seed": 1}), build(F, **{**kwargs, "seed": 2})
    path = F.save_weights(source, tmp_path / ("model.pt" if fw == "torch" else "model.weights.h5"))
    kept = F.export_weights(target)
    F.load_weights(target, path, layers=("levels",))
    loaded, exported = F.export_weights(target), F.export_weights(source)
    for name in loaded:
        expected = exported[name] if name.startswith("levels.") else kept[name]
        np.testing.assert_array_equal(loaded[name], expected, err_msg=name)


def test_a_torch_file_loads_into_the_same_architecture_only(tmp_path):
    F = framework("torch")
    path = F.save_weights(mmoe(F, n_experts=3), tmp_path / "mmoe.pt")
    with pytest.raises(ValueError):
        F.load_weights(mmoe(F, n_experts=2), path)
    with pytest.raises(ValueError):
        F.load_weights(ple(F), path)


# --------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"n_experts": 0}, "n_experts"),
    ({"n_experts": 2.0}, "n_experts"),
    ({"n_experts": True}, "n_experts"),
    ({"expert": ()}, "expert"),
    ({"expert": "16"}, "expert"),
    ({"expert": 16}, "expert"),
    ({"expert": (16, 0)}, "expert"),
    ({"one_gate": "yes"}, "one_gate"),
    ({"one_gate": 1}, "one_gate"),
    ({"tower": "8"}, "tower"),
    ({"dropout": 1.0}, "dropout"),
])
def test_bad_mmoe_settings_raise_a_value_error_naming_the_argument(fw, kwargs, argument):
    F = framework(fw)
    with pytest.raises(ValueError, match=argument):
        mmoe(F, **kwargs)


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"n_levels": 0}, "n_levels"),
    ({"n_shared": 0}, "n_shared"),
    ({"n_specific": 0}, "n_specific"),
    ({"n_specific": 1.5}, "n_specific"),
    ({"expert": ()}, "expert"),
    ({"expert": "16"}, "expert"),
])
def test_bad_ple_settings_raise_a_value_error_naming_the_argument(fw, kwargs, argument):
    F = framework(fw)
    with pytest.raises(ValueError, match=argument):
        ple(F, **kwargs)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_bad_models_and_inputs(fw):
    F = framework(fw)
    with pytest.raises(ValueError, match="n_numeric"):
        F.MMoEModel({}, 0, TASKS)
    with pytest.raises(ValueError, match="n_numeric"):
        F.PLEModel({}, 0, TASKS)
    with pytest.raises(ValueError, match="unknown task"):
        F.MMoEModel({}, 2, ("synthetic_1", "shared"))
    shared_bottom = F.SharedBottomModel({}, 3, TASKS, bottom=(4,), seed=0)
    with pytest.raises(ValueError, match="MMoEModel or PLEModel"):
        F.gate_weights(shared_bottom, inputs_of(random_x()))
    with pytest.raises(ValueError, match="model"):
        F.gate_weights("mmoe", inputs_of(random_x()))
    model = mmoe(F)
    with pytest.raises(ValueError, match="inputs"):
        F.gate_weights(model, inputs_of(random_x(d=4)))  # the model has 3 numeric columns
    with pytest.raises(ValueError, match="batch_size"):
        F.gate_weights(model, inputs_of(random_x()), batch_size=0)
