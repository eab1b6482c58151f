"""Tasks, heads and the layout of a model's inputs: names and sizes checked before a model is built.

Default embedding sizes (:func:`embedding_dims`), the input-dict key of the numeric columns
(:data:`NUMERIC_KEY`), task-name checks (:func:`resolve_tasks`, :func:`model_tasks`), head widths
(:func:`resolve_n_classes`, :func:`output_size`) and model-constructor arguments
(:func:`check_architecture`). Plain Python and NumPy.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ..data import get_task
from ..data.tasks import is_known_task, known_tasks

NUMERIC_KEY = "numeric"
"""Key of the standardised numeric columns, shape (n, n_numeric), in a model's input dict.
The other keys are the categorical feature names, each an int array of shape (n,)."""

DEFAULT_EMBEDDING_DIM = 4
"""Embedding size of a categorical feature not listed in :data:`DEFAULT_EMBEDDING_DIMS`."""

DEFAULT_EMBEDDING_DIMS: dict[str, int] = {"user_id": 8, "item_id": 8}
"""Embedding sizes of the high-cardinality features (thousands of ids)."""


# --------------------------------------------------------------------------- architecture
def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def embedding_dims(cardinalities: Mapping[str, int],
                   dims: Mapping[str, int] | None = None) -> dict[str, int]:
    """Embedding size of every categorical feature, in ``cardinalities``' order.

    Args:
        cardinalities: feature name → number of ids (``FeatureEncoder.cardinalities``).
        dims: optional overrides, feature name → size; features not named get
            :data:`DEFAULT_EMBEDDING_DIMS` or else :data:`DEFAULT_EMBEDDING_DIM`.

    Raises:
        ValueError: ``dims`` names a feature not in ``cardinalities`` or a size that is not a
            positive int.
    """
    dims = {} if dims is None else dict(dims)
    unknown = [name for name in dims if name not in cardinalities]
    if unknown:
        raise ValueError(f"embedding_dims names features the model does not have: {unknown}; "
                         f"features: {list(cardinalities)}")
    out = {}
    for name in cardinalities:
        size = dims.get(name, DEFAULT_EMBEDDING_DIMS.get(name, DEFAULT_EMBEDDING_DIM))
        if not _is_int(size) or size < 1:
            raise ValueError(f"embedding_dims[{name!r}] must be a positive int, got {size!r}")
        out[name] = int(size)
    return out


def task_tuple(tasks: str | Iterable[str]) -> tuple:
    """``tasks`` as a tuple, a bare string counting as one task (``"click"`` → ``("click",)``,
    never ``("c", "l", ...)``); no other check (see :func:`resolve_tasks`)."""
    return (tasks,) if isinstance(tasks, str) else tuple(tasks)


def resolve_tasks(tasks: str | Sequence[str], argument: str = "tasks") -> tuple[str, ...]:
    """``tasks`` as a tuple of known, distinct task names (a bare string counts as one task).

    Raises:
        ValueError: empty, duplicated, or unknown names (the message lists the known tasks).
    """
    if isinstance(tasks, str):
        tasks = (tasks,)
    try:
        names = tuple(tasks)
    except TypeError:
        raise ValueError(f"{argument} must be a sequence of task names, got {tasks!r}") from None
    if not names:
        raise ValueError(f"{argument} must name at least one task; known tasks: {known_tasks()}")
    for name in names:
        if not is_known_task(name):
            raise ValueError(f"{argument}: unknown task {name!r}; known tasks: {known_tasks()}")
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ValueError(f"{argument} names a task more than once: {duplicated}")
    return names


def model_tasks(heads: Sequence[str], tasks: str | Sequence[str] | None) -> tuple[str, ...]:
    """The tasks to use: all of a model's ``heads`` if ``tasks`` is None, else ``tasks`` checked.

    Raises:
        ValueError: a task is unknown or the model has no head for it.
    """
    if tasks is None:
        return tuple(heads)
    tasks = resolve_tasks(tasks)
    missing = [task for task in tasks if task not in heads]
    if missing:
        raise ValueError(f"tasks {missing} have no head in this model (its tasks: {list(heads)})")
    return tasks


def resolve_n_classes(tasks: str | Sequence[str], n_classes: Mapping[str, int] | None) -> dict[str, int]:
    """Number of classes of each multi-class task in ``tasks`` (``FeatureEncoder.n_classes``).

    Raises:
        ValueError: a multi-class task has no entry in ``n_classes`` or fewer than 2 classes.
    """
    n_classes = {} if n_classes is None else dict(n_classes)
    out = {}
    for task in task_tuple(tasks):
        if get_task(task).kind != "multiclass":
            continue
        if task not in n_classes:
            raise ValueError(f"n_classes must give the number of classes of multi-class task "
                             f"{task!r}, e.g. n_classes=encoder.n_classes")
        value = n_classes[task]
        if not _is_int(value) or value < 2:
            raise ValueError(f"n_classes[{task!r}] must be an int ≥ 2, got {value!r}")
        out[task] = int(value)
    return out


def output_size(task: str, n_classes: Mapping[str, int]) -> int:
    """Width of ``task``'s head: 1 (binary logit or regression value) or the number of classes."""
    return n_classes[task] if get_task(task).kind == "multiclass" else 1


def check_architecture(cardinalities: Mapping[str, int], n_numeric: int,
                       layers: Mapping[str, Sequence[int]], dropout: float) -> None:
    """Validate model-constructor arguments.

    Args:
        cardinalities: feature name → number of ids (each a positive int); may be empty
            (``{}``) when there are numeric columns (e.g. the synthetic tasks of lesson 07).
        n_numeric: number of numeric columns (int ≥ 0).
        layers: argument name → hidden sizes, e.g. ``{"bottom": (128, 64), "tower": ()}``.
        dropout: dropout rate in [0, 1).
    """
    if not isinstance(cardinalities, Mapping):
        raise ValueError(f"cardinalities must be a dict feature name → number of ids, got {type(cardinalities).__name__}")
    for name, value in cardinalities.items():
        if not isinstance(name, str) or name == NUMERIC_KEY:
            raise ValueError(f"cardinalities: feature names must be strings other than "
                             f"{NUMERIC_KEY!r}, got {name!r}")
        if not _is_int(value) or value < 1:
            raise ValueError(f"cardinalities[{name!r}] must be a positive int, got {value!r}")
    if not _is_int(n_numeric) or n_numeric < 0:
        raise ValueError(f"n_numeric must be an int ≥ 0, got {n_numeric!r}")
    if not cardinalities and n_numeric == 0:
        raise ValueError("the model has no input: give categorical features (cardinalities) or numeric "
                         "columns (n_numeric ≥ 1), or both")
    for argument, sizes in layers.items():
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or any(
                not _is_int(s) or s < 1 for s in sizes):
            raise ValueError(f"{argument} must be a tuple of positive ints (layer sizes), got {sizes!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")


def check_experts(model: str, *, expert: Sequence[int], **settings: object) -> dict[str, object]:
    """Validate an expert model's settings; return them as the ``architecture`` entries it stores.

    Args:
        model: the class name, for messages (``"MMoEModel"``, ``"PLEModel"``).
        expert: hidden sizes of each expert MLP: at least one positive int.
        settings: counts (``n_experts``, ``n_levels``, ``n_specific``, ``n_shared``: ints ≥ 1) and
            flags (``one_gate``: a bool).

    Returns:
        ``{"expert": tuple(expert), **settings}`` with ints and bools as Python types.
    """
    if isinstance(expert, (str, bytes)) or not isinstance(expert, Sequence) or not expert or any(
            not _is_int(size) or size < 1 for size in expert):
        raise ValueError(f"{model}: expert must be a non-empty tuple of positive ints (an expert's layer "
                         f"sizes, e.g. (16,)), got {expert!r}")
    out: dict[str, object] = {"expert": tuple(int(size) for size in expert)}
    for name, value in settings.items():
        if name.startswith("n_"):
            if not _is_int(value) or value < 1:
                raise ValueError(f"{model}: {name} must be an int ≥ 1, got {value!r}")
            out[name] = int(value)
        else:
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{model}: {name} must be True or False, got {value!r}")
            out[name] = bool(value)
    return out


def check_funnel(funnel: str | Sequence[str]) -> tuple[str, ...]:
    """Validate the stages of a funnel model (ESMM): two or more distinct binary tasks, each labelled on
    every impression (``rows == "all"``), in funnel order (each stage's label implies the previous one's,
    e.g. ``("click", "purchase")`` or ``("click", "add_to_cart", "purchase")``).

    Returns:
        the stages as a tuple of task names.
    """
    stages = resolve_tasks(funnel, "funnel")
    if len(stages) < 2:
        raise ValueError(f"funnel must name at least two stages, e.g. ('click', 'purchase'), got {stages!r}")
    for stage in stages:
        task = get_task(stage)
        if task.kind != "binary" or task.rows != "all":
            raise ValueError(f"funnel: every stage must be a binary task labelled on every impression (like click, "
                             f"add_to_cart, purchase), got {stage!r} ({task.kind}, labelled on rows: {task.rows})")
    return stages


def serving_metadata(model, framework: str) -> dict:
    """What a loader needs to run an exported model (``torch_mtl.export`` / ``keras_mtl.export``).

    ``model`` is a ``MultiTaskNet`` of either framework (both carry ``features.feature_names``,
    ``n_numeric``, ``cardinalities``, ``tasks``, ``kinds`` and ``n_classes``).

    Returns:
        ``{"format": 1, "framework": framework, "inputs": [categorical features..., "numeric"],
        "n_numeric": k, "cardinalities": {feature: ids}, "tasks": [...], "kinds": {task: kind},
        "n_classes": {task: C}}`` (JSON-ready).
    """
    return {
        "format": 1,
        "framework": framework,
        "inputs": [*model.features.feature_names, NUMERIC_KEY],
        "n_numeric": int(model.n_numeric),
        "cardinalities": {name: int(n) for name, n in model.cardinalities.items()},
        "tasks": list(model.tasks),
        "kinds": {task: model.kinds[task] for task in model.tasks},
        "n_classes": {task: int(c) for task, c in model.n_classes.items()},
    }
