"""Knobs of the simulated shop (``ShopConfig``) and of its target domain (``TargetConfig``),
their range checks, and the vocabularies every part of ``mtl_lessons.data`` shares."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

CATEGORIES = (
    "fashion", "beauty", "electronics", "home", "sports",
    "books", "toys", "food", "pets", "outdoor", "jewelry", "auto",
)
SEGMENTS = ("student", "family", "professional", "senior")
DEVICES = ("app", "web", "mini_program")
N_POSITIONS = 20


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
