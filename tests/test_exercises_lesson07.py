"""Lesson 07 exercise checks: every correct form is accepted, common slips get their hint, no input ever raises."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from mtl_lessons import exercises
from mtl_lessons.exercises import lesson07

torch = pytest.importorskip("torch")
torch_mtl = pytest.importorskip("mtl_lessons.torch_mtl")

TASKS = ("synthetic_1", "synthetic_2", "rating")  # three regression tasks (one output each)
PARAMETERS = 14_947  # 4·(100·32 + 32) + 3·100·4 + 3·(32·8 + 8) + 3·(8 + 1), checked against the model below

LOGITS, OUTPUTS = [2.0, 0.0, -1.0], [1.0, 4.0, -2.0]
WEIGHTS = np.exp(LOGITS) / np.exp(LOGITS).sum()
MIXTURE = float(WEIGHTS @ np.array(OUTPUTS))


def _run(check, answer, capsys) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a check must not warn either
        assert check(answer) is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("Exercise"), out
    return out


WRONG = [..., None, "text", "", b"\xff", 10 ** 400, 1e400, float("nan"), float("inf"), -float("inf"), True, False,
         ["a", "list"], [1, 2], [[1]], (), {"a": 1}, {1, 2}, np.arange(4), np.array([]), np.array(["1.2"]),
         np.zeros((2, 2)), np.zeros((30, 30)), torch.arange(3), torch.tensor(float("nan")), 1 + 2j, object(),
         exercises.lesson07_gate]


# -- exercise 1: MMoE's parameter count -------------------------------------------------------------

def test_the_formula_matches_the_model():
    model = torch_mtl.MMoEModel({}, 100, TASKS, n_experts=4, expert=(32,), tower=(8,))
    assert torch_mtl.parameter_count(model) == lesson07._mmoe_parameter_count(**lesson07._MMOE) == PARAMETERS


@pytest.mark.parametrize("d, n, h, t, k", [(10, 2, 5, 3, 2), (7, 8, 16, 8, 3), (100, 1, 4, 2, 1)])
def test_the_formula_matches_the_model_on_other_sizes(d, n, h, t, k):
    model = torch_mtl.MMoEModel({}, d, TASKS[:k], n_experts=n, expert=(h,), tower=(t,))
    assert torch_mtl.parameter_count(model) == lesson07._mmoe_parameter_count(d, n, h, t, k)


def count_forms(value: int) -> list:
    return [value, float(value), np.int64(value), np.float32(value), np.array(value), np.array([value]),
            torch.tensor(value), torch.tensor([float(value)], requires_grad=True), str(value), f" {value:,} ",
            f"{value:_}", [value], (np.int32(value),)]


@pytest.mark.parametrize("form", range(len(count_forms(PARAMETERS))))
def test_mmoe_parameters_accepts_every_correct_form(form, capsys):
    out = _run(exercises.lesson07_mmoe_parameters, count_forms(PARAMETERS)[form], capsys)
    assert "correct ✓" in out


@pytest.mark.parametrize("answer", [*WRONG, PARAMETERS + 1, PARAMETERS - 0.5, str(PARAMETERS + 3), 0, -PARAMETERS],
                         ids=lambda a: type(a).__name__)
def test_mmoe_parameters_never_raises_and_never_passes_a_wrong_answer(answer, capsys):
    out = _run(exercises.lesson07_mmoe_parameters, answer, capsys)
    assert "correct ✓" not in out


@pytest.mark.parametrize("slip, words", [
    ({"gate_bias": True}, "no bias"),
    ({"gates": 1}, "one gate per task"),
    ({"tower_bias": False}, "tower"),
    ({"expert_bias": False}, "expert"),
    ({"heads": False}, "heads"),
])
def test_mmoe_parameters_names_the_slip_without_the_number(slip, words, capsys):
    wrong = lesson07._mmoe_parameter_count(**lesson07._MMOE, **slip)
    assert wrong != PARAMETERS
    out = _run(exercises.lesson07_mmoe_parameters, wrong, capsys)
    assert "not yet" in out and words in out
    assert str(PARAMETERS) not in out and f"{PARAMETERS:,}" not in out


def test_mmoe_parameters_general_hint_names_the_usual_slips(capsys):
    out = _run(exercises.lesson07_mmoe_parameters, 12_345, capsys)
    assert "not yet" in out and "one gate per task" in out and "towers' biases" in out and "gate bias" in out
    assert str(PARAMETERS) not in out


# -- exercise 2: a gate's output -------------------------------------------------------------------

def test_the_expected_mixture_is_the_softmax_weighted_sum():
    assert math.isclose(lesson07._gate_mixture(), MIXTURE, rel_tol=1e-12)
    logits = torch.tensor([LOGITS])
    mixture, weights = torch_mtl.mix(logits, torch.tensor([OUTPUTS]).unsqueeze(-1))
    assert math.isclose(float(mixture), MIXTURE, rel_tol=1e-6) and np.allclose(weights.numpy(), WEIGHTS)


def gate_forms() -> list:
    return [MIXTURE, round(MIXTURE, 3), np.float64(MIXTURE), np.float32(MIXTURE), np.array(MIXTURE),
            np.array([MIXTURE]), np.array([[MIXTURE]]), torch.tensor(MIXTURE), torch.tensor([MIXTURE], requires_grad=True),
            f"{MIXTURE:.3f}", f" {MIXTURE:.4f} ", [MIXTURE], (MIXTURE,), [np.float32(MIXTURE)]]


@pytest.mark.parametrize("form", range(len(gate_forms())))
def test_gate_accepts_every_correct_form(form, capsys):
    out = _run(exercises.lesson07_gate, gate_forms()[form], capsys)
    assert "correct ✓" in out


def test_gate_accepts_a_tensorflow_scalar(capsys):
    tf = pytest.importorskip("tensorflow")
    out = _run(exercises.lesson07_gate, tf.constant(MIXTURE), capsys)
    assert "correct ✓" in out


@pytest.mark.parametrize("answer", [*WRONG, round(MIXTURE, 2), f"{MIXTURE:.1f}", -MIXTURE, 0.0, max(OUTPUTS)],
                         ids=lambda a: type(a).__name__)
def test_gate_never_raises_and_never_passes_a_wrong_answer(answer, capsys):
    out = _run(exercises.lesson07_gate, answer, capsys)
    assert "correct ✓" not in out


@pytest.mark.parametrize("weights", [list(WEIGHTS), tuple(WEIGHTS), WEIGHTS, np.round(WEIGHTS, 3),
                                     torch.softmax(torch.tensor(LOGITS), 0), [f"{w:.3f}" for w in WEIGHTS]],
                         ids=lambda a: type(a).__name__)
def test_gate_names_the_weights(weights, capsys):
    out = _run(exercises.lesson07_gate, weights, capsys)
    assert "not yet" in out and "weights" in out and "mix" in out


def test_gate_names_the_weighted_outputs(capsys):
    out = _run(exercises.lesson07_gate, list(WEIGHTS * np.array(OUTPUTS)), capsys)
    assert "not yet" in out and "sum" in out


@pytest.mark.parametrize("answer", [float(np.mean(OUTPUTS)), "1", np.float32(1.0)])
def test_gate_mean_or_argmax_gets_the_softmax_hint(answer, capsys):
    out = _run(exercises.lesson07_gate, answer, capsys)
    assert "not yet" in out and "softmax-weighted average" in out


def test_gate_other_slips_get_their_hint(capsys):
    unnormalised = float(np.exp(LOGITS) @ np.array(OUTPUTS))
    raw = float(np.array(LOGITS) @ np.array(OUTPUTS))
    assert "divided by their sum" in _run(exercises.lesson07_gate, unnormalised, capsys)
    assert "raw logits" in _run(exercises.lesson07_gate, raw, capsys)
    assert "three decimals" in _run(exercises.lesson07_gate, round(MIXTURE, 2), capsys)
    assert "expected one number" in _run(exercises.lesson07_gate, [1.0, 2.0, 3.0], capsys)


def test_gate_hints_never_give_the_answer(capsys):
    for answer in (0.0, 1.0, 4.0, [1.0, 2.0, 3.0], list(WEIGHTS), "abc", round(MIXTURE, 2)):
        out = _run(exercises.lesson07_gate, answer, capsys)
        assert f"{MIXTURE:.2f}" not in out.replace(repr(round(MIXTURE, 2)), ""), out


def test_not_started_is_named(capsys):
    for check in (exercises.lesson07_mmoe_parameters, exercises.lesson07_gate):
        for answer in (..., None):
            assert "not started" in _run(check, answer, capsys)


@pytest.mark.parametrize("check", [exercises.lesson07_mmoe_parameters, exercises.lesson07_gate])
def test_a_missing_or_extra_argument_never_raises(check, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check()
        check(1, 2)
        check(answer=1.0, extra=True)
    out = capsys.readouterr().out
    assert out.count("\n") == 3 and out.count("could not check") == 3, out


def test_the_checks_are_exported():
    assert {"lesson07_mmoe_parameters", "lesson07_gate"} <= set(exercises.__all__)
