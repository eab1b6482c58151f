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
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression

from .data.agent_tasks import SUBSETS, TASK_KIND, AgentData, task_metric
from .data.hashing import char_ngrams, ngram_id

BASELINE_TASKS = ("intent", "qa", "response", "sentiment", "query")
_N_FEATURES = 2 ** 16


def _logistic_regression(solver: str) -> LogisticRegression:
    """saga for the many-class text problems, L-BFGS for the binary pair problem: the faster of the two on
    each (both stop at tol = 1e-3 well before ``max_iter``)."""
    return LogisticRegression(solver=solver, tol=1e-3, max_iter=1_000)


def _texts(data: AgentData, task: str, split: str, key: str = "text") -> list:
    index = data.arrays[task][split][key]
    return [data.texts[i] for i in index.ravel()]


def _pair_features(data: AgentData, task: str, split: str):
    """Sparse (n·k, ``_N_FEATURES``) counts of hashed (context character, candidate character) pairs, one
    row per (row, candidate): feature (a, b) sits in column (id(a) · 65,537 + id(b)) mod ``_N_FEATURES``."""
    chars = [np.array([ngram_id(g, _N_FEATURES) for g in char_ngrams(t, (1,))], dtype=np.int64) for t in data.texts]
    arrays = data.arrays[task][split]
    rows = []
    for context, candidates in zip(arrays["text"], arrays["candidates"], strict=True):
        for candidate in candidates:
            rows.append(((chars[context][:, None] * 65_537 + chars[candidate][None, :]) % _N_FEATURES).ravel())
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    matrix = csr_matrix((np.ones(indptr[-1]), np.concatenate(rows), indptr), shape=(len(rows), _N_FEATURES))
    matrix.sum_duplicates()
    return matrix


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
        k = data.arrays[task]["train"]["candidates"].shape[1]
        is_right = (np.arange(len(labels["train"]) * k) % k == np.repeat(labels["train"], k)).astype(int)
        model = _logistic_regression("lbfgs").fit(_pair_features(data, task, "train"), is_right)
        outputs = model.decision_function(_pair_features(data, task, split)).reshape(-1, k)
    else:
        vectorizer = HashingVectorizer(analyzer="char", ngram_range=(1, 2), n_features=_N_FEATURES, alternate_sign=False)
        model = _logistic_regression("saga").fit(vectorizer.transform(_texts(data, task, "train")), labels["train"])
        outputs = model.decision_function(vectorizer.transform(_texts(data, task, split)))
    scores = {task: task_metric(task, outputs, labels[split])}
    if task in SUBSETS:
        mask = data.arrays[task][split][SUBSETS[task]]
        scores[f"{task}:{SUBSETS[task]}"] = task_metric(task, outputs[mask], labels[split][mask])
    return scores
