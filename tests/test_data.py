"""Tests of the simulated shop, its files, the task registry, splits and model inputs."""
from __future__ import annotations

import gzip
import shutil

import numpy as np
import pandas as pd
import pytest

from mtl_lessons import data as D

SMALL = D.ShopConfig(n_users=300, n_items=120, n_impressions=20_000)


@pytest.fixture(scope="module")
def shop() -> D.Shop:
    return D.load_shop()


@pytest.fixture(scope="module")
def small() -> D.Shop:
    return D.simulate_shop(SMALL)


# --------------------------------------------------------------------------- knobs
@pytest.mark.parametrize(
    "knob, value",
    [
        ("seed", -1),
        ("seed", 1.5),
        ("n_users", 10),
        ("n_items", 10),
        ("n_categories", 13),
        ("n_categories", 1),
        ("n_impressions", 100),
        ("n_days", 3),
        ("task_correlation", 1.5),
        ("task_correlation", -0.1),
        ("task_correlation", float("nan")),
        ("purchase_rate", 0.0),
        ("purchase_rate", 0.2),
        ("noise", -1.0),
        ("noise", 5.0),
        ("n_users", "many"),
        ("n_users", True),
    ],
)
def test_out_of_range_knob_names_the_knob_and_range(knob, value):
    with pytest.raises(ValueError, match=knob) as info:
        D.ShopConfig(**{knob: value})
    assert "[" in str(info.value) and "]" in str(info.value)  # the accepted range is stated


def test_simulate_rejects_a_non_config():
    with pytest.raises(ValueError, match="config"):
        D.simulate_shop({"seed": 1})


def test_unreachable_purchase_rate_is_explained():
    with pytest.raises(ValueError, match="purchase_rate"):
        D.simulate_shop(D.ShopConfig(n_users=300, n_items=120, n_impressions=5_000, purchase_rate=0.05))


# --------------------------------------------------------------------------- the process
def test_same_seed_same_shop_other_seed_other_shop():
    a, b = D.simulate_shop(SMALL), D.simulate_shop(SMALL)
    pd.testing.assert_frame_equal(a.impressions, b.impressions)
    pd.testing.assert_frame_equal(a.oracle, b.oracle)
    c = D.simulate_shop(D.ShopConfig(n_users=300, n_items=120, n_impressions=20_000, seed=7))
    assert not a.impressions["click"].equals(c.impressions["click"])


def test_funnel_is_nested(small):
    im = small.impressions
    assert (im["add_to_cart"] <= im["click"]).all()
    assert (im["purchase"] <= im["add_to_cart"]).all()


def test_post_purchase_labels_exist_only_for_purchases(small):
    im = small.impressions
    bought = im["purchase"] == 1
    assert im.loc[bought, ["rating", "sentiment"]].notna().all().all()
    assert im.loc[~bought, ["rating", "sentiment"]].isna().all().all()
    assert set(im.loc[bought, "rating"].unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    clicked = im["click"] == 1
    assert im.loc[clicked, "dwell_seconds"].notna().all()
    assert im.loc[~clicked, "dwell_seconds"].isna().all()


def test_purchase_rate_knob_is_met(small):
    assert small.oracle["p_purchase"].mean() == pytest.approx(SMALL.purchase_rate, rel=1e-6)


def test_oracle_is_consistent_with_labels(small):
    im, o = small.impressions, small.oracle
    assert (o["p_purchase"] <= o["p_add_to_cart"]).all() and (o["p_add_to_cart"] <= o["p_click"]).all()
    # sampled rates agree with the oracle's mean probabilities (binomial margin of 5 sd)
    for task, column in (("click", "p_click"), ("add_to_cart", "p_add_to_cart"), ("purchase", "p_purchase")):
        p = o[column].mean()
        assert abs(im[task].mean() - p) < 5 * np.sqrt(p * (1 - p) / len(im))


def test_task_correlation_knob_couples_purchase_to_click():
    def corr(rho: float) -> float:
        o = D.simulate_shop(D.ShopConfig(n_users=300, n_items=120, n_impressions=20_000, task_correlation=rho)).oracle
        conditional = np.log(o["p_purchase"] / o["p_click"])  # purchase given click, on the logit-ish scale
        return float(np.corrcoef(np.log(o["p_click"]), conditional)[0, 1])

    assert corr(1.0) > corr(0.0) + 0.1


def test_default_dataset_figures(shop):
    """The defaults promise: a few hundred thousand impressions, rare purchases, enough test positives."""
    im = shop.impressions
    assert len(im) >= 200_000 and len(shop.users) >= 1_000 and len(shop.items) >= 1_000
    assert im["next_category"].cat.categories.size >= 8
    assert 0.01 <= im["purchase"].mean() <= 0.02
    split = D.chronological_split(im)
    assert split.test["purchase"].sum() >= 500


def test_committed_files_are_small():
    files = [p for p in D.DATA_DIR.rglob("*") if p.is_file()]
    assert any(p.parent == D.TARGET_DIR for p in files)  # the target domain's files count too
    assert sum(p.stat().st_size for p in files) <= 20e6


# --------------------------------------------------------------------------- files
def test_committed_dataset_equals_a_fresh_generation(shop):
    """Regeneration gives the committed values (compared as values, not bytes)."""
    fresh = D.simulate_shop(shop.config)
    for name in ("users", "items", "impressions"):
        pd.testing.assert_frame_equal(getattr(shop, name), getattr(fresh, name), check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(shop.oracle, fresh.oracle, check_exact=False, rtol=1e-5, atol=1e-9)


def test_save_and_load_round_trip(small, tmp_path):
    D.save_shop(small, tmp_path)
    loaded = D.load_shop(tmp_path)
    assert loaded.config == small.config
    pd.testing.assert_frame_equal(loaded.impressions, small.impressions, check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(loaded.items, small.items, check_exact=False, rtol=1e-9)


def test_saved_bytes_repeat(small, tmp_path):
    D.save_shop(small, tmp_path / "a")
    D.save_shop(small, tmp_path / "b")
    for filename in list(D.FILES.values()) + [D.CONFIG_FILE]:
        assert (tmp_path / "a" / filename).read_bytes() == (tmp_path / "b" / filename).read_bytes()


@pytest.mark.parametrize("filename", list(D.FILES.values()) + [D.CONFIG_FILE])
def test_missing_file_names_file_and_fix(small, tmp_path, filename):
    D.save_shop(small, tmp_path)
    (tmp_path / filename).unlink()
    with pytest.raises(FileNotFoundError, match=filename.replace(".", r"\.")) as info:
        D.load_shop(tmp_path)
    assert "make data" in str(info.value)


@pytest.mark.parametrize("filename", list(D.FILES.values()) + [D.CONFIG_FILE])
def test_corrupt_file_names_file_and_fix(small, tmp_path, filename):
    D.save_shop(small, tmp_path)
    path = tmp_path / filename
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 3])  # truncated
    with pytest.raises(ValueError, match=filename.replace(".", r"\.")) as info:
        D.load_shop(tmp_path)
    assert "make data" in str(info.value)


def test_file_with_missing_column_is_reported(small, tmp_path):
    D.save_shop(small, tmp_path)
    path = tmp_path / "impressions.csv.gz"
    table = pd.read_csv(path).drop(columns=["purchase"])
    with gzip.open(path, "wt") as f:
        table.to_csv(f, index=False)
    with pytest.raises(ValueError, match="purchase"):
        D.load_shop(tmp_path)


def test_regenerate_command_writes_identical_values(tmp_path):
    D.main(["--out", str(tmp_path)])
    fresh = D.load_shop(tmp_path)
    committed = D.load_shop()
    pd.testing.assert_frame_equal(fresh.impressions, committed.impressions)
    from mtl_lessons.data.text import TEXT_DIR_NAME, TEXT_FILES
    for name in TEXT_FILES:  # the shopping-guide text (lesson 09): byte for byte
        assert (tmp_path / TEXT_DIR_NAME / name).read_bytes() == (D.DATA_DIR / TEXT_DIR_NAME / name).read_bytes(), name
    shutil.rmtree(tmp_path)


# --------------------------------------------------------------------------- tasks and masks
def test_registry_covers_the_brief():
    kinds = {t.kind for t in D.TASKS.values()}
    assert kinds == {"binary", "multiclass", "regression"}
    assert {"click", "add_to_cart", "purchase", "rating", "sentiment", "dwell", "next_category"} <= set(D.TASKS)


def test_unknown_task_lists_known_tasks(small):
    with pytest.raises(ValueError, match="known tasks: click"):
        D.task_mask(small.impressions, "buy")


def test_masks_follow_the_funnel(small):
    im = small.impressions
    assert D.task_mask(im, "click").all()
    np.testing.assert_array_equal(D.task_mask(im, "rating"), im["purchase"].to_numpy() == 1)
    np.testing.assert_array_equal(D.task_mask(im, "dwell"), im["click"].to_numpy() == 1)


def test_missing_labels_stay_missing_never_zero(small):
    im = small.impressions
    rating = D.task_labels(im, "rating")
    assert np.isnan(rating[im["purchase"].to_numpy() == 0]).all()
    assert not np.isnan(rating[im["purchase"].to_numpy() == 1]).any()
    dwell = D.task_labels(im, "dwell")
    np.testing.assert_allclose(dwell[im["click"].to_numpy() == 1], np.log(im.loc[im["click"] == 1, "dwell_seconds"]))


def test_nan_label_on_a_row_that_must_carry_one_is_an_error(small):
    im = small.impressions.copy()
    im.loc[im.index[0], "click"] = np.nan
    with pytest.raises(ValueError, match="click"):
        D.task_mask(im, "click")


# --------------------------------------------------------------------------- splits
def test_chronological_split_has_no_future_in_training(shop):
    split = D.chronological_split(shop.impressions)
    assert split.train["day"].max() < split.valid["day"].min()
    assert split.valid["day"].max() < split.test["day"].min()
    assert len(split.train) + len(split.valid) + len(split.test) == len(shop.impressions)
    test_ids = set(split.test["impression_id"])
    assert not test_ids & set(split.train["impression_id"])
    assert split.test["day"].nunique() == 5 and split.valid["day"].nunique() == 4


@pytest.mark.parametrize("kwargs, name", [({"valid_days": 0}, "valid_days"), ({"test_days": -2}, "test_days"),
                                          ({"valid_days": 20, "test_days": 20}, "valid_days")])
def test_split_rejects_bad_sizes(shop, kwargs, name):
    with pytest.raises(ValueError, match=name):
        D.chronological_split(shop.impressions, **kwargs)


# --------------------------------------------------------------------------- model inputs
def test_encoder_uses_training_statistics_only(small):
    table = D.join_features(small)
    split = D.chronological_split(table)
    encoder = D.FeatureEncoder(small).fit(split.train)
    train = encoder.transform(split.train)
    test = encoder.transform(split.test)
    np.testing.assert_allclose(train.numeric.mean(axis=0), 0.0, atol=1e-5)
    refit = D.FeatureEncoder(small).fit(split.test)
    assert not np.allclose(refit.mean_, encoder.mean_)  # statistics differ by split, so the choice matters
    assert test.numeric.dtype == np.float32 and len(test) == len(split.test)
    for name, ids in test.categorical.items():
        assert ids.dtype == np.int64 and ids.min() >= 0 and ids.max() < encoder.cardinalities[name]


def test_encoder_masks_and_labels(small):
    table = D.join_features(small)
    encoder = D.FeatureEncoder(small).fit(table)
    inputs = encoder.transform(table, ["purchase", "rating", "next_category"])
    assert set(inputs.labels) == {"purchase", "rating", "next_category"}
    np.testing.assert_array_equal(inputs.masks["rating"], table["purchase"].to_numpy() == 1)
    assert inputs.masks["purchase"].all()
    classes = inputs.labels["next_category"]
    assert classes.min() >= 0 and classes.max() < encoder.n_classes["next_category"]


def test_encoder_rejects_unknown_task_and_unfitted_use(small):
    table = D.join_features(small)
    with pytest.raises(RuntimeError, match="fit"):
        D.FeatureEncoder(small).transform(table)
    with pytest.raises(ValueError, match="unknown task"):
        D.FeatureEncoder(small).fit(table).transform(table, ["buy"])


def test_join_keeps_one_row_per_impression_and_no_oracle(small):
    table = D.join_features(small)
    assert len(table) == len(small.impressions)
    assert not any(c.startswith("p_") or c.startswith("expected") for c in table.columns)


def test_oracle_for_aligns_rows(small):
    split = D.chronological_split(small.impressions)
    rows = small.oracle_for(split.test)
    np.testing.assert_array_equal(rows["impression_id"], split.test["impression_id"])
    bad = split.test.assign(impression_id=split.test["impression_id"] + 10**9)
    with pytest.raises(ValueError, match="impression_id"):
        small.oracle_for(bad)


def test_data_card_figures_are_measured_not_typed(shop):
    card = D.DATA_DIR / D.CARD_FILE
    assert D.card_block(card) == D.card_figures_markdown(shop)


def test_price_sensitivity_rejects_unknown_attribute(shop):
    with pytest.raises(ValueError, match="by must be one of"):
        D.price_sensitivity(shop, "income")


def test_model_inputs_take_selects_rows_by_mask_or_index_and_checks_them():
    shop = D.simulate_shop(D.ShopConfig(n_users=100, n_items=60, n_impressions=2_000))
    table = D.join_features(shop)
    inputs = D.FeatureEncoder(shop).fit(table).transform(table, ("click", "rating"))
    bought = inputs.masks["rating"]
    part = inputs.take(bought)
    assert len(part) == bought.sum() and part.masks["rating"].all()
    np.testing.assert_array_equal(part.categorical["item_id"], inputs.categorical["item_id"][bought])
    first = inputs.take(np.arange(10))
    np.testing.assert_array_equal(first.numeric, inputs.numeric[:10])
    np.testing.assert_array_equal(first.labels["click"], inputs.labels["click"][:10])
    with pytest.raises(ValueError, match="shape"):
        inputs.take(bought[:-1])
    with pytest.raises(ValueError, match=r"\[0, 2000\)"):
        inputs.take(np.array([0, 2000]))
    with pytest.raises(ValueError, match="int row"):
        inputs.take(np.array([0.5]))
