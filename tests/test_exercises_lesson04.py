"""Lesson 04's exercise checks: every correct form passes, common slips are named, nothing raises."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from mtl_lessons import exercises

TOWERS = {t: np.asarray(k, dtype=float) for t, k in exercises.LESSON04_TOWERS.items()}
DIFFERENCE = TOWERS["click"] - TOWERS["purchase"]
PENALTY = exercises.LESSON04_LAMBDA * float((DIFFERENCE ** 2).sum())  # 0.25 · 6 = 1.5
GRADIENT = 2 * exercises.LESSON04_LAMBDA * DIFFERENCE
CHECKS = [exercises.lesson04_coupling_penalty, exercises.lesson04_coupling_gradient]


class Hostile:
    """An object whose every conversion raises."""

    def __float__(self):
        raise RuntimeError("no float")

    def __array__(self, *args, **kwargs):
        raise RuntimeError("no array")

    def __len__(self):
        raise RuntimeError("no len")

    def __eq__(self, other):
        raise RuntimeError("no eq")

    __hash__ = None


ODD_INPUTS = [..., None, "", "text", "1,5", b"bytes", 12345.0, -1, 0, True, 10 ** 400, float("nan"), float("inf"),
              complex(1.5, 2), [], ["a", "list"], [[1, 2], [3]], {"a": 1}, {1.5}, (x for x in range(3)),
              np.arange(5.0), np.zeros((3, 3)), np.array(["a", "b"]), np.array([[np.nan, 0], [0, 0]]),
              Fraction(1, 3), Hostile(), object(), print, np.float32("nan")]


@pytest.mark.filterwarnings("error")  # nor warn
@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("answer", ODD_INPUTS, ids=lambda a: type(a).__name__)
def test_checks_never_raise_and_never_pass_wrong_answers(check, answer, capsys):
    assert check(answer) is None
    out = capsys.readouterr().out
    assert out.strip() and "correct ✓" not in out and out.count("\n") == 1


@pytest.mark.parametrize("check", CHECKS)
def test_not_started(check, capsys):
    check(...)
    assert "not started" in capsys.readouterr().out


@pytest.mark.parametrize("answer", [PENALTY, 1.5, 3 / 2, Fraction(3, 2), "1.5", " 1.5 ", np.float32(1.5), np.float64(1.5),
                                    np.array(1.5), np.array([1.5]), [1.5], (1.5,), 1.5 + 1e-6])
@pytest.mark.filterwarnings("error")
def test_penalty_accepts_every_correct_form(answer, capsys):
    exercises.lesson04_coupling_penalty(answer)
    assert capsys.readouterr().out.startswith("Exercise 1: correct ✓")


def test_penalty_accepts_tensors_that_require_grad(capsys):
    torch = pytest.importorskip("torch")
    click = torch.tensor(TOWERS["click"], requires_grad=True)
    purchase = torch.tensor(TOWERS["purchase"])
    exercises.lesson04_coupling_penalty(exercises.LESSON04_LAMBDA * ((click - purchase) ** 2).sum())
    exercises.lesson04_coupling_penalty([exercises.LESSON04_LAMBDA * ((click - purchase) ** 2).sum()])
    assert capsys.readouterr().out.count("correct ✓") == 2


@pytest.mark.parametrize("answer, word", [(6.0, "multiply by λ"), (0.25 * 6 ** 0.5, "square root"),
                                          (-0.5, "square each difference"), (3.0, "count it once"),
                                          (0.25 * 20, "norm penalty"), (2.0, "not the expected value")])
def test_penalty_names_common_slips(answer, word, capsys):
    exercises.lesson04_coupling_penalty(answer)
    out = capsys.readouterr().out
    assert word in out and "correct" not in out


@pytest.mark.parametrize("answer", [GRADIENT, GRADIENT.tolist(), tuple(map(tuple, GRADIENT.tolist())),
                                    GRADIENT.astype(np.float32), GRADIENT.ravel(), GRADIENT.ravel().tolist(),
                                    [["0.5", "0"], ["-0.5", "-1"]], GRADIENT + 1e-7])
def test_gradient_accepts_every_correct_form(answer, capsys):
    exercises.lesson04_coupling_gradient(answer)
    assert capsys.readouterr().out.startswith("Exercise 2: correct ✓")


def test_gradient_accepts_tensors_and_lists_of_tensors(capsys):
    torch = pytest.importorskip("torch")
    click = torch.tensor(TOWERS["click"], requires_grad=True)
    purchase = torch.tensor(TOWERS["purchase"])
    gradient = 2 * exercises.LESSON04_LAMBDA * (click - purchase)  # requires grad
    exercises.lesson04_coupling_gradient(gradient)
    exercises.lesson04_coupling_gradient([row for row in gradient])
    exercises.lesson04_coupling_gradient([[x for x in row] for row in gradient])
    penalty = exercises.LESSON04_LAMBDA * ((click - purchase) ** 2).sum()
    penalty.backward()
    exercises.lesson04_coupling_gradient(click.grad)
    assert capsys.readouterr().out.count("correct ✓") == 4


def test_gradient_accepts_a_tensorflow_tensor(capsys):
    tf = pytest.importorskip("tensorflow")
    exercises.lesson04_coupling_gradient(tf.constant(GRADIENT))
    exercises.lesson04_coupling_gradient(tf.Variable(GRADIENT))
    assert capsys.readouterr().out.count("correct ✓") == 2


@pytest.mark.parametrize("answer, word", [(-GRADIENT, "sign"), (GRADIENT.T, "transpose"), (GRADIENT / 2, "factor 2"),
                                          (DIFFERENCE, "2λ"), (2 * exercises.LESSON04_LAMBDA * TOWERS["click"], "norm penalty"),
                                          (np.ones((2, 2)), "entry by entry"), (np.ones((3, 2)), "shape")])
def test_gradient_names_common_slips(answer, word, capsys):
    exercises.lesson04_coupling_gradient(answer)
    out = capsys.readouterr().out
    assert word in out and "correct" not in out
