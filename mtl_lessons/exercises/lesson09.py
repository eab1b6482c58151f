"""Exercise checks for lesson 09 (see the package docstring for the contract).

Every check prints one line of feedback and never raises. Expected values are computed from the
exercise's public constants with the package's own functions, never typed in.
"""
from __future__ import annotations

import math

import numpy as np

from ..data.agent_tasks import ROUTES
from ..data.hashing import char_ngrams, ngram_id
from ..data.text import INTENTS
from ._feedback import _as_one, _close, _finite_float, _never_raise, _plain, _remind_if_not_started

__all__ = ["LESSON09_HASHING", "LESSON09_SELECTION", "lesson09_hashing", "lesson09_selection_loss", "lesson09_routes"]

LESSON09_HASHING = {"text": "有哪些尺码", "ngram": "尺码", "n_buckets": 4096}
"""Exercise 9.1: the utterance, one of its 2-grams, and the number of buckets (id 0 is padding)."""

LESSON09_SELECTION = {"context": (1.0, 0.0), "candidates": ((2.0, 0.0), (0.0, 1.0), (1.0, 1.0)), "right": 0}
"""Exercise 9.2: a context vector c, three candidate vectors a_j and the index of the right one."""


def _selection_loss() -> float:
    spec = LESSON09_SELECTION
    scores = np.asarray(spec["candidates"]) @ np.asarray(spec["context"])
    return float(-(scores[spec["right"]] - math.log(np.exp(scores).sum())))


@_never_raise("Exercise 1", ". Give two integers.", detail=0)
def lesson09_hashing(n_ngrams, bucket) -> None:
    """Exercise 9.1: the number of character 1–2-grams of the text, and the bucket id of the 2-gram."""
    spec = LESSON09_HASHING
    if _remind_if_not_started("Exercise 1", n_ngrams) or _remind_if_not_started("Exercise 1", bucket):
        return
    count, bucket_id = _finite_float(_as_one(n_ngrams)), _finite_float(_as_one(bucket))
    if count is None or bucket_id is None or not count.is_integer() or not bucket_id.is_integer():
        print("Exercise 1: not yet — give two integers: a number of n-grams and a bucket id.")
        return
    characters = len(spec["text"])
    expected_count = len(char_ngrams(spec["text"]))
    expected_bucket = ngram_id(spec["ngram"], spec["n_buckets"])
    if count != expected_count:
        hint = ("that counts the characters only; add the pairs of neighbouring characters"
                if count == characters else f"{characters} characters give {characters} 1-grams and {characters - 1} 2-grams")
        print(f"Exercise 1: not yet — {int(count)} n-grams: {hint}.")
        return
    if bucket_id != expected_bucket:
        hint = ("that is crc32 mod n_buckets; the ids start at 1, because 0 is padding: 1 + crc32 mod (n_buckets − 1)"
                if bucket_id == __import__("zlib").crc32(spec["ngram"].encode("utf-8")) % spec["n_buckets"]
                else "use data.hashing.ngram_id, or 1 + zlib.crc32('尺码'.encode('utf-8')) % (n_buckets − 1)")
        print(f"Exercise 1: the count is right; not yet for the bucket — {hint}.")
        return
    print(f"Exercise 1: correct ✓ — {expected_count} n-grams, and 尺码 lands in bucket {expected_bucket} on every machine.")


@_never_raise("Exercise 2", ". Give a number.", detail=0)
def lesson09_selection_loss(loss) -> None:
    """Exercise 9.2: the softmax cross-entropy of the right candidate over the dot-product scores."""
    if _remind_if_not_started("Exercise 2", loss):
        return
    value = _finite_float(_as_one(loss))
    if value is None:
        print("Exercise 2: not yet — give the loss as a number.")
        return
    expected = _selection_loss()
    spec = LESSON09_SELECTION
    scores = np.asarray(spec["candidates"]) @ np.asarray(spec["context"])
    if _close(value, expected):
        print(f"Exercise 2: correct ✓ — scores {tuple(scores.tolist())}, loss −log softmax = {expected:.4f}.")
    elif _close(value, -math.log(scores[spec["right"]] / scores.sum())):
        print("Exercise 2: not yet — that normalises the scores by their sum; the softmax uses exp(s_j).")
    elif _close(value, float(np.exp(scores[spec["right"]]) / np.exp(scores).sum())):
        print("Exercise 2: not yet — that is the probability of the right candidate; the loss is −log of it.")
    else:
        print(f"Exercise 2: not yet — first the scores s_j = c · a_j, then −log(exp(s_{spec['right']}) / Σ_j exp(s_j)).")


@_never_raise("Exercise 3", ". Give a dict intent → 'qa', 'recommend' or 'chat'.", detail=0)
def lesson09_routes(routes) -> None:
    """Exercise 9.3: the engine (qa, recommend, chat) that answers each of the seven intents."""
    if _remind_if_not_started("Exercise 3", routes):
        return
    given = _plain(routes)
    if not isinstance(given, dict):
        print(f"Exercise 3: not yet — give a dict from each intent to an engine, got {type(given).__name__}.")
        return
    missing = [intent for intent in INTENTS if intent not in given]
    if missing:
        print(f"Exercise 3: not yet — route every intent; missing {', '.join(missing)}.")
        return
    wrong = [intent for intent in INTENTS if given[intent] != ROUTES[intent]]
    if wrong:
        print(f"Exercise 3: not yet — {', '.join(wrong)} go elsewhere: a question about one item is answered from its "
              "catalogue record (qa), a request for goods by the ranking heads (recommend), small talk by chat.")
        return
    print("Exercise 3: correct ✓ — one intent classifier in front, one engine per kind of need (AliMe Assist).")
