"""Lesson 05's exercise checks: every correct form passes, common slips get their hint, and no
input (array, string, None, a tensor that requires grad, ...) makes a check raise or warn."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from mtl_lessons import exercises, weighting

UNCERTAINTY = weighting.uncertainty_objective(**exercises.LESSON05_UNCERTAINTY)
DWA = weighting.dwa_weights(exercises.LESSON05_LOSS_HISTORY, 2.0)
TASKS = list(exercises.LESSON05_LOSS_HISTORY[-1])
CHECKS = (exercises.lesson05_uncertainty_objective, exercises.lesson05_dwa_weights)


def _run(check, answer, capsys) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would be an error, too
        assert check(answer) is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out  # one feedback line
    return out


def test_hand_values():
    # Exercise 1: purchase e^{2}·0.05 − 1, rating ½·e^{-0.5}·0.8 + 0.25
    assert math.isclose(UNCERTAINTY, math.exp(2) * 0.05 - 1 + 0.5 * math.exp(-0.5) * 0.8 + 0.25)
    r = np.array([0.045 / 0.060, 0.90 / 0.95])
    assert np.allclose([DWA[t] for t in TASKS], 2 * np.exp(r / 2) / np.exp(r / 2).sum())


def _uncertainty_forms():
    torch = pytest.importorskip("torch")
    return [UNCERTAINTY, float(UNCERTAINTY), np.float32(UNCERTAINTY), np.array(UNCERTAINTY), np.array([UNCERTAINTY]),
            [UNCERTAINTY], (UNCERTAINTY,), torch.tensor(UNCERTAINTY), torch.tensor([UNCERTAINTY]),
            torch.tensor(UNCERTAINTY, dtype=torch.float64, requires_grad=True),
            torch.tensor(UNCERTAINTY, requires_grad=True) * 1.0]


def _dwa_forms():
    torch = pytest.importorskip("torch")
    values = [DWA[t] for t in TASKS]
    return [DWA, dict(reversed(list(DWA.items()))), {t: np.float32(v) for t, v in DWA.items()},
            {t: np.array(v) for t, v in DWA.items()}, {t: torch.tensor(v, requires_grad=True) for t, v in DWA.items()},
            {t: torch.tensor([v]) for t, v in DWA.items()}, pd.Series(DWA), values, tuple(values), np.array(values),
            torch.tensor(values, requires_grad=True)]


def test_every_correct_form_passes(capsys):
    for answer in _uncertainty_forms():
        assert "correct ✓" in _run(exercises.lesson05_uncertainty_objective, answer, capsys), repr(answer)
    for answer in _dwa_forms():
        assert "correct ✓" in _run(exercises.lesson05_dwa_weights, answer, capsys), repr(answer)


def test_keras_tensors_pass(capsys):
    pytest.importorskip("tensorflow")
    from mtl_lessons import keras_mtl  # noqa: F401 - Keras environment defaults
    import keras

    assert "correct ✓" in _run(exercises.lesson05_uncertainty_objective, keras.ops.convert_to_tensor(UNCERTAINTY), capsys)
    assert "correct ✓" in _run(exercises.lesson05_uncertainty_objective, keras.Variable(UNCERTAINTY), capsys)
    answer = {t: keras.ops.convert_to_tensor(v) for t, v in DWA.items()}
    assert "correct ✓" in _run(exercises.lesson05_dwa_weights, answer, capsys)


BAD = [..., None, "text", "-0.1379", b"x", 12345.0, 0, True, float("nan"), float("inf"), 1j, ["a", "list"], [1.0, None],
       [[1.0], [2.0, 3.0]], {"a": 1}, {"purchase": "1", "rating": "1"}, {"purchase": None, "rating": 1.0},
       {"purchase": [1.0, 2.0], "rating": 1.0}, np.array([1.0, 2.0, 3.0]), np.array(["a", "b"]), np.zeros((2, 2)),
       np.array([]), pd.DataFrame([DWA]), object(), print, type]


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("answer", BAD, ids=lambda a: type(a).__name__)
def test_no_input_raises_or_passes(check, answer, capsys):
    out = _run(check, answer, capsys)
    assert "correct ✓" not in out


@pytest.mark.parametrize("check", CHECKS)
def test_tensors_that_are_wrong_do_not_raise(check, capsys):
    torch = pytest.importorskip("torch")
    for answer in (torch.zeros(3, requires_grad=True), torch.tensor(0.5, requires_grad=True),
                   {"purchase": torch.zeros(2, requires_grad=True), "rating": torch.tensor(1.0)}):
        assert "correct ✓" not in _run(check, answer, capsys)


def test_not_started(capsys):
    for check in CHECKS:
        assert "not started" in _run(check, ..., capsys)
        assert "not started" in _run(check, None, capsys)


def test_uncertainty_slips_are_named(capsys):
    losses, s = exercises.LESSON05_UNCERTAINTY["losses"], exercises.LESSON05_UNCERTAINTY["log_variances"]
    half_both = sum(0.5 * math.exp(-s[t]) * losses[t] + 0.5 * s[t] for t in losses)
    no_half = sum(math.exp(-s[t]) * losses[t] + 0.5 * s[t] for t in losses)
    full_s = math.exp(2) * 0.05 - 2 + 0.5 * math.exp(-0.5) * 0.8 + 0.5
    sign = math.exp(-2) * 0.05 - 1 + 0.5 * math.exp(0.5) * 0.8 + 0.25
    for wrong, words in ((half_both, "regression task (rating) only"), (no_half, "has a ½"),
                         (full_s, "s/2, not s"), (sign, "not e^{s}")):
        assert words in _run(exercises.lesson05_uncertainty_objective, wrong, capsys)


def test_dwa_slips_are_named(capsys):
    r = np.array([exercises.LESSON05_LOSS_HISTORY[1][t] / exercises.LESSON05_LOSS_HISTORY[0][t] for t in TASKS])
    assert "sum to 1" in _run(exercises.lesson05_dwa_weights, {t: v / 2 for t, v in DWA.items()}, capsys)
    swapped = dict(zip(TASKS, [DWA[t] for t in reversed(TASKS)]))
    assert "swapped" in _run(exercises.lesson05_dwa_weights, swapped, capsys)
    inverse = np.exp((1 / r) / 2)
    assert "other way round" in _run(exercises.lesson05_dwa_weights, dict(zip(TASKS, 2 * inverse / inverse.sum())), capsys)
    no_t = np.exp(r)
    assert "temperature" in _run(exercises.lesson05_dwa_weights, dict(zip(TASKS, 2 * no_t / no_t.sum())), capsys)
    assert "not yet" in _run(exercises.lesson05_dwa_weights, {"purchase": 1.0, "rating": 1.0}, capsys)
    assert "keys" in _run(exercises.lesson05_dwa_weights, {"purchase": 1.0}, capsys)
