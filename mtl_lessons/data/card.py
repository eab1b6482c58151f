"""The data card's figures: ``measure`` computes them on a shop, ``update_card`` writes them into
``datasets/DATA_CARD.md`` between its markers, ``card_block`` reads them back."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..atomic import atomic_write
from .config import SEGMENTS, TargetConfig, _n_categories, _n_days
from .encode import chronological_split, join_features
from .shop import Shop
from .tasks import TASKS

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
