"""mtl_lessons.keras_mtl meets the training-core contract (tests in mtl_contract.py)."""
from __future__ import annotations

import numpy as np
import pytest

from mtl_contract import *  # noqa: F403 - the shared tests are collected from here
from mtl_lessons import keras_mtl  # sets the Keras environment defaults before importing keras

import keras  # noqa: E402,I001 - after keras_mtl
import tensorflow as tf  # noqa: E402


@pytest.fixture(scope="module")
def F():
    return keras_mtl


@pytest.fixture
def as_tensor():
    return tf.convert_to_tensor


@pytest.fixture
def loss_gradients():
    def gradients(model, inputs, tasks, loss_weights=None):
        labels, masks = keras_mtl.label_tensors(inputs, tasks)
        named = []
        for name, layer in keras_mtl._named_layers(model):
            if isinstance(layer, keras.layers.Embedding):
                named.append((name, layer.embeddings))
            else:
                named += [(f"{name}.kernel", layer.kernel), (f"{name}.bias", layer.bias)]
        with tf.GradientTape() as tape:
            outputs = model(keras_mtl.feature_tensors(inputs), training=False)
            losses = keras_mtl.task_losses(outputs, labels, masks)
            weights = {t: (loss_weights or {}).get(t, 1.0) for t in tasks}
            total = keras_mtl.combine_losses(losses, weights)
        grads = tape.gradient(total, [variable for _, variable in named])
        return {name: np.zeros(tuple(variable.shape), np.float32) if grad is None
                else tf.convert_to_tensor(grad).numpy()
                for (name, variable), grad in zip(named, grads)}

    return gradients


def test_keras_runs_on_tensorflow_and_models_take_a_dict():
    assert keras.backend.backend() == "tensorflow"
    model = keras_mtl.SingleTaskModel({"a": 10}, 2, "click", seed=0)
    assert isinstance(model, keras.Model)
    out = model({"a": np.array([1, 2, 3]), "numeric": np.zeros((3, 2), np.float32)})
    assert set(out) == {"click"} and tuple(out["click"].shape) == (3,)


def test_weights_are_only_the_trainable_variables():
    model = keras_mtl.SharedBottomModel({"a": 10}, 2, ("click", "purchase"), bottom=(4,),
                                        tower=(2,), dropout=0.5, seed=0)
    assert len(model.weights) == len(model.trainable_variables) == 1 + 2 + 2 * 2 + 2 * 2


def test_a_combine_layer_with_variables_is_trained_too():
    class LearnedWeights(keras.layers.Layer):  # weight_t = exp(−s_t), plus s_t (uncertainty-style)
        def __init__(self):
            super().__init__()
            self.log_var = self.add_weight(shape=(2,), initializer="zeros", name="log_var")

        def call(self, task_losses, weights):
            losses = keras.ops.stack([task_losses["click"], task_losses["purchase"]])
            return keras.ops.sum(keras.ops.exp(-self.log_var) * losses + self.log_var)

    data = small_data()  # noqa: F405
    combine = LearnedWeights()
    model = keras_mtl.SharedBottomModel(data.encoder.cardinalities, data.n_numeric, ("click", "purchase"), seed=0)
    keras_mtl.train(model, data.train, None, epochs=1, batch_size=2048, monitor=None, combine=combine)
    assert (combine.log_var.numpy() != 0).all()
