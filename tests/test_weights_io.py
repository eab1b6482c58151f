"""save_weights / load_weights of both training cores: exact round trips, partial loads for
transfer learning, and clear errors (naming the layer and both shapes) instead of silent loads."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from mtl_contract import small_data  # noqa: E402
from mtl_lessons import keras_mtl, torch_mtl  # noqa: E402

import torch  # noqa: E402,I001

SUFFIX = {"torch": ".pt", "keras": ".weights.h5"}


@pytest.fixture(params=["torch", "keras"])
def framework(request):
    return request.param


@pytest.fixture
def F(framework):
    return torch_mtl if framework == "torch" else keras_mtl


@pytest.fixture
def weights_path(framework, tmp_path):
    return tmp_path / f"pretrained{SUFFIX[framework]}"


def build(F, tasks=("click", "purchase"), *, seed=0, bottom=(16, 8), **kwargs):
    data = small_data()
    return F.SharedBottomModel(data.encoder.cardinalities, data.n_numeric, tasks,
                               n_classes=data.encoder.n_classes, bottom=bottom, seed=seed, **kwargs)


def perturbed(F, model, seed=1):
    """``model`` with every weight moved by N(0, 0.1), so no value is an initial one."""
    rng = np.random.default_rng(seed)
    F.import_weights(model, {k: v + rng.normal(0, 0.1, v.shape).astype(np.float32)
                             for k, v in F.export_weights(model).items()})
    return model


def assert_same_weights(a: dict, b: dict, names) -> None:
    for name in names:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


# --------------------------------------------------------------------------- round trip and partial loads
def test_round_trip_gives_identical_predictions(F, weights_path):
    valid = small_data().valid
    source = perturbed(F, build(F, tower=(4,), dropout=0.3))
    assert F.save_weights(source, str(weights_path)) == weights_path and weights_path.is_file()
    fresh = build(F, tower=(4,), dropout=0.3, seed=7)
    before, expected = F.predict(fresh, valid), F.predict(source, valid)
    assert not np.array_equal(before["click"], expected["click"])
    F.load_weights(fresh, weights_path)
    got = F.predict(fresh, valid)
    assert list(got) == list(expected)
    for task in expected:
        np.testing.assert_array_equal(got[task], expected[task], err_msg=task)


def test_partial_load_reuses_the_feature_extractor_in_another_task_set(F, weights_path):
    source = perturbed(F, build(F, ("click", "purchase")))
    F.save_weights(source, weights_path)
    target = build(F, ("purchase",), seed=3)
    initial = F.export_weights(target)
    F.load_weights(target, weights_path, layers=("features", "bottom"))
    saved, loaded = F.export_weights(source), F.export_weights(target)
    shared = [k for k in loaded if k.startswith(("features.", "bottom."))]
    assert shared and len(shared) == len(loaded) - 2  # all but heads.purchase.kernel/bias
    assert_same_weights(loaded, saved, shared)
    assert_same_weights(loaded, initial, ["heads.purchase.kernel", "heads.purchase.bias"])
    assert not np.array_equal(loaded["heads.purchase.kernel"], saved["heads.purchase.kernel"])


def test_layers_may_be_one_prefix_or_a_single_layer(F, weights_path):
    source = perturbed(F, build(F))
    F.save_weights(source, weights_path)
    target = build(F, ("purchase",), seed=3)
    initial = F.export_weights(target)
    F.load_weights(target, weights_path, layers="bottom.1")
    saved, loaded = F.export_weights(source), F.export_weights(target)
    assert_same_weights(loaded, saved, ["bottom.1.kernel", "bottom.1.bias"])
    assert_same_weights(loaded, initial, [k for k in loaded if not k.startswith("bottom.1.")])


# --------------------------------------------------------------------------- errors, nothing assigned
def load_fails(F, model, path, match, **kwargs) -> str:
    """Assert that load_weights raises a ValueError matching ``match`` and leaves ``model`` as it was."""
    before = F.export_weights(model)
    with pytest.raises(ValueError, match=match) as error:
        F.load_weights(model, path, **kwargs)
    assert_same_weights(F.export_weights(model), before, before)
    return str(error.value)


def test_wrong_shape_names_the_layer_and_both_shapes(F, weights_path):
    F.save_weights(build(F, bottom=(16, 8)), weights_path)
    target = build(F, bottom=(32, 8), seed=3)
    n_in = F.export_weights(target)["bottom.0.kernel"].shape[0]
    message = load_fails(F, target, weights_path, "bottom.0")
    assert (f"layer 'bottom.0' kernel has shape {(n_in, 16)} in '{weights_path}', "
            f"the model needs {(n_in, 32)}") in message
    assert "layer 'bottom.1' kernel has shape (16, 8)" in message and "the model needs (32, 8)" in message
    load_fails(F, target, weights_path, r"layer 'bottom.0' kernel has shape", layers=("features", "bottom"))


def test_other_task_set_without_layers_lists_missing_and_unexpected_layers(F, weights_path):
    F.save_weights(build(F, ("click", "purchase")), weights_path)
    message = load_fails(F, build(F, ("purchase", "rating"), seed=3), weights_path, "does not fit the model")
    assert "the model's layers ['heads.rating'] are not in the file" in message
    assert "the file's layers ['heads.click'] are not in the model" in message
    assert "layers=('features', 'bottom')" in message  # the hint for transfer learning
    # selected layers that only the file has are refused too
    load_fails(F, build(F, ("purchase",), seed=3), weights_path, r"\['heads.click'\] are not in the model",
               layers=("heads",))


def test_layers_argument_is_validated(F, weights_path):
    F.save_weights(build(F), weights_path)
    model = build(F, seed=3)
    message = load_fails(F, model, weights_path, r"layers \['tower', 'bottom.7'\] match nothing",
                         layers=("tower", "bottom", "bottom.7"))
    assert "'features.user_id'" in message and "'heads.click'" in message
    load_fails(F, model, weights_path, "layers must be", layers=())
    load_fails(F, model, weights_path, "layers must be", layers=[1])


def test_missing_file_names_the_path(F, weights_path):
    with pytest.raises(FileNotFoundError, match=str(weights_path)):
        F.load_weights(build(F), weights_path)


# --------------------------------------------------------------------------- framework specifics
def test_torch_file_is_the_state_dict_and_is_read_with_weights_only(tmp_path, monkeypatch):
    model = perturbed(torch_mtl, build(torch_mtl))
    path = torch_mtl.save_weights(model, tmp_path / "m.pt")
    state = torch.load(path, weights_only=True)
    assert list(state) == list(model.state_dict())
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    torch_mtl.load_weights(build(torch_mtl, seed=3), path)
    assert len(calls) == 1 and calls[0].get("weights_only") is True


UNPICKLED = []


def _run_on_unpickling():
    UNPICKLED.append(True)
    return torch.zeros(1)


class _Payload:
    def __reduce__(self):
        return _run_on_unpickling, ()


def test_torch_refuses_a_file_with_pickled_objects(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"bottom.0.weight": _Payload()}, path)
    load_fails(torch_mtl, build(torch_mtl), path, "weights_only=True")
    assert not UNPICKLED


def test_torch_names_layers_whatever_the_dropout(tmp_path):
    """Dropout shifts the Linear layers' positions in nn.Sequential (0, 3 vs 0, 2), not their names."""
    source = perturbed(torch_mtl, build(torch_mtl, tower=(4,), dropout=0.5))
    path = torch_mtl.save_weights(source, tmp_path / "m.pt")
    target = build(torch_mtl, tower=(4,), seed=3)
    torch_mtl.load_weights(target, path)
    saved = torch_mtl.export_weights(source)
    assert_same_weights(torch_mtl.export_weights(target), saved, saved)


def test_keras_requires_the_weights_h5_suffix(tmp_path):
    model = build(keras_mtl)
    for bad in (tmp_path / "m.h5", tmp_path / "m.pt"):
        with pytest.raises(ValueError, match=rf"'\.weights\.h5'.*{bad.name}"):
            keras_mtl.save_weights(model, bad)
        with pytest.raises(ValueError, match=r"'\.weights\.h5'"):
            keras_mtl.load_weights(model, bad)
    assert not list(tmp_path.iterdir())


# Keras' own save_weights converts its variables with np.array(x), which NumPy 2 warns about.
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
def test_keras_refuses_files_in_keras_own_layout(tmp_path):
    model = build(keras_mtl)
    path = tmp_path / "native.weights.h5"
    model.save_weights(path)  # Keras' own layout: heads filed by position, not by task
    load_fails(keras_mtl, build(keras_mtl, seed=3), path, "not written by keras_mtl.save_weights")
