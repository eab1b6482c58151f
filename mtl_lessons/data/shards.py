"""A shop log too large for memory: written as Parquet shards in chunks, read back as a stream.

``write_shards`` simulates the shop of a ``ShopConfig`` one shard at a time: the users and items
(the same first draws as ``simulate_shop``, so the same tables), then for shard k the impressions
of its own days, their labels, joined with their users' and items' attributes (``join_features``'
columns) and written to ``impressions-0000k.parquet``. Only one shard is ever in memory. The
purchase intercept b3 (which sets the purchase rate) is solved once on a pilot sample, so every
shard shares one generative process. Shards are chronological: shard k holds days
[k·D/K, (k+1)·D/K) of D days and K shards, and every shard has the same number of rows.

``ShardSet`` reads the folder back: ``encoder`` builds a ``FeatureEncoder`` whose standardisation
statistics are accumulated shard by shard, and ``stream`` yields ``ModelInputs`` batches from any
shards, reading one Parquet row group at a time. The in-memory path (``load_inputs``) encodes the
same rows with the same encoder, so the two paths give identical arrays.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_write
from .config import CATEGORIES, DEVICES, SEGMENTS, ShopConfig
from .encode import NUMERIC_FEATURES, FeatureEncoder, ModelInputs, join_features
from .shop import Shop, _build_shop, _draw_impressions, _draw_source_world, _scores, _simulate_labels, _solve_intercept
from .tasks import _resolve_tasks

MANIFEST = "manifest.json"
ROW_GROUP = 65_536
"""Rows per Parquet row group: the unit ``stream`` reads (and the most it holds at once, per shard)."""
PILOT_ROWS = 200_000


def shard_name(k: int) -> str:
    return f"impressions-{k:05d}.parquet"


def _check_count(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer ≥ {low}, got {value!r}")
    return int(value)


def write_shards(directory: str | os.PathLike, config: ShopConfig, n_shards: int, *,
                 overwrite: bool = False) -> list[Path]:
    """Simulate ``config``'s shop shard by shard into ``directory`` (Parquet), holding one shard at a time.

    Args:
        directory: the folder to write (created if missing).
        config: the shop's knobs; ``n_impressions`` must be a multiple of ``n_shards`` (equal shards)
            and ``n_days`` at least ``n_shards`` (each shard its own days).
        n_shards: number of impression shards (≥ 2).
        overwrite: replace shard files that already exist; if False and any exists, nothing is written.

    Returns:
        The paths written: ``users.parquet``, ``items.parquet``, the shards, then ``manifest.json``.

    Raises:
        ValueError: a bad ``config``, ``n_shards`` or ``directory``. FileExistsError: files exist and
            ``overwrite`` is False.
    """
    if not isinstance(config, ShopConfig):
        raise ValueError(f"config must be a ShopConfig, got {type(config).__name__}")
    n_shards = _check_count("n_shards", n_shards, 2)
    if config.n_impressions % n_shards:
        raise ValueError(f"config.n_impressions ({config.n_impressions}) must be a multiple of n_shards ({n_shards}) "
                         "so that every shard has the same number of rows")
    if config.n_days < n_shards:
        raise ValueError(f"config.n_days ({config.n_days}) must be ≥ n_shards ({n_shards}): each shard holds its own days")
    if not isinstance(directory, (str, os.PathLike)):
        raise ValueError(f"directory must be a folder path, got {type(directory).__name__}")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"directory {directory.name!r} exists and is not a folder")
    names = ["users.parquet", "items.parquet", *(shard_name(k) for k in range(n_shards)), MANIFEST]
    existing = [n for n in names if (directory / n).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{directory.name}/ already holds {existing[:3]}…; pass overwrite=True to replace them")
    directory.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(config.seed)
    world = _draw_source_world(config, rng)
    pilot_rng = np.random.default_rng([config.seed, 7_001])
    pilot = _draw_impressions(pilot_rng, min(PILOT_ROWS, config.n_impressions), config.n_days, world.activity,
                              world.popularity)
    s = _scores(world, pilot, config.task_correlation)
    b3 = _solve_intercept(s["click"], s["cart"], s["buy_base"], config.noise, config.purchase_rate)

    rows = config.n_impressions // n_shards
    empty = {name: np.zeros(0, dtype=int) for name in ("user", "item", "day", "hour", "device", "position")}
    empty["promotion"] = np.zeros(0, dtype=bool)
    entities = _build_shop(world, empty, *_simulate_labels(rng, world, empty, config.task_correlation,
                                                           config.purchase_rate, config.noise, b3=b3)[:2], config)
    written = []
    for name, table in (("users.parquet", entities.users), ("items.parquet", entities.items)):
        written.append(atomic_write(directory / name, lambda tmp, t=table: t.to_parquet(tmp, index=False),
                                    overwrite=True))
    days = []
    for k in range(n_shards):
        first, last = k * config.n_days // n_shards, (k + 1) * config.n_days // n_shards
        shard_rng = np.random.default_rng([config.seed, 7_002, k])
        imp = _draw_impressions(shard_rng, rows, last - first, world.activity, world.popularity)
        imp["day"] = imp["day"] + first
        labels, oracle, _ = _simulate_labels(shard_rng, world, imp, config.task_correlation, config.purchase_rate,
                                             config.noise, b3=b3)
        shard = _build_shop(world, imp, labels, oracle, config, impression_offset=k * rows)
        table = join_features(shard)
        written.append(atomic_write(directory / shard_name(k),
                                    lambda tmp, t=table: t.to_parquet(tmp, index=False, row_group_size=ROW_GROUP),
                                    overwrite=True))
        days.append([first, last])
        del shard, table, imp, labels, oracle
    manifest = {"config": asdict(config), "n_shards": n_shards, "rows_per_shard": rows, "days": days,
                "purchase_intercept": b3}
    written.append(atomic_write(directory / MANIFEST,
                                lambda tmp: Path(tmp).write_text(json.dumps(manifest, indent=1) + "\n"), overwrite=True))
    return written


# --------------------------------------------------------------------------- reading
_CATEGORIES = {"segment": SEGMENTS, "device": DEVICES}
_NEEDED = ("user_id", "item_id", "category", "brand", "segment", "city_tier", "device", "hour", "position",
           "price", "age", "brand_tier", "is_new", "promotion")


@dataclass
class ShardSet:
    """A folder written by ``write_shards``: its manifest and its entity tables (small), not its rows."""

    directory: Path
    config: ShopConfig
    n_shards: int
    rows_per_shard: int
    days: list[list[int]]
    users: pd.DataFrame
    items: pd.DataFrame

    @classmethod
    def open(cls, directory: str | os.PathLike) -> "ShardSet":
        """Read ``directory``'s manifest and entity tables.

        Raises:
            ValueError: the folder lacks the manifest or a file it lists.
        """
        directory = Path(directory)
        path = directory / MANIFEST
        if not path.is_file():
            raise ValueError(f"directory: {directory.name}/ has no {MANIFEST}; write it with write_shards")
        manifest = json.loads(path.read_text())
        missing = [n for n in ("users.parquet", "items.parquet", *(shard_name(k) for k in range(manifest["n_shards"])))
                   if not (directory / n).is_file()]
        if missing:
            raise ValueError(f"directory: {directory.name}/ lacks {missing[:3]}: rewrite it with write_shards")
        config = ShopConfig(**manifest["config"])
        users = pd.read_parquet(directory / "users.parquet")
        items = pd.read_parquet(directory / "items.parquet")
        users["segment"] = pd.Categorical(users["segment"].astype(str), categories=SEGMENTS)
        items["category"] = pd.Categorical(items["category"].astype(str), categories=CATEGORIES[:config.n_categories])
        return cls(directory, config, manifest["n_shards"], manifest["rows_per_shard"], manifest["days"], users, items)

    def paths(self, shards: Sequence[int] | None = None) -> list[Path]:
        """The shard files (all, or those numbered in ``shards``)."""
        shards = range(self.n_shards) if shards is None else shards
        bad = [k for k in shards if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < self.n_shards]
        if bad:
            raise ValueError(f"shards must be shard numbers in [0, {self.n_shards}), got {bad}")
        return [self.directory / shard_name(k) for k in shards]

    def _canonical(self, table: pd.DataFrame) -> pd.DataFrame:
        """Categorical columns with the course's category order, whatever the Parquet dictionary held."""
        vocab = {**_CATEGORIES, "category": CATEGORIES[:self.config.n_categories],
                 "next_category": CATEGORIES[:self.config.n_categories]}
        for column, categories in vocab.items():
            if column in table.columns:
                values = pd.Categorical(table[column].astype(str), categories=categories)
                if (values.codes < 0).any():
                    raise ValueError(f"column {column!r} holds values outside {list(categories)}")
                table[column] = values
        return table

    def encoder(self, shards: Sequence[int]) -> FeatureEncoder:
        """A ``FeatureEncoder`` of this shop, its statistics accumulated over ``shards`` one at a time.

        Mean and standard deviation (population, as ``FeatureEncoder.fit``) from float64 sums of x
        and x², one Parquet batch at a time: the training rows are never all in memory.
        """
        encoder = FeatureEncoder(Shop(self.users, self.items, pd.DataFrame(), pd.DataFrame(), self.config))
        total, total_sq, n = np.zeros(len(NUMERIC_FEATURES)), np.zeros(len(NUMERIC_FEATURES)), 0
        import pyarrow.parquet as pq

        for path in self.paths(shards):
            for batch in pq.ParquetFile(path).iter_batches(batch_size=ROW_GROUP, columns=list(_NEEDED)):
                numeric = encoder._numeric(self._canonical(batch.to_pandas()))
                total += numeric.sum(axis=0)
                total_sq += (numeric ** 2).sum(axis=0)
                n += len(numeric)
        if n == 0:
            raise ValueError("shards must name at least one shard to fit the encoder on")
        encoder.mean_ = total / n
        encoder.std_ = np.sqrt(np.maximum(total_sq / n - encoder.mean_ ** 2, 0.0))
        encoder.std_[encoder.std_ == 0] = 1.0
        return encoder

    def stream(self, shards: Sequence[int], encoder: FeatureEncoder, tasks: str | Sequence[str],
               batch_rows: int = ROW_GROUP) -> Iterator[ModelInputs]:
        """``ModelInputs`` of ``shards``' rows, in order, exactly ``batch_rows`` at a time (only the last
        batch of each shard may be shorter), whatever the files' row groups; at most ``batch_rows`` rows
        plus one Parquet batch are held at a time."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        tasks = _resolve_tasks(tasks)
        batch_rows = _check_count("batch_rows", batch_rows, 1)
        for path in self.paths(shards):
            pending, held = [], 0
            for record_batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows):
                pending.append(record_batch)  # iter_batches stops at row-group ends: regroup exactly
                held += record_batch.num_rows
                while held >= batch_rows:
                    table = pa.Table.from_batches(pending)
                    yield encoder.transform(self._canonical(table.slice(0, batch_rows).to_pandas()), tasks)
                    pending, held = table.slice(batch_rows).to_batches(), held - batch_rows
            if held:
                yield encoder.transform(self._canonical(pa.Table.from_batches(pending).to_pandas()), tasks)

    def load_inputs(self, shards: Sequence[int], encoder: FeatureEncoder, tasks: str | Sequence[str]) -> ModelInputs:
        """The in-memory path: ``shards``' rows read whole into one table, then encoded."""
        table = pd.concat([pd.read_parquet(path) for path in self.paths(shards)], ignore_index=True)
        return encoder.transform(self._canonical(table), _resolve_tasks(tasks))


def concat_inputs(parts: Sequence[ModelInputs]) -> ModelInputs:
    """One ``ModelInputs`` holding ``parts``' rows in order (they must have the same features and tasks)."""
    if not parts:
        raise ValueError("parts must hold at least one ModelInputs")
    first = parts[0]
    return ModelInputs(
        categorical={k: np.concatenate([p.categorical[k] for p in parts]) for k in first.categorical},
        numeric=np.concatenate([p.numeric for p in parts]),
        labels={k: np.concatenate([p.labels[k] for p in parts]) for k in first.labels},
        masks={k: np.concatenate([p.masks[k] for p in parts]) for k in first.masks})


def stream_auc(shard_set: ShardSet, shards: Sequence[int], encoder: FeatureEncoder, tasks: Sequence[str],
               score) -> dict[str, float]:
    """ROC AUC of each binary task of ``tasks`` on ``shards``' rows, streamed one Parquet row group at a time.

    Args:
        score: a function of one ``ModelInputs`` batch returning task → scores (n,) (probabilities or
            logits: AUC depends only on their order).
    """
    from sklearn.metrics import roc_auc_score

    scores, labels = {t: [] for t in tasks}, {t: [] for t in tasks}
    for batch in shard_set.stream(shards, encoder, tasks, ROW_GROUP):
        batch_scores = score(batch)
        for task in tasks:
            scores[task].append(np.asarray(batch_scores[task], dtype=np.float64))
            labels[task].append(batch.labels[task])
    return {task: float(roc_auc_score(np.concatenate(labels[task]), np.concatenate(scores[task]))) for task in tasks}


def shard_list(text: str) -> list[int]:
    """Shard numbers from a command line's comma-separated list ("0,1,2"; "" is none)."""
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"shard numbers must be comma-separated integers such as 0,1,2, got {text!r}") from None


def rank_shards(train_shards: Sequence[int], rank: int, world: int) -> list[int]:
    """The training shards process ``rank`` of ``world`` reads: every ``world``-th, from the ``rank``-th."""
    return list(train_shards)[rank::world]


RUN_FILES = ("weights.npz", "report.json")


def check_run_folder(folder: str | os.PathLike, overwrite: bool) -> Path:
    """Refuse a run folder that already holds a run's files, unless ``overwrite`` (call before training).

    Raises:
        ValueError: ``folder`` exists and is not a folder. FileExistsError: it holds ``weights.npz`` or
            ``report.json`` and ``overwrite`` is False.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"out {str(folder)!r} exists and is not a folder")
    existing = [name for name in RUN_FILES if (folder / name).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"out {folder.name}/ already holds {existing}; pass overwrite=True (--overwrite) "
                              "to replace them, or choose another folder")
    return folder


def write_run(folder: str | os.PathLike, weights: dict[str, np.ndarray], report: dict, *,
              overwrite: bool = False) -> None:
    """A training run's results in ``folder`` (created if missing): ``weights.npz`` (the framework-neutral
    weights of ``export_weights``) and ``report.json``, each written atomically. If either file exists and
    ``overwrite`` is False, nothing is written (``FileExistsError``)."""
    folder = check_run_folder(folder, overwrite)
    folder.mkdir(parents=True, exist_ok=True)

    def save_arrays(path: Path) -> None:
        with open(path, "wb") as file:  # a file object: np.savez would append ".npz" to the temp name
            np.savez(file, **weights)

    atomic_write(folder / "weights.npz", save_arrays, overwrite=overwrite)
    atomic_write(folder / "report.json", lambda tmp: Path(tmp).write_text(json.dumps(report, indent=1) + "\n"),
                 overwrite=overwrite)
