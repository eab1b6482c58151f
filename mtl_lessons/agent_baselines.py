"""Text-only baselines for the shopping-guide agent's text tasks (lesson 09), with scikit-learn.

* **classification** (``intent``, ``sentiment``, ``query``): ``HashingVectorizer`` over character 1–2-grams
  → ``LogisticRegression``. It sees the text only, never the shopper or the item.
* **selection** (``qa``, ``response``): a logistic regression on (context, candidate) pairs whose features
  are the hashed *pairs* of characters, one from the context and one from the candidate ("尺" with "码"),
  i.e. a bilinear model of the two texts; the candidate with the highest probability is chosen.

Each baseline is fitted on the task's ``train`` rows and scored on ``test`` with
``data.agent_tasks.task_metric``, so its numbers sit in the same table as the neural model's.
"""
from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression

from .data.agent_tasks import SUBSETS, TASK_KIND, AgentData, task_metric
from .data.hashing import char_ngrams

BASELINE_TASKS = ("intent", "qa", "response", "sentiment", "query")
_N_FEATURES = 2 ** 18


def _texts(data: AgentData, task: str, split: str, key: str = "text") -> list:
    index = data.arrays[task][split][key]
    return [data.texts[i] for i in index.ravel()]


def _pair_tokens(pair: str) -> list[str]:
    context, candidate = pair.split("\x1f")
    return [a + "|" + b for a in char_ngrams(context, (1,)) for b in char_ngrams(candidate, (1,))]


def baseline_scores(data: AgentData, task: str, *, split: str = "test") -> dict[str, float]:
    """Fit the task's text-only baseline on ``train`` and return its metric on ``split`` (and on the
    task's ``SUBSETS`` rows as ``"<task>:<subset>"``).

    Raises:
        ValueError: ``task`` is not one of ``BASELINE_TASKS``.
    """
    if task not in BASELINE_TASKS:
        raise ValueError(f"task must be one of {BASELINE_TASKS} (click has no text), got {task!r}")
    labels = {name: data.arrays[task][name]["label"] for name in ("train", split)}
    if TASK_KIND[task] == "selection":
        vectorizer = HashingVectorizer(analyzer=_pair_tokens, n_features=_N_FEATURES, alternate_sign=False)

        def pairs(name: str) -> list[str]:
            contexts = _texts(data, task, name)
            k = data.arrays[task][name]["candidates"].shape[1]
            candidates = _texts(data, task, name, "candidates")
            return [contexts[i // k] + "\x1f" + candidates[i] for i in range(len(candidates))]

        k = data.arrays[task]["train"]["candidates"].shape[1]
        is_right = (np.arange(len(labels["train"]) * k) % k == np.repeat(labels["train"], k)).astype(int)
        model = LogisticRegression(max_iter=1_000).fit(vectorizer.transform(pairs("train")), is_right)
        outputs = model.decision_function(vectorizer.transform(pairs(split))).reshape(-1, k)
    else:
        vectorizer = HashingVectorizer(analyzer="char", ngram_range=(1, 2), n_features=_N_FEATURES, alternate_sign=False)
        model = LogisticRegression(max_iter=1_000).fit(vectorizer.transform(_texts(data, task, "train")), labels["train"])
        outputs = model.decision_function(vectorizer.transform(_texts(data, task, split)))
    scores = {task: task_metric(task, outputs, labels[split])}
    if task in SUBSETS:
        mask = data.arrays[task][split][SUBSETS[task]]
        scores[f"{task}:{SUBSETS[task]}"] = task_metric(task, outputs[mask], labels[split][mask])
    return scores
