"""From tables to model inputs: ``join_features``, the ``chronological_split`` and the
``FeatureEncoder`` that turns rows into ``ModelInputs`` (ids, standardised numbers, labels, masks)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import DEVICES, N_POSITIONS, SEGMENTS
from .shop import Shop
from .tasks import TASKS, _resolve_tasks, task_labels


def join_features(shop: Shop) -> pd.DataFrame:
    """Impressions joined with their user's and item's attributes (one row per impression).

    In a ``combine_domains`` shop each row gets its own domain's item attributes (prices).
    The oracle is not joined: it is never a feature.
    """
    table = shop.impressions.merge(shop.users, on="user_id", how="left", validate="many_to_one")
    combined = "domain" in shop.impressions.columns and "domain" in shop.items.columns
    table = table.merge(shop.items, on=["item_id", "domain"] if combined else "item_id", how="left",
                        validate="many_to_one")
    return table


# --------------------------------------------------------------------------- split
@dataclass(frozen=True)
class Split:
    """Row tables of a chronological split (each sorted in time order)."""

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame


def chronological_split(table: pd.DataFrame, valid_days: int = 4, test_days: int = 5) -> Split:
    """Train on the past, validate on the next days, test on the last days.

    Args:
        table: rows with a ``day`` column (impressions or ``join_features`` output).
        valid_days: days before the test period used for validation (≥ 1).
        test_days: the last days, used for testing (≥ 1).

    The log's length is ``max(day) + 1`` days (day 0 is its first day).

    Raises:
        ValueError: ``table`` is not a DataFrame, has no rows, or lacks whole, non-negative
            ``day`` values; ``valid_days`` / ``test_days`` are not integers ≥ 1 or leave no
            training day.
    """
    for name, value in (("valid_days", valid_days), ("test_days", test_days)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer ≥ 1 (a number of days), got {value!r}")
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame with a 'day' column, got {type(table).__name__}")
    if "day" not in table.columns:
        raise ValueError("table must have a 'day' column")
    if len(table) == 0:
        raise ValueError("table has no rows: chronological_split needs rows with a 'day' column to split")
    day_values = pd.to_numeric(table["day"], errors="coerce").to_numpy(dtype=np.float64)
    if not (np.isfinite(day_values) & (day_values >= 0) & (day_values == np.round(day_values))).all():
        raise ValueError("table's 'day' column must hold whole numbers ≥ 0 (days since the log's start), "
                         "without NaN")
    days = int(day_values.max()) + 1
    if valid_days + test_days >= days:
        raise ValueError(f"valid_days + test_days = {valid_days} + {test_days} must be less than the log's "
                         f"{days} days (days 0–{days - 1}), so that training days remain")
    test_start = days - test_days
    valid_start = test_start - valid_days
    day = table["day"]
    return Split(
        train=table[day < valid_start].reset_index(drop=True),
        valid=table[(day >= valid_start) & (day < test_start)].reset_index(drop=True),
        test=table[day >= test_start].reset_index(drop=True),
    )


# --------------------------------------------------------------------------- model inputs
CATEGORICAL_FEATURES = ("user_id", "item_id", "category", "brand", "segment", "city_tier",
                        "device", "hour", "position")
NUMERIC_FEATURES = ("log_price", "log_price_to_category", "age", "brand_tier", "is_new", "promotion")
_NUMERIC_KEY = "numeric"
"""The key of the standardised numeric columns in ``encode_features``' dict (as in ``mtl_core``)."""


@dataclass
class ModelInputs:
    """Arrays a model reads.

    Attributes:
        categorical: feature name → int64 array (n,) of ids in ``[0, cardinality)``.
        numeric: float32 array (n, len(NUMERIC_FEATURES)), standardised with training statistics.
        labels: task name → float array (n,), NaN where the label is missing.
        masks: task name → bool array (n,), True where the label exists.
    """

    categorical: dict[str, np.ndarray]
    numeric: np.ndarray
    labels: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.numeric)

    def take(self, rows: np.ndarray) -> "ModelInputs":
        """A copy holding only ``rows``: a bool mask of shape (n,) or an array of row indices.

        Used to train a model on part of a split (a task's labelled rows, a smaller training set).

        Raises:
            ValueError: ``rows`` is a mask of the wrong length, or holds indices outside [0, n).
        """
        rows = np.asarray(rows)
        n = len(self)
        if rows.dtype == bool:
            if rows.shape != (n,):
                raise ValueError(f"rows: a bool mask must have shape ({n},), got {rows.shape}")
        elif not np.issubdtype(rows.dtype, np.integer) or rows.ndim != 1:
            raise ValueError(f"rows must be a bool mask of shape ({n},) or a 1-d array of int row "
                             f"indices, got dtype {rows.dtype} and shape {rows.shape}")
        elif len(rows) and (rows.min() < 0 or rows.max() >= n):
            raise ValueError(f"rows: indices must be in [0, {n}), got {rows.min()} … {rows.max()}")
        return ModelInputs(
            categorical={name: ids[rows] for name, ids in self.categorical.items()},
            numeric=self.numeric[rows],
            labels={task: values[rows] for task, values in self.labels.items()},
            masks={task: mask[rows] for task, mask in self.masks.items()},
        )


class FeatureEncoder:
    """Turns joined tables into ``ModelInputs``: ids for categorical columns, standardised numbers.

    ``fit`` learns the numeric means and standard deviations from the training split only, and
    the cardinalities of the categorical features from the shop's entity tables (so a user first
    seen in the test period still has a valid id). ``user_id`` and ``item_id`` have
    ``max id + 1`` ids: for a target domain (whose user ids follow the source's) and for a
    ``combine_domains`` shop that is the source's and the target's users together, so one
    encoder, and one embedding table, serves both domains.

    ``log_price_to_category`` compares a price with its category's median price *in the row's
    own market*: an encoder of a ``combine_domains`` shop keeps one median per domain and
    category, and needs the ``domain`` column in the tables it encodes.
    """

    def __init__(self, shop: Shop):
        n_cat = len(shop.items["category"].cat.categories)
        self.cardinalities: dict[str, int] = {
            "user_id": int(shop.users["user_id"].max()) + 1,
            "item_id": int(shop.items["item_id"].max()) + 1,
            "category": n_cat,
            "brand": int(shop.items["brand"].max()) + 1,
            "segment": len(SEGMENTS),
            "city_tier": 3,
            "device": len(DEVICES),
            "hour": 24,
            "position": N_POSITIONS,
        }
        self.n_classes = {"next_category": n_cat}
        self._by_domain = "domain" in shop.items.columns
        keys = ["domain", "category"] if self._by_domain else "category"
        self._median_price = shop.items.groupby(keys, observed=True)["price"].median()
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def _numeric(self, table: pd.DataFrame) -> np.ndarray:
        if self._by_domain:
            if "domain" not in table.columns:
                raise ValueError("table lacks the 'domain' column: this encoder was built from a combine_domains "
                                 "shop, so encode rows of join_features(combined shop)")
            keys = pd.MultiIndex.from_arrays([table["domain"].astype(str), table["category"].astype(str)])
            median = self._median_price.rename(index=str).reindex(keys).to_numpy()
        else:
            median = self._median_price.reindex(table["category"]).to_numpy()
        if np.isnan(median).any():
            raise ValueError("table has categories (or domains) without items in the encoder's shop")
        columns = {
            "log_price": np.log(table["price"].to_numpy()),
            "log_price_to_category": np.log(table["price"].to_numpy() / median),
            "age": table["age"].to_numpy(dtype=float),
            "brand_tier": table["brand_tier"].to_numpy(dtype=float),
            "is_new": table["is_new"].to_numpy(dtype=float),
            "promotion": table["promotion"].to_numpy(dtype=float),
        }
        return np.column_stack([columns[c] for c in NUMERIC_FEATURES])

    def fit(self, train: pd.DataFrame) -> "FeatureEncoder":
        """Learn standardisation statistics from ``train`` (a ``join_features`` table).

        Raises:
            ValueError: ``train`` has no rows (no statistics to learn).
        """
        if len(train) == 0:
            raise ValueError("train has no rows: fit needs training rows (e.g. split.train) to learn the means "
                             "and standard deviations of the numeric features")
        numeric = self._numeric(train)
        self.mean_ = numeric.mean(axis=0)
        self.std_ = numeric.std(axis=0)
        self.std_[self.std_ == 0] = 1.0
        return self

    def encode_features(self, table: pd.DataFrame) -> dict[str, np.ndarray]:
        """The features of ``table`` alone, without labels (rows to score, e.g. a service's candidates).

        Args:
            table: rows with the columns of a ``join_features`` table that the model reads
                (``CATEGORICAL_FEATURES``, ``price``, ``age``, ``brand_tier``, ``is_new``,
                ``promotion``; ``domain`` for a ``combine_domains`` encoder); no label column needed.

        Returns:
            Every categorical feature → int64 ids (n,) in ``[0, cardinality)``, in
            ``CATEGORICAL_FEATURES`` order, then ``"numeric"`` → float32 (n, len(NUMERIC_FEATURES)),
            standardised with the statistics of ``fit``. ``transform`` builds its features here,
            so the two agree bit for bit.

        Raises:
            RuntimeError: ``fit`` was not called.
            ValueError: a needed column is missing, or a feature has ids outside its range.
        """
        if self.mean_ is None:
            raise RuntimeError("call fit(train) before encode_features")
        needed = [*CATEGORICAL_FEATURES, "category", "price", "age", "brand_tier", "is_new", "promotion"]
        missing = [name for name in dict.fromkeys(needed) if name not in table.columns]
        if missing:
            raise ValueError(f"table lacks the feature columns {missing} (encode rows of a join_features table)")
        features = {}
        for name in CATEGORICAL_FEATURES:
            column = table[name]
            ids = column.cat.codes.to_numpy() if isinstance(column.dtype, pd.CategoricalDtype) else column.to_numpy()
            if name == "city_tier":
                ids = ids - 1
            elif name == "position":
                ids = ids - 1
            ids = np.asarray(ids, dtype=np.int64)
            if len(ids) and (ids.min() < 0 or ids.max() >= self.cardinalities[name]):
                raise ValueError(f"feature {name!r} has ids outside [0, {self.cardinalities[name]})")
            features[name] = ids
        features[_NUMERIC_KEY] = ((self._numeric(table) - self.mean_) / self.std_).astype(np.float32)
        return features

    def transform(self, table: pd.DataFrame, tasks: str | Sequence[str] = tuple(TASKS)) -> ModelInputs:
        """Encode ``table`` (a ``join_features`` table) for the given tasks.

        Args:
            tasks: task names, or one name as a string (``"click"``); all tasks by default.
        """
        if self.mean_ is None:
            raise RuntimeError("call fit(train) before transform")
        tasks = _resolve_tasks(tasks)
        not_shop = [t for t in tasks if t not in TASKS]
        if not_shop:
            raise ValueError(f"tasks {not_shop} are synthetic tasks (data.make_synthetic_tasks builds their "
                             f"inputs), not columns of the shop's tables; shop tasks: {', '.join(TASKS)}")
        features = self.encode_features(table)
        numeric = features.pop(_NUMERIC_KEY)
        categorical = features
        labels = {t: task_labels(table, t) for t in tasks}
        masks = {t: ~np.isnan(labels[t]) for t in tasks}
        return ModelInputs(categorical, numeric, labels, masks)

