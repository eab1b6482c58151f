"""Tests of the target domain (a new market for transfer learning) and of encoding both domains."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

from mtl_lessons import data as D
from mtl_lessons import metrics

SOURCE = D.ShopConfig(n_users=300, n_items=120, n_impressions=20_000)
TARGET = D.TargetConfig(n_users=200, n_impressions=10_000, source=SOURCE)


@pytest.fixture(scope="module")
def source() -> D.Shop:
    return D.simulate_shop(SOURCE)


@pytest.fixture(scope="module")
def target() -> D.Shop:
    return D.simulate_target(TARGET)


@pytest.fixture(scope="module")
def both(source, target) -> D.Shop:
    return D.combine_domains(source, target)


@pytest.fixture(scope="module")
def committed_target() -> D.Shop:
    return D.load_target()


# --------------------------------------------------------------------------- knobs
@pytest.mark.parametrize(
    "knob, value",
    [
        ("seed", -1),
        ("seed", 2.5),
        ("relatedness", 1.5),
        ("relatedness", -0.1),
        ("relatedness", float("nan")),
        ("n_users", 10),
        ("n_users", True),
        ("n_impressions", 100),
        ("price_level", 0.1),
        ("price_level", 10.0),
        ("price_level", "cheap"),
        ("purchase_rate", 0.0),
        ("purchase_rate", 0.2),
        ("noise", -1.0),
        ("segment_mix", (0.5, 0.5)),
        ("segment_mix", (0.6, 0.2, 0.15, 0.1)),
        ("segment_mix", (-0.1, 0.6, 0.4, 0.1)),
        ("segment_mix", "students"),
        ("city_tier_mix", (1.0, 0.0)),
        ("city_tier_mix", (0.2, 0.2, float("nan"))),
    ],
)
def test_out_of_range_target_knob_names_the_knob_and_range(knob, value):
    with pytest.raises(ValueError, match=knob) as info:
        D.TargetConfig(**{knob: value})
    message = str(info.value)
    assert ("[" in message and "]" in message) or "sum to 1" in message  # the accepted values are stated


def test_target_config_source_must_be_a_shop_config():
    with pytest.raises(ValueError, match="source"):
        D.TargetConfig(source="default")
    with pytest.raises(ValueError, match="n_users"):
        D.TargetConfig(source={"n_users": 10})  # a dict is read as ShopConfig fields, and checked
    assert D.TargetConfig(source={"seed": 3}).source == D.ShopConfig(seed=3)
    assert D.TargetConfig(segment_mix=[0.25, 0.25, 0.25, 0.25]).segment_mix == (0.25, 0.25, 0.25, 0.25)


def test_simulate_target_rejects_a_non_config():
    with pytest.raises(ValueError, match="TargetConfig"):
        D.simulate_target(D.ShopConfig())


def test_unreachable_target_purchase_rate_is_explained():
    with pytest.raises(ValueError, match="purchase_rate"):
        D.simulate_target(D.TargetConfig(n_users=200, n_impressions=5_000, source=SOURCE, purchase_rate=0.05))


# --------------------------------------------------------------------------- the process
def test_target_is_reproducible_and_leaves_the_source_untouched(source, target):
    again = D.simulate_target(TARGET)
    pd.testing.assert_frame_equal(again.impressions, target.impressions)
    pd.testing.assert_frame_equal(again.oracle, target.oracle)
    other = D.simulate_target(D.TargetConfig(n_users=200, n_impressions=10_000, source=SOURCE, seed=1))
    assert not other.impressions["click"].equals(target.impressions["click"])
    fresh_source = D.simulate_shop(SOURCE)  # simulating a target changes nothing of the source
    pd.testing.assert_frame_equal(fresh_source.impressions, source.impressions)


def test_target_sells_the_source_items_at_its_price_level(source, target):
    same = ["item_id", "category", "brand", "brand_tier", "is_new"]
    pd.testing.assert_frame_equal(target.items[same], source.items[same])
    np.testing.assert_allclose(target.items["price"], source.items["price"] * TARGET.price_level, atol=0.0051)


def test_target_ids_follow_the_source_ids(source, target):
    assert target.users["user_id"].min() == source.users["user_id"].max() + 1
    assert not set(target.users["user_id"]) & set(source.users["user_id"])
    assert set(target.impressions["user_id"]) <= set(target.users["user_id"])
    assert target.impressions["impression_id"].min() == source.impressions["impression_id"].max() + 1
    np.testing.assert_array_equal(target.impressions["impression_id"], target.oracle["impression_id"])


def test_target_has_its_own_user_mix(target):
    shares = target.users["segment"].value_counts(normalize=True)
    assert shares["student"] == pytest.approx(TARGET.segment_mix[0], abs=0.1)
    assert shares.idxmax() == "student"


def test_target_labels_follow_the_funnel_and_the_knob(target):
    im, o = target.impressions, target.oracle
    assert (im["add_to_cart"] <= im["click"]).all() and (im["purchase"] <= im["add_to_cart"]).all()
    bought = im["purchase"] == 1
    assert im.loc[bought, ["rating", "sentiment"]].notna().all().all()
    assert im.loc[~bought, ["rating", "sentiment"]].isna().all().all()
    assert o["p_purchase"].mean() == pytest.approx(TARGET.purchase_rate, rel=1e-6)
    assert im["day"].max() + 1 == SOURCE.n_days  # the same calendar: splits line up
    for task in D.TASKS:  # all seven labels exist
        assert D.task_labels(im, task).shape == (len(im),) and D.task_mask(im, task).any()


def test_relatedness_mixes_the_item_latents():
    """ρ_T = 1 copies the source's item latents; lower ρ_T correlates them about ρ_T."""
    config = D.ShopConfig()  # the course's source entities (cheap: no impressions are drawn)
    src = D._draw_source_world(config, np.random.default_rng(config.seed))
    tier = 0.4 * (src.tier - 0.7)  # the observable tier part of quality is shared, not mixed

    def corr(a, b) -> float:
        return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])

    for rho in (1.0, 0.5, 0.0):
        tgt = D._target_world(D.TargetConfig(relatedness=rho), src, np.random.default_rng(9))
        pairs = {"item_vec": (src.item_vec, tgt.item_vec), "quality": (src.quality - tier, tgt.quality - tier),
                 "appeal": (src.appeal, tgt.appeal), "log popularity": (np.log(src.popularity), np.log(tgt.popularity))}
        for name, (a, b) in pairs.items():
            if rho == 1.0:
                np.testing.assert_allclose(b, a, err_msg=name)
            else:
                assert abs(corr(a, b) - rho) < 0.3, (name, rho, corr(a, b))


def test_relatedness_decides_how_much_the_source_valuation_predicts_the_target():
    def corr(rho: float) -> float:
        o = D.simulate_target(D.TargetConfig(n_users=200, n_impressions=10_000, source=SOURCE, relatedness=rho)).oracle
        return float(np.corrcoef(logit(o["p_purchase"]), logit(o["p_purchase_as_source"]))[0, 1])

    assert corr(1.0) > 0.999  # the source's valuation is the target's
    assert corr(0.0) < corr(0.8) - 0.3  # only the shared mechanics (price, tier, position) remain


# --------------------------------------------------------------------------- both domains
def test_combined_shop_holds_both_domains(source, target, both):
    assert len(both.users) == len(source.users) + len(target.users) and both.users["user_id"].is_unique
    assert len(both.impressions) == len(source.impressions) + len(target.impressions)
    assert both.impressions["impression_id"].is_unique
    assert list(both.impressions["domain"].cat.categories) == list(D.DOMAINS)
    counts = both.impressions["domain"].value_counts()
    assert counts["source"] == len(source.impressions) and counts["target"] == len(target.impressions)
    np.testing.assert_array_equal(both.oracle["impression_id"], both.impressions["impression_id"])
    days = both.impressions["day"].to_numpy() * 24 + both.impressions["hour"].to_numpy()
    assert (np.diff(days) >= 0).all()  # in time order


def test_join_gives_each_domain_its_own_prices(source, target, both):
    table = D.join_features(both)
    assert len(table) == len(both.impressions)
    for name, shop in (("source", source), ("target", target)):
        rows = table[table["domain"] == name]
        expected = shop.items.set_index("item_id")["price"].reindex(rows["item_id"]).to_numpy()
        np.testing.assert_array_equal(rows["price"].to_numpy(), expected)


def test_one_encoder_serves_both_domains(source, target, both):
    table = D.join_features(both)
    split = D.chronological_split(table)
    assert set(split.test["domain"]) == {"source", "target"}
    encoder = D.FeatureEncoder(both).fit(split.train[split.train["domain"] == "source"])
    assert encoder.cardinalities["user_id"] == len(source.users) + len(target.users)
    assert encoder.cardinalities["item_id"] == len(source.items)
    assert D.FeatureEncoder(target).cardinalities == encoder.cardinalities  # a target-only model fits too
    tasks = ("click", "purchase")
    for part in (split.train, split.test[split.test["domain"] == "target"], split.valid):
        inputs = encoder.transform(part, tasks)
        assert len(inputs) == len(part) and np.isfinite(inputs.numeric).all()
        for name, ids in inputs.categorical.items():
            assert ids.min() >= 0 and ids.max() < encoder.cardinalities[name]
    # the price relative to the category median is the same item feature in both markets
    encoded = encoder.transform(table, tasks)
    relative = pd.DataFrame({"item_id": table["item_id"], "domain": table["domain"],
                             "x": encoded.numeric[:, D.NUMERIC_FEATURES.index("log_price_to_category")]})
    per_domain = relative.groupby(["item_id", "domain"], observed=True)["x"].first().unstack().dropna()
    np.testing.assert_allclose(per_domain["source"], per_domain["target"], atol=0.02)
    with pytest.raises(ValueError, match="domain"):
        encoder.transform(D.join_features(target), tasks)


def test_oracle_scores_work_on_target_rows(target, both):
    rows = D.chronological_split(D.join_features(both)).test
    rows = rows[rows["domain"] == "target"].reset_index(drop=True)
    alone = D.chronological_split(D.join_features(target)).test
    tasks = ("click", "purchase", "next_category")
    combined_scores = metrics.oracle_scores(both, rows, tasks)
    assert combined_scores == pytest.approx(metrics.oracle_scores(target, alone, tasks))
    assert both.oracle_for(rows)["p_purchase_as_source"].notna().all()


def test_combine_checks_its_arguments(source, target, both):
    with pytest.raises(ValueError, match="target"):
        D.combine_domains(source, source)
    with pytest.raises(ValueError, match="source"):
        D.combine_domains(target, target)
    other_source = D.ShopConfig(n_users=300, n_items=120, n_impressions=20_000, seed=1)
    other = D.simulate_target(D.TargetConfig(n_users=200, n_impressions=5_000, source=other_source))
    with pytest.raises(ValueError, match="not simulated from this source"):
        D.combine_domains(source, other)
    with pytest.raises(ValueError, match="combine_domains"):
        D.save_shop(both, "unused")


# --------------------------------------------------------------------------- files
def test_target_save_and_load_round_trip(target, tmp_path):
    D.save_shop(target, tmp_path)
    loaded = D.load_target(tmp_path)
    assert loaded.config == target.config
    for name in ("users", "items", "impressions"):
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(target, name), check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(loaded.oracle, target.oracle, check_exact=False, rtol=1e-5, atol=1e-9)


def test_load_target_refuses_a_source_shop(source, tmp_path):
    D.save_shop(source, tmp_path)
    with pytest.raises(ValueError, match="not a target"):
        D.load_target(tmp_path)


@pytest.mark.parametrize("filename", [D.FILES["oracle"], D.CONFIG_FILE])
def test_missing_target_file_names_file_and_fix(target, tmp_path, filename):
    D.save_shop(target, tmp_path)
    (tmp_path / filename).unlink()
    with pytest.raises(FileNotFoundError, match=filename.replace(".", r"\.")) as info:
        D.load_target(tmp_path)
    assert "make data" in str(info.value)


def test_committed_target_equals_a_fresh_generation(committed_target):
    """The committed target domain regenerates to the same values (and its source is the course dataset)."""
    assert committed_target.config == D.TargetConfig()
    assert committed_target.config.source == D.load_shop().config
    fresh = D.simulate_target(committed_target.config)
    for name in ("users", "items", "impressions"):
        pd.testing.assert_frame_equal(getattr(committed_target, name), getattr(fresh, name),
                                      check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(committed_target.oracle, fresh.oracle, check_exact=False, rtol=1e-5, atol=1e-9)


def test_committed_target_figures(committed_target):
    """The defaults promise a smaller market with enough test purchases for a learning curve."""
    im = committed_target.impressions
    split = D.chronological_split(im)
    assert 50_000 <= len(im) <= 120_000
    assert split.test["purchase"].sum() >= 150 and 0.01 * split.train["purchase"].sum() >= 5
    assert committed_target.users["segment"].value_counts().idxmax() == "student"


def test_data_card_target_figures_are_measured_not_typed(committed_target):
    card = D.DATA_DIR / D.CARD_FILE
    assert D.card_block(card, "target") == D.card_figures_markdown(committed_target)
    with pytest.raises(ValueError, match="domain"):
        D.card_block(card, "elsewhere")
