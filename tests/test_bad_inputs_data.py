"""Bad inputs on the data side (issue 11): each gets a clear error naming the problem, never a wrong result.

Covers ``mtl_lessons.data`` (files, knobs, tasks, split, encoder, saving), ``metrics``,
``baselines`` and ``plots``. Every test asserts the error type and that the message names the
argument (file, column, knob) and what was expected.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from mtl_lessons import data as D  # noqa: E402
from mtl_lessons import metrics as M  # noqa: E402
from mtl_lessons import plots  # noqa: E402
from mtl_lessons.baselines import popularity_scores  # noqa: E402

SMALL = D.ShopConfig(n_users=300, n_items=120, n_impressions=20_000)
TARGET = D.TargetConfig(n_users=200, n_impressions=10_000, source=SMALL)
MAKE_DATA = "`make data`"


@pytest.fixture(scope="module")
def small() -> D.Shop:
    return D.simulate_shop(SMALL)


@pytest.fixture(scope="module")
def saved(small, tmp_path_factory) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("shop")
    D.save_shop(small, folder)
    return folder


@pytest.fixture(scope="module")
def saved_target(tmp_path_factory) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("target")
    D.save_shop(D.simulate_target(TARGET), folder)
    return folder


def _broken(folder: pathlib.Path, tmp_path: pathlib.Path, filename: str, change) -> pathlib.Path:
    """A copy of the saved dataset ``folder`` whose ``filename`` is read, changed by ``change`` and rewritten."""
    copy = tmp_path / "broken"
    shutil.copytree(folder, copy)
    path = copy / filename
    table = pd.read_csv(path)
    table = change(table)
    table.to_csv(path, index=False)
    return copy


def _set(column, value, row=0, where=None):
    """A change that sets ``column`` to ``value`` at ``row`` (or at the first row where ``where(table)``)."""
    def change(table):
        index = row if where is None else int(np.flatnonzero(where(table))[0])
        if isinstance(value, str):
            table[column] = table[column].astype(object)
        elif isinstance(value, float) and pd.api.types.is_integer_dtype(table[column].dtype):
            table[column] = table[column].astype(float)
        table.loc[index, column] = value
        return table
    return change


def _swap_columns(a, b):
    return lambda table: table.rename(columns={a: b, b: a})


def _swap_rows(i, j):
    def change(table):
        order = np.arange(len(table))
        order[[i, j]] = order[[j, i]]
        return table.iloc[order].reset_index(drop=True)
    return change


def _assert_names(info, *fragments):
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in: {message}"
    assert MAKE_DATA in message, message


# --------------------------------------------------------------------------- 1. load_shop validates the files
IMPRESSIONS, USERS, ITEMS, ORACLE = (D.FILES[name] for name in ("impressions", "users", "items", "oracle"))
BOUGHT = lambda t: t["purchase"] == 1  # noqa: E731
NOT_BOUGHT = lambda t: t["purchase"] == 0  # noqa: E731
CLICKED = lambda t: t["click"] == 1  # noqa: E731
LAST = SMALL.n_impressions - 1  # the last impression (latest day and hour)
CLICK_NO_CART = lambda t: (t["click"] == 1) & (t["add_to_cart"] == 0)  # noqa: E731

SOURCE_CASES = {
    # label domains
    "click = 7": (IMPRESSIONS, _set("click", 7), ["'click'", "0 or 1 (a binary label)", "found 7 at row 0"]),
    "click = -1": (IMPRESSIONS, _set("click", -1), ["'click'", "0 or 1", "-1"]),
    "click written as True/False": (IMPRESSIONS, lambda t: t.assign(click=t["click"] == 1),
                                    ["'click'", "0 or 1", "found False"]),
    "add_to_cart = 0.5": (IMPRESSIONS, _set("add_to_cart", 0.5), ["'add_to_cart'", "0 or 1", "0.5"]),
    "rating = 6": (IMPRESSIONS, _set("rating", 6.0, where=BOUGHT), ["'rating'", "integer ratings 1 to 5", "6.0"]),
    "rating = 3.5": (IMPRESSIONS, _set("rating", 3.5, where=BOUGHT), ["'rating'", "1 to 5", "3.5"]),
    "sentiment = 0.5": (IMPRESSIONS, _set("sentiment", 0.5, where=BOUGHT), ["'sentiment'", "0 or 1", "0.5"]),
    "dwell_seconds = 0": (IMPRESSIONS, _set("dwell_seconds", 0.0, where=CLICKED), ["'dwell_seconds'", "> 0", "0.0"]),
    "dwell_seconds = inf": (IMPRESSIONS, _set("dwell_seconds", np.inf, where=CLICKED), ["'dwell_seconds'", "inf"]),
    # labels present exactly where they exist
    "rating without a purchase": (IMPRESSIONS, _set("rating", 4.0, where=NOT_BOUGHT),
                                  ["'rating'", "exactly on the rows with purchase = 1", "a value where purchase = 0: 4.0 at row"]),
    "no rating on a purchase": (IMPRESSIONS, _set("rating", np.nan, where=BOUGHT),
                                ["'rating'", "an empty cell where purchase = 1"]),
    "no dwell on a click": (IMPRESSIONS, _set("dwell_seconds", np.nan, where=CLICKED),
                            ["'dwell_seconds'", "an empty cell where click = 1"]),
    # funnel order
    "click and purchase swapped": (IMPRESSIONS, _swap_columns("click", "purchase"),
                                   ["add_to_cart = 1 where click = 0", "purchase ⇒ add_to_cart ⇒ click"]),
    "purchase without add_to_cart": (IMPRESSIONS, _set("purchase", 1, where=CLICK_NO_CART),
                                     ["purchase = 1 where add_to_cart = 0 at row", "purchase ⇒ add_to_cart ⇒ click"]),
    # context ranges and dtypes
    "day = -3": (IMPRESSIONS, _set("day", -3), ["'day'", "integer days in [0, 29]", "n_days is 30", "found -3 at row 0"]),
    "day = 30": (IMPRESSIONS, _set("day", 30, row=LAST), ["'day'", "[0, 29]", f"30 at row {LAST}"]),
    "day = 1.5": (IMPRESSIONS, _set("day", 1.5), ["'day'", "integer days", "found 1.5 at row 0"]),
    "day = 'monday'": (IMPRESSIONS, _set("day", "monday"), ["'day'", "integer days", "found 'monday'"]),
    "hour = 24": (IMPRESSIONS, _set("hour", 24, row=LAST), ["'hour'", "[0, 23]", "24"]),
    "position = 0": (IMPRESSIONS, _set("position", 0), ["'position'", "[1, 20]", "found 0"]),
    "promotion = 2": (IMPRESSIONS, _set("promotion", 2), ["'promotion'", "0 or 1", "found 2"]),
    "rows out of time order": (IMPRESSIONS, _swap_rows(0, LAST), ["time order", "sorted by day, then hour"]),
    # id references and distinct ids
    "user id absent from users.csv": (IMPRESSIONS, _set("user_id", 99_999, row=5),
                                      ["'user_id'", "ids listed in users.csv", "99999 at row 5", "absent from users.csv"]),
    "item id absent from items.csv": (IMPRESSIONS, _set("item_id", 120, row=7),
                                      ["'item_id'", "ids listed in items.csv", "120 at row 7"]),
    "repeated impression id": (IMPRESSIONS, _set("impression_id", 0, row=3),
                               ["'impression_id'", "distinct impression ids", "0 at row 3"]),
    "impression id out of range": (IMPRESSIONS, _set("impression_id", 20_000, row=3),
                                   ["'impression_id'", "[0, 19999]", "20000 at row 3"]),
    # users and items
    "user id out of range": (USERS, _set("user_id", 99_999, row=2), [USERS, "'user_id'", "[0, 299]", "99999"]),
    "city_tier = 4": (USERS, _set("city_tier", 4), [USERS, "'city_tier'", "1, 2 or 3", "found 4"]),
    "age = 200": (USERS, _set("age", 200), [USERS, "'age'", "[16, 90]", "200"]),
    "price = 'abc'": (ITEMS, _set("price", "abc", row=3), [ITEMS, "'price'", "finite prices > 0", "found 'abc' at row 3"]),
    "price = 0": (ITEMS, _set("price", 0.0), [ITEMS, "'price'", "> 0", "found 0.0"]),
    "price = -inf": (ITEMS, _set("price", -np.inf), [ITEMS, "'price'", "-inf"]),
    "brand_tier = 3": (ITEMS, _set("brand_tier", 3), [ITEMS, "'brand_tier'", "0, 1 or 2", "found 3"]),
    "is_new = 2": (ITEMS, _set("is_new", 2), [ITEMS, "'is_new'", "0 or 1", "found 2"]),
    "brand id out of range": (ITEMS, _set("brand", 10), [ITEMS, "'brand'", "[0, 9]", "found 10"]),
    "repeated item id": (ITEMS, _set("item_id", 0, row=1), [ITEMS, "'item_id'", "distinct item ids"]),
    # the oracle
    "probability 1.5": (ORACLE, _set("p_click", 1.5), [ORACLE, "'p_click'", "probabilities in [0, 1]", "1.5"]),
    "probability NaN-free but inf": (ORACLE, _set("p_purchase", np.inf), [ORACLE, "'p_purchase'", "inf"]),
    "expected rating 0": (ORACLE, _set("expected_rating", 0.0), [ORACLE, "'expected_rating'", "[1, 5]"]),
    "oracle rows in another order": (ORACLE, _swap_rows(0, 1), [ORACLE, "'impression_id'", "same order",
                                                                 IMPRESSIONS]),
}


@pytest.mark.parametrize("case", list(SOURCE_CASES))
def test_load_shop_refuses_values_the_simulator_never_writes(saved, tmp_path, case):
    filename, change, fragments = SOURCE_CASES[case]
    folder = _broken(saved, tmp_path, filename, change)
    with pytest.raises(ValueError) as info:
        D.load_shop(folder)
    _assert_names(info, f"dataset file {filename}", *fragments)


TARGET_CASES = {
    "click = 7": (IMPRESSIONS, _set("click", 7), ["'click'", "0 or 1", "found 7"]),
    "day = -3": (IMPRESSIONS, _set("day", -3), ["'day'", "[0, 29]", "-3"]),
    "a source user id": (IMPRESSIONS, _set("user_id", 0, row=4),
                         ["'user_id'", "ids listed in users.csv", "0 at row 4", "absent from users.csv"]),
    "purchase without add_to_cart": (IMPRESSIONS, _set("purchase", 1, where=CLICK_NO_CART),
                                     ["purchase = 1 where add_to_cart = 0"]),
    "impression id of the source": (IMPRESSIONS, _set("impression_id", 0, row=1),
                                    ["'impression_id'", "[20000, 29999]"]),
    "user id of the source in users.csv": (USERS, _set("user_id", 0, row=1), [USERS, "'user_id'", "[300, 499]"]),
    "price = 'abc'": (ITEMS, _set("price", "abc"), [ITEMS, "'price'", "'abc'"]),
    "p_purchase_as_source = -0.1": (ORACLE, _set("p_purchase_as_source", -0.1),
                                    [ORACLE, "'p_purchase_as_source'", "[0, 1]"]),
}


@pytest.mark.parametrize("case", list(TARGET_CASES))
def test_load_target_refuses_values_the_simulator_never_writes(saved_target, tmp_path, case):
    filename, change, fragments = TARGET_CASES[case]
    folder = _broken(saved_target, tmp_path, filename, change)
    with pytest.raises(ValueError) as info:
        D.load_target(folder)
    _assert_names(info, f"dataset file {filename}", *fragments)


def test_a_valid_saved_shop_still_loads_unchanged(small, saved):
    loaded = D.load_shop(saved)
    pd.testing.assert_frame_equal(loaded.impressions, small.impressions, check_exact=False, rtol=1e-9)


# --------------------------------------------------------------------------- 2. empty tables
def test_encoder_fit_on_an_empty_table(small):
    table = D.join_features(small)
    with pytest.raises(ValueError, match=r"train has no rows: fit needs training rows \(e\.g\. split\.train\)"):
        D.FeatureEncoder(small).fit(table.iloc[:0])


def test_popularity_scores_without_labelled_training_rows(small):
    table = D.join_features(small)
    with pytest.raises(ValueError, match=r"train has no rows that carry the label of task 'click' \(0 rows given"):
        popularity_scores(table.iloc[:0], table, "click")
    never_bought = table[table["purchase"] == 0].head(50)
    with pytest.raises(ValueError, match=r"the label of task 'rating' \(50 rows given; the label exists on rows "
                                         r"with purchase = 1\)"):
        popularity_scores(never_bought, table, "rating")


# --------------------------------------------------------------------------- 3. a task name as a string
def test_a_single_task_name_is_one_task_not_its_letters(small):
    table = D.join_features(small)
    encoder = D.FeatureEncoder(small).fit(table)
    one = encoder.transform(table, tasks="click")
    assert set(one.labels) == {"click"} and set(one.masks) == {"click"}
    np.testing.assert_array_equal(one.labels["click"], encoder.transform(table, ["click"]).labels["click"])
    split = D.chronological_split(table)
    assert M.oracle_scores(small, split.test, "purchase") == M.oracle_scores(small, split.test, ["purchase"])
    with pytest.raises(ValueError, match="tasks: unknown task 'clicks'; known tasks: click"):
        encoder.transform(table, tasks="clicks")
    with pytest.raises(ValueError, match=r"tasks names a task more than once: \['click'\]"):
        encoder.transform(table, tasks=["click", "click"])
    with pytest.raises(ValueError, match="tasks must name at least one task; known tasks"):
        M.oracle_scores(small, split.test, [])


# --------------------------------------------------------------------------- 4. chronological_split
def test_split_of_an_empty_table(small):
    with pytest.raises(ValueError, match="table has no rows: chronological_split needs rows"):
        D.chronological_split(small.impressions.iloc[:0])


def test_split_with_bad_days(small):
    table = small.impressions.copy()
    table["day"] = table["day"].astype(float)
    table.loc[3, "day"] = np.nan
    with pytest.raises(ValueError, match=r"'day' column must hold whole numbers ≥ 0"):
        D.chronological_split(table)
    with pytest.raises(ValueError, match=r"table must be a pandas DataFrame"):
        D.chronological_split(table.to_numpy())


@pytest.mark.parametrize("kwargs, message", [
    ({"valid_days": True}, r"valid_days must be an integer ≥ 1 \(a number of days\), got True"),
    ({"valid_days": 4.0}, r"valid_days must be an integer ≥ 1 \(a number of days\), got 4\.0"),
    ({"test_days": 0}, r"test_days must be an integer ≥ 1 \(a number of days\), got 0"),
    ({"test_days": "5"}, r"test_days must be an integer ≥ 1 \(a number of days\), got '5'"),
    ({"valid_days": 25, "test_days": 5},
     r"valid_days \+ test_days = 25 \+ 5 must be less than the log's 30 days \(days 0–29\)"),
])
def test_split_with_bad_sizes(small, kwargs, message):
    with pytest.raises(ValueError, match=message):
        D.chronological_split(small.impressions, **kwargs)


# --------------------------------------------------------------------------- 5. integer knobs
@pytest.mark.parametrize("knob", ["n_users", "n_items", "n_impressions", "n_days", "n_categories", "seed"])
def test_shop_integer_knobs_refuse_floats(knob):
    value = float(getattr(D.ShopConfig(), knob))
    with pytest.raises(ValueError, match=rf"^{knob} must be an integer \(int, not float\) in \[") as info:
        D.ShopConfig(**{knob: value})
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("knob", ["n_users", "n_impressions", "seed"])
def test_target_integer_knobs_refuse_floats(knob):
    with pytest.raises(ValueError, match=rf"^{knob} must be an integer \(int, not float\) in \["):
        D.TargetConfig(**{knob: float(getattr(D.TargetConfig(), knob))}, source=SMALL)


def test_bools_are_not_knobs():
    with pytest.raises(ValueError, match=r"n_days must be an integer in \[7, 365\], got True"):
        D.ShopConfig(n_days=True)
    with pytest.raises(ValueError, match=r"noise must be a number in \[0\.0, 3\.0\], got np\.False_|noise must be a number"):
        D.ShopConfig(noise=np.bool_(False))


def test_numpy_knobs_are_stored_as_python_numbers(tmp_path):
    config = D.ShopConfig(n_users=np.int64(300), n_items=np.int32(120), n_impressions=20_000, noise=np.float32(0.5))
    assert type(config.n_users) is int and type(config.noise) is float
    assert config == D.ShopConfig(n_users=300, n_items=120, n_impressions=20_000, noise=0.5)
    json.dumps(config.__dict__)  # serialisable, so save_shop can write config.json


# --------------------------------------------------------------------------- 6. get_task
@pytest.mark.parametrize("name", [["click"], ("click",), None, 3])
def test_get_task_with_a_non_string(name):
    with pytest.raises(ValueError, match=r"task must be one task name \(a string\), got .*; known tasks: click, "
                                         r"add_to_cart, purchase"):
        D.get_task(name)


def test_task_mask_with_a_list(small):
    with pytest.raises(ValueError, match=r"task must be one task name \(a string\), got \['click'\]"):
        D.task_mask(small.impressions, ["click"])


# --------------------------------------------------------------------------- 7. infinite values in metrics
@pytest.mark.parametrize("task, y, p, message", [
    ("click", [0, np.inf], [0.5, 0.5], r"y_true for task 'click' has ±inf on 1 row: labels must be finite"),
    ("rating", [1.0, -np.inf, 3.0], [1.0, 2.0, 3.0], r"y_true for task 'rating' has ±inf on 1 row"),
    ("rating", [1.0, 2.0], [np.inf, 2.0], r"y_pred for task 'rating' has ±inf on 1 row carrying a label"),
    ("dwell", [1.0, 2.0], [1.0, -np.inf], r"y_pred for task 'dwell' has ±inf on 1 row"),
    ("click", [0, 1], [0.5, np.inf], r"y_pred for task 'click' has ±inf"),
])
def test_task_metrics_refuses_inf(task, y, p, message):
    with pytest.raises(ValueError, match=message):
        M.task_metrics(task, np.array(y, dtype=float), np.array(p, dtype=float))


def test_task_metrics_refuses_inf_in_class_probabilities_and_ignores_unlabelled_rows():
    p = np.array([[0.5, 0.5], [np.inf, 0.0]])
    with pytest.raises(ValueError, match=r"y_pred for task 'next_category' has ±inf on 1 row"):
        M.task_metrics("next_category", np.array([0.0, 1.0]), p)
    # an inf prediction on a row without a label is left out like the row itself
    out = M.task_metrics("rating", np.array([1.0, np.nan, 3.0]), np.array([1.0, np.inf, 3.0]))
    assert out["n"] == 2 and out["rmse"] == 0.0


# --------------------------------------------------------------------------- 8. plots.funnel
@pytest.mark.parametrize("counts, message", [
    ({"impressions": 100, "clicks": 0}, r"counts must be finite numbers > 0 .*got \{'clicks': 0\}"),
    ({"impressions": 100, "clicks": float("nan")}, r"counts must be finite numbers > 0 .*got \{'clicks': nan\}"),
    ({"impressions": np.float64(np.inf), "clicks": 5}, r"got \{'impressions': inf\}"),
    ({"impressions": 100, "clicks": -5}, r"got \{'clicks': -5\}"),
    ({"impressions": 100, "clicks": "5"}, r"got \{'clicks': '5'\}"),
    ({"impressions": 100, "clicks": True}, r"got \{'clicks': True\}"),
    ({"impressions": 10, "clicks": 20}, r"counts must be non-increasing along the funnel"),
    ({"impressions": 10}, r"counts must name at least two funnel steps"),
    ([100, 10], r"counts must be a mapping step name → count \(a dict or a pandas Series\), got list"),
])
def test_funnel_refuses_bad_counts(counts, message):
    with pytest.raises(ValueError, match=message):
        plots.funnel(counts)
    plt.close("all")


def test_funnel_draws_numpy_counts_and_a_series():
    ax = plots.funnel(pd.Series({"impressions": np.int64(1000), "clicks": np.int64(30), "purchases": np.int64(2)}))
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "impressions", "clicks\n3.0% of impressions", "purchases\n6.7% of clicks"]
    assert ax.get_xlim() == pytest.approx((2 / 3, 3000))  # no empty half: a third of the least, 3 × the most
    plt.close("all")


# --------------------------------------------------------------------------- 9. nothing is lost
def _temp_files(folder: pathlib.Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.tmp"))


def test_an_interrupted_save_leaves_every_old_file_intact(small, saved, tmp_path, monkeypatch):
    folder = tmp_path / "data"
    shutil.copytree(saved, folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    other = D.simulate_shop(D.ShopConfig(n_users=300, n_items=120, n_impressions=20_000, seed=7))
    real_write_bytes = pathlib.Path.write_bytes

    def cut_short(self, data):  # the process dies half-way through the first file it writes
        real_write_bytes(self, data[: len(data) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(pathlib.Path, "write_bytes", cut_short)
    with pytest.raises(KeyboardInterrupt):
        D.save_shop(other, folder, overwrite=True)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert _temp_files(folder) == []
    D.load_shop(folder)


def test_an_interrupted_card_update_keeps_the_hand_written_card(small, tmp_path, monkeypatch):
    card = tmp_path / D.CARD_FILE
    start, end = D._CARD_MARKERS["source"]
    text = f"# Data card\n\nHand-written text.\n\n{start}\nold figures\n{end}\n\nMore text.\n"
    card.write_text(text, encoding="utf-8")
    real_write_text = pathlib.Path.write_text

    def cut_short(self, data, *args, **kwargs):
        real_write_text(self, data[:10], *args, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(pathlib.Path, "write_text", cut_short)
    with pytest.raises(OSError, match="disk full"):
        D.update_card(small, card)
    monkeypatch.undo()
    assert card.read_text(encoding="utf-8") == text and _temp_files(tmp_path) == []
    D.update_card(small, card)  # and a full update replaces only the measured block
    new = card.read_text(encoding="utf-8")
    assert new.startswith("# Data card\n\nHand-written text.\n") and new.endswith(f"{end}\n\nMore text.\n")
    assert D.card_figures_markdown(small) in new


def test_save_writes_through_a_temporary_file_in_the_same_folder(small, tmp_path, monkeypatch):
    replaced = []
    real_replace = os.replace

    def spy(src, dst):
        replaced.append((pathlib.Path(src), pathlib.Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    paths = D.save_shop(small, tmp_path / "data")
    assert sorted(dst.name for _, dst in replaced) == sorted(p.name for p in paths)
    assert all(src.parent == dst.parent and src != dst for src, dst in replaced)


# --------------------------------------------------------------------------- 10. save_shop needs a folder
def test_save_shop_needs_a_folder(small):
    with pytest.raises(TypeError, match="directory"):
        D.save_shop(small)  # no default: the course's datasets/ is never written by accident
    with pytest.raises(ValueError, match=r"directory must be a folder path \(str or Path\), got NoneType"):
        D.save_shop(small, None)


def test_save_shop_refuses_existing_files_unless_overwrite(small, saved, tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(saved, folder)
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    other = D.simulate_shop(D.ShopConfig(n_users=300, n_items=120, n_impressions=20_000, seed=7))
    with pytest.raises(FileExistsError, match=r"already holds dataset files \['config\.json', 'impressions\.csv\.gz', "
                                              r"'items\.csv', 'oracle\.csv\.gz', 'users\.csv'\]; pass overwrite=True"):
        D.save_shop(other, folder)
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before  # nothing written
    D.save_shop(other, folder, overwrite=True)
    assert D.load_shop(folder).config.seed == 7
    with pytest.raises(ValueError, match="is a file, not a folder"):
        D.save_shop(small, folder / D.CONFIG_FILE)


def test_save_shop_refuses_the_course_data_folder(small, saved, tmp_path, monkeypatch):
    """The committed datasets/ is protected (checked on a stand-in, so a failure cannot harm the real one)."""
    course = tmp_path / "datasets"
    shutil.copytree(saved, course)
    monkeypatch.setattr(D, "DATA_DIR", course)
    monkeypatch.setattr(D, "TARGET_DIR", course / "target")
    with pytest.raises(FileExistsError, match=r"it is the course's committed dataset: `make data` regenerates it\); "
                                              r"pass overwrite=True"):
        D.save_shop(small, course)


def test_the_real_course_folder_is_recognised():
    assert D._is_course_data(D.DATA_DIR) and D._is_course_data(D.TARGET_DIR)
    assert D._is_course_data(D.DATA_DIR / ".." / D.DATA_DIR.name)
    assert not D._is_course_data(D.DATA_DIR.parent)
