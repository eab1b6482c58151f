"""The PyTorch and Keras training cores are the same model: with the same weights they give
the same outputs, and they compute the same losses.

Weights travel through the framework-neutral format of ``export_weights`` / ``import_weights``
(PyTorch's (out, in) Linear weights are transposed to Keras' (in, out) kernels).
"""
from __future__ import annotations

import inspect

import numpy as np
import pytest

pytest.importorskip("torch")

from mtl_contract import rows, small_data  # noqa: E402
from mtl_lessons import keras_mtl, torch_mtl  # noqa: E402

import torch  # noqa: E402,I001

ATOL = 1e-5
ALL_KINDS = ("click", "purchase", "rating", "dwell", "next_category")


def build(framework, kind: str, seed: int):
    data = small_data()
    common = dict(n_classes=data.encoder.n_classes, dropout=0.3, seed=seed,
                  embedding_dims={"user_id": 6, "hour": 3})
    if kind == "single_binary":
        return framework.SingleTaskModel(data.encoder.cardinalities, data.n_numeric, "purchase",
                                         hidden=(32, 16), **common)
    if kind == "single_multiclass":
        return framework.SingleTaskModel(data.encoder.cardinalities, data.n_numeric, "next_category",
                                         hidden=(16,), **common)
    return framework.SharedBottomModel(data.encoder.cardinalities, data.n_numeric, ALL_KINDS,
                                       bottom=(32, 16), tower=(8,), **common)


@pytest.mark.parametrize("kind", ["single_binary", "single_multiclass", "shared"])
@pytest.mark.parametrize("direction", ["torch_to_keras", "keras_to_torch"])
def test_same_weights_same_predictions(kind, direction):
    source_fw, target_fw = (torch_mtl, keras_mtl) if direction == "torch_to_keras" else (keras_mtl, torch_mtl)
    source, target = build(source_fw, kind, seed=1), build(target_fw, kind, seed=2)
    assert torch_mtl.parameter_count(source if source_fw is torch_mtl else target) == \
        keras_mtl.parameter_count(target if source_fw is torch_mtl else source)
    batch = rows(small_data().valid, slice(0, 3000))
    before = target_fw.predict(target, batch, raw=True)
    target_fw.import_weights(target, source_fw.export_weights(source))
    for raw in (True, False):
        expected = source_fw.predict(source, batch, raw=raw, batch_size=1000)
        got = target_fw.predict(target, batch, raw=raw)
        assert list(got) == list(expected)
        for task in expected:
            assert got[task].shape == expected[task].shape
            np.testing.assert_allclose(got[task], expected[task], atol=ATOL, rtol=0, err_msg=task)
    # the copy mattered: with its own (differently seeded) weights the target disagreed
    source_raw = source_fw.predict(source, batch, raw=True)
    assert all(not np.allclose(before[task], source_raw[task], atol=ATOL) for task in before)


def test_same_outputs_same_task_losses():
    data = small_data()
    torch_model = build(torch_mtl, "shared", seed=0)
    keras_model = build(keras_mtl, "shared", seed=0)
    keras_mtl.import_weights(keras_model, torch_mtl.export_weights(torch_model))
    batch = rows(data.train, slice(0, 2000))
    t_labels, t_masks = torch_mtl.label_tensors(batch, ALL_KINDS)
    k_labels, k_masks = keras_mtl.label_tensors(batch, ALL_KINDS)
    torch_model.eval()
    with torch.no_grad():
        t_losses = torch_mtl.task_losses(torch_model(torch_mtl.feature_tensors(batch)), t_labels, t_masks)
    k_losses = keras_mtl.task_losses(keras_model(keras_mtl.feature_tensors(batch), training=False),
                                     k_labels, k_masks)
    for task in ALL_KINDS:
        assert float(k_losses[task]) == pytest.approx(float(t_losses[task]), rel=1e-5, abs=1e-6), task
    weights = {"click": 1.0, "purchase": 2.0, "rating": 0.5, "dwell": 0.1, "next_category": 0.3}
    assert float(keras_mtl.combine_losses(k_losses, weights)) == pytest.approx(
        float(torch_mtl.combine_losses(t_losses, weights)), rel=1e-5)


def test_same_start_same_training():
    """Same initial weights, data, batches (seed) and Adam settings: the same training run,
    up to float rounding and Adam's ε placement."""
    data = small_data()
    models = {fw: fw.SharedBottomModel(data.encoder.cardinalities, data.n_numeric, ("click", "purchase"),
                                       bottom=(32, 16), tower=(8,), seed=0)
              for fw in (torch_mtl, keras_mtl)}
    keras_mtl.import_weights(models[keras_mtl], torch_mtl.export_weights(models[torch_mtl]))
    histories = {fw: fw.train(model, data.train, data.valid, epochs=2, batch_size=512, learning_rate=3e-3,
                              weight_decay=0.1, embedding_weight_decay=3.0, patience=None, monitor=("click", "auc"), seed=3)
                 for fw, model in models.items()}
    for column in ("loss_click", "loss_purchase", "valid_click_auc"):
        np.testing.assert_allclose(histories[keras_mtl][column], histories[torch_mtl][column],
                                   rtol=1e-3, err_msg=column)
    batch = rows(data.valid, slice(0, 2000))
    np.testing.assert_allclose(keras_mtl.predict(models[keras_mtl], batch)["purchase"],
                               torch_mtl.predict(models[torch_mtl], batch)["purchase"], atol=1e-3)


# Deployment formats are the one place the frameworks differ by nature (lesson 10): PyTorch exports a
# torch.export program and ONNX, Keras a TensorFlow SavedModel; every other public name is shared.
EXPORTS = {"torch": {"ServingModule", "export_program", "export_onnx"}, "keras": {"export_saved_model"}}


def test_same_public_api():
    assert set(torch_mtl.__all__) - EXPORTS["torch"] == set(keras_mtl.__all__) - EXPORTS["keras"]
    assert EXPORTS["torch"] <= set(torch_mtl.__all__) and EXPORTS["keras"] <= set(keras_mtl.__all__)
    for name in ("train", "predict", "SingleTaskModel", "SharedBottomModel", "FeatureInput",
                 "mlp_block", "task_losses", "export_weights", "import_weights", "parameter_count",
                 "SoftSharingModel", "last_shared_layer", "save_weights", "load_weights"):
        t_params = list(inspect.signature(getattr(torch_mtl, name)).parameters)
        k_params = [p for p in inspect.signature(getattr(keras_mtl, name)).parameters
                    if p not in ("name", "kwargs")]
        assert t_params == k_params, name
