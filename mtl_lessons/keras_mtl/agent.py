"""Heads of the shopping-guide agent (lesson 09) that choose one of k candidates: the Keras twin of
``torch_mtl.agent`` (s_j = c · a_j, softmax cross-entropy with the right candidate)."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ..data.agent_tasks import (AGENT_TASKS, TASK_KIND, AgentData, AgentRun, batch_streams, check_agent_tasks,
                                check_schedule, early_stopping_loop, epoch_batches, evaluate_outputs)
from .layers import EMBEDDING_INIT_RANGE, TextEncoder, _dense, _Seeds


def selection_scores(context, candidates):
    """Dot-product scores (n, k) of contexts (n, d) against candidates (n, k, d)."""
    if len(context.shape) != 2 or len(candidates.shape) != 3 or candidates.shape[0] != context.shape[0] \
            or candidates.shape[2] != context.shape[1]:
        raise ValueError(f"context must be (n, d) and candidates (n, k, d) with the same n and d, got "
                         f"{tuple(context.shape)} and {tuple(candidates.shape)}")
    return ops.einsum("nd,nkd->nk", context, candidates)


def selection_loss(context, candidates, answer_index):
    """Mean softmax cross-entropy of the right candidate; ``answer_index`` int (n,) in [0, k)."""
    scores = selection_scores(context, candidates)
    return ops.mean(ops.sparse_categorical_crossentropy(answer_index, scores, from_logits=True))


# --------------------------------------------------------------------------- the agent's model
class ShoppingGuideModel(keras.Model):
    """The Keras twin of ``torch_mtl.agent.ShoppingGuideModel``: shopper and item embeddings and a hashed
    n-gram ``TextEncoder`` shared by six heads (see there for the heads). ``model(batch, task=task)`` returns
    (n,) logits for a binary task, (n, C) logits or (n, k) scores otherwise.
    """

    def __init__(self, n_users: int, n_items: int, text_ids: np.ndarray, n_buckets: int, n_classes: dict[str, int], *,
                 id_dim: int = 16, text_dim: int = 32, hidden: int = 32, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        seeds = _Seeds(seed)
        self.text_ids = tf.constant(np.asarray(text_ids, dtype=np.int64))

        def embedding(n: int, name: str) -> keras.layers.Embedding:
            return keras.layers.Embedding(n, id_dim, name=name, embeddings_initializer=keras.initializers.RandomUniform(
                -EMBEDDING_INIT_RANGE, EMBEDDING_INIT_RANGE, seed=seeds.next()))

        self.user_embedding = embedding(n_users, "user_embedding")
        self.item_embedding = embedding(n_items, "item_embedding")
        self.text_encoder = TextEncoder(n_buckets, text_dim, seed=seeds.next())

        def mlp(width: int, out: int, name: str) -> keras.Sequential:
            return keras.Sequential([keras.Input((width,)), _dense(hidden, seeds, activation="relu"), _dense(out, seeds)],
                                    name=name)

        self.click_head = mlp(2 * id_dim, 1, "click")
        self.sentiment_head = mlp(text_dim + 2 * id_dim, 1, "sentiment")
        self.query_head = mlp(text_dim + id_dim, n_classes["query"], "query")
        self.intent_head = _dense(n_classes["intent"], seeds, name="intent")
        self.qa_context, self.qa_candidate = _dense(text_dim, seeds, name="qa_context"), _dense(text_dim, seeds, name="qa_candidate")
        self.response_context = _dense(text_dim, seeds, name="response_context")
        self.response_candidate = _dense(text_dim, seeds, name="response_candidate")
        self.user_embedding.build((None,))
        self.item_embedding.build((None,))
        self.text_encoder.build()
        for layer, width in ((self.intent_head, text_dim), (self.qa_context, text_dim), (self.qa_candidate, text_dim),
                             (self.response_context, text_dim + id_dim), (self.response_candidate, text_dim)):
            layer.build((None, width))
        self.built = True

    def encode_texts(self, text_index):
        """The encoding (…, text_dim) of each text index (any shape), each distinct text encoded once."""
        flat = tf.reshape(text_index, [-1])
        distinct, position = tf.unique(flat)
        encoded = tf.gather(self.text_encoder(tf.gather(self.text_ids, distinct)), position)
        return tf.reshape(encoded, tf.concat([tf.shape(text_index), [self.text_encoder.dim]], axis=0))

    def _texts(self, batch, key: str):
        """Encode ``batch[key]`` (indices into ``text_ids``) or ``batch[key + "_ids"]`` (hashed ids (…, L))."""
        if key + "_ids" in batch:
            raw = batch[key + "_ids"]
            encoded = self.text_encoder(tf.reshape(raw, [-1, tf.shape(raw)[-1]]))
            return tf.reshape(encoded, tf.concat([tf.shape(raw)[:-1], [self.text_encoder.dim]], axis=0))
        return self.encode_texts(batch[key])

    def call(self, batch, task: str):
        if task not in AGENT_TASKS:
            raise ValueError(f"task must be one of {AGENT_TASKS}, got {task!r}")
        if task == "click":
            return ops.squeeze(self.click_head(ops.concatenate([self.user_embedding(batch["user"]),
                                                                self.item_embedding(batch["item"])], axis=1)), 1)
        text = self._texts(batch, "text")
        if task == "sentiment":
            return ops.squeeze(self.sentiment_head(ops.concatenate(
                [text, self.user_embedding(batch["user"]), self.item_embedding(batch["item"])], axis=1)), 1)
        if task == "intent":
            return self.intent_head(text)
        if task == "query":
            return self.query_head(ops.concatenate([text, self.user_embedding(batch["user"])], axis=1))
        candidates = self._texts(batch, "candidates")
        if task == "qa":
            return selection_scores(self.qa_context(text), self.qa_candidate(candidates))
        return selection_scores(self.response_context(ops.concatenate([text, self.user_embedding(batch["user"])], axis=1)),
                                self.response_candidate(candidates))


def agent_loss(task: str, outputs, labels):
    """The task's mean loss: binary cross-entropy with logits (click, sentiment), softmax cross-entropy
    over classes (intent, query) or over candidates (qa, response)."""
    if TASK_KIND.get(task) == "binary":
        return ops.mean(ops.binary_crossentropy(labels, outputs, from_logits=True))
    if task in TASK_KIND:
        return ops.mean(ops.sparse_categorical_crossentropy(labels, outputs, from_logits=True))
    raise ValueError(f"task must be one of {AGENT_TASKS}, got {task!r}")


def agent_outputs(model: ShoppingGuideModel, task: str, arrays, batch_size: int = 4096) -> np.ndarray:
    """The model's outputs for every row of ``arrays`` (one task's split), as numpy."""
    n = len(arrays["label"])
    parts = [model({k: tf.constant(v[start:start + batch_size]) for k, v in arrays.items()}, task=task, training=False)
             for start in range(0, n, batch_size)]
    return np.concatenate([ops.convert_to_numpy(p) for p in parts])


def evaluate_agent(model: ShoppingGuideModel, data: AgentData, tasks, split: str = "test") -> dict[str, float]:
    """task → metric on ``split``, plus ``"<task>:<subset>"`` on the hard rows (see the PyTorch twin)."""
    return evaluate_outputs(data, tasks, split, lambda task, arrays: agent_outputs(model, task, arrays))


def train_agent(data: AgentData, tasks, *, seed: int = 0, steps_per_epoch: int = 10, max_epochs: int = 200,
                patience: int = 3, min_delta: float = 1e-3, learning_rate: float = 0.02, uncertainty: bool = False,
                model: ShoppingGuideModel | None = None) -> tuple[ShoppingGuideModel, AgentRun]:
    """The Keras twin of ``torch_mtl.agent.train_agent`` (same batches, objective, schedule and early
    stopping; a ``tf.function`` step with ``tf.GradientTape``, in which a stopped task's loss is multiplied
    by 0, so it sends no gradient, instead of being left out)."""
    tasks = check_agent_tasks(tasks)
    check_schedule(steps_per_epoch, max_epochs, patience, min_delta)
    keras.utils.set_random_seed(seed)
    model = model if model is not None else ShoppingGuideModel(data.n_users, data.n_items, data.text_ids,
                                                               data.n_buckets, data.n_classes, seed=seed)
    log_variances = tf.Variable(tf.zeros(len(tasks)), name="log_variances")
    used = {"click": ("user_embedding", "item_embedding", "click"), "intent": ("text_encoder", "intent"),
            "qa": ("text_encoder", "qa_"), "response": ("text_encoder", "user_embedding", "response_"),
            "sentiment": ("text_encoder", "user_embedding", "item_embedding", "sentiment"),
            "query": ("text_encoder", "user_embedding", "query")}
    prefixes = tuple({p for t in tasks for p in used[t]})
    variables = [v for v in model.trainable_variables if v.path.split("/")[0].startswith(prefixes)]
    variables += [log_variances] if uncertainty else []
    optimizer = keras.optimizers.Adam(learning_rate)
    train = {t: data.arrays[t]["train"] for t in tasks}
    streams = batch_streams(tasks, seed)
    signature = {t: {k: tf.TensorSpec((None, *v.shape[1:]), tf.as_dtype(v.dtype)) for k, v in train[t].items()}
                 for t in tasks}
    training = tf.Variable(tf.ones(len(tasks)), trainable=False, name="still_training")  # 0 once a task stops

    @tf.function(input_signature=[signature])  # one trace for all batch sizes and every set of active tasks
    def step(batches):
        with tf.GradientTape() as tape:
            losses = tf.stack([agent_loss(t, model(batches[t], task=t, training=True), batches[t]["label"]) for t in tasks])
            terms = ops.exp(-log_variances) * losses + 0.5 * log_variances if uncertainty else losses
            objective = ops.sum(training * terms)  # a stopped task sends no gradient
        optimizer.apply_gradients(zip(tape.gradient(objective, variables), variables))

    def run_epoch(epoch: int, active: tuple[str, ...]) -> None:
        training.assign([1.0 if t in active else 0.0 for t in tasks])
        batches = epoch_batches(data, streams, steps_per_epoch)  # stopped tasks' batches too: one compiled step
        for s in range(steps_per_epoch):
            step({t: {k: tf.constant(v[batches[t][s]]) for k, v in train[t].items()} for t in tasks})

    predictors = {t: tf.function(lambda batch, t=t: model(batch, task=t, training=False), input_signature=[signature[t]])
                  for t in tasks}

    def outputs_of(task: str, arrays) -> np.ndarray:
        n = len(arrays["label"])
        return np.concatenate([predictors[task]({k: tf.constant(v[start:start + 4096]) for k, v in arrays.items()}).numpy()
                               for start in range(0, n, 4096)])

    run = early_stopping_loop(data, tasks, run_epoch, outputs_of, max_epochs=max_epochs, patience=patience,
                              min_delta=min_delta)
    if uncertainty:
        run.log_variances = dict(zip(tasks, log_variances.numpy().tolist()))
    return model, run
