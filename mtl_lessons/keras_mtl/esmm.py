r"""ESMM in Keras 3: the Entire Space Multi-Task Model (Ma et al., SIGIR 2018) and its chain along the
shop's funnel, trained by the same ``train`` as the other models.

The same model as :mod:`mtl_lessons.torch_mtl.esmm` (see its docstring for the formulas): one tower per
funnel stage gives the logit :math:`c_k` of P(stage k | stage k−1, x); the model's output for stage k
is the logit of the joint probability :math:`p_k = \prod_{j \le k} \sigma(c_j)` of reaching it (ESMM
eq. 1), so ``train``'s binary cross-entropy on it over all impressions is ESMM's loss (eq. 3), with no
loss on the conditional probabilities themselves. The logit is computed without forming
:math:`1 - p_k`:
:math:`\operatorname{logit} p_k = \sum_{j \le k} \log\sigma(c_j) - \operatorname{logsumexp}_{j \le k}
(\sum_{i<j} \log\sigma(c_i) + \log\sigma(-c_j))`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import tensorflow as tf
from keras import ops

from ..data import ModelInputs
from ..mtl_core import NUMERIC_KEY, check_funnel, check_inputs, check_positive_int
from .models import MultiTaskNet, _check_model
from .training import feature_tensors


def funnel_logits(stage_logits: Sequence[tf.Tensor]) -> list[tf.Tensor]:
    """The logits of the joint probabilities p_k = Π_{j≤k} σ(c_j) from the conditional logits c_j.

    Args:
        stage_logits: c_1 … c_K, each (n,): the logit of stage k given stage k−1.

    Returns:
        logit p_1 … logit p_K, each (n,); logit p_1 = c_1. Finite for finite inputs.
    """
    reached = ops.zeros_like(stage_logits[0])  # Σ_{i<j} log σ(c_i): log P(reach stage j−1)
    left = []                                   # log P(reach stage j−1, then stop at j)
    joint = []
    for logit in stage_logits:
        left.append(reached + ops.log_sigmoid(-logit))
        reached = reached + ops.log_sigmoid(logit)
        joint.append(reached - ops.logsumexp(ops.stack(left), axis=0))
    return joint


class ESMMModel(MultiTaskNet):
    """ESMM over the entire space, or its chain along a longer funnel.

    Shared embeddings (and an optional shared ``bottom``, empty in the paper) → per stage a tower and a
    head giving the stage's conditional logit (:meth:`stage_logits`) → ``call`` returns, per stage, the
    logit of the joint probability of reaching it.

    Args:
        cardinalities, n_numeric, dropout, embedding_dims, seed, name: as in
            :class:`~mtl_lessons.keras_mtl.MultiTaskNet`.
        funnel: the stages in funnel order, each a binary task labelled on every impression
            (``("click", "purchase")``: ESMM; ``("click", "add_to_cart", "purchase")``: the chain).
        tower: hidden sizes of each stage's tower.
        bottom: hidden sizes of a shared MLP under the towers (``()``: share the embeddings only).

    Attributes:
        funnel: the stages; ``tasks`` is the same tuple. ``towers[stage]`` and ``heads[stage]``
        compute the conditional probability of the stage (ESMM's CVR tower is ``towers["purchase"]``).
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int,
                 funnel: Sequence[str] = ("click", "purchase"), *, tower: Sequence[int] = (64, 32),
                 bottom: Sequence[int] = (), dropout: float = 0.0,
                 embedding_dims: Mapping[str, int] | None = None, seed: int | None = None,
                 name: str | None = None):
        funnel = check_funnel(funnel)
        super().__init__(cardinalities, n_numeric, funnel, bottom=bottom, tower=tower, dropout=dropout,
                         embedding_dims=embedding_dims, seed=seed, name=name, architecture={"funnel": funnel})
        self.funnel = funnel
        signature = {feature: tf.TensorSpec([None], tf.int64) for feature in self.features.feature_names}
        signature[NUMERIC_KEY] = tf.TensorSpec([None, self.n_numeric], tf.float32)
        self._conditional = tf.function(lambda inputs: self.stage_logits(inputs, training=False),
                                        input_signature=[signature])

    def stage_logits(self, inputs: Mapping[str, tf.Tensor], training: bool = False) -> dict[str, tf.Tensor]:
        """stage → c_k (n,), the logit of P(stage | previous stage, x) (the first: P(stage | x))."""
        shared = self.bottom(self.features(inputs), training=training)
        return {stage: ops.squeeze(self.heads[stage](self.towers[stage](shared, training=training)), axis=-1)
                for stage in self.tasks}

    def call(self, inputs: Mapping[str, tf.Tensor], training: bool = False) -> dict[str, tf.Tensor]:
        """stage → logit of P(reach the stage | x) (n,): for ESMM, click → pCTR, purchase → pCTCVR."""
        conditional = self.stage_logits(inputs, training=training)
        return dict(zip(self.tasks, funnel_logits([conditional[stage] for stage in self.tasks])))


def predict_conditional(model: ESMMModel, inputs: ModelInputs, batch_size: int = 8192) -> dict[str, np.ndarray]:
    """Each stage's conditional probability on every row: stage → float32 (n,).

    For ESMM ``{"click": pCTR, "purchase": pCVR}``, pCVR = P(purchase | click, x) on *every* impression,
    clicked or not (``keras_mtl.predict`` gives the joint probabilities: pCTR and pCTCVR).

    Raises:
        ValueError: ``model`` is not an ESMMModel, or ``inputs`` does not fit it.
    """
    model = _check_model(model)
    if not isinstance(model, ESMMModel):
        raise ValueError(f"model must be an ESMMModel (a funnel model), got {type(model).__name__}")
    check_inputs(inputs, "inputs", cardinalities=model.cardinalities, n_numeric=model.n_numeric)
    check_positive_int("batch_size", batch_size)
    feeds = feature_tensors(inputs)
    feeds = {name: feeds[name] for name in (*model.features.feature_names, NUMERIC_KEY)}
    chunks: dict[str, list[np.ndarray]] = {stage: [] for stage in model.funnel}
    for start in range(0, len(inputs), batch_size):
        logits = model._conditional({name: t[start:start + batch_size] for name, t in feeds.items()})
        for stage in model.funnel:
            chunks[stage].append(np.asarray(ops.sigmoid(logits[stage])))
    return {stage: np.concatenate(parts) if parts else np.zeros((0,), np.float32) for stage, parts in chunks.items()}
