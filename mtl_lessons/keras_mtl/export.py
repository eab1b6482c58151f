"""A trained Keras model as a TensorFlow SavedModel a service can load.

:func:`export_saved_model` writes the same **serving signature** as
:mod:`mtl_lessons.torch_mtl.export`, as the endpoint ``serve`` of a SavedModel (through
``keras.export.ExportArchive``, what ``model.export(format="tf_saved_model")`` uses): a dict of
inputs — every categorical feature as int64 ids (n,), ``"numeric"`` float32 (n, k) — to a dict of
per-task outputs: P(label = 1) (n,) for a binary task, class probabilities (n, C) for a multi-class
task, the value (n,) for a regression task. The batch dimension is dynamic. A second endpoint,
``metadata``, returns the signature as JSON, so :func:`mtl_lessons.deploy.load_scorer` runs the
folder with ``tf.saved_model.load``, without the model's Python class or this package's training code.

A SavedModel is a folder: it is written to a temporary folder beside ``path`` and renamed into
place (atomic on one file system); an existing folder is replaced only with ``overwrite=True``.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import keras
import tensorflow as tf

from ..mtl_core import NUMERIC_KEY
from ..mtl_core import serving_metadata as _serving_metadata
from .models import MultiTaskNet

__all__ = ["input_names", "serving_metadata", "serving_outputs", "export_saved_model"]


def _check_model(model) -> MultiTaskNet:
    if not isinstance(model, MultiTaskNet):
        raise ValueError(f"model must be a keras_mtl model (a MultiTaskNet), got {type(model).__name__}")
    return model


def input_names(model: MultiTaskNet) -> tuple[str, ...]:
    """The serving signature's inputs, in order: the categorical features, then ``"numeric"``."""
    return (*_check_model(model).features.feature_names, NUMERIC_KEY)


def serving_metadata(model: MultiTaskNet) -> dict:
    """As :func:`mtl_lessons.torch_mtl.export.serving_metadata`, with ``"framework": "keras"``."""
    return _serving_metadata(_check_model(model), "keras")


def serving_outputs(model: MultiTaskNet, features) -> dict:
    """The serving signature computed eagerly: task → probability / class probabilities / value."""
    model = _check_model(model)
    outputs = model(features, training=False)
    served = {}
    for task in model.tasks:
        kind = model.kinds[task]
        if kind == "binary":
            served[task] = keras.ops.sigmoid(outputs[task])
        elif kind == "multiclass":
            served[task] = keras.ops.softmax(outputs[task], axis=-1)
        else:
            served[task] = outputs[task]
    return served


def export_saved_model(model: MultiTaskNet, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``model``'s serving signature as a TensorFlow SavedModel folder.

    Args:
        model: a trained :class:`MultiTaskNet` (any architecture of the course).
        path: the folder to create; its parent must exist.
        overwrite: replace an existing folder at ``path``.

    Returns:
        ``path``. Reload with ``tf.saved_model.load(path).serve(features)`` or
        :func:`mtl_lessons.deploy.load_scorer`.
    """
    model = _check_model(model)
    if model.n_numeric < 1:
        raise ValueError("the serving signature needs at least one numeric column (n_numeric ≥ 1)")
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"folder {path.parent} does not exist; create it before writing {path.name}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
    if path.exists() and not path.is_dir():
        raise ValueError(f"{path} is a file; a SavedModel is a folder")
    signature = {name: tf.TensorSpec((None,), tf.int64, name=name) for name in model.features.feature_names}
    signature[NUMERIC_KEY] = tf.TensorSpec((None, model.n_numeric), tf.float32, name=NUMERIC_KEY)
    metadata = json.dumps(serving_metadata(model))

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda features: serving_outputs(model, features), input_signature=[signature])
    archive.add_endpoint("metadata", tf.function(lambda: tf.constant(metadata)), input_signature=[])

    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    old = None
    try:
        archive.write_out(str(staging), verbose=False)
        if path.exists():  # keep the old folder until the new one is in place
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.rmdir(old)
            os.rename(path, old)
        os.rename(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None and not path.exists():
            os.rename(old, path)
            old = None
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return path
