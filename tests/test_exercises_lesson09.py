"""Lesson 09 exercise checks: every correct form is accepted, common slips get their hint, no input ever raises."""
from __future__ import annotations

import math
import warnings
import zlib

import numpy as np
import pytest

from mtl_lessons import exercises

# -- the numbers, by hand ---------------------------------------------------------------------------
# Exercise 1: 有哪些尺码 has 5 characters: 5 1-grams + 4 2-grams = 9; 尺码 → 1 + crc32 mod 4095.
N_NGRAMS, BUCKET = 9, 1 + zlib.crc32("尺码".encode("utf-8")) % 4095
# Exercise 2: scores (2, 0, 1); loss = −log(e² / (e² + e⁰ + e¹)).
LOSS = -(2.0 - math.log(math.exp(2.0) + 1.0 + math.exp(1.0)))
ROUTES = {"find_item": "recommend", "compare_price": "qa", "ask_size": "qa", "ask_material": "qa",
          "ask_shipping": "qa", "return_exchange": "qa", "chitchat": "chat"}

WRONG = [..., None, "text", "", b"\xff", 10 ** 400, 1e400, float("nan"), float("inf"), True, False, ["a", "list"],
         [[1]], (), {"a": 1}, np.zeros((2, 2)), 1 + 2j, object(), exercises.lesson09_routes]


def _run(check, *answers, capsys) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a check must not warn either
        assert check(*answers) is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("Exercise"), out
    return out


def test_the_data_is_public():
    assert {"LESSON09_HASHING", "LESSON09_SELECTION", "lesson09_hashing", "lesson09_selection_loss",
            "lesson09_routes"} <= set(exercises.__all__)


def test_right_answers_are_accepted_in_every_form(capsys):
    for count, bucket in ((N_NGRAMS, BUCKET), (np.int64(N_NGRAMS), float(BUCKET)), ([N_NGRAMS], np.array([BUCKET]))):
        assert "correct ✓" in _run(exercises.lesson09_hashing, count, bucket, capsys=capsys)
    for loss in (LOSS, np.float32(LOSS), str(LOSS)):
        assert "correct ✓" in _run(exercises.lesson09_selection_loss, loss, capsys=capsys)
    assert "correct ✓" in _run(exercises.lesson09_routes, ROUTES, capsys=capsys)


def test_common_slips_get_their_hint(capsys):
    assert "pairs of neighbouring characters" in _run(exercises.lesson09_hashing, 5, BUCKET, capsys=capsys)
    slip = zlib.crc32("尺码".encode("utf-8")) % 4096
    assert "0 is padding" in _run(exercises.lesson09_hashing, N_NGRAMS, slip, capsys=capsys)
    assert "exp(s_j)" in _run(exercises.lesson09_selection_loss, -math.log(2 / 3), capsys=capsys)
    probability = math.exp(2) / (math.exp(2) + 1 + math.exp(1))
    assert "−log of it" in _run(exercises.lesson09_selection_loss, probability, capsys=capsys)
    assert "missing chitchat" in _run(exercises.lesson09_routes, {k: v for k, v in ROUTES.items() if k != "chitchat"},
                                      capsys=capsys)
    assert "find_item" in _run(exercises.lesson09_routes, {**ROUTES, "find_item": "qa"}, capsys=capsys)


@pytest.mark.parametrize("answer", WRONG, ids=range(len(WRONG)))
def test_no_input_raises(answer, capsys):
    _run(exercises.lesson09_hashing, answer, answer, capsys=capsys)
    _run(exercises.lesson09_hashing, N_NGRAMS, answer, capsys=capsys)
    _run(exercises.lesson09_selection_loss, answer, capsys=capsys)
    _run(exercises.lesson09_routes, answer, capsys=capsys)
