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


# --------------------------------------------------------------------------- a notebook, executed twice
TWICE_CELLS = [
    """from mtl_lessons import repro

rng = repro.setup(0, frameworks=("torch", "keras"))
print("numpy draws:", rng.normal(size=3).tolist())""",
    """from mtl_lessons import data

shop = data.simulate_shop(data.ShopConfig(seed=3, n_users=150, n_items=80, n_impressions=6000))
split = data.chronological_split(data.join_features(shop))
encoder = data.FeatureEncoder(shop).fit(split.train)
train, valid = (encoder.transform(part, ("click", "purchase")) for part in (split.train, split.valid))
print(len(split.train), "training rows; clicks:", int(split.train["click"].sum()))""",
    """import hashlib

import numpy as np

from mtl_lessons import keras_mtl, torch_mtl

WALL_CLOCK = ["seconds", "samples_per_second", "valid_seconds"]
for name, F in (("PyTorch", torch_mtl), ("Keras", keras_mtl)):
    model = F.SharedBottomModel(encoder.cardinalities, train.numeric.shape[1], ("click", "purchase"),
                                bottom=(16, 8), dropout=0.2, seed=0)
    history = F.train(model, train, valid, ("click", "purchase"), epochs=3, batch_size=256, seed=0,
                      progress=False)
    print(name, "history (every digit):")
    print(history.drop(columns=[c for c in WALL_CLOCK if c in history]).to_string(float_format="{:.17g}".format))
    weights = F.export_weights(model)
    digest = hashlib.sha256(b"".join(weights[k].tobytes() for k in sorted(weights))).hexdigest()
    print(name, "weights sha256:", digest)
    print(name, "first purchase predictions:", F.predict(model, valid, "purchase")["purchase"][:4].tolist())""",
]


def test_a_notebook_run_twice_by_the_course_runner_gives_identical_outputs(tmp_path):
    """What nbval relies on: a seeded notebook (repro.setup, data, training in both frameworks with
    dropout and shuffling) executed twice in fresh kernels by the course runner prints the same
    outputs, byte for byte (training history at full precision, weight digests, predictions)."""
    import nbformat

    from mtl_lessons import run_notebooks

    source = tmp_path / "notebooks" / "01_twice.ipynb"
    source.parent.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Twice")] + [nbformat.v4.new_code_cell(c) for c in TWICE_CELLS]
    nbformat.write(nb, source)
    build = tmp_path / "build"
    runs = []
    for _ in range(2):  # into the same folder, as `make course` does
        assert run_notebooks.main(["--out", str(build), str(source)]) == 0
        executed = nbformat.read(build / "notebooks" / "01_twice.ipynb", as_version=4)
        runs.append([cell.get("outputs") for cell in executed.cells if cell.cell_type == "code"])
    first, second = runs
    assert all(first), f"every cell prints something: {first}"
    text = "".join(out.get("text", "") for outputs in first for out in outputs)
    assert "PyTorch weights sha256:" in text and "Keras weights sha256:" in text, text
    assert "Warning" not in text and "WARNING" not in text, text
    for index, (a, b) in enumerate(zip(first, second)):
        assert a == b, f"code cell {index} printed different outputs in two runs:\n{a}\n---\n{b}"
