"""Lesson 02's exercise checks: every correct form passes, nothing raises, whatever the answer."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mtl_lessons import baselines, data, exercises


@pytest.fixture(scope="module")
def shop() -> data.Shop:
    return data.load_shop()


@pytest.fixture(scope="module")
def cardinalities(shop) -> dict[str, int]:
    return data.FeatureEncoder(shop).cardinalities


@pytest.fixture(scope="module")
def expected_auc(shop) -> float:
    split = data.chronological_split(data.join_features(shop))
    return float(roc_auc_score(split.test["add_to_cart"],
                               baselines.popularity_scores(split.train, split.test, "add_to_cart")))


@pytest.fixture(scope="module")
def expected_count(cardinalities) -> int:
    from mtl_lessons import torch_mtl

    model = torch_mtl.SingleTaskModel(cardinalities, len(data.NUMERIC_FEATURES), "purchase", hidden=(),
                                      embedding_dims={"user_id": 1})
    return torch_mtl.parameter_count(model)


def _outcome(capsys) -> str:
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out  # exactly one feedback line
    return out


def _forms(value):
    """The same number in the forms a learner may hand in."""
    import tensorflow as tf  # noqa: F401 - only to build a tensor answer
    import torch

    forms = [value, float(value), np.float32(value), np.float64(value), np.array(value), np.array([value]),
             torch.tensor(float(value), dtype=torch.float64), torch.tensor([float(value)], requires_grad=True),
             tf.constant(float(value), dtype=tf.float64), str(value)]
    if float(value).is_integer():
        forms += [int(value), np.int64(value), f"{int(value):,}", f"{int(value):_}", f" {int(value)} "]
    return forms


def test_every_correct_form_of_the_parameter_count_passes(cardinalities, expected_count, capsys):
    assert expected_count == 12_460
    for answer in _forms(expected_count):
        assert exercises.lesson02_lr_parameters(answer, cardinalities) is None
        assert "correct ✓" in _outcome(capsys), repr(answer)


def test_every_correct_form_of_the_auc_passes(shop, expected_auc, capsys):
    for answer in [*_forms(expected_auc), round(expected_auc, 3), round(expected_auc, 2)]:
        assert exercises.lesson02_popularity_auc(answer, shop) is None
        assert "correct ✓" in _outcome(capsys), repr(answer)


@pytest.mark.parametrize("answer, word", [
    (..., "not started"), (None, "not started"),
    ("not a number", "expected a number"), (b"\xff", "expected a number"), ("", "expected a number"),
    ([1, 2], "expected a number"), (np.array([1.0, 2.0]), "expected a number"), ({"a": 1}, "expected a number"),
    (12345.0, "not yet"), (float("nan"), "not yet"), (float("inf"), "not yet"), (-1, "not yet"), (True, "not yet"),
    (10 ** 400, "could not check"), (np.array([]), "expected a number"), (object(), "expected a number"),
])
@pytest.mark.parametrize("which", ["auc", "count"])
def test_wrong_or_odd_answers_get_one_line_and_never_raise(which, answer, word, shop, cardinalities, capsys):
    if which == "auc":
        assert exercises.lesson02_popularity_auc(answer, shop) is None
    else:
        assert exercises.lesson02_lr_parameters(answer, cardinalities) is None
    out = _outcome(capsys)
    assert word in out and "correct ✓" not in out, out


def test_the_count_is_exact_and_the_auc_has_a_rounding_margin(shop, cardinalities, expected_count,
                                                              expected_auc, capsys):
    exercises.lesson02_lr_parameters(expected_count + 1, cardinalities)
    assert "not yet" in _outcome(capsys)
    exercises.lesson02_popularity_auc(expected_auc + 0.02, shop)
    assert "not yet" in _outcome(capsys)


def test_wrong_context_objects_do_not_raise(capsys):
    exercises.lesson02_popularity_auc(0.68, shop="not a shop")
    assert "could not check" in _outcome(capsys)
    exercises.lesson02_lr_parameters(12460, cardinalities=None)
    assert "could not check" in _outcome(capsys)
