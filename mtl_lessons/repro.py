"""Reproducible, quiet notebooks in one call.

The first code cell of every lesson is::

    from mtl_lessons import repro
    rng = repro.setup(seed=0, frameworks=("torch", "keras"))

:func:`setup` seeds Python's ``random`` and NumPy, silences the start-up chatter and
deprecation noise of the libraries the course uses, and, only for the frameworks it is
asked for, seeds PyTorch and/or Keras/TensorFlow and switches them to deterministic
kernels. It returns a fresh ``numpy.random.Generator`` for the notebook's own sampling.

Neither PyTorch nor TensorFlow is imported unless named in ``frameworks``: a lesson that
uses only one of them does not pay for (or print anything from) the other.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sys
import warnings
from collections.abc import Iterable, Iterator

import numpy as np

FRAMEWORKS: frozenset[str] = frozenset({"torch", "keras"})
"""The values ``frameworks`` may contain."""

MAX_SEED = 2**32 - 1
"""Largest seed every library accepts (NumPy's legacy seeding is 32-bit)."""

QUIET_ENV: dict[str, str] = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # TensorFlow's C++ INFO/WARNING lines on stderr
    "TF_ENABLE_ONEDNN_OPTS": "0",  # the oneDNN banner; also makes float results bit-stable
    "KERAS_BACKEND": "tensorflow",  # the backend the course is written for
}
"""Environment variables that must be set before TensorFlow/Keras is first imported."""

NOISY_MODULES = ("tensorflow", "keras", "torch", "absl", "matplotlib", "pandas")
"""Libraries whose own Deprecation/Future/User warnings are hidden (not the notebook's)."""

NOISY_CATEGORIES: tuple[type[Warning], ...] = (DeprecationWarning, FutureWarning, UserWarning)
"""Warning categories hidden for :data:`NOISY_MODULES`."""


def _check_seed(seed: object) -> int:
    """Return ``seed`` if it is an int in ``0 .. MAX_SEED``, else raise ValueError."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be a non-negative int, got {seed!r} ({type(seed).__name__})")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"seed must be between 0 and {MAX_SEED}, got {seed!r}")
    return int(seed)


def _check_frameworks(frameworks: object) -> frozenset[str]:
    """Return ``frameworks`` as a set if it names only accepted frameworks, else raise ValueError.

    A bare string (``frameworks="torch"``, a common slip for ``("torch",)``) counts as one name.
    """
    accepted = ", ".join(repr(name) for name in sorted(FRAMEWORKS))
    if isinstance(frameworks, str):
        frameworks = (frameworks,)
    if not isinstance(frameworks, Iterable):
        raise ValueError(
            f"frameworks must be a tuple of names from {{{accepted}}}, got {frameworks!r}"
        )
    names = tuple(frameworks)
    unknown = [name for name in names if name not in FRAMEWORKS]
    if unknown:
        raise ValueError(
            f"frameworks may only contain {{{accepted}}}; unknown: "
            + ", ".join(repr(name) for name in unknown)
        )
    return frozenset(names)


def _quiet_warnings_and_logs() -> None:
    """Hide the libraries' own deprecation/future/user warnings and absl/TF Python logging.

    Targeted: a warning attributed to the notebook's code (``__main__``) still shows.
    """
    module_pattern = r"(?:%s)(?:\.|$)" % "|".join(NOISY_MODULES)
    for category in NOISY_CATEGORIES:
        warnings.filterwarnings("ignore", category=category, module=module_pattern)
    for logger in ("absl", "tensorflow", "h5py"):
        logging.getLogger(logger).setLevel(logging.ERROR)


def _setup_torch(seed: int) -> None:
    """Seed PyTorch and make it use deterministic algorithms (thread count left alone)."""
    import torch

    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


@contextlib.contextmanager
def _stderr_fd_silenced() -> Iterator[None]:
    """Send the process's file descriptor 2 to /dev/null for the duration of the block.

    TensorFlow's native code logs at import time, before its log level is read
    ("All log messages before absl::InitializeLog() ...", "Could not find cuda drivers
    ..."), straight to fd 2, which Jupyter shows as red stderr output. Python exceptions
    raised inside the block still propagate normally.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no usable fd 2 (unusual embedding): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _setup_keras(seed: int) -> None:
    """Seed Keras (Python, NumPy, TensorFlow and Keras' global seed generator) and make
    TensorFlow's ops deterministic."""
    if "tensorflow" not in sys.modules:
        with _stderr_fd_silenced():
            import tensorflow  # noqa: F401 - the import itself is what prints
    import keras
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            f"keras was already imported with the {keras.backend.backend()!r} backend; "
            "restart the kernel and call repro.setup(...) before importing keras"
        )
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    tf.get_logger().setLevel(logging.ERROR)


def setup(seed: int = 0, frameworks: tuple[str, ...] = ()) -> np.random.Generator:
    """Seed everything, quiet the libraries, and return ``np.random.default_rng(seed)``.

    Call it once, in a notebook's first code cell, before importing TensorFlow or Keras.
    Calling it again with the same arguments resets every generator to the same state.

    Args:
        seed: the seed for every generator; an int in ``0 .. 2**32 - 1``.
        frameworks: which deep-learning frameworks to import, seed and make deterministic;
            any of ``"torch"`` and ``"keras"`` (Keras runs on TensorFlow). Empty (the
            default) imports neither.

    Returns:
        A new NumPy ``Generator`` seeded with ``seed``.

    Raises:
        ValueError: ``seed`` is not a non-negative int, or ``frameworks`` names something
            other than ``"torch"`` and ``"keras"``. Nothing is changed in that case.
    """
    seed = _check_seed(seed)
    wanted = _check_frameworks(frameworks)

    # Before anything can import TensorFlow: it reads these once, at import time.
    os.environ.update(QUIET_ENV)
    os.environ["PYTHONHASHSEED"] = str(seed)  # for subprocesses (this one's hash is fixed)
    # For CUDA users: deterministic cuBLAS needs a workspace setting (ignored on the CPU).
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

    _quiet_warnings_and_logs()
    random.seed(seed)
    np.random.seed(seed)  # for code (and libraries) that still use the legacy global state

    if "torch" in wanted:
        _setup_torch(seed)
    if "keras" in wanted:
        _setup_keras(seed)
    return np.random.default_rng(seed)
