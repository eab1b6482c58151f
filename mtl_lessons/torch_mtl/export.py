"""A trained PyTorch model as a file a service can load: ``torch.export`` (``.pt2``) and ONNX.

Both paths export the same **serving signature** (:class:`ServingModule`): positional inputs, one
per feature, in :func:`input_names` order — every categorical feature as int64 ids (n,), then
``"numeric"`` float32 (n, k) — and one output per task, in ``model.tasks`` order, already turned
into what a service returns: P(label = 1) (n,) for a binary task, class probabilities (n, C) for a
multi-class task, the value (n,) for a regression task. The batch dimension is dynamic (1 … 2¹⁶
rows by default).

* :func:`export_program` writes a ``torch.export`` program (``torch.export.save``), the main path
  of PyTorch ≥ 2.5 deployment (TorchScript is deprecated). It is reloaded with
  :func:`torch.export.load` and run as ``program.module()(*tensors)``; no model class is needed.
* :func:`export_onnx` writes an ONNX graph through ``torch.onnx.export(..., dynamo=True)`` (the
  exporter built on ``torch.export``), which ONNX Runtime runs without PyTorch.

Each file carries the signature as JSON metadata (tasks, their kinds and class counts, input
names and the numeric width), so :func:`mtl_lessons.deploy.load_scorer` can run it without the
training code. Files are written atomically and never over an existing file unless
``overwrite=True``.
"""
from __future__ import annotations

import io
import json
import logging
import os
import warnings
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..atomic import atomic_write
from ..data.encode import ModelInputs
from ..mtl_core import NUMERIC_KEY
from ..mtl_core import serving_metadata as _serving_metadata
from .models import MultiTaskNet, _check_model

__all__ = ["ServingModule", "input_names", "serving_metadata", "export_program", "export_onnx",
           "METADATA_KEY", "MAX_BATCH"]

METADATA_KEY = "mtl_lessons.json"
"""Name of the JSON metadata inside a ``.pt2`` file (an extra file) and an ONNX model (a metadata prop)."""

MAX_BATCH = 65536
"""Largest batch the exported programs accept (the dynamic dimension's upper bound)."""


def input_names(model: MultiTaskNet) -> tuple[str, ...]:
    """The serving signature's inputs, in order: the categorical features, then ``"numeric"``."""
    model = _check_model(model)
    return (*model.features.feature_names, NUMERIC_KEY)


def serving_metadata(model: MultiTaskNet) -> dict:
    """What a loader needs to run an exported model: :func:`mtl_lessons.mtl_core.serving_metadata`
    with ``"framework": "torch"`` (inputs, n_numeric, cardinalities, tasks, kinds, n_classes)."""
    return _serving_metadata(_check_model(model), "torch")


class ServingModule(nn.Module):
    """A model's serving signature: ``forward(*features) -> tuple of per-task outputs``.

    Args:
        model: a trained :class:`MultiTaskNet` (any architecture of the course, ESMM included).

    Input: one tensor per name of :func:`input_names`: int64 (n,) ids, then float32 (n, k).
    Output: a tuple in ``model.tasks`` order: sigmoid of a binary logit (n,), softmax of
    multi-class logits (n, C), a regression value (n,).
    """

    def __init__(self, model: MultiTaskNet):
        super().__init__()
        self.model = _check_model(model)
        self.names = input_names(model)

    def forward(self, *features: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs = self.model(dict(zip(self.names, features)))
        served = []
        for task in self.model.tasks:
            kind = self.model.kinds[task]
            if kind == "binary":
                served.append(torch.sigmoid(outputs[task]))
            elif kind == "multiclass":
                served.append(torch.softmax(outputs[task], dim=-1))
            else:
                served.append(outputs[task])
        return tuple(served)


def _example_tensors(model: MultiTaskNet, example: ModelInputs | Mapping[str, np.ndarray]) -> tuple[torch.Tensor, ...]:
    """Two or more example rows as the serving signature's tensors (exporting traces on them)."""
    names = input_names(model)
    if isinstance(example, ModelInputs):
        example = {**example.categorical, NUMERIC_KEY: example.numeric}
    if not isinstance(example, Mapping):
        raise ValueError(f"example must be ModelInputs or a dict feature name → array, got {type(example).__name__}")
    missing = [name for name in names if name not in example]
    if missing:
        raise ValueError(f"example lacks the model's inputs {missing}; it needs {list(names)}")
    tensors = []
    for name in names:
        array = np.asarray(example[name], dtype=np.float32 if name == NUMERIC_KEY else np.int64)
        if len(array) < 2:
            raise ValueError(f"example must have at least 2 rows (a dynamic batch cannot be traced on 1), "
                             f"got {len(array)} for {name!r}")
        tensors.append(torch.from_numpy(array[:8].copy()))
    if model.n_numeric < 1:
        raise ValueError("the serving signature needs at least one numeric column (n_numeric ≥ 1)")
    return tuple(tensors)


def _exported(model: MultiTaskNet, example) -> torch.export.ExportedProgram:
    serving = ServingModule(model)
    tensors = _example_tensors(model, example)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    was_training = model.training
    model.eval()
    try:
        return torch.export.export(serving, tensors, dynamic_shapes=(tuple({0: batch} for _ in tensors),))
    finally:
        model.train(was_training)


def _check_path(path: str | os.PathLike, suffix: str) -> Path:
    path = Path(path)
    if path.suffix != suffix:
        raise ValueError(f"path must end in {suffix}, got {path.name!r}")
    return path


def export_program(model: MultiTaskNet, path: str | os.PathLike, example: ModelInputs | Mapping[str, np.ndarray],
                   *, overwrite: bool = False) -> Path:
    """Write ``model``'s serving signature as a ``torch.export`` program (``.pt2``).

    Args:
        model: a trained model (exported in eval mode: no dropout).
        path: the file to write; must end in ``.pt2``; its folder must exist.
        example: at least 2 rows of inputs to trace on (``ModelInputs`` or a dict name → array).
        overwrite: replace an existing file.

    Returns:
        ``path``. Reload with ``torch.export.load(path).module()`` or :func:`mtl_lessons.deploy.load_scorer`.
    """
    path = _check_path(path, ".pt2")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
    program = _exported(model, example)
    extra = {METADATA_KEY: json.dumps(serving_metadata(model))}

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as file:  # a file object: torch.export.save wants a name ending in .pt2 otherwise
            torch.export.save(program, file, extra_files=extra)

    return atomic_write(path, write, overwrite=overwrite)


@contextmanager
def _quiet_onnx_exporter():
    """The exporter logs that torchvision's operators are skipped and warns about a pytree
    deprecation inside PyTorch; neither concerns the model, so both are silenced here only."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*LeafSpec.*", category=FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def export_onnx(model: MultiTaskNet, path: str | os.PathLike, example: ModelInputs | Mapping[str, np.ndarray],
                *, overwrite: bool = False) -> Path:
    """Write ``model``'s serving signature as an ONNX model (``.onnx``), via ``torch.export``.

    Inputs and outputs are named (features; tasks), the batch dimension is dynamic, and the
    signature is stored as the metadata prop :data:`METADATA_KEY`. Arguments as in
    :func:`export_program` (``path`` must end in ``.onnx``).
    """
    path = _check_path(path, ".onnx")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
    program = _exported(model, example)
    with _quiet_onnx_exporter():
        onnx_program = torch.onnx.export(program, input_names=list(input_names(model)),
                                         output_names=list(model.tasks), dynamo=True, verbose=False)
    proto = onnx_program.model_proto
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(serving_metadata(model))
    buffer = io.BytesIO(proto.SerializeToString())
    return atomic_write(path, lambda tmp: tmp.write_bytes(buffer.getvalue()), overwrite=overwrite)
