"""Solutions 03, exercise 3, on the seeds the notebook does not run live (about 25 s per seed).

The notebook trains the purchase model alone, with clicks, and with clicks and add-to-carts on seed 0. This test
executes its own cells on seeds 1 and 2: learning clicks too must raise purchase AUC by more than 0.01 on each.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from notebook_cells import cell_sources, torch_namespace

NOTEBOOK = Path(__file__).resolve().parents[1] / "solutions" / "03_hard_parameter_sharing_solutions.ipynb"


@pytest.fixture(scope="module")
def solutions() -> dict:
    """The notebook's set-up and the exercise cell's definitions (without its seed-0 run and display)."""
    namespace = torch_namespace(seed=0)
    exec("shop = data.load_shop()\nsplit = data.chronological_split(data.join_features(shop))\n"
         "encoder = data.FeatureEncoder(shop).fit(split.train)\nn_numeric = len(data.NUMERIC_FEATURES)\n", namespace)
    source = cell_sources(NOTEBOOK)["8378aa50"]
    run_line = "purchase_auc = purchase_auc_by_tasks(seed=0)"
    assert run_line in source, f"cell 8378aa50 no longer runs {run_line!r}"
    exec(compile(source.split(run_line)[0], f"{NOTEBOOK.name}:8378aa50", "exec"), namespace)
    return namespace


def test_the_notebook_runs_seed_0_and_says_where_the_other_seeds_are_checked():
    text = NOTEBOOK.read_text(encoding="utf-8")
    assert "purchase_auc_by_tasks(seed=0)" in text and "check_click_helps(purchase_auc)" in text
    assert text.count("tests/test_solutions03_claims.py") >= 3


@pytest.mark.parametrize("seed", [1, 2])
def test_clicks_help_purchase_on_seed(solutions, seed):
    scores = solutions["purchase_auc_by_tasks"](seed)
    print(scores.round(4).to_string())
    solutions["check_click_helps"](scores)
