"""Lesson 04's claims on the seeds the notebook does not run live (slow: about 1.5–3 minutes per seed).

The notebook runs its λ sweep (eight PyTorch models, each trained until early stopping ends it) on
seed 0 and asserts its claims with ``check_claims``. This test executes the notebook's own cells —
the penalty helpers, the model settings, the sweep and the claims — and re-runs the same sweep on
seeds 1 and 2, so the experiment and the assertions cannot drift apart from the notebook's.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from notebook_cells import run_cells, torch_namespace

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_soft_parameter_sharing_l2.ipynb"
CELLS = ("834afd6b",        # coupling_penalty / norm_penalty written from the formulas (the toy example)
         "ca953ddc",        # SETTINGS, TOWER and the penalty check against the package
         "l04-sweep-def",   # FIT, GRID, run, sweep_one_seed, chosen
         "l04-claims-def")  # check_claims: every claim of the lesson's prose about the sweep


@pytest.fixture(scope="module")
def lesson() -> dict:
    """The notebook's namespace up to the sweep, built like its first cell but without Keras."""
    namespace = torch_namespace(seed=0)
    data, metrics = namespace["data"], namespace["metrics"]
    shop = data.load_shop()
    split = data.chronological_split(data.join_features(shop))
    encoder = data.FeatureEncoder(shop).fit(split.train)
    tasks = ("click", "purchase")
    train_inputs, valid_inputs, test_inputs = (encoder.transform(part, tasks) for part in (split.train, split.valid, split.test))
    namespace.update(shop=shop, split=split, encoder=encoder, TASKS=tasks, train_inputs=train_inputs,
                     valid_inputs=valid_inputs, test_inputs=test_inputs, n_numeric=train_inputs.numeric.shape[1],
                     ceiling=metrics.oracle_scores(shop, split.test, tasks))
    return run_cells(NOTEBOOK, CELLS, namespace)


def test_the_notebook_runs_seed_0_and_says_where_the_other_seeds_are_checked():
    text = NOTEBOOK.read_text(encoding="utf-8")
    assert "sweep_one_seed(seed=0)" in text and "check_claims(sweep)" in text
    assert "tests/test_lesson04_claims.py" in text


@pytest.mark.parametrize("seed", [1, 2])
def test_lesson04_claims_hold_on_other_seeds(lesson, seed, capsys):
    from mtl_lessons import repro

    repro.setup(seed=seed, frameworks=("torch",))
    table = lesson["sweep_one_seed"](seed)
    with capsys.disabled():
        print(f"\nseed {seed}\n" + table[["best epoch", "epochs run", "valid purchase AUC", "click lift", "purchase lift",
                                            "distance²", "size²"]].round(4).to_string())
    lesson["check_claims"](table)  # raises AssertionError naming the claim that failed
