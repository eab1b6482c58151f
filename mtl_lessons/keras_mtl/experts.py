"""Expert models in Keras: MMoE (and OMoE) and PLE, the twins of :mod:`mtl_lessons.torch_mtl.experts`.

The same architecture, formulas (MMoE: Ma et al. 2018, eq. 6–8; PLE: Tang et al. 2020, section 4),
layer names and weight layout as the PyTorch module (see its docstring), so weights copied across
with ``export_weights`` / ``import_weights`` give the same outputs. Each expert, gate, tower and
head draws its own initialiser seed, so no two experts start equal.

``model.gate_weights`` holds each gate's softmax output (name → (n, experts)) after an eager call
(``model(inputs)``; calls inside ``train``'s compiled step do not record them);
:func:`gate_weights` scores a whole split.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ..data import ModelInputs
from ..mtl_core import check_experts, check_inputs, check_positive_int
from .layers import _denses, _Seeds, mlp_block
from .models import MultiTaskNet, _check_model
from .training import feature_tensors

SHARED = "shared"
"""Owner name of PLE's shared experts and gate (no task has this name)."""


def _gate(n_experts: int, seeds: _Seeds, name: str) -> keras.layers.Dense:
    """A gate's linear map x → logits over ``n_experts`` (no bias), Glorot-uniform."""
    return keras.layers.Dense(n_experts, use_bias=False, name=name,
                              kernel_initializer=keras.initializers.GlorotUniform(seed=seeds.next()))


def mix(gate_logits: tf.Tensor, expert_outputs: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The gated mixture Σ_i softmax(logits)_i · expert_i.

    Args:
        gate_logits: (n, E), a gate's linear map of its input.
        expert_outputs: (n, E, width), the experts' outputs stacked on axis 1.

    Returns:
        ``(mixture (n, width), gate weights (n, E))``; each row of the weights sums to 1.
    """
    weights = ops.softmax(gate_logits, axis=-1)
    return ops.sum(ops.expand_dims(weights, -1) * expert_outputs, axis=1), weights


def _record(store: dict, name: str, weights: tf.Tensor) -> None:
    if tf.executing_eagerly():  # a traced call holds symbolic tensors: nothing to read back
        store[name] = weights


class MMoEModel(MultiTaskNet):
    """Multi-gate mixture-of-experts (MMoE) or, with ``one_gate=True``, one-gate MoE (OMoE).

    The twin of :class:`mtl_lessons.torch_mtl.MMoEModel` (same arguments, plus ``name``).
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int, tasks: Sequence[str],
                 n_classes: Mapping[str, int] | None = None, *, n_experts: int = 8,
                 expert: Sequence[int] = (16,), tower: Sequence[int] = (8,), one_gate: bool = False,
                 dropout: float = 0.0, embedding_dims: Mapping[str, int] | None = None,
                 seed: int | None = None, name: str | None = None):
        settings = check_experts("MMoEModel", expert=expert, n_experts=n_experts, one_gate=one_gate)
        super().__init__(cardinalities, n_numeric, tasks, n_classes, bottom=(), tower=tower, dropout=dropout,
                         embedding_dims=embedding_dims, seed=seed, name=name, architecture=settings)

    def _build_shared(self, in_features: int, seeds: _Seeds) -> int:
        settings = self.architecture
        self.experts = [mlp_block(in_features, settings["expert"], settings["dropout"], seed=seeds, name=f"expert_{i}")
                        for i in range(settings["n_experts"])]
        names = ("all",) if settings["one_gate"] else self.tasks
        self.gates = {name: _gate(settings["n_experts"], seeds, f"gate_{name}") for name in names}
        self.gate_weights: dict[str, tf.Tensor] = {}
        return settings["expert"][-1]

    def _tower_inputs(self, shared: tf.Tensor, training: bool) -> dict[str, tf.Tensor]:
        expert_outputs = ops.stack([expert(shared, training=training) for expert in self.experts], axis=1)
        mixtures = {}
        for name, gate in self.gates.items():
            mixtures[name], weights = mix(gate(shared), expert_outputs)
            _record(self.gate_weights, name, weights)
        if self.architecture["one_gate"]:
            return {task: mixtures["all"] for task in self.tasks}
        return mixtures

    def _shared_layers(self) -> Iterator[tuple[str, keras.layers.Dense]]:
        for i, expert in enumerate(self.experts):
            for j, layer in enumerate(_denses(expert)):
                yield f"experts.{i}.{j}", layer
        for name, gate in self.gates.items():
            yield f"gates.{name}", gate


class ExtractionLevel(keras.layers.Layer):
    """One level of PLE (a CGC layer); the twin of :class:`mtl_lessons.torch_mtl.ExtractionLevel`.

    Input: owner → (n, in_features) for every task and ``"shared"``. Output: task → fused
    (n, expert[-1]), plus ``"shared"`` when ``shared_gate``.
    """

    def __init__(self, in_features: int, tasks: Sequence[str], n_specific: int, n_shared: int,
                 expert: Sequence[int], *, shared_gate: bool, dropout: float = 0.0,
                 seeds: _Seeds | None = None, **kwargs):
        super().__init__(**kwargs)
        seeds = seeds if seeds is not None else _Seeds(None)
        self.tasks = tuple(tasks)
        owners = (*self.tasks, SHARED)
        counts = {owner: n_shared if owner == SHARED else n_specific for owner in owners}
        self.experts = {owner: [mlp_block(in_features, expert, dropout, seed=seeds, name=f"expert_{owner}_{i}")
                                for i in range(counts[owner])] for owner in owners}
        gates = {task: _gate(n_specific + n_shared, seeds, f"gate_{task}") for task in self.tasks}
        if shared_gate:
            gates[SHARED] = _gate(len(self.tasks) * n_specific + n_shared, seeds, f"gate_{SHARED}")
        self.gates = gates
        self.gate_weights: dict[str, tf.Tensor] = {}

    def call(self, inputs: Mapping[str, tf.Tensor], training: bool = False) -> dict[str, tf.Tensor]:
        outputs = {owner: ops.stack([expert(inputs[owner], training=training) for expert in experts], axis=1)
                   for owner, experts in self.experts.items()}  # owner → (n, experts, width)
        fused = {}
        for owner, gate in self.gates.items():
            # a task's gate sees its own experts and the shared ones; the shared gate sees all
            chosen = (*self.tasks, SHARED) if owner == SHARED else (owner, SHARED)
            candidates = ops.concatenate([outputs[o] for o in chosen], axis=1)
            fused[owner], weights = mix(gate(inputs[owner]), candidates)
            _record(self.gate_weights, owner, weights)
        return fused


class PLEModel(MultiTaskNet):
    """Progressive layered extraction (PLE); ``n_levels=1`` is CGC.

    The twin of :class:`mtl_lessons.torch_mtl.PLEModel` (same arguments, plus ``name``).
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int, tasks: Sequence[str],
                 n_classes: Mapping[str, int] | None = None, *, n_levels: int = 1, n_specific: int = 1,
                 n_shared: int = 1, expert: Sequence[int] = (16,), tower: Sequence[int] = (8,),
                 dropout: float = 0.0, embedding_dims: Mapping[str, int] | None = None,
                 seed: int | None = None, name: str | None = None):
        settings = check_experts("PLEModel", expert=expert, n_levels=n_levels, n_specific=n_specific,
                                 n_shared=n_shared)
        super().__init__(cardinalities, n_numeric, tasks, n_classes, bottom=(), tower=tower, dropout=dropout,
                         embedding_dims=embedding_dims, seed=seed, name=name, architecture=settings)

    def _build_shared(self, in_features: int, seeds: _Seeds) -> int:
        settings = self.architecture
        widths = [in_features] + [settings["expert"][-1]] * (settings["n_levels"] - 1)
        self.levels = [
            ExtractionLevel(width, self.tasks, settings["n_specific"], settings["n_shared"], settings["expert"],
                            shared_gate=j < settings["n_levels"] - 1, dropout=settings["dropout"], seeds=seeds,
                            name=f"level_{j}")
            for j, width in enumerate(widths)]
        self.gate_weights: dict[str, tf.Tensor] = {}
        return settings["expert"][-1]

    def _tower_inputs(self, shared: tf.Tensor, training: bool) -> dict[str, tf.Tensor]:
        fused = {owner: shared for owner in (*self.tasks, SHARED)}
        for j, level in enumerate(self.levels):
            fused = level(fused, training=training)
            for owner, weights in level.gate_weights.items():
                _record(self.gate_weights, f"{j}.{owner}", weights)
        return {task: fused[task] for task in self.tasks}

    def _shared_layers(self) -> Iterator[tuple[str, keras.layers.Dense]]:
        for j, level in enumerate(self.levels):
            for owner, experts in level.experts.items():
                for i, expert in enumerate(experts):
                    for k, layer in enumerate(_denses(expert)):
                        yield f"levels.{j}.experts.{owner}.{i}.{k}", layer
            for owner, gate in level.gates.items():
                yield f"levels.{j}.gates.{owner}", gate


def gate_weights(model: MMoEModel | PLEModel, inputs: ModelInputs, batch_size: int = 8192) -> dict[str, np.ndarray]:
    """Every gate's weights on every row of ``inputs``: name → float32 (n, experts), rows sum to 1.

    Names as in ``model.gate_weights``. The model is called eagerly with ``training=False``.

    Raises:
        ValueError: ``model`` is not an expert model, or ``inputs`` does not fit it.
    """
    model = _check_model(model)
    if not isinstance(model, (MMoEModel, PLEModel)):
        raise ValueError(f"model must be an MMoEModel or PLEModel (a model with gates), got {type(model).__name__}")
    check_inputs(inputs, "inputs", cardinalities=model.cardinalities, n_numeric=model.n_numeric)
    check_positive_int("batch_size", batch_size)
    feeds = feature_tensors(inputs)
    chunks: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(inputs), batch_size):
        model({name: t[start:start + batch_size] for name, t in feeds.items()}, training=False)
        for name, weights in model.gate_weights.items():
            chunks.setdefault(name, []).append(np.asarray(weights))
    return {name: np.concatenate(parts) for name, parts in chunks.items()}
