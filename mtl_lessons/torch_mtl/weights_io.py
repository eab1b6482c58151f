"""Weights of a PyTorch model: export / import under framework-neutral names, and checked files
(``save_weights`` / ``load_weights``: ``torch.save``, a SHA-256 checksum, ``weights_only=True``)."""
from __future__ import annotations

import pickle
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..atomic import atomic_write
from ..mtl_core import pick_weights, weights_checksum
from .models import MultiTaskNet, _check_model, _named_layers


# --------------------------------------------------------------------------- weights exchange
def export_weights(model: MultiTaskNet) -> dict[str, np.ndarray]:
    """The model's weights under framework-neutral names, as NumPy arrays.

    Names: ``features.<feature>`` (ids × size), ``bottom.<i>.kernel`` (in × out),
    ``bottom.<i>.bias``, ``towers.<task>.<i>.kernel/bias``, ``heads.<task>.kernel/bias``; the
    expert models add ``experts.…`` and ``gates.<name>.kernel`` (gates have no bias), see
    :mod:`.experts`.
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
            if layer.bias is not None:  # a gate of the expert models has no bias
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
                if layer.bias is not None:
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


# A state-dict key of a MultiTaskNet: an embedding table, a Linear in an MLP block (the bottom, a
# tower, an expert: at its position in the nn.Sequential), or a single Linear (a head, a gate).
_STATE_KEY = re.compile(r"features\.embeddings\.(?P<feature>[^.]+)\.weight"
                        r"|(?:(?P<block>bottom|towers\.[^.]+|experts\.\d+|levels\.\d+\.experts\.[^.]+\.\d+)"
                        r"\.(?P<index>\d+)"
                        r"|(?P<head>heads\.[^.]+|gates\.[^.]+|levels\.\d+\.gates\.[^.]+))"
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
