"""mtl_lessons.repro.setup: validation, seeding, and importing only what it is asked to.

Anything that imports a framework runs in a subprocess: the test process stays free of
torch and TensorFlow, and of the environment variables setup() sets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mtl_lessons import repro

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, timeout: float = 300) -> dict:
    """Run ``code`` in a fresh interpreter (repo root on sys.path, TF variables unset) and
    return the JSON it prints on its last stdout line."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS", "KERAS_BACKEND")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def restore_environ() -> Iterator[None]:
    """Undo setup()'s changes to os.environ after an in-process test."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_setup_returns_a_generator_seeded_with_seed(restore_environ: None) -> None:
    rng = repro.setup(seed=7)
    assert isinstance(rng, np.random.Generator)
    assert rng.random() == np.random.default_rng(7).random()
    assert np.random.rand() == np.random.RandomState(7).rand()  # legacy global state too
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert os.environ["KERAS_BACKEND"] == "tensorflow"
    assert os.environ["PYTHONHASHSEED"] == "7"


@pytest.mark.parametrize("seed", [-1, 1.5, "0", None, True, 2**32])
def test_bad_seed_raises_value_error_naming_seed(seed: object) -> None:
    with pytest.raises(ValueError, match="seed"):
        repro.setup(seed=seed)  # type: ignore[arg-type]


@pytest.mark.parametrize("frameworks", [("jax",), ("torch", "tensorflow"), ("Torch",), 3])
def test_unknown_framework_raises_value_error_naming_argument_and_accepted(frameworks: object) -> None:
    with pytest.raises(ValueError, match="frameworks") as info:
        repro.setup(0, frameworks=frameworks)  # type: ignore[arg-type]
    assert "'keras'" in str(info.value) and "'torch'" in str(info.value)


def test_setup_without_frameworks_imports_neither() -> None:
    result = run_python(
        """
        import json, sys
        from mtl_lessons import repro
        repro.setup(0)
        print(json.dumps({"torch": "torch" in sys.modules,
                          "tensorflow": "tensorflow" in sys.modules,
                          "keras": "keras" in sys.modules}))
        """
    )
    assert result == {"torch": False, "tensorflow": False, "keras": False}


def test_torch_setup_is_repeatable_and_does_not_import_tensorflow() -> None:
    result = run_python(
        """
        import json, sys
        from mtl_lessons import repro
        repro.setup(3, frameworks=("torch",))
        import torch
        first = torch.rand(3).tolist()
        torch.rand(5)  # move the generator on
        repro.setup(3, frameworks=("torch",))
        second = torch.rand(3).tolist()
        print(json.dumps({"first": first, "second": second,
                          "deterministic": torch.are_deterministic_algorithms_enabled(),
                          "tensorflow": "tensorflow" in sys.modules,
                          "keras": "keras" in sys.modules}))
        """
    )
    assert result["first"] == result["second"]
    assert result["deterministic"] is True
    assert result["tensorflow"] is False and result["keras"] is False


def test_keras_setup_is_repeatable_and_quiet() -> None:
    result = run_python(
        """
        import json, os, sys
        from mtl_lessons import repro
        repro.setup(5, frameworks=("keras",))
        import keras
        uniform = keras.random.uniform((3,)).numpy().tolist()
        layer = keras.layers.Dense(4)
        layer.build((None, 3))
        init = layer.kernel.numpy().ravel().tolist()
        repro.setup(5, frameworks=("keras",))
        uniform2 = keras.random.uniform((3,)).numpy().tolist()
        layer2 = keras.layers.Dense(4)
        layer2.build((None, 3))
        init2 = layer2.kernel.numpy().ravel().tolist()
        print(json.dumps({"uniform": [uniform, uniform2], "init": [init, init2],
                          "backend": keras.backend.backend(),
                          "torch": "torch" in sys.modules}))
        """
    )
    assert result["uniform"][0] == result["uniform"][1]
    assert result["init"][0] == result["init"][1]
    assert result["backend"] == "tensorflow"
    assert result["torch"] is False


def test_keras_import_prints_nothing_on_stderr() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_"))}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-c",
         "from mtl_lessons import repro; repro.setup(0, ('keras', 'torch')); "
         "import keras; keras.layers.Dense(2).build((None, 3))"],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
