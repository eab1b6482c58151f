"""The shopping-guide agent (lesson 09): its task arrays, heads, losses on hand-computed values, training and
baselines, in both frameworks."""
from __future__ import annotations

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
import tensorflow as tf
import torch

from mtl_lessons import data
from mtl_lessons.agent_baselines import baseline_scores
from mtl_lessons.data.agent_tasks import (AGENT_TASKS, SUBSETS, build_agent_data, evaluate_outputs, task_metric)
from mtl_lessons.data.text import TextConfig
from mtl_lessons.keras_mtl import agent as keras_agent
from mtl_lessons.torch_mtl import agent as torch_agent

SHOP = data.simulate_shop(data.ShopConfig(n_users=300, n_items=100, n_impressions=12_000, purchase_rate=0.02))


@pytest.fixture(scope="module")
def agent_data():
    return build_agent_data(SHOP, TextConfig(n_utterances=1_200), n_queries=1_000, n_buckets=2 ** 12)


def test_every_task_has_three_splits_of_consistent_arrays(agent_data):
    for task in AGENT_TASKS:
        for split, arrays in agent_data.arrays[task].items():
            n = len(arrays["label"])
            assert n > 0, (task, split)
            assert all(len(values) == n for values in arrays.values()), (task, split)
            for key in ("text", "candidates"):
                if key in arrays:
                    assert arrays[key].dtype == np.int64 and 0 <= arrays[key].min() and arrays[key].max() < len(agent_data.texts)
            if task in SUBSETS:
                assert arrays[SUBSETS[task]].dtype == bool
    assert agent_data.text_ids.shape[0] == len(agent_data.texts) == len(set(agent_data.texts))


def test_text_indices_point_at_the_tables_texts(agent_data):
    table = agent_data.tables["qa"]
    train = table[table["split"] == "train"]
    arrays = agent_data.arrays["qa"]["train"]
    assert [agent_data.texts[i] for i in arrays["text"]] == list(train["question"])
    assert [tuple(agent_data.texts[i] for i in row) for row in arrays["candidates"]] == list(train["candidates"])
    from mtl_lessons.data.hashing import hash_texts
    ids, _ = hash_texts(agent_data.texts, n_buckets=agent_data.n_buckets, max_ngrams=agent_data.text_ids.shape[1])
    assert (ids == agent_data.text_ids).all()


def test_log_derived_tasks_train_on_the_past(agent_data):
    day = SHOP.impressions.set_index("impression_id")["day"]
    for task in ("click", "sentiment", "query"):
        table = agent_data.tables[task]
        days = {split: day.loc[table.loc[table["split"] == split, "impression_id"]] for split in ("train", "valid", "test")}
        assert days["train"].max() < days["valid"].min() <= days["valid"].max() < days["test"].min(), task
    shares = agent_data.tables["intent"]["split"].value_counts(normalize=True)
    assert abs(shares["train"] - 0.7) < 0.05 and abs(shares["test"] - 0.15) < 0.05


def test_few_clicks_marks_shoppers_with_at_most_one_training_click(agent_data):
    clicks = agent_data.tables["click"]
    per_user = clicks[clicks["split"] == "train"].groupby("user_id")["click"].sum()
    expected = clicks["user_id"].map(per_user).fillna(0) <= 1
    assert (clicks["few_clicks"] == expected).all() and 0 < expected.mean() < 1


def test_task_metric_on_hand_values():
    assert task_metric("click", np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == pytest.approx(0.75)
    assert task_metric("intent", np.array([[0.0, 1.0], [2.0, 1.0], [0.0, 3.0]]), np.array([1, 1, 1])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="task must be one of"):
        task_metric("rating", np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="same number of rows"):
        task_metric("click", np.zeros(3), np.zeros(2))


BINARY = (np.array([0.0, 2.0], np.float32), np.array([1.0, 0.0], np.float32),
          (math.log(2.0) + math.log(1.0 + math.exp(2.0))) / 2)
MULTICLASS = (np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], np.float32), np.array([2, 0]),
              (-math.log(math.exp(3) / (math.exp(1) + math.exp(2) + math.exp(3))) + math.log(3.0)) / 2)


@pytest.mark.parametrize("task, case", [("click", BINARY), ("sentiment", BINARY), ("intent", MULTICLASS),
                                        ("query", MULTICLASS), ("qa", MULTICLASS), ("response", MULTICLASS)])
def test_each_heads_loss_on_hand_values(task, case):
    outputs, labels, expected = case
    torch_loss = torch_agent.agent_loss(task, torch.from_numpy(outputs), torch.from_numpy(labels))
    keras_loss = keras_agent.agent_loss(task, tf.constant(outputs), tf.constant(labels))
    assert float(torch_loss) == pytest.approx(expected, rel=1e-6)
    assert float(keras_loss) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="task must be one of"):
        torch_agent.agent_loss("rating", torch.from_numpy(outputs), torch.from_numpy(labels))


def test_heads_give_the_shapes_of_their_tasks(agent_data):
    torch_model = torch_agent.ShoppingGuideModel(agent_data.n_users, agent_data.n_items, agent_data.text_ids,
                                                 agent_data.n_buckets, agent_data.n_classes)
    keras_model = keras_agent.ShoppingGuideModel(agent_data.n_users, agent_data.n_items, agent_data.text_ids,
                                                 agent_data.n_buckets, agent_data.n_classes)
    expected = {"click": (5,), "sentiment": (5,), "intent": (5, 7), "query": (5, 10), "qa": (5, 4), "response": (5, 4)}
    for task in AGENT_TASKS:
        batch = {k: v[:5] for k, v in agent_data.arrays[task]["train"].items()}
        assert tuple(torch_agent.agent_outputs(torch_model, task, batch).shape) == expected[task]
        assert tuple(keras_agent.agent_outputs(keras_model, task, batch).shape) == expected[task]
    with pytest.raises(ValueError, match="task must be one of"):
        torch_model(agent_data.arrays["click"]["train"], "rating")


def test_each_distinct_text_is_encoded_once_with_the_same_result(agent_data):
    model = torch_agent.ShoppingGuideModel(agent_data.n_users, agent_data.n_items, agent_data.text_ids,
                                           agent_data.n_buckets, agent_data.n_classes)
    index = torch.from_numpy(agent_data.arrays["response"]["train"]["candidates"][:50])
    direct = model.text_encoder(model.text_ids[index.reshape(-1)]).reshape(50, -1, model.text_encoder.dim)
    torch.testing.assert_close(model.encode_texts(index), direct)
    keras_model = keras_agent.ShoppingGuideModel(agent_data.n_users, agent_data.n_items, agent_data.text_ids,
                                                 agent_data.n_buckets, agent_data.n_classes)
    keras_index = tf.constant(index.numpy())
    keras_direct = tf.reshape(keras_model.text_encoder(tf.gather(keras_model.text_ids, tf.reshape(keras_index, [-1]))),
                              (50, -1, keras_model.text_encoder.dim))
    np.testing.assert_allclose(keras_model.encode_texts(keras_index).numpy(), keras_direct.numpy(), rtol=1e-6)


@pytest.mark.parametrize("framework", [torch_agent, keras_agent])
def test_training_is_reproducible_and_stops_early(agent_data, framework):
    _, first = framework.train_agent(agent_data, ("intent", "query"), seed=3)
    _, again = framework.train_agent(agent_data, ("intent", "query"), seed=3)
    assert first.test == again.test and first.stopped_early
    assert set(first.test) == {"intent", "query", "query:vague"}
    assert first.test["intent"] > 0.95  # the intent is in the words
    assert min(first.epochs - first.best_epoch[t] for t in first.tasks) == 3  # the last improvement, 3 epochs back
    _, weighted = framework.train_agent(agent_data, ("intent", "query"), seed=3, uncertainty=True)
    assert set(weighted.log_variances) == {"intent", "query"}


def test_training_settings_are_checked(agent_data):
    for kwargs, message in (({"steps_per_epoch": 0}, "steps_per_epoch must be an integer"),
                            ({"min_delta": -1.0}, r"min_delta must be a number in \[0, 1\)")):
        with pytest.raises(ValueError, match=message):
            torch_agent.train_agent(agent_data, ("intent",), **kwargs)
    for tasks in ((), ("intent", "intent"), ("rating",)):
        with pytest.raises(ValueError, match="tasks must be distinct names from"):
            keras_agent.train_agent(agent_data, tasks)
    with pytest.raises(ValueError, match="processes must be an integer"):
        torch_agent.run_arms(agent_data, [("intent",)], [0], processes=0)
    with pytest.raises(ValueError, match="split must be one of"):
        evaluate_outputs(agent_data, ("intent",), "holdout", lambda task, arrays: None)


def test_parallel_runs_do_not_depend_on_the_number_of_processes(agent_data):
    arms, seeds = [("intent",), ("intent", "query")], [0, 1]
    two = torch_agent.run_arms(agent_data, arms, seeds, processes=2)
    one = torch_agent.run_arms(agent_data, arms, seeds, processes=1)
    assert set(two) == {(arm, seed) for arm in arms for seed in seeds}
    assert {key: run.test for key, run in two.items()} == {key: run.test for key, run in one.items()}


def test_text_only_baselines(agent_data):
    assert baseline_scores(agent_data, "intent")["intent"] > 0.95
    scores = baseline_scores(agent_data, "qa")
    assert scores["qa"] > 0.9
    assert set(baseline_scores(agent_data, "query")) == {"query", "query:vague"}
    with pytest.raises(ValueError, match="click has no text"):
        baseline_scores(agent_data, "click")


def test_a_new_text_encodes_like_a_known_one(agent_data):
    from mtl_lessons.data.hashing import hash_texts
    arrays = {k: v[:6] for k, v in agent_data.arrays["response"]["test"].items()}
    raw = {"user": arrays["user"],
           "text_ids": hash_texts([agent_data.texts[i] for i in arrays["text"]], n_buckets=agent_data.n_buckets,
                                  max_ngrams=agent_data.text_ids.shape[1])[0],
           "candidates_ids": agent_data.text_ids[arrays["candidates"]], "label": arrays["label"]}
    for framework in (torch_agent, keras_agent):
        model = framework.ShoppingGuideModel(agent_data.n_users, agent_data.n_items, agent_data.text_ids,
                                             agent_data.n_buckets, agent_data.n_classes)
        np.testing.assert_allclose(framework.agent_outputs(model, "response", raw),
                                   framework.agent_outputs(model, "response", arrays), rtol=1e-5, atol=1e-7)


def test_a_partner_that_shares_nothing_changes_nothing(agent_data):
    """click shares no weight with intent or qa (text only): with its own batch stream and an early stop as final
    as alone, training with them gives exactly the click result of training alone."""
    _, alone = torch_agent.train_agent(agent_data, ("click",), seed=1)
    for partner in ("intent", "qa"):
        _, paired = torch_agent.train_agent(agent_data, ("click", partner), seed=1)
        assert paired.test["click"] == alone.test["click"] and paired.best_epoch["click"] == alone.best_epoch["click"]


def test_utterances_reveal_no_click_after_the_training_days(agent_data):
    clicks = agent_data.tables["click"]
    seen = set(zip(clicks.loc[(clicks["split"] == "train") & (clicks["click"] == 1), "user_id"],
                   clicks.loc[(clicks["split"] == "train") & (clicks["click"] == 1), "item_id"]))
    utterances = agent_data.tables["intent"]
    about_items = utterances[utterances["from_click"] & (utterances["item_id"] >= 0)]
    assert len(about_items) > 0 and all((u, i) in seen for u, i in zip(about_items["user_id"], about_items["item_id"]))
