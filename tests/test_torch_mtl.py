"""mtl_lessons.torch_mtl meets the training-core contract (tests in mtl_contract.py)."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mtl_contract import *  # noqa: E402,F403 - the shared tests are collected from here
from mtl_lessons import torch_mtl  # noqa: E402


@pytest.fixture(scope="module")
def F():
    return torch_mtl


@pytest.fixture
def as_tensor():
    return torch.from_numpy


@pytest.fixture
def loss_gradients():
    def gradients(model, inputs, tasks, loss_weights=None):
        model.zero_grad(set_to_none=True)
        labels, masks = torch_mtl.label_tensors(inputs, tasks)
        losses = torch_mtl.task_losses(model(torch_mtl.feature_tensors(inputs)), labels, masks)
        weights = {t: (loss_weights or {}).get(t, 1.0) for t in tasks}
        torch_mtl.combine_losses(losses, weights).backward()
        grads = {}
        for name, layer in torch_mtl._named_layers(model):
            if isinstance(layer, torch.nn.Embedding):
                grads[name] = _grad(layer.weight)
            else:
                grads[f"{name}.kernel"] = _grad(layer.weight).T
                grads[f"{name}.bias"] = _grad(layer.bias)
        return grads

    return gradients


def _grad(parameter) -> np.ndarray:
    if parameter.grad is None:
        return np.zeros(tuple(parameter.shape), np.float32)
    return parameter.grad.detach().numpy().copy()


def test_seeded_construction_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    torch_mtl.SingleTaskModel({"a": 10}, 2, "click", seed=7)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_model_is_in_eval_mode_after_training_and_predict_keeps_mode():
    data = small_data()  # noqa: F405
    model = torch_mtl.SharedBottomModel(data.encoder.cardinalities, data.n_numeric, ("click",),
                                        dropout=0.5, seed=0)
    torch_mtl.train(model, rows(data.train, slice(0, 1000)), None, epochs=1, monitor=None)  # noqa: F405
    assert not model.training
    model.train()
    torch_mtl.predict(model, rows(data.valid, slice(0, 10)))  # noqa: F405
    assert model.training


def test_a_combine_module_with_parameters_is_trained_too():
    class LearnedWeights(torch.nn.Module):  # weight_t = exp(−s_t), plus s_t (uncertainty-style)
        def __init__(self):
            super().__init__()
            self.log_var = torch.nn.Parameter(torch.zeros(2))

        def forward(self, task_losses, weights):
            losses = torch.stack([task_losses["click"], task_losses["purchase"]])
            return (torch.exp(-self.log_var) * losses + self.log_var).sum()

    data = small_data()  # noqa: F405
    combine = LearnedWeights()
    model = torch_mtl.SharedBottomModel(data.encoder.cardinalities, data.n_numeric, ("click", "purchase"), seed=0)
    torch_mtl.train(model, data.train, None, epochs=1, batch_size=2048, monitor=None, combine=combine)
    assert (combine.log_var.detach().numpy() != 0).all()
