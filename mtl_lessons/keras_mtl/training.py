"""Tensors, masked per-task losses, prediction and the training loop (``train``) in Keras."""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from keras import ops

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
from .models import MultiTaskNet, _check_model, _named_layers

ADAM_EPSILON = 1e-7
"""Adam's ε (Keras' default)."""


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
        out = outputs[task]  # float32, or float64 in a model built under keras.config.set_floatx("float64")
        m, y = ops.cast(masks[task], out.dtype), ops.cast(y, out.dtype)
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
            ``metrics.task_metrics``; the direction comes from ``metrics.HIGHER_IS_BETTER``;
            ``("all", metric)``: the mean of ``metric`` over the trained tasks.
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
                             lambda tasks: predict(model, valid_inputs, tasks=tasks), valid_inputs):
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
        for variable in (layer.embeddings,) if isinstance(layer, keras.layers.Embedding) else (
                v for v in (layer.kernel, layer.bias) if v is not None):
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
