r"""ESMM in PyTorch: the Entire Space Multi-Task Model (Ma et al., SIGIR 2018) and its chain along the
shop's funnel, trained by the same ``train`` as the other models.

A funnel of stages :math:`s_1 \to s_2 \to \dots \to s_K` (``("click", "purchase")`` is ESMM;
``("click", "add_to_cart", "purchase")`` the chain) has one tower per stage, all reading the shared
embeddings. Tower :math:`k` outputs the logit :math:`c_k` of the *conditional* probability

.. math::  q_k(x) = \sigma(c_k) = P(s_k = 1 \mid s_{k-1} = 1, x), \qquad q_1(x) = P(s_1 = 1 \mid x),

(ESMM's pCTR and pCVR), and the model's output for stage :math:`k` is the *joint* probability of
reaching it, a product over the funnel (ESMM eq. 1: pCTCVR = pCTR × pCVR):

.. math::  p_k(x) = P(s_k = 1 \mid x) = \prod_{j \le k} q_j(x).

``forward`` returns each :math:`p_k` as a logit, so ``task_losses``' binary cross-entropy on it, over
all impressions, is ESMM's loss (eq. 3), one term per stage:

.. math::  L = \sum_k \sum_{i=1}^{N} \ell\bigl(y^{(k)}_i, p_k(x_i)\bigr), \qquad
           y^{(k)} = 1 \text{ iff the impression reached } s_k.

For two stages that is :math:`\ell(y, \text{pCTR}) + \ell(y \wedge z, \text{pCTR} \times \text{pCVR})`:
there is **no** loss on pCVR itself; the CVR tower learns only through the product, on every
impression, which is what removes the sample-selection bias of a CVR model trained on clicks.

The logit is computed without forming :math:`1 - p_k` (which rounds to 0 in float32 when
:math:`p_k \to 1`): :math:`1 - p_k = \sum_{j \le k} \bigl(\prod_{i<j} q_i\bigr)(1 - q_j)`, the
probability of leaving the funnel at stage :math:`j`, so

.. math::  \operatorname{logit} p_k = \sum_{j \le k} \log\sigma(c_j)
           - \operatorname{logsumexp}_{j \le k}\Bigl(\sum_{i<j} \log\sigma(c_i) + \log\sigma(-c_j)\Bigr),

which is exactly :math:`c_1` for the first stage.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from ..data import ModelInputs
from ..mtl_core import check_funnel, check_inputs, check_positive_int
from .models import MultiTaskNet, _check_model
from .training import feature_tensors


def funnel_logits(stage_logits: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The logits of the joint probabilities p_k = Π_{j≤k} σ(c_j) from the conditional logits c_j.

    Args:
        stage_logits: c_1 … c_K, each (n,): the logit of stage k given stage k−1.

    Returns:
        logit p_1 … logit p_K, each (n,); logit p_1 = c_1. Finite for finite inputs.
    """
    reached = torch.zeros_like(stage_logits[0])  # Σ_{i<j} log σ(c_i): log P(reach stage j−1)
    left: list[torch.Tensor] = []                 # log P(reach stage j−1, then stop at j)
    joint = []
    for logit in stage_logits:
        left.append(reached + F.logsigmoid(-logit))
        reached = reached + F.logsigmoid(logit)
        joint.append(reached - torch.logsumexp(torch.stack(left), dim=0))
    return joint


class ESMMModel(MultiTaskNet):
    """ESMM over the entire space, or its chain along a longer funnel.

    Shared embeddings (and an optional shared ``bottom``, empty in the paper) → per stage a tower and a
    head giving the stage's conditional logit (:meth:`stage_logits`) → ``forward`` returns, per stage,
    the logit of the joint probability of reaching it (see the module docstring).

    Args:
        cardinalities, n_numeric, dropout, embedding_dims, seed: as in
            :class:`~mtl_lessons.torch_mtl.MultiTaskNet`.
        funnel: the stages in funnel order, each a binary task labelled on every impression
            (``("click", "purchase")``: ESMM's CTR and CVR towers; ``("click", "add_to_cart",
            "purchase")``: the chain).
        tower: hidden sizes of each stage's tower.
        bottom: hidden sizes of a shared MLP under the towers (``()``: share the embeddings only).

    Attributes:
        funnel: the stages; ``tasks`` is the same tuple. ``towers[stage]`` and ``heads[stage]``
        compute the conditional probability of the stage (ESMM's CVR tower is ``towers["purchase"]``).
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int,
                 funnel: Sequence[str] = ("click", "purchase"), *, tower: Sequence[int] = (64, 32),
                 bottom: Sequence[int] = (), dropout: float = 0.0,
                 embedding_dims: Mapping[str, int] | None = None, seed: int | None = None):
        funnel = check_funnel(funnel)
        super().__init__(cardinalities, n_numeric, funnel, bottom=bottom, tower=tower, dropout=dropout,
                         embedding_dims=embedding_dims, seed=seed, architecture={"funnel": funnel})
        self.funnel = funnel

    def stage_logits(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """stage → c_k (n,), the logit of P(stage | previous stage, x) (the first: P(stage | x))."""
        shared = self.bottom(self.features(inputs))
        return {stage: self.heads[stage](self.towers[stage](shared)).squeeze(-1) for stage in self.funnel}

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """stage → logit of P(reach the stage | x) (n,): for ESMM, click → pCTR, purchase → pCTCVR."""
        conditional = self.stage_logits(inputs)
        return dict(zip(self.funnel, funnel_logits([conditional[stage] for stage in self.funnel])))


def predict_conditional(model: ESMMModel, inputs: ModelInputs, batch_size: int = 8192) -> dict[str, np.ndarray]:
    """Each stage's conditional probability on every row: stage → float32 (n,).

    For ESMM ``{"click": pCTR, "purchase": pCVR}``, pCVR = P(purchase | click, x) on *every* impression,
    clicked or not (``torch_mtl.predict`` gives the joint probabilities: pCTR and pCTCVR). The model is
    run in evaluation mode and left as it was.

    Raises:
        ValueError: ``model`` is not an ESMMModel, or ``inputs`` does not fit it.
    """
    model = _check_model(model)
    if not isinstance(model, ESMMModel):
        raise ValueError(f"model must be an ESMMModel (a funnel model), got {type(model).__name__}")
    check_inputs(inputs, "inputs", cardinalities=model.cardinalities, n_numeric=model.n_numeric)
    check_positive_int("batch_size", batch_size)
    feeds = feature_tensors(inputs)
    chunks: dict[str, list[np.ndarray]] = {stage: [] for stage in model.funnel}
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(inputs), batch_size):
                logits = model.stage_logits({name: t[start:start + batch_size] for name, t in feeds.items()})
                for stage in model.funnel:
                    chunks[stage].append(torch.sigmoid(logits[stage]).numpy())
    finally:
        model.train(was_training)
    return {stage: np.concatenate(parts) if parts else np.zeros((0,), np.float32) for stage, parts in chunks.items()}
