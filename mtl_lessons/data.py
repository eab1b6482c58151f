r"""The simulated shop: users, items, impressions and the labels of seven shopping-guide tasks.

Real e-commerce logs cannot ship with a course, so this module *simulates* a shop whose
generative process is written down here and whose ground truth is known. Every model in the
course can then be scored against the best any model could do (the **oracle**), and knobs such
as task correlation and purchase sparsity turn "when does sharing help?" into an experiment.

Generative process
------------------
Entities (all drawn from one ``numpy.random.Generator`` seeded by ``ShopConfig.seed``):

* **Categories** ``k`` have a centre :math:`c_k \in \mathbb{R}^d` and a median price.
* **Users** ``u`` belong to a segment (``student``, ``family``, ``professional``, ``senior``) and
  a city tier (1–3). Their taste is :math:`t_u = m_{segment} + 0.15\,z_u` (segment mean plus a
  small individual part), their price sensitivity :math:`\beta_u` is log-normal around a segment and
  tier level, and their activity (how many impressions they get) is log-normal: a few users are
  very active, most are not.
* **Items** ``i`` have a category, a brand (brands have a tier, an appeal and a quality), a
  price (log-normal around the category median), a quality :math:`q_i` (brand plus item part),
  an appeal (brand plus item part; it also drives a long tail of exposure) and a latent vector
  :math:`v_i = c_{k(i)} + 0.2\,z_i`.
* A second, *purchase-only* taste :math:`t'_u = m'_{segment} + 0.15\,z'_u`, drawn independently
  of :math:`t_u`, lets the knob
  ``task_correlation`` :math:`\rho` decide how much buying shares with clicking:
  :math:`a^{buy}_{ui} = \rho\, t_u^\top v_i + \sqrt{1-\rho^2}\, t'^\top_u v_i`.

Each **impression** shows item ``i`` to user ``u`` on a day (0 … ``n_days``−1), at an hour,
on a device (app / web / mini-program), at a list position (1–20), with or without a promotion.
Items are shown in proportion to their popularity, users in proportion to their activity.

Labels follow the purchase **funnel** (each step conditional on the previous one). With
:math:`\sigma` the logistic function, :math:`\delta_u = \beta_u \log(\text{price}_i / \text{median price}_{k(i)})`
and a shopper's *mood* :math:`\varepsilon \sim \mathcal{N}(0, \text{noise}^2)` shared by the
three steps of one impression:

.. math::

   s_{click} &= -2.7 + 0.6\,t_u^\top v_i + 0.5\,\text{appeal}_i + 0.3\,q_i - 0.07(\text{pos}-1)
               + 0.35\,\text{promo} + \text{device}_{click} + \text{hour}_{click} \\
   s_{cart}  &= -1.5 + 0.5\,a^{buy}_{ui} + 0.5\,q_i - 0.8\,\delta_u + 0.3\,\text{promo} \\
   s_{buy}   &= b_3 + 0.5\,a^{buy}_{ui} + 0.4\,q_i - 1.2\,\delta_u + 0.4\,\text{promo}

click ~ Bernoulli(σ(s_click + ε)); add_to_cart ~ click · Bernoulli(σ(s_cart + ε));
purchase ~ add_to_cart · Bernoulli(σ(s_buy + ε)). The intercept :math:`b_3` is solved so that the
mean purchase probability equals the knob ``purchase_rate``.

After a purchase, the shopper's satisfaction
:math:`S = 1.0\,q_i + 0.4\,a^{buy}_{ui} - 0.5\,\delta_u + \eta`, :math:`\eta \sim \mathcal{N}(0, 0.8^2)`,
gives the **rating** (1–5, cut at fixed thresholds, so ratings skew high as in real shops) and the
**review sentiment** (positive when :math:`S + \xi > 0.3`, :math:`\xi \sim \mathcal{N}(0, 0.5^2)`).
After a click, the **dwell time** is log-normal:
:math:`\log \text{seconds} = 3.2 + 0.35\,t_u^\top v_i + 0.3\,q_i + 0.25\,[\text{web}] + \mathcal{N}(0, 0.6^2)`.
On every impression the **next search category** (the category of the user's next search
keyword) is drawn from :math:`\text{softmax}_k(1.2\, t_u^\top c_k + 1.0\,[k = k(i)])`.

The oracle
----------
For each impression the simulator also keeps the true probabilities *given everything it knows
except the mood and the noise draws*: the funnel probabilities marginalise the mood exactly
(Gauss–Hermite quadrature), the rating and sentiment oracles use normal CDFs. They live in a
separate table (``Shop.oracle``) and are never model features: they are the ceiling.

Missing labels
--------------
``rating`` and ``sentiment`` exist only where ``purchase == 1`` and ``dwell_seconds`` only where
``click == 1``; elsewhere they are NaN. A task's mask says which rows carry its label; absence is
never a zero.

Regenerate the committed dataset with ``python -m mtl_lessons.data`` (or ``make data``).
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import zlib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, log_softmax, ndtr

__all__ = [
    "DATA_DIR",
    "CATEGORIES",
    "SEGMENTS",
    "DEVICES",
    "ShopConfig",
    "Shop",
    "Task",
    "TASKS",
    "Split",
    "ModelInputs",
    "FeatureEncoder",
    "simulate_shop",
    "save_shop",
    "load_shop",
    "join_features",
    "chronological_split",
    "get_task",
    "task_mask",
    "task_labels",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "datasets"

CATEGORIES = (
    "fashion", "beauty", "electronics", "home", "sports",
    "books", "toys", "food", "pets", "outdoor", "jewelry", "auto",
)
SEGMENTS = ("student", "family", "professional", "senior")
DEVICES = ("app", "web", "mini_program")
N_POSITIONS = 20
LATENT_DIM = 8
RATING_CUTS = (-1.6, -0.9, -0.1, 0.7)  # satisfaction thresholds between ratings 1|2|3|4|5
SENTIMENT_CUT = 0.3
SATISFACTION_NOISE = 0.8
SENTIMENT_NOISE = 0.5
DWELL_NOISE = 0.6
_HERMITE_NODES = 32

FILES = {
    "users": "users.csv",
    "items": "items.csv",
    "impressions": "impressions.csv.gz",
    "oracle": "oracle.csv.gz",
}
CONFIG_FILE = "config.json"


# --------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class ShopConfig:
    """Knobs of the simulated shop. Out-of-range values raise ``ValueError``.

    Attributes:
        seed: seed of the random generator (integer ≥ 0).
        n_users: number of users (100 … 1,000,000).
        n_items: number of items (50 … 1,000,000).
        n_categories: number of item categories (2 … 12).
        n_impressions: number of impressions (1,000 … 10,000,000).
        n_days: length of the log in days (7 … 365).
        task_correlation: ρ in [0, 1], how much purchase taste equals click taste
            (1: buying follows exactly the taste that drives clicks; 0: an unrelated taste).
        purchase_rate: mean purchase probability per impression, in [0.001, 0.05].
        noise: standard deviation of the shopper's mood (logit units), in [0, 3].
    """

    seed: int = 2024
    n_users: int = 4000
    n_items: int = 1000
    n_categories: int = 10
    n_impressions: int = 300_000
    n_days: int = 30
    task_correlation: float = 0.8
    purchase_rate: float = 0.01
    noise: float = 0.5

    _RANGES = {
        "seed": (0, 2**32 - 1),
        "n_users": (100, 1_000_000),
        "n_items": (50, 1_000_000),
        "n_categories": (2, len(CATEGORIES)),
        "n_impressions": (1_000, 10_000_000),
        "n_days": (7, 365),
        "task_correlation": (0.0, 1.0),
        "purchase_rate": (0.001, 0.05),
        "noise": (0.0, 3.0),
    }

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            low, high = self._RANGES[f.name]
            integer = isinstance(low, int)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise ValueError(f"{f.name} must be a number in [{low}, {high}], got {value!r}")
            if integer and int(value) != value:
                raise ValueError(f"{f.name} must be an integer in [{low}, {high}], got {value!r}")
            if not (low <= value <= high) or (not integer and math.isnan(value)):
                raise ValueError(f"{f.name} must be in [{low}, {high}], got {value!r}")


# --------------------------------------------------------------------------- the shop
@dataclass
class Shop:
    """The simulated shop: three feature tables and the oracle, kept apart.

    Attributes:
        users: one row per user: ``user_id, segment, city_tier, age``.
        items: one row per item: ``item_id, category, brand, brand_tier, price, is_new``.
        impressions: one row per impression, in time order: ids, context
            (``day, hour, device, position, promotion``) and labels
            (``click, add_to_cart, purchase, rating, sentiment, dwell_seconds, next_category``).
        oracle: one row per impression (same order), the true probabilities / expectations
            (``p_click, p_add_to_cart, p_purchase, expected_rating, p_positive_sentiment,
            expected_log_dwell, p_next_category_true, next_category_argmax``). Never a feature.
        config: the knobs that made it.
    """

    users: pd.DataFrame
    items: pd.DataFrame
    impressions: pd.DataFrame
    oracle: pd.DataFrame
    config: ShopConfig = field(default_factory=ShopConfig)

    def oracle_for(self, table: pd.DataFrame) -> pd.DataFrame:
        """The oracle rows of ``table``'s impressions, in ``table``'s order (index 0 … n−1).

        For ceiling analysis only: never feed these columns to a model.
        """
        if "impression_id" not in table.columns:
            raise ValueError("table must have an 'impression_id' column")
        rows = self.oracle.set_index("impression_id").reindex(table["impression_id"].to_numpy())
        if rows["p_click"].isna().any():
            raise ValueError("table has impression_id values that are not in this shop")
        return rows.reset_index()


def _normal(rng: np.random.Generator, size, scale: float = 1.0) -> np.ndarray:
    return rng.normal(0.0, scale, size=size)


def _gauss_hermite(noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights so that E[f(ε)] ≈ Σ w f(node) for ε ~ N(0, noise²)."""
    x, w = np.polynomial.hermite.hermgauss(_HERMITE_NODES)
    return math.sqrt(2.0) * noise * x, w / math.sqrt(math.pi)


def _funnel_probabilities(s_click, s_cart, s_buy, noise: float):
    """Exact (quadrature) P(click), P(cart), P(purchase) with the mood marginalised out."""
    nodes, weights = _gauss_hermite(noise)
    p_click = np.zeros_like(s_click)
    p_cart = np.zeros_like(s_click)
    p_buy = np.zeros_like(s_click)
    for e, w in zip(nodes, weights):
        c = expit(s_click + e)
        a = c * expit(s_cart + e)
        p_click += w * c
        p_cart += w * a
        p_buy += w * a * expit(s_buy + e)
    return p_click, p_cart, p_buy


def _solve_intercept(s_click, s_cart, s_buy_base, noise: float, target: float) -> float:
    """The intercept b3 for which the mean purchase probability equals ``target`` (Brent's method)."""
    nodes, weights = _gauss_hermite(noise)
    reach_cart = np.stack([w * expit(s_click + e) * expit(s_cart + e) for e, w in zip(nodes, weights)])
    if target >= reach_cart.sum(axis=0).mean():
        raise ValueError(
            f"purchase_rate={target} is not reachable: only {reach_cart.sum(axis=0).mean():.4f} of "
            "impressions reach the cart; choose a smaller purchase_rate"
        )
    shifted = s_buy_base[None, :] + nodes[:, None]

    def excess(b3: float) -> float:
        return float((reach_cart * expit(shifted + b3)).sum(axis=0).mean() - target)

    return float(brentq(excess, -30.0, 30.0, xtol=1e-10))


def simulate_shop(config: ShopConfig | None = None) -> Shop:
    """Simulate a shop from its knobs (see the module docstring for the process).

    Args:
        config: the knobs; ``ShopConfig()`` (the course dataset) when omitted.

    Returns:
        A ``Shop`` whose impressions are sorted by (day, hour) and numbered 0 … n−1.
    """
    config = ShopConfig() if config is None else config
    if not isinstance(config, ShopConfig):
        raise ValueError(f"config must be a ShopConfig, got {type(config).__name__}")
    rng = np.random.default_rng(config.seed)
    d, n_cat = LATENT_DIM, config.n_categories

    # categories and segments
    cat_centre = _normal(rng, (n_cat, d), 0.9)
    cat_price = np.exp(rng.uniform(np.log(8.0), np.log(400.0), n_cat))
    seg_taste = _normal(rng, (len(SEGMENTS), d), 0.6)
    seg_taste_buy = _normal(rng, (len(SEGMENTS), d), 0.6)
    seg_price_level = np.array([0.55, 0.2, -0.35, 0.1])  # students most price-sensitive

    # users
    nu = config.n_users
    segment = rng.choice(len(SEGMENTS), nu, p=[0.25, 0.35, 0.3, 0.1])
    city_tier = rng.choice(3, nu, p=[0.3, 0.4, 0.3]) + 1
    age_mean = np.array([21.0, 38.0, 33.0, 64.0])[segment]
    age = np.clip(np.round(age_mean + _normal(rng, nu, 5.0)), 16, 90).astype(int)
    taste = seg_taste[segment] + _normal(rng, (nu, d), 0.15)
    taste_buy = seg_taste_buy[segment] + _normal(rng, (nu, d), 0.15)
    price_sens = np.exp(seg_price_level[segment] + 0.15 * (city_tier - 2) + _normal(rng, nu, 0.3))
    activity = np.exp(_normal(rng, nu, 1.0))

    # brands and items
    n_brands = max(10, config.n_items // 25)
    brand_tier = rng.choice(3, n_brands, p=[0.5, 0.35, 0.15])  # 0 value, 1 mid, 2 premium
    brand_appeal = _normal(rng, n_brands, 0.5)
    brand_quality = _normal(rng, n_brands, 0.4)
    ni = config.n_items
    category = rng.choice(n_cat, ni, p=rng.dirichlet(np.full(n_cat, 4.0)))
    brand = rng.integers(0, n_brands, ni)
    tier = brand_tier[brand]
    price = np.round(cat_price[category] * np.exp(0.35 * (tier - 0.7) + _normal(rng, ni, 0.35)), 2)
    quality = 0.4 * (tier - 0.7) + brand_quality[brand] + _normal(rng, ni, 0.2)
    appeal = brand_appeal[brand] + _normal(rng, ni, 0.2)
    popularity = np.exp(1.3 * appeal + _normal(rng, ni, 0.8))  # long tail of exposure
    item_vec = cat_centre[category] + _normal(rng, (ni, d), 0.2)
    is_new = rng.random(ni) < 0.15

    # impressions
    n = config.n_impressions
    user_id = rng.choice(nu, n, p=activity / activity.sum())
    item_id = rng.choice(ni, n, p=popularity / popularity.sum())
    day = rng.integers(0, config.n_days, n)
    hour = rng.choice(24, n, p=_hour_profile())
    device = rng.choice(len(DEVICES), n, p=[0.6, 0.15, 0.25])
    position = np.minimum(rng.geometric(0.12, n), N_POSITIONS)
    promotion = rng.random(n) < 0.2
    order = np.lexsort((rng.random(n), hour, day))
    user_id, item_id, day, hour, device, position, promotion = (
        a[order] for a in (user_id, item_id, day, hour, device, position, promotion)
    )

    # scores
    v = item_vec[item_id]
    aff_click = np.einsum("nd,nd->n", taste[user_id], v)
    aff_own = np.einsum("nd,nd->n", taste_buy[user_id], v)
    rho = config.task_correlation
    aff_buy = rho * aff_click + math.sqrt(1.0 - rho**2) * aff_own
    delta = price_sens[user_id] * np.log(price[item_id] / cat_price[category[item_id]])
    q = quality[item_id]
    device_click = np.array([0.0, -0.25, 0.1])[device]
    hour_click = 0.25 * np.cos(2 * np.pi * (hour - 21) / 24)
    s_click = (-2.7 + 0.6 * aff_click + 0.5 * appeal[item_id] + 0.3 * q - 0.07 * (position - 1)
               + 0.35 * promotion + device_click + hour_click)
    s_cart = -1.5 + 0.5 * aff_buy + 0.5 * q - 0.8 * delta + 0.3 * promotion
    s_buy_base = 0.5 * aff_buy + 0.4 * q - 1.2 * delta + 0.4 * promotion
    b3 = _solve_intercept(s_click, s_cart, s_buy_base, config.noise, config.purchase_rate)
    s_buy = s_buy_base + b3
    p_click, p_cart, p_buy = _funnel_probabilities(s_click, s_cart, s_buy, config.noise)

    # funnel labels with a shared mood
    mood = _normal(rng, n, config.noise)
    click = rng.random(n) < expit(s_click + mood)
    cart = click & (rng.random(n) < expit(s_cart + mood))
    purchase = cart & (rng.random(n) < expit(s_buy + mood))

    # post-purchase labels
    sat_mean = 1.0 * q + 0.4 * aff_buy - 0.5 * delta
    satisfaction = sat_mean + _normal(rng, n, SATISFACTION_NOISE)
    rating = (1 + np.searchsorted(RATING_CUTS, satisfaction)).astype(float)
    sentiment = (satisfaction + _normal(rng, n, SENTIMENT_NOISE) > SENTIMENT_CUT).astype(float)
    rating[~purchase] = np.nan
    sentiment[~purchase] = np.nan
    cuts = np.array((-np.inf,) + RATING_CUTS + (np.inf,))
    cdf = ndtr((cuts[None, :] - sat_mean[:, None]) / SATISFACTION_NOISE)
    expected_rating = (np.diff(cdf, axis=1) * np.arange(1, 6)).sum(axis=1)
    p_pos = ndtr((sat_mean - SENTIMENT_CUT) / math.hypot(SATISFACTION_NOISE, SENTIMENT_NOISE))

    # dwell time after a click
    log_dwell_mean = 3.2 + 0.35 * aff_click + 0.3 * q + 0.25 * (device == 1)
    dwell = np.round(np.exp(log_dwell_mean + _normal(rng, n, DWELL_NOISE)), 1)
    dwell[~click] = np.nan

    # next search category
    next_logits = 1.2 * taste[user_id] @ cat_centre.T
    next_logits[np.arange(n), category[item_id]] += 1.0
    next_logp = log_softmax(next_logits, axis=1)
    gumbel = -np.log(-np.log(rng.random((n, n_cat))))
    next_category = np.argmax(next_logp + gumbel, axis=1)

    users = pd.DataFrame({
        "user_id": np.arange(nu),
        "segment": pd.Categorical.from_codes(segment, SEGMENTS),
        "city_tier": city_tier,
        "age": age,
    })
    items = pd.DataFrame({
        "item_id": np.arange(ni),
        "category": pd.Categorical.from_codes(category, CATEGORIES[:n_cat]),
        "brand": brand,
        "brand_tier": tier,
        "price": price,
        "is_new": is_new.astype(int),
    })
    impressions = pd.DataFrame({
        "impression_id": np.arange(n),
        "day": day,
        "hour": hour,
        "user_id": user_id,
        "item_id": item_id,
        "device": pd.Categorical.from_codes(device, DEVICES),
        "position": position,
        "promotion": promotion.astype(int),
        "click": click.astype(int),
        "add_to_cart": cart.astype(int),
        "purchase": purchase.astype(int),
        "rating": rating,
        "sentiment": sentiment,
        "dwell_seconds": dwell,
        "next_category": pd.Categorical.from_codes(next_category, CATEGORIES[:n_cat]),
    })
    oracle = pd.DataFrame({
        "impression_id": np.arange(n),
        "p_click": p_click,
        "p_add_to_cart": p_cart,
        "p_purchase": p_buy,
        "expected_rating": expected_rating,
        "p_positive_sentiment": p_pos,
        "expected_log_dwell": log_dwell_mean,
        "p_next_category_true": np.exp(next_logp[np.arange(n), next_category]),
        "next_category_argmax": pd.Categorical.from_codes(next_logp.argmax(axis=1), CATEGORIES[:n_cat]),
    })
    return Shop(users, items, impressions, oracle, config)


def _hour_profile() -> np.ndarray:
    """Share of traffic per hour of day: quiet at night, peaks at lunch and in the evening."""
    h = np.arange(24)
    w = 0.2 + np.exp(-0.5 * ((h - 12.5) / 1.5) ** 2) + 1.6 * np.exp(-0.5 * ((h - 20.5) / 2.0) ** 2)
    return w / w.sum()


# --------------------------------------------------------------------------- files
_FLOAT_DIGITS = {"price": 2, "rating": 0, "sentiment": 0, "dwell_seconds": 1}
_ORACLE_DIGITS = 6


def save_shop(shop: Shop, directory: str | Path = DATA_DIR) -> list[Path]:
    """Write the shop to ``directory`` as CSV (gzip with a fixed timestamp, so bytes repeat).

    Returns:
        The paths written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, filename in FILES.items():
        table: pd.DataFrame = getattr(shop, name)
        path = directory / filename
        kwargs = {"float_format": f"%.{_ORACLE_DIGITS}g"} if name == "oracle" else {}
        if filename.endswith(".gz"):
            with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
                gz.write(table.to_csv(index=False, lineterminator="\n", **kwargs).encode())
        else:
            table.to_csv(path, index=False, lineterminator="\n", **kwargs)
        paths.append(path)
    config_path = directory / CONFIG_FILE
    config_path.write_text(json.dumps(asdict(shop.config), indent=2) + "\n")
    paths.append(config_path)
    return paths


_REQUIRED = {
    "users": ["user_id", "segment", "city_tier", "age"],
    "items": ["item_id", "category", "brand", "brand_tier", "price", "is_new"],
    "impressions": ["impression_id", "day", "hour", "user_id", "item_id", "device", "position",
                    "promotion", "click", "add_to_cart", "purchase", "rating", "sentiment",
                    "dwell_seconds", "next_category"],
    "oracle": ["impression_id", "p_click", "p_add_to_cart", "p_purchase", "expected_rating",
               "p_positive_sentiment", "expected_log_dwell", "p_next_category_true",
               "next_category_argmax"],
}
_MAY_BE_MISSING = {"rating", "sentiment", "dwell_seconds"}
_REGENERATE = "regenerate it with `make data` (or `python -m mtl_lessons.data`)"


def load_shop(directory: str | Path = DATA_DIR) -> Shop:
    """Load the committed course dataset (or one written by ``save_shop``).

    Raises:
        FileNotFoundError: a file is missing (the message names it and how to regenerate it).
        ValueError: a file is corrupt or lacks columns (same).
    """
    directory = Path(directory)
    config_path = directory / CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(f"dataset file {CONFIG_FILE} is missing in {directory.name}/: {_REGENERATE}")
    try:
        config = ShopConfig(**json.loads(config_path.read_text()))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"dataset file {CONFIG_FILE} is corrupt ({exc}): {_REGENERATE}") from exc
    categories = {"segment": SEGMENTS, "device": DEVICES,
                  "category": CATEGORIES[: config.n_categories],
                  "next_category": CATEGORIES[: config.n_categories],
                  "next_category_argmax": CATEGORIES[: config.n_categories]}
    tables = {}
    for name, filename in FILES.items():
        path = directory / filename
        if not path.is_file():
            raise FileNotFoundError(f"dataset file {filename} is missing in {directory.name}/: {_REGENERATE}")
        try:
            table = pd.read_csv(path)
        except (OSError, EOFError, ValueError, UnicodeDecodeError, zlib.error, pd.errors.ParserError) as exc:
            raise ValueError(f"dataset file {filename} is corrupt ({type(exc).__name__}: {exc}): {_REGENERATE}") from exc
        missing = [c for c in _REQUIRED[name] if c not in table.columns]
        if missing:
            raise ValueError(f"dataset file {filename} lacks columns {missing}: {_REGENERATE}")
        expected_rows = {"users": config.n_users, "items": config.n_items}.get(name, config.n_impressions)
        complete = [c for c in _REQUIRED[name] if c not in _MAY_BE_MISSING]
        if len(table) != expected_rows or table[complete].isna().any().any():
            raise ValueError(f"dataset file {filename} is incomplete ({len(table)} rows, {expected_rows} expected, "
                             f"or empty cells): {_REGENERATE}")
        for column in table.columns.intersection(list(categories)):
            unknown = set(table[column].dropna().unique()) - set(categories[column])
            if unknown:
                raise ValueError(f"dataset file {filename} has unknown {column} values {sorted(unknown)}: {_REGENERATE}")
            table[column] = pd.Categorical(table[column], categories=categories[column])
        tables[name] = table
    if len(tables["oracle"]) != len(tables["impressions"]):
        raise ValueError(f"dataset files {FILES['oracle']} and {FILES['impressions']} differ in length: {_REGENERATE}")
    return Shop(**tables, config=config)


def join_features(shop: Shop) -> pd.DataFrame:
    """Impressions joined with their user's and item's attributes (one row per impression).

    The oracle is not joined: it is never a feature.
    """
    table = shop.impressions.merge(shop.users, on="user_id", how="left", validate="many_to_one")
    table = table.merge(shop.items, on="item_id", how="left", validate="many_to_one")
    return table


# --------------------------------------------------------------------------- tasks
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
        Task("next_category", "multiclass", "next_category", "all", "search keyword 搜索关键词", "next_category_argmax"),
    )
}


def get_task(name: str) -> Task:
    """The registry entry for ``name``; unknown names raise ``ValueError`` listing the known ones."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}")
    return TASKS[name]


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


# --------------------------------------------------------------------------- splits
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
    """
    if "day" not in table.columns:
        raise ValueError("table must have a 'day' column")
    days = int(table["day"].max()) + 1
    for name, value in (("valid_days", valid_days), ("test_days", test_days)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer ≥ 1, got {value!r}")
    if valid_days + test_days >= days:
        raise ValueError(f"valid_days + test_days must leave training days: the log has {days} days")
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
    seen in the test period still has a valid id).
    """

    def __init__(self, shop: Shop):
        n_cat = len(shop.items["category"].cat.categories)
        self.cardinalities: dict[str, int] = {
            "user_id": len(shop.users),
            "item_id": len(shop.items),
            "category": n_cat,
            "brand": int(shop.items["brand"].max()) + 1,
            "segment": len(SEGMENTS),
            "city_tier": 3,
            "device": len(DEVICES),
            "hour": 24,
            "position": N_POSITIONS,
        }
        self.n_classes = {"next_category": n_cat}
        self._median_price = shop.items.groupby("category", observed=False)["price"].median()
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def _numeric(self, table: pd.DataFrame) -> np.ndarray:
        median = self._median_price.reindex(table["category"]).to_numpy()
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
        """Learn standardisation statistics from ``train`` (a ``join_features`` table)."""
        numeric = self._numeric(train)
        self.mean_ = numeric.mean(axis=0)
        self.std_ = numeric.std(axis=0)
        self.std_[self.std_ == 0] = 1.0
        return self

    def transform(self, table: pd.DataFrame, tasks: tuple[str, ...] | list[str] = tuple(TASKS)) -> ModelInputs:
        """Encode ``table`` (a ``join_features`` table) for the given tasks."""
        if self.mean_ is None:
            raise RuntimeError("call fit(train) before transform")
        for task in tasks:
            get_task(task)
        categorical = {}
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
            categorical[name] = ids
        numeric = ((self._numeric(table) - self.mean_) / self.std_).astype(np.float32)
        labels = {t: task_labels(table, t) for t in tasks}
        masks = {t: ~np.isnan(labels[t]) for t in tasks}
        return ModelInputs(categorical, numeric, labels, masks)


# --------------------------------------------------------------------------- data card figures
CARD_FILE = "DATA_CARD.md"
_CARD_START, _CARD_END = "<!-- measured:start -->", "<!-- measured:end -->"


def price_sensitivity(shop: Shop, by: str = "segment") -> pd.Series:
    """Purchase rate of items priced below their category's median price divided by the rate
    of items priced above it, per value of the user attribute ``by`` (higher: more price-sensitive).

    Args:
        by: a column of ``shop.users`` other than ``user_id`` (``"segment"``, ``"city_tier"``, ``"age"``).
    """
    if by not in shop.users.columns or by == "user_id":
        raise ValueError(f"by must be one of {[c for c in shop.users.columns if c != 'user_id']}, got {by!r}")
    table = join_features(shop)
    cheap = table["price"] < table.groupby("category", observed=True)["price"].transform("median")
    rates = table.groupby([table[by], cheap], observed=True)["purchase"].mean().unstack()
    return (rates[True] / rates[False]).rename("cheap / expensive").sort_values(ascending=False)


def measure(shop: Shop) -> pd.DataFrame:
    """The realism figures of the data card, measured on ``shop`` (never typed by hand).

    Returns:
        A table with columns ``figure`` and ``value`` (formatted text).
    """
    from sklearn.metrics import roc_auc_score

    im = shop.impressions
    clicks, carts, buys = (int(im[c].sum()) for c in ("click", "add_to_cart", "purchase"))
    split = chronological_split(im)
    test_oracle = shop.oracle_for(split.test)
    ctr = im.groupby("position")["click"].mean()
    items = im["item_id"].value_counts()
    users = im["user_id"].value_counts()
    ratio = price_sensitivity(shop, "segment")
    bought = im["purchase"] == 1
    ratings = im.loc[bought, "rating"].value_counts(normalize=True).sort_index()
    rows = [
        ("impressions / users / items / categories / days",
         f"{len(im):,} / {len(shop.users):,} / {len(shop.items):,} / {shop.config.n_categories} / {shop.config.n_days}"),
        ("click-through rate", f"{clicks / len(im):.2%}"),
        ("add-to-cart given click", f"{carts / clicks:.2%}"),
        ("purchase given add-to-cart", f"{buys / carts:.2%}"),
        ("purchases per impression", f"{buys / len(im):.2%} ({buys:,} purchases)"),
        ("train / valid / test rows (days 0–20 / 21–24 / 25–29)",
         f"{len(split.train):,} / {len(split.valid):,} / {len(split.test):,}"),
        ("purchases in the test split", f"{int(split.test['purchase'].sum()):,}"),
        ("position bias: CTR at position 1 vs 10", f"{ctr[1]:.2%} vs {ctr[10]:.2%}"),
        ("long tail: impressions of the top 10% of items", f"{items.iloc[: len(shop.items) // 10].sum() / len(im):.0%}"),
        ("skewed activity: impressions of the top 10% of users",
         f"{users.iloc[: len(shop.users) // 10].sum() / len(im):.0%} (median user {users.median():.0f}, max {users.max():,})"),
        ("price sensitivity: purchase rate below / above category median price",
         ", ".join(f"{seg} {r:.2f}×" for seg, r in ratio.items())),
        ("rating distribution 1–5 (purchases)", " / ".join(f"{p:.0%}" for p in ratings.to_numpy())),
        ("positive review sentiment (purchases)", f"{im.loc[bought, 'sentiment'].mean():.0%}"),
        ("median dwell time (clicks)", f"{im['dwell_seconds'].median():.0f} s"),
    ]
    for task in ("click", "add_to_cart", "purchase"):
        auc = roc_auc_score(split.test[task], test_oracle[TASKS[task].oracle])
        rows.append((f"oracle AUC on the test split: {task}", f"{auc:.3f}"))
    return pd.DataFrame(rows, columns=["figure", "value"])


def card_figures_markdown(shop: Shop) -> str:
    """``measure(shop)`` as the Markdown table that stands in the data card."""
    lines = ["| figure | value |", "|---|---|"]
    lines += [f"| {f} | {v} |" for f, v in measure(shop).itertuples(index=False)]
    return "\n".join(lines)


def update_card(shop: Shop, card: str | Path) -> None:
    """Replace the measured block of the data card (between its markers) with fresh figures."""
    card = Path(card)
    text = card.read_text(encoding="utf-8")
    if _CARD_START not in text or _CARD_END not in text:
        raise ValueError(f"{card.name} lacks the markers {_CARD_START} … {_CARD_END}")
    head, rest = text.split(_CARD_START, 1)
    _, tail = rest.split(_CARD_END, 1)
    card.write_text(f"{head}{_CARD_START}\n{card_figures_markdown(shop)}\n{_CARD_END}{tail}", encoding="utf-8")


def card_block(card: str | Path) -> str:
    """The measured block currently written in the data card (without markers)."""
    text = Path(card).read_text(encoding="utf-8")
    return text.split(_CARD_START, 1)[1].split(_CARD_END, 1)[0].strip()


# --------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> None:
    """``python -m mtl_lessons.data [--out DIR]``: regenerate the course dataset and its card's figures."""
    parser = argparse.ArgumentParser(description="Regenerate the simulated shop dataset.")
    parser.add_argument("--out", default=str(DATA_DIR), help="directory to write (default: datasets/)")
    args = parser.parse_args(argv)
    shop = simulate_shop()
    for path in save_shop(shop, args.out):
        print(f"wrote {path.name} ({path.stat().st_size / 1e6:.2f} MB)")
    card = Path(args.out) / CARD_FILE
    if card.is_file():
        update_card(shop, card)
        print(f"updated the measured figures in {card.name}")


if __name__ == "__main__":
    main()
