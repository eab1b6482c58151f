"""The feedback line every exercise check prints (shared by the per-lesson check modules)."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["feedback"]


def _plain(answer):
    """A framework tensor (even one that requires grad) as a NumPy value; anything else unchanged."""
    try:
        if hasattr(answer, "detach"):
            answer = answer.detach()
        if hasattr(answer, "numpy") and not isinstance(answer, np.ndarray):
            answer = answer.numpy()
    except Exception:  # a check never raises
        return answer
    return answer.item() if isinstance(answer, np.ndarray) and answer.ndim == 0 else answer


def _not_started(answer) -> bool:
    return answer is None or answer is Ellipsis


def feedback(exercise: str, answer, expected, *, rel_tol: float = 1e-3, hint: str = "") -> None:
    """Print whether ``answer`` matches ``expected`` (numbers within ``rel_tol``, else equality):
    a line with "correct ✓", "not yet — …" or "not started yet — …"."""
    if _not_started(answer):
        print(f"{exercise}: not started yet — replace ... with your answer and run the cell again.")
        return
    answer = _plain(answer)
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        try:
            value = float(answer)
        except (TypeError, ValueError, RuntimeError):
            print(f"{exercise}: expected a number, got {type(answer).__name__}. {hint}".rstrip())
            return
        right = math.isclose(value, float(expected), rel_tol=rel_tol, abs_tol=1e-12)
    else:
        right = answer == expected
    if right:
        print(f"{exercise}: correct ✓")
    else:
        print(f"{exercise}: not yet — {answer!r} is not the expected value. {hint}".rstrip())
