"""Bring your own data: ``data.load_table`` with a ``TableSchema``, the ready schemas, and bad files."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mtl_lessons import data, torch_mtl
from mtl_lessons.data import tasks as task_registry
from mtl_lessons.mtl_core import resolve_tasks

@pytest.fixture(autouse=True)
def fresh_task_registry(monkeypatch):
    """Each test registers its tasks in a registry of its own (the registry lives for a session)."""
    monkeypatch.setattr(task_registry, "USER_TASKS", {})


SMALL = data.TableSchema(
    name="small",
    labels=(data.LabelColumn("click", "clicked"),
            data.LabelColumn("order_value", "value", kind="regression", rows="click"),
            data.LabelColumn("mood", "mood", kind="multiclass")),
    categorical=("shop", "city"), numeric=("price",), funnel=(), time="ts")


def small_table() -> pd.DataFrame:
    """Ten rows whose encoding is computed by hand in the tests (ts 0..9; rows 0–7 train, 8 valid, 9 test)."""
    return pd.DataFrame({
        "ts": [9, 0, 1, 2, 3, 4, 5, 6, 7, 8],          # the first row is the latest: the split sorts by time
        "shop": ["z", "a", "b", "a", "b", "a", "c", "a", "b", "a"],
        "city": [1, 1, 1, 2, 2, 2, 1, 1, 2, 7],
        "price": [5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
        "clicked": [1, 0, 1, 1, 0, 1, 0, 1, 1, 0],
        "value": [3.5, None, 2.0, 4.0, None, 1.0, None, 3.0, 5.0, None],
        "mood": ["low", "high", "low", "mid", "mid", "low", "high", "low", "mid", "high"],
    })


def write(table: pd.DataFrame, path, **kwargs) -> str:
    if str(path).endswith(".parquet"):
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False, **kwargs)
    return str(path)


# --------------------------------------------------------------------------- encoding, by hand
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_small_file_is_encoded_as_computed_by_hand(tmp_path, suffix):
    path = write(small_table(), tmp_path / f"small{suffix}")
    loaded = data.load_table(path, SMALL, valid_fraction=0.1, test_fraction=0.1, min_count=1)
    # time order: ts 0..7 train (file rows 1..8), ts 8 valid (file row 9), ts 9 test (file row 0)
    assert (len(loaded.train), len(loaded.valid), len(loaded.test)) == (8, 1, 1)
    assert loaded.vocabularies == {"shop": ["a", "b", "c"], "city": ["1", "2"]}
    assert loaded.cardinalities == {"shop": 4, "city": 3}
    np.testing.assert_array_equal(loaded.train.categorical["shop"], [1, 2, 1, 2, 1, 3, 1, 2])
    np.testing.assert_array_equal(loaded.valid.categorical["city"], [0])  # city 7: never seen in training
    np.testing.assert_array_equal(loaded.test.categorical["shop"], [0])   # shop z: never seen in training
    prices = np.arange(1.0, 9.0)
    np.testing.assert_allclose(loaded.numeric_mean, [prices.mean()])
    np.testing.assert_allclose(loaded.train.numeric[:, 0], (prices - prices.mean()) / prices.std(), rtol=1e-6)
    np.testing.assert_allclose(loaded.test.numeric[:, 0], [(5.0 - prices.mean()) / prices.std()], rtol=1e-6)
    np.testing.assert_array_equal(loaded.train.labels["click"], [0, 1, 1, 0, 1, 0, 1, 1])
    # the order value exists only on clicked rows: masked elsewhere, never zero-filled
    np.testing.assert_array_equal(loaded.train.masks["order_value"], [False, True, True, False, True, False, True, True])
    np.testing.assert_array_equal(loaded.train.labels["order_value"][loaded.train.masks["order_value"]], [2, 4, 1, 3, 5])
    assert np.isnan(loaded.train.labels["order_value"][~loaded.train.masks["order_value"]]).all()
    # classes in sorted order: high 0, low 1, mid 2
    assert loaded.n_classes == {"mood": 3}
    np.testing.assert_array_equal(loaded.train.labels["mood"], [0, 1, 2, 2, 1, 0, 1, 2])
    assert loaded.unknown_share["test"]["shop"] == 1.0 and loaded.unknown_share["train"]["shop"] == 0.0
    assert loaded.tasks == ("click", "order_value", "mood")
    assert data.get_task("order_value").kind == "regression" and data.get_task("mood").rows == "all"


def test_min_count_gives_rare_values_the_unknown_id(tmp_path):
    loaded = data.load_table(write(small_table(), tmp_path / "small.csv"), SMALL, min_count=3)
    assert loaded.vocabularies["shop"] == ["a", "b"]  # c occurs once in training
    np.testing.assert_array_equal(loaded.train.categorical["shop"], [1, 2, 1, 2, 1, 0, 1, 2])


def test_timestamps_are_never_split_and_dates_are_understood(tmp_path):
    table = pd.DataFrame({"day": ["2026-01-01"] * 6 + ["2026-01-02"] * 2 + ["2026-01-03"] * 2,
                          "item": list("abcdeabcde"), "x": np.arange(10.0), "y": [0, 1] * 5})
    schema = data.TableSchema("dated", (data.LabelColumn("y_task", "y"),), ("item",), ("x",), time="day")
    loaded = data.load_table(write(table, tmp_path / "d.csv"), schema, valid_fraction=0.25, test_fraction=0.25)
    # 50% of 10 rows would cut inside day 1 (rows 0-5): the cut moves to the nearer end of the day
    assert (len(loaded.train), len(loaded.valid), len(loaded.test)) == (6, 2, 2)
    no_time = data.TableSchema("no_time", (data.LabelColumn("y_task", "y"),), ("item",), ("x",), ignore=("day",))
    loaded = data.load_table(write(table, tmp_path / "d.csv"), no_time, valid_fraction=0.3, test_fraction=0.2)
    assert (len(loaded.train), len(loaded.valid), len(loaded.test)) == (5, 3, 2)  # the file's order
    np.testing.assert_allclose(loaded.test.numeric[:, 0] * loaded.numeric_std + loaded.numeric_mean, [8, 9], rtol=1e-6)


def test_a_data_sets_own_test_file_is_the_test_split(tmp_path):
    train = write(small_table(), tmp_path / "train.csv")
    test = write(small_table().iloc[:3], tmp_path / "test.csv")
    loaded = data.load_table(train, SMALL, test_path=test, valid_fraction=0.2)
    assert (len(loaded.train), len(loaded.valid), len(loaded.test)) == (8, 2, 3)


# --------------------------------------------------------------------------- the ready schemas
@pytest.mark.parametrize("name", sorted(data.SCHEMAS))
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_each_ready_schema_loads_a_file_in_its_exact_layout(tmp_path, name, suffix):
    schema = data.SCHEMAS[name]
    path = tmp_path / f"{name}{suffix}"
    data.write_example_table(schema, path, n_rows=500, seed=3)
    if suffix == ".csv":
        first_line = path.read_text().splitlines()[0].split(",")
        if schema.column_names is None:
            assert first_line == list(data.example_table(schema, 10).columns)
        else:  # Census-Income: no header row, 42 columns
            assert len(first_line) == 42 and first_line[-1] in ("50000+.", "- 50000.")
    loaded = data.load_table(path, schema)
    assert (len(loaded.train), len(loaded.valid), len(loaded.test)) == (400, 50, 50)
    assert loaded.n_numeric == len(schema.numeric) and list(loaded.cardinalities) == list(schema.categorical)
    for split in (loaded.train, loaded.valid, loaded.test):
        for task in schema.tasks:
            assert np.isin(split.labels[task][split.masks[task]], (0.0, 1.0)).all()
        if schema.funnel:
            first, second = schema.funnel
            assert not ((split.labels[second] == 1) & (split.labels[first] == 0)).any()
    assert resolve_tasks(schema.tasks) == schema.tasks


def test_the_ready_schemas_match_the_public_layouts():
    ali_ccp, aliexpress, census = data.ALI_CCP, data.ALIEXPRESS, data.CENSUS_INCOME
    assert ali_ccp.tasks == ("click", "purchase") and len(ali_ccp.categorical) == 23 and len(ali_ccp.numeric) == 8
    assert all(f"D{c}" in ali_ccp.numeric for c in ("109_14", "110_14", "127_14", "150_14", "508", "509", "702", "853"))
    assert aliexpress.categorical == tuple(f"categorical_{i}" for i in range(1, 17))
    assert aliexpress.numeric == tuple(f"numerical_{i}" for i in range(1, 64))
    assert aliexpress.tasks == ("click", "conversion") and aliexpress.ignore == ("search_id",)
    assert len(census.column_names) == 42 and census.tasks == ("income_50k", "never_married")
    features = (*census.categorical, *census.numeric)
    assert "marital_stat" not in features and "income" not in features and "instance_weight" not in features
    assert len(features) == 42 - 3


@pytest.mark.parametrize("name", sorted(data.SCHEMAS))
def test_a_shared_bottom_model_trains_on_each_schemas_tasks(tmp_path, name):
    schema = data.SCHEMAS[name]
    path = tmp_path / f"{name}.parquet"
    data.write_example_table(schema, path, n_rows=3_000, seed=0)
    loaded = data.load_table(path, schema)
    model = torch_mtl.SharedBottomModel(loaded.cardinalities, loaded.n_numeric, loaded.tasks, bottom=(16,), seed=0)
    history = torch_mtl.train(model, loaded.train, loaded.valid, loaded.tasks, monitor=(loaded.tasks[-1], "auc"),
                              epochs=2, batch_size=512, seed=0)
    assert len(history) == 2
    predictions = torch_mtl.predict(model, loaded.test, loaded.tasks)
    assert all(((p >= 0) & (p <= 1)).all() for p in predictions.values())


def test_a_schema_round_trips_through_json(tmp_path):
    for schema in (*data.SCHEMAS.values(), SMALL):
        path = tmp_path / f"{schema.name}.json"
        path.write_text(json.dumps(schema.to_dict()))
        assert data.TableSchema.from_json(path) == schema


# --------------------------------------------------------------------------- bad files: clear errors
BAD_FILES = {
    "a missing column": (lambda t: t.drop(columns="price"), "lacks the columns ['price']"),
    "an unknown column": (lambda t: t.assign(extra=1), "has columns ['extra'] that schema 'small' does not mention"),
    "text in a numeric feature": (lambda t: t.assign(price=["1.5", "cheap"] + ["2"] * 8),
                                  "numeric column 'price' has missing, non-numeric or infinite values on 1 rows (first: data row 1, counting from 0)"),
    "NaN in a numeric feature": (lambda t: t.assign(price=[1.0, np.nan, np.nan] + [2.0] * 7),
                                 "numeric column 'price' has missing, non-numeric or infinite values on 2 rows (first: data row 1, counting from 0)"),
    "a binary label of 2": (lambda t: t.assign(clicked=[1, 2] + [0] * 8),
                            "binary label column 'clicked' (task 'click') has values ['2'] on 1 rows (first: data row 1, counting from 0); expected 0 or 1"),
    "a missing binary label": (lambda t: t.assign(clicked=[1, None] + [0] * 8),
                               "label column 'clicked' (task 'click') is missing on 1 rows (first: data row 1, counting from 0)"),
    "a missing gated label": (lambda t: t.assign(value=[None] + [1.0] * 9),
                              "label column 'value' (task 'order_value') is missing where 'click' is 1 on 1 rows (first: data row 0, counting from 0)"),
    "an empty categorical value": (lambda t: t.assign(shop=[None] + ["a"] * 9),
                                   "categorical column 'shop' is empty on 1 rows (first: data row 0, counting from 0)"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_is_refused_naming_the_column(tmp_path, case):
    change, message = BAD_FILES[case]
    path = write(change(small_table()), tmp_path / "bad.csv")
    with pytest.raises(ValueError) as error:
        data.load_table(path, SMALL)
    assert message in str(error.value)


def test_a_violated_funnel_is_refused_with_its_rows(tmp_path):
    table = data.example_table(data.ALI_CCP, 200, seed=0)
    table.loc[[5, 9], "click"] = 0
    table.loc[[5, 9], "purchase"] = 1
    path = write(table, tmp_path / "ali.csv")
    with pytest.raises(ValueError, match=r"the funnel click → purchase is violated: 2 rows \(first: data row 5, counting from 0\) have purchase=1 but click=0 \(columns 'purchase', 'click'\)"):
        data.load_table(path, data.ALI_CCP)


def test_text_labels_outside_their_values_are_refused(tmp_path):
    table = data.example_table(data.CENSUS_INCOME, 100, seed=0)
    table.loc[7, "income"] = "50000+"  # a typo: not silently a negative
    path = tmp_path / "census.csv"
    table.to_csv(path, index=False, header=False)
    with pytest.raises(ValueError, match=r"label column 'income' \(task 'income_50k'\) has values \['50000\+'\] on 1 rows \(first: data row 7, counting from 0\)"):
        data.load_table(path, data.CENSUS_INCOME)
    table.loc[7, "income"] = "50000+."
    table.loc[3, "marital_stat"] = "Engaged"
    table.to_csv(path, index=False, header=False)
    with pytest.raises(ValueError, match=r"'marital_stat' \(task 'never_married'\) has values \['Engaged'\]"):
        data.load_table(path, data.CENSUS_INCOME)


def test_a_multiclass_label_outside_its_classes_is_refused(tmp_path):
    schema = data.TableSchema("classes", (data.LabelColumn("mood", "mood", kind="multiclass", classes=("low", "high")),),
                              ("shop",), ("price",))
    table = small_table()[["shop", "price", "mood"]]
    with pytest.raises(ValueError, match=r"multiclass label column 'mood' \(task 'mood'\) has values \['mid'\]"):
        data.load_table(write(table, tmp_path / "m.csv"), schema)


@pytest.mark.parametrize("kwargs, message", [
    ({"valid_fraction": 0}, "valid_fraction must be a number in (0, 1), got 0"),
    ({"test_fraction": 1.5}, "test_fraction must be a number in (0, 1), got 1.5"),
    ({"valid_fraction": 0.5, "test_fraction": 0.5}, "valid_fraction + test_fraction must be < 1"),
    ({"min_count": 0}, "min_count must be an integer ≥ 1"),
    ({"valid_fraction": 0.01, "test_fraction": 0.01}, "the valid split has no rows"),
])
def test_bad_arguments_are_named(tmp_path, kwargs, message):
    path = write(small_table(), tmp_path / "small.csv")
    with pytest.raises(ValueError) as error:
        data.load_table(path, SMALL, **kwargs)
    assert message in str(error.value)


def test_bad_paths_and_schemas_are_named(tmp_path):
    with pytest.raises(ValueError, match="path: no file at"):
        data.load_table(tmp_path / "none.csv", SMALL)
    (tmp_path / "table.xlsx").write_text("x")
    with pytest.raises(ValueError, match=r"path: table.xlsx is not a .csv, .csv.gz, .parquet file"):
        data.load_table(tmp_path / "table.xlsx", SMALL)
    with pytest.raises(ValueError, match="test_path: no file at"):
        data.load_table(write(small_table(), tmp_path / "s.csv"), SMALL, test_path=tmp_path / "none.csv")
    with pytest.raises(ValueError, match="schema must be a TableSchema"):
        data.load_table(tmp_path / "s.csv", {"name": "x"})


@pytest.mark.parametrize("spec, message", [
    ({"labels": [{"task": "y", "column": "y"}], "categorical": ["y"]}, "a label column may not also be a feature"),
    ({"labels": [{"task": "y", "column": "y", "kind": "ordinal"}], "categorical": ["a"]}, "has kind 'ordinal'"),
    ({"labels": [{"task": "y-1", "column": "y"}], "categorical": ["a"]}, "task name 'y-1' must be a Python identifier"),
    ({"labels": [{"task": "y", "column": "y"}], "categorical": ["a b"]}, "feature column 'a b' must be named with letters"),
    ({"labels": [{"task": "y", "column": "y", "kind": "regression"}], "categorical": ["a"], "funnel": ["y"]},
     "funnel stage 'y' must be a binary task"),
    ({"labels": [{"task": "y", "column": "y", "rows": "z"}], "categorical": ["a"]}, "has rows='z'"),
    ({"labels": [{"task": "y", "column": "y", "positive": "yes", "negative": ["no"], "kind": "regression"}],
      "categorical": ["a"]}, "positive/negative apply to binary labels"),
    ({"labels": [{"task": "y", "column": "y", "positive": "yes"}], "categorical": ["a"]},
     "give positive (the value meaning 1) and negative (the values meaning 0) together"),
    ({"labels": [], "categorical": ["a"]}, "labels must be a non-empty list"),
    ({"labels": [{"task": "y", "column": "y"}], "categorical": "a"}, "categorical must be a list of column names"),
    ({"labels": [{"task": "y", "column": "y"}], "categorical": ["a"], "sparse": ["b"]}, "schema keys ['sparse'] are not understood"),
    ({"labels": [{"task": "y", "column": "y", "label": 1}], "categorical": ["a"]}, "label keys ['label'] are not understood"),
    ({"labels": [{"task": "y", "column": "y"}], "categorical": ["a"], "column_names": ["a"]}, "columns ['y'] are not in column_names"),
])
def test_bad_schemas_are_refused_naming_the_field(spec, message):
    with pytest.raises(ValueError) as error:
        data.TableSchema.from_dict({"name": "bad", **spec})
    assert message in str(error.value)


# --------------------------------------------------------------------------- the task registry
def test_registered_tasks_keep_one_definition(monkeypatch):
    monkeypatch.setattr(task_registry, "USER_TASKS", {})
    basket = data.Task("basket_size", "regression", "basket", "all", "basket size", oracle="")
    assert data.register_task(basket) is basket and data.get_task("basket_size") is basket
    data.register_task(basket)  # again, the same: a notebook re-run
    with pytest.raises(ValueError, match="task 'basket_size' is already registered"):
        data.register_task(data.Task("basket_size", "binary", "basket", "all", "basket size", oracle=""))
    with pytest.raises(ValueError, match="task name 'purchase' is a built-in task"):
        data.register_task(data.Task("purchase", "binary", "p", "all", "p", oracle=""))
    with pytest.raises(ValueError, match="kind must be 'binary', 'multiclass' or 'regression'"):
        data.register_task(data.Task("odd", "ranking", "p", "all", "p", oracle=""))
    assert "basket_size" in str(pytest.raises(ValueError, data.get_task, "nope").value)


def test_a_built_in_name_of_another_kind_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(task_registry, "USER_TASKS", {})
    schema = data.TableSchema("clash", (data.LabelColumn("rating", "stars"),), ("shop",))
    with pytest.raises(ValueError, match="task 'rating' is a built-in regression task"):
        schema.register_tasks()


def test_example_files_are_written_atomically_and_never_over_a_file(tmp_path):
    path = tmp_path / "ali.csv"
    data.write_example_table(data.ALI_CCP, path, n_rows=50)
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        data.write_example_table(data.ALI_CCP, path, n_rows=60)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["ali.csv"]
    data.write_example_table(data.ALI_CCP, path, n_rows=60, overwrite=True)
    assert len(pd.read_csv(path)) == 60
    with pytest.raises(ValueError, match="path must end in .csv or .parquet"):
        data.write_example_table(data.ALI_CCP, tmp_path / "ali.json")
    with pytest.raises(ValueError, match="n_rows must be an integer ≥ 10"):
        data.example_table(data.ALI_CCP, n_rows=5)
    pd.testing.assert_frame_equal(data.example_table(data.ALI_CCP, 30, seed=4), data.example_table(data.ALI_CCP, 30, seed=4))


def test_census_income_is_read_as_uci_writes_it(tmp_path):
    """census-income.data has no header and ", " between values ("73, Not in universe, ..., - 50000.")."""
    table = data.example_table(data.CENSUS_INCOME, 200, seed=2)
    lines = [", ".join(str(v) for v in row) for row in table.itertuples(index=False)]
    path = tmp_path / "census-income.data"
    path.write_text("\n".join(lines) + "\n")
    assert lines[0].count(", ") == 41
    loaded = data.load_table(path, data.CENSUS_INCOME)
    labels = np.concatenate([getattr(loaded, s).labels["income_50k"] for s in ("train", "valid", "test")])
    np.testing.assert_array_equal(labels, (table["income"] == "50000+.").to_numpy(dtype=float))
    married = np.concatenate([getattr(loaded, s).labels["never_married"] for s in ("train", "valid", "test")])
    np.testing.assert_array_equal(married, (table["marital_stat"] == "Never married").to_numpy(dtype=float))


# --------------------------------------------------------------------------- missing values, both formats
GATED = data.TableSchema(
    "gated", (data.LabelColumn("clk", "clk"),
              data.LabelColumn("buy", "buy", positive="yes", negative=("no",), rows="clk"),
              data.LabelColumn("mood", "mood", kind="multiclass", rows="clk")),
    ("c",), ("x",))


def gated_table() -> pd.DataFrame:
    return pd.DataFrame({"c": list("abab") * 3, "x": np.arange(12.0), "clk": [1, 0, 1, 1] * 3,
                         "buy": ["yes", None, "no", "no"] * 3, "mood": ["low", None, "high", "low"] * 3})


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_gated_text_labels_may_be_empty_off_their_rows(tmp_path, suffix):
    loaded = data.load_table(write(gated_table(), tmp_path / f"g{suffix}"), GATED, min_count=1)
    labels = np.concatenate([getattr(loaded, s).labels["buy"] for s in ("train", "valid", "test")])
    np.testing.assert_array_equal(np.isnan(labels), [False, True, False, False] * 3)
    assert loaded.n_classes == {"mood": 2}  # an empty cell is not a class
    table = gated_table()
    table.loc[2, "buy"] = None  # a clicked row without its label
    with pytest.raises(ValueError, match=r"label column 'buy' \(task 'buy'\) is missing where 'clk' is 1 on 1 rows"):
        data.load_table(write(table, tmp_path / f"g{suffix}"), GATED)
    table = gated_table()
    table.loc[1, "buy"] = "yes"  # a purchase on a row that was not clicked
    with pytest.raises(ValueError, match=r"label column 'buy' \(task 'buy'\) is 1 where 'clk' is 0 on 1 rows"):
        data.load_table(write(table, tmp_path / f"g{suffix}"), GATED)


@pytest.mark.parametrize("values", [["a", None] * 5, [7.0, np.nan] * 5, pd.array([1, None] * 5, dtype="Int64")])
def test_parquet_nulls_in_a_categorical_column_are_refused_like_csv_blanks(tmp_path, values):
    table = pd.DataFrame({"c": values, "x": np.arange(10.0), "y": [0, 1] * 5})
    schema = data.TableSchema("nulls", (data.LabelColumn("y_task", "y"),), ("c",), ("x",))
    with pytest.raises(ValueError, match=r"categorical column 'c' is empty on 5 rows \(first: data row 1"):
        data.load_table(write(table, tmp_path / "n.parquet"), schema)


def test_an_empty_time_value_is_refused(tmp_path):
    table = pd.DataFrame({"t": list(pd.date_range("2026-01-01", periods=9)) + [pd.NaT], "c": list("ab") * 5,
                          "x": np.arange(10.0), "y": [0, 1] * 5})
    schema = data.TableSchema("times", (data.LabelColumn("y_task", "y"),), ("c",), ("x",), time="t")
    with pytest.raises(ValueError, match=r"time column 't' is empty on 1 rows \(first: data row 9"):
        data.load_table(write(table, tmp_path / "t.parquet"), schema)


def test_whole_numbers_get_one_id_whatever_the_writer(tmp_path):
    schema = data.TableSchema("ids", (data.LabelColumn("y_task", "y"),), ("user",), ("x",))
    train = pd.DataFrame({"user": [7, 8] * 10, "x": np.arange(20.0), "y": [0, 1] * 10})
    test = pd.DataFrame({"user": ["7.0", "8.0", "007"], "x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    loaded = data.load_table(write(train, tmp_path / "a.csv"), schema, test_path=write(test, tmp_path / "b.csv"))
    np.testing.assert_array_equal(loaded.test.categorical["user"], [1, 2, 0])  # "007" is another value


def test_numeric_classes_keep_numeric_order(tmp_path):
    schema = data.TableSchema("levels", (data.LabelColumn("level", "level", kind="multiclass"),), ("c",))
    table = pd.DataFrame({"c": list("ab") * 6, "level": [1, 2, 10] * 4})
    loaded = data.load_table(write(table, tmp_path / "l.csv"), schema)
    assert loaded.n_classes == {"level": 3}
    np.testing.assert_array_equal(loaded.train.labels["level"][:3], [0, 1, 2])


@pytest.mark.parametrize("name, content", [("empty.csv", b""), ("empty.parquet", b""), ("utf16.csv", "a,b\n1,2\n".encode("utf-16"))])
def test_unreadable_files_are_named(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ValueError, match=f"path: {name} could not be read as a table"):
        data.load_table(tmp_path / name, SMALL)


def test_two_schemas_may_share_a_task_of_one_kind(tmp_path, monkeypatch):
    monkeypatch.setattr(task_registry, "USER_TASKS", {})
    first = data.TableSchema("first", (data.LabelColumn("order", "ordered"),), ("c",))
    second = data.TableSchema("second", (data.LabelColumn("order", "order_flag"),), ("c",))
    assert first.register_tasks() == second.register_tasks()
    clash = data.TableSchema("third", (data.LabelColumn("fresh", "f"), data.LabelColumn("order", "amount", kind="regression")), ("c",))
    with pytest.raises(ValueError, match="task 'order' is an already registered binary task"):
        data.load_table(tmp_path / "not_read.csv", clash)  # refused before the file is read
    assert "fresh" not in task_registry.USER_TASKS  # all or nothing


def test_a_repeated_header_is_named_as_written(tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("shop,city,price,clicked,value,mood,ts,shop\n" + "a,1,1.0,1,2.0,low,0,b\n" * 10)
    with pytest.raises(ValueError, match=r"path: twice.csv has the columns \['shop'\] more than once in its header"):
        data.load_table(path, SMALL)
