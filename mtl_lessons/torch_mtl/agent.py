"""Heads of the shopping-guide agent (lesson 09) whose outputs are not one score per row: choosing one
of k candidates (product-QA answer selection, dialogue response selection).

A context vector c (the encoded question or utterance, shape (d,)) scores each candidate vector a_j
(the encoded candidate answer or reply) by a dot product, and the loss is the cross-entropy of the
softmax over the k scores with the right candidate y:

    s_j = c · a_j,      ℓ = −log( exp(s_y) / Σ_j exp(s_j) ),

averaged over the rows (the "dual encoder" of response selection, Lowe et al. 2015, with a softmax over
the candidates instead of one sigmoid per pair).
"""
from __future__ import annotations

import multiprocessing
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.agent_tasks import (AGENT_TASKS, TASK_KIND, AgentData, AgentRun, batch_streams, check_agent_tasks,
                                check_schedule, early_stopping_loop, epoch_batches, evaluate_outputs)
from .layers import EMBEDDING_INIT_RANGE, TextEncoder, _init_linear, _seeded, mlp_block


def selection_scores(context: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """Dot-product scores s_j = c · a_j.

    Args:
        context: (n, d) context vectors.
        candidates: (n, k, d) candidate vectors.

    Returns:
        (n, k) scores.
    """
    if context.ndim != 2 or candidates.ndim != 3 or candidates.shape[0] != context.shape[0] \
            or candidates.shape[2] != context.shape[1]:
        raise ValueError(f"context must be (n, d) and candidates (n, k, d) with the same n and d, got "
                         f"{tuple(context.shape)} and {tuple(candidates.shape)}")
    return torch.einsum("nd,nkd->nk", context, candidates)


def selection_loss(context: torch.Tensor, candidates: torch.Tensor, answer_index: torch.Tensor) -> torch.Tensor:
    """Mean softmax cross-entropy of the right candidate (see the module docstring).

    Args:
        context: (n, d); candidates: (n, k, d); answer_index: int64 (n,) in [0, k).

    Returns:
        A scalar tensor.
    """
    scores = selection_scores(context, candidates)
    if answer_index.shape != (scores.shape[0],) or answer_index.dtype != torch.int64:
        raise ValueError(f"answer_index must be int64 of shape ({scores.shape[0]},), got "
                         f"{answer_index.dtype} {tuple(answer_index.shape)}")
    if ((answer_index < 0) | (answer_index >= scores.shape[1])).any():
        raise ValueError(f"answer_index must be in [0, {scores.shape[1]}), got values outside it")
    return F.cross_entropy(scores, answer_index)


# --------------------------------------------------------------------------- the agent's model
class ShoppingGuideModel(nn.Module):
    """One model, six heads over three shared parts: a shopper embedding, an item embedding and a
    hashed-n-gram text encoder (``TextEncoder``). Each head reads only the parts its task has:

    * ``click``: MLP([u; i]) → 1 logit;  ``sentiment``: MLP([t; u; i]) → 1 logit;
    * ``intent``: Linear(t) → 7 logits;  ``query``: MLP([t; u]) → one logit per category;
    * ``qa``: scores c · a_j with c = W t(question), a_j = V t(answer_j);
    * ``response``: scores c · a_j with c = W [t(utterance); u], a_j = V t(reply_j).

    Args:
        n_users, n_items, n_buckets: id-space sizes (``AgentData``).
        n_classes: task → classes or candidates (``AgentData.n_classes``).
        id_dim, text_dim, hidden: embedding sizes and the heads' hidden width.
        seed: seed of the initialisation.

    ``forward(batch, task)`` takes one task's batch (dict of tensors, names as in ``AgentData.arrays``; a
    new text, not in ``text_ids``, comes as ``text_ids`` / ``candidates_ids``, its hashed n-gram ids)
    and returns (n,) logits for a binary task, (n, C) logits or (n, k) scores otherwise.
    """

    def __init__(self, n_users: int, n_items: int, text_ids: np.ndarray, n_buckets: int, n_classes: dict[str, int], *,
                 id_dim: int = 16, text_dim: int = 32, hidden: int = 32, seed: int = 0):
        super().__init__()
        self.register_buffer("text_ids", torch.as_tensor(np.asarray(text_ids, dtype=np.int64)), persistent=False)
        with _seeded(seed):
            self.user_embedding = nn.Embedding(n_users, id_dim)
            self.item_embedding = nn.Embedding(n_items, id_dim)
            for table in (self.user_embedding, self.item_embedding):
                nn.init.uniform_(table.weight, -EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE)
        self.text_encoder = TextEncoder(n_buckets, text_dim, seed=seed + 1)
        with _seeded(seed + 2):
            self.heads = nn.ModuleDict({
                "click": nn.Sequential(mlp_block(2 * id_dim, [hidden]), _init_linear(nn.Linear(hidden, 1))),
                "intent": _init_linear(nn.Linear(text_dim, n_classes["intent"])),
                "qa": nn.ModuleDict({"context": _init_linear(nn.Linear(text_dim, text_dim)),
                                     "candidate": _init_linear(nn.Linear(text_dim, text_dim))}),
                "response": nn.ModuleDict({"context": _init_linear(nn.Linear(text_dim + id_dim, text_dim)),
                                           "candidate": _init_linear(nn.Linear(text_dim, text_dim))}),
                "sentiment": nn.Sequential(mlp_block(text_dim + 2 * id_dim, [hidden]), _init_linear(nn.Linear(hidden, 1))),
                "query": nn.Sequential(mlp_block(text_dim + id_dim, [hidden]),
                                       _init_linear(nn.Linear(hidden, n_classes["query"]))),
            })

    def encode_texts(self, text_index: torch.Tensor) -> torch.Tensor:
        """The encoding (…, text_dim) of each text index (any shape), each distinct text encoded once."""
        distinct, position = torch.unique(text_index, return_inverse=True)
        return self.text_encoder(self.text_ids[distinct])[position]

    def _texts(self, batch: Mapping[str, torch.Tensor], key: str) -> torch.Tensor:
        """Encode ``batch[key]`` (indices into ``text_ids``) or, for texts the model has not seen,
        ``batch[key + "_ids"]`` (hashed ids (…, L), ``hash_texts``)."""
        if key + "_ids" in batch:
            raw = batch[key + "_ids"]
            return self.text_encoder(raw.reshape(-1, raw.shape[-1])).reshape(*raw.shape[:-1], -1)
        return self.encode_texts(batch[key])

    def forward(self, batch: Mapping[str, torch.Tensor], task: str) -> torch.Tensor:
        if task not in self.heads:
            raise ValueError(f"task must be one of {tuple(self.heads)}, got {task!r}")
        parts = {"u": lambda: self.user_embedding(batch["user"]), "i": lambda: self.item_embedding(batch["item"]),
                 "t": lambda: self._texts(batch, "text")}
        head = self.heads[task]
        if task == "click":
            return head(torch.cat([parts["u"](), parts["i"]()], dim=1)).squeeze(1)
        if task == "sentiment":
            return head(torch.cat([parts["t"](), parts["u"](), parts["i"]()], dim=1)).squeeze(1)
        if task == "intent":
            return head(parts["t"]())
        if task == "query":
            return head(torch.cat([parts["t"](), parts["u"]()], dim=1))
        context = parts["t"]() if task == "qa" else torch.cat([parts["t"](), parts["u"]()], dim=1)
        return selection_scores(head["context"](context), head["candidate"](self._texts(batch, "candidates")))


def agent_loss(task: str, outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The task's mean loss: binary cross-entropy with logits (click, sentiment), softmax cross-entropy
    over classes (intent, query) or over candidates (qa, response: ``selection_loss``'s formula)."""
    if TASK_KIND.get(task) == "binary":
        return F.binary_cross_entropy_with_logits(outputs, labels)
    if task in TASK_KIND:
        return F.cross_entropy(outputs, labels)
    raise ValueError(f"task must be one of {AGENT_TASKS}, got {task!r}")


def _tensors(arrays: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {name: torch.from_numpy(np.array(values)) for name, values in arrays.items()}


@torch.no_grad()
def agent_outputs(model: ShoppingGuideModel, task: str, arrays: Mapping[str, np.ndarray],
                  batch_size: int = 4096) -> np.ndarray:
    """The model's outputs for every row of ``arrays`` (one task's split), as numpy."""
    model.eval()
    tensors = _tensors(arrays)
    n = len(arrays["label"])
    parts = [model({k: v[start:start + batch_size] for k, v in tensors.items()}, task)
             for start in range(0, n, batch_size)]
    return torch.cat(parts).numpy()


def evaluate_agent(model: ShoppingGuideModel, data: AgentData, tasks: Sequence[str], split: str = "test") -> dict[str, float]:
    """task → metric on ``split`` (AUC or accuracy), plus ``"<task>:<subset>"`` on the hard rows of
    ``data.agent_tasks.SUBSETS``."""
    return evaluate_outputs(data, tasks, split, lambda task, arrays: agent_outputs(model, task, arrays))


def train_agent(data: AgentData, tasks: Sequence[str], *, seed: int = 0, steps_per_epoch: int = 10, max_epochs: int = 200,
                patience: int = 3, min_delta: float = 1e-3, learning_rate: float = 0.02, uncertainty: bool = False,
                model: ShoppingGuideModel | None = None) -> tuple[ShoppingGuideModel, AgentRun]:
    """Train the tasks jointly: every step takes one batch of each task and minimises the sum of their
    losses, or with ``uncertainty=True`` lesson 05's uncertainty weighting, Σ_t e^{−s_t} L_t + ½ s_t
    (Kendall et al. 2018, eq. 10 for classification losses; the s_t learned with the model).

    Equal budgets: a task's batch is 1/``steps_per_epoch`` of its training rows, drawn from the task's own
    random stream, so a task sees the same batches alone and with any partners. After each epoch each task's
    validation metric (AUC or accuracy) is measured; a task's result is the model at its best epoch, and a
    task that has not improved (by more than ``min_delta``) for ``patience`` epochs stops for good: it
    trains no more, as it would have stopped alone (``early_stopping_loop``). Adam, ``learning_rate``.

    Returns:
        the model (weights of the last epoch) and an ``AgentRun``.
    """
    tasks = check_agent_tasks(tasks)
    check_schedule(steps_per_epoch, max_epochs, patience, min_delta)
    torch.manual_seed(seed)
    model = model if model is not None else ShoppingGuideModel(data.n_users, data.n_items, data.text_ids,
                                                               data.n_buckets, data.n_classes, seed=seed)
    log_variances = nn.Parameter(torch.zeros(len(tasks)))
    optimizer = torch.optim.Adam([*model.parameters(), *([log_variances] if uncertainty else [])], lr=learning_rate)
    train = {t: _tensors(data.arrays[t]["train"]) for t in tasks}
    streams = batch_streams(tasks, seed)

    def run_epoch(epoch: int, active: tuple[str, ...]) -> None:
        model.train()
        batches = epoch_batches(data, {t: streams[t] for t in active}, steps_per_epoch)
        places = [tasks.index(t) for t in active]
        for step in range(steps_per_epoch):
            losses = torch.stack([agent_loss(t, model({k: v[batches[t][step]] for k, v in train[t].items()}, t),
                                             train[t]["label"][batches[t][step]]) for t in active])
            if uncertainty:
                s = log_variances[places]
                objective = (torch.exp(-s) * losses + 0.5 * s).sum()
            else:
                objective = losses.sum()
            optimizer.zero_grad()
            objective.backward()
            optimizer.step()

    run = early_stopping_loop(data, tasks, run_epoch, lambda task, arrays: agent_outputs(model, task, arrays),
                              max_epochs=max_epochs, patience=patience, min_delta=min_delta)
    if uncertainty:
        run.log_variances = dict(zip(tasks, log_variances.tolist()))
    return model, run


# --------------------------------------------------------------------------- many runs, two at a time
_WORKER_DATA: list[AgentData] = []


def _start_worker(data: AgentData) -> None:
    torch.set_num_threads(1)
    _WORKER_DATA[:] = [data]


def _run_job(job: tuple[tuple[str, ...], int, dict]) -> AgentRun:
    tasks, seed, kwargs = job
    return train_agent(_WORKER_DATA[0], tasks, seed=seed, **kwargs)[1]


def run_arms(data: AgentData, arms: Sequence[Sequence[str]], seeds: Sequence[int], *, processes: int = 2,
             **train_kwargs) -> dict[tuple[tuple[str, ...], int], AgentRun]:
    """``train_agent`` for every arm (a tuple of tasks) and seed, in ``processes`` worker processes of one
    thread each (the runs are independent; on a 2-core CPU two at a time finish in about half the time).

    Each worker receives ``data`` once. The results do not depend on ``processes``: a run is seeded and
    single-threaded wherever it runs.

    Returns:
        (arm, seed) → ``AgentRun``, arms as tuples of task names in the order given.
    """
    if isinstance(processes, bool) or not isinstance(processes, (int, np.integer)) or processes < 1:
        raise ValueError(f"processes must be an integer ≥ 1, got {processes!r}")
    jobs = [(check_agent_tasks(arm), int(seed), dict(train_kwargs)) for arm in arms for seed in seeds]
    order = sorted(range(len(jobs)), key=lambda j: -len(jobs[j][0]))  # the long runs first: less idle time at the end
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=context, initializer=_start_worker, initargs=(data,)) as pool:
        runs = dict(zip(order, pool.map(_run_job, [jobs[j] for j in order])))
    return {(jobs[j][0], jobs[j][1]): runs[j] for j in range(len(jobs))}
