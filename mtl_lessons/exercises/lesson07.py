"""Exercise checks for lesson 07 (see the package docstring for the contract).

Every check prints one line of feedback and never raises, whatever the answer is (an int, a float,
a NumPy scalar or one-element array, a PyTorch or TensorFlow tensor, a string such as ``"2.5"``
or ``"12,345"``, None, a list, a dict, ...). The expected values are computed here from the
exercise's numbers, never typed in.
"""
from __future__ import annotations

import math

import numpy as np

from ._feedback import _finite_float, _as_number, _never_raise, _plain, _remind_if_not_started, feedback

__all__ = ["lesson07_mmoe_parameters", "lesson07_gate"]

# Exercise 1's MMoE: 100 numeric inputs, 4 experts of one hidden layer of 32 units, towers of one
# hidden layer of 8 units, three regression tasks (one output each).
_MMOE = {"n_inputs": 100, "n_experts": 4, "expert": 32, "tower": 8, "n_tasks": 3}

# Exercise 2's gate: its logits over three experts and the experts' one-unit outputs on one row.
_GATE_LOGITS = (2.0, 0.0, -1.0)
_EXPERT_OUTPUTS = (1.0, 4.0, -2.0)


def _mmoe_parameter_count(n_inputs: int, n_experts: int, expert: int, tower: int, n_tasks: int, *,
                          gate_bias: bool = False, gates: int | None = None, expert_bias: bool = True,
                          tower_bias: bool = True, heads: bool = True) -> int:
    """Trainable parameters of an MMoE on ``n_inputs`` inputs (no embeddings), ``n_experts`` experts of
    one hidden layer of ``expert`` units, towers of one hidden layer of ``tower`` units and ``n_tasks``
    one-output heads: experts n·(d·h + h), gates (one per task) d·n each, towers h·t + t, heads t + 1.

    The keyword arguments describe the usual slips (a bias in every gate, one gate for all tasks, ...)
    so that the check can recognise them; their defaults give the true count."""
    d, n, h, t, k = n_inputs, n_experts, expert, tower, n_tasks
    experts = n * (d * h + (h if expert_bias else 0))
    gate_parameters = (k if gates is None else gates) * (d * n + (n if gate_bias else 0))
    towers = k * (h * t + (t if tower_bias else 0))
    head_parameters = k * (t + 1) if heads else 0
    return experts + gate_parameters + towers + head_parameters


# The usual slips of exercise 1 and what to say about each (never the number itself).
_MMOE_SLIPS = (
    ({"gate_bias": True}, "A gate is one linear map with no bias: d·n weights per gate, nothing more."),
    ({"gates": 1}, "MMoE has one gate per task (a single gate shared by all tasks is OMoE)."),
    ({"gates": 1, "gate_bias": True}, "MMoE has one gate per task, and a gate has no bias."),
    ({"tower_bias": False}, "Each tower's hidden layer has a bias too: one per unit."),
    ({"expert_bias": False}, "Each expert's hidden layer has a bias too: one per unit."),
    ({"expert_bias": False, "tower_bias": False}, "The hidden layers of the experts and the towers have biases."),
    ({"heads": False}, "Count the heads too: each task's output layer has one weight per tower unit and a bias."),
)
_MMOE_HINT = ("Add four parts: the experts n·(d·h + h), one gate per task (d·n each, no bias), the towers "
              "(h·t + t each) and the heads (t + 1 each). Commonly forgotten: one gate per task, the towers' biases; "
              "commonly added by mistake: a gate bias.")


def _as_one(answer):
    """A one-element list or tuple as its element, then as :func:`_as_number` reads it (a string that
    spells a number, a one-element array or tensor as that number; anything else unchanged)."""
    answer = _plain(answer)
    if isinstance(answer, (list, tuple)) and len(answer) == 1:
        answer = _plain(answer[0])
    return _as_number(answer)


def _mmoe_hint(value) -> str:
    number = _finite_float(value)
    if number is not None:
        for slip, hint in _MMOE_SLIPS:
            if number == _mmoe_parameter_count(**_MMOE, **slip):
                return hint
    return _MMOE_HINT


@_never_raise("Exercise 1", ". Give a single whole number.", detail=0)
def lesson07_mmoe_parameters(answer) -> None:
    """Exercise 07.1: trainable parameters of an MMoE on 100 numeric inputs with 4 experts of (32,),
    towers of (8,) and three regression tasks."""
    if _remind_if_not_started("Exercise 1", answer):
        return
    value = _as_one(answer)
    feedback("Exercise 1", value, _mmoe_parameter_count(**_MMOE), rel_tol=0.0, hint=_mmoe_hint(value))


def _softmax(logits) -> np.ndarray:
    z = np.asarray(logits, dtype=float)
    e = np.exp(z - z.max())
    return e / e.sum()


def _gate_mixture() -> float:
    """Exercise 2's expected answer: softmax(logits) · expert outputs."""
    return float(_softmax(_GATE_LOGITS) @ np.asarray(_EXPERT_OUTPUTS))


def _as_vector(answer) -> np.ndarray | None:
    """``answer`` (a list, tuple, array or tensor of several numbers) as a finite float vector, or None."""
    answer = _plain(answer)
    if isinstance(answer, (str, bytes, dict)) or not hasattr(answer, "__len__"):
        return None
    try:
        vector = np.asarray([_plain(item) for item in answer] if isinstance(answer, (list, tuple)) else answer,
                            dtype=float)
    except Exception:  # a check never raises
        return None
    if vector.ndim != 1 or vector.size < 2 or not np.isfinite(vector).all():
        return None
    return vector


_GATE_HINT = ("The gate's output is a softmax-weighted average of the experts' outputs: "
              "Σ_i softmax(logits)_i · output_i, with softmax(z)_i = exp(z_i) / Σ_j exp(z_j).")


def _gate_hint(value) -> str:
    number = _finite_float(value)
    if number is None:
        return _GATE_HINT
    outputs = np.asarray(_EXPERT_OUTPUTS)
    logits = np.asarray(_GATE_LOGITS)
    if math.isclose(number, float(outputs.mean()), rel_tol=1e-3) \
            or math.isclose(number, float(outputs[int(logits.argmax())]), rel_tol=1e-3):
        return ("That is the plain mean of the outputs, or the output of the expert with the largest logit; the gate "
                "mixes all three experts with weights softmax(logits), so it is a softmax-weighted average.")
    if math.isclose(number, float(np.exp(logits) @ outputs), rel_tol=1e-3):
        return "The weights exp(logit) must be divided by their sum (that is the softmax), so that they add up to 1."
    if math.isclose(number, float(logits @ outputs), rel_tol=1e-3):
        return ("Weight the outputs by softmax(logits): not by the raw logits, and not only the largest output "
                "(the gate mixes all three experts).")
    if math.isclose(number, _gate_mixture(), rel_tol=1e-2):
        return "Close: give at least three decimals."
    return _GATE_HINT


@_never_raise("Exercise 2", ". Give a single number.", detail=0)
def lesson07_gate(answer) -> None:
    """Exercise 07.2: the output of a gate with logits [2, 0, −1] over experts whose outputs are [1, 4, −2]."""
    if _remind_if_not_started("Exercise 2", answer):
        return
    vector = _as_vector(answer)
    if vector is not None and vector.size == len(_GATE_LOGITS):
        weights = _softmax(_GATE_LOGITS)
        if np.allclose(vector, weights, rtol=0.0, atol=2e-3):
            print("Exercise 2: not yet — these are the gate's three weights softmax(logits) (they sum to 1); "
                  "now use them to mix the experts' outputs into one number.")
        elif np.allclose(vector, weights * np.asarray(_EXPERT_OUTPUTS), rtol=0.0, atol=2e-3):
            print("Exercise 2: not yet — these are the weighted outputs softmax(logits)_i · output_i; "
                  "the gate's output is their sum, one number.")
        else:
            print(f"Exercise 2: not yet — expected one number, the mixture, not {vector.size} numbers. {_GATE_HINT}")
        return
    if vector is not None:
        print(f"Exercise 2: not yet — expected one number, the mixture, not {vector.size} numbers. {_GATE_HINT}")
        return
    value = _as_one(answer)
    feedback("Exercise 2", value, _gate_mixture(), rel_tol=1e-3, hint=_gate_hint(value))
