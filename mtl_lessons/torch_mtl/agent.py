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

import torch
import torch.nn.functional as F


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
