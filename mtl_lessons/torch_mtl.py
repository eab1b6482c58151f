"""Multi-task models and their training loop in PyTorch.

The same public API, architecture and initialisation as :mod:`mtl_lessons.keras_mtl`; a
lesson can switch frameworks by changing one import. Imports torch, never TensorFlow/Keras.

Architecture (both frameworks)
------------------------------
* :class:`FeatureInput`: one embedding table per categorical feature (sizes from
  :func:`mtl_lessons.mtl_core.embedding_dims`: 8 for ``user_id``/``item_id``, 4 otherwise),
  the embeddings of a row concatenated in ``cardinalities`` order, then the numeric columns.
* :func:`mlp_block`: Linear → ReLU (→ Dropout) for each hidden size.
* Heads by task kind: binary → 1 logit, multi-class → ``n_classes`` logits, regression → 1 value.
* :class:`SingleTaskModel`: inputs → MLP(``hidden``) → one head.
* :class:`SharedBottomModel`: hard parameter sharing: inputs → shared MLP(``bottom``) → per task
  an optional MLP tower(``tower``) → its head.
* :class:`SoftSharingModel`: soft parameter sharing: inputs → per task its own MLP tower
  (identical shapes) → its head, the towers tied only by a penalty (``model.penalty()``) that
  ``train`` adds to the objective.

A model is called with a dict ``{feature name: int64 ids (n,), "numeric": float32 (n, k)}``
(:func:`feature_tensors` builds it from ``ModelInputs``) and returns a dict task → raw output:
a logit (n,) for binary tasks, logits (n, C) for multi-class tasks, a value (n,) for regression.

Initialisation (both frameworks): Linear weights Glorot-uniform, biases zero, embeddings
uniform(−0.05, 0.05). A ``seed`` makes it reproducible without touching the global generator.

Training
--------
:func:`train` is a plain loop: each epoch shuffles the rows (NumPy generator seeded by
``seed``, so both frameworks see the same batches), cuts mini-batches by tensor indexing,
computes the per-task masked-mean losses (:func:`task_losses`), combines them with
``combine`` (default :func:`mtl_lessons.mtl_core.combine_losses`, the weighted sum) and takes
one Adam step (decoupled weight decay, i.e. ``torch.optim.AdamW``, with its own rate for the
embedding tables; ε = 1e-7 as in Keras). After
each epoch it scores the validation split with ``metrics.task_metrics``, and at the end it
restores the weights of the best epoch.

Saving weights
--------------
:func:`save_weights` writes ``model.state_dict()`` with ``torch.save`` (suffix ``.pt``), with a
SHA-256 checksum of its tensors, atomically, and never over an existing file unless
``overwrite=True``; :func:`load_weights` reads it back with ``torch.load(..., weights_only=True)``
(tensors only, no arbitrary unpickling), verifies the checksum, checks it against the model under
the framework-neutral layer names of :func:`export_weights` and can load only some layers
(``layers=("features", "bottom")``: a pretrained feature extractor for transfer learning).
"""
from __future__ import annotations

import contextlib
import pickle
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from .atomic import atomic_write
from .data import ModelInputs, get_task
from .mtl_core import (
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
"""Adam's ε (Keras' default; PyTorch's default is 1e-8)."""


@contextlib.contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    """Run the block with torch's CPU generator seeded by ``seed`` and restore it afterwards.

    ``None`` uses (and advances) the global generator, which ``repro.setup`` seeds.
    """
    if seed is None:
        yield
        return
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be an int ≥ 0 or None, got {seed!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def _init_linear(layer: nn.Linear) -> nn.Linear:
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


# --------------------------------------------------------------------------- building blocks
class FeatureInput(nn.Module):
    """Embeds each categorical feature and appends the numeric columns.

    Args:
        cardinalities: feature name → number of ids (``FeatureEncoder.cardinalities``).
        n_numeric: number of numeric columns k.
        embedding_dims: optional feature name → embedding size; default 8 for ``user_id`` and
            ``item_id``, 4 otherwise (:func:`mtl_lessons.mtl_core.embedding_dims`).
        seed: seed of the initialisation (embeddings uniform(−0.05, 0.05)); None: global generator.

    Input: dict feature name → int64 (n,), plus ``"numeric"`` → float32 (n, k).
    Output: float32 (n, ``output_dim``) with ``output_dim = Σ embedding sizes + k``.
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int,
                 embedding_dims: Mapping[str, int] | None = None, *, seed: int | None = None):
        super().__init__()
        check_architecture(cardinalities, n_numeric, {}, 0.0)
        self.cardinalities = dict(cardinalities)
        self.feature_names = tuple(cardinalities)
        self.embedding_dims = _embedding_dims(cardinalities, embedding_dims)
        self.n_numeric = int(n_numeric)
        self.output_dim = sum(self.embedding_dims.values()) + self.n_numeric
        with _seeded(seed):
            self.embeddings = nn.ModuleDict({
                name: nn.Embedding(self.cardinalities[name], dim)
                for name, dim in self.embedding_dims.items()
            })
            for table in self.embeddings.values():
                nn.init.uniform_(table.weight, -EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE)

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        parts = [self.embeddings[name](inputs[name]) for name in self.feature_names]
        parts.append(inputs[NUMERIC_KEY])
        return torch.cat(parts, dim=1)


_embedding_dims = embedding_dims  # FeatureInput's argument shadows the function's name


def mlp_block(in_features: int, hidden: Sequence[int], dropout: float = 0.0, *,
              seed: int | None = None) -> nn.Sequential:
    """Linear(→ size) → ReLU (→ Dropout(``dropout``)) for each size in ``hidden``.

    Input (n, ``in_features``) → output (n, ``hidden[-1]``); an empty ``hidden`` is the identity.
    Weights Glorot-uniform, biases zero (``seed``: as in :class:`FeatureInput`).
    """
    check_architecture({"x": 1}, in_features, {"hidden": hidden}, dropout)
    layers: list[nn.Module] = []
    width = in_features
    with _seeded(seed):
        for size in hidden:
            layers += [_init_linear(nn.Linear(width, size)), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
    return nn.Sequential(*layers)


def _linears(block: nn.Module) -> list[nn.Linear]:
    return [layer for layer in block.modules() if isinstance(layer, nn.Linear)]


# --------------------------------------------------------------------------- models
class MultiTaskNet(nn.Module):
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
        seed: seed of the initialisation; None: the global generator.

    Attributes:
        tasks: the tasks, in order; ``kinds``: task → kind; ``n_classes``: multi-class task → C.
        features, bottom, towers (task → MLP), heads (task → Linear).
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int, tasks: Sequence[str],
                 n_classes: Mapping[str, int] | None = None, *, bottom: Sequence[int] = (128, 64),
                 tower: Sequence[int] = (), dropout: float = 0.0,
                 embedding_dims: Mapping[str, int] | None = None, seed: int | None = None):
        super().__init__()
        self.tasks = resolve_tasks(tasks)
        check_architecture(cardinalities, n_numeric, {"bottom": bottom, "tower": tower}, dropout)
        self.kinds = {task: get_task(task).kind for task in self.tasks}
        self.n_classes = resolve_n_classes(self.tasks, n_classes)
        self.cardinalities = dict(cardinalities)
        self.n_numeric = int(n_numeric)
        self.architecture = {"bottom": tuple(bottom), "tower": tuple(tower), "dropout": float(dropout)}
        with _seeded(seed):
            self.features = FeatureInput(cardinalities, n_numeric, embedding_dims)
            self.bottom = mlp_block(self.features.output_dim, bottom, dropout)
            width = bottom[-1] if bottom else self.features.output_dim
            self.towers = nn.ModuleDict({task: mlp_block(width, tower, dropout) for task in self.tasks})
            width = tower[-1] if tower else width
            self.heads = nn.ModuleDict({
                task: _init_linear(nn.Linear(width, output_size(task, self.n_classes)))
                for task in self.tasks
            })

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Raw outputs: task → logit (n,) / logits (n, C) / value (n,)."""
        shared = self.bottom(self.features(inputs))
        outputs = {}
        for task in self.tasks:
            out = self.heads[task](self.towers[task](shared))
            outputs[task] = out if self.kinds[task] == "multiclass" else out.squeeze(-1)
        return outputs

    def penalty(self) -> torch.Tensor | None:
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
                 seed: int | None = None):
        if not isinstance(task, str):
            raise ValueError(f"task must be one task name (a str), got {task!r}")
        super().__init__(cardinalities, n_numeric, (task,), n_classes, bottom=hidden, tower=(),
                         dropout=dropout, embedding_dims=embedding_dims, seed=seed)
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
                 embedding_dims: Mapping[str, int] | None = None, seed: int | None = None):
        super().__init__(cardinalities, n_numeric, tasks, n_classes, bottom=bottom, tower=tower,
                         dropout=dropout, embedding_dims=embedding_dims, seed=seed)


class SoftSharingModel(MultiTaskNet):
    """Soft parameter sharing: one MLP tower per task, identical shapes, tied by a penalty.

    Every task has its own tower(``tower``) and head on the shared input features (the
    embedding tables are shared, as in the "L2-constrained" baseline of the MMoE paper); there
    is no shared hidden layer. :meth:`penalty` returns, with λ = ``coupling``,

    * ``penalty="coupling"`` (Duong et al. 2015): Ω = λ Σ_{t<s} Σ_l ‖θ_t^l − θ_s^l‖²;
    * ``penalty="norm"`` (λ Σ ‖W‖², as some course texts write soft sharing): Ω = λ Σ_t Σ_l ‖θ_t^l‖², plain L2;

    where θ_t^l is the kernel and bias of layer l of task t's tower (heads are not penalised),
    and ``train`` minimises Σ_t w_t L_t + Ω. λ = 0 gives independent towers; a large λ with
    ``"coupling"`` forces the towers to be equal, i.e. one shared tower (hard sharing).

    Args:
        cardinalities, n_numeric, tasks, n_classes, dropout, embedding_dims, seed: as in
            :class:`MultiTaskNet`.
        tower: hidden sizes of each task's tower (at least one layer).
        coupling: λ ≥ 0.
        penalty: ``"coupling"`` or ``"norm"``.
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int, tasks: Sequence[str],
                 n_classes: Mapping[str, int] | None = None, *, tower: Sequence[int] = (128, 64),
                 coupling: float = 0.0, penalty: str = "coupling", dropout: float = 0.0,
                 embedding_dims: Mapping[str, int] | None = None, seed: int | None = None):
        coupling, penalty_kind = check_soft_sharing(tower, coupling, penalty)
        super().__init__(cardinalities, n_numeric, tasks, n_classes, bottom=(), tower=tower,
                         dropout=dropout, embedding_dims=embedding_dims, seed=seed)
        self.coupling, self.penalty_kind = coupling, penalty_kind

    def tower_parameters(self) -> dict[str, list[torch.Tensor]]:
        """task → [kernel, bias of layer 1, kernel, bias of layer 2, ...] of its tower."""
        return {task: [t for layer in _linears(self.towers[task]) for t in (layer.weight, layer.bias)]
                for task in self.tasks}

    def _distance(self) -> torch.Tensor:
        params = self.tower_parameters()
        total = torch.zeros(())
        for i, task in enumerate(self.tasks):
            for other in self.tasks[i + 1:]:
                for mine, theirs in zip(params[task], params[other]):
                    total = total + ((mine - theirs) ** 2).sum()
        return total

    def _norm(self) -> torch.Tensor:
        return sum(((p ** 2).sum() for ps in self.tower_parameters().values() for p in ps), torch.zeros(()))

    def tower_distance(self) -> float:
        """Σ_{t<s} Σ_l ‖θ_t^l − θ_s^l‖², the squared distance between the towers, summed over pairs."""
        with torch.no_grad():
            return float(self._distance())

    def tower_norm(self) -> float:
        """Σ_t Σ_l ‖θ_t^l‖², the squared size of all towers."""
        with torch.no_grad():
            return float(self._norm())

    def penalty(self) -> torch.Tensor | None:
        """Ω (a tensor with gradient): λ × the towers' distance (``"coupling"``) or squared norm
        (``"norm"``), see :meth:`tower_distance` and :meth:`tower_norm`; None when λ = 0."""
        if self.coupling == 0.0:
            return None
        return self.coupling * (self._distance() if self.penalty_kind == "coupling" else self._norm())


def last_shared_layer(model: MultiTaskNet) -> nn.Linear:
    """The last Linear layer of ``model.bottom``, the layer GradNorm measures gradients on.

    Raises:
        ValueError: the model has no shared hidden layer (``bottom=()``, or a soft-sharing model).
    """
    layers = _linears(_check_model(model).bottom)
    if not layers:
        raise ValueError(f"model has no shared layer (bottom={model.architecture['bottom']}); "
                         f"use a SharedBottomModel with a non-empty bottom")
    return layers[-1]


def parameter_count(model: nn.Module) -> int:
    """Number of trainable parameters (scalars) of ``model``."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def _check_model(model: object) -> MultiTaskNet:
    if not isinstance(model, MultiTaskNet):
        raise ValueError(f"model must be a SingleTaskModel, SharedBottomModel or SoftSharingModel of torch_mtl, "
                         f"got {type(model).__name__}")
    return model


# --------------------------------------------------------------------------- tensors and losses
def feature_tensors(inputs: ModelInputs) -> dict[str, torch.Tensor]:
    """The model's input dict: feature name → int64 tensor (n,), ``"numeric"`` → float32 (n, k).

    The tensors are copies (``ModelInputs`` arrays may be read-only views of a table).
    """
    feeds = {name: torch.tensor(np.asarray(ids, dtype=np.int64)) for name, ids in inputs.categorical.items()}
    feeds[NUMERIC_KEY] = torch.tensor(np.asarray(inputs.numeric, dtype=np.float32))
    return feeds


def label_tensors(inputs: ModelInputs, tasks: str | Sequence[str]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Labels and masks of ``tasks`` as float32 tensors (n,); missing labels are set to 0.

    Returns:
        ``(labels, masks)``: task → labels (0 where missing, never NaN), task → 1.0 / 0.0.
    """
    tasks = task_tuple(tasks)  # a bare string is one task
    labels, masks = label_matrices(inputs, tasks)
    return ({task: torch.from_numpy(labels[:, j].copy()) for j, task in enumerate(tasks)},
            {task: torch.from_numpy(masks[:, j].copy()) for j, task in enumerate(tasks)})


def task_losses(outputs: Mapping[str, torch.Tensor], labels: Mapping[str, torch.Tensor],
                masks: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per-task losses, each the mean over the rows that carry the task's label.

    For each task in ``labels``: ℓ_i is binary cross-entropy on the logit (binary tasks),
    cross-entropy on the logits with the class index (multi-class) or the squared error
    (regression), and the loss is Σ_i m_i ℓ_i / max(Σ_i m_i, 1). A row with m_i = 0 therefore
    contributes exactly zero gradient; a batch without any labelled row gives a loss of 0.

    Args:
        outputs: task → raw output, (n,) or (n, C) (the model's forward).
        labels: task → float labels (n,) with no NaN (missing ones replaced, e.g. by 0).
        masks: task → float (n,), 1.0 where the label exists, 0.0 elsewhere.

    Returns:
        task → scalar tensor.
    """
    losses = {}
    for task, y in labels.items():
        out, m = outputs[task], masks[task]
        kind = get_task(task).kind
        if kind == "binary":
            per_row = F.binary_cross_entropy_with_logits(out, y, reduction="none")
        elif kind == "multiclass":
            per_row = F.cross_entropy(out, y.long(), reduction="none")
        else:
            per_row = (out - y) ** 2
        losses[task] = (per_row * m).sum() / m.sum().clamp_min(1.0)
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
    n = len(inputs)
    chunks: dict[str, list[np.ndarray]] = {task: [] for task in tasks}
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, n, batch_size):
                batch = {name: t[start:start + batch_size] for name, t in feeds.items()}
                outputs = model(batch)
                for task in tasks:
                    out = outputs[task]
                    if not raw:
                        out = torch.softmax(out, dim=1) if model.kinds[task] == "multiclass" else (
                            torch.sigmoid(out) if model.kinds[task] == "binary" else out)
                    chunks[task].append(out.numpy())
    finally:
        model.train(was_training)
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
          combine: Callable[[Mapping[str, torch.Tensor], Mapping[str, float]], torch.Tensor] = combine_losses,
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
        weight_decay: decoupled weight decay (AdamW: each step multiplies a weight by
            1 − learning_rate × weight_decay) of the dense layers' weights and biases.
        embedding_weight_decay: the same for the embedding tables: one number for all, or
            feature → decay (tables not named get ``weight_decay``); None: ``weight_decay``.
            Embeddings of many rarely seen ids (``item_id``) overfit first and want much more
            decay than well-observed ones (``segment``, ``hour``).
        patience: stop after this many epochs without a better validation score; None: never.
        monitor: (task, metric) scored on ``valid_inputs`` after each epoch with
            ``metrics.task_metrics``; the direction comes from ``metrics.HIGHER_IS_BETTER``.
            The best epoch's weights are restored at the end. None: no validation, the last
            epoch's weights are kept.
        seed: seeds the shuffling (NumPy) and dropout (torch, in a forked generator).
        progress: show a tqdm progress bar over epochs.
        combine: called as ``combine(task_losses, weights=weights)`` for every batch, returns
            the scalar objective (default :func:`~mtl_lessons.mtl_core.combine_losses`, the
            weighted sum). An ``nn.Module`` with parameters (e.g. learned uncertainty weights)
            is optimised too (without weight decay); an object with an ``on_epoch_end(task_losses)`` method gets each
            epoch's per-task training losses (a dict of floats) after the epoch. A ``combine``
            with a ``tasks`` attribute (the strategies of :mod:`mtl_lessons.torch_weighting`)
            must name exactly the trained tasks.
        learning_rates: per-layer step sizes, layer-name prefix → Adam step size, in the
            framework-neutral names of :func:`export_weights` (``"features"``,
            ``"features.item_id"``, ``"bottom"``, ``"towers.click"``, ``"heads.purchase"``, ...;
            the longest matching prefix wins), e.g. ``{"features": 1e-3, "bottom": 1e-3}`` to
            fine-tune a pretrained extractor gently while a new head learns at ``learning_rate``.
            Layers not matched, and ``combine``'s parameters, use ``learning_rate``. Each layer's
            decoupled decay then multiplies its weights by 1 − its rate × decay per step. None:
            one rate for all (:func:`mtl_lessons.mtl_core.resolve_learning_rates`).

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
    shared = getattr(combine, "shared_weight", None)  # GradNorm: norms on a layer of this model
    if shared is not None and not any(shared is p for p in model.parameters()):
        raise ValueError("combine=GradNorm measures gradient norms on a layer that is not in this model; "
                         "build it with torch_mtl.last_shared_layer(model) of the model you train")
    tasks, n = plan.tasks, plan.n
    # The whole split as tensors, once; a batch is a row index into them.
    names = model.features.feature_names
    categorical = torch.from_numpy(plan.categorical)  # (n, features): a batch is a gather of rows
    numeric = torch.from_numpy(plan.numeric)
    labels, masks = torch.from_numpy(plan.labels), torch.from_numpy(plan.masks)

    optimizer = _optimizer(model, plan.table_decay, combine, learning_rate=learning_rate,
                           weight_decay=weight_decay, learning_rates=learning_rates)
    best_state: dict[str, torch.Tensor] | None = None
    shuffler = np.random.default_rng(seed)
    log = EpochLog(plan, patience, combine, epochs, progress, "train (torch)")
    try:
        with _seeded(seed):
            for epoch in range(1, epochs + 1):
                model.train()
                start_time = time.perf_counter()
                loss_sums = torch.zeros(len(tasks))
                label_counts = torch.zeros(len(tasks))
                total_sum, steps = 0.0, 0
                order = torch.from_numpy(shuffler.permutation(n))
                for start in range(0, n, batch_size):
                    idx = order[start:start + batch_size]
                    cat_b = categorical[idx]
                    feeds = {name: cat_b[:, j] for j, name in enumerate(names)}
                    feeds[NUMERIC_KEY] = numeric[idx]
                    y_b, m_b = labels[idx], masks[idx]
                    outputs = model(feeds)
                    losses = task_losses(outputs, {t: y_b[:, j] for j, t in enumerate(tasks)},
                                         {t: m_b[:, j] for j, t in enumerate(tasks)})
                    total = combine(losses, weights=plan.weights)
                    penalty = model.penalty()
                    if penalty is not None:
                        total = total + penalty
                    optimizer.zero_grad(set_to_none=True)
                    total.backward()
                    optimizer.step()
                    with torch.no_grad():
                        counts = m_b.sum(dim=0)
                        loss_sums += torch.stack([losses[t].detach() for t in tasks]) * counts
                        label_counts += counts
                        total_sum += float(total)
                        steps += 1
                seconds = time.perf_counter() - start_time
                if log.end_epoch(epoch, seconds, total_sum, steps, loss_sums.numpy(), label_counts.numpy(),
                                 lambda task: predict(model, valid_inputs, tasks=(task,))[task], valid_inputs):
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                if log.should_stop:
                    break
    finally:
        log.bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return log.history()


def _optimizer(model: MultiTaskNet, table_decay: Mapping[str, float], combine: object, *,
               learning_rate: float, weight_decay: float,
               learning_rates: Mapping[str, float] | None) -> torch.optim.AdamW:
    """``train``'s AdamW: one group per embedding table (its own decay), one for ``combine``'s
    parameters (no decay), and the dense layers (``weight_decay``), split by step size when
    ``learning_rates`` gives some layers their own."""
    names = model.features.feature_names
    tables = {name: model.features.embeddings[name].weight for name in names}
    layers = dict(_named_layers(model))
    rates = resolve_learning_rates(learning_rates, list(layers), learning_rate,
                                   weight_decay=weight_decay, table_decay=table_decay)
    groups = [{"params": [table], "weight_decay": table_decay[name]} for name, table in tables.items()]
    if isinstance(combine, nn.Module) and list(combine.parameters()):  # e.g. learned log-variances: no decay
        groups.append({"params": list(combine.parameters()), "weight_decay": 0.0})
    if learning_rates is None:
        dense = [p for p in model.parameters() if all(p is not t for t in tables.values())]
        groups.append({"params": dense, "weight_decay": weight_decay})
    else:
        for group, name in zip(groups, names):
            group["lr"] = rates[f"features.{name}"]
        by_rate: dict[float, list[torch.Tensor]] = {}
        for layer_name, layer in layers.items():
            if not layer_name.startswith("features."):
                by_rate.setdefault(rates[layer_name], []).extend([layer.weight, layer.bias])
        groups += [{"params": params, "weight_decay": weight_decay, "lr": rate} for rate, params in by_rate.items()]
        grouped = {id(p) for group in groups for p in group["params"]}
        assert all(id(p) in grouped for p in model.parameters()), "a parameter outside the named layers"
    return torch.optim.AdamW(groups, lr=learning_rate, eps=ADAM_EPSILON)


# --------------------------------------------------------------------------- weights exchange
def _named_layers(model: MultiTaskNet) -> Iterator[tuple[str, nn.Module]]:
    for name in model.features.feature_names:
        yield f"features.{name}", model.features.embeddings[name]
    for i, layer in enumerate(_linears(model.bottom)):
        yield f"bottom.{i}", layer
    for task in model.tasks:
        for i, layer in enumerate(_linears(model.towers[task])):
            yield f"towers.{task}.{i}", layer
        yield f"heads.{task}", model.heads[task]


def export_weights(model: MultiTaskNet) -> dict[str, np.ndarray]:
    """The model's weights under framework-neutral names, as NumPy arrays.

    Names: ``features.<feature>`` (ids × size), ``bottom.<i>.kernel`` (in × out),
    ``bottom.<i>.bias``, ``towers.<task>.<i>.kernel/bias``, ``heads.<task>.kernel/bias``.
    Kernels are stored as (in, out) (PyTorch keeps (out, in); they are transposed here), so
    :func:`mtl_lessons.keras_mtl.import_weights` accepts the result unchanged.
    """
    model = _check_model(model)
    weights = {}
    for name, layer in _named_layers(model):
        if isinstance(layer, nn.Embedding):
            weights[name] = layer.weight.detach().numpy().copy()
        else:
            weights[f"{name}.kernel"] = layer.weight.detach().numpy().T.copy()
            weights[f"{name}.bias"] = layer.bias.detach().numpy().copy()
    return weights


def import_weights(model: MultiTaskNet, weights: Mapping[str, np.ndarray]) -> None:
    """Load weights in :func:`export_weights`' format (e.g. from the Keras twin) into ``model``.

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
    with torch.no_grad():
        for name, layer in _named_layers(model):
            if isinstance(layer, nn.Embedding):
                layer.weight.copy_(torch.as_tensor(np.asarray(weights[name], np.float32)))
            else:
                layer.weight.copy_(torch.as_tensor(np.asarray(weights[f"{name}.kernel"], np.float32).T))
                layer.bias.copy_(torch.as_tensor(np.asarray(weights[f"{name}.bias"], np.float32)))


CHECKSUM_KEY = "mtl_lessons.weights"
"""Entry of the saved state dict's ``_metadata`` that holds ``{"sha256": ...}`` (see :func:`save_weights`)."""


def save_weights(model: MultiTaskNet, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``model.state_dict()`` (a dict of tensors) and its checksum to ``path`` with ``torch.save``; returns the Path.

    The suffix ``.pt`` is recommended. The SHA-256 of the tensors (names, dtypes, shapes, bytes:
    :func:`mtl_lessons.mtl_core.weights_checksum`) is stored in the dict's ``_metadata`` (where
    PyTorch keeps per-module versions), under ``"mtl_lessons.weights"``, so the keys stay exactly
    those of ``model.state_dict()``. Read the file with :func:`load_weights`, which verifies the
    checksum (or, for the same architecture, ``model.load_state_dict(torch.load(path, weights_only=True))``,
    which does not). The file is written to a temporary file in the same folder and moved into
    place (``os.replace``), so an interrupted save leaves any old file intact.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False.
        FileNotFoundError: the folder of ``path`` does not exist.
    """
    model = _check_model(model)
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"save_weights: '{path}' already exists; pass overwrite=True to replace it")
    state = model.state_dict()
    metadata = dict(getattr(state, "_metadata", {}))
    metadata[CHECKSUM_KEY] = {"sha256": weights_checksum(_state_arrays(state))}
    state._metadata = metadata  # type: ignore[attr-defined]  # pickled with the OrderedDict

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as file:  # a file object: the zip's inner folder is "archive", not the temp name
            torch.save(state, file)

    return atomic_write(path, write, overwrite=overwrite)


def _state_arrays(state: Mapping[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """The tensors of a state dict as NumPy arrays, in their stored dtype (what the checksum covers)."""
    return {str(key): value.detach().cpu().contiguous().numpy() for key, value in state.items()}


def _not_a_weights_file(path: Path, reason: str) -> ValueError:
    return ValueError(f"load_weights: '{path}' is not a weights file of this course ({reason}); "
                      f"write one with torch_mtl.save_weights")


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    """The state dict in ``path``, read with ``weights_only=True``, after verifying its checksum.

    Every failure (not a zip/torch file, empty, truncated, pickled objects, no or a wrong
    checksum) is one ValueError that names the file.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = next((line for line in str(err).splitlines() if line.strip()), type(err).__name__)
        raise _not_a_weights_file(path, f"it holds more than tensors, or is damaged, and is refused by "
                                        f"torch.load(weights_only=True): {first}") from err
    except Exception as err:  # noqa: BLE001 - empty, truncated, not a zip: reader errors of any type
        detail = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        raise _not_a_weights_file(path, f"torch.load cannot read it: {detail}") from err
    if not isinstance(state, Mapping) or not state \
            or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise _not_a_weights_file(path, "it does not hold a state dict of tensors")
    entry = (getattr(state, "_metadata", None) or {}).get(CHECKSUM_KEY)
    stored = entry.get("sha256") if isinstance(entry, Mapping) else None
    if not isinstance(stored, str):
        raise ValueError(f"load_weights: '{path}' has no checksum: it was written by an older version of "
                         f"mtl_lessons (or by torch.save directly), or is damaged; re-save it with "
                         f"torch_mtl.save_weights(model, path, overwrite=True)")
    try:
        actual = weights_checksum(_state_arrays(state))
    except Exception as err:  # noqa: BLE001 - e.g. a damaged dtype NumPy cannot hold
        raise _not_a_weights_file(path, f"its tensors cannot be read: {type(err).__name__}: {err}") from err
    if actual != stored:
        raise ValueError(f"load_weights: '{path}' is damaged: its tensors do not match the SHA-256 checksum "
                         f"saved with them, so it would load different weights; re-save it or restore a good copy")
    return dict(state)


def load_weights(model: MultiTaskNet, path: str | Path, *, layers: str | Iterable[str] | None = None) -> None:
    """Load weights written by :func:`save_weights` into ``model``, after checking they fit.

    The file is read with ``torch.load(path, weights_only=True)``: tensors and plain containers
    only, never arbitrary pickled objects. Its checksum is verified (a damaged file is refused, never
    loaded as other weights), then its entries are compared with the model under the
    framework-neutral names of :func:`export_weights` (``features.<feature>``, ``bottom.<i>``,
    ``towers.<task>.<i>``, ``heads.<task>``; kernels in (in, out) layout) before anything is
    assigned; nothing is skipped, truncated or padded.

    Args:
        model: the model to fill.
        path: a file written by :func:`save_weights`.
        layers: layer-name prefixes to load, e.g. ``("features", "bottom")`` to reuse a pretrained
            feature extractor in a model with other tasks; the other layers keep their values.
            None: every layer (the file and the model must have the same layers).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a weights file of this course (empty, truncated, not written
            by ``torch.save``, pickled objects other than tensors); it has no checksum (written by
            an older version: re-save it) or its checksum does not match (damaged); it is not a
            state dict of a model of this module; a prefix in ``layers`` matches nothing in the
            file; the (selected) layers of the file and the model differ; or a layer's shape
            differs (the message names the layer and both shapes).
    """
    model = _check_model(model)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_weights: no weights file at '{path}'")
    state = _read_state(path)
    merged = export_weights(model)
    merged.update(pick_weights(merged, _neutral_state(state, path), path, layers))
    import_weights(model, merged)


# A state-dict key of a MultiTaskNet: an embedding table, a Linear in the bottom or a tower
# (at its position in the nn.Sequential), or a head.
_STATE_KEY = re.compile(r"features\.embeddings\.(?P<feature>[^.]+)\.weight"
                        r"|(?:(?P<block>bottom|towers\.[^.]+)\.(?P<index>\d+)|(?P<head>heads\.[^.]+))"
                        r"\.(?P<part>weight|bias)")


def _neutral_state(state: object, path: Path) -> dict[str, np.ndarray]:
    """A MultiTaskNet state dict under :func:`export_weights`' names, kernels transposed to (in, out)."""
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"load_weights: '{path}' is not a state dict of tensors (write it with save_weights)")
    matches = {key: _STATE_KEY.fullmatch(str(key)) for key in state}
    unknown = [key for key, match in matches.items() if match is None]
    if unknown:
        raise ValueError(f"load_weights: '{path}' has entries no model of torch_mtl has: {unknown}")
    # The Linear layers of a block sit at positions 0, 2, 4, ... (0, 3, 6, ... with dropout): number them 0, 1, 2, ...
    positions: dict[str, set[int]] = {}
    for match in matches.values():
        if match["block"]:
            positions.setdefault(match["block"], set()).add(int(match["index"]))
    rank = {block: {pos: i for i, pos in enumerate(sorted(found))} for block, found in positions.items()}
    weights = {}
    for key, match in matches.items():
        tensor = state[key].detach().cpu()
        value = (tensor.float() if tensor.is_floating_point() else tensor).numpy()
        if match["feature"]:
            weights[f"features.{match['feature']}"] = value
            continue
        layer = f"{match['block']}.{rank[match['block']][int(match['index'])]}" if match["block"] else match["head"]
        if match["part"] == "weight":
            weights[f"{layer}.kernel"] = value.T
        else:
            weights[f"{layer}.bias"] = value
    return weights
