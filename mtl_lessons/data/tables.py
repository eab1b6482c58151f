"""Your own data: a table file (CSV or Parquet) and a ``TableSchema`` → the course's ``ModelInputs``.

The shop's ``FeatureEncoder`` knows the simulated shop's columns. ``load_table`` does the same job for
any log described by a schema: which columns are labels (and of which task type), which are
categorical and numeric features, an optional funnel whose stages must nest (purchase ⇒ click) and an
optional time column for a chronological split. It returns train / valid / test ``ModelInputs`` that
every model and ``train`` of the course accept, or a ``ValueError`` that names the column and what was
wrong: a missing column, a column the schema does not mention, labels outside their domain, NaN or
text in a numeric feature, a funnel that is violated. Nothing is dropped, filled or clipped.

Three schemas of public data sets are ready (``SCHEMAS``): Ali-CCP as preprocessed to CSV (click,
purchase, 23 sparse fields, 8 dense), AliExpress (search_id, categorical_1..16, numerical_1..63,
click, conversion) and Census-Income (KDD) with the MMoE paper's two tasks. ``write_example_table``
writes a small synthetic file in a schema's exact layout (to try the loader without the real data,
which the course does not ship).
"""
from __future__ import annotations

import csv
import gzip
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..atomic import atomic_write
from .encode import ModelInputs
from . import tasks as _tasks
from .tasks import TASKS, Task, register_task

KINDS = ("binary", "multiclass", "regression")
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
UNKNOWN_ID = 0
"""The id of a categorical value not seen (``min_count`` times) in the training rows."""


# --------------------------------------------------------------------------- schema
@dataclass(frozen=True)
class LabelColumn:
    """One task's label in the file.

    Attributes:
        task: the task's name (a Python identifier; becomes the model head's name). A built-in
            task name (``click``, ``purchase`` …) reuses that task if the kind agrees.
        column: the file's column holding the label.
        kind: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        positive: binary labels written as text: the value that means 1 …
        negative: … and the values that mean 0 (both or neither; any other value is an error).
            Without them a binary label must be 0 or 1.
        classes: multi-class labels: the allowed values, in class-index order (default: the sorted
            distinct values of the file).
        rows: ``"all"``, or the binary task whose positive rows carry this label (e.g. a conversion
            label that exists only on clicked rows); elsewhere the label is masked, not used.
    """

    task: str
    column: str
    kind: str = "binary"
    positive: str | None = None
    negative: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    rows: str = "all"


@dataclass(frozen=True)
class TableSchema:
    """What each column of a table file is.

    Attributes:
        name: a short name for messages.
        labels: the label columns, one per task.
        categorical: columns of ids or category values (any values; each becomes an embedding id).
        numeric: columns of numbers (standardised with the training rows' mean and deviation).
        funnel: optional binary tasks in funnel order: a row positive at a stage must be positive at
            every earlier stage (click → purchase).
        time: optional column (numbers or dates) for a chronological split; without it the file's
            row order is taken as time order.
        column_names: the names of a file without a header row (e.g. Census-Income).
        ignore: columns in the file that are deliberately not used (any other extra column is an error).
    """

    name: str
    labels: tuple[LabelColumn, ...]
    categorical: tuple[str, ...]
    numeric: tuple[str, ...] = ()
    funnel: tuple[str, ...] = ()
    time: str | None = None
    column_names: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        labels = tuple(LabelColumn(**x) if isinstance(x, dict) else x for x in self.labels)
        object.__setattr__(self, "labels", labels)
        for name in ("categorical", "numeric", "funnel", "ignore"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"schema {self.name!r}: {name} must be a list of column names, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        if self.column_names is not None:
            object.__setattr__(self, "column_names", tuple(self.column_names))
        if not labels or not all(isinstance(x, LabelColumn) for x in labels):
            raise ValueError(f"schema {self.name!r}: labels must be a non-empty list of LabelColumn")
        if not self.categorical and not self.numeric:
            raise ValueError(f"schema {self.name!r}: name at least one categorical or numeric feature column")
        for name in (*self.categorical, *self.numeric):
            if not _NAME.match(name):
                raise ValueError(f"schema {self.name!r}: feature column {name!r} must be named with letters, digits "
                                 "and _ only (it names a model layer); rename it in the file or via column_names")
        tasks = [x.task for x in labels]
        for x in labels:
            if x.kind not in KINDS:
                raise ValueError(f"schema {self.name!r}: label {x.task!r} has kind {x.kind!r}; expected one of {KINDS}")
            if not isinstance(x.task, str) or not x.task.isidentifier():
                raise ValueError(f"schema {self.name!r}: task name {x.task!r} must be a Python identifier")
            if (x.positive is None) != (not x.negative):
                raise ValueError(f"schema {self.name!r}: label {x.task!r}: give positive (the value meaning 1) and "
                                 "negative (the values meaning 0) together, so that any other value is an error")
            if (x.positive is not None or x.negative) and x.kind != "binary":
                raise ValueError(f"schema {self.name!r}: positive/negative apply to binary labels, {x.task!r} is {x.kind}")
            if x.classes and x.kind != "multiclass":
                raise ValueError(f"schema {self.name!r}: classes apply to multiclass labels, {x.task!r} is {x.kind}")
            if x.rows != "all" and (x.rows not in tasks or x.rows == x.task
                                    or next(y for y in labels if y.task == x.rows).kind != "binary"):
                raise ValueError(f"schema {self.name!r}: label {x.task!r} has rows={x.rows!r}; expected 'all' or "
                                 f"another binary task of the schema ({tasks})")
        used = [*self.categorical, *self.numeric, *(x.column for x in labels), *self.ignore,
                *([self.time] if self.time else [])]
        for what, names in (("task", tasks), ("column", used)):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"schema {self.name!r}: {what}s named more than once (a label column may not "
                                 f"also be a feature): {twice}")
        for stage in self.funnel:
            if stage not in tasks or next(x for x in labels if x.task == stage).kind != "binary":
                raise ValueError(f"schema {self.name!r}: funnel stage {stage!r} must be a binary task of the schema {tasks}")
        if self.column_names is not None:
            missing = [c for c in used if c not in self.column_names]
            if missing:
                raise ValueError(f"schema {self.name!r}: columns {missing} are not in column_names")

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(x.task for x in self.labels)

    def to_dict(self) -> dict[str, Any]:
        """The schema as plain JSON-able data (``TableSchema.from_dict`` reads it back)."""
        out = asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in out.items()}

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> "TableSchema":
        """A schema from a dict (e.g. parsed JSON); label entries are dicts of ``LabelColumn``'s fields.

        Raises:
            ValueError: ``spec`` is not a dict, or has unknown or missing keys.
        """
        if not isinstance(spec, dict):
            raise ValueError(f"spec must be a dict of TableSchema fields, got {type(spec).__name__}")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValueError(f"schema keys {unknown} are not understood; known keys: {sorted(known)}")
        labels = []
        for entry in spec.get("labels", ()):
            if not isinstance(entry, dict):
                raise ValueError(f"each entry of labels must be a dict, got {entry!r}")
            extra = sorted(set(entry) - set(LabelColumn.__dataclass_fields__))
            if extra:
                raise ValueError(f"label keys {extra} are not understood; known: {sorted(LabelColumn.__dataclass_fields__)}")
            entry = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}
            labels.append(LabelColumn(**entry))
        try:
            return cls(**{**spec, "labels": tuple(labels)})
        except TypeError as error:
            raise ValueError(f"schema: {error}") from None

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> "TableSchema":
        """Read a schema written by ``json.dump(schema.to_dict(), file)``."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def register_tasks(self) -> tuple[Task, ...]:
        """The schema's tasks in the task registry (``register_task``), so models and ``train`` know them.

        A built-in task name is reused when its kind and rows agree; otherwise it is an error.
        """
        out = []
        for x in self.labels:  # check every task first: all are registered or none
            known = TASKS.get(x.task) or _tasks.USER_TASKS.get(x.task)
            if known is not None and (known.kind, known.rows) != (x.kind, x.rows):
                where = "a built-in" if x.task in TASKS else "an already registered"
                raise ValueError(f"schema {self.name!r}: task {x.task!r} is {where} {known.kind} task on rows "
                                 f"{known.rows!r}; yours is {x.kind} on rows {x.rows!r}: give it another name")
            out.append(known or Task(x.task, x.kind, x.column, x.rows, x.task, oracle=""))
        return tuple(register_task(t) if t.name not in TASKS else t for t in out)


# --------------------------------------------------------------------------- reading and checking
def read_table(path: str | os.PathLike, schema: TableSchema, argument: str = "path") -> pd.DataFrame:
    """The file at ``path`` (``.csv``, ``.csv.gz``, UCI's ``.data`` / ``.test``, or ``.parquet``), categorical
    and label columns as text (CSV: spaces after a separator are skipped, as in UCI's ", ").

    Raises:
        ValueError: the file does not exist or has another suffix; it lacks a schema column; it has a
            column the schema does not mention (list such columns in ``ignore``).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{argument}: no file at {path}")
    name = path.name.lower()
    text_columns = [*schema.categorical, *(x.column for x in schema.labels if x.kind != "regression")]
    header_row = None
    try:
        if name.endswith((".csv", ".csv.gz", ".data", ".test")):
            header = None if schema.column_names is not None else "infer"
            if header == "infer":
                opener = gzip.open if name.endswith(".gz") else open
                with opener(path, "rt", encoding="utf-8-sig", newline="") as file:
                    header_row = [c.strip() for c in next(csv.reader(file, skipinitialspace=True), [])]
            table = pd.read_csv(path, header=header, names=schema.column_names, skipinitialspace=True,
                                dtype={c: str for c in text_columns}, keep_default_na=False, na_values=[""])
        elif name.endswith((".parquet", ".pq")):
            table = pd.read_parquet(path)
        else:
            raise ValueError(f"{argument}: {path.name} is not a .csv, .csv.gz, .parquet file (or a UCI .data / .test file)")
    except (ValueError, OSError) as error:  # pandas' and pyarrow's parse errors are ValueErrors
        if str(error).startswith(f"{argument}: "):
            raise
        raise ValueError(f"{argument}: {path.name} could not be read as a table: {error}") from None
    if header_row is not None:  # pandas renames a repeated header ("c", "c.1"): name the real one
        repeated = sorted({name for name in header_row if header_row.count(name) > 1})
        if repeated:
            raise ValueError(f"{argument}: {path.name} has the columns {repeated} more than once in its header")
    for column in text_columns:
        if column in table.columns:
            table[column] = table[column].map(_text, na_action="ignore").astype(object)
    columns = [str(c) for c in table.columns]
    table.columns = columns
    wanted = [*schema.categorical, *schema.numeric, *(x.column for x in schema.labels), *schema.ignore,
              *([schema.time] if schema.time else [])]
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise ValueError(f"{argument}: {path.name} lacks the columns {missing} that schema {schema.name!r} names")
    extra = [c for c in columns if c not in wanted]
    if extra:
        raise ValueError(f"{argument}: {path.name} has columns {extra} that schema {schema.name!r} does not "
                         "mention; list them in the schema's ignore to leave them out")
    return table


_WHOLE = re.compile(r"^(-?\d+)\.0+$")


def _text(value: object) -> str:
    """A cell of a text column as text, whole numbers without a decimal part whatever the writer did
    (7, 7.0 and "7.0" → "7"; "007" stays "007"), so a CSV and a Parquet file of one log agree."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    text = str(value)
    whole = _WHOLE.match(text)
    return whole.group(1) if whole else text


def _first_rows(bad: np.ndarray) -> str:
    rows = np.flatnonzero(bad)
    return f"{len(rows)} rows (first: data row {rows[0]}, counting from 0)"


def check_numeric(table: pd.DataFrame, column: str, where: str) -> np.ndarray:
    """``table[column]`` as float64; NaN, text or infinite values are an error."""
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"{where}: numeric column {column!r} has missing, non-numeric or infinite values on "
                         f"{_first_rows(bad)}; fix or drop them before loading (nothing is filled in)")
    return values


def label_arrays(table: pd.DataFrame, schema: TableSchema, where: str,
                 classes: dict[str, tuple[str, ...]]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Labels (float, NaN where masked) and masks of every task, checked against its domain and the funnel.

    Row numbers in messages count data rows from 0, in the file's order.
    """
    values: dict[str, np.ndarray] = {}
    for x in schema.labels:
        column = table[x.column]
        missing = column.isna().to_numpy()
        text = np.where(missing, "", column.astype(object).to_numpy()) if x.kind != "regression" else None
        if x.kind == "binary" and x.positive is not None:
            labels = np.where(text == x.positive, 1.0, 0.0)
            bad = ~missing & ~np.isin(text, [x.positive, *x.negative])
            if bad.any():
                seen = sorted({str(v) for v in text[bad]})[:5]
                raise ValueError(f"{where}: label column {x.column!r} (task {x.task!r}) has values {seen} on "
                                 f"{_first_rows(bad)}; expected {x.positive!r} (1) or one of {list(x.negative)} (0)")
        elif x.kind == "binary":
            labels = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, copy=True)
            bad = ~missing & ~np.isin(labels, (0.0, 1.0))
            if bad.any():
                seen = sorted({str(v) for v in column[bad]})[:5]
                raise ValueError(f"{where}: binary label column {x.column!r} (task {x.task!r}) has values {seen} "
                                 f"on {_first_rows(bad)}; expected 0 or 1 (or give the schema positive/negative values)")
        elif x.kind == "multiclass":
            index = {value: i for i, value in enumerate(classes[x.task])}
            bad = ~missing & ~np.isin(text, list(index))
            if bad.any():
                seen = sorted({str(v) for v in text[bad]})[:5]
                raise ValueError(f"{where}: multiclass label column {x.column!r} (task {x.task!r}) has values "
                                 f"{seen} on {_first_rows(bad)} outside its classes {list(index)[:10]}")
            labels = np.array([np.nan if m else index[v] for v, m in zip(text, missing)], dtype=np.float64)
        else:
            labels = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, copy=True)
            bad = ~missing & ~np.isfinite(labels)
            if bad.any():
                raise ValueError(f"{where}: regression label column {x.column!r} (task {x.task!r}) has "
                                 f"non-numeric or infinite values on {_first_rows(bad)}")
        labels[missing] = np.nan
        values[x.task] = labels
    masks = {}
    for x in schema.labels:
        carries = np.ones(len(table), bool) if x.rows == "all" else values[x.rows] == 1.0
        absent = carries & np.isnan(values[x.task])
        if absent.any():
            scope = "" if x.rows == "all" else f" where {x.rows!r} is 1"
            raise ValueError(f"{where}: label column {x.column!r} (task {x.task!r}) is missing{scope} on "
                             f"{_first_rows(absent)}; every such row must carry the label")
        if x.kind == "binary" and x.rows != "all":
            outside = ~carries & (values[x.task] == 1.0)
            if outside.any():
                raise ValueError(f"{where}: label column {x.column!r} (task {x.task!r}) is 1 where {x.rows!r} is 0 "
                                 f"on {_first_rows(outside)}: the label exists only where {x.rows!r} is 1")
        masks[x.task] = carries
        values[x.task] = np.where(carries, values[x.task], np.nan)
    for earlier, later in zip(schema.funnel, schema.funnel[1:]):
        broken = (values[later] == 1.0) & (values[earlier] != 1.0)
        if broken.any():
            columns = {x.task: x.column for x in schema.labels}
            raise ValueError(f"{where}: the funnel {' → '.join(schema.funnel)} is violated: {_first_rows(broken)} "
                             f"have {later}=1 but {earlier}=0 (columns {columns[later]!r}, {columns[earlier]!r})")
    return values, masks


# --------------------------------------------------------------------------- loading
@dataclass
class TableData:
    """A table file encoded for the course's models (``load_table``'s result).

    Attributes:
        schema: the schema used.
        train, valid, test: the splits' ``ModelInputs`` (categorical features keyed by column name).
        cardinalities: categorical column → number of ids (id 0 is "unknown": a value not seen
            ``min_count`` times in the training rows).
        n_numeric: number of numeric columns (``numeric`` has them in the schema's order).
        n_classes: multi-class task → number of classes.
        vocabularies: categorical column → the values of ids 1, 2, …
        numeric_mean, numeric_std: the training rows' statistics used to standardise.
        unknown_share: split → categorical column → share of rows whose value got the unknown id.
    """

    schema: TableSchema
    train: ModelInputs
    valid: ModelInputs
    test: ModelInputs
    cardinalities: dict[str, int]
    n_numeric: int
    n_classes: dict[str, int]
    vocabularies: dict[str, list[str]]
    numeric_mean: np.ndarray
    numeric_std: np.ndarray
    unknown_share: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def tasks(self) -> tuple[str, ...]:
        return self.schema.tasks

    def summary(self) -> pd.DataFrame:
        """Rows, label rate (binary: share of 1s; else labelled share) per task, and the share of
        categorical values that got the unknown id (mean over columns), per split."""
        out = {}
        for split in ("train", "valid", "test"):
            inputs = getattr(self, split)
            row = {"rows": len(inputs)}
            for x in self.schema.labels:
                labelled = inputs.masks[x.task]
                row[f"{x.task} rate" if x.kind == "binary" else f"{x.task} labelled"] = (
                    float(np.mean(inputs.labels[x.task][labelled] == 1.0)) if x.kind == "binary"
                    else float(labelled.mean()))
            shares = self.unknown_share.get(split, {})
            row["unknown ids"] = float(np.mean(list(shares.values()))) if shares else 0.0
            out[split] = row
        return pd.DataFrame(out).T.astype({"rows": int})


def _split_rows(table: pd.DataFrame, schema: TableSchema, fractions: tuple[float, float],
                where: str) -> list[np.ndarray]:
    """Row indices of train / valid / test (test empty when ``fractions[1]`` is 0), in time order."""
    n = len(table)
    if schema.time is None:
        order = np.arange(n)
        time = order.astype(np.float64)
    else:
        raw = table[schema.time]
        if raw.isna().any():
            raise ValueError(f"{where}: time column {schema.time!r} is empty on {_first_rows(raw.isna().to_numpy())}")
        time = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(time).any():
            try:
                dates = pd.to_datetime(raw, errors="coerce")
            except (ValueError, TypeError) as error:
                raise ValueError(f"{where}: time column {schema.time!r} could not be read as dates: {error}") from None
            if dates.isna().any():
                raise ValueError(f"{where}: time column {schema.time!r} has values that are neither numbers nor "
                                 f"dates on {_first_rows(dates.isna().to_numpy())}")
            time = dates.astype("int64").to_numpy(dtype=np.float64)
        order = np.argsort(time, kind="stable")
    sorted_time = time[order]
    cuts = []
    for share in (1.0 - fractions[0] - fractions[1], 1.0 - fractions[1]):
        cut = int(round(share * n))
        if schema.time is not None and 0 < cut < n:  # one timestamp never straddles two splits:
            start = int(np.searchsorted(sorted_time, sorted_time[cut], side="left"))  # move the cut to the
            end = int(np.searchsorted(sorted_time, sorted_time[cut], side="right"))   # nearer end of its
            cut = start if cut - start < end - cut else end                             # timestamp's rows
        cuts.append(cut)
    parts = [order[:cuts[0]], order[cuts[0]:cuts[1]], order[cuts[1]:]]
    names = ("train", "valid", "test") if fractions[1] else ("train", "valid")
    for name, part in zip(names, parts):
        if len(part) == 0:
            raise ValueError(f"{where}: the {name} split has no rows ({n} rows in the file; time ties move whole "
                             "timestamps); use a larger file or other fractions")
    return parts


def load_table(path: str | os.PathLike, schema: TableSchema, *, test_path: str | os.PathLike | None = None,
               valid_fraction: float = 0.1, test_fraction: float = 0.1, min_count: int = 2) -> TableData:
    """Read, check and encode a table file described by ``schema``.

    The split is chronological: rows sorted by ``schema.time`` (stable; the file's order without a
    time column), the last ``test_fraction`` of them for testing and the ``valid_fraction`` before
    them for validation (a timestamp is never split: a cut moves to the nearer end of its timestamp's rows). With ``test_path`` (a data set's own test file),
    that file is the test split and ``test_fraction`` is not used. Categorical values seen at least
    ``min_count`` times in the training rows get ids 1…V, any other value id 0 (with the default 2, the
    values seen once train id 0, so a value first seen at test time gets a trained embedding); numeric columns are
    standardised with the training rows' mean and standard deviation (a constant column: deviation 1).
    The schema's tasks are registered (``TableSchema.register_tasks``) so models and ``train`` accept them.

    Raises:
        ValueError: naming the argument and the column: a file that is missing or unreadable, columns
            missing or not in the schema, NaN or non-numeric features, labels outside their domain or
            missing where required, a violated funnel, fractions or ``min_count`` out of range, a split
            with no rows.
    """
    if not isinstance(schema, TableSchema):
        raise ValueError(f"schema must be a TableSchema (e.g. data.SCHEMAS['ali_ccp']), got {type(schema).__name__}")
    for name, value in (("valid_fraction", valid_fraction), ("test_fraction", test_fraction)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
    if test_path is None and valid_fraction + test_fraction >= 1:
        raise ValueError(f"valid_fraction + test_fraction must be < 1 so that training rows remain, got "
                         f"{valid_fraction} + {test_fraction}")
    if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) or min_count < 1:
        raise ValueError(f"min_count must be an integer ≥ 1 (training rows a value needs for an id), got {min_count!r}")
    schema.register_tasks()  # before reading: a clash of task names is found at once
    main = read_table(path, schema, "path")
    tables = {"path": main}
    if test_path is not None:
        tables["test_path"] = read_table(test_path, schema, "test_path")
    classes = {}
    for x in schema.labels:
        if x.kind == "multiclass":
            seen = sorted({str(v) for t in tables.values() for v in t[x.column].dropna()})
            numbers = pd.to_numeric(pd.Series(seen), errors="coerce")
            if len(seen) and numbers.notna().all():  # numbers in numeric order: "2" before "10"
                seen = [seen[i] for i in np.argsort(numbers.to_numpy(), kind="stable")]
            classes[x.task] = x.classes or tuple(seen)
            if len(classes[x.task]) < 2:
                raise ValueError(f"path: multiclass label column {x.column!r} has fewer than 2 classes")
    checked = {}
    for where, table in tables.items():
        numeric = np.column_stack([check_numeric(table, c, where) for c in schema.numeric]) if schema.numeric \
            else np.zeros((len(table), 0))
        for column in schema.categorical:
            bad = table[column].isna().to_numpy()
            if bad.any():
                raise ValueError(f"{where}: categorical column {column!r} is empty on {_first_rows(bad)}; write "
                                 "missing values as a category of their own (e.g. 'missing') before loading")
        checked[where] = (numeric, *label_arrays(table, schema, where, classes))
    if test_path is None:
        rows = _split_rows(main, schema, (valid_fraction, test_fraction), "path")
        parts = {"train": ("path", rows[0]), "valid": ("path", rows[1]), "test": ("path", rows[2])}
    else:
        rows = _split_rows(main, schema, (valid_fraction, 0.0), "path")
        parts = {"train": ("path", rows[0]), "valid": ("path", rows[1]),
                 "test": ("test_path", np.arange(len(tables["test_path"])))}
    train_table = main.iloc[parts["train"][1]]
    vocabularies = {}
    for column in schema.categorical:
        counts = train_table[column].astype(str).value_counts()
        vocabularies[column] = sorted(counts.index[counts >= min_count])
    numeric_train = checked["path"][0][parts["train"][1]]
    mean = numeric_train.mean(axis=0)
    std = numeric_train.std(axis=0)
    std[std == 0] = 1.0
    splits, unknown = {}, {}
    for split, (where, index) in parts.items():
        table = tables[where].iloc[index]
        numeric, labels, masks = checked[where]
        categorical, unknown[split] = {}, {}
        for column in schema.categorical:
            lookup = {value: i + 1 for i, value in enumerate(vocabularies[column])}
            ids = table[column].astype(str).map(lookup).fillna(UNKNOWN_ID).to_numpy(dtype=np.int64)
            categorical[column] = ids
            unknown[split][column] = float(np.mean(ids == UNKNOWN_ID))
        splits[split] = ModelInputs(
            categorical=categorical,
            numeric=((numeric[index] - mean) / std).astype(np.float32),
            labels={t: labels[t][index] for t in schema.tasks},
            masks={t: masks[t][index] for t in schema.tasks})
    return TableData(schema=schema, **splits,
                     cardinalities={c: len(v) + 1 for c, v in vocabularies.items()},
                     n_numeric=len(schema.numeric), n_classes={t: len(c) for t, c in classes.items()},
                     vocabularies=vocabularies, numeric_mean=mean, numeric_std=std, unknown_share=unknown)
