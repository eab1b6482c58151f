"""Candidate-selection heads (QA answer selection, response selection) on hand-computed values, both frameworks."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mtl_lessons.torch_mtl import agent

CONTEXT = np.array([[1.0, 0.0], [0.5, 2.0]], dtype=np.float32)
CANDIDATES = np.array([[[2.0, 0.0], [0.0, 1.0], [-1.0, 0.0]],     # scores 2, 0, −1
                       [[0.0, 1.0], [2.0, 0.0], [0.0, 0.0]]], dtype=np.float32)  # scores 2, 1, 0
ANSWER = np.array([0, 1])
# row 0: −log(e² / (e² + e⁰ + e⁻¹)); row 1: −log(e¹ / (e² + e¹ + e⁰))
EXPECTED = (-math.log(math.exp(2) / (math.exp(2) + 1 + math.exp(-1)))
            - math.log(math.exp(1) / (math.exp(2) + math.exp(1) + 1))) / 2


def test_torch_scores_and_loss_by_hand():
    scores = agent.selection_scores(torch.tensor(CONTEXT), torch.tensor(CANDIDATES))
    np.testing.assert_allclose(scores.numpy(), [[2, 0, -1], [2, 1, 0]])
    loss = agent.selection_loss(torch.tensor(CONTEXT), torch.tensor(CANDIDATES), torch.tensor(ANSWER))
    assert math.isclose(float(loss), EXPECTED, rel_tol=1e-6)


def test_keras_equals_the_hand_value():
    from mtl_lessons.keras_mtl import agent as keras_agent

    np.testing.assert_allclose(np.asarray(keras_agent.selection_scores(CONTEXT, CANDIDATES)), [[2, 0, -1], [2, 1, 0]])
    assert math.isclose(float(keras_agent.selection_loss(CONTEXT, CANDIDATES, ANSWER)), EXPECTED, rel_tol=1e-6)


def test_bad_shapes_and_indices_are_named():
    with pytest.raises(ValueError, match=r"context must be \(n, d\) and candidates \(n, k, d\)"):
        agent.selection_scores(torch.zeros(2, 3), torch.zeros(2, 4, 2))
    with pytest.raises(ValueError, match="answer_index must be int64 of shape"):
        agent.selection_loss(torch.tensor(CONTEXT), torch.tensor(CANDIDATES), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"answer_index must be in \[0, 3\)"):
        agent.selection_loss(torch.tensor(CONTEXT), torch.tensor(CANDIDATES), torch.tensor([0, 3]))
