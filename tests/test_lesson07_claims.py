"""Lesson 07's claims on the seeds the notebook does not run live (slow: about 1 minute per test).

The notebook runs the MMoE paper's synthetic experiment on data seed 0 and the shop sweep on training
seed 0 at ρ = 0 and ρ = 1. This test executes the notebook's own cells — the models, the experiments and
the claim checks — and re-runs them: the synthetic experiment on seeds 1–5 (then the claims about all six
seeds, ``check_synthetic_summary``), and the shop sweep at ρ = 0, 0.5 and 1 on training seeds 1 and 2
(with the gate and relatedness checks of sections 4 and 5), so the experiments and the assertions cannot
drift apart from the notebook's.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from notebook_cells import run_cells, torch_namespace

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "07_task_relatedness_experts.ipynb"
SYNTHETIC_CELLS = ("l07-mmoe-byhand",      # SYNTHETIC (and the MMoE-by-hand check)
                   "l07-syn-models",       # SYNTHETIC_MODELS, matched sizes
                   "l07-syn-def",          # SYN_FIT, synthetic_runs
                   "l07-syn-claims-def")   # check_synthetic_claims, check_synthetic_summary
SHOP_CELLS = ("l07-shop-def",              # SHOP_TASKS, SETTINGS, FIT, simulate, build, GradientCosine, shop_sweep
              "l07-shop-claims-def",       # check_shop_claims
              "l07-gates-claims-def",      # check_gate_claims
              "l07-gradcos-claims-def")    # check_relatedness_claims
SWEEP = (0.0, 0.5, 1.0)
_synthetic: dict = {}


@pytest.fixture(scope="module")
def lesson() -> dict:
    """The notebook's namespace with its experiment and claim functions, built without Keras."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mtl_lessons import plots

    namespace = torch_namespace(seed=0)
    namespace.update(plt=plt, plots=plots)
    return run_cells(NOTEBOOK, SYNTHETIC_CELLS + SHOP_CELLS, namespace)


def test_the_notebook_runs_seed_0_and_says_where_the_other_seeds_are_checked():
    text = NOTEBOOK.read_text(encoding="utf-8")
    assert "SYNTHETIC_SEEDS = (0,)" in text and "check_synthetic_claims(synthetic)" in text
    assert "shop_sweep(seed=0)" in text and "check_shop_claims(sweep)" in text
    assert text.count("tests/test_lesson07_claims.py") >= 2


def _synthetic_seed(lesson: dict, seed: int):
    if seed not in _synthetic:
        _synthetic[seed] = lesson["synthetic_runs"](seed)
    return _synthetic[seed]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_synthetic_claims_hold_on_seed(lesson, seed):
    table = _synthetic_seed(lesson, seed)
    print(table.round(4).to_string())
    assert (table["epochs run"] < lesson["SYN_FIT"]["epochs"]).all()  # early stopping, not the cap, ended every run
    lesson["check_synthetic_claims"](table)


def test_synthetic_claims_about_six_seeds(lesson):
    import pandas as pd

    table = pd.concat([_synthetic_seed(lesson, seed) for seed in range(6)], ignore_index=True)
    print(table.pivot_table(index="model", columns="p", values="test MSE", aggfunc=["mean", "std", "min", "max"]).round(4))
    lesson["check_synthetic_summary"](table)


@pytest.fixture(scope="module")
def worlds(lesson) -> dict:
    return {rho: lesson["simulate"](rho) for rho in SWEEP}


@pytest.mark.parametrize("seed", [1, 2])
def test_shop_gate_and_relatedness_claims_hold_on_seed(lesson, worlds, seed):
    sweep, models, _ = lesson["shop_sweep"](seed, SWEEP, worlds)
    print(sweep.pivot_table(index="model", columns=["task", "rho"], values="gain").round(4).to_string())
    assert (sweep["epochs run"] < lesson["FIT"]["epochs"]).all() and (sweep["best epoch"] < sweep["epochs run"]).all()
    lesson["check_shop_claims"](sweep)
    namespace = dict(lesson, SWEEP=SWEEP, sweep=sweep, shop_models=models, worlds=worlds)
    run_cells(NOTEBOOK, ("l07-gates", "l07-gates-segments", "l07-gates-claims", "l07-gradcos", "l07-gradcos-claims"),
              namespace)
    print(namespace["relatedness"].round(4).to_string())
