"""Lesson 11 exercise checks: every correct form is accepted, common slips get their hint, no input ever raises."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from mtl_lessons import exercises
from mtl_lessons.data.shards import rank_shards

# -- the numbers, by hand ---------------------------------------------------------------------------
# Exercise 1: shards 0..7 dealt round robin to 4 processes: process 2 reads 2 and 6; a step sees 4 × 1,024 rows.
SHARDS_OF_2, ROWS_PER_STEP = [2, 6], 4_096
# Exercise 2: (3/1 + 9/9) / 2 = 2.0 (DDP's average of means); 12 / 10 = 1.2 (the global mean).
AVERAGE_OF_MEANS, GLOBAL_MEAN = 2.0, 1.2

WRONG = [..., None, "text", "", b"\xff", 10 ** 400, 1e400, float("nan"), float("inf"), True, False, ["a", "list"],
         [[1]], (), {"a": 1}, np.zeros((2, 2)), 1 + 2j, object(), exercises.lesson11_masked_mean]


def _one_line(capsys) -> str:
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("Exercise"), out
    return out


def _run(check, *answers, capsys) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a check must not warn either
        assert check(*answers) is None
    return _one_line(capsys)


def test_the_data_is_public_and_the_answers_follow_from_it():
    assert {"LESSON11_DATA_PARALLEL", "LESSON11_MASKED", "lesson11_data_parallel", "lesson11_masked_mean",
            "lesson11_float32_drift"} <= set(exercises.__all__)
    spec = exercises.LESSON11_DATA_PARALLEL
    assert rank_shards(spec["train_shards"], spec["rank"], spec["processes"]) == SHARDS_OF_2
    assert spec["processes"] * spec["local_batch"] == ROWS_PER_STEP
    sums, counts = exercises.LESSON11_MASKED["sums"], exercises.LESSON11_MASKED["counts"]
    assert np.mean(np.divide(sums, counts)) == AVERAGE_OF_MEANS and sum(sums) / sum(counts) == GLOBAL_MEAN


@pytest.mark.parametrize("shards", [[2, 6], [6, 2], (2, 6), {2, 6}, range(2, 7, 4), np.array([2, 6]),
                                    np.array([6, 2], dtype=np.int32), [np.int64(2), np.int64(6)]])
@pytest.mark.parametrize("rows", [4096, 4096.0, "4096", "4,096", np.int64(4096), [4096]])
def test_exercise_1_accepts_every_correct_form(shards, rows, capsys):
    assert "correct ✓" in _run(exercises.lesson11_data_parallel, shards, rows, capsys=capsys)


def test_exercise_1_accepts_tensors(capsys):
    import torch

    assert "correct ✓" in _run(exercises.lesson11_data_parallel, torch.tensor([2, 6]), torch.tensor(4096),
                               capsys=capsys)


@pytest.mark.parametrize("shards, hint", [([4, 5], "round robin"), ([2, 3], "every P-th shard"), ([2], "every P-th"),
                                          ([2, 2, 6], "every P-th"), ([1, 5], "counting processes and shards from 0")])
def test_exercise_1_names_the_slip_for_the_shards(shards, hint, capsys):
    out = _run(exercises.lesson11_data_parallel, shards, ROWS_PER_STEP, capsys=capsys)
    assert "not yet" in out and hint in out


def test_exercise_1_names_the_local_batch_slip(capsys):
    out = _run(exercises.lesson11_data_parallel, SHARDS_OF_2, 1024, capsys=capsys)
    assert "1,024 is one process's local batch" in out
    assert "whole number of rows" in _run(exercises.lesson11_data_parallel, SHARDS_OF_2, 4096.4, capsys=capsys)
    out = _run(exercises.lesson11_data_parallel, SHARDS_OF_2, 8192, capsys=capsys)
    assert "not yet" in out and "P × B" in out


@pytest.mark.parametrize("shards", ["26", "2,6", [2.0, 6.0], [True, 6], {2: 1, 6: 1}, np.array([2.0, 6.0])])
def test_exercise_1_refuses_shards_that_are_not_integers(shards, capsys):
    assert "give process 2's shards as a list of ints" in _run(exercises.lesson11_data_parallel, shards,
                                                               ROWS_PER_STEP, capsys=capsys)


@pytest.mark.parametrize("answer", WRONG)
def test_exercise_1_never_raises_and_never_passes_a_wrong_answer(answer, capsys):
    assert "correct ✓" not in _run(exercises.lesson11_data_parallel, answer, answer, capsys=capsys)
    assert "correct ✓" not in _run(exercises.lesson11_data_parallel, SHARDS_OF_2, answer, capsys=capsys)


@pytest.mark.parametrize("average, overall", [(2.0, 1.2), (2, "1.2"), ("4/2", "12/10"), (np.float32(2.0), np.float64(1.2)),
                                              ([2.0], [1.2])])
def test_exercise_2_accepts_every_correct_form(average, overall, capsys):
    assert "correct ✓" in _run(exercises.lesson11_masked_mean, average, overall, capsys=capsys)


@pytest.mark.parametrize("average, overall, says", [
    (1.2, 2.0, "swapped"), (2.0, 1.5, "the average of means is right"), (1.5, 1.2, "the global mean is right"),
    (1.5, 1.5, "neither number matches"), ("x", 1.2, "give two numbers")])
def test_exercise_2_names_the_slip(average, overall, says, capsys):
    out = _run(exercises.lesson11_masked_mean, average, overall, capsys=capsys)
    assert "correct ✓" not in out and says in out


@pytest.mark.parametrize("answer", WRONG)
def test_exercise_2_never_raises_and_never_passes_a_wrong_answer(answer, capsys):
    assert "correct ✓" not in _run(exercises.lesson11_masked_mean, answer, GLOBAL_MEAN, capsys=capsys)
    assert "correct ✓" not in _run(exercises.lesson11_masked_mean, AVERAGE_OF_MEANS, answer, capsys=capsys)


@pytest.mark.parametrize("gap", [0.02, 2e-2, "0.02", np.float32(3e-4), [1e-3], 1e-6])
def test_exercise_3_accepts_a_float32_gap_and_no_blame_on_ddp(gap, capsys):
    assert "correct ✓" in _run(exercises.lesson11_float32_drift, gap, False, capsys=capsys)
    assert "correct ✓" in _run(exercises.lesson11_float32_drift, gap, np.bool_(False), capsys=capsys)


def test_exercise_3_names_the_slips(capsys):
    assert "what the float64 runs give" in _run(exercises.lesson11_float32_drift, 1.6e-15, False, capsys=capsys)
    assert "round differently" in _run(exercises.lesson11_float32_drift, 0.02, True, capsys=capsys)
    assert "give True or False" in _run(exercises.lesson11_float32_drift, 0.02, "no", capsys=capsys)
    assert "a number ≥ 0" in _run(exercises.lesson11_float32_drift, -0.02, False, capsys=capsys)
    assert "larger than the weights themselves" in _run(exercises.lesson11_float32_drift, 1e6, False, capsys=capsys)


@pytest.mark.parametrize("answer", WRONG)
def test_exercise_3_never_raises_and_never_passes_a_wrong_answer(answer, capsys):
    assert "correct ✓" not in _run(exercises.lesson11_float32_drift, answer, False, capsys=capsys)
    if answer is not False and not isinstance(answer, np.ndarray):
        assert "correct ✓" not in _run(exercises.lesson11_float32_drift, 0.02, answer, capsys=capsys)


@pytest.mark.parametrize("check", [exercises.lesson11_data_parallel, exercises.lesson11_masked_mean,
                                   exercises.lesson11_float32_drift])
def test_not_started_and_a_missing_argument_never_raise(check, capsys):
    assert "not started yet" in _run(check, ..., ..., capsys=capsys)
    assert check() is None and check(1) is None and check(1, 2, 3) is None
    out = capsys.readouterr().out
    assert out.count("\n") == 3 and "could not check this answer" in out
