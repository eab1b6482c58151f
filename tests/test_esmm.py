"""ESMM (Ma et al., SIGIR 2018) in both frameworks, and the funnel helpers of ``mtl_lessons.funnel``.

The loss is pinned to hand-computed values of the paper's eq. 3 (BCE on pCTR plus BCE on
pCTR × pCVR, over all impressions, no term on pCVR), the CVR tower is shown to get no gradient from
the click term (so none from any CVR loss: there is none), and the two AUCs of the paper are
computed on a small example where they differ.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from mtl_contract import rows, small_data  # noqa: E402
from mtl_lessons import data as D  # noqa: E402
from mtl_lessons import funnel, keras_mtl, mtl_core, torch_mtl  # noqa: E402

T, K = torch_mtl, keras_mtl
FRAMEWORKS = {"torch": T, "keras": K}


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def bce(y, p):
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


def esmm(F, funnel_stages=("click", "purchase"), seed=0, **kwargs):
    small = small_data()
    return F.ESMMModel(small.encoder.cardinalities, small.n_numeric, funnel_stages, tower=(8, 4), seed=seed, **kwargs)


# --------------------------------------------------------------------------- the product, as a logit
@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_funnel_logits_are_the_logits_of_the_products(fw):
    conditional = [np.array([0.3, -2.0, 4.0, -7.0, 0.0]), np.array([-1.0, 1.5, -3.0, 2.0, 0.0]),
                   np.array([0.5, 0.5, 6.0, -0.2, 0.0])]
    if fw == "torch":
        joint = [t.numpy() for t in T.funnel_logits([torch.tensor(c, dtype=torch.float64) for c in conditional])]
    else:
        import tensorflow as tf
        joint = [t.numpy() for t in K.funnel_logits([tf.constant(c, dtype=tf.float64) for c in conditional])]
    np.testing.assert_allclose(joint[0], conditional[0], rtol=0, atol=1e-12)  # the first stage is its own logit
    for k in range(3):
        product = np.prod([1 / (1 + np.exp(-c)) for c in conditional[:k + 1]], axis=0)
        np.testing.assert_allclose(1 / (1 + np.exp(-joint[k])), product, rtol=1e-12)
    # by hand, one row: σ(0.3)·σ(−1) as a probability
    assert 1 / (1 + math.exp(-joint[1][0])) == pytest.approx(sigmoid(0.3) * sigmoid(-1.0), rel=1e-12)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_funnel_logits_stay_finite_where_the_product_rounds_to_one(fw):
    # σ(40)·σ(40) is 1.0 in float32, so log(1 − p) would be −inf; the logit must still be finite and right:
    # 1 − p = σ(−40) + σ(40)σ(−40) ≈ 2e^−40, so logit p ≈ 40 − log 2.
    big = [np.full(2, 40.0, np.float32), np.full(2, 40.0, np.float32)]
    if fw == "torch":
        joint = T.funnel_logits([torch.tensor(c) for c in big])[1].numpy()
    else:
        import tensorflow as tf
        joint = K.funnel_logits([tf.constant(c) for c in big])[1].numpy()
    assert np.isfinite(joint).all()
    np.testing.assert_allclose(joint, 40.0 - math.log(2.0), rtol=1e-5)


# --------------------------------------------------------------------------- the loss of eq. 3
def test_esmm_loss_is_eq3_by_hand():
    model = esmm(T)
    with torch.no_grad():  # set the heads so that c_ctr = 0.4 and c_cvr = −1.2 on every row
        for stage, bias in (("click", 0.4), ("purchase", -1.2)):
            model.heads[stage].weight.zero_()
            model.heads[stage].bias.fill_(bias)
    click = torch.tensor([1.0, 1.0, 0.0, 0.0])
    purchase = torch.tensor([1.0, 0.0, 0.0, 0.0])  # the label of pCTCVR: click ∧ purchase
    batch = rows(small_data().valid, slice(0, 4))
    outputs = model(T.feature_tensors(batch))
    ones = torch.ones(4)
    losses = T.task_losses(outputs, {"click": click, "purchase": purchase}, {"click": ones, "purchase": ones})
    p_ctr, p_cvr = sigmoid(0.4), sigmoid(-1.2)
    expected_click = (2 * bce(1, p_ctr) + 2 * bce(0, p_ctr)) / 4
    expected_ctcvr = (bce(1, p_ctr * p_cvr) + 3 * bce(0, p_ctr * p_cvr)) / 4
    assert float(losses["click"].detach()) == pytest.approx(expected_click, rel=1e-6)
    assert float(losses["purchase"].detach()) == pytest.approx(expected_ctcvr, rel=1e-6)
    # the numbers themselves, so that a wrong formula above cannot hide a wrong model
    assert expected_click == pytest.approx(0.7130, abs=1e-4)
    assert expected_ctcvr == pytest.approx(0.6060, abs=1e-4)


def test_no_gradient_reaches_the_cvr_tower_except_through_the_product():
    model = esmm(T, seed=3)
    batch = rows(small_data().valid, slice(0, 256))
    labels, masks = T.label_tensors(batch, ("click", "purchase"))
    cvr_parameters = list(model.towers["purchase"].parameters()) + list(model.heads["purchase"].parameters())

    losses = T.task_losses(model(T.feature_tensors(batch)), labels, masks)
    grads = torch.autograd.grad(losses["click"], cvr_parameters, allow_unused=True)
    assert all(g is None or float(g.abs().max()) == 0.0 for g in grads)  # the click term: nothing

    # the whole loss's gradient on the CVR tower is that of BCE(click ∧ purchase, pCTR × pCVR) written by hand
    losses = T.task_losses(model(T.feature_tensors(batch)), labels, masks)
    total_grads = torch.autograd.grad(losses["click"] + losses["purchase"], cvr_parameters)
    conditional = model.stage_logits(T.feature_tensors(batch))
    p_ctcvr = torch.sigmoid(conditional["click"]).double() * torch.sigmoid(conditional["purchase"]).double()
    y = labels["purchase"].double()
    by_hand = -(y * torch.log(p_ctcvr) + (1 - y) * torch.log1p(-p_ctcvr)).mean()
    hand_grads = torch.autograd.grad(by_hand, cvr_parameters)
    assert any(float(g.abs().max()) > 0 for g in hand_grads)
    for got, expected in zip(total_grads, hand_grads):
        np.testing.assert_allclose(got.numpy(), expected.float().numpy(), rtol=1e-4, atol=1e-7)


def test_the_chain_has_one_term_per_stage_over_all_impressions():
    model = esmm(T, ("click", "add_to_cart", "purchase"), seed=1)
    batch = rows(small_data().valid, slice(0, 64))
    feeds = T.feature_tensors(batch)
    outputs, conditional = model(feeds), model.stage_logits(feeds)
    q = {stage: torch.sigmoid(c) for stage, c in conditional.items()}
    np.testing.assert_allclose(torch.sigmoid(outputs["add_to_cart"]).detach().numpy(),
                               (q["click"] * q["add_to_cart"]).detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(torch.sigmoid(outputs["purchase"]).detach().numpy(),
                               (q["click"] * q["add_to_cart"] * q["purchase"]).detach().numpy(), rtol=1e-5)
    assert model.funnel == model.tasks == ("click", "add_to_cart", "purchase")


# --------------------------------------------------------------------------- predictions, training, parity
@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_predict_gives_the_joint_and_predict_conditional_the_conditional(fw):
    F = FRAMEWORKS[fw]
    model = esmm(F, seed=2)
    batch = rows(small_data().valid, slice(0, 500))
    joint, conditional = F.predict(model, batch), F.predict_conditional(model, batch, batch_size=128)
    assert set(joint) == set(conditional) == {"click", "purchase"}
    np.testing.assert_allclose(joint["click"], conditional["click"], rtol=1e-5)
    np.testing.assert_allclose(joint["purchase"], conditional["click"] * conditional["purchase"], rtol=1e-4, atol=1e-7)
    assert (joint["purchase"] <= joint["click"] + 1e-7).all()  # reaching purchase is never likelier than a click


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_esmm_trains_on_all_impressions(fw):
    F = FRAMEWORKS[fw]
    small = small_data()
    model = esmm(F)
    history = F.train(model, small.train, small.valid, ("click", "purchase"), epochs=3, batch_size=1024,
                      learning_rate=1e-2, patience=None, monitor=("all", "auc"), seed=0)
    assert len(history) == 3 and np.isfinite(history["loss"]).all()
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]
    assert history["valid_purchase_auc"].iloc[-1] > 0.6  # pCTCVR ranks purchases


@pytest.mark.parametrize("direction", ["torch_to_keras", "keras_to_torch"])
def test_same_weights_same_funnel_in_both_frameworks(direction):
    source_fw, target_fw = (T, K) if direction == "torch_to_keras" else (K, T)
    stages = ("click", "add_to_cart", "purchase")
    source, target = esmm(source_fw, stages, seed=1, bottom=(6,)), esmm(target_fw, stages, seed=2, bottom=(6,))
    assert T.parameter_count(source if source_fw is T else target) == K.parameter_count(target if source_fw is T else source)
    target_fw.import_weights(target, source_fw.export_weights(source))
    batch = rows(small_data().valid, slice(0, 1000))
    for read in ("predict", "predict_conditional"):
        expected, got = getattr(source_fw, read)(source, batch), getattr(target_fw, read)(target, batch)
        assert list(got) == list(expected) == list(stages)
        for stage in stages:
            np.testing.assert_allclose(got[stage], expected[stage], atol=1e-5, rtol=0, err_msg=f"{read} {stage}")


# --------------------------------------------------------------------------- bad settings
@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("stages, message", [
    (("click",), "at least two stages"),
    (("click", "rating"), "binary task labelled on every impression"),
    (("purchase", "sentiment"), "binary task labelled on every impression"),
    (("click", "click"), "funnel"),
    (("click", "buy"), "unknown task"),
])
def test_bad_funnels_are_refused(fw, stages, message):
    with pytest.raises(ValueError, match=message):
        esmm(FRAMEWORKS[fw], stages)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_predict_conditional_refuses_other_models(fw):
    F = FRAMEWORKS[fw]
    small = small_data()
    model = F.SharedBottomModel(small.encoder.cardinalities, small.n_numeric, ("click", "purchase"), bottom=(4,))
    with pytest.raises(ValueError, match="ESMMModel"):
        F.predict_conditional(model, small.valid)


def test_check_funnel_returns_the_stages():
    assert mtl_core.check_funnel("click, purchase".split(", ")) == ("click", "purchase")


# --------------------------------------------------------------------------- the two AUCs
def test_cvr_auc_and_ctcvr_auc_on_a_small_example():
    #           clicked rows: 0-3                       unclicked rows: 4-5
    click = np.array([1, 1, 1, 1, 0, 0])
    purchase = np.array([1, 0, 1, 0, 0, 0])
    p_cvr = np.array([0.6, 0.5, 0.4, 0.3, 0.9, 0.8])  # the unclicked rows have high pCVR
    p_ctr = np.array([0.5, 0.5, 0.5, 0.5, 0.1, 0.1])
    # CVR AUC, clicked rows only: purchase pairs (0,1) ok, (0,3) ok, (2,1) wrong, (2,3) ok → 3/4
    assert funnel.cvr_auc(purchase, click, p_cvr) == pytest.approx(0.75)
    # pCVR scored on all rows instead: the unclicked rows (negatives with the highest scores) count too;
    # positives 0.6 and 0.4 beat negatives 0.5, 0.3 → 3 of 8 pairs → 0.375
    from sklearn.metrics import roc_auc_score
    assert roc_auc_score(purchase, p_cvr) == pytest.approx(3 / 8)
    # CTCVR AUC, all rows: pCTCVR = 0.3, 0.25, 0.2, 0.15, 0.09, 0.08; positives 0.3 and 0.2 beat
    # 0.15, 0.09, 0.08 and 0.3 beats 0.25 → 7 of 8 pairs
    assert funnel.ctcvr_auc(purchase, p_ctr * p_cvr) == pytest.approx(7 / 8)


@pytest.mark.parametrize("call, message", [
    (lambda: funnel.cvr_auc([1, 0, 0], [0, 1, 1], [0.5, 0.5, 0.5]), "purchase without a click"),
    (lambda: funnel.cvr_auc([1, 0], [1, 1, 0], [0.5, 0.5, 0.5]), "purchase must be a 1-d array of length 3"),
    (lambda: funnel.cvr_auc([1, 0, 0], [1, 1, 0], [0.5, np.nan, 0.5]), "p_cvr must hold probabilities"),
    (lambda: funnel.cvr_auc([1, 0, 0], [1, 1, 0], [0.5, 1.5, 0.5]), "p_cvr must hold probabilities"),
    (lambda: funnel.cvr_auc([0, 0, 0], [1, 1, 0], [0.5, 0.5, 0.5]), "both purchases and non-purchases"),
    (lambda: funnel.cvr_auc([1, 0, 0], [1, 2, 0], [0.5, 0.5, 0.5]), "click must hold 0/1 labels"),
    (lambda: funnel.ctcvr_auc([1, 0, np.nan], [0.5, 0.5, 0.5]), "purchase must hold 0/1 labels"),
    (lambda: funnel.ctcvr_auc([1, 0, 0], [0.5, 0.5]), "p_ctcvr must be a 1-d array of length 3"),
])
def test_bad_auc_inputs_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------------------------- conditioning a label
def test_condition_on_keeps_purchase_labels_on_clicked_rows_only():
    valid = small_data().valid
    conditioned = funnel.condition_on(valid, "purchase", "click")
    clicked = valid.labels["click"] == 1
    np.testing.assert_array_equal(conditioned.masks["purchase"], clicked)
    np.testing.assert_array_equal(conditioned.labels["purchase"][clicked], valid.labels["purchase"][clicked])
    assert np.isnan(conditioned.labels["purchase"][~clicked]).all()
    assert len(conditioned) == len(valid)  # every row kept: same batches, same steps
    np.testing.assert_array_equal(conditioned.labels["click"], valid.labels["click"])
    assert valid.masks["purchase"].all()  # the original is untouched


@pytest.mark.parametrize("task, given, message", [
    ("purchase", "sentiment", "given: 'sentiment' is not a label of inputs"),
    ("purchase", "rating", "given must be a binary task"),
    ("buy", "click", "unknown task"),
])
def test_condition_on_names_bad_arguments(task, given, message):
    valid = small_data().valid
    if given == "sentiment":
        valid = D.ModelInputs(valid.categorical, valid.numeric,
                              {t: v for t, v in valid.labels.items() if t != "sentiment"},
                              {t: v for t, v in valid.masks.items() if t != "sentiment"})
    with pytest.raises(ValueError, match=message):
        funnel.condition_on(valid, task, given)
