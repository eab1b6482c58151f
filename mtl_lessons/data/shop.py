"""The source shop: the ``Shop`` tables and the simulator that draws them (``simulate_shop``).

The generative process, with its equations, is written in the docstring of ``mtl_lessons.data``.
The helpers here (entity draws, funnel scores, labels and oracle, tables) are shared with the
target domain (``target.py``).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, log_softmax, ndtr

from .config import (CATEGORIES, DEVICES, N_POSITIONS, SEGMENTS, SOURCE_CITY_TIER_MIX, SOURCE_SEGMENT_MIX,
                     ShopConfig, TargetConfig)

LATENT_DIM = 8
RATING_CUTS = (-1.6, -0.9, -0.1, 0.7)  # satisfaction thresholds between ratings 1|2|3|4|5
SENTIMENT_CUT = 0.3
SATISFACTION_NOISE = 0.8
SENTIMENT_NOISE = 0.5
DWELL_NOISE = 0.6
_HERMITE_NODES = 32

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
                     task_correlation: float, purchase_rate: float, noise: float, b3: float | None = None,
                     ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], float]:
    """Labels and oracle of the impressions ``imp``; also returns the purchase intercept b3.

    ``b3`` given (a log written in chunks, ``data.shards``): used as is instead of solved on ``imp``.

    Returns:
        (labels: column → array (n,), oracle: column → array (n,), b3). ``next_category`` and
        ``next_category_argmax`` are category indices.
    """
    n = len(imp["user"])
    s = _scores(world, imp, task_correlation)
    if b3 is None:
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


def _hour_profile() -> np.ndarray:
    """Share of traffic per hour of day: quiet at night, peaks at lunch and in the evening."""
    h = np.arange(24)
    w = 0.2 + np.exp(-0.5 * ((h - 12.5) / 1.5) ** 2) + 1.6 * np.exp(-0.5 * ((h - 20.5) / 2.0) ** 2)
    return w / w.sum()
