"""Lesson 06 exercise checks: every correct form is accepted, no input ever raises."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from mtl_lessons import data, exercises

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def target() -> data.Shop:
    return data.load_target()


@pytest.fixture(scope="module")
def shoppers(target) -> int:
    return int(data.chronological_split(data.join_features(target)).train["user_id"].nunique())


def correct_forms(value: int) -> list:
    return [value, float(value), np.int64(value), np.float32(value), np.array(value), np.array([value]),
            torch.tensor(value), torch.tensor([float(value)], requires_grad=True), str(value), f" {value:,} ",
            [value]]


WRONG = [..., None, "text", "", b"\xff", 64, 66.0, -65, 12345.0, 1e400, 10 ** 400, float("nan"), float("inf"), True,
         ["a", "list"], [1, 2], (), {"a": 1}, np.arange(3), np.array([]), np.array(["65"]), torch.arange(3),
         torch.tensor(float("nan")), 1 + 2j, object()]


def _run(check, answer, *args, capsys) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a check must not warn either
        assert check(answer, *args) is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("Exercise"), out
    return out


@pytest.mark.parametrize("form", range(len(correct_forms(65))))
def test_head_parameters_accepts_every_correct_form(form, capsys):
    out = _run(exercises.lesson06_head_parameters, correct_forms(65)[form], capsys=capsys)
    assert "correct ✓" in out


@pytest.mark.parametrize("answer", WRONG, ids=lambda a: type(a).__name__)
def test_head_parameters_never_raises_and_never_passes_a_wrong_answer(answer, capsys):
    out = _run(exercises.lesson06_head_parameters, answer, capsys=capsys)
    assert "correct ✓" not in out


def test_head_parameters_follows_the_bottom(capsys):
    exercises.lesson06_head_parameters(33, bottom=(64, 32))
    exercises.lesson06_head_parameters(65, bottom=None)  # a bad argument: feedback, no exception
    out = capsys.readouterr().out
    assert out.count("correct ✓") == 1 and "could not check" in out


def test_not_started_is_named(capsys):
    exercises.lesson06_head_parameters(...)
    exercises.lesson06_target_shoppers(..., None)
    out = capsys.readouterr().out
    assert out.count("not started") == 2


def test_target_shoppers_accepts_every_correct_form(target, shoppers, capsys):
    for answer in correct_forms(shoppers):
        out = _run(exercises.lesson06_target_shoppers, answer, target, capsys=capsys)
        assert "correct ✓" in out, answer


@pytest.mark.parametrize("answer", WRONG, ids=lambda a: type(a).__name__)
def test_target_shoppers_never_raises_and_never_passes_a_wrong_answer(answer, target, capsys):
    out = _run(exercises.lesson06_target_shoppers, answer, target, capsys=capsys)
    assert "correct ✓" not in out


@pytest.mark.parametrize("bad_target", [None, "target", 3, data.load_shop])
def test_target_shoppers_never_raises_on_a_bad_target(bad_target, shoppers, capsys):
    out = _run(exercises.lesson06_target_shoppers, shoppers, bad_target, capsys=capsys)
    assert "could not check" in out


def test_target_shoppers_is_not_the_source_count(target, capsys):
    wrong = int(data.chronological_split(data.join_features(data.load_shop())).train["user_id"].nunique())
    out = _run(exercises.lesson06_target_shoppers, wrong, target, capsys=capsys)
    assert "not yet" in out
