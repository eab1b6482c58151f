from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl_lessons.baselines import popularity_scores


def _table():
    return pd.DataFrame({"item_id": [0, 0, 0, 1, 2, 2], "click": [1, 1, 0, 0, 1, 0],
                         "purchase": [1, 0, 0, 0, 0, 0], "rating": [4.0, np.nan, np.nan, np.nan, np.nan, np.nan]})


def test_smoothed_rate_by_hand():
    train = _table()
    rows = pd.DataFrame({"item_id": [0, 1, 7]})
    overall = 3 / 6
    expected = [(2 + 2 * overall) / (3 + 2), (0 + 2 * overall) / (1 + 2), overall]
    np.testing.assert_allclose(popularity_scores(train, rows, "click", smoothing=2), expected)
    np.testing.assert_allclose(popularity_scores(train, rows, "click", smoothing=0)[:2], [2 / 3, 0.0])


def test_regression_task_uses_only_labelled_rows():
    train = _table()
    # rating exists only on purchased rows: the single rating 4.0 is the mean, not diluted by NaN rows
    np.testing.assert_allclose(popularity_scores(train, pd.DataFrame({"item_id": [0, 1]}), "rating", 1), [4.0, 4.0])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="multi-class"):
        popularity_scores(_table(), _table(), "next_category")
    with pytest.raises(ValueError, match="smoothing"):
        popularity_scores(_table(), _table(), "click", smoothing=-1)
    with pytest.raises(ValueError, match="unknown task"):
        popularity_scores(_table(), _table(), "clicks")
