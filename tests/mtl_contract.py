"""The contract both training cores (``torch_mtl`` and ``keras_mtl``) must meet.

Not collected on its own (the name does not start with ``test_``): ``test_torch_mtl.py`` and
``test_keras_mtl.py`` import every test from here with ``from mtl_contract import *`` and
supply the fixtures these tests ask for:

* ``F``: the framework module under test;
* ``loss_gradients(model, inputs, tasks, loss_weights=None) -> dict[str, np.ndarray]``: the
  gradient of ``combine_losses(task_losses(...))`` on ``inputs`` (one batch) for every weight,
  keyed and laid out like ``F.export_weights(model)``;
* ``as_tensor(array)``: a NumPy array as a framework tensor.

The data is a small simulated shop (a few thousand rows), so the whole contract runs in seconds.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy.special import expit, log_softmax

from mtl_lessons import data as D
from mtl_lessons import metrics as M

TASKS = ("click", "add_to_cart", "purchase", "rating", "dwell", "next_category")
SMALL = D.ShopConfig(n_users=200, n_items=100, n_impressions=20_000)


# --------------------------------------------------------------------------- data helpers
@dataclasses.dataclass
class Small:
    encoder: D.FeatureEncoder
    train: D.ModelInputs
    valid: D.ModelInputs

    @property
    def n_numeric(self) -> int:
        return self.train.numeric.shape[1]


_SMALL: list[Small] = []


def small_data() -> Small:
    """Train/valid ModelInputs of a small simulated shop (built once per process)."""
    if not _SMALL:
        shop = D.simulate_shop(SMALL)
        split = D.chronological_split(D.join_features(shop))
        encoder = D.FeatureEncoder(shop).fit(split.train)
        _SMALL.append(Small(encoder, encoder.transform(split.train, TASKS),
                            encoder.transform(split.valid, TASKS)))
    return _SMALL[0]


@pytest.fixture(scope="module")
def small() -> Small:
    return small_data()


def rows(inputs: D.ModelInputs, index) -> D.ModelInputs:
    """A copy of ``inputs`` restricted to ``index`` (slice or integer array)."""
    return D.ModelInputs(
        categorical={k: v[index].copy() for k, v in inputs.categorical.items()},
        numeric=inputs.numeric[index].copy(),
        labels={k: v[index].copy() for k, v in inputs.labels.items()},
        masks={k: v[index].copy() for k, v in inputs.masks.items()},
    )


def shared_model(F, small: Small, tasks=("click", "purchase"), **kwargs):
    kwargs.setdefault("bottom", (32, 16))
    kwargs.setdefault("seed", 0)
    return F.SharedBottomModel(small.encoder.cardinalities, small.n_numeric, tasks,
                               n_classes=small.encoder.n_classes, **kwargs)


def value(scalar) -> float:
    """A framework scalar as a Python float (detached from any graph)."""
    return float(scalar.detach()) if hasattr(scalar, "detach") else float(scalar)


def hand_loss(task: str, raw: np.ndarray, labels: np.ndarray, mask: np.ndarray) -> float:
    """The masked-mean loss of one task computed with NumPy from raw outputs."""
    keep = mask & ~np.isnan(labels)
    raw, y = np.asarray(raw, np.float64)[keep], labels[keep]
    kind = D.get_task(task).kind
    if kind == "binary":
        p = expit(raw)
        per_row = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    elif kind == "multiclass":
        per_row = -log_softmax(raw, axis=1)[np.arange(len(y)), y.astype(int)]
    else:
        per_row = (raw - y) ** 2
    return float(per_row.mean()) if len(per_row) else 0.0


# --------------------------------------------------------------------------- architecture
def test_outputs_have_one_head_per_task_shaped_by_kind(F, small):
    model = shared_model(F, small, tasks=("click", "rating", "dwell", "next_category"), tower=(8,))
    batch = rows(small.valid, slice(0, 7))
    raw = F.predict(model, batch, raw=True)
    assert list(raw) == ["click", "rating", "dwell", "next_category"]
    assert raw["click"].shape == raw["rating"].shape == raw["dwell"].shape == (7,)
    assert raw["next_category"].shape == (7, small.encoder.n_classes["next_category"])
    probs = F.predict(model, batch)
    assert ((probs["click"] > 0) & (probs["click"] < 1)).all()
    np.testing.assert_allclose(probs["click"], expit(raw["click"]), rtol=1e-5)
    np.testing.assert_allclose(probs["next_category"].sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(probs["rating"], raw["rating"])  # regression: the value


def test_parameter_count_by_hand(F):
    model = F.SingleTaskModel({"a": 5, "b": 3}, 2, "click", hidden=(4,),
                              embedding_dims={"a": 2, "b": 3}, seed=0)
    # embeddings 5·2 + 3·3, Linear (2+3+2)→4 with bias, head 4→1 with bias
    assert F.parameter_count(model) == 10 + 9 + (7 * 4 + 4) + (4 + 1)
    shared = F.SharedBottomModel({"a": 5}, 0, ("click", "next_category"), {"next_category": 3},
                                 bottom=(4,), tower=(2,), embedding_dims={"a": 2}, seed=0)
    # embedding 10; bottom 2→4: 12; per task tower 4→2: 10; heads 2→1: 3 and 2→3: 9
    assert F.parameter_count(shared) == 10 + 12 + 2 * 10 + 3 + 9


def test_default_embedding_sizes(F, small):
    model = shared_model(F, small)
    dims = model.features.embedding_dims
    assert dims["user_id"] == dims["item_id"] == 8
    assert all(size == 4 for name, size in dims.items() if name not in ("user_id", "item_id"))
    assert model.features.output_dim == sum(dims.values()) + small.n_numeric


def test_initialisation_scheme(F, small):
    model = shared_model(F, small, tower=(8,))
    weights = F.export_weights(model)
    for name, value in weights.items():
        if name.startswith("features."):
            assert np.abs(value).max() <= 0.05 and value.std() > 0.01, name
        elif name.endswith(".bias"):
            assert not value.any(), name
        else:
            fan_in, fan_out = value.shape
            assert np.abs(value).max() <= math.sqrt(6 / (fan_in + fan_out)) + 1e-7, name


def test_seed_fixes_the_initialisation(F, small):
    a, b, c = (F.export_weights(shared_model(F, small, seed=s)) for s in (3, 3, 4))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert any(not np.array_equal(a[name], c[name]) for name in a)


def test_export_import_roundtrip_and_shape_errors(F, small):
    source, target = shared_model(F, small, seed=1), shared_model(F, small, seed=2)
    F.import_weights(target, F.export_weights(source))
    batch = rows(small.valid, slice(0, 50))
    np.testing.assert_array_equal(F.predict(source, batch)["click"], F.predict(target, batch)["click"])
    weights = F.export_weights(source)
    weights["heads.click.kernel"] = weights["heads.click.kernel"][:-1]
    with pytest.raises(ValueError, match="heads.click.kernel"):
        F.import_weights(target, weights)
    del weights["heads.click.kernel"]
    with pytest.raises(ValueError, match="missing"):
        F.import_weights(target, weights)


# --------------------------------------------------------------------------- losses
def test_task_losses_equal_hand_computed_masked_means(F, as_tensor):
    outputs = {
        "click": np.array([0.5, -1.0, 2.0, 0.0], np.float32),
        "next_category": np.array([[1.0, 0.0, -1.0], [0.2, 0.3, 0.1], [2.0, -2.0, 0.5],
                                   [0.0, 0.0, 0.0]], np.float32),
        "rating": np.array([1.0, 2.0, 3.0, 4.0], np.float32),
    }
    labels = {"click": np.array([1, 0, np.nan, 1.0]), "next_category": np.array([2, np.nan, 1, 0.0]),
              "rating": np.array([1.5, np.nan, 2.0, np.nan])}
    masks = {task: ~np.isnan(y) for task, y in labels.items()}
    losses = F.task_losses({t: as_tensor(v) for t, v in outputs.items()},
                           {t: as_tensor(np.nan_to_num(y).astype(np.float32)) for t, y in labels.items()},
                           {t: as_tensor(m.astype(np.float32)) for t, m in masks.items()})
    for task in outputs:
        assert value(losses[task]) == pytest.approx(hand_loss(task, outputs[task], labels[task], masks[task]),
                                                    rel=1e-6)
    # by hand, for the regression task: ((1 − 1.5)² + (3 − 2)²) / 2
    assert value(losses["rating"]) == pytest.approx(0.625)
    nothing = F.task_losses({"rating": as_tensor(outputs["rating"])},
                            {"rating": as_tensor(np.zeros(4, np.float32))},
                            {"rating": as_tensor(np.zeros(4, np.float32))})
    assert value(nothing["rating"]) == 0.0


def test_losses_of_a_model_on_a_tiny_batch_equal_hand_computation(F, small):
    tasks = ("click", "purchase", "rating", "dwell", "next_category")
    model = shared_model(F, small, tasks=tasks)
    labelled = np.flatnonzero(small.train.masks["rating"])[:3]
    batch = rows(small.train, np.concatenate([np.arange(13), labelled]))  # 16 rows, 3 with a rating
    raw = F.predict(model, batch, raw=True)
    expected = {t: hand_loss(t, raw[t], batch.labels[t], batch.masks[t]) for t in tasks}
    labels, masks = F.label_tensors(batch, tasks)
    got = F.task_losses(model(F.feature_tensors(batch)), labels, masks)
    for task in tasks:
        assert value(got[task]) == pytest.approx(expected[task], rel=1e-5), task
    # train's first-epoch loss on one full batch is the loss before the first step
    history = F.train(model, batch, None, tasks, epochs=1, batch_size=len(batch), monitor=None)
    for task in tasks:
        assert history.loc[0, f"loss_{task}"] == pytest.approx(expected[task], rel=1e-5), task
    assert history.loc[0, "loss"] == pytest.approx(sum(expected.values()), rel=1e-5)


def test_row_without_label_contributes_zero_gradient_to_that_head(F, small, loss_gradients):
    tasks = ("click", "rating")
    model = shared_model(F, small, tasks=tasks, tower=(8,))
    batch = rows(small.train, slice(0, 256))
    assert batch.masks["rating"].sum() >= 2 and not batch.masks["rating"][0]
    before = loss_gradients(model, batch, tasks)

    changed = rows(batch, slice(None))  # row 0: other features, a would-be rating, still unlabelled
    for name, ids in changed.categorical.items():
        ids[0] = (ids[0] + 1) % small.encoder.cardinalities[name]
    changed.numeric[0] += 1.0
    changed.labels["rating"][0] = 5.0
    after = loss_gradients(model, changed, tasks)
    dropped = loss_gradients(model, rows(batch, slice(1, None)), tasks)

    rating_head = [name for name in before if name.startswith(("heads.rating", "towers.rating"))]
    click_head = [name for name in before if name.startswith("heads.click")]
    for name in rating_head:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)  # exactly
        np.testing.assert_allclose(dropped[name], before[name], rtol=1e-5, atol=1e-8, err_msg=name)
    # the same row is labelled for click, so the click head does see the change
    assert any(not np.allclose(after[name], before[name]) for name in click_head)


def test_nan_labels_of_unlabelled_rows_never_reach_the_gradients(F, small, loss_gradients):
    tasks = ("purchase", "rating", "dwell")
    batch = rows(small.train, slice(0, 512))
    assert np.isnan(batch.labels["rating"]).any() and np.isnan(batch.labels["dwell"]).any()
    model = shared_model(F, small, tasks=tasks)
    for name, grad in loss_gradients(model, batch, tasks).items():
        assert np.isfinite(grad).all(), name


def test_zero_loss_weight_leaves_that_head_untouched(F, small):
    model = shared_model(F, small)
    start = F.export_weights(model)
    F.train(model, small.train, None, epochs=1, batch_size=2048, monitor=None,
            loss_weights={"purchase": 0.0})
    end = F.export_weights(model)
    np.testing.assert_array_equal(end["heads.purchase.kernel"], start["heads.purchase.kernel"])
    assert not np.array_equal(end["heads.click.kernel"], start["heads.click.kernel"])


def test_weight_decay_is_decoupled_with_its_own_rate_for_embeddings(F, small):
    """With an objective of 0 × the losses the gradients are zero, so Adam moves nothing and only
    the decay acts: each step multiplies a weight by 1 − learning_rate × decay. (All-zero
    ``loss_weights`` are refused, so the zero objective comes from ``combine``.)"""
    model = shared_model(F, small)
    start = F.export_weights(model)
    F.train(model, rows(small.train, slice(0, 2000)), None, epochs=1, batch_size=500, monitor=None,
            learning_rate=0.01, weight_decay=1.0, embedding_weight_decay={"item_id": 10.0, "hour": 0.0},
            combine=lambda task_losses, weights: 0.0 * sum(task_losses.values()))
    end = F.export_weights(model)
    decay = {"features.item_id": 10.0, "features.hour": 0.0}
    for name in start:
        factor = (1 - 0.01 * decay.get(name, 1.0)) ** 4  # 4 steps; 1.0 = weight_decay
        np.testing.assert_allclose(end[name], start[name] * factor, rtol=1e-5, atol=1e-9, err_msg=name)


def test_combine_is_the_single_place_losses_are_combined(F, small):
    calls = []

    def only_click(task_losses, weights):
        calls.append((sorted(task_losses), dict(weights)))
        return task_losses["click"]

    model = shared_model(F, small)
    start = F.export_weights(model)
    F.train(model, small.train, None, epochs=1, batch_size=4096, monitor=None, combine=only_click,
            loss_weights={"click": 2.0})
    assert calls and calls[0] == (["click", "purchase"], {"click": 2.0, "purchase": 1.0})
    np.testing.assert_array_equal(F.export_weights(model)["heads.purchase.bias"], start["heads.purchase.bias"])


def _moved(start: dict, end: dict, prefix: str) -> float:
    """The largest absolute change of any weight under the layer-name prefix ``prefix``."""
    return max(float(np.abs(end[n] - start[n]).max()) for n in start if n == prefix or n.startswith(prefix + "."))


def test_learning_rates_give_layer_groups_their_own_step_size(F, small):
    model = shared_model(F, small, tower=(4,))
    start = F.export_weights(model)
    F.train(model, rows(small.train, slice(0, 4000)), None, epochs=1, batch_size=500, monitor=None,
            learning_rate=1e-2, learning_rates={"features": 1e-9, "bottom": 1e-9, "heads.purchase": 1e-9})
    end = F.export_weights(model)
    for prefix in ("features", "bottom", "heads.purchase"):  # 8 Adam steps of ≈ 1e-9 each
        assert _moved(start, end, prefix) < 1e-7, prefix
    for prefix in ("towers.click", "towers.purchase", "heads.click"):  # 8 steps of ≈ 1e-2 each
        assert _moved(start, end, prefix) > 1e-3, prefix


def test_learning_rates_all_equal_to_learning_rate_is_the_default_bit_for_bit(F, small):
    settings = dict(epochs=2, batch_size=700, monitor=None, learning_rate=3e-3, weight_decay=0.5,
                    embedding_weight_decay={"item_id": 20.0})
    results = []
    for rates in (None, {"features": 3e-3, "features.item_id": 3e-3, "bottom": 3e-3, "heads.click": 3e-3}):
        model = shared_model(F, small, tower=(4,))
        history = F.train(model, rows(small.train, slice(0, 3000)), None, learning_rates=rates, **settings)
        results.append((history.loss.tolist(), F.export_weights(model)))
    assert results[0][0] == results[1][0]
    for name, value in results[0][1].items():
        np.testing.assert_array_equal(results[1][1][name], value, err_msg=name)


def test_learning_rates_are_checked_and_name_the_layers(F, small):
    model = shared_model(F, small)
    part = rows(small.train, slice(0, 500))
    with pytest.raises(ValueError, match=r"learning_rates: 'head' matches none of the model's layers; "
                                         r"its layers are \['features\.user_id'.*'bottom\.0'.*'heads\.purchase'\]"):
        F.train(model, part, None, monitor=None, learning_rates={"head": 1e-3})
    for bad in (0.0, -1e-3, float("nan"), float("inf"), "1e-3", True):
        with pytest.raises(ValueError, match=r"learning_rates\['bottom'\] must be a finite number > 0"):
            F.train(model, part, None, monitor=None, learning_rates={"bottom": bad})
    with pytest.raises(ValueError, match=r"learning_rates: layer 'bottom\.0' has step size 0\.5 and decay 2\.0"):
        F.train(model, part, None, monitor=None, weight_decay=2.0, learning_rate=1e-3, learning_rates={"bottom": 0.5})
    with pytest.raises(ValueError, match="learning_rates must be None or a dict"):
        F.train(model, part, None, monitor=None, learning_rates=1e-3)


def test_combine_with_on_epoch_end_sees_each_epochs_task_losses(F, small):
    class Recorder:
        def __init__(self):
            self.seen = []

        def __call__(self, task_losses, weights):
            return F.combine_losses(task_losses, weights)

        def on_epoch_end(self, task_losses):
            self.seen.append(task_losses)

    recorder = Recorder()
    history = F.train(shared_model(F, small), small.train, None, epochs=2, batch_size=4096,
                      monitor=None, combine=recorder)
    assert [sorted(losses) for losses in recorder.seen] == [["click", "purchase"]] * 2
    assert [losses["purchase"] for losses in recorder.seen] == pytest.approx(history.loss_purchase.tolist())


# --------------------------------------------------------------------------- training
def test_history_has_one_row_per_epoch_with_losses_metric_and_speed(F, small):
    model = shared_model(F, small)
    history = F.train(model, small.train, small.valid, epochs=2, batch_size=1024, patience=None,
                      monitor=("click", "auc"))
    assert list(history.columns) == ["epoch", "loss", "loss_click", "loss_purchase", "valid_click_auc",
                                     "seconds", "samples_per_second", "valid_seconds"]
    assert history.epoch.tolist() == [1, 2]
    assert (history.samples_per_second > 0).all() and history.notna().all().all()
    assert history.loss_click.iloc[1] < history.loss_click.iloc[0]
    assert history.attrs["monitor"] == ("click", "auc")


@pytest.mark.parametrize("monitor, tasks", [(("click", "auc"), ("click", "purchase")),
                                            (("dwell", "rmse"), ("click", "dwell"))])
def test_early_stopping_follows_the_metric_direction_and_restores_the_best_weights(F, small, monitor, tasks):
    task, metric = monitor
    model = shared_model(F, small, tasks=tasks, bottom=(64, 32))
    history = F.train(model, small.train, small.valid, epochs=12, batch_size=512, learning_rate=0.02,
                      patience=2, monitor=monitor, seed=1)
    scores = history[f"valid_{task}_{metric}"].to_numpy()
    best = int(np.argmax(scores) if M.HIGHER_IS_BETTER[metric] else np.argmin(scores)) + 1
    assert history.attrs["best_epoch"] == best
    assert history.attrs["best_score"] == scores[best - 1]
    assert len(history) < 12 and len(history) == best + 2  # stopped after `patience` bad epochs
    score_now = M.task_metrics(task, small.valid.labels[task], F.predict(model, small.valid)[task],
                               small.valid.masks[task])[metric]
    assert score_now == pytest.approx(scores[best - 1], rel=1e-6)  # the best weights are back
    assert score_now != pytest.approx(scores[-1], rel=1e-6)  # ... and they are not the last epoch's


def test_same_seed_same_training(F, small):
    results = []
    for _ in range(2):
        model = shared_model(F, small, dropout=0.2)
        history = F.train(model, small.train, small.valid, epochs=2, batch_size=2048, patience=None,
                          monitor=("purchase", "auc"), seed=5)
        results.append((history.loss.tolist(), F.export_weights(model)["heads.click.kernel"]))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_progress_bar_can_be_switched_on(F, small):
    model = shared_model(F, small)
    history = F.train(model, rows(small.train, slice(0, 2000)), None, epochs=1, monitor=None, progress=True)
    assert len(history) == 1


# --------------------------------------------------------------------------- errors
def test_unknown_task_names_are_listed(F, small):
    with pytest.raises(ValueError, match="unknown task 'clicks'.*known tasks: click"):
        shared_model(F, small, tasks=("clicks", "purchase"))
    model = shared_model(F, small)
    with pytest.raises(ValueError, match="unknown task 'purchse'.*known tasks"):
        F.train(model, small.train, small.valid, ("purchse",))
    with pytest.raises(ValueError, match="no head"):
        F.train(model, small.train, small.valid, ("click", "rating"))
    with pytest.raises(ValueError, match="unknown task"):
        F.predict(model, small.valid, tasks=("ctr",))


def test_mismatched_lengths_name_the_argument(F, small):
    model = shared_model(F, small)
    short = rows(small.train, slice(0, 100))
    short.categorical["item_id"] = short.categorical["item_id"][:-1]
    with pytest.raises(ValueError, match=r"train_inputs\.categorical\['item_id'\].*same length"):
        F.train(model, short, small.valid, epochs=1)
    short = rows(small.train, slice(0, 100))
    short.labels["purchase"] = short.labels["purchase"][:-1]
    with pytest.raises(ValueError, match=r"train_inputs\.labels\['purchase'\].*same length"):
        F.train(model, short, small.valid, epochs=1)
    short_valid = rows(small.valid, slice(0, 100))
    short_valid.masks["purchase"] = short_valid.masks["purchase"][:-1]
    with pytest.raises(ValueError, match=r"valid_inputs\.masks\['purchase'\].*same length"):
        F.train(model, small.train, short_valid, epochs=1)
    bad = rows(small.valid, slice(0, 10))
    bad.numeric = bad.numeric[:, :-1]
    with pytest.raises(ValueError, match=r"inputs\.numeric.*shape"):
        F.predict(model, bad)


def test_nan_label_on_a_labelled_row_is_refused(F, small):
    model = shared_model(F, small)
    bad = rows(small.train, slice(0, 100))
    bad.labels["click"][[3, 7]] = np.nan
    with pytest.raises(ValueError, match=r"train_inputs\.labels\['click'\] has NaN on 2 rows"):
        F.train(model, bad, small.valid, epochs=1)


def test_task_without_labels_in_inputs_is_refused(F, small):
    model = shared_model(F, small)
    partial = rows(small.train, slice(0, 100))  # as if encoded with tasks=("click",) only
    del partial.labels["purchase"], partial.masks["purchase"]
    with pytest.raises(ValueError, match="task 'purchase' has no labels in train_inputs"):
        F.train(model, partial, small.valid, epochs=1)


def test_bad_loss_weights_monitor_and_settings_name_the_argument(F, small):
    model = shared_model(F, small)
    cases = [
        (dict(loss_weights={"rating": 1.0}), "loss_weights"),
        (dict(loss_weights={"click": -1.0}), "loss_weights"),
        (dict(monitor=("click", "rmse")), "monitor"),
        (dict(monitor=("rating", "rmse")), "monitor"),
        (dict(monitor="auc"), "monitor"),
        (dict(epochs=0), "epochs"),
        (dict(batch_size=0), "batch_size"),
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(patience=0), "patience"),
        (dict(weight_decay=-1.0), "weight_decay"),
        (dict(embedding_weight_decay=1e4), "embedding_weight_decay"),
        (dict(embedding_weight_decay={"shop_id": 1.0}), "embedding_weight_decay"),
    ]
    for kwargs, argument in cases:
        with pytest.raises(ValueError, match=argument):
            F.train(model, small.train, small.valid, **kwargs)
    with pytest.raises(ValueError, match="valid_inputs"):
        F.train(model, small.train, None)
    with pytest.raises(ValueError, match="n_classes"):
        F.SingleTaskModel(small.encoder.cardinalities, small.n_numeric, "next_category")
    with pytest.raises(ValueError, match="model"):
        F.train(object(), small.train, small.valid)
