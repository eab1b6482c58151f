"""Lesson 10's claims on the training seeds the notebook does not run live (about 25 s per seed).

The notebook trains its two models (the single-task purchase baseline and the shared-bottom model) on seed 0.
This test executes the notebook's own cells — the data, the models, the tables and the claim checks of
sections 2–5 — on seeds 1 and 2: every claim must hold on each.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from notebook_cells import run_cells, torch_namespace

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "10_evaluation_and_deployment.ipynb"
CELLS = ("l10-data",             # the shop, the split, the encoded rows, the true probabilities
         "l10-def",              # SETTINGS, FIT, MODELS, train_models
         "l10-ranking-def",      # shopper_table, check_shopper_claims
         "l10-disagree-def",     # disagreement_table, check_disagreement_claims
         "l10-calibration-def",  # revenue_at, calibration_table, check_calibration_claims
         "l10-threshold-def",    # threshold_table, check_threshold_claims
         "l10-segments-def",     # segment_table, check_segment_claims
         "l10-bootstrap-def")    # bootstrap_table, check_bootstrap_claims


@pytest.fixture(scope="module")
def lesson() -> dict:
    """The notebook's namespace with its experiment and claim functions, built without Keras."""
    from scipy.special import expit, logit
    from sklearn.metrics import roc_auc_score

    from mtl_lessons import deploy, ranking

    namespace = torch_namespace(seed=0)
    namespace.update(expit=expit, logit=logit, roc_auc_score=roc_auc_score, ranking=ranking, deploy=deploy)
    namespace = run_cells(NOTEBOOK, CELLS, namespace)
    namespace["purchase_labels"] = namespace["test_inputs"].labels["purchase"]
    return namespace


def test_the_notebook_runs_seed_0_and_says_where_the_other_seeds_are_checked():
    text = NOTEBOOK.read_text(encoding="utf-8")
    for call in ("train_models(seed=0)", "check_shopper_claims(shopper_scores)", "check_disagreement_claims(disagreement)",
                 "check_calibration_claims(calibration)",
                 "check_threshold_claims(thresholds)", "check_segment_claims(segments)",
                 "check_bootstrap_claims(bootstrap)"):
        assert call in text, call
    assert "tests/test_lesson10_claims.py" in text


@pytest.mark.parametrize("seed", [1, 2])
def test_claims_hold_on_seed(lesson, seed):
    runs = lesson["train_models"](seed)
    shopper = lesson["shopper_table"](runs)
    disagreement = lesson["disagreement_table"](runs)
    calibration = lesson["calibration_table"](runs)
    thresholds = lesson["threshold_table"](runs)
    segments = lesson["segment_table"](runs, thresholds.loc["chosen on validation", "threshold"])
    bootstrap = lesson["bootstrap_table"](runs)
    for name, table in (("shopper", shopper), ("disagreement", disagreement), ("calibration", calibration), ("thresholds", thresholds),
                        ("segments", segments), ("bootstrap", bootstrap)):
        print(f"seed {seed}, {name}:\n{table.round(4).to_string()}")
    lesson["check_shopper_claims"](shopper)
    lesson["check_disagreement_claims"](disagreement)
    lesson["check_calibration_claims"](calibration)
    lesson["check_threshold_claims"](thresholds)
    lesson["check_segment_claims"](segments)
    lesson["check_bootstrap_claims"](bootstrap)
