"""Tensors, masked per-task losses, prediction and the training loop (``train``) in PyTorch."""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from ..data import ModelInputs, get_task
from ..mtl_core import (
    NUMERIC_KEY,
    EpochLog,
    check_inputs,
    check_positive_int,
    combine_losses,
    label_matrices,
    model_tasks,
    plan_training,
    resolve_learning_rates,
    task_tuple,
)
from .layers import _seeded
from .models import MultiTaskNet, _check_model, _named_layers

ADAM_EPSILON = 1e-7
"""Adam's ε (Keras' default; PyTorch's default is 1e-8)."""


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
            ``metrics.task_metrics``; the direction comes from ``metrics.HIGHER_IS_BETTER``;
            ``("all", metric)``: the mean of ``metric`` over the trained tasks.
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
                                 lambda tasks: predict(model, valid_inputs, tasks=tasks), valid_inputs):
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
                by_rate.setdefault(rates[layer_name], []).extend(p for p in (layer.weight, layer.bias) if p is not None)
        groups += [{"params": params, "weight_decay": weight_decay, "lr": rate} for rate, params in by_rate.items()]
        grouped = {id(p) for group in groups for p in group["params"]}
        assert all(id(p) in grouped for p in model.parameters()), "a parameter outside the named layers"
    return torch.optim.AdamW(groups, lr=learning_rate, eps=ADAM_EPSILON)
