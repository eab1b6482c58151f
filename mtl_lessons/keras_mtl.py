"""Multi-task models and their training loop in Keras 3 (TensorFlow backend).

The same public API, architecture and initialisation as :mod:`mtl_lessons.torch_mtl`; a
lesson can switch frameworks by changing one import. Imports keras and tensorflow, never torch.
Call ``repro.setup(seed, frameworks=("keras",))`` before importing this module; if Keras has
not been imported yet, the module sets the same environment defaults (``KERAS_BACKEND``,
quiet TensorFlow logs) itself, without overriding values already set.

Architecture (both frameworks)
------------------------------
* :class:`FeatureInput`: one ``Embedding`` per categorical feature (8 for ``user_id``/``item_id``,
  4 otherwise), concatenated in ``cardinalities`` order, then the numeric columns.
* :func:`mlp_block`: Dense → ReLU (→ Dropout) for each hidden size.
* Heads by task kind: binary → 1 logit, multi-class → ``n_classes`` logits, regression → 1 value.
* :class:`SingleTaskModel`, :class:`SharedBottomModel` (hard parameter sharing) and
  :class:`SoftSharingModel` (one tower per task, tied by a penalty), all
  ``keras.Model`` subclasses called with a dict ``{feature: int ids (n,), "numeric": (n, k)}``
  and returning a dict task → raw output (logit (n,), logits (n, C) or value (n,)).

Initialisation (both frameworks): Dense kernels Glorot-uniform, biases zero, embeddings
uniform(−0.05, 0.05).

Training: a custom loop, not ``model.fit``
-------------------------------------------
:func:`train` runs its own loop (a ``tf.function`` step with ``tf.GradientTape``), mirroring
``torch_mtl.train`` line for line. Why not ``model.fit`` with per-output losses and sample
weights? (1) Keras' default loss reduction divides a weighted loss by the *batch size*, not by
the number of labelled rows, so a sparse task's loss would shrink with its label rate instead of
being the masked mean (the ``"mean_with_sample_weight"`` reduction would fix that, at the cost of
a less visible rule); (2) the loss combination would be hidden inside ``compile``'s
``loss_weights``, whereas here it is one call to ``combine`` (default
:func:`mtl_lessons.mtl_core.combine_losses`) that later lessons replace with adaptive weighting;
(3) early stopping on ``metrics.task_metrics`` and restoring the best weights would need
callbacks. The explicit loop keeps all three in view and identical to the PyTorch version.

Optimiser: ``keras.optimizers.Adam`` (ε = 1e-7) with decoupled weight decay (Keras' ``weight_decay``
multiplies each variable by ``1 − lr · wd`` before the step, as ``torch.optim.AdamW`` does), applied
to the variables that receive a gradient; the embedding tables are excluded from the optimiser's
decay and shrunk by the loop at their own rate (``embedding_weight_decay``).

Saving weights
--------------
:func:`save_weights` writes a ``.weights.h5`` file in this course's layout (one float32 dataset
per framework-neutral name of :func:`export_weights`, not Keras' own layout, see there, and a
SHA-256 checksum), atomically, and never over an existing file unless ``overwrite=True``;
:func:`load_weights` verifies the checksum, checks the file against the model layer by layer and can load only some layers
(``layers=("features", "bottom")``: a pretrained feature extractor for transfer learning).
"""
from __future__ import annotations

import hashlib
import io
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from .repro import QUIET_ENV

if "keras" not in sys.modules:
    for _key, _value in QUIET_ENV.items():
        os.environ.setdefault(_key, _value)

import keras  # noqa: E402 - after the environment defaults
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

from .atomic import atomic_write  # noqa: E402
from .data import ModelInputs, get_task  # noqa: E402
from .mtl_core import (  # noqa: E402
    NUMERIC_KEY,
    EpochLog,
    check_architecture,
    check_inputs,
    check_positive_int,
    check_soft_sharing,
    combine_losses,
    embedding_dims,
    label_matrices,
    model_tasks,
    output_size,
    pick_weights,
    plan_training,
    resolve_learning_rates,
    resolve_n_classes,
    resolve_tasks,
    task_tuple,
    weights_checksum,
)

if keras.backend.backend() != "tensorflow":
    raise ImportError(f"mtl_lessons.keras_mtl needs the TensorFlow backend of Keras, but Keras runs on "
                      f"{keras.backend.backend()!r}; call repro.setup(...) before importing keras")

__all__ = [
    "FeatureInput",
    "mlp_block",
    "MultiTaskNet",
    "SingleTaskModel",
    "SharedBottomModel",
    "SoftSharingModel",
    "last_shared_layer",
    "parameter_count",
    "feature_tensors",
    "label_tensors",
    "task_losses",
    "combine_losses",
    "train",
    "predict",
    "export_weights",
    "import_weights",
    "save_weights",
    "load_weights",
]

EMBEDDING_INIT_RANGE = 0.05
"""Embeddings start uniform in (−EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE)."""

ADAM_EPSILON = 1e-7
"""Adam's ε (Keras' default)."""


class _Seeds:
    """Distinct integer seeds for successive initialisers, drawn from ``seed``.

    ``seed=None`` yields None every time: Keras then draws from its global generator, which
    ``repro.setup`` seeds. Integer seeds are used (not a ``SeedGenerator``) so no seed-state
    variable ends up among the model's weights.
    """

    def __init__(self, seed: int | None):
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0):
            raise ValueError(f"seed must be an int ≥ 0 or None, got {seed!r}")
        self._rng = None if seed is None else np.random.default_rng(int(seed))

    def next(self) -> int | None:
        return None if self._rng is None else int(self._rng.integers(0, 2**31 - 1))


def _seeds(seed: int | None | _Seeds) -> _Seeds:
    return seed if isinstance(seed, _Seeds) else _Seeds(seed)


def _dense(units: int, seeds: _Seeds, activation: str | None = None, name: str | None = None) -> keras.layers.Dense:
    return keras.layers.Dense(units, activation=activation, name=name,
                              kernel_initializer=keras.initializers.GlorotUniform(seed=seeds.next()),
                              bias_initializer="zeros")


# --------------------------------------------------------------------------- building blocks
class FeatureInput(keras.layers.Layer):
    """Embeds each categorical feature and appends the numeric columns.

    Args:
        cardinalities: feature name → number of ids (``FeatureEncoder.cardinalities``).
        n_numeric: number of numeric columns k.
        embedding_dims: optional feature name → embedding size; default 8 for ``user_id`` and
            ``item_id``, 4 otherwise (:func:`mtl_lessons.mtl_core.embedding_dims`).
        seed: seed of the initialisation (embeddings uniform(−0.05, 0.05)); None: global generator.

    Input: dict feature name → int (n,), plus ``"numeric"`` → float32 (n, k).
    Output: float32 (n, ``output_dim``) with ``output_dim = Σ embedding sizes + k``.
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int,
                 embedding_dims: Mapping[str, int] | None = None, *,
                 seed: int | None | _Seeds = None, **kwargs):
        super().__init__(**kwargs)
        check_architecture(cardinalities, n_numeric, {}, 0.0)
        seeds = _seeds(seed)
        self.cardinalities = dict(cardinalities)
        self.feature_names = tuple(cardinalities)
        self.embedding_dims = _embedding_dims(cardinalities, embedding_dims)
        self.n_numeric = int(n_numeric)
        self.output_dim = sum(self.embedding_dims.values()) + self.n_numeric
        self.embeddings = {
            name: keras.layers.Embedding(
                self.cardinalities[name], dim, name=f"embedding_{name}",
                embeddings_initializer=keras.initializers.RandomUniform(
                    -EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE, seed=seeds.next()))
            for name, dim in self.embedding_dims.items()
        }

    def build(self, input_shape=None) -> None:
        for table in self.embeddings.values():
            table.build((None,))
        self.built = True

    def call(self, inputs: Mapping[str, tf.Tensor]) -> tf.Tensor:
        parts = [self.embeddings[name](inputs[name]) for name in self.feature_names]
        parts.append(ops.cast(inputs[NUMERIC_KEY], "float32"))
        return ops.concatenate(parts, axis=1)


_embedding_dims = embedding_dims  # FeatureInput's argument shadows the function's name


def mlp_block(in_features: int, hidden: Sequence[int], dropout: float = 0.0, *,
              seed: int | None | _Seeds = None, name: str | None = None) -> keras.Sequential:
    """Dense(size) → ReLU (→ Dropout(``dropout``)) for each size in ``hidden``, built for
    inputs of width ``in_features``.

    Input (n, ``in_features``) → output (n, ``hidden[-1]``); an empty ``hidden`` is the identity.
    Kernels Glorot-uniform, biases zero (``seed``: as in :class:`FeatureInput`).
    """
    check_architecture({"x": 1}, in_features, {"hidden": hidden}, dropout)
    seeds = _seeds(seed)
    layers: list[keras.layers.Layer] = [keras.Input((in_features,))]
    for size in hidden:
        layers.append(_dense(size, seeds, activation="relu"))
        if dropout > 0:
            layers.append(keras.layers.Dropout(dropout, seed=seeds.next()))
    if not hidden:
        layers.append(keras.layers.Identity())
    return keras.Sequential(layers, name=name)


def _denses(block: keras.Sequential) -> list[keras.layers.Dense]:
    return [layer for layer in block.layers if isinstance(layer, keras.layers.Dense)]


# --------------------------------------------------------------------------- models
class MultiTaskNet(keras.Model):
    """Inputs → shared MLP ``bottom`` → per task an MLP ``tower`` → a head (base of both models).

    Args:
        cardinalities: feature name → number of ids.
        n_numeric: number of numeric columns.
        tasks: task names (keys of ``data.TASKS``).
        n_classes: task → number of classes, needed for multi-class tasks (``encoder.n_classes``).
        bottom: hidden sizes of the shared MLP.
        tower: hidden sizes of each task's own MLP (``()``: the head sits on the bottom).
        dropout: dropout after every hidden layer (bottom and towers).
        embedding_dims: see :class:`FeatureInput`.
        seed: seed of the initialisation; None: Keras' global generator.

    Attributes:
        tasks: the tasks, in order; ``kinds``: task → kind; ``n_classes``: multi-class task → C.
        features, bottom, towers (task → MLP), heads (task → Dense).

    The model is built (its weights exist) as soon as it is constructed.
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int, tasks: Sequence[str],
                 n_classes: Mapping[str, int] | None = None, *, bottom: Sequence[int] = (128, 64),
                 tower: Sequence[int] = (), dropout: float = 0.0,
                 embedding_dims: Mapping[str, int] | None = None, seed: int | None = None,
                 name: str | None = None):
        super().__init__(name=name)
        tasks = resolve_tasks(tasks)
        check_architecture(cardinalities, n_numeric, {"bottom": bottom, "tower": tower}, dropout)
        seeds = _Seeds(seed)
        self.tasks = tasks
        self.kinds = {task: get_task(task).kind for task in tasks}
        self.n_classes = resolve_n_classes(tasks, n_classes)
        self.cardinalities = dict(cardinalities)
        self.n_numeric = int(n_numeric)
        self.architecture = {"bottom": tuple(bottom), "tower": tuple(tower), "dropout": float(dropout)}
        self.features = FeatureInput(cardinalities, n_numeric, embedding_dims, seed=seeds, name="features")
        self.bottom = mlp_block(self.features.output_dim, bottom, dropout, seed=seeds, name="bottom")
        width = bottom[-1] if bottom else self.features.output_dim
        self.towers = {task: mlp_block(width, tower, dropout, seed=seeds, name=f"tower_{task}")
                       for task in tasks}
        self.heads = {task: _dense(output_size(task, self.n_classes), seeds, name=f"head_{task}")
                      for task in tasks}
        signature = {name: tf.TensorSpec([None], tf.int64) for name in self.features.feature_names}
        signature[NUMERIC_KEY] = tf.TensorSpec([None, self.n_numeric], tf.float32)
        self._inference = tf.function(lambda inputs: self(inputs, training=False),
                                      input_signature=[signature])
        dummy = {name: np.zeros((1,), np.int64) for name in self.features.feature_names}
        dummy[NUMERIC_KEY] = np.zeros((1, self.n_numeric), np.float32)
        self(dummy)  # build every layer now, so the weights exist (for export / import)

    def call(self, inputs: Mapping[str, tf.Tensor], training: bool = False) -> dict[str, tf.Tensor]:
        """Raw outputs: task → logit (n,) / logits (n, C) / value (n,)."""
        shared = self.bottom(self.features(inputs), training=training)
        outputs = {}
        for task in self.tasks:
            out = self.heads[task](self.towers[task](shared, training=training))
            outputs[task] = out if self.kinds[task] == "multiclass" else ops.squeeze(out, axis=-1)
        return outputs

    def penalty(self) -> tf.Tensor | None:
        """An extra term ``train`` adds to the objective at every step; None: no term."""
        return None


class SingleTaskModel(MultiTaskNet):
    """One task, one network: inputs → MLP(``hidden``) → the task's head.

    Args:
        cardinalities, n_numeric, n_classes, dropout, embedding_dims, seed: as in
            :class:`MultiTaskNet`.
        task: the task name.
        hidden: hidden sizes of the MLP.
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int, task: str,
                 n_classes: Mapping[str, int] | None = None, *, hidden: Sequence[int] = (128, 64),
                 dropout: float = 0.0, embedding_dims: Mapping[str, int] | None = None,
                 seed: int | None = None, name: str | None = None):
        if not isinstance(task, str):
            raise ValueError(f"task must be one task name (a str), got {task!r}")
        super().__init__(cardinalities, n_numeric, (task,), n_classes, bottom=hidden, tower=(),
                         dropout=dropout, embedding_dims=embedding_dims, seed=seed, name=name)
        self.task = task


class SharedBottomModel(MultiTaskNet):
    """Hard parameter sharing: a shared bottom MLP, then per task a small tower and a head.

    Args:
        cardinalities, n_numeric, n_classes, dropout, embedding_dims, seed: as in
            :class:`MultiTaskNet`.
        tasks: the task names.
        bottom: hidden sizes of the shared MLP.
        tower: hidden sizes of each task's tower (``()``: heads directly on the bottom).
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int, tasks: Sequence[str],
                 n_classes: Mapping[str, int] | None = None, *, bottom: Sequence[int] = (128, 64),
                 tower: Sequence[int] = (), dropout: float = 0.0,
                 embedding_dims: Mapping[str, int] | None = None, seed: int | None = None,
                 name: str | None = None):
        super().__init__(cardinalities, n_numeric, tasks, n_classes, bottom=bottom, tower=tower,
                         dropout=dropout, embedding_dims=embedding_dims, seed=seed, name=name)


class SoftSharingModel(MultiTaskNet):
    """Soft parameter sharing: one MLP tower per task, identical shapes, tied by a penalty.

    The twin of :class:`mtl_lessons.torch_mtl.SoftSharingModel` (see there for the formulas):
    every task has its own tower(``tower``) and head on the shared input features, and
    :meth:`penalty` returns λ Σ_{t<s} Σ_l ‖θ_t^l − θ_s^l‖² (``penalty="coupling"``, Duong et al.
    2015) or λ Σ_t Σ_l ‖θ_t^l‖² (``penalty="norm"``, plain L2), θ_t^l being the kernel and bias
    of layer l of task t's tower; ``train`` adds it to the objective.

    Args:
        cardinalities, n_numeric, tasks, n_classes, dropout, embedding_dims, seed, name: as in
            :class:`MultiTaskNet`.
        tower: hidden sizes of each task's tower (at least one layer).
        coupling: λ ≥ 0.
        penalty: ``"coupling"`` or ``"norm"``.
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int, tasks: Sequence[str],
                 n_classes: Mapping[str, int] | None = None, *, tower: Sequence[int] = (128, 64),
                 coupling: float = 0.0, penalty: str = "coupling", dropout: float = 0.0,
                 embedding_dims: Mapping[str, int] | None = None, seed: int | None = None,
                 name: str | None = None):
        coupling, penalty_kind = check_soft_sharing(tower, coupling, penalty)
        super().__init__(cardinalities, n_numeric, tasks, n_classes, bottom=(), tower=tower,
                         dropout=dropout, embedding_dims=embedding_dims, seed=seed, name=name)
        self.coupling, self.penalty_kind = coupling, penalty_kind

    def tower_parameters(self) -> dict[str, list[tf.Variable]]:
        """task → [kernel, bias of layer 1, kernel, bias of layer 2, ...] of its tower."""
        return {task: [v for layer in _denses(self.towers[task]) for v in (layer.kernel, layer.bias)]
                for task in self.tasks}

    def _distance(self) -> tf.Tensor:
        params = self.tower_parameters()
        total = ops.zeros(())
        for i, task in enumerate(self.tasks):
            for other in self.tasks[i + 1:]:
                for mine, theirs in zip(params[task], params[other]):
                    total = total + ops.sum(ops.square(mine - theirs))
        return total

    def _norm(self) -> tf.Tensor:
        total = ops.zeros(())
        for variables in self.tower_parameters().values():
            for variable in variables:
                total = total + ops.sum(ops.square(variable))
        return total

    def tower_distance(self) -> float:
        """Σ_{t<s} Σ_l ‖θ_t^l − θ_s^l‖², the squared distance between the towers, summed over pairs."""
        return float(self._distance())

    def tower_norm(self) -> float:
        """Σ_t Σ_l ‖θ_t^l‖², the squared size of all towers."""
        return float(self._norm())

    def penalty(self) -> tf.Tensor | None:
        """Ω (a tensor): λ × the towers' distance (``"coupling"``) or squared norm (``"norm"``),
        see :meth:`tower_distance` and :meth:`tower_norm`; None when λ = 0."""
        if self.coupling == 0.0:
            return None
        return self.coupling * (self._distance() if self.penalty_kind == "coupling" else self._norm())


def last_shared_layer(model: MultiTaskNet) -> keras.layers.Dense:
    """The last Dense layer of ``model.bottom`` (where GradNorm measures gradient norms).

    Raises:
        ValueError: the model has no shared hidden layer (``bottom=()``, or a soft-sharing model).
    """
    layers = _denses(_check_model(model).bottom)
    if not layers:
        raise ValueError(f"model has no shared layer (bottom={model.architecture['bottom']}); "
                         f"use a SharedBottomModel with a non-empty bottom")
    return layers[-1]


def parameter_count(model: keras.Model) -> int:
    """Number of trainable parameters (scalars) of ``model``."""
    return int(sum(int(np.prod(v.shape)) for v in model.trainable_variables))


def _check_model(model: object) -> MultiTaskNet:
    if not isinstance(model, MultiTaskNet):
        raise ValueError(f"model must be a SingleTaskModel, SharedBottomModel or SoftSharingModel of keras_mtl, "
                         f"got {type(model).__name__}")
    return model


# --------------------------------------------------------------------------- tensors and losses
def feature_tensors(inputs: ModelInputs) -> dict[str, tf.Tensor]:
    """The model's input dict: feature name → int64 tensor (n,), ``"numeric"`` → float32 (n, k)."""
    feeds = {name: tf.convert_to_tensor(np.asarray(ids, dtype=np.int64)) for name, ids in inputs.categorical.items()}
    feeds[NUMERIC_KEY] = tf.convert_to_tensor(np.asarray(inputs.numeric, dtype=np.float32))
    return feeds


def label_tensors(inputs: ModelInputs, tasks: str | Sequence[str]) -> tuple[dict[str, tf.Tensor], dict[str, tf.Tensor]]:
    """Labels and masks of ``tasks`` as float32 tensors (n,); missing labels are set to 0.

    Returns:
        ``(labels, masks)``: task → labels (0 where missing, never NaN), task → 1.0 / 0.0.
    """
    tasks = task_tuple(tasks)  # a bare string is one task
    labels, masks = label_matrices(inputs, tasks)
    return ({task: tf.convert_to_tensor(labels[:, j]) for j, task in enumerate(tasks)},
            {task: tf.convert_to_tensor(masks[:, j]) for j, task in enumerate(tasks)})


def task_losses(outputs: Mapping[str, tf.Tensor], labels: Mapping[str, tf.Tensor],
                masks: Mapping[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """Per-task losses, each the mean over the rows that carry the task's label.

    For each task in ``labels``: ℓ_i is binary cross-entropy on the logit (binary tasks),
    sparse categorical cross-entropy on the logits (multi-class) or the squared error
    (regression), and the loss is Σ_i m_i ℓ_i / max(Σ_i m_i, 1). A row with m_i = 0 therefore
    contributes exactly zero gradient; a batch without any labelled row gives a loss of 0.

    Args:
        outputs: task → raw output, (n,) or (n, C) (the model's call).
        labels: task → float labels (n,) with no NaN (missing ones replaced, e.g. by 0).
        masks: task → float (n,), 1.0 where the label exists, 0.0 elsewhere.

    Returns:
        task → scalar tensor.
    """
    losses = {}
    for task, y in labels.items():
        out, m = outputs[task], ops.cast(masks[task], "float32")
        y = ops.cast(y, "float32")
        kind = get_task(task).kind
        if kind == "binary":
            per_row = ops.binary_crossentropy(y, out, from_logits=True)
        elif kind == "multiclass":
            per_row = ops.sparse_categorical_crossentropy(ops.cast(y, "int32"), out, from_logits=True)
        else:
            per_row = ops.square(out - y)
        losses[task] = ops.sum(per_row * m) / ops.maximum(ops.sum(m), 1.0)
    return losses


# --------------------------------------------------------------------------- prediction
def predict(model: MultiTaskNet, inputs: ModelInputs, tasks: str | Sequence[str] | None = None,
            batch_size: int = 8192, *, raw: bool = False) -> dict[str, np.ndarray]:
    """Predictions in the format ``metrics.task_metrics`` expects.

    Args:
        model: a trained model.
        inputs: rows to score (labels are not needed).
        tasks: which heads to read; None: all of the model's tasks.
        batch_size: rows per forward pass.
        raw: return the raw outputs (logits / values) instead of probabilities.

    Returns:
        task → binary: P(label = 1) (n,); multi-class: class probabilities (n, C);
        regression: predicted value (n,). float32.
    """
    model = _check_model(model)
    tasks = model_tasks(model.tasks, tasks)
    check_inputs(inputs, "inputs", cardinalities=model.cardinalities, n_numeric=model.n_numeric)
    check_positive_int("batch_size", batch_size)
    feeds = feature_tensors(inputs)
    feeds = {name: feeds[name] for name in (*model.features.feature_names, NUMERIC_KEY)}
    n = len(inputs)
    chunks: dict[str, list[np.ndarray]] = {task: [] for task in tasks}
    for start in range(0, n, batch_size):
        outputs = model._inference({name: t[start:start + batch_size] for name, t in feeds.items()})
        for task in tasks:
            out = outputs[task]
            if not raw:
                out = ops.softmax(out, axis=1) if model.kinds[task] == "multiclass" else (
                    ops.sigmoid(out) if model.kinds[task] == "binary" else out)
            chunks[task].append(np.asarray(out))
    return {task: np.concatenate(parts) if parts else np.zeros((0,) + _width(model, task), np.float32)
            for task, parts in chunks.items()}


def _width(model: MultiTaskNet, task: str) -> tuple[int, ...]:
    return (model.n_classes[task],) if model.kinds[task] == "multiclass" else ()


# --------------------------------------------------------------------------- training
def train(model: MultiTaskNet, train_inputs: ModelInputs, valid_inputs: ModelInputs | None,
          tasks: str | Sequence[str] | None = None, *, loss_weights: Mapping[str, float] | None = None,
          epochs: int = 10, batch_size: int = 1024, learning_rate: float = 2e-3,
          weight_decay: float = 0.0,
          embedding_weight_decay: float | Mapping[str, float] | None = None,
          patience: int | None = 2,
          monitor: tuple[str, str] | None = ("purchase", "auc"), seed: int = 0,
          progress: bool = False,
          combine: Callable[[Mapping[str, tf.Tensor], Mapping[str, float]], tf.Tensor] = combine_losses,
          learning_rates: Mapping[str, float] | None = None,
          ) -> pd.DataFrame:
    """Train ``model`` on ``tasks`` with masked per-task losses, Adam and early stopping.

    Args:
        model: a :class:`SingleTaskModel`, :class:`SharedBottomModel` or
            :class:`SoftSharingModel` (trained in place); its ``penalty()``, if not None, is
            added to the objective at every step.
        train_inputs: training rows with labels and masks of ``tasks``.
        valid_inputs: validation rows with labels of the monitored task (None if ``monitor`` is None).
        tasks: tasks whose losses are trained; None: all of the model's tasks.
        loss_weights: task → weight ≥ 0 in the objective (default 1.0 each).
        epochs: maximum number of passes over ``train_inputs``.
        batch_size: rows per gradient step.
        learning_rate: Adam's step size.
        weight_decay: decoupled weight decay (each step multiplies a weight by
            1 − learning_rate × weight_decay) of the dense layers' kernels and biases.
        embedding_weight_decay: the same for the embedding tables: one number for all, or
            feature → decay (tables not named get ``weight_decay``); None: ``weight_decay``.
            Embeddings of many rarely seen ids (``item_id``) overfit first and want much more
            decay than well-observed ones (``segment``, ``hour``).
        patience: stop after this many epochs without a better validation score; None: never.
        monitor: (task, metric) scored on ``valid_inputs`` after each epoch with
            ``metrics.task_metrics``; the direction comes from ``metrics.HIGHER_IS_BETTER``.
            The best epoch's weights are restored at the end. None: no validation, the last
            epoch's weights are kept.
        seed: seeds the shuffling (NumPy; the same batches as ``torch_mtl.train``). Dropout
            masks come from the dropout layers' own seeds (the model's ``seed``).
        progress: show a tqdm progress bar over epochs.
        combine: called as ``combine(task_losses, weights=weights)`` for every batch, returns
            the scalar objective (default :func:`~mtl_lessons.mtl_core.combine_losses`, the
            weighted sum). Its ``trainable_variables``, if it has any (a built Keras layer, e.g.
            learned uncertainty weights), are optimised too (without weight decay); an object with an
            ``on_epoch_end(task_losses)`` method gets each epoch's per-task training losses
            (a dict of floats) after the epoch. An object with a ``gradient_norm_variable``
            (``keras_weighting.GradNorm``) has the step recorded on a persistent tape; its
            ``gradient_norms(tape, task_losses)`` runs inside the step and its
            ``after_step(task_losses, grad_norms)`` after each step, with the batch's losses
            and norms (floats). Weights that change during training must live in variables the
            step reads (a float read from Python is frozen when the step is traced).
            A ``combine`` with a ``tasks`` attribute must name exactly the trained tasks.
        learning_rates: per-layer step sizes, layer-name prefix → Adam step size, in the
            framework-neutral names of :func:`export_weights` (``"features"``,
            ``"features.item_id"``, ``"bottom"``, ``"towers.click"``, ``"heads.purchase"``, ...;
            the longest matching prefix wins), e.g. ``{"features": 1e-3, "bottom": 1e-3}`` to
            fine-tune a pretrained extractor gently while a new head learns at ``learning_rate``.
            Layers not matched, and ``combine``'s variables, use ``learning_rate``. One Adam
            optimiser per distinct step size updates its layers (Adam's update is per weight, so
            this equals one optimiser with per-group rates); each layer's decoupled decay then
            multiplies its weights by 1 − its rate × decay per step. None: one rate for all
            (:func:`mtl_lessons.mtl_core.resolve_learning_rates`).

    Returns:
        The history, one row per epoch (see :func:`mtl_lessons.mtl_core.history_frame`):
        ``epoch, loss, loss_<task>…, valid_<task>_<metric>, seconds, samples_per_second,
        valid_seconds``; ``attrs["best_epoch"]`` is the epoch whose weights the model now holds.

    Raises:
        ValueError: naming the argument: unknown or head-less tasks, inputs of the wrong
            shape/length, missing labels, NaN labels on labelled rows, bad loss weights,
            a bad monitor, bad scalar settings, ``learning_rates`` naming no layer of the model,
            or a ``combine`` strategy built for other tasks (or, GradNorm, on another model's layer).
    """
    model = _check_model(model)
    plan = plan_training(model, train_inputs, valid_inputs, tasks, loss_weights=loss_weights,
                         epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                         weight_decay=weight_decay, embedding_weight_decay=embedding_weight_decay,
                         patience=patience, monitor=monitor, seed=seed, combine=combine)
    shared = getattr(combine, "gradient_norm_variable", None)  # GradNorm: norms on a variable of this model
    if shared is not None and not any(shared is v for v in model.trainable_variables):
        raise ValueError("combine=GradNorm measures gradient norms on a layer that is not in this model; "
                         "build it with keras_mtl.last_shared_layer(model) of the model you train")
    tasks, n = plan.tasks, plan.n
    # The whole split as tensors, once; a batch is a row index into them.
    names = model.features.feature_names
    categorical = tf.constant(plan.categorical)  # (n, features): a batch is a gather of rows
    numeric = tf.constant(plan.numeric)
    labels, masks = tf.constant(plan.labels), tf.constant(plan.masks)

    variables = list(model.trainable_variables)
    combine_variables = list(getattr(combine, "trainable_variables", []))  # e.g. log-variances: no decay
    variables += combine_variables
    layers = dict(_named_layers(model))
    rates = resolve_learning_rates(learning_rates, list(layers), learning_rate,
                                   weight_decay=weight_decay, table_decay=plan.table_decay)
    # the embedding tables are decayed by the step below, each at its own rate
    table_shrink = [(model.features.embeddings[name].embeddings,
                     1.0 - rates[f"features.{name}"] * plan.table_decay[name]) for name in names]
    optimizers = _optimizers(variables, layers, rates, learning_rate, weight_decay,
                             no_decay=[table for table, _ in table_shrink] + combine_variables)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int64)])
    def step(idx: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        cat_b = tf.gather(categorical, idx)
        feeds = {name: cat_b[:, j] for j, name in enumerate(names)}
        feeds[NUMERIC_KEY] = tf.gather(numeric, idx)
        y_b, m_b = tf.gather(labels, idx), tf.gather(masks, idx)
        with tf.GradientTape(persistent=shared is not None) as tape:  # GradNorm: one more gradient per task
            outputs = model(feeds, training=True)
            losses = task_losses(outputs, {t: y_b[:, j] for j, t in enumerate(tasks)},
                                 {t: m_b[:, j] for j, t in enumerate(tasks)})
            total = combine(losses, weights=plan.weights)
            penalty = model.penalty()
            if penalty is not None:
                total = total + penalty
        gradients = tape.gradient(total, variables)
        if shared is not None:  # GradNorm: each task's gradient norm on the last shared layer
            norms = combine.gradient_norms(tape, losses)
            norms = tf.stack([tf.cast(norms[t], tf.float32) for t in tasks])
        else:
            norms = tf.zeros((len(tasks),))
        # Embedding gradients arrive as IndexedSlices; the tables are small, and a dense
        # update is faster on the CPU (and is what torch's default dense gradient does).
        pairs = [(tf.convert_to_tensor(g), v) for g, v in zip(gradients, variables) if g is not None]
        for table, shrink in table_shrink:  # decoupled decay before the step, as Keras does
            if shrink != 1.0 and any(v is table for _, v in pairs):
                table.assign(table * shrink)
        for optimizer, members in optimizers:
            mine = [(g, v) for g, v in pairs if id(v) in members]
            if mine:
                optimizer.apply([g for g, _ in mine], [v for _, v in mine])
        return total, tf.stack([losses[t] for t in tasks]), tf.reduce_sum(m_b, axis=0), norms

    best_weights: list[np.ndarray] | None = None
    shuffler = np.random.default_rng(seed)
    log = EpochLog(plan, patience, combine, epochs, progress, "train (keras)")
    try:
        for epoch in range(1, epochs + 1):
            start_time = time.perf_counter()
            loss_sums = np.zeros(len(tasks))
            label_counts = np.zeros(len(tasks))
            total_sum, steps = 0.0, 0
            order = shuffler.permutation(n)
            for start in range(0, n, batch_size):
                total, losses, counts, norms = step(tf.constant(order[start:start + batch_size]))
                if shared is not None:  # GradNorm's update between steps (the step reads its weights)
                    combine.after_step(dict(zip(tasks, losses.numpy())), dict(zip(tasks, norms.numpy())))
                counts = counts.numpy()
                loss_sums += losses.numpy() * counts
                label_counts += counts
                total_sum += float(total)
                steps += 1
            seconds = time.perf_counter() - start_time
            if log.end_epoch(epoch, seconds, total_sum, steps, loss_sums, label_counts,
                             lambda task: predict(model, valid_inputs, tasks=(task,))[task], valid_inputs):
                best_weights = [v.numpy().copy() for v in model.trainable_variables]
            if log.should_stop:
                break
    finally:
        log.bar.close()
    if best_weights is not None:
        for variable, value in zip(model.trainable_variables, best_weights):
            variable.assign(value)
    return log.history()


def _optimizers(variables: list, layers: Mapping[str, keras.layers.Layer], rates: Mapping[str, float],
                learning_rate: float, weight_decay: float,
                no_decay: list) -> list[tuple[keras.optimizers.Optimizer, set[int]]]:
    """``train``'s Adam optimisers, one per distinct step size, each with the ids of its variables.

    ``variables`` (the model's, then ``combine``'s) are split by the step size of their layer
    (``rates``, layer name → rate; ``combine``'s variables get ``learning_rate``); the variables
    in ``no_decay`` are excluded from the decoupled weight decay. With one rate for all, this
    is one optimiser over ``variables`` in their order.
    """
    rate_of = {}
    for name, layer in layers.items():
        for variable in (layer.embeddings,) if isinstance(layer, keras.layers.Embedding) else (layer.kernel, layer.bias):
            rate_of[id(variable)] = rates[name]
    by_rate: dict[float, list] = {}
    for variable in variables:
        by_rate.setdefault(rate_of.get(id(variable), float(learning_rate)), []).append(variable)
    optimizers = []
    for rate, members in by_rate.items():
        optimizer = keras.optimizers.Adam(learning_rate=rate, epsilon=ADAM_EPSILON, weight_decay=weight_decay or None)
        optimizer.exclude_from_weight_decay(var_list=[v for v in no_decay if any(v is m for m in members)])
        optimizer.build(members)
        optimizers.append((optimizer, {id(v) for v in members}))
    return optimizers


# --------------------------------------------------------------------------- weights exchange
def _named_layers(model: MultiTaskNet) -> Iterator[tuple[str, keras.layers.Layer]]:
    for name in model.features.feature_names:
        yield f"features.{name}", model.features.embeddings[name]
    for i, layer in enumerate(_denses(model.bottom)):
        yield f"bottom.{i}", layer
    for task in model.tasks:
        for i, layer in enumerate(_denses(model.towers[task])):
            yield f"towers.{task}.{i}", layer
        yield f"heads.{task}", model.heads[task]


def export_weights(model: MultiTaskNet) -> dict[str, np.ndarray]:
    """The model's weights under framework-neutral names, as NumPy arrays.

    Names: ``features.<feature>`` (ids × size), ``bottom.<i>.kernel`` (in × out),
    ``bottom.<i>.bias``, ``towers.<task>.<i>.kernel/bias``, ``heads.<task>.kernel/bias``; the
    format of :func:`mtl_lessons.torch_mtl.export_weights`, so weights move between frameworks.
    """
    model = _check_model(model)
    weights = {}
    for name, layer in _named_layers(model):
        if isinstance(layer, keras.layers.Embedding):
            weights[name] = np.array(layer.embeddings.numpy())
        else:
            weights[f"{name}.kernel"] = np.array(layer.kernel.numpy())
            weights[f"{name}.bias"] = np.array(layer.bias.numpy())
    return weights


def import_weights(model: MultiTaskNet, weights: Mapping[str, np.ndarray]) -> None:
    """Load weights in :func:`export_weights`' format (e.g. from the PyTorch twin) into ``model``.

    Raises:
        ValueError: ``weights`` misses a name, has an extra one, or a shape differs.
    """
    model = _check_model(model)
    expected = export_weights(model)
    missing, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
    if missing or extra:
        raise ValueError(f"weights do not match the model: missing {missing}, unexpected {extra}")
    for name, value in expected.items():
        if np.shape(weights[name]) != value.shape:
            raise ValueError(f"weights[{name!r}] has shape {np.shape(weights[name])}, the model needs {value.shape}")
    for name, layer in _named_layers(model):
        if isinstance(layer, keras.layers.Embedding):
            layer.embeddings.assign(np.asarray(weights[name], np.float32))
        else:
            layer.kernel.assign(np.asarray(weights[f"{name}.kernel"], np.float32))
            layer.bias.assign(np.asarray(weights[f"{name}.bias"], np.float32))


WEIGHTS_SUFFIX = ".weights.h5"
"""The suffix Keras 3 requires of weights files, required here too."""

_WEIGHTS_FORMAT = "mtl_lessons.neutral_weights.v2"  # the "format" attribute of a save_weights file
_CHECKSUM_ATTR = "sha256"  # the attribute holding mtl_core.weights_checksum of the datasets
_USERBLOCK_SIZE = 512  # HDF5 ignores the file's first 512 bytes (its "user block"): the file checksum goes there
_USERBLOCK_MAGIC = b"mtl_lessons.keras_mtl.save_weights v2\nsha256 "  # then 64 hex digits of the rest of the file
_DIGEST_END = len(_USERBLOCK_MAGIC) + 64  # the digest covers every byte after itself (padding included)
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _check_weights_path(path: str | Path) -> Path:
    path = Path(path)
    if not path.name.endswith(WEIGHTS_SUFFIX) or path.name == WEIGHTS_SUFFIX:
        raise ValueError(f"path must end in {WEIGHTS_SUFFIX!r} (Keras 3's suffix for weights files), got '{path}'")
    return path


def save_weights(model: MultiTaskNet, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the model's weights to ``path`` (suffix ``.weights.h5``) in this course's layout; returns the Path.

    The file is HDF5 with one float32 dataset per name of :func:`export_weights`
    (``features.user_id`` (ids × size), ``bottom.0.kernel`` (in × out), ``bottom.0.bias``, ...,
    ``heads.<task>.kernel/bias``) and the attributes ``format`` and ``sha256`` (the checksum of the
    datasets' names, dtypes, shapes and bytes, :func:`mtl_lessons.mtl_core.weights_checksum`):
    plain arrays, nothing pickled, readable with h5py. The file's first 512 bytes (an HDF5 "user
    block", which HDF5 skips) hold the SHA-256 of the rest of the file: :func:`load_weights`
    checks it before HDF5 parses anything (the HDF5 library can crash the process on a damaged
    file), then checks the arrays' checksum. Why not
    ``model.save_weights``? Keras' own layout files layers under generated names and positions
    (``heads/dense_1``, ``layers/sequential_2``), so the weights of a model with another task set
    would land in the wrong head without an error, and no error could name the layer. Read the
    file with :func:`load_weights`, not ``model.load_weights``. The file is written to a temporary
    file in the same folder and moved into place (``os.replace``), so an interrupted save leaves
    any old file intact.

    Raises:
        ValueError: ``path`` does not end in ``.weights.h5``.
        FileExistsError: ``path`` exists and ``overwrite`` is False.
        FileNotFoundError: the folder of ``path`` does not exist.
    """
    path = _check_weights_path(path)
    weights = {name: np.asarray(value, np.float32) for name, value in export_weights(_check_model(model)).items()}
    if path.exists() and not overwrite:
        raise FileExistsError(f"save_weights: '{path}' already exists; pass overwrite=True to replace it")

    def write(tmp: Path) -> None:
        with h5py.File(tmp, "w", userblock_size=_USERBLOCK_SIZE) as file:
            file.attrs["format"] = _WEIGHTS_FORMAT
            file.attrs[_CHECKSUM_ATTR] = weights_checksum(weights)
            for name, value in weights.items():
                file.create_dataset(name, data=value)
        with open(tmp, "r+b") as raw:  # in the user block h5py left free: the SHA-256 of every byte after it
            raw.seek(_USERBLOCK_SIZE)
            rest = b"\n".ljust(_USERBLOCK_SIZE - _DIGEST_END, b"\0") + raw.read()
            raw.seek(0)
            raw.write(_USERBLOCK_MAGIC + hashlib.sha256(rest).hexdigest().encode("ascii") + rest)

    return atomic_write(path, write, overwrite=overwrite)


def _not_a_weights_file(path: Path, reason: str) -> ValueError:
    return ValueError(f"load_weights: '{path}' is not a weights file of this course ({reason}); "
                      f"write one with keras_mtl.save_weights")


def _read_weights(path: Path) -> dict[str, np.ndarray]:
    """The datasets of a :func:`save_weights` file, as stored, after verifying both checksums.

    Every failure (not HDF5, empty, truncated, another layout, no or a wrong checksum, an
    unreadable dataset) is one ValueError that names the file. The bytes are checked against the
    user block's SHA-256 before h5py sees them: the HDF5 library can crash on a damaged file.
    """
    data = path.read_bytes()
    head = data[:_USERBLOCK_SIZE]
    if not head.startswith(_USERBLOCK_MAGIC):
        if data.startswith(_HDF5_SIGNATURE):
            raise ValueError(f"load_weights: '{path}' was not written by keras_mtl.save_weights of this version "
                             f"(it has no checksum block): a file of model.save_weights has Keras' own layout "
                             f"(use model.load_weights on the same architecture); a file of an older "
                             f"mtl_lessons: re-save it with keras_mtl.save_weights(model, path, overwrite=True)")
        what = "it is empty" if not data else "it is not an HDF5 file" if len(data) > 8 else "it is truncated"
        raise _not_a_weights_file(path, what)
    if len(data) <= _USERBLOCK_SIZE:
        raise _not_a_weights_file(path, f"it is truncated: {len(data)} bytes")
    if hashlib.sha256(data[_DIGEST_END:]).hexdigest().encode("ascii") != data[len(_USERBLOCK_MAGIC):_DIGEST_END]:
        raise ValueError(f"load_weights: '{path}' is damaged (or truncated): its bytes do not match the SHA-256 "
                         f"checksum saved with them, so it could load different weights; re-save it or restore "
                         f"a good copy")
    try:
        with h5py.File(io.BytesIO(data), "r") as file:
            kind = file.attrs.get("format")
            stored = file.attrs.get(_CHECKSUM_ATTR)
            found: dict[str, np.ndarray] = {}

            def read(name: str, item: h5py.Group | h5py.Dataset) -> None:
                if isinstance(item, h5py.Dataset):
                    found[name] = np.asarray(item[()])

            file.visititems(read)
    except Exception as err:  # noqa: BLE001 - h5py raises OSError, KeyError, ... on a bad file
        raise _not_a_weights_file(path, f"h5py cannot read it: {type(err).__name__}: {err}") from err
    kind, stored = (v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in (kind, stored))
    if kind != _WEIGHTS_FORMAT or not isinstance(stored, str):
        raise _not_a_weights_file(path, f"format attribute {kind!r}, checksum attribute {stored!r}")
    try:
        actual = weights_checksum(found)
    except Exception as err:  # noqa: BLE001 - e.g. a damaged dtype
        raise _not_a_weights_file(path, f"its datasets cannot be read: {type(err).__name__}: {err}") from err
    if actual != stored:
        raise ValueError(f"load_weights: '{path}' is damaged: its datasets do not match the SHA-256 checksum "
                         f"saved with them, so it would load different weights; re-save it or restore a good copy")
    return found


def load_weights(model: MultiTaskNet, path: str | Path, *, layers: str | Iterable[str] | None = None) -> None:
    """Load weights written by :func:`save_weights` into ``model``, after checking they fit.

    The file's checksum is verified first (a damaged file is refused, never loaded as other
    weights); then its datasets are compared with the model under the framework-neutral names of
    :func:`export_weights` (``features.<feature>``, ``bottom.<i>``, ``towers.<task>.<i>``,
    ``heads.<task>``; kernels (in, out)) before anything is assigned; nothing is skipped,
    truncated or padded. HDF5 datasets are plain arrays: reading one runs no code.

    Args:
        model: the model to fill.
        path: a ``.weights.h5`` file written by :func:`save_weights`.
        layers: layer-name prefixes to load, e.g. ``("features", "bottom")`` to reuse a pretrained
            feature extractor in a model with other tasks; the other layers keep their values.
            None: every layer (the file and the model must have the same layers).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: ``path`` does not end in ``.weights.h5``; the file is not HDF5 (empty,
            truncated, another format) or was not written by :func:`save_weights` (e.g. by
            ``model.save_weights``); it has no checksum (written by an older version: re-save it)
            or its checksum does not match (damaged); a prefix in
            ``layers`` matches nothing in the file; the (selected) layers of the file and the
            model differ; or a layer's shape differs (the message names the layer and both shapes).
    """
    model = _check_model(model)
    path = _check_weights_path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_weights: no weights file at '{path}'")
    found = _read_weights(path)
    merged = export_weights(model)
    merged.update(pick_weights(merged, found, path, layers))
    import_weights(model, merged)
