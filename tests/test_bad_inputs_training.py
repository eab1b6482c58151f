"""Issue 11, training side: careless inputs that used to give a silent wrong result now fail clearly.

Each test pins the message the user sees (it must name the problem), in both frameworks where
the input exists in both.
"""
from __future__ import annotations

import importlib
import math

import numpy as np
import pytest

from mtl_contract import rows, small_data
from mtl_lessons import mtl_core as C
from mtl_lessons import weighting as W

FRAMEWORKS = ["torch", "keras"]
TASKS = ("click", "purchase")


def _modules(framework: str):
    pytest.importorskip("torch" if framework == "torch" else "tensorflow")
    prefix = "torch" if framework == "torch" else "keras"
    return (importlib.import_module(f"mtl_lessons.{prefix}_mtl"),
            importlib.import_module(f"mtl_lessons.{prefix}_weighting"))


def _model(F, tasks=TASKS, **kwargs):
    small = small_data()
    kwargs.setdefault("bottom", (8, 4))
    return F.SharedBottomModel(small.encoder.cardinalities, small.n_numeric, tasks,
                               n_classes=small.encoder.n_classes, seed=0, **kwargs)


def _strategy(FW, F, name: str, tasks, model):
    if name == "GradNorm":
        return FW.GradNorm(tasks, F.last_shared_layer(model), alpha=1.5, learning_rate=0.01)
    return getattr(FW, name)(tasks)


# --------------------------------------------------------------------------- a strategy for other tasks
@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("name", ["UncertaintyWeighting", "GradNorm", "DynamicWeightAverage"])
def test_a_strategy_must_be_built_for_exactly_the_trained_tasks(framework, name):
    F, FW = _modules(framework)
    small = small_data()
    part = rows(small.train, slice(0, 300))
    model = _model(F, tasks=("click", "purchase", "rating"))
    start = F.export_weights(model)
    missing = _strategy(FW, F, name, ["click"], model)
    with pytest.raises(ValueError, match=rf"combine={name} was built for tasks \['click'\] but train trains "
                                         rf"\['click', 'purchase'\]: it lacks the trained tasks \['purchase'\] "
                                         rf"\(they would leave the objective\)"):
        F.train(model, part, None, TASKS, monitor=None, combine=missing)
    extra = _strategy(FW, F, name, ("click", "purchase", "rating"), model)
    with pytest.raises(ValueError, match=rf"combine={name} was built for tasks \['click', 'purchase', 'rating'\] "
                                         rf"but train trains \['click', 'purchase'\]: it has tasks \['rating'\] "
                                         rf"that are not trained"):
        F.train(model, part, None, TASKS, monitor=None, combine=extra)
    both = _strategy(FW, F, name, ("click", "rating"), model)
    with pytest.raises(ValueError, match=r"lacks the trained tasks \['purchase'\].*and it has tasks \['rating'\]"):
        F.train(model, part, None, TASKS, monitor=None, combine=both)
    for weight_name, value in F.export_weights(model).items():  # refused before any step
        np.testing.assert_array_equal(value, start[weight_name], err_msg=weight_name)


def test_a_strategy_called_with_a_task_it_was_not_built_for_refuses():
    with pytest.raises(ValueError, match=r"task_losses has tasks \['purchase'\] that GradNorm was not built for "
                                         r"\(they would leave the objective\)"):
        W.check_strategy_call({"click": 1.0, "purchase": 2.0}, None, ("click",), "GradNorm")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_gradnorm_on_another_models_layer_is_refused(framework):
    F, FW = _modules(framework)
    model, other = _model(F), _model(F)
    strategy = FW.GradNorm(TASKS, F.last_shared_layer(other))
    with pytest.raises(ValueError, match="combine=GradNorm measures gradient norms on a layer that is not in this model"):
        F.train(model, rows(small_data().train, slice(0, 300)), None, monitor=None, combine=strategy)


# --------------------------------------------------------------------------- all-zero loss weights
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_all_zero_loss_weights_are_refused(framework):
    F, _ = _modules(framework)
    with pytest.raises(ValueError, match=r"loss_weights are all 0 \(\{'click': 0\.0, 'purchase': 0\.0\}\): the "
                                         r"objective would be 0 and training would change nothing"):
        F.train(_model(F), rows(small_data().train, slice(0, 300)), None, monitor=None,
                loss_weights={"click": 0, "purchase": 0})
    assert C.resolve_loss_weights({"click": 0.0}, TASKS) == {"click": 0.0, "purchase": 1.0}  # one zero is fine


# --------------------------------------------------------------------------- uncertainty weighting's start
@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "0", None])
def test_uncertainty_weighting_refuses_a_non_finite_initial_log_variance(framework, bad):
    _, FW = _modules(framework)
    with pytest.raises(ValueError, match=r"initial_log_variance \(s = log σ²\) must be a finite number, got"):
        FW.UncertaintyWeighting(TASKS, initial_log_variance=bad)
    assert FW.UncertaintyWeighting(TASKS, initial_log_variance=-2).weights()["click"] == pytest.approx(math.exp(2))


# --------------------------------------------------------------------------- GradNorm with sparse labels
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_gradnorm_on_rating_and_dwell_with_small_batches_stays_finite(framework):
    """The issue's case: ("rating", "dwell") with small batches, many without a label."""
    F, FW = _modules(framework)
    tasks = ("rating", "dwell")
    part = rows(small_data().train, slice(0, 2000))
    labelled = np.column_stack([part.masks[t] for t in tasks])
    model = _model(F, tasks=tasks)
    strategy = FW.GradNorm(tasks, F.last_shared_layer(model), alpha=1.5, learning_rate=0.01)
    history = F.train(model, part, None, tasks, epochs=1, batch_size=16, monitor=None, combine=strategy, seed=3)
    order = np.random.default_rng(3).permutation(2000)  # train's batches: the same generator and seed
    present = [labelled[order[s:s + 16]].any(axis=0) for s in range(0, 2000, 16)]
    without = sum(not p.all() for p in present)
    assert without > 10 and any(not p.any() for p in present)  # many lack a task's label, some lack both
    assert strategy.skipped_steps == without
    weights = list(strategy.weights().values())
    assert all(np.isfinite(w) and w > 0 for w in weights) and sum(weights) == pytest.approx(2.0)
    assert weights != [1.0, 1.0]
    assert history.notna().all().all()


# --------------------------------------------------------------------------- a bare string is one task
def test_every_core_tasks_argument_takes_a_bare_string_as_one_task():
    small = small_data()
    inputs = rows(small.valid, slice(0, 20))
    assert C.task_tuple("click") == ("click",) and C.task_tuple(["click", "rating"]) == ("click", "rating")
    assert C.resolve_tasks("click") == ("click",)
    assert C.model_tasks(("click", "purchase"), "purchase") == ("purchase",)
    assert C.resolve_n_classes("next_category", {"next_category": 5}) == {"next_category": 5}
    assert C.check_inputs(inputs, "x", cardinalities=small.encoder.cardinalities, n_numeric=small.n_numeric,
                          tasks="click") == 20
    labels, masks = C.label_matrices(inputs, "click")
    assert labels.shape == masks.shape == (20, 1)
    assert C.resolve_loss_weights({"click": 2.0}, "click") == {"click": 2.0}
    with pytest.raises(ValueError, match=r"loss_weights names tasks that are not trained: \['lick'\]"):
        C.resolve_loss_weights({"lick": 1.0}, "click")  # not a substring test
    assert C.resolve_monitor(("click", "auc"), "click") == ("click", "auc")
    with pytest.raises(ValueError, match="monitor task 'lick' is not among the trained tasks"):
        C.resolve_monitor(("lick", "auc"), "click")
    assert W.uncertainty_scales("rating").tolist() == [0.5]
    assert W.check_strategy_call({"click": 1.0}, None, "click", "X") == [1.0]

    class Strategy:
        tasks = "click"

    C.check_combine_tasks(Strategy(), ("click",))


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_every_framework_tasks_argument_takes_a_bare_string_as_one_task(framework):
    F, FW = _modules(framework)
    small = small_data()
    inputs = rows(small.train, slice(0, 300))
    labels, masks = F.label_tensors(inputs, "purchase")
    assert list(labels) == list(masks) == ["purchase"]
    model = _model(F, tasks="purchase")
    assert model.tasks == ("purchase",)
    assert list(F.predict(model, inputs, "purchase")) == ["purchase"]
    history = F.train(model, inputs, None, "purchase", epochs=1, monitor=None)
    assert [c for c in history.columns if c.startswith("loss_")] == ["loss_purchase"]
    for strategy in (FW.UncertaintyWeighting("purchase"), FW.DynamicWeightAverage("purchase"),
                     FW.GradNorm("purchase", F.last_shared_layer(model))):
        assert strategy.tasks == ("purchase",)
        F.train(model, inputs, None, "purchase", epochs=1, monitor=None, combine=strategy)
