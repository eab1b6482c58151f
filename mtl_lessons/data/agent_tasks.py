"""The shopping-guide agent's six tasks as arrays (lesson 09): one table per task, each with its own inputs.

Heterogeneous multi-task learning: the tasks share no rows and not even their input types.

====================  ===========================================  ==================  ===========
task                  inputs                                       output              metric
====================  ===========================================  ==================  ===========
``click``             shopper id, item id                          P(click)            ROC AUC
``intent``            utterance text                               7 intents           accuracy
``qa``                question text, k candidate answers           the right answer    accuracy
``response``          utterance text, shopper id, k replies        the right reply     accuracy
``sentiment``         review text, shopper id, item id             P(positive)         ROC AUC
``query``             search-query text, shopper id                the categories      accuracy
====================  ===========================================  ==================  ===========

Splits: the impression log is split by day (``chronological_split``); reviews and search queries follow
the day of the impression they come from, so these tasks train on the past and are tested on the future.
Utterances carry no day: they are generated from the clicks of the training days only (``before_day``), so
they reveal nothing of the validation and test days, and split at random, 70 / 15 / 15, with the QA
questions following their utterance. Texts are hashed character 1–2-grams (``data.hashing.hash_texts``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from .config import CATEGORIES, _n_categories
from .encode import chronological_split
from .hashing import hash_texts
from .text import (INTENTS, ITEM_INTENTS, TextConfig, generate_utterances, item_attributes, product_qa, reply_text,
                   response_selection, reviews, search_queries)

AGENT_TASKS = ("click", "intent", "qa", "response", "sentiment", "query")
TASK_KIND = {"click": "binary", "intent": "multiclass", "qa": "selection", "response": "selection",
             "sentiment": "binary", "query": "multiclass"}
"""binary: one logit, binary cross-entropy; multiclass: one logit per class, softmax cross-entropy;
selection: one score per candidate, softmax cross-entropy over the candidates."""
SPLITS = ("train", "valid", "test")
SUBSETS = {"click": "few_clicks", "response": "vague", "sentiment": "neutral", "query": "vague"}
"""The hard rows of a task (a boolean array of that name in each split): impressions of shoppers with at
most ``FEW_CLICKS`` clicks in the training days (cold start); texts that do not say the answer."""
FEW_CLICKS = 1


@dataclass
class AgentData:
    """The six tasks' arrays and the tables they came from.

    Attributes:
        arrays: task → split → name → array. Names: ``user``, ``item`` (int64 (n,)), ``text`` (int64 (n,):
            a row of ``text_ids``), ``candidates`` (int64 (n, k): rows of ``text_ids``), ``label`` (float32
            (n,) for binary tasks, int64 (n,) otherwise) and the subset mask of ``SUBSETS`` (bool (n,)).
        texts: every distinct text of every task, once (tuple of str).
        text_ids: int64 (len(texts), L): each text's hashed n-gram ids, 0 = padding. The tasks point
            into it, so a model encodes each distinct text of a batch once (the 22,400 candidate
            replies of the response task's training rows are a few hundred distinct texts).
        tables: task → DataFrame of its rows (all splits, column ``split``), for reading the examples.
        n_users, n_items, n_buckets: sizes of the id spaces.
        n_classes: task → number of classes (multiclass) or candidates (selection).
    """

    arrays: dict[str, dict[str, dict[str, np.ndarray]]]
    tables: dict[str, pd.DataFrame]
    texts: tuple[str, ...]
    text_ids: np.ndarray
    n_users: int
    n_items: int
    n_buckets: int
    n_classes: dict[str, int] = field(default_factory=dict)

    def sizes(self) -> pd.DataFrame:
        """Rows per task and split."""
        return pd.DataFrame({split: {task: len(self.arrays[task][split]["label"]) for task in AGENT_TASKS}
                             for split in SPLITS})


def _split_of_days(days: np.ndarray, split_days: tuple[int, int]) -> np.ndarray:
    valid_from, test_from = split_days
    return np.where(days >= test_from, "test", np.where(days >= valid_from, "valid", "train"))


def build_agent_data(shop, text_config: TextConfig = TextConfig(), *, n_queries: int = 8_000, n_buckets: int = 2 ** 14,
                     max_ngrams: int = 40, seed: int = 0) -> AgentData:
    """Generate the text tasks of ``shop`` and put all six tasks into arrays.

    Args:
        shop: a ``Shop`` (``simulate_shop``).
        text_config: the text generator's knobs (utterances, typos, candidates).
        n_queries: search queries to generate.
        n_buckets, max_ngrams: the hashing of texts (``hash_texts``).
        seed: seed of the random 70 / 15 / 15 split of the utterances.
    """
    text_index: dict[str, int] = {}

    def ids(texts) -> np.ndarray:
        return np.array([text_index.setdefault(text, len(text_index)) for text in texts], dtype=np.int64)

    def candidate_ids(candidates: pd.Series) -> np.ndarray:
        k = len(candidates.iloc[0])
        return ids([c for row in candidates for c in row]).reshape(len(candidates), k)

    split = chronological_split(shop.impressions)
    valid_from, test_from = int(split.valid["day"].min()), int(split.test["day"].min())
    day_of = shop.impressions.set_index("impression_id")["day"]
    tables: dict[str, pd.DataFrame] = {}

    clicks = shop.impressions[["impression_id", "user_id", "item_id", "day", "click"]].copy()
    clicks["split"] = _split_of_days(clicks["day"].to_numpy(), (valid_from, test_from))
    tables["click"] = clicks

    utterances = generate_utterances(shop, text_config, before_day=valid_from)  # no validation or test clicks
    rng = np.random.default_rng([seed, 9_101])
    draw = rng.random(len(utterances))
    utterances["split"] = np.where(draw < 0.7, "train", np.where(draw < 0.85, "valid", "test"))
    tables["intent"] = utterances
    qa = product_qa(shop, utterances, text_config)
    qa["split"] = utterances.loc[utterances["intent"].isin([i for i in INTENTS if i not in ("find_item", "chitchat")]),
                                 "split"].to_numpy()
    tables["qa"] = qa
    dialogue = response_selection(shop, utterances, text_config)
    dialogue["user_id"], dialogue["vague"], dialogue["split"] = (utterances["user_id"].to_numpy(),
                                                                  utterances["vague"].to_numpy(), utterances["split"].to_numpy())
    tables["response"] = dialogue
    review_table = reviews(shop)
    review_table["split"] = _split_of_days(day_of.loc[review_table["impression_id"]].to_numpy(), (valid_from, test_from))
    tables["sentiment"] = review_table
    queries = search_queries(shop, n_queries)
    queries["split"] = _split_of_days(day_of.loc[queries["impression_id"]].to_numpy(), (valid_from, test_from))
    tables["query"] = queries

    categories = CATEGORIES[:_n_categories(shop.config)]  # the shop's categories (10 by default)
    category_index = {c: i for i, c in enumerate(categories)}
    intent_index = {c: i for i, c in enumerate(INTENTS)}
    columns = {
        "click": lambda t: {"user": t["user_id"], "item": t["item_id"], "label": t["click"].astype(np.float32),
                            "few_clicks": t["few_clicks"]},
        "intent": lambda t: {"text": ids(t["text"]), "label": t["intent"].map(intent_index)},
        "qa": lambda t: {"text": ids(t["question"]), "candidates": candidate_ids(t["candidates"]),
                         "label": t["answer_index"]},
        "response": lambda t: {"text": ids(t["context"]), "user": t["user_id"], "candidates": candidate_ids(t["candidates"]),
                               "label": t["answer_index"], "vague": t["vague"]},
        "sentiment": lambda t: {"text": ids(t["text"]), "user": t["user_id"], "item": t["item_id"],
                                "label": t["sentiment"].astype(np.float32), "neutral": t["neutral"]},
        "query": lambda t: {"text": ids(t["text"]), "user": t["user_id"], "label": t["category"].map(category_index),
                            "vague": t["vague"]},
    }
    arrays: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    train_clicks = clicks.loc[clicks["split"] == "train"].groupby("user_id")["click"].sum()
    clicks["few_clicks"] = clicks["user_id"].map(train_clicks).fillna(0).to_numpy() <= FEW_CLICKS
    for task in AGENT_TASKS:
        arrays[task] = {}
        for name in SPLITS:
            rows = tables[task][tables[task]["split"] == name]
            made = {key: np.asarray(value) for key, value in columns[task](rows).items()}
            for key in ("user", "item", "text", "candidates"):
                if key in made:
                    made[key] = made[key].astype(np.int64)
            if TASK_KIND[task] != "binary":
                made["label"] = made["label"].astype(np.int64)
            arrays[task][name] = made
    n_classes = {"intent": len(INTENTS), "query": len(categories), "qa": text_config.n_candidates,
                 "response": text_config.n_candidates}
    texts = tuple(text_index)
    text_ids = hash_texts(texts, n_buckets=n_buckets, max_ngrams=max_ngrams)[0]
    return AgentData(arrays, tables, texts, text_ids, len(shop.users), len(shop.items), n_buckets, n_classes)


def task_metric(task: str, outputs: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC for a binary task (``outputs`` (n,) logits or probabilities), accuracy otherwise
    (``outputs`` (n, C) scores: the highest is the prediction)."""
    if task not in TASK_KIND:
        raise ValueError(f"task must be one of {AGENT_TASKS}, got {task!r}")
    outputs, labels = np.asarray(outputs), np.asarray(labels)
    if len(outputs) != len(labels):
        raise ValueError(f"outputs and labels must have the same number of rows, got {len(outputs)} and {len(labels)}")
    if TASK_KIND[task] == "binary":
        return float(roc_auc_score(labels, outputs))
    return float((outputs.argmax(axis=1) == labels).mean())


def check_agent_tasks(tasks) -> tuple[str, ...]:
    """``tasks`` as a tuple of distinct names from ``AGENT_TASKS``, or a ValueError naming the argument."""
    tasks = (tasks,) if isinstance(tasks, str) else tuple(tasks)
    unknown = [t for t in tasks if t not in AGENT_TASKS]
    if not tasks or unknown or len(set(tasks)) != len(tasks):
        raise ValueError(f"tasks must be distinct names from {AGENT_TASKS}, got {tasks!r}")
    return tasks


def evaluate_outputs(data: AgentData, tasks, split: str, outputs_of: Callable[[str, dict], np.ndarray], *,
                     subsets: bool = True) -> dict[str, float]:
    """task → metric on ``split`` of the outputs ``outputs_of(task, arrays)``; with ``subsets``, a task of
    ``SUBSETS`` also gets ``"<task>:<subset>"``, the metric on its hard rows."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    scores = {}
    for task in check_agent_tasks(tasks):
        arrays = data.arrays[task][split]
        outputs = outputs_of(task, arrays)
        scores[task] = task_metric(task, outputs, arrays["label"])
        if subsets and task in SUBSETS:
            mask = arrays[SUBSETS[task]]
            scores[f"{task}:{SUBSETS[task]}"] = task_metric(task, outputs[mask], arrays["label"][mask])
    return scores


@dataclass
class AgentRun:
    """What a ``train_agent`` run did: per task its best validation metric and the epoch of it, the test
    metrics of the model at that epoch, the epochs run, and whether it stopped early (before
    ``max_epochs``); with uncertainty weighting, the learned log-variances s_t."""

    tasks: tuple[str, ...]
    best_epoch: dict[str, int]
    best_valid: dict[str, float]
    test: dict[str, float]
    epochs: int
    stopped_early: bool
    log_variances: dict[str, float] | None = None


def check_schedule(steps_per_epoch, max_epochs, patience, min_delta) -> None:
    for name, value in (("steps_per_epoch", steps_per_epoch), ("max_epochs", max_epochs), ("patience", patience)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer ≥ 1, got {value!r}")
    if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)) or not 0 <= min_delta < 1:
        raise ValueError(f"min_delta must be a number in [0, 1), got {min_delta!r}")


def batch_streams(tasks: tuple[str, ...], seed: int) -> dict[str, np.random.Generator]:
    """One random stream per task for its batch order, seeded by (seed, the task's place in ``AGENT_TASKS``):
    a task sees the same batches in the same order alone and with any partners."""
    return {t: np.random.default_rng([seed, 9_201, AGENT_TASKS.index(t)]) for t in tasks}


def epoch_batches(data: AgentData, streams: dict[str, np.random.Generator],
                  steps_per_epoch: int) -> dict[str, list[np.ndarray]]:
    """task → ``steps_per_epoch`` row-index arrays that together cover the task's training rows once, in a
    fresh random order drawn from the task's own stream (``batch_streams``)."""
    return {t: np.array_split(rng.permutation(len(data.arrays[t]["train"]["label"])), steps_per_epoch)
            for t, rng in streams.items()}


def early_stopping_loop(data: AgentData, tasks: tuple[str, ...], run_epoch: Callable[[int, tuple[str, ...]], None],
                        outputs_of: Callable[[str, dict], np.ndarray], *, max_epochs: int, patience: int,
                        min_delta: float) -> AgentRun:
    """Per-task early stopping, as final as alone: ``run_epoch(epoch, active)`` trains the tasks still active;
    after it each active task's validation metric is measured, and a task's result is the test metric at its
    best epoch (better: higher by more than ``min_delta``). A task that has not improved for ``patience``
    epochs stops: its result is final and it trains no more, as it would have stopped alone. The run ends when
    every task has stopped."""
    best_valid = {t: -float("inf") for t in tasks}
    best_epoch = {t: 0 for t in tasks}
    test: dict[str, float] = {}
    active = tasks
    epoch = 0
    for epoch in range(1, max_epochs + 1):
        run_epoch(epoch, active)
        for t, metric in evaluate_outputs(data, active, "valid", outputs_of, subsets=False).items():
            if metric > best_valid[t] + min_delta:
                best_valid[t], best_epoch[t] = metric, epoch
                test.update(evaluate_outputs(data, [t], "test", outputs_of))
        active = tuple(t for t in active if epoch - best_epoch[t] < patience)
        if not active:
            break
    return AgentRun(tasks, best_epoch, best_valid, test, epoch, not active)


ROUTES = {"find_item": "recommend", **{intent: "qa" for intent in ITEM_INTENTS}, "chitchat": "chat"}
"""Which engine answers each intent, as in AliMe Assist (Li et al. 2017): an intent classifier routes a
question about an item to knowledge-base QA, a request for goods to the recommender, small talk to chat."""
