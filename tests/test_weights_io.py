"""save_weights / load_weights of both training cores: exact round trips, partial loads for
transfer learning, and clear errors (naming the layer and both shapes) instead of silent loads."""
from __future__ import annotations

import os

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


# --------------------------------------------------------------------------- checksums: no silent damage
def tiny(F, seed=0):
    """The smallest model with every kind of layer (embedding, bottom, head): a small file to damage."""
    return F.SharedBottomModel({"item_id": 3}, 1, ("click",), bottom=(2,), seed=seed)


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch.load warns about a damaged pickle protocol byte
def test_every_single_byte_flip_is_refused_or_loads_identical_weights(F, framework, weights_path):
    """Flip each byte of a weights file in turn: each load either raises a ValueError naming the
    file or gives exactly the saved weights (a byte the reader never uses). Before the checksum,
    28 of 59 sampled flips of a torch file and 10 of 40 of a Keras file loaded other weights."""
    saved = F.export_weights(perturbed(F, tiny(F)))
    source = tiny(F)
    F.import_weights(source, saved)
    good = F.save_weights(source, weights_path).read_bytes()
    damaged = weights_path.with_name("damaged" + SUFFIX[framework])
    damaged.write_bytes(good)
    target = tiny(F, seed=3)
    outcomes = {"refused": 0, "identical": 0}
    with open(damaged, "r+b", buffering=0) as file:  # flip in place: rewriting the file each time is slow
        for i in range(len(good)):
            os.pwrite(file.fileno(), bytes([good[i] ^ 0xFF]), i)
            try:
                F.load_weights(target, damaged)
            except ValueError as error:
                assert str(damaged) in str(error), (i, str(error))
                assert ("damaged" in str(error) or "not a weights file of this course" in str(error)
                        or "checksum" in str(error)), (i, str(error))
                outcomes["refused"] += 1
            else:
                loaded = F.export_weights(target)
                different = [name for name in saved if not np.array_equal(loaded[name], saved[name])]
                assert not different, f"byte {i} flipped: load_weights silently loaded other values in {different}"
                outcomes["identical"] += 1
            os.pwrite(file.fileno(), good[i:i + 1], i)
    assert outcomes["refused"] > len(good) // 2, outcomes  # most bytes matter, and those are refused


def test_a_changed_weight_names_the_damage(F, weights_path):
    """One float changed in place (the flip a bit-rot or a careless edit makes) is refused as damaged."""
    model = perturbed(F, tiny(F))
    good = F.save_weights(model, weights_path).read_bytes()
    bias = np.asarray(F.export_weights(model)["bottom.0.bias"], np.float32).tobytes()
    assert good.count(bias) == 1
    at = good.index(bias)
    weights_path.write_bytes(good[:at] + (np.frombuffer(bias, np.float32) + 1).astype(np.float32).tobytes()
                             + good[at + len(bias):])
    message = load_fails(F, tiny(F, seed=3), weights_path, "is damaged")
    assert f"'{weights_path}' is damaged" in message and "SHA-256 checksum" in message
    assert "re-save it or restore a good copy" in message


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04", b"hello, I am a CSV\n1,2,3\n", b"\x89HDF\r\n\x1a\n"],
                         ids=["empty", "zip-magic-only", "text", "hdf5-magic-only"])
def test_empty_truncated_or_foreign_file_is_not_a_weights_file(F, weights_path, content):
    weights_path.write_bytes(content)
    message = load_fails(F, tiny(F), weights_path, "not a weights file of this course|was not written by")
    assert f"'{weights_path}'" in message


def test_truncated_file_is_not_a_weights_file(F, weights_path):
    good = F.save_weights(perturbed(F, tiny(F)), weights_path).read_bytes()
    for keep in (len(good) // 3, len(good) // 2, len(good) - 1):
        weights_path.write_bytes(good[:keep])
        message = load_fails(F, tiny(F, seed=3), weights_path, "not a weights file of this course|is damaged")
        assert f"'{weights_path}'" in message, (keep, message)


def test_torch_file_without_checksum_asks_to_resave(tmp_path):
    """A file of the previous version (a bare state dict) is refused with the way out."""
    path = tmp_path / "old.pt"
    torch.save(tiny(torch_mtl).state_dict(), path)
    message = load_fails(torch_mtl, tiny(torch_mtl, seed=3), path, "has no checksum")
    assert f"'{path}' has no checksum" in message
    assert "re-save it with torch_mtl.save_weights(model, path, overwrite=True)" in message


def test_keras_file_without_checksum_asks_to_resave(tmp_path):
    """A file of the previous version (same datasets, format v1, no user block) is refused with the way out."""
    import h5py

    path = tmp_path / "old.weights.h5"
    with h5py.File(path, "w") as file:
        file.attrs["format"] = "mtl_lessons.neutral_weights.v1"
        for name, value in keras_mtl.export_weights(tiny(keras_mtl)).items():
            file.create_dataset(name, data=value)
    message = load_fails(keras_mtl, tiny(keras_mtl, seed=3), path, "was not written by keras_mtl.save_weights")
    assert "re-save it with keras_mtl.save_weights(model, path, overwrite=True)" in message


def test_torch_checksum_sits_in_the_metadata_so_load_state_dict_still_works(tmp_path):
    model = perturbed(torch_mtl, tiny(torch_mtl))
    state = torch.load(torch_mtl.save_weights(model, tmp_path / "m.pt"), weights_only=True)
    assert list(state) == list(model.state_dict())
    assert len(state._metadata[torch_mtl.CHECKSUM_KEY]["sha256"]) == 64
    other = tiny(torch_mtl, seed=3)
    other.load_state_dict(state)  # the documented plain-PyTorch way still works
    expected = torch_mtl.export_weights(model)
    assert_same_weights(torch_mtl.export_weights(other), expected, expected)


# --------------------------------------------------------------------------- nothing is lost
def test_save_refuses_to_replace_a_file_without_overwrite(F, weights_path):
    F.save_weights(tiny(F), weights_path)
    first = weights_path.read_bytes()
    with pytest.raises(FileExistsError) as error:
        F.save_weights(tiny(F, seed=3), weights_path)
    assert str(error.value) == f"save_weights: '{weights_path}' already exists; pass overwrite=True to replace it"
    assert weights_path.read_bytes() == first
    other = perturbed(F, tiny(F, seed=3))
    assert F.save_weights(other, weights_path, overwrite=True) == weights_path
    loaded = tiny(F, seed=5)
    F.load_weights(loaded, weights_path)
    assert_same_weights(F.export_weights(loaded), F.export_weights(other), F.export_weights(other))
    assert [p.name for p in weights_path.parent.iterdir()] == [weights_path.name]  # no temporary file left


def test_an_interrupted_save_leaves_the_old_file_intact(F, weights_path, monkeypatch):
    F.save_weights(tiny(F), weights_path)
    first = weights_path.read_bytes()
    import h5py

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted)
    monkeypatch.setattr(h5py.Dataset, "__init__", interrupted)
    monkeypatch.setattr(h5py.Group, "create_dataset", interrupted)
    with pytest.raises(KeyboardInterrupt):
        F.save_weights(perturbed(F, tiny(F, seed=3)), weights_path, overwrite=True)
    assert weights_path.read_bytes() == first
    assert [p.name for p in weights_path.parent.iterdir()] == [weights_path.name]


def test_save_into_a_missing_folder_names_it(F, framework, tmp_path):
    with pytest.raises(FileNotFoundError, match="no_such_folder does not exist"):
        F.save_weights(tiny(F), tmp_path / "no_such_folder" / f"m{SUFFIX[framework]}")
