"""Weights of a Keras model: export / import under framework-neutral names, and checked files
(``save_weights`` / ``load_weights``: HDF5 in this course's layout with SHA-256 checksums)."""
from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Mapping
from pathlib import Path

import h5py
import keras
import numpy as np

from ..atomic import atomic_write
from ..mtl_core import pick_weights, weights_checksum
from .models import MultiTaskNet, _check_model, _named_layers


# --------------------------------------------------------------------------- weights exchange
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
            if layer.bias is not None:  # a gate of the expert models has no bias
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
            if layer.bias is not None:
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
