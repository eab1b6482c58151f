"""The framework-free half of the training core: validation, loss combination, early stopping."""
from __future__ import annotations

import math

import numpy as np
import pytest

from mtl_lessons import mtl_core as C
from mtl_lessons.data import ModelInputs


def test_early_stopping_score_like_metric_goes_up():
    stopper = C.EarlyStopping("auc", patience=2)
    improved = [stopper.update(e, s) for e, s in enumerate([0.60, 0.70, 0.65, 0.69], start=1)]
    assert improved == [True, True, False, False]
    assert stopper.best_epoch == 2 and stopper.best_score == 0.70 and stopper.should_stop


def test_early_stopping_loss_like_metric_goes_down():
    stopper = C.EarlyStopping("rmse", patience=2)
    improved = [stopper.update(e, s) for e, s in enumerate([1.0, 0.8, 0.9, 0.7, 0.75], start=1)]
    assert improved == [True, True, False, True, False]
    assert stopper.best_epoch == 4 and stopper.best_score == 0.7 and not stopper.should_stop


def test_early_stopping_ignores_nan_and_patience_none_never_stops():
    stopper = C.EarlyStopping("log_loss", patience=None)
    assert not stopper.update(1, math.nan)
    assert stopper.update(2, 0.5)
    for epoch in range(3, 20):
        stopper.update(epoch, 0.9)
    assert not stopper.should_stop and stopper.best_epoch == 2
    with pytest.raises(ValueError, match="metric"):
        C.EarlyStopping("auroc", patience=1)


def test_combine_losses_is_the_weighted_sum():
    assert C.combine_losses({"click": 0.5, "purchase": 0.2}, {"click": 1.0, "purchase": 3.0}) == pytest.approx(1.1)


def test_loss_weights_default_to_one_and_are_checked():
    assert C.resolve_loss_weights(None, ("click", "purchase")) == {"click": 1.0, "purchase": 1.0}
    assert C.resolve_loss_weights({"purchase": 4}, ("click", "purchase")) == {"click": 1.0, "purchase": 4.0}
    for bad in ({"rating": 1.0}, {"click": -0.1}, {"click": math.nan}, {"click": "1"}):
        with pytest.raises(ValueError, match="loss_weights"):
            C.resolve_loss_weights(bad, ("click", "purchase"))


def test_monitor_must_fit_the_task_kind():
    assert C.resolve_monitor(("dwell", "rmse"), ("dwell",)) == ("dwell", "rmse")
    assert C.resolve_monitor(None, ("click",)) is None
    for bad in (("dwell", "auc"), ("click", "macro_f1"), ("purchase", "auc"), "auc", ("click",)):
        with pytest.raises(ValueError, match="monitor"):
            C.resolve_monitor(bad, ("click", "dwell"))


def test_tasks_are_known_and_distinct():
    assert C.resolve_tasks("click") == ("click",)
    with pytest.raises(ValueError, match="known tasks: click, add_to_cart"):
        C.resolve_tasks(("click", "ctr"))
    with pytest.raises(ValueError, match="more than once"):
        C.resolve_tasks(("click", "click"))
    with pytest.raises(ValueError, match="at least one"):
        C.resolve_tasks(())


def test_embedding_dims_defaults_and_overrides():
    dims = C.embedding_dims({"user_id": 10, "item_id": 5, "hour": 24}, {"hour": 2})
    assert dims == {"user_id": 8, "item_id": 8, "hour": 2}
    with pytest.raises(ValueError, match="embedding_dims"):
        C.embedding_dims({"hour": 24}, {"weekday": 2})
    with pytest.raises(ValueError, match="embedding_dims"):
        C.embedding_dims({"hour": 24}, {"hour": 0})


def _inputs(n=5):
    return ModelInputs({"a": np.arange(n) % 3}, np.zeros((n, 2), np.float32),
                       {"click": np.array([0, 1, 0, 1, 1.0])[:n], "rating": np.array([np.nan, 4, np.nan, 5, 3])[:n]},
                       {"click": np.ones(n, bool), "rating": np.array([False, True, False, True, True])[:n]})


def test_check_inputs_catches_label_problems():
    ok = _inputs()
    assert C.check_inputs(ok, "x", cardinalities={"a": 3}, n_numeric=2, tasks=("click", "rating")) == 5
    bad = _inputs()
    bad.labels["click"] = np.array([0, 2, 0, 1, 1.0])
    with pytest.raises(ValueError, match=r"x\.labels\['click'\] must be 0 or 1"):
        C.check_inputs(bad, "x", cardinalities={"a": 3}, n_numeric=2, tasks=("click",))
    bad = _inputs()
    bad.masks["rating"] = np.ones(5, bool)
    with pytest.raises(ValueError, match=r"x\.labels\['rating'\] has NaN on 2 rows where x\.masks\['rating'\] is True"):
        C.check_inputs(bad, "x", cardinalities={"a": 3}, n_numeric=2, tasks=("rating",))
    bad = _inputs()
    bad.masks["rating"] = np.zeros(5, bool)
    with pytest.raises(ValueError, match="no labelled rows"):
        C.check_inputs(bad, "x", cardinalities={"a": 3}, n_numeric=2, tasks=("rating",))
    with pytest.raises(ValueError, match=r"x\.categorical\['a'\] has ids outside \[0, 2\)"):
        C.check_inputs(ok, "x", cardinalities={"a": 2}, n_numeric=2)
    with pytest.raises(ValueError, match="lacks feature 'b'"):
        C.check_inputs(ok, "x", cardinalities={"a": 3, "b": 2}, n_numeric=2)
    with pytest.raises(ValueError, match="ModelInputs"):
        C.check_inputs({"a": 1}, "x", cardinalities={"a": 3}, n_numeric=2)


def test_label_matrices_replace_missing_labels_by_zero():
    labels, masks = C.label_matrices(_inputs(), ("click", "rating"))
    assert labels.dtype == masks.dtype == np.float32 and labels.shape == (5, 2)
    assert not np.isnan(labels).any()
    np.testing.assert_array_equal(labels[:, 1], [0, 4, 0, 5, 3])
    np.testing.assert_array_equal(masks[:, 1], [0, 1, 0, 1, 1])


def test_embedding_decay_per_feature():
    features = ("user_id", "item_id", "hour")
    assert C.resolve_embedding_decay(None, 0.1, features, 1e-3) == {"user_id": 0.1, "item_id": 0.1, "hour": 0.1}
    assert C.resolve_embedding_decay(2.0, 0.1, features, 1e-3) == {"user_id": 2.0, "item_id": 2.0, "hour": 2.0}
    assert C.resolve_embedding_decay({"item_id": 5}, 0.0, features, 1e-3) == {"user_id": 0.0, "item_id": 5.0, "hour": 0.0}
    with pytest.raises(ValueError, match="embedding_weight_decay names features.*'shop_id'"):
        C.resolve_embedding_decay({"shop_id": 1.0}, 0.0, features, 1e-3)
    with pytest.raises(ValueError, match=r"embedding_weight_decay\['hour'\]"):
        C.resolve_embedding_decay({"hour": -1.0}, 0.0, features, 1e-3)


def test_learning_rates_by_layer_prefix_longest_wins():
    layers = ["features.user_id", "features.item_id", "bottom.0", "bottom.1", "heads.click", "heads.purchase"]
    assert C.resolve_learning_rates(None, layers, 2e-3) == dict.fromkeys(layers, 2e-3)
    rates = C.resolve_learning_rates({"features": 1e-4, "features.item_id": 1e-3, "bottom.1": 5e-4,
                                      "heads.purchase": 1e-2}, layers, 2e-3)
    assert rates == {"features.user_id": 1e-4, "features.item_id": 1e-3, "bottom.0": 2e-3, "bottom.1": 5e-4,
                     "heads.click": 2e-3, "heads.purchase": 1e-2}
    with pytest.raises(ValueError, match=r"'bottom\.2' matches none of the model's layers; its layers are \["):
        C.resolve_learning_rates({"bottom.2": 1e-3}, layers, 2e-3)
    with pytest.raises(ValueError, match="'bott' matches none"):  # a prefix ends at a dot
        C.resolve_learning_rates({"bott": 1e-3}, layers, 2e-3)
    with pytest.raises(ValueError, match=r"layer 'features\.item_id' has step size 0\.1 and decay 30\.0"):
        C.resolve_learning_rates({"features": 0.1}, layers, 2e-3, table_decay={"item_id": 30.0})
