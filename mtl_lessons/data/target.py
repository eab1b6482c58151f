"""The target domain: a new market selling the source shop's items (``simulate_target``), and
``combine_domains``, which holds a source and its target in one ``Shop``.

The process (relatedness, price level, user mix) is written in the docstring of ``mtl_lessons.data``.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from .config import ShopConfig, TargetConfig
from .shop import (_BRAND_APPEAL_SD, _BRAND_QUALITY_SD, _CENTRE_SD, _ITEM_APPEAL_SD, _ITEM_QUALITY_SD, _ITEM_VEC_SD,
                   _POPULARITY_APPEAL, _POPULARITY_SD, DOMAINS, LATENT_DIM, Shop, _build_shop, _draw_impressions,
                   _draw_source_world, _draw_users, _funnel_probabilities, _normal, _scores, _simulate_labels, _World)


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
