"""Framework-free helpers of ``save_weights`` / ``load_weights``: neutral layer names, the
checksum of a weights file, and choosing (and checking) the entries of a file to load."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np


# --------------------------------------------------------------------------- loading weights
def layer_of(name: str) -> str:
    """The layer of a framework-neutral weight name: ``bottom.0.kernel`` → ``bottom.0``; ``features.x`` → itself."""
    return name if name.startswith("features.") else name.rsplit(".", 1)[0]


def weights_checksum(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 (hex) of named arrays: for each name in sorted order, its name, dtype, shape and bytes.

    ``save_weights`` of both frameworks stores it with the file and ``load_weights`` recomputes it
    over what it read, so a damaged file (a flipped byte in the data, a name, a dtype or a shape)
    is refused instead of loading different weights. The dtype is hashed as stored (``'<f4'``), so a
    file whose bytes are re-read under another dtype or byte order does not match either.
    """
    import hashlib  # local: this section is the only user
    import json

    digest = hashlib.sha256(b"mtl_lessons.weights_checksum.v1\n")
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        header = json.dumps([str(name), value.dtype.str, list(value.shape)])
        digest.update(header.encode("utf-8") + b"\n")
        digest.update(value.tobytes())  # its length follows from the dtype and shape just hashed
    return digest.hexdigest()


def pick_weights(expected: Mapping[str, np.ndarray], found: Mapping[str, np.ndarray], path: Path,
                  layers: str | Iterable[str] | None) -> dict[str, np.ndarray]:
    """The entries of ``found`` (a file, neutral names) to load into a model whose weights are ``expected``.

    Raises a ValueError naming the layers when ``layers`` or the file does not fit the model.
    """
    prefixes: tuple[str, ...] = ()
    if layers is not None:
        prefixes = (layers,) if isinstance(layers, str) else tuple(layers)
        if not prefixes or not all(isinstance(p, str) and p for p in prefixes):
            raise ValueError(f"layers must be None or layer-name prefixes such as ('features', 'bottom'), "
                             f"got {layers!r}")

    def chosen(name: str) -> bool:
        return not prefixes or any(name == p or name.startswith(p + ".") for p in prefixes)

    unmatched = [p for p in prefixes if not any(name == p or name.startswith(p + ".") for name in found)]
    if unmatched:
        raise ValueError(f"load_weights: layers {unmatched} match nothing in '{path}', "
                         f"which holds the layers {sorted({layer_of(n) for n in found})}")
    wanted, given = {n for n in expected if chosen(n)}, {n for n in found if chosen(n)}
    missing, extra = sorted({layer_of(n) for n in wanted - given}), sorted({layer_of(n) for n in given - wanted})
    if missing or extra:
        hint = "" if prefixes else ("; to load only some layers (e.g. a pretrained feature extractor) "
                                    "pass layers=('features', 'bottom')")
        parts = ([f"the model's layers {missing} are not in the file"] if missing else []) + (
            [f"the file's layers {extra} are not in the model"] if extra else [])
        raise ValueError(f"load_weights: '{path}' does not fit the model: {' and '.join(parts)}{hint}")
    problems = []
    for name in (n for n in expected if n in wanted):
        part = "embedding table" if name.startswith("features.") else name.rsplit(".", 1)[1]
        value = np.asarray(found[name])
        if value.shape != expected[name].shape:
            problems.append(f"layer '{layer_of(name)}' {part} has shape {value.shape} in '{path}', "
                            f"the model needs {expected[name].shape}")
        elif not np.issubdtype(value.dtype, np.floating):
            problems.append(f"layer '{layer_of(name)}' {part} has dtype {value.dtype} in '{path}', "
                            f"the model needs floating point")
    if problems:
        raise ValueError("load_weights: " + "; ".join(problems))
    return {name: np.asarray(found[name]) for name in wanted}
