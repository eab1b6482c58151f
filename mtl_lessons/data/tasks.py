"""The task registry (``TASKS``, ``get_task``) and each task's label mask and labels.

``TASKS`` holds the shop's seven tasks (columns of the impressions table). ``SYNTHETIC_TASKS``
holds the two regression tasks of the MMoE paper's synthetic data (``data.synthetic``, lesson 07);
they are not columns of any table, so ``FeatureEncoder`` never encodes them, but models and
``train`` accept them like any other task (``get_task`` knows both registries).

Tasks of your own data (``data.tables``: ``load_table`` with a ``TableSchema``) are added with
:func:`register_task`, explicitly, once per name: the only state of this module, and it only grows
(a name keeps one definition for the whole process; a clash is an error, never an override).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Task:
    """One prediction task of the shopping guide.

    Attributes:
        name: registry key, e.g. ``"purchase"``.
        kind: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        label: the column of the impressions table that holds the label.
        rows: which rows carry the label: ``"all"`` or the name of a 0/1 column that must be 1.
        title: English and Chinese name.
        log_label: regression on log(label) (for durations).
        oracle: the oracle column that is the best possible prediction.
    """

    name: str
    kind: Literal["binary", "multiclass", "regression"]
    label: str
    rows: str
    title: str
    oracle: str
    log_label: bool = False


TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task("click", "binary", "click", "all", "click-through 点击率", "p_click"),
        Task("add_to_cart", "binary", "add_to_cart", "all", "add-to-cart 加入购物车", "p_add_to_cart"),
        Task("purchase", "binary", "purchase", "all", "purchase intent 购买意愿", "p_purchase"),
        Task("rating", "regression", "rating", "purchase", "rating 评分", "expected_rating"),
        Task("sentiment", "binary", "sentiment", "purchase", "review sentiment 评论情感", "p_positive_sentiment"),
        Task("dwell", "regression", "dwell_seconds", "click", "dwell time 停留时长", "expected_log_dwell", log_label=True),
        Task("next_category", "multiclass", "next_category", "all", "category of the next search 下一次搜索的品类", "next_category_argmax"),
    )
}


SYNTHETIC_TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task("synthetic_1", "regression", "y1", "all", "synthetic regression task 1 合成回归任务 1", "f1"),
        Task("synthetic_2", "regression", "y2", "all", "synthetic regression task 2 合成回归任务 2", "f2"),
    )
}
"""The MMoE paper's two synthetic regression tasks (see ``data.synthetic``): label ``y_k``, oracle
``f_k`` (the label without its noise)."""

USER_TASKS: dict[str, Task] = {}
"""Tasks of your own data, added by :func:`register_task` (``load_table`` does it for its schema)."""

KNOWN_TASKS = ", ".join((*TASKS, *SYNTHETIC_TASKS))
"""Every built-in task name, for error messages (:func:`known_tasks` adds the registered ones)."""


def known_tasks() -> str:
    """Every task name ``get_task`` accepts, comma-separated (for error messages)."""
    return ", ".join((*TASKS, *SYNTHETIC_TASKS, *USER_TASKS))


def is_known_task(name: object) -> bool:
    """True if ``name`` is a built-in task or one added with :func:`register_task`."""
    return isinstance(name, str) and (name in TASKS or name in SYNTHETIC_TASKS or name in USER_TASKS)


def register_task(task: Task) -> Task:
    """Make a task of your own data known to the models, ``train``, the metrics and the checks.

    Registering a name again with the same kind and rows is allowed (a notebook re-run, two files with
    a ``conversion`` label) and keeps the first definition; a built-in name, or a registered name with
    another kind or rows, is refused.

    Args:
        task: a ``Task``; ``kind`` one of binary / multiclass / regression; ``rows`` "all" or the
            name of the binary task whose positive rows carry this label.

    Returns:
        The registered task (``task``, or the earlier definition of its name).

    Raises:
        ValueError: ``task`` is not a Task, has an unknown kind, or its name is taken by another kind.
    """
    if not isinstance(task, Task):
        raise ValueError(f"task must be a Task, got {type(task).__name__}")
    if task.kind not in ("binary", "multiclass", "regression"):
        raise ValueError(f"task {task.name!r}: kind must be 'binary', 'multiclass' or 'regression', got {task.kind!r}")
    if not isinstance(task.name, str) or not task.name.isidentifier():
        raise ValueError(f"task name must be a Python identifier (letters, digits, _; it names model heads), "
                         f"got {task.name!r}")
    if task.name in TASKS or task.name in SYNTHETIC_TASKS:
        raise ValueError(f"task name {task.name!r} is a built-in task of the course; give your task another name")
    old = USER_TASKS.get(task.name)
    if old is not None:
        if (old.kind, old.rows) != (task.kind, task.rows):
            raise ValueError(f"task {task.name!r} is already registered as a {old.kind} task on rows {old.rows!r}; a task "
                             "name keeps one kind in a Python session (restart the kernel, or use another name)")
        return old
    USER_TASKS[task.name] = task
    return task


def get_task(name: str) -> Task:
    """The registry entry for ``name`` (one task name, a string): a shop task, a synthetic one, or a
    task registered with :func:`register_task`.

    Raises:
        ValueError: ``name`` is not a string (e.g. a list of names) or not a known task; the
            message lists the known tasks.
    """
    if not isinstance(name, str):
        raise ValueError(f"task must be one task name (a string), got {name!r}; known tasks: {known_tasks()}")
    for registry in (TASKS, SYNTHETIC_TASKS, USER_TASKS):
        if name in registry:
            return registry[name]
    raise ValueError(f"unknown task {name!r}; known tasks: {known_tasks()}")


def _resolve_tasks(tasks: str | Sequence[str], argument: str = "tasks") -> tuple[str, ...]:
    """``tasks`` as a tuple of known, distinct task names; a bare string counts as one task.

    The same rule as ``mtl_core.resolve_tasks`` (which it calls; imported here lazily since
    ``mtl_core`` imports this package).

    Raises:
        ValueError: empty, duplicated, or unknown names (the message lists the known tasks).
    """
    from ..mtl_core import resolve_tasks as _resolve

    return _resolve(tasks, argument)


def task_mask(table: pd.DataFrame, task: str) -> np.ndarray:
    """Boolean array: which rows of ``table`` carry ``task``'s label."""
    t = get_task(task)
    if t.rows == "all":
        mask = np.ones(len(table), dtype=bool)
    else:
        mask = table[t.rows].to_numpy() == 1
    present = table[t.label].notna().to_numpy()
    if (mask & ~present).any():
        raise ValueError(f"task {task!r}: {int((mask & ~present).sum())} rows that should carry a label have NaN in {t.label!r}")
    return mask


def task_labels(table: pd.DataFrame, task: str) -> np.ndarray:
    """Labels of ``task`` for every row (NaN where the mask is False).

    Binary → float 0/1, multi-class → float class index, regression → float value (log for
    ``log_label`` tasks).
    """
    t = get_task(task)
    column = table[t.label]
    if t.kind == "multiclass":
        values = column.cat.codes.to_numpy().astype(np.float64)
        values[values < 0] = np.nan
    else:
        values = column.to_numpy(dtype=np.float64, copy=True)
    if t.log_label:
        values = np.log(values)
    values[~task_mask(table, task)] = np.nan
    return values
