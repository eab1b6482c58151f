"""Ready ``TableSchema``s of three public multi-task data sets, and synthetic files in their layouts.

The course ships none of these data sets (their licences are their owners'); get them from:

* **Ali-CCP** (Alibaba Click and Conversion Prediction; the ESMM paper's data, 84 M impressions):
  Tianchi data set 408, https://tianchi.aliyun.com/dataset/408. The schema is the usual CSV made from
  its raw files (e.g. by Torch-RecHub's preprocessing): ``click``, ``purchase``, 23 sparse fields
  named by their feature-field ids, and 8 dense ones (``D`` + field id).
* **AliExpress** (the cross-country search log of the AITM / MTReclib papers; one folder per country):
  Tianchi data set 74690, https://tianchi.aliyun.com/dataset/74690. Each ``train.csv`` / ``test.csv``
  has ``search_id``, ``categorical_1``–``categorical_16``, ``numerical_1``–``numerical_63``, ``click``,
  ``conversion``.
* **Census-Income (KDD)**, as in the MMoE paper (Ma et al. 2018, §5.2): UCI Machine Learning
  Repository data set 117, https://archive.ics.uci.edu/dataset/117. ``census-income.data`` and
  ``census-income.test`` have no header row: ``column_names`` below gives the 42 columns in order.
  Task 1: income above 50K; task 2: never married. The marital-status column is the second task's
  label, so it is not a feature; ``instance_weight`` is a sampling weight, not a feature.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
from scipy.special import expit

from ..atomic import atomic_write
from .tables import LabelColumn, TableSchema

_ALI_CCP_SPARSE = ("101", "121", "122", "124", "125", "126", "127", "128", "129", "205", "206", "207", "210",
                   "216", "508", "509", "702", "853", "301", "109_14", "110_14", "127_14", "150_14")
_ALI_CCP_DENSE = ("D109_14", "D110_14", "D127_14", "D150_14", "D508", "D509", "D702", "D853")

ALI_CCP = TableSchema(
    name="ali_ccp",
    labels=(LabelColumn("click", "click"), LabelColumn("purchase", "purchase")),
    categorical=_ALI_CCP_SPARSE, numeric=_ALI_CCP_DENSE, funnel=("click", "purchase"))

ALIEXPRESS = TableSchema(
    name="aliexpress",
    labels=(LabelColumn("click", "click"), LabelColumn("conversion", "conversion")),
    categorical=tuple(f"categorical_{i}" for i in range(1, 17)),
    numeric=tuple(f"numerical_{i}" for i in range(1, 64)),
    funnel=("click", "conversion"), ignore=("search_id",))

_CENSUS_COLUMNS = (
    "age", "class_of_worker", "detailed_industry_recode", "detailed_occupation_recode", "education",
    "wage_per_hour", "enroll_in_edu_inst_last_wk", "marital_stat", "major_industry_code",
    "major_occupation_code", "race", "hispanic_origin", "sex", "member_of_a_labor_union",
    "reason_for_unemployment", "full_or_part_time_employment_stat", "capital_gains", "capital_losses",
    "dividends_from_stocks", "tax_filer_stat", "region_of_previous_residence", "state_of_previous_residence",
    "detailed_household_and_family_stat", "detailed_household_summary_in_household", "instance_weight",
    "migration_code_change_in_msa", "migration_code_change_in_reg", "migration_code_move_within_reg",
    "live_in_this_house_1_year_ago", "migration_prev_res_in_sunbelt", "num_persons_worked_for_employer",
    "family_members_under_18", "country_of_birth_father", "country_of_birth_mother", "country_of_birth_self",
    "citizenship", "own_business_or_self_employed", "fill_inc_questionnaire_for_veterans_admin",
    "veterans_benefits", "weeks_worked_in_year", "year", "income")
_CENSUS_NUMERIC = ("age", "wage_per_hour", "capital_gains", "capital_losses", "dividends_from_stocks",
                   "num_persons_worked_for_employer", "weeks_worked_in_year")
MARITAL_STATUSES = ("Never married", "Married-civilian spouse present", "Married-spouse absent",
                    "Married-A F spouse present", "Separated", "Divorced", "Widowed")
"""The values of Census-Income's marital-status column."""

CENSUS_INCOME = TableSchema(
    name="census_income",
    labels=(LabelColumn("income_50k", "income", positive="50000+.", negative=("- 50000.",)),
            LabelColumn("never_married", "marital_stat", positive="Never married", negative=MARITAL_STATUSES[1:])),
    categorical=tuple(c for c in _CENSUS_COLUMNS
                      if c not in (*_CENSUS_NUMERIC, "instance_weight", "marital_stat", "income")),
    numeric=_CENSUS_NUMERIC, column_names=_CENSUS_COLUMNS, ignore=("instance_weight",))

SCHEMAS: dict[str, TableSchema] = {s.name: s for s in (ALI_CCP, ALIEXPRESS, CENSUS_INCOME)}
"""The ready schemas by name."""


def example_table(schema: TableSchema, n_rows: int = 2_000, seed: int = 0, n_values: int = 20) -> pd.DataFrame:
    """A synthetic table in ``schema``'s exact layout (columns, value types, label domains, funnel).

    The labels follow a known logistic model of the features (a random effect per categorical value
    and a weight per numeric column), so a model can learn them; funnel stages nest. It is for trying
    the loader and the models, not a stand-in for the real data's statistics.

    Args:
        schema: the layout to write.
        n_rows: rows (≥ 10).
        seed: the random seed.
        n_values: distinct values per categorical column (≥ 2).
    """
    if not isinstance(schema, TableSchema):
        raise ValueError(f"schema must be a TableSchema, got {type(schema).__name__}")
    for name, value, low in (("n_rows", n_rows, 10), ("n_values", n_values, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer ≥ {low}, got {value!r}")
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    score = np.zeros(n_rows)
    for column in schema.categorical:
        ids = rng.integers(0, n_values, n_rows)
        score += rng.normal(0, 0.6, n_values)[ids] / np.sqrt(len(schema.categorical) / 4)
        columns[column] = ids if schema.name != "census_income" else np.array([f"{column}_{i}" for i in ids])
    for column in schema.numeric:
        values = rng.normal(0, 1, n_rows)
        score += rng.normal(0, 0.5) * values / np.sqrt(max(len(schema.numeric), 1) / 4)
        columns[column] = np.round(values, 4)
    previous = None
    for x in schema.labels:
        own = score + rng.normal(0, 0.5, n_rows)
        if x.kind == "binary":
            positive = rng.random(n_rows) < expit(own - 1.0)
            if previous is not None and x.task in schema.funnel:
                positive &= previous
            previous = positive if x.task in schema.funnel else previous
            if x.positive is not None:
                columns[x.column] = np.where(positive, x.positive, rng.choice(np.array(x.negative), n_rows))
            else:
                columns[x.column] = positive.astype(np.int64)
        elif x.kind == "multiclass":
            classes = np.array(x.classes or ("a", "b", "c"))
            columns[x.column] = classes[np.digitize(own, np.quantile(own, np.linspace(0, 1, len(classes) + 1)[1:-1]))]
        else:
            columns[x.column] = np.round(own, 4)
    for column in schema.ignore:
        columns[column] = rng.integers(0, 1000, n_rows)
    if schema.time:
        columns[schema.time] = np.sort(rng.integers(0, 30, n_rows))
    order = schema.column_names or tuple(columns)
    return pd.DataFrame({c: columns[c] for c in order})


def write_example_table(schema: TableSchema, path: str | os.PathLike, n_rows: int = 2_000, seed: int = 0, *,
                        overwrite: bool = False) -> None:
    """Write ``example_table(schema, n_rows, seed)`` to ``path`` (.csv or .parquet), atomically.

    A schema with ``column_names`` (Census-Income) is written without a header row, like the real file.

    Raises:
        ValueError: another suffix. FileExistsError: ``path`` exists and ``overwrite`` is False.
    """
    table = example_table(schema, n_rows, seed)
    name = os.fspath(path).lower()
    if name.endswith(".csv"):
        header = schema.column_names is None
        atomic_write(path, lambda tmp: table.to_csv(tmp, index=False, header=header), overwrite=overwrite)
    elif name.endswith(".parquet"):
        atomic_write(path, lambda tmp: table.to_parquet(tmp, index=False), overwrite=overwrite)
    else:
        raise ValueError(f"path must end in .csv or .parquet, got {os.fspath(path)!r}")
