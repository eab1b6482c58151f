"""Heads of the shopping-guide agent (lesson 09) that choose one of k candidates: the Keras twin of
``torch_mtl.agent`` (s_j = c · a_j, softmax cross-entropy with the right candidate)."""
from __future__ import annotations

from keras import ops


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
