"""The Keras multi-task models (single-task, shared bottom, soft sharing) and what is read off them:
the last shared layer, the parameter count, and the framework-neutral names of their layers."""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ..data import get_task
from ..mtl_core import (
    NUMERIC_KEY,
    check_architecture,
    check_soft_sharing,
    output_size,
    resolve_n_classes,
    resolve_tasks,
)
from .layers import FeatureInput, _dense, _denses, _Seeds, mlp_block


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
        architecture: further settings of a subclass, added to ``self.architecture`` before
            its layers are built (the expert models read their sizes from there).

    Attributes:
        tasks: the tasks, in order; ``kinds``: task → kind; ``n_classes``: multi-class task → C.
        features, bottom, towers (task → MLP), heads (task → Dense); ``architecture``: the
        layer sizes as a dict.

    The model is built (its weights exist) as soon as it is constructed.
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int, tasks: Sequence[str],
                 n_classes: Mapping[str, int] | None = None, *, bottom: Sequence[int] = (128, 64),
                 tower: Sequence[int] = (), dropout: float = 0.0,
                 embedding_dims: Mapping[str, int] | None = None, seed: int | None = None,
                 name: str | None = None, architecture: Mapping[str, object] | None = None):
        super().__init__(name=name)
        tasks = resolve_tasks(tasks)
        check_architecture(cardinalities, n_numeric, {"bottom": bottom, "tower": tower}, dropout)
        seeds = _Seeds(seed)
        self.tasks = tasks
        self.kinds = {task: get_task(task).kind for task in tasks}
        self.n_classes = resolve_n_classes(tasks, n_classes)
        self.cardinalities = dict(cardinalities)
        self.n_numeric = int(n_numeric)
        self.architecture = {"bottom": tuple(bottom), "tower": tuple(tower), "dropout": float(dropout),
                             **(architecture or {})}
        self.features = FeatureInput(cardinalities, n_numeric, embedding_dims, seed=seeds, name="features")
        self.bottom = mlp_block(self.features.output_dim, bottom, dropout, seed=seeds, name="bottom")
        width = self._build_shared(bottom[-1] if bottom else self.features.output_dim, seeds)
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

    def _build_shared(self, in_features: int, seeds: _Seeds) -> int:
        """Build the shared layers between the bottom and the towers (none here; the expert
        models of :mod:`.experts` build theirs) and return the width of a tower's input."""
        return in_features

    def _tower_inputs(self, shared: tf.Tensor, training: bool) -> dict[str, tf.Tensor]:
        """task → the input of its tower, from the bottom's output (n, width): the same for all here."""
        return {task: shared for task in self.tasks}

    def _shared_layers(self) -> Iterator[tuple[str, keras.layers.Dense]]:
        """The shared dense layers after the bottom, under framework-neutral names (none here)."""
        return iter(())

    def call(self, inputs: Mapping[str, tf.Tensor], training: bool = False) -> dict[str, tf.Tensor]:
        """Raw outputs: task → logit (n,) / logits (n, C) / value (n,)."""
        tower_inputs = self._tower_inputs(self.bottom(self.features(inputs), training=training), training)
        outputs = {}
        for task in self.tasks:
            out = self.heads[task](self.towers[task](tower_inputs[task], training=training))
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
    if "n_experts" in model.architecture or "n_levels" in model.architecture:
        raise ValueError(f"{type(model).__name__} has no single last shared layer: its experts are shared through "
                         f"gates, so GradNorm (which needs one) does not apply; use UncertaintyWeighting or "
                         f"DynamicWeightAverage, or a SharedBottomModel with a non-empty bottom")
    if not layers:
        raise ValueError(f"model has no shared layer (bottom={model.architecture['bottom']}); "
                         f"use a SharedBottomModel with a non-empty bottom")
    return layers[-1]


def parameter_count(model: keras.Model) -> int:
    """Number of trainable parameters (scalars) of ``model``."""
    return int(sum(int(np.prod(v.shape)) for v in model.trainable_variables))


def _check_model(model: object) -> MultiTaskNet:
    if not isinstance(model, MultiTaskNet):
        raise ValueError(f"model must be a SingleTaskModel, SharedBottomModel, SoftSharingModel, MMoEModel, "
                         f"PLEModel or ESMMModel of keras_mtl, got {type(model).__name__}")
    return model


# --------------------------------------------------------------------------- layer names
def _named_layers(model: MultiTaskNet) -> Iterator[tuple[str, keras.layers.Layer]]:
    for name in model.features.feature_names:
        yield f"features.{name}", model.features.embeddings[name]
    for i, layer in enumerate(_denses(model.bottom)):
        yield f"bottom.{i}", layer
    yield from model._shared_layers()
    for task in model.tasks:
        for i, layer in enumerate(_denses(model.towers[task])):
            yield f"towers.{task}.{i}", layer
        yield f"heads.{task}", model.heads[task]
