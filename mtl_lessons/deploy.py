"""Run an exported model, whatever wrote it: :func:`load_scorer`.

A **scorer** is the one thing a service needs from a model: a function from a batch of features
to every task's output, with the model's signature alongside. Three exported formats load here,
each with only its own runtime (so a service on ONNX Runtime never imports PyTorch or TensorFlow):

=====================  =========================================  =========================
file                   written by                                 run with
=====================  =========================================  =========================
``*.pt2``              :func:`mtl_lessons.torch_mtl.export.export_program`      ``torch.export.load``
``*.onnx``             :func:`mtl_lessons.torch_mtl.export.export_onnx`         ONNX Runtime (CPU)
a SavedModel folder    :func:`mtl_lessons.keras_mtl.export.export_saved_model`  ``tf.saved_model.load``
=====================  =========================================  =========================

Features are a dict: every categorical feature → int64 ids (n,), ``"numeric"`` → float32 (n, k)
(:func:`feature_arrays` builds it from ``ModelInputs``). Outputs: task → P(label = 1) (n,) for a
binary task, class probabilities (n, C) for a multi-class task, the value (n,) for regression,
as float32 NumPy arrays.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .data.encode import ModelInputs

__all__ = ["Scorer", "load_scorer", "feature_arrays", "METADATA_KEY"]

METADATA_KEY = "mtl_lessons.json"
"""Where an exported file keeps its signature (same value as ``torch_mtl.export.METADATA_KEY``)."""

_NUMERIC = "numeric"


def feature_arrays(inputs: ModelInputs) -> dict[str, np.ndarray]:
    """The features of ``inputs`` as a scorer reads them: name → int64 (n,), ``"numeric"`` → float32 (n, k)."""
    if not isinstance(inputs, ModelInputs):
        raise ValueError(f"inputs must be ModelInputs (FeatureEncoder.transform's output), got {type(inputs).__name__}")
    arrays = {name: np.asarray(ids, dtype=np.int64) for name, ids in inputs.categorical.items()}
    arrays[_NUMERIC] = np.asarray(inputs.numeric, dtype=np.float32)
    return arrays


@dataclass(frozen=True)
class Scorer:
    """An exported model ready to score: ``scorer(features) -> {task: output}``.

    Attributes:
        path: the file or folder it was loaded from.
        runtime: ``"torch.export"``, ``"onnxruntime"`` or ``"tensorflow"``.
        metadata: the signature stored at export (inputs, n_numeric, cardinalities, tasks, kinds,
            n_classes, framework).
    """

    path: Path
    runtime: str
    metadata: dict
    _run: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] = field(repr=False)

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.metadata["tasks"])

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self.metadata["inputs"])

    def __call__(self, features: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Score a batch. Raises ValueError naming the input that is missing, mistyped or out of range."""
        return self._run(self.check(features))

    def check(self, features: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``features`` as the model's arrays (int64 ids in range, float32 finite numbers, one length)."""
        if not isinstance(features, Mapping):
            raise ValueError(f"features must be a dict input name → array, got {type(features).__name__}")
        missing = [name for name in self.inputs if name not in features]
        if missing:
            raise ValueError(f"features lack the model's inputs {missing}; it needs {list(self.inputs)}")
        extra = sorted(set(features) - set(self.inputs))
        if extra:
            raise ValueError(f"features has inputs the model does not read: {extra}; it needs {list(self.inputs)}")
        arrays, n = {}, None
        for name in self.inputs:
            value = np.asarray(features[name])
            if name == _NUMERIC:
                width = self.metadata["n_numeric"]
                if value.ndim != 2 or value.shape[1] != width or not np.issubdtype(value.dtype, np.number):
                    raise ValueError(f"features['numeric'] must be numbers of shape (n, {width}), "
                                     f"got {value.dtype} {value.shape}")
                if not np.isfinite(value).all():
                    raise ValueError("features['numeric'] has NaN or inf")
                value = value.astype(np.float32)
            else:
                size = self.metadata["cardinalities"][name]
                if value.ndim != 1 or not np.issubdtype(value.dtype, np.integer):
                    raise ValueError(f"features[{name!r}] must be integer ids of shape (n,), got {value.dtype} {value.shape}")
                if len(value) and (value.min() < 0 or value.max() >= size):
                    raise ValueError(f"features[{name!r}] has ids outside [0, {size})")
                value = value.astype(np.int64)
            if n is None:
                n = len(value)
            elif len(value) != n:
                raise ValueError(f"features[{name!r}] has {len(value)} rows, {self.inputs[0]!r} has {n}")
            arrays[name] = value
        if n == 0:
            raise ValueError("features has no rows")
        return arrays


def _torch_program(path: Path) -> Scorer:
    import torch

    extra = {METADATA_KEY: ""}
    program = torch.export.load(path, extra_files=extra)
    metadata = json.loads(extra[METADATA_KEY])
    module = program.module()
    names, tasks = metadata["inputs"], metadata["tasks"]

    def run(features: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            outputs = module(*(torch.from_numpy(features[name]) for name in names))
        return {task: out.numpy() for task, out in zip(tasks, outputs)}

    return Scorer(path, "torch.export", metadata, run)


def _onnx(path: Path, threads: int | None) -> Scorer:
    import onnx
    import onnxruntime

    props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    if METADATA_KEY not in props:
        raise ValueError(f"{path} has no {METADATA_KEY} metadata: it was not written by torch_mtl.export_onnx")
    metadata = json.loads(props[METADATA_KEY])
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    if threads is not None:
        options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    tasks = metadata["tasks"]

    def run(features: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(tasks, session.run(tasks, features)))

    return Scorer(path, "onnxruntime", metadata, run)


def _saved_model(path: Path) -> Scorer:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    if not hasattr(loaded, "metadata") or not hasattr(loaded, "serve"):
        raise ValueError(f"{path} is not a SavedModel written by keras_mtl.export_saved_model (no serve/metadata endpoints)")
    metadata = json.loads(loaded.metadata().numpy().decode("utf-8"))

    def run(features: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = loaded.serve({name: tf.constant(array) for name, array in features.items()})
        return {task: outputs[task].numpy() for task in metadata["tasks"]}

    return Scorer(path, "tensorflow", metadata, run)


def load_scorer(path: str | os.PathLike, *, threads: int | None = None) -> Scorer:
    """Load an exported model by its format: ``.pt2``, ``.onnx`` or a SavedModel folder.

    Args:
        path: the exported file or folder.
        threads: ONNX Runtime's intra-op threads (None: its default); ignored by the others.

    Raises:
        FileNotFoundError: nothing at ``path``.
        ValueError: a format this course does not export.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no exported model at {path}")
    if path.is_dir():
        if not (path / "saved_model.pb").exists():
            raise ValueError(f"{path} is a folder without saved_model.pb; expected a SavedModel, a .pt2 or an .onnx file")
        return _saved_model(path)
    if path.suffix == ".pt2":
        return _torch_program(path)
    if path.suffix == ".onnx":
        return _onnx(path, threads)
    raise ValueError(f"path must be a .pt2 file, an .onnx file or a SavedModel folder, got {path.name!r}")
