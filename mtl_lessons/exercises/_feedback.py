"""The feedback line every exercise check prints, and the small helpers the per-lesson check
modules share (reading an answer as a number, the not-started reminder, never raising)."""
from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

__all__ = ["feedback"]

_NOT_STARTED = "not started yet — replace ... with your answer and run the cell again."


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


def _remind_if_not_started(exercise: str, answer) -> bool:
    """If ``answer`` is still ``...`` or ``None``, print the not-started reminder and return True."""
    if _not_started(answer):
        print(f"{exercise}: {_NOT_STARTED}")
        return True
    return False


def _as_number(answer):
    """A string that spells a number (``"0.68"``, ``"12,460"``, ``"12_460"``) as that number;
    a one-element array or tensor as its value; any other answer unchanged (the feedback line
    handles it)."""
    answer = _plain(answer)
    if isinstance(answer, np.ndarray) and answer.size == 1 and answer.dtype.kind in "iuf":
        return answer.reshape(()).item()
    if isinstance(answer, (str, bytes)):
        text = answer.decode(errors="replace") if isinstance(answer, bytes) else answer
        cleaned = text.strip().replace(",", "").replace("_", "").replace(" ", "")
        try:
            return float(cleaned)
        except ValueError:
            return answer
    return answer


def _finite_float(value) -> float | None:
    """``value`` as a finite float, or None (a bool, a string, an array, an overflow, nan, ...)."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        return None
    try:
        number = float(value)
    except Exception:  # a check never raises
        return None
    return number if math.isfinite(number) else None


def _close(a: float, b: float) -> bool:
    """``a`` is finite and within 0.1 % of ``b``."""
    return math.isfinite(a) and math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-9)


def _safely(exercise: str, check: Callable[[], None], advice: str = ".", *, detail: int | None = 80,
            instead: str | None = None) -> None:
    """Run ``check()``; if it raises, print one feedback line instead: ``"<exercise>: could not check
    this answer (<error type>: <its message>)"`` followed by ``advice`` (punctuation included), or
    ``"<exercise>: <instead>"`` when ``instead`` is given. ``detail``: how many characters of the
    error's message to show (None: all of it; 0: only the error's type)."""
    try:
        check()
    except Exception as error:  # a check never raises
        if instead is not None:
            print(f"{exercise}: {instead}")
            return
        shown = type(error).__name__ if detail == 0 else f"{type(error).__name__}: {str(error)[:detail]}"
        print(f"{exercise}: could not check this answer ({shown}){advice}")


def _never_raise(exercise: str, advice: str = ".", *, detail: int | None = 80) -> Callable:
    """Decorator form of :func:`_safely`: the whole call runs inside it (a missing argument included)."""
    def wrap(check: Callable) -> Callable:
        @functools.wraps(check)
        def safe(*args, **kwargs) -> None:
            _safely(exercise, lambda: check(*args, **kwargs), advice, detail=detail)
        return safe
    return wrap


def feedback(exercise: str, answer, expected, *, rel_tol: float = 1e-3, hint: str = "") -> None:
    """Print whether ``answer`` matches ``expected`` (numbers within ``rel_tol``, else equality):
    a line with "correct ✓", "not yet — …" or "not started yet — …"."""
    if _not_started(answer):
        print(f"{exercise}: {_NOT_STARTED}")
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


def _as_one(answer):
    """A one-element list or tuple as its element, a string ``"a/b"`` as a / b, then as :func:`_as_number`
    reads it (a string that spells a number, a one-element array or tensor as that number)."""
    answer = _plain(answer)
    if isinstance(answer, (list, tuple)) and len(answer) == 1:
        answer = _plain(answer[0])
    if isinstance(answer, str) and answer.count("/") == 1:
        numerator, denominator = (_as_number(part) for part in answer.split("/"))
        if isinstance(numerator, float) and isinstance(denominator, float) and denominator != 0.0:
            return numerator / denominator
    return _as_number(answer)
