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

The target domain (a new market, for transfer learning)
-------------------------------------------------------
``simulate_target(TargetConfig(...))`` simulates a second market that sells the *same items*
(same ``item_id``, category, brand, brand tier, novelty; every price and category reference
price × ``price_level``) to *new users* drawn with a different mix (``segment_mix``,
``city_tier_mix``) from the source's segment tastes and price sensitivities. It redraws the
source's entities from ``config.source`` and then uses its own generator (``config.seed``), so
the source shop is untouched. The knob ``relatedness`` :math:`\rho_T` decides how much the
target's shoppers value items as the source's do: every zero-mean latent item quantity
:math:`x` (category centres :math:`c_k`, item vectors :math:`v_i`, the brand and item parts of
quality and appeal, the item part of log popularity) becomes

.. math::

   x^{target} = \rho_T\, x^{source} + \sqrt{1-\rho_T^2}\, x^{fresh},

with :math:`x^{fresh}` an independent draw from the same distribution (so each quantity keeps
its distribution). The observable parts (category, brand tier, relative price) and the funnel
equations, the task correlation :math:`\rho` and the noise model are shared; the target solves
its own purchase intercept for its ``purchase_rate``. :math:`\rho_T = 1`: the target's shoppers
value items exactly as the source's; :math:`\rho_T = 0`: independently of them (only the
shopping mechanics, price sensitivity and position bias, carry over).

Target user ids and impression ids continue after the source's, so ``combine_domains(source,
target)`` holds both domains in one ``Shop`` (with a ``domain`` column) and one
``FeatureEncoder`` encodes both with the same ids: pretrain on source rows, fine-tune on target
rows, or train on both. The target's oracle adds ``p_purchase_as_source``: its purchase
probability had its shoppers valued items as the source's do (the target's own equations with
:math:`\rho_T = 1`, same intercept), a measure of what the source can teach.

Regenerate the committed dataset (``datasets/``) and its target domain (``datasets/target/``)
with ``python -m mtl_lessons.data`` (or ``make data``).
"""
from __future__ import annotations

import argparse
import gzip
import io
import json
import math
import os
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, log_softmax, ndtr

from .atomic import atomic_write

__all__ = [
    "DATA_DIR",
    "CATEGORIES",
    "SEGMENTS",
    "DEVICES",
    "TARGET_DIR",
    "DOMAINS",
    "ShopConfig",
    "TargetConfig",
    "Shop",
    "Task",
    "TASKS",
    "Split",
    "ModelInputs",
    "FeatureEncoder",
    "simulate_shop",
    "simulate_target",
    "combine_domains",
    "save_shop",
    "load_shop",
    "load_target",
    "join_features",
    "chronological_split",
    "get_task",
    "task_mask",
    "task_labels",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "datasets"
TARGET_DIR = DATA_DIR / "target"

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


def _check_knobs(config: object, ranges: dict[str, tuple[float, float]]) -> None:
    """Raise ``ValueError`` naming the knob and its range if a numeric knob is out of range.

    A knob whose range has integer bounds (counts, seeds) must be an ``int`` (or a NumPy integer),
    never a ``float`` such as ``100.0`` nor a ``bool``. NumPy scalars are stored as Python numbers
    (so the config stays JSON-serialisable).
    """
    for name, (low, high) in ranges.items():
        value = getattr(config, name)
        integer = isinstance(low, int)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            kind = "an integer" if integer else "a number"
            raise ValueError(f"{name} must be {kind} in [{low}, {high}], got {value!r}")
        if integer and not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an integer (int, not float) in [{low}, {high}], got {value!r}")
        if not (low <= value <= high) or (not integer and math.isnan(value)):
            raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")
        object.__setattr__(config, name, int(value) if integer else float(value))


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
        _check_knobs(self, self._RANGES)


SOURCE_SEGMENT_MIX = (0.25, 0.35, 0.3, 0.1)  # shares of student, family, professional, senior users
SOURCE_CITY_TIER_MIX = (0.3, 0.4, 0.3)  # shares of city tiers 1, 2, 3


@dataclass(frozen=True)
class TargetConfig:
    """Knobs of the target domain: a new market that sells the source shop's items.

    The target reuses the source's categories, brands and items (same ``item_id``, category,
    brand, brand tier, novelty; prices × ``price_level``) and the source's segment tastes, and
    draws new users, new impressions and new labels with its own generator (seeded by ``seed``),
    so the source's draws are untouched. Out-of-range values raise ``ValueError`` naming the knob.

    Attributes:
        seed: seed of the target's own random generator (integer ≥ 0).
        relatedness: ρ_T in [0, 1]. Every zero-mean latent item quantity the shoppers react to
            (item latent vector, category centre, the brand and item parts of quality and appeal,
            the item part of popularity) is ``ρ_T · source + sqrt(1 − ρ_T²) · fresh``, with
            ``fresh`` an independent draw from the same distribution. 1: the target's shoppers
            value items exactly as the source's do; 0: independently of the source.
        n_users: number of new users (100 … 1,000,000); their ids continue after the source's.
        n_impressions: number of impressions (1,000 … 10,000,000); their ids continue after the
            source's. The log spans the source's ``n_days``, so chronological splits line up.
        price_level: multiplier on every price (and on the category reference prices), in [0.2, 5].
        segment_mix: shares of student, family, professional, senior users (≥ 0, summing to 1).
        city_tier_mix: shares of city tiers 1, 2, 3 (≥ 0, summing to 1).
        purchase_rate: mean purchase probability per impression, in [0.001, 0.05].
        noise: standard deviation of the shopper's mood (logit units), in [0, 3].
        source: the ``ShopConfig`` of the source shop (its entities are redrawn from it); a dict
            of its fields is accepted too (as read from ``config.json``).

    The defaults make a smaller market (80,000 impressions and 1,500 users against the source's
    300,000 and 4,000; about 800 training purchases against 2,100, and about 8 in 1 % of its
    training rows) of mostly students in tier-3 cities, at 0.7× the source's prices, converting
    a little more (1.5 % of impressions). With ``seed`` 9 the fresh draws make the target about
    equally hard whatever ``relatedness`` is (oracle purchase AUC on the test split 0.85–0.88
    for ρ_T from 0 to 1), so comparing relatedness values compares transfer, not difficulty.
    """

    seed: int = 9
    relatedness: float = 0.8
    n_users: int = 1500
    n_impressions: int = 80_000
    price_level: float = 0.7
    segment_mix: tuple[float, float, float, float] = (0.55, 0.2, 0.15, 0.1)
    city_tier_mix: tuple[float, float, float] = (0.1, 0.3, 0.6)
    purchase_rate: float = 0.015
    noise: float = 0.5
    source: ShopConfig = field(default_factory=ShopConfig)

    _RANGES = {
        "seed": (0, 2**32 - 1),
        "relatedness": (0.0, 1.0),
        "n_users": (100, 1_000_000),
        "n_impressions": (1_000, 10_000_000),
        "price_level": (0.2, 5.0),
        "purchase_rate": (0.001, 0.05),
        "noise": (0.0, 3.0),
    }
    _MIXES = {"segment_mix": SEGMENTS, "city_tier_mix": ("tier 1", "tier 2", "tier 3")}

    def __post_init__(self) -> None:
        _check_knobs(self, self._RANGES)
        for name, labels in self._MIXES.items():
            value = getattr(self, name)
            shares = (f"{len(labels)} shares ({', '.join(labels)}) that are ≥ 0 and sum to 1")
            if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != len(labels):
                raise ValueError(f"{name} must be {shares}, got {value!r}")
            if any(isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) for v in value):
                raise ValueError(f"{name} must be {shares}, got {value!r}")
            if any(not (v >= 0) for v in value) or not abs(sum(value) - 1.0) <= 1e-9:
                raise ValueError(f"{name} must be {shares} (±1e-9), got {value!r}")
            object.__setattr__(self, name, tuple(float(v) for v in value))
        source = self.source
        if isinstance(source, dict):
            try:
                source = ShopConfig(**source)
            except TypeError as exc:
                raise ValueError(f"source must hold the fields of a ShopConfig: {exc}") from exc
            object.__setattr__(self, "source", source)
        if not isinstance(source, ShopConfig):
            raise ValueError(f"source must be a ShopConfig, got {type(source).__name__}")


def _n_categories(config: ShopConfig | TargetConfig) -> int:
    return (config.source if isinstance(config, TargetConfig) else config).n_categories


def _n_days(config: ShopConfig | TargetConfig) -> int:
    return (config.source if isinstance(config, TargetConfig) else config).n_days


# --------------------------------------------------------------------------- the shop
DOMAINS = ("source", "target")


@dataclass
class Shop:
    """The simulated shop: three feature tables and the oracle, kept apart.

    Attributes:
        users: one row per user: ``user_id, segment, city_tier, age``.
        items: one row per item: ``item_id, category, brand, brand_tier, price, is_new``
            (in a ``combine_domains`` shop: one row per item and domain, with a ``domain`` column,
            since the two markets price items differently).
        impressions: one row per impression, in time order: ids, context
            (``day, hour, device, position, promotion``) and labels
            (``click, add_to_cart, purchase, rating, sentiment, dwell_seconds, next_category``);
            a ``combine_domains`` shop adds ``domain`` (``"source"`` / ``"target"``).
        oracle: one row per impression (same order), the true probabilities / expectations
            (``p_click, p_add_to_cart, p_purchase, expected_rating, p_positive_sentiment,
            expected_log_dwell, p_next_category_true, next_category_argmax``); a target domain
            adds ``p_purchase_as_source``. Never a feature.
        config: the knobs that made it: a ``ShopConfig`` (source shop) or a ``TargetConfig``
            (target domain, or a ``combine_domains`` shop of a source and its target).
    """

    users: pd.DataFrame
    items: pd.DataFrame
    impressions: pd.DataFrame
    oracle: pd.DataFrame
    config: ShopConfig | TargetConfig = field(default_factory=ShopConfig)

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


# Standard deviations of the zero-mean latent item draws (the source's and a target's fresh ones).
_CENTRE_SD = 0.9  # category centres c_k
_BRAND_APPEAL_SD, _BRAND_QUALITY_SD = 0.5, 0.4
_ITEM_QUALITY_SD, _ITEM_APPEAL_SD, _ITEM_VEC_SD = 0.2, 0.2, 0.2
_POPULARITY_SD, _POPULARITY_APPEAL = 0.8, 1.3  # log popularity = 1.3 appeal + N(0, 0.8²)
_SEGMENT_PRICE_LEVEL = np.array([0.55, 0.2, -0.35, 0.1])  # students most price-sensitive


@dataclass
class _World:
    """One market's entities, observable and latent (never saved: redrawn from the seeds).

    Shapes: ``d = LATENT_DIM``; categories (n_cat, …), users (n_users, …), items (n_items, …).
    Users are indexed 0 … n_users−1 here; their public ids may be offset (target domain).
    """

    cat_centre: np.ndarray  # (n_cat, d) category centres c_k
    cat_price: np.ndarray  # (n_cat,) reference (median) price of a category, currency units
    seg_taste: np.ndarray  # (4, d) click-taste mean of each segment
    seg_taste_buy: np.ndarray  # (4, d) purchase-taste mean of each segment
    segment: np.ndarray  # (n_users,) segment index
    city_tier: np.ndarray  # (n_users,) 1 … 3
    age: np.ndarray  # (n_users,) years
    taste: np.ndarray  # (n_users, d) t_u
    taste_buy: np.ndarray  # (n_users, d) t'_u
    price_sens: np.ndarray  # (n_users,) β_u
    activity: np.ndarray  # (n_users,) relative impression rate
    n_brands: int
    category: np.ndarray  # (n_items,) category index
    brand: np.ndarray  # (n_items,) brand index
    tier: np.ndarray  # (n_items,) brand tier 0 … 2
    price: np.ndarray  # (n_items,) currency units
    quality: np.ndarray  # (n_items,) q_i
    appeal: np.ndarray  # (n_items,)
    popularity: np.ndarray  # (n_items,) relative exposure rate
    item_vec: np.ndarray  # (n_items, d) v_i
    is_new: np.ndarray  # (n_items,) bool


def _draw_users(rng: np.random.Generator, n: int, seg_taste: np.ndarray, seg_taste_buy: np.ndarray,
                segment_mix: Sequence[float], city_tier_mix: Sequence[float]) -> dict[str, np.ndarray]:
    """Users of one market: segment, city tier, age, tastes (n, d), price sensitivity, activity.

    ``segment_mix`` (4 shares) and ``city_tier_mix`` (3 shares) must sum to 1; arrays are (n,)
    except the tastes (n, d).
    """
    d = LATENT_DIM
    segment = rng.choice(len(SEGMENTS), n, p=segment_mix)
    city_tier = rng.choice(3, n, p=city_tier_mix) + 1
    age_mean = np.array([21.0, 38.0, 33.0, 64.0])[segment]
    age = np.clip(np.round(age_mean + _normal(rng, n, 5.0)), 16, 90).astype(int)
    taste = seg_taste[segment] + _normal(rng, (n, d), 0.15)
    taste_buy = seg_taste_buy[segment] + _normal(rng, (n, d), 0.15)
    price_sens = np.exp(_SEGMENT_PRICE_LEVEL[segment] + 0.15 * (city_tier - 2) + _normal(rng, n, 0.3))
    activity = np.exp(_normal(rng, n, 1.0))
    return {"segment": segment, "city_tier": city_tier, "age": age, "taste": taste,
            "taste_buy": taste_buy, "price_sens": price_sens, "activity": activity}


def _draw_source_world(config: ShopConfig, rng: np.random.Generator) -> _World:
    """The source shop's entities: the first draws of ``rng`` (seeded by ``config.seed``)."""
    d, n_cat = LATENT_DIM, config.n_categories
    cat_centre = _normal(rng, (n_cat, d), _CENTRE_SD)
    cat_price = np.exp(rng.uniform(np.log(8.0), np.log(400.0), n_cat))
    seg_taste = _normal(rng, (len(SEGMENTS), d), 0.6)
    seg_taste_buy = _normal(rng, (len(SEGMENTS), d), 0.6)
    users = _draw_users(rng, config.n_users, seg_taste, seg_taste_buy, SOURCE_SEGMENT_MIX, SOURCE_CITY_TIER_MIX)

    n_brands = max(10, config.n_items // 25)
    brand_tier = rng.choice(3, n_brands, p=[0.5, 0.35, 0.15])  # 0 value, 1 mid, 2 premium
    brand_appeal = _normal(rng, n_brands, _BRAND_APPEAL_SD)
    brand_quality = _normal(rng, n_brands, _BRAND_QUALITY_SD)
    ni = config.n_items
    category = rng.choice(n_cat, ni, p=rng.dirichlet(np.full(n_cat, 4.0)))
    brand = rng.integers(0, n_brands, ni)
    tier = brand_tier[brand]
    price = np.round(cat_price[category] * np.exp(0.35 * (tier - 0.7) + _normal(rng, ni, 0.35)), 2)
    quality = 0.4 * (tier - 0.7) + brand_quality[brand] + _normal(rng, ni, _ITEM_QUALITY_SD)
    appeal = brand_appeal[brand] + _normal(rng, ni, _ITEM_APPEAL_SD)
    popularity = np.exp(_POPULARITY_APPEAL * appeal + _normal(rng, ni, _POPULARITY_SD))  # long tail
    item_vec = cat_centre[category] + _normal(rng, (ni, d), _ITEM_VEC_SD)
    is_new = rng.random(ni) < 0.15
    return _World(cat_centre, cat_price, seg_taste, seg_taste_buy, **users, n_brands=n_brands,
                  category=category, brand=brand, tier=tier, price=price, quality=quality,
                  appeal=appeal, popularity=popularity, item_vec=item_vec, is_new=is_new)


def _draw_impressions(rng: np.random.Generator, n: int, n_days: int, activity: np.ndarray,
                      popularity: np.ndarray) -> dict[str, np.ndarray]:
    """``n`` impressions (user and item indices, context), sorted by (day, hour); arrays (n,)."""
    user = rng.choice(len(activity), n, p=activity / activity.sum())
    item = rng.choice(len(popularity), n, p=popularity / popularity.sum())
    day = rng.integers(0, n_days, n)
    hour = rng.choice(24, n, p=_hour_profile())
    device = rng.choice(len(DEVICES), n, p=[0.6, 0.15, 0.25])
    position = np.minimum(rng.geometric(0.12, n), N_POSITIONS)
    promotion = rng.random(n) < 0.2
    order = np.lexsort((rng.random(n), hour, day))
    return {name: a[order] for name, a in (("user", user), ("item", item), ("day", day), ("hour", hour),
                                          ("device", device), ("position", position), ("promotion", promotion))}


def _scores(world: _World, imp: dict[str, np.ndarray], task_correlation: float) -> dict[str, np.ndarray]:
    """The funnel scores (logits without mood and without the purchase intercept) and their parts, (n,)."""
    user, item = imp["user"], imp["item"]
    v = world.item_vec[item]
    aff_click = np.einsum("nd,nd->n", world.taste[user], v)
    aff_own = np.einsum("nd,nd->n", world.taste_buy[user], v)
    rho = task_correlation
    aff_buy = rho * aff_click + math.sqrt(1.0 - rho**2) * aff_own
    category = world.category[item]
    delta = world.price_sens[user] * np.log(world.price[item] / world.cat_price[category])
    q = world.quality[item]
    device_click = np.array([0.0, -0.25, 0.1])[imp["device"]]
    hour_click = 0.25 * np.cos(2 * np.pi * (imp["hour"] - 21) / 24)
    promotion = imp["promotion"]
    s_click = (-2.7 + 0.6 * aff_click + 0.5 * world.appeal[item] + 0.3 * q - 0.07 * (imp["position"] - 1)
               + 0.35 * promotion + device_click + hour_click)
    s_cart = -1.5 + 0.5 * aff_buy + 0.5 * q - 0.8 * delta + 0.3 * promotion
    s_buy_base = 0.5 * aff_buy + 0.4 * q - 1.2 * delta + 0.4 * promotion
    return {"click": s_click, "cart": s_cart, "buy_base": s_buy_base, "aff_click": aff_click,
            "aff_buy": aff_buy, "delta": delta, "q": q}


def _simulate_labels(rng: np.random.Generator, world: _World, imp: dict[str, np.ndarray],
                     task_correlation: float, purchase_rate: float, noise: float,
                     ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], float]:
    """Labels and oracle of the impressions ``imp``; also returns the purchase intercept b3.

    Returns:
        (labels: column → array (n,), oracle: column → array (n,), b3). ``next_category`` and
        ``next_category_argmax`` are category indices.
    """
    n = len(imp["user"])
    s = _scores(world, imp, task_correlation)
    b3 = _solve_intercept(s["click"], s["cart"], s["buy_base"], noise, purchase_rate)
    s_buy = s["buy_base"] + b3
    p_click, p_cart, p_buy = _funnel_probabilities(s["click"], s["cart"], s_buy, noise)

    # funnel labels with a shared mood
    mood = _normal(rng, n, noise)
    click = rng.random(n) < expit(s["click"] + mood)
    cart = click & (rng.random(n) < expit(s["cart"] + mood))
    purchase = cart & (rng.random(n) < expit(s_buy + mood))

    # post-purchase labels
    sat_mean = 1.0 * s["q"] + 0.4 * s["aff_buy"] - 0.5 * s["delta"]
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
    log_dwell_mean = 3.2 + 0.35 * s["aff_click"] + 0.3 * s["q"] + 0.25 * (imp["device"] == 1)
    dwell = np.round(np.exp(log_dwell_mean + _normal(rng, n, DWELL_NOISE)), 1)
    dwell[~click] = np.nan

    # next search category
    n_cat = len(world.cat_centre)
    next_logits = 1.2 * world.taste[imp["user"]] @ world.cat_centre.T
    next_logits[np.arange(n), world.category[imp["item"]]] += 1.0
    next_logp = log_softmax(next_logits, axis=1)
    gumbel = -np.log(-np.log(rng.random((n, n_cat))))
    next_category = np.argmax(next_logp + gumbel, axis=1)

    labels = {"click": click.astype(int), "add_to_cart": cart.astype(int), "purchase": purchase.astype(int),
              "rating": rating, "sentiment": sentiment, "dwell_seconds": dwell, "next_category": next_category}
    oracle = {"p_click": p_click, "p_add_to_cart": p_cart, "p_purchase": p_buy,
              "expected_rating": expected_rating, "p_positive_sentiment": p_pos,
              "expected_log_dwell": log_dwell_mean,
              "p_next_category_true": np.exp(next_logp[np.arange(n), next_category]),
              "next_category_argmax": next_logp.argmax(axis=1)}
    return labels, oracle, b3


def _build_shop(world: _World, imp: dict[str, np.ndarray], labels: dict[str, np.ndarray],
                oracle: dict[str, np.ndarray], config: ShopConfig | TargetConfig, *,
                user_offset: int = 0, impression_offset: int = 0) -> Shop:
    """The public tables of a market; user and impression ids are shifted by the offsets."""
    categories = CATEGORIES[: len(world.cat_centre)]
    n = len(imp["user"])
    impression_id = impression_offset + np.arange(n)
    users = pd.DataFrame({
        "user_id": user_offset + np.arange(len(world.segment)),
        "segment": pd.Categorical.from_codes(world.segment, SEGMENTS),
        "city_tier": world.city_tier,
        "age": world.age,
    })
    items = pd.DataFrame({
        "item_id": np.arange(len(world.category)),
        "category": pd.Categorical.from_codes(world.category, categories),
        "brand": world.brand,
        "brand_tier": world.tier,
        "price": world.price,
        "is_new": world.is_new.astype(int),
    })
    impressions = pd.DataFrame({
        "impression_id": impression_id,
        "day": imp["day"],
        "hour": imp["hour"],
        "user_id": user_offset + imp["user"],
        "item_id": imp["item"],
        "device": pd.Categorical.from_codes(imp["device"], DEVICES),
        "position": imp["position"],
        "promotion": imp["promotion"].astype(int),
        **{name: labels[name] for name in ("click", "add_to_cart", "purchase", "rating", "sentiment",
                                           "dwell_seconds")},
        "next_category": pd.Categorical.from_codes(labels["next_category"], categories),
    })
    oracle_table = pd.DataFrame({
        "impression_id": impression_id,
        **{name: pd.Categorical.from_codes(values, categories) if name == "next_category_argmax" else values
           for name, values in oracle.items()},
    })
    return Shop(users, items, impressions, oracle_table, config)


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
    world = _draw_source_world(config, rng)
    imp = _draw_impressions(rng, config.n_impressions, config.n_days, world.activity, world.popularity)
    labels, oracle, _ = _simulate_labels(rng, world, imp, config.task_correlation, config.purchase_rate, config.noise)
    return _build_shop(world, imp, labels, oracle, config)


def _mix(rho: float, source: np.ndarray, fresh: np.ndarray) -> np.ndarray:
    """ρ · source + sqrt(1 − ρ²) · fresh: same distribution as each part if both are zero-mean."""
    return rho * source + math.sqrt(1.0 - rho**2) * fresh


def _target_world(config: TargetConfig, src: _World, rng: np.random.Generator) -> _World:
    """The target market's entities: new users, the source's items with mixed latent parts."""
    d, n_cat, ni = LATENT_DIM, len(src.cat_centre), len(src.category)
    rho = config.relatedness
    # fresh draws of every zero-mean latent item part, from the source's distributions
    fresh_centre = _normal(rng, (n_cat, d), _CENTRE_SD)
    fresh_brand_appeal = _normal(rng, src.n_brands, _BRAND_APPEAL_SD)
    fresh_brand_quality = _normal(rng, src.n_brands, _BRAND_QUALITY_SD)
    fresh_quality = fresh_brand_quality[src.brand] + _normal(rng, ni, _ITEM_QUALITY_SD)
    fresh_appeal = fresh_brand_appeal[src.brand] + _normal(rng, ni, _ITEM_APPEAL_SD)
    fresh_popularity = _normal(rng, ni, _POPULARITY_SD)
    fresh_vec = fresh_centre[src.category] + _normal(rng, (ni, d), _ITEM_VEC_SD)
    users = _draw_users(rng, config.n_users, src.seg_taste, src.seg_taste_buy,
                        config.segment_mix, config.city_tier_mix)

    tier_quality = 0.4 * (src.tier - 0.7)  # observable (brand tier), shared as is
    appeal = _mix(rho, src.appeal, fresh_appeal)
    source_pop_part = np.log(src.popularity) - _POPULARITY_APPEAL * src.appeal
    price = np.round(src.price * config.price_level, 2)
    if (price <= 0).any():
        raise ValueError(f"price_level={config.price_level} rounds some prices to 0.00; choose a larger price_level")
    return _World(
        cat_centre=_mix(rho, src.cat_centre, fresh_centre),
        cat_price=src.cat_price * config.price_level,
        seg_taste=src.seg_taste, seg_taste_buy=src.seg_taste_buy, **users,
        n_brands=src.n_brands, category=src.category, brand=src.brand, tier=src.tier, price=price,
        quality=tier_quality + _mix(rho, src.quality - tier_quality, fresh_quality),
        appeal=appeal,
        popularity=np.exp(_POPULARITY_APPEAL * appeal + _mix(rho, source_pop_part, fresh_popularity)),
        item_vec=_mix(rho, src.item_vec, fresh_vec),
        is_new=src.is_new,
    )


def simulate_target(config: TargetConfig | None = None) -> Shop:
    """Simulate the target domain: a new market selling the source shop's items.

    The source's entities are redrawn from ``config.source`` (its seed), the target's users,
    latent item parts, impressions and labels come from a generator seeded by ``config.seed``:
    the source shop (``simulate_shop(config.source)``) is unchanged by this function.

    Args:
        config: the knobs; ``TargetConfig()`` (the course's target, whose source is the course
            dataset) when omitted.

    Returns:
        A ``Shop`` whose ``config`` is ``config``. Users are numbered ``config.source.n_users`` …
        (after the source's users), impressions ``config.source.n_impressions`` … (after the
        source's), sorted by (day, hour); items are the source's (same ids, categories, brands,
        tiers, novelty) with prices × ``price_level``. The oracle adds ``p_purchase_as_source``.
    """
    config = TargetConfig() if config is None else config
    if not isinstance(config, TargetConfig):
        raise ValueError(f"config must be a TargetConfig, got {type(config).__name__}")
    src_config = config.source
    src = _draw_source_world(src_config, np.random.default_rng(src_config.seed))
    rng = np.random.default_rng(config.seed)
    world = _target_world(config, src, rng)
    imp = _draw_impressions(rng, config.n_impressions, src_config.n_days, world.activity, world.popularity)
    labels, oracle, b3 = _simulate_labels(rng, world, imp, src_config.task_correlation,
                                          config.purchase_rate, config.noise)
    # the target's purchase probability had its shoppers valued items as the source's do (ρ_T = 1)
    as_source = replace(world, cat_centre=src.cat_centre, quality=src.quality, appeal=src.appeal,
                        item_vec=src.item_vec)
    s = _scores(as_source, imp, src_config.task_correlation)
    oracle["p_purchase_as_source"] = _funnel_probabilities(s["click"], s["cart"], s["buy_base"] + b3, config.noise)[2]
    return _build_shop(world, imp, labels, oracle, config, user_offset=src_config.n_users,
                       impression_offset=src_config.n_impressions)


def _hour_profile() -> np.ndarray:
    """Share of traffic per hour of day: quiet at night, peaks at lunch and in the evening."""
    h = np.arange(24)
    w = 0.2 + np.exp(-0.5 * ((h - 12.5) / 1.5) ** 2) + 1.6 * np.exp(-0.5 * ((h - 20.5) / 2.0) ** 2)
    return w / w.sum()


# --------------------------------------------------------------------------- files
_FLOAT_DIGITS = {"price": 2, "rating": 0, "sentiment": 0, "dwell_seconds": 1}
_ORACLE_DIGITS = 6


def _shop_files(shop: Shop) -> dict[str, bytes]:
    """The bytes of every dataset file of ``shop`` (file name → content), rendered in memory."""
    files = {}
    for name, filename in FILES.items():
        table: pd.DataFrame = getattr(shop, name)
        kwargs = {"float_format": f"%.{_ORACLE_DIGITS}g"} if name == "oracle" else {}
        text = table.to_csv(index=False, lineterminator="\n", **kwargs).encode()
        if filename.endswith(".gz"):
            buffer = io.BytesIO()
            with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, filename="") as gz:
                gz.write(text)
            text = buffer.getvalue()
        files[filename] = text
    files[CONFIG_FILE] = (json.dumps(asdict(shop.config), indent=2) + "\n").encode()
    return files


def _is_course_data(directory: Path) -> bool:
    """Whether ``directory`` is the course's committed ``datasets/`` or ``datasets/target/``."""
    return directory.resolve() in (DATA_DIR.resolve(), TARGET_DIR.resolve())


def _write_files(directory: Path, files: dict[str, bytes], overwrite: bool) -> list[Path]:
    """Write ``files`` into ``directory``, each atomically (temporary file + ``os.replace``).

    Checks every destination before writing any, so a refusal writes nothing.
    """
    existing = sorted(name for name in files if (directory / name).exists())
    if existing and not overwrite:
        course = " (it is the course's committed dataset: `make data` regenerates it)" if _is_course_data(directory) else ""
        raise FileExistsError(f"{directory} already holds dataset files {existing}{course}; "
                              "pass overwrite=True to replace them")
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, content in files.items():
        paths.append(atomic_write(directory / name, lambda tmp, content=content: tmp.write_bytes(content),
                                  overwrite=overwrite))
    return paths


def save_shop(shop: Shop, directory: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Write the shop to ``directory`` as CSV (gzip with a fixed timestamp, so bytes repeat).

    Works for a source shop and for a target domain (whose ``config.json`` nests the source's
    knobs under ``"source"``). A ``combine_domains`` shop is not saved: save its two parts.
    Every file is first rendered in memory, then written to a temporary file in ``directory`` and
    moved into place with ``os.replace``: an interrupted save never leaves a half-written file.

    Args:
        shop: a source shop or a target domain.
        directory: the folder to write (created if missing). There is no default: the course's own
            ``datasets/`` is regenerated by ``make data``, not by a stray call.
        overwrite: replace dataset files that already exist in ``directory`` (the course's
            committed data included). If False (default) and any exists, nothing is written.

    Returns:
        The paths written.

    Raises:
        ValueError: ``shop`` is not a ``Shop`` or is a ``combine_domains`` shop.
        FileExistsError: ``directory`` already holds dataset files and ``overwrite`` is False.
    """
    if not isinstance(shop, Shop):
        raise ValueError(f"shop must be a Shop (simulate_shop, simulate_target, load_shop), got {type(shop).__name__}")
    if "domain" in shop.impressions.columns:
        raise ValueError("shop is a combine_domains shop: save the source and the target separately "
                         "and combine them again after loading")
    if not isinstance(directory, (str, os.PathLike)):
        raise ValueError(f"directory must be a folder path (str or Path), got {type(directory).__name__}")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"directory {directory} is a file, not a folder")
    return _write_files(directory, _shop_files(shop), overwrite)


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
_REQUIRED_TARGET_ORACLE = _REQUIRED["oracle"] + ["p_purchase_as_source"]
_MAY_BE_MISSING = {"rating", "sentiment", "dwell_seconds"}
_REGENERATE = "regenerate it with `make data` (or `python -m mtl_lessons.data`)"


def _invalid(filename: str, problem: str) -> ValueError:
    return ValueError(f"dataset file {filename}: {problem}; the simulator never writes this: {_REGENERATE}")


def _first_bad(values: pd.Series, bad: np.ndarray) -> str:
    """'<value> at row <i> (<count> rows)' for the first True of ``bad`` (rows counted from 0)."""
    i = int(np.flatnonzero(bad)[0])
    value = values.iloc[i]
    value = value.item() if isinstance(value, np.generic) else value
    count = int(np.count_nonzero(bad))
    return f"{value!r} at row {i} ({count} row{'s' if count > 1 else ''})"


def _not_numbers(filename: str, table: pd.DataFrame, column: str, expected: str, integer: bool) -> None:
    """Raise if ``column`` was not read as numbers (integers if ``integer``): text, booleans, decimals."""
    series = table[column]
    dtype = series.dtype
    numeric_ok = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if integer and pd.api.types.is_integer_dtype(dtype) or not integer and numeric_ok:
        return
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    bad = series.notna().to_numpy() & ~np.isfinite(values)  # text that is not a number
    if integer:
        with np.errstate(invalid="ignore"):
            bad |= np.isfinite(values) & (values != np.round(values))  # 1.5
    if not bad.any():  # booleans, or whole numbers written as decimals (3.0)
        bad = series.notna().to_numpy()
    raise _invalid(filename, f"column {column!r} must hold {expected}, found {_first_bad(series, bad)}")


def _check_range(filename: str, table: pd.DataFrame, column: str, expected: str, ok, *,
                 integer: bool, optional: bool = False) -> np.ndarray:
    """Check that ``column`` holds numbers for which ``ok(values)`` holds; return them (int64 or float64).

    ``optional``: empty cells (NaN) are allowed (labels that exist only on some rows).
    """
    _not_numbers(filename, table, column, expected, integer)
    values = table[column].to_numpy()  # int64 for integer columns, float64 otherwise
    with np.errstate(invalid="ignore"):
        bad = ~ok(values)
    if optional:
        bad &= ~np.isnan(values)
    if bad.any():
        raise _invalid(filename, f"column {column!r} must hold {expected}, found {_first_bad(table[column], bad)}")
    return values


def _between(low: float, high: float):
    """Values in [low, high] (finite bounds, so NaN and ±inf fail)."""
    return lambda v: (v >= low) & (v <= high)


def _whole_between(low: float, high: float):
    """Whole numbers in [low, high]."""
    return lambda v: (v >= low) & (v <= high) & (v == np.round(v))


def _validate_tables(tables: dict[str, pd.DataFrame], config: ShopConfig | TargetConfig) -> None:
    """Check what the simulator guarantees of its files, vectorised (a few ms on the course data).

    Dtypes and ranges of every column (ids, context, prices, probabilities), the label domains
    (binary labels 0/1, ratings 1–5, positive dwell times), the funnel (purchase ⇒ add_to_cart ⇒
    click), post-purchase / post-click labels present exactly where they exist, distinct ids,
    impressions in time order, id references (impressions' users and items exist) and the oracle's
    rows matching the impressions'. Raises ``ValueError`` naming the file, the column, what is
    expected and the first offending value, and saying how to regenerate the files.
    """
    source = config.source if isinstance(config, TargetConfig) else config
    user_offset = source.n_users if isinstance(config, TargetConfig) else 0
    impression_offset = source.n_impressions if isinstance(config, TargetConfig) else 0
    n_brands = max(10, source.n_items // 25)
    users, items, im, oracle = (tables[name] for name in ("users", "items", "impressions", "oracle"))
    f_users, f_items, f_im, f_oracle = (FILES[name] for name in ("users", "items", "impressions", "oracle"))

    def ids(filename, table, column, low, count, what):
        high = low + count - 1
        _check_range(filename, table, column, f"integer {what} in [{low}, {high}]", _between(low, high), integer=True)
        repeated = table[column].duplicated().to_numpy()
        if repeated.any():
            raise _invalid(filename, f"column {column!r} must hold distinct {what}, found a repeated "
                                     f"{_first_bad(table[column], repeated)}")

    binary = "0 or 1 (a binary label)"
    ids(f_users, users, "user_id", user_offset, config.n_users, "user ids")
    _check_range(f_users, users, "city_tier", "integers 1, 2 or 3", _between(1, 3), integer=True)
    _check_range(f_users, users, "age", "integer ages in [16, 90]", _between(16, 90), integer=True)

    ids(f_items, items, "item_id", 0, source.n_items, "item ids")
    _check_range(f_items, items, "brand", f"integer brand ids in [0, {n_brands - 1}]", _between(0, n_brands - 1),
                 integer=True)
    _check_range(f_items, items, "brand_tier", "integers 0, 1 or 2", _between(0, 2), integer=True)
    _check_range(f_items, items, "price", "finite prices > 0", lambda v: np.isfinite(v) & (v > 0), integer=False)
    _check_range(f_items, items, "is_new", "0 or 1", _between(0, 1), integer=True)

    ids(f_im, im, "impression_id", impression_offset, config.n_impressions, "impression ids")
    n_days = source.n_days
    day = _check_range(f_im, im, "day", f"integer days in [0, {n_days - 1}] (the config's n_days is {n_days})",
                       _between(0, n_days - 1), integer=True)
    hour = _check_range(f_im, im, "hour", "integer hours in [0, 23]", _between(0, 23), integer=True)
    # the ids of users.csv / items.csv were checked to be exactly low … low + count − 1 (distinct, in range,
    # as many as the config says), so "listed in the file" is a range test (faster than a set lookup)
    for column, filename, low, count in (("user_id", f_users, user_offset, config.n_users),
                                         ("item_id", f_items, 0, source.n_items)):
        _not_numbers(f_im, im, column, f"integer ids listed in {filename}", integer=True)
        values = im[column].to_numpy()
        absent = (values < low) | (values > low + count - 1)
        if absent.any():
            raise _invalid(f_im, f"column {column!r} must hold ids listed in {filename}, found "
                                 f"{_first_bad(im[column], absent)} absent from {filename}")
    _check_range(f_im, im, "position", f"integer list positions in [1, {N_POSITIONS}]", _between(1, N_POSITIONS),
                 integer=True)
    _check_range(f_im, im, "promotion", "0 or 1", _between(0, 1), integer=True)
    funnel = {c: _check_range(f_im, im, c, binary, _between(0, 1), integer=True)
              for c in ("click", "add_to_cart", "purchase")}
    for step, previous in (("add_to_cart", "click"), ("purchase", "add_to_cart")):
        skipped = (funnel[step] == 1) & (funnel[previous] == 0)
        if skipped.any():
            count = int(skipped.sum())
            raise _invalid(f_im, f"{step} = 1 where {previous} = 0 at row {int(np.flatnonzero(skipped)[0])} ({count} "
                                 f"row{'s' if count > 1 else ''}); the funnel requires purchase ⇒ add_to_cart ⇒ click")
    labels = {"rating": ("integer ratings 1 to 5", _whole_between(1, 5), "purchase"),
              "sentiment": (binary, _whole_between(0, 1), "purchase"),
              "dwell_seconds": ("finite durations > 0 (seconds)", lambda v: np.isfinite(v) & (v > 0), "click")}
    for column, (expected, ok, after) in labels.items():
        values = _check_range(f_im, im, column, expected, ok, integer=False, optional=True)
        present = ~np.isnan(values)
        for wrong, why in ((present & (funnel[after] == 0), f"a value where {after} = 0"),
                           (~present & (funnel[after] == 1), f"an empty cell where {after} = 1")):
            if wrong.any():
                raise _invalid(f_im, f"column {column!r} must be filled exactly on the rows with {after} = 1 "
                                     f"(the label exists only after a {after}), found {why}: "
                                     f"{_first_bad(im[column], wrong)}")
    late = np.diff(day * 24 + hour) < 0
    if late.any():
        i = int(np.flatnonzero(late)[0]) + 1
        raise _invalid(f_im, f"rows must be in time order (sorted by day, then hour), row {i} (day {int(day[i])}, "
                             f"hour {int(hour[i])}) comes after a later one")

    _not_numbers(f_oracle, oracle, "impression_id", "integer impression ids", integer=True)
    differ = oracle["impression_id"].to_numpy() != im["impression_id"].to_numpy()
    if differ.any():
        raise _invalid(f_oracle, f"column 'impression_id' must list the impressions of {f_im} in the same "
                                 f"order, found {_first_bad(oracle['impression_id'], differ)} that differ")
    for column in oracle.columns:
        if column.startswith("p_"):
            _check_range(f_oracle, oracle, column, "probabilities in [0, 1]", _between(0, 1), integer=False)
    _check_range(f_oracle, oracle, "expected_rating", "expected ratings in [1, 5]", _between(1, 5), integer=False)
    _check_range(f_oracle, oracle, "expected_log_dwell", "finite numbers", np.isfinite, integer=False)


def load_shop(directory: str | Path = DATA_DIR) -> Shop:
    """Load the committed course dataset (or one written by ``save_shop``, source or target).

    A ``config.json`` with a ``"source"`` entry is a target domain (``TargetConfig``);
    ``load_target()`` loads the committed one.

    The files are checked against what the simulator writes (vectorised, a few milliseconds):
    dtypes and ranges of every column, label domains (binary labels 0/1, ratings 1–5, dwell > 0),
    the funnel (purchase ⇒ add_to_cart ⇒ click), post-purchase / post-click labels present exactly
    where they exist, distinct ids, id references (impressions' users and items exist), time order
    and the oracle's rows.

    Raises:
        FileNotFoundError: a file is missing (the message names it and how to regenerate it).
        ValueError: a file is corrupt, lacks columns or holds a value the simulator never writes
            (the message names the file, the column, what is expected and the first bad value).
    """
    directory = Path(directory)
    config_path = directory / CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(f"dataset file {CONFIG_FILE} is missing in {directory.name}/: {_REGENERATE}")
    try:
        raw = json.loads(config_path.read_text())
        if not isinstance(raw, dict):
            raise ValueError(f"expected a JSON object, got {type(raw).__name__}")
        config = TargetConfig(**raw) if "source" in raw else ShopConfig(**raw)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"dataset file {CONFIG_FILE} is corrupt ({exc}): {_REGENERATE}") from exc
    target = isinstance(config, TargetConfig)
    n_cat = _n_categories(config)
    categories = {"segment": SEGMENTS, "device": DEVICES,
                  "category": CATEGORIES[:n_cat],
                  "next_category": CATEGORIES[:n_cat],
                  "next_category_argmax": CATEGORIES[:n_cat]}
    required = dict(_REQUIRED, oracle=_REQUIRED_TARGET_ORACLE) if target else _REQUIRED
    n_items = config.source.n_items if target else config.n_items
    tables = {}
    for name, filename in FILES.items():
        path = directory / filename
        if not path.is_file():
            raise FileNotFoundError(f"dataset file {filename} is missing in {directory.name}/: {_REGENERATE}")
        try:
            table = pd.read_csv(path)
        except (OSError, EOFError, ValueError, UnicodeDecodeError, zlib.error, pd.errors.ParserError) as exc:
            raise ValueError(f"dataset file {filename} is corrupt ({type(exc).__name__}: {exc}): {_REGENERATE}") from exc
        missing = [c for c in required[name] if c not in table.columns]
        if missing:
            raise ValueError(f"dataset file {filename} lacks columns {missing}: {_REGENERATE}")
        expected_rows = {"users": config.n_users, "items": n_items}.get(name, config.n_impressions)
        complete = [c for c in required[name] if c not in _MAY_BE_MISSING]
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
    _validate_tables(tables, config)
    return Shop(**tables, config=config)


def load_target(directory: str | Path = TARGET_DIR) -> Shop:
    """Load the committed target domain (``datasets/target/``, or one written by ``save_shop``).

    Raises:
        FileNotFoundError, ValueError: as ``load_shop``; ValueError also if ``directory`` holds a
            source shop rather than a target domain.
    """
    shop = load_shop(directory)
    if not isinstance(shop.config, TargetConfig):
        raise ValueError(f"{Path(directory).name}/ holds a source shop, not a target domain "
                         f"(its {CONFIG_FILE} has no 'source' entry): use load_shop, or {_REGENERATE}")
    return shop


def combine_domains(source: Shop, target: Shop) -> Shop:
    """One shop holding the source's and the target's users, items and impressions.

    Encode both domains with one ``FeatureEncoder(combined)`` (same ids and cardinalities), so a
    model pretrained on source rows can be fine-tuned on target rows, or trained on both.

    Args:
        source: the source shop (``load_shop()`` or ``simulate_shop(target.config.source)``).
        target: its target domain (``load_target()`` or ``simulate_target(config)``).

    Returns:
        A ``Shop`` (not for ``save_shop``) with ``config = target.config`` and
        ``users``: both domains' users (ids are disjoint: the target's follow the source's);
        ``items``: one row per item and domain, with a ``domain`` column (prices differ);
        ``impressions``: both logs with a ``domain`` column (``"source"`` / ``"target"``),
        stably sorted by (day, hour); ``oracle``: both oracles in the same order
        (``p_purchase_as_source`` is NaN on source rows). ``join_features`` joins each row to its
        own domain's prices; ``chronological_split`` cuts both domains on the same days.

    Raises:
        ValueError: ``source`` or ``target`` is not of the right kind, or ``target`` was not
            simulated from ``source``'s knobs.
    """
    for name, shop, kind in (("source", source, ShopConfig), ("target", target, TargetConfig)):
        if not isinstance(shop, Shop) or not isinstance(shop.config, kind):
            got = type(shop.config).__name__ if isinstance(shop, Shop) else type(shop).__name__
            raise ValueError(f"{name} must be a Shop made with a {kind.__name__} (simulate_shop / load_shop "
                             f"for the source, simulate_target / load_target for the target), got {got}")
    if target.config.source != source.config:
        raise ValueError("target was not simulated from this source: target.config.source differs from "
                         "source.config")
    if set(source.users["user_id"]) & set(target.users["user_id"]):
        raise ValueError("source and target share user ids")
    domain = pd.CategoricalDtype(DOMAINS)
    users = pd.concat([source.users, target.users], ignore_index=True)
    items = pd.concat([source.items.assign(domain=pd.Series("source", index=source.items.index, dtype=domain)),
                       target.items.assign(domain=pd.Series("target", index=target.items.index, dtype=domain))],
                      ignore_index=True)
    impressions = pd.concat(
        [im.assign(domain=pd.Series(name, index=im.index, dtype=domain))
         for name, im in (("source", source.impressions), ("target", target.impressions))],
        ignore_index=True)
    impressions.insert(1, "domain", impressions.pop("domain"))
    impressions = impressions.sort_values(["day", "hour"], kind="stable").reset_index(drop=True)
    oracle = (pd.concat([source.oracle, target.oracle], ignore_index=True)
              .set_index("impression_id").loc[impressions["impression_id"].to_numpy()].reset_index())
    return Shop(users, items, impressions, oracle, target.config)


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
    """The registry entry for ``name`` (one task name, a string).

    Raises:
        ValueError: ``name`` is not a string (e.g. a list of names) or not a known task; the
            message lists the known tasks.
    """
    if not isinstance(name, str):
        raise ValueError(f"task must be one task name (a string), got {name!r}; known tasks: {', '.join(TASKS)}")
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}")
    return TASKS[name]


def _resolve_tasks(tasks: str | Sequence[str], argument: str = "tasks") -> tuple[str, ...]:
    """``tasks`` as a tuple of known, distinct task names; a bare string counts as one task.

    The same rule as ``mtl_core.resolve_tasks`` (which it calls; imported here lazily since
    ``mtl_core`` imports this module).

    Raises:
        ValueError: empty, duplicated, or unknown names (the message lists the known tasks).
    """
    from .mtl_core import resolve_tasks as _resolve

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

    def transform(self, table: pd.DataFrame, tasks: str | Sequence[str] = tuple(TASKS)) -> ModelInputs:
        """Encode ``table`` (a ``join_features`` table) for the given tasks.

        Args:
            tasks: task names, or one name as a string (``"click"``); all tasks by default.
        """
        if self.mean_ is None:
            raise RuntimeError("call fit(train) before transform")
        tasks = _resolve_tasks(tasks)
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
_CARD_MARKERS = {
    "source": ("<!-- measured:start -->", "<!-- measured:end -->"),
    "target": ("<!-- measured-target:start -->", "<!-- measured-target:end -->"),
}
_CARD_START, _CARD_END = _CARD_MARKERS["source"]


def price_sensitivity(shop: Shop, by: str = "segment") -> pd.Series:
    """Purchase rate of items priced below their category's median price divided by the rate
    of items priced above it, per value of the user attribute ``by`` (higher: more price-sensitive).

    Args:
        by: a column of ``shop.users`` other than ``user_id`` (``"segment"``, ``"city_tier"``, ``"age"``).
    """
    if by not in shop.users.columns or by == "user_id":
        raise ValueError(f"by must be one of {[c for c in shop.users.columns if c != 'user_id']}, got {by!r}")
    table = join_features(shop)
    market = ["domain", "category"] if "domain" in table.columns else "category"  # each market's own median
    cheap = table["price"] < table.groupby(market, observed=True)["price"].transform("median")
    rates = table.groupby([table[by], cheap], observed=True)["purchase"].mean().unstack()
    return (rates[True] / rates[False]).rename("cheap / expensive").sort_values(ascending=False)


def measure(shop: Shop) -> pd.DataFrame:
    """The realism figures of the data card, measured on ``shop`` (never typed by hand).

    For a target domain (``simulate_target`` / ``load_target``) the table adds its knobs, its
    user mix, its purchases per split and how well the source's valuation ranks its purchases.

    Returns:
        A table with columns ``figure`` and ``value`` (formatted text).
    """
    if "domain" in shop.impressions.columns:
        raise ValueError("shop is a combine_domains shop: measure the source and the target separately")
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
         f"{len(im):,} / {len(shop.users):,} / {len(shop.items):,} / {_n_categories(shop.config)} / "
         f"{_n_days(shop.config)}"),
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
    if isinstance(shop.config, TargetConfig):
        c = shop.config
        mix = shop.users["segment"].value_counts(normalize=True).reindex(list(SEGMENTS))
        tiers = shop.users["city_tier"].value_counts(normalize=True).sort_index()
        as_source = roc_auc_score(split.test["purchase"], test_oracle["p_purchase_as_source"])
        rows += [
            ("knobs: relatedness ρ_T / price level / seed",
             f"{c.relatedness:g} / {c.price_level:g}× the source's prices / {c.seed}"),
            ("user mix (share of users)", ", ".join(f"{seg} {share:.0%}" for seg, share in mix.items())),
            ("city tiers 1 / 2 / 3 (share of users)", " / ".join(f"{share:.0%}" for share in tiers.to_numpy())),
            ("user ids / impression ids", f"{shop.users['user_id'].min():,} … {shop.users['user_id'].max():,} / "
                                          f"{im['impression_id'].min():,} … {im['impression_id'].max():,}"),
            ("purchases in train / valid / test",
             " / ".join(f"{int(part['purchase'].sum()):,}" for part in (split.train, split.valid, split.test))),
            ("AUC on the test split of p_purchase_as_source (the source's valuation)", f"{as_source:.3f}"),
        ]
    return pd.DataFrame(rows, columns=["figure", "value"])


def card_figures_markdown(shop: Shop) -> str:
    """``measure(shop)`` as the Markdown table that stands in the data card."""
    lines = ["| figure | value |", "|---|---|"]
    lines += [f"| {f} | {v} |" for f, v in measure(shop).itertuples(index=False)]
    return "\n".join(lines)


def _card_markers(domain: str) -> tuple[str, str]:
    if domain not in _CARD_MARKERS:
        raise ValueError(f"domain must be one of {list(_CARD_MARKERS)}, got {domain!r}")
    return _CARD_MARKERS[domain]


def _card_with_figures(text: str, shop: Shop, card_name: str) -> str:
    """``text`` (a data card) with ``shop``'s measured block replaced by fresh figures."""
    start, end = _card_markers("target" if isinstance(shop.config, TargetConfig) else "source")
    if start not in text or end not in text:
        raise ValueError(f"{card_name} lacks the markers {start} … {end}")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{card_figures_markdown(shop)}\n{end}{tail}"


def update_card(shop: Shop, card: str | Path) -> None:
    """Replace the measured block of the data card (between its markers) with fresh figures.

    A source shop fills the ``measured`` block, a target domain the ``measured-target`` block.
    The rest of the card (hand-written text) is kept; the new card is written to a temporary file
    and moved into place, so an interruption leaves the old card intact.
    """
    card = Path(card)
    text = _card_with_figures(card.read_text(encoding="utf-8"), shop, card.name)
    atomic_write(card, lambda tmp: tmp.write_text(text, encoding="utf-8"), overwrite=True)


def card_block(card: str | Path, domain: str = "source") -> str:
    """The measured block of ``domain`` (``"source"`` or ``"target"``) written in the data card (without markers)."""
    start, end = _card_markers(domain)
    text = Path(card).read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise ValueError(f"{Path(card).name} lacks the markers {start} … {end}")
    return text.split(start, 1)[1].split(end, 1)[0].strip()


# --------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> None:
    """``python -m mtl_lessons.data [--out DIR]``: regenerate the course dataset (in DIR), its
    target domain (in DIR/target) and the data card's figures (if DIR holds ``DATA_CARD.md``).

    This is the regeneration command (``make data``): it replaces the dataset files in DIR.
    Everything is simulated, measured and rendered in memory first; then each file is written to a
    temporary file and moved into place, so an interruption never leaves a half-written file (the
    hand-written data card included).
    """
    parser = argparse.ArgumentParser(description="Regenerate the simulated shop dataset and its target domain.")
    parser.add_argument("--out", default=str(DATA_DIR), help="directory to write (default: datasets/); "
                                                             "its dataset files are replaced")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out} is a file, not a folder")
    shop = simulate_shop()
    target = simulate_target(TargetConfig(source=shop.config))
    parts = ((shop, out), (target, out / TARGET_DIR.name))
    rendered = [(directory, _shop_files(part)) for part, directory in parts]
    card = out / CARD_FILE
    card_text = None
    if card.is_file():
        card_text = card.read_text(encoding="utf-8")
        for part, _ in parts:
            card_text = _card_with_figures(card_text, part, card.name)
    for directory, files in rendered:
        for path in _write_files(directory, files, overwrite=True):
            print(f"wrote {path.relative_to(out)} ({path.stat().st_size / 1e6:.2f} MB)")
    if card_text is not None:
        atomic_write(card, lambda tmp: tmp.write_text(card_text, encoding="utf-8"), overwrite=True)
        print(f"updated the measured figures in {card.name}")


if __name__ == "__main__":
    main()
