"""Exercise checks for lesson 11 (see the package docstring for the contract).

Every check prints one line of feedback and never raises. Expected values are computed from the
exercise's public constants with the package's own functions, never typed in.
"""
from __future__ import annotations

import numpy as np

from ..data.shards import rank_shards
from ._feedback import _as_one, _close, _finite_float, _never_raise, _plain, _remind_if_not_started, feedback

__all__ = ["LESSON11_DATA_PARALLEL", "LESSON11_MASKED", "lesson11_data_parallel", "lesson11_masked_mean",
           "lesson11_float32_drift"]

LESSON11_DATA_PARALLEL = {"train_shards": tuple(range(8)), "processes": 4, "rank": 2, "local_batch": 1024}
"""Exercise 11.1: eight training shards dealt to four processes; process 2's shards and the rows per step."""

LESSON11_MASKED = {"sums": (3.0, 9.0), "counts": (1, 9)}
"""Exercise 11.2: the summed rating losses S_r of processes 0 and 1 over their m_r purchased rows."""


def _shards_expected() -> list[int]:
    spec = LESSON11_DATA_PARALLEL
    return rank_shards(spec["train_shards"], spec["rank"], spec["processes"])


def _brief(answer) -> str:
    """An answer's repr on one line, at most 60 characters."""
    text = " ".join(repr(_plain(answer)).split())
    return text if len(text) <= 60 else text[:59] + "…"


def _shard_numbers(answer) -> list[int] | None:
    """A list, tuple, set, range or 1-D integer array of shard numbers, sorted; None for anything else."""
    if isinstance(answer, np.ndarray) and answer.ndim == 1 and answer.dtype.kind in "iu":
        answer = answer.tolist()
    if not isinstance(answer, (list, tuple, set, frozenset, range)):
        return None
    if not all(isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)) for k in answer):
        return None
    return sorted(int(k) for k in answer)


@_never_raise("Exercise 1", ". Give a list of shard numbers and an int.", detail=0)
def lesson11_data_parallel(shards_of_process, rows_per_step) -> None:
    """Exercise 11.1: process 2's shards (round robin) and the rows of one optimiser step (global batch)."""
    spec = LESSON11_DATA_PARALLEL
    if _remind_if_not_started("Exercise 1", shards_of_process):
        return
    given = _plain(shards_of_process)
    shards = _shard_numbers(given)
    if shards is None:
        print(f"Exercise 1: not yet — give process 2's shards as a list of ints, got {_brief(given)}.")
        return
    expected = _shards_expected()
    if shards != expected:
        hint = ("Process r reads every P-th shard starting at shard r (counting processes and shards from 0)."
                if shards != list(range(spec["rank"] * 2, spec["rank"] * 2 + 2)) else
                "That is a block of consecutive shards; rank_shards deals them round robin: r, r + P, r + 2P, …")
        print(f"Exercise 1: not yet — {shards} are not process 2's shards. {hint}")
        return
    rows = _as_one(rows_per_step)
    if _finite_float(rows) is not None and not float(rows).is_integer():
        print(f"Exercise 1: the shards are right; not yet for the rows — a step sees a whole number of rows, "
              f"got {_brief(rows_per_step)}.")
        return
    if _finite_float(rows) == spec["local_batch"]:
        print("Exercise 1: the shards are right; not yet for the rows — 1,024 is one process's local batch; "
              "one step averages the gradients of all four processes' batches.")
        return
    feedback("Exercise 1", rows, spec["processes"] * spec["local_batch"],
             hint="One optimiser step sees every process's local batch: P × B rows.")


def _masked() -> tuple[float, float]:
    sums, counts = np.asarray(LESSON11_MASKED["sums"]), np.asarray(LESSON11_MASKED["counts"], dtype=float)
    return float(np.mean(sums / counts)), float(sums.sum() / counts.sum())


@_never_raise("Exercise 2", ". Give two numbers.", detail=0)
def lesson11_masked_mean(average_of_means, global_mean) -> None:
    """Exercise 11.2: DDP's average of the per-process mean rating losses, and the global mean."""
    average, overall = _masked()
    if _remind_if_not_started("Exercise 2", average_of_means) or _remind_if_not_started("Exercise 2", global_mean):
        return
    first, second = _finite_float(_as_one(average_of_means)), _finite_float(_as_one(global_mean))
    if first is None or second is None:
        print(f"Exercise 2: not yet — give two numbers, got {_brief(average_of_means)} and {_brief(global_mean)}.")
        return
    right = _close(first, average), _close(second, overall)
    if all(right):
        print("Exercise 2: correct ✓ — the lone purchase of process 0 weighs as much as the nine of process 1.")
    elif _close(first, overall) and _close(second, average):
        print("Exercise 2: not yet — the two answers are swapped: DDP averages each process's own mean.")
    elif right[0]:
        print("Exercise 2: the average of means is right; not yet for the global mean — divide the summed losses "
              "by the summed counts, (S_0 + S_1) / (m_0 + m_1).")
    elif right[1]:
        print("Exercise 2: the global mean is right; not yet for the average of means — each process divides by its "
              "own count first: (S_0/m_0 + S_1/m_1) / 2.")
    else:
        print("Exercise 2: not yet — neither number matches: (S_0/m_0 + S_1/m_1) / 2 and (S_0 + S_1) / (m_0 + m_1).")


FLOAT64_GAP = 1e-10
"""Below this, two runs agreed as float64 runs do; float32 rounding alone moves weights by ~1e-7 in one step."""
LARGEST_PLAUSIBLE_GAP = 1.0
"""The lesson's trained weights are all well below 1 in size, so two runs cannot differ by more."""


@_never_raise("Exercise 3", ". Give a number and True or False.", detail=0)
def lesson11_float32_drift(float32_gap, ddp_is_wrong) -> None:
    """Exercise 11.3: the largest weight difference of the float32 runs, and whether it shows a wrong DDP."""
    if _remind_if_not_started("Exercise 3", float32_gap) or _remind_if_not_started("Exercise 3", ddp_is_wrong):
        return
    gap = _finite_float(_as_one(float32_gap))
    if gap is None or gap < 0:
        print(f"Exercise 3: not yet — the gap is a largest absolute difference, a number ≥ 0; got {_brief(float32_gap)}.")
        return
    if gap > LARGEST_PLAUSIBLE_GAP:
        print(f"Exercise 3: not yet — a gap of {gap:.1e} is larger than the weights themselves (well below 1); "
              "take the largest absolute difference of the two runs' weights, max |w_one − w_ddp|.")
        return
    if gap < FLOAT64_GAP:
        print(f"Exercise 3: not yet — a gap of {gap:.1e} is what the float64 runs give; run both again with "
              "dtype='float32' (and --dtype float32) into new --out folders.")
        return
    verdict = _plain(ddp_is_wrong)
    if not isinstance(verdict, (bool, np.bool_)):
        print(f"Exercise 3: the gap is plausible; for the second answer give True or False, got {_brief(verdict)}.")
        return
    if verdict:
        print("Exercise 3: not yet — the float64 runs agree below 1e-10, so DDP's gradient is the global batch's; "
              "in float32 the two runs sum the same numbers in another order and round differently.")
        return
    print(f"Exercise 3: correct ✓ — a gap of {gap:.1e} comes from rounding (~1e-7 per step), which a flipped ReLU "
          "can amplify; both runs are equally valid trainings.")
