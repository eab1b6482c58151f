"""Lesson 03's exercise checks accept every correct form, name common slips and never raise."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mtl_lessons import data, exercises

ODD_INPUTS = [..., None, "text", "", 12345.0, -1, float("nan"), True, ["a", "list"], {"a": 1}, (1, 2),
              np.arange(3), np.array("x"), np.zeros((2, 2)), object(), print, b"bytes"]


@pytest.fixture(scope="module")
def cards() -> dict[str, int]:
    return data.FeatureEncoder(data.load_shop()).cardinalities


def _saved(cards) -> int:
    from mtl_lessons import torch_mtl

    funnel, small = ("click", "add_to_cart", "purchase"), {"embedding_dims": {"user_id": 1}}
    n_numeric = len(data.NUMERIC_FEATURES)
    shared = torch_mtl.SharedBottomModel(cards, n_numeric, funnel, bottom=(128, 64), **small)
    singles = sum(torch_mtl.parameter_count(torch_mtl.SingleTaskModel(cards, n_numeric, t, hidden=(128, 64), **small))
                  for t in funnel)
    return singles - torch_mtl.parameter_count(shared)


@pytest.mark.parametrize("answer", ODD_INPUTS)
def test_checks_never_raise_and_never_pass_odd_inputs(answer, cards, capsys):
    assert exercises.lesson03_parameters_saved(answer, cards) is None
    assert exercises.lesson03_sparse_loss(answer) is None
    out = capsys.readouterr().out
    assert out.count("Exercise") == 2 and "correct ✓" not in out


def test_parameters_saved_accepts_every_numeric_form_and_names_slips(cards, capsys):
    torch = pytest.importorskip("torch")
    saved = _saved(cards)
    for answer in (saved, float(saved), np.int64(saved), np.array(saved), torch.tensor(saved), str(saved)):
        exercises.lesson03_parameters_saved(answer, cards)
    assert capsys.readouterr().out.count("correct ✓") == 6
    exercises.lesson03_parameters_saved(saved // 2, cards)  # one copy of embeddings + bottom
    assert "one copy" in capsys.readouterr().out


def test_parameters_saved_check_does_not_import_a_framework():
    code = ("import sys; from mtl_lessons import data, exercises; "
            "exercises.lesson03_parameters_saved(1, data.FeatureEncoder(data.load_shop()).cardinalities); "
            "exercises.lesson03_sparse_loss('sparse_categorical_crossentropy'); exercises.lesson03_sparse_loss([1]); "
            "assert not {'keras', 'tensorflow', 'torch'} & set(sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


@pytest.mark.parametrize("answer", ["sparse_categorical_crossentropy", " 'sparse_categorical_crossentropy' ",
                                    "SparseCategoricalCrossentropy", "keras.losses.sparse_categorical_crossentropy"])
def test_sparse_loss_accepts_every_name(answer, capsys):
    exercises.lesson03_sparse_loss(answer)
    assert "correct ✓" in capsys.readouterr().out


def test_sparse_loss_accepts_keras_class_instance_and_function_and_rejects_near_misses(capsys):
    keras = pytest.importorskip("keras")
    for answer in (keras.losses.SparseCategoricalCrossentropy, keras.losses.SparseCategoricalCrossentropy(),
                   keras.losses.sparse_categorical_crossentropy):
        exercises.lesson03_sparse_loss(answer)
    assert capsys.readouterr().out.count("correct ✓") == 3
    exercises.lesson03_sparse_loss(keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert "from_logits" in capsys.readouterr().out
    for answer in ("categorical_crossentropy", keras.losses.CategoricalCrossentropy(), keras.losses.categorical_crossentropy):
        exercises.lesson03_sparse_loss(answer)
    out = capsys.readouterr().out
    assert out.count("one-hot") == 3 and "correct ✓" not in out
