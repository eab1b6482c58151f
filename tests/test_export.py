"""Export paths of lesson 10: torch.export (.pt2), ONNX, TensorFlow SavedModel, and deploy.load_scorer.

Every exported artefact must give the eager model's outputs (≤ 1e-5) at any batch size, carry its
signature, be written atomically without replacing an existing file unless asked, and run with its
own runtime only.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mtl_lessons import deploy
from mtl_lessons.data import ModelInputs

torch = pytest.importorskip("torch")
from mtl_lessons import torch_mtl  # noqa: E402
from mtl_lessons.torch_mtl import export as torch_export  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CARDINALITIES = {"user_id": 50, "item_id": 40, "category": 10, "device": 3}
N_NUMERIC = 3
N_CLASSES = {"next_category": 10}
TASKS = ("click", "purchase", "next_category", "rating")
TOLERANCE = 1e-5


def make_inputs(n: int, seed: int = 0) -> ModelInputs:
    rng = np.random.default_rng(seed)
    categorical = {name: rng.integers(0, size, n).astype(np.int64) for name, size in CARDINALITIES.items()}
    numeric = rng.normal(size=(n, N_NUMERIC)).astype(np.float32)
    return ModelInputs(categorical, numeric, {}, {})


def torch_model(kind: str = "shared", seed: int = 0):
    if kind == "shared":
        model = torch_mtl.SharedBottomModel(CARDINALITIES, N_NUMERIC, TASKS, N_CLASSES, bottom=(16, 8), tower=(4,), seed=seed)
    elif kind == "mmoe":
        model = torch_mtl.MMoEModel(CARDINALITIES, N_NUMERIC, ("click", "purchase"), n_experts=3, expert=(8,), tower=(4,), seed=seed)
    elif kind == "ple":
        model = torch_mtl.PLEModel(CARDINALITIES, N_NUMERIC, ("click", "purchase"), n_levels=2, expert=(8,), tower=(4,), seed=seed)
    else:
        assert kind == "esmm", kind
        model = torch_mtl.ESMMModel(CARDINALITIES, N_NUMERIC, funnel=("click", "purchase"), tower=(8,), seed=seed)
    # move every weight off its initial value, so a bias left at zero cannot hide a bug
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn(parameter.shape, generator=torch.Generator().manual_seed(seed)))
    return model.eval()


def eager(model, inputs: ModelInputs) -> dict[str, np.ndarray]:
    return torch_mtl.predict(model, inputs)


@pytest.fixture(scope="module")
def train_rows() -> ModelInputs:
    return make_inputs(64)


@pytest.fixture(scope="module")
def exported(tmp_path_factory, train_rows):
    folder = tmp_path_factory.mktemp("exported")
    model = torch_model()
    return model, {
        "pt2": torch_mtl.export_program(model, folder / "model.pt2", train_rows),
        "onnx": torch_mtl.export_onnx(model, folder / "model.onnx", train_rows),
    }


@pytest.mark.parametrize("fmt", ["pt2", "onnx"])
@pytest.mark.parametrize("batch", [1, 3, 200])
def test_torch_exports_equal_the_eager_model_at_any_batch(exported, fmt, batch):
    model, paths = exported
    scorer = deploy.load_scorer(paths[fmt])
    rows = make_inputs(batch, seed=batch)
    served = scorer(deploy.feature_arrays(rows))
    reference = eager(model, rows)
    assert list(served) == list(TASKS)
    for task in TASKS:
        assert served[task].shape == reference[task].shape
        assert np.abs(served[task] - reference[task]).max() <= TOLERANCE, (fmt, task)
    assert served["next_category"].shape == (batch, N_CLASSES["next_category"])
    np.testing.assert_allclose(served["next_category"].sum(axis=1), 1.0, atol=1e-5)
    assert ((served["click"] > 0) & (served["click"] < 1)).all()


def test_serving_module_applies_sigmoid_softmax_and_identity():
    model = torch_model()
    rows = make_inputs(5)
    features = torch_mtl.feature_tensors(rows)
    with torch.no_grad():
        raw = model(features)
        served = torch_mtl.ServingModule(model)(*(features[name] for name in torch_export.input_names(model)))
    by_task = dict(zip(model.tasks, served))
    torch.testing.assert_close(by_task["click"], torch.sigmoid(raw["click"]))
    torch.testing.assert_close(by_task["next_category"], torch.softmax(raw["next_category"], dim=-1))
    torch.testing.assert_close(by_task["rating"], raw["rating"])


@pytest.mark.parametrize("kind", ["mmoe", "ple", "esmm"])
def test_expert_and_funnel_models_export_too(tmp_path, kind, train_rows):
    model = torch_model(kind)
    path = torch_mtl.export_program(model, tmp_path / f"{kind}.pt2", train_rows)
    rows = make_inputs(7, seed=1)
    served = deploy.load_scorer(path)(deploy.feature_arrays(rows))
    reference = eager(model, rows)
    for task in model.tasks:
        assert np.abs(served[task] - reference[task]).max() <= TOLERANCE


def test_metadata_round_trips(exported):
    model, paths = exported
    for path in paths.values():
        scorer = deploy.load_scorer(path)
        assert scorer.metadata == torch_export.serving_metadata(model)
        assert scorer.tasks == TASKS
        assert scorer.inputs == (*CARDINALITIES, "numeric")
        assert scorer.metadata["kinds"] == {"click": "binary", "purchase": "binary",
                                            "next_category": "multiclass", "rating": "regression"}
    assert deploy.load_scorer(paths["pt2"]).runtime == "torch.export"
    assert deploy.load_scorer(paths["onnx"]).runtime == "onnxruntime"


@pytest.mark.parametrize("export", ["export_program", "export_onnx"])
def test_torch_exports_never_replace_a_file_unless_asked(tmp_path, export, train_rows):
    suffix = ".pt2" if export == "export_program" else ".onnx"
    path = tmp_path / f"model{suffix}"
    path.write_bytes(b"not mine")
    write = getattr(torch_mtl, export)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write(torch_model(), path, train_rows)
    assert path.read_bytes() == b"not mine"
    write(torch_model(), path, train_rows, overwrite=True)
    assert deploy.load_scorer(path).tasks == TASKS
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name], "a temporary file was left behind"


@pytest.mark.parametrize("name, problem", [("model.pt", "must end in .pt2"), ("model.onnx", "must end in .pt2")])
def test_export_program_names_a_wrong_suffix(tmp_path, name, problem, train_rows):
    with pytest.raises(ValueError, match=problem):
        torch_mtl.export_program(torch_model(), tmp_path / name, train_rows)


def test_export_onnx_names_a_wrong_suffix(tmp_path, train_rows):
    with pytest.raises(ValueError, match="must end in .onnx"):
        torch_mtl.export_onnx(torch_model(), tmp_path / "model.pt2", train_rows)


def test_export_needs_example_rows_with_every_input(tmp_path, train_rows):
    model = torch_model()
    with pytest.raises(ValueError, match="at least 2 rows"):
        torch_mtl.export_program(model, tmp_path / "m.pt2", make_inputs(1))
    partial = deploy.feature_arrays(train_rows)
    del partial["device"]
    with pytest.raises(ValueError, match="lacks the model's inputs"):
        torch_mtl.export_program(model, tmp_path / "m.pt2", partial)
    with pytest.raises(ValueError, match="example must be ModelInputs"):
        torch_mtl.export_program(model, tmp_path / "m.pt2", [1, 2, 3])
    with pytest.raises(FileNotFoundError):
        torch_mtl.export_program(model, tmp_path / "missing" / "m.pt2", train_rows)
    assert not list(tmp_path.iterdir())


def test_export_leaves_the_model_in_its_mode(tmp_path, train_rows):
    model = torch_model().train()
    torch_mtl.export_program(model, tmp_path / "m.pt2", train_rows)
    assert model.training


# ------------------------------------------------------------------ the scorer's checks
@pytest.fixture(scope="module")
def scorer(exported):
    return deploy.load_scorer(exported[1]["onnx"])


def good_features(n: int = 4) -> dict[str, np.ndarray]:
    return deploy.feature_arrays(make_inputs(n))


@pytest.mark.parametrize("change, message", [
    (lambda f: f.pop("item_id"), r"lack the model's inputs \['item_id'\]"),
    (lambda f: f.update(extra=np.zeros(4, np.int64)), r"does not read: \['extra'\]"),
    (lambda f: f.update(user_id=f["user_id"].astype(np.float32)), r"features\['user_id'\] must be integer ids"),
    (lambda f: f.update(user_id=np.array([0, 1, 2, 50])), r"features\['user_id'\] has ids outside \[0, 50\)"),
    (lambda f: f.update(user_id=np.array([0, 1, 2, -1])), r"outside \[0, 50\)"),
    (lambda f: f.update(device=np.array([0, 1, 2])), r"features\['device'\] has 3 rows, 'user_id' has 4"),
    (lambda f: f.update(numeric=np.zeros((4, 2), np.float32)), r"numbers of shape \(n, 3\)"),
    (lambda f: f.update(numeric=np.full((4, 3), np.nan, np.float32)), "NaN or inf"),
    (lambda f: f.update(numeric=np.full((4, 3), "x")), r"numbers of shape \(n, 3\)"),
])
def test_scorer_names_the_bad_input(scorer, change, message):
    features = good_features()
    change(features)
    with pytest.raises(ValueError, match=message):
        scorer(features)


def test_scorer_refuses_no_rows_and_non_dicts(scorer):
    with pytest.raises(ValueError, match="no rows"):
        scorer({name: array[:0] for name, array in good_features().items()})
    with pytest.raises(ValueError, match="must be a dict"):
        scorer([1, 2])


def test_scorer_accepts_other_integer_and_float_widths(scorer, exported):
    features = good_features()
    narrow = {name: (a.astype(np.int32) if name != "numeric" else a.astype(np.float64)) for name, a in features.items()}
    np.testing.assert_array_equal(scorer(narrow)["click"], scorer(features)["click"])


def test_load_scorer_names_what_it_cannot_load(tmp_path):
    with pytest.raises(FileNotFoundError, match="no exported model"):
        deploy.load_scorer(tmp_path / "absent.pt2")
    (tmp_path / "weights.pt").write_bytes(b"")
    with pytest.raises(ValueError, match=r"\.pt2 file, an \.onnx file or a SavedModel folder"):
        deploy.load_scorer(tmp_path / "weights.pt")
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValueError, match="without saved_model.pb"):
        deploy.load_scorer(tmp_path / "folder")
    with pytest.raises(ValueError, match="must be ModelInputs"):
        deploy.feature_arrays({"user_id": [1]})


def test_onnx_without_metadata_is_refused(tmp_path, exported):
    import onnx

    proto = onnx.load(str(exported[1]["onnx"]))
    del proto.metadata_props[:]
    onnx.save(proto, str(tmp_path / "bare.onnx"))
    with pytest.raises(ValueError, match="no mtl_lessons.json metadata"):
        deploy.load_scorer(tmp_path / "bare.onnx")


# ------------------------------------------------------------------ runtimes stay apart
def modules_after(code: str) -> dict[str, bool]:
    script = textwrap.dedent(code) + textwrap.dedent("""
        import json, sys
        print(json.dumps({name: name in sys.modules for name in ("torch", "tensorflow", "keras", "onnxruntime")}))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_deploy_imports_no_runtime():
    assert modules_after("import mtl_lessons.deploy") == {
        "torch": False, "tensorflow": False, "keras": False, "onnxruntime": False}


def test_an_onnx_scorer_runs_without_torch_or_tensorflow(exported):
    code = f"""
        import numpy as np
        from mtl_lessons import deploy
        scorer = deploy.load_scorer({str(exported[1]['onnx'])!r})
        features = {{name: np.zeros(2, np.int64) for name in scorer.inputs[:-1]}}
        features["numeric"] = np.zeros((2, {N_NUMERIC}), np.float32)
        assert scorer(features)["click"].shape == (2,)
    """
    assert modules_after(code) == {"torch": False, "tensorflow": False, "keras": False, "onnxruntime": True}


def test_torch_export_module_does_not_import_tensorflow():
    assert modules_after("import mtl_lessons.torch_mtl.export")["tensorflow"] is False


# ------------------------------------------------------------------ Keras SavedModel
keras_mtl = pytest.importorskip("mtl_lessons.keras_mtl")


@pytest.fixture(scope="module")
def keras_model():
    model = keras_mtl.SharedBottomModel(CARDINALITIES, N_NUMERIC, TASKS, N_CLASSES, bottom=(16, 8), tower=(4,), seed=0)
    keras_mtl.import_weights(model, torch_mtl.export_weights(torch_model()))
    return model


@pytest.mark.parametrize("batch", [1, 3, 200])
def test_saved_model_equals_the_eager_keras_model_and_the_torch_twin(tmp_path_factory, keras_model, batch):
    path = tmp_path_factory.getbasetemp() / "saved_model"
    if not path.exists():
        keras_mtl.export_saved_model(keras_model, path)
    scorer = deploy.load_scorer(path)
    assert scorer.runtime == "tensorflow" and scorer.tasks == TASKS
    assert scorer.metadata["framework"] == "keras"
    rows = make_inputs(batch, seed=batch)
    served = scorer(deploy.feature_arrays(rows))
    reference = keras_mtl.predict(keras_model, rows)
    twin = eager(torch_model(), rows)
    for task in TASKS:
        assert np.abs(served[task] - reference[task]).max() <= TOLERANCE
        assert np.abs(served[task] - twin[task]).max() <= TOLERANCE


def test_saved_model_folder_is_replaced_only_when_asked(tmp_path, keras_model):
    path = tmp_path / "served"
    path.mkdir()
    (path / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        keras_mtl.export_saved_model(keras_model, path)
    assert (path / "mine.txt").read_text() == "keep"
    keras_mtl.export_saved_model(keras_model, path, overwrite=True)
    assert (path / "saved_model.pb").exists() and not (path / "mine.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["served"], "a temporary folder was left behind"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        keras_mtl.export_saved_model(keras_model, tmp_path / "file", overwrite=True)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        keras_mtl.export_saved_model(keras_model, tmp_path / "no" / "served")
    with pytest.raises(ValueError, match="keras_mtl model"):
        keras_mtl.export_saved_model(torch_model(), tmp_path / "x")


def test_saved_model_metadata_is_json(tmp_path, keras_model):
    import tensorflow as tf

    path = keras_mtl.export_saved_model(keras_model, tmp_path / "sm")
    loaded = tf.saved_model.load(str(path))
    metadata = json.loads(loaded.metadata().numpy().decode())
    assert metadata["inputs"] == [*CARDINALITIES, "numeric"] and metadata["n_numeric"] == N_NUMERIC
