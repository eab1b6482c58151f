"""A log written as Parquet shards in chunks (``data.shards``) and read back as a stream."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mtl_lessons import data
from mtl_lessons.data import shards as S

CONFIG = data.ShopConfig(n_users=500, n_items=200, n_impressions=24_000, n_days=12)
TASKS = ("click", "add_to_cart", "purchase", "rating", "next_category")


@pytest.fixture(scope="module")
def shard_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shards")
    S.write_shards(folder, CONFIG, 4)
    return folder


def test_the_folder_holds_equal_chronological_shards(shard_dir):
    manifest = json.loads((shard_dir / "manifest.json").read_text())
    assert manifest["n_shards"] == 4 and manifest["rows_per_shard"] == 6_000
    assert manifest["days"] == [[0, 3], [3, 6], [6, 9], [9, 12]]
    for k, (first, last) in enumerate(manifest["days"]):
        shard = pd.read_parquet(shard_dir / S.shard_name(k))
        assert len(shard) == 6_000 and shard["day"].between(first, last - 1).all()
        assert (np.diff(shard["day"] * 24 + shard["hour"]) >= 0).all()  # in time order within a shard
        assert shard["impression_id"].tolist() == list(range(k * 6_000, (k + 1) * 6_000))
    assert sorted(p.name for p in shard_dir.iterdir()) == sorted(
        ["users.parquet", "items.parquet", "manifest.json", *(S.shard_name(k) for k in range(4))])


def test_the_entities_are_simulate_shops(shard_dir):
    shards = S.ShardSet.open(shard_dir)
    shop = data.simulate_shop(CONFIG)
    pd.testing.assert_frame_equal(shards.users, shop.users)
    pd.testing.assert_frame_equal(shards.items, shop.items, check_dtype=False)


def test_the_shards_share_one_generative_process(shard_dir):
    """Labels follow the funnel, and the purchase rate is the config's on every shard (b3 solved once)."""
    rates = []
    for k in range(4):
        shard = pd.read_parquet(shard_dir / S.shard_name(k))
        assert (shard["add_to_cart"] <= shard["click"]).all() and (shard["purchase"] <= shard["add_to_cart"]).all()
        rates.append(shard["purchase"].mean())
    assert abs(np.mean(rates) - CONFIG.purchase_rate) < 0.004, rates


def test_streamed_and_in_memory_inputs_are_identical(shard_dir):
    shards = S.ShardSet.open(shard_dir)
    encoder = shards.encoder([0, 1, 2])
    whole = shards.load_inputs([0, 1, 2], encoder, TASKS)
    batches = list(shards.stream([0, 1, 2], encoder, TASKS, batch_rows=2_500))
    assert [len(b) for b in batches] == [2_500, 2_500, 1_000] * 3  # a shard's last batch is shorter
    streamed = S.concat_inputs(batches)
    for name in whole.categorical:
        np.testing.assert_array_equal(streamed.categorical[name], whole.categorical[name])
    np.testing.assert_array_equal(streamed.numeric, whole.numeric)
    for task in TASKS:
        np.testing.assert_array_equal(streamed.labels[task], whole.labels[task])
        np.testing.assert_array_equal(streamed.masks[task], whole.masks[task])


def test_stream_batches_are_exact_whatever_the_row_groups(tmp_path, shard_dir):
    """Parquet's reader stops a batch at each row-group end; the stream regroups to exactly batch_rows."""
    import shutil

    import pyarrow.parquet as pq

    folder = tmp_path / "small_row_groups"
    shutil.copytree(shard_dir, folder)
    path = folder / S.shard_name(0)
    pq.write_table(pq.read_table(path), path, row_group_size=700)  # 6,000 rows: 8 groups of 700, one of 400
    shards = S.ShardSet.open(folder)
    assert pq.ParquetFile(path).metadata.num_row_groups == 9
    encoder = shards.encoder([0])
    batches = list(shards.stream([0, 1], encoder, TASKS, batch_rows=1_000))
    assert [len(b) for b in batches] == [1_000] * 12
    whole = shards.load_inputs([0, 1], encoder, TASKS)
    streamed = S.concat_inputs(batches)
    np.testing.assert_array_equal(streamed.categorical["user_id"], whole.categorical["user_id"])
    np.testing.assert_array_equal(streamed.numeric, whole.numeric)
    assert [len(b) for b in shards.stream([0], encoder, TASKS, batch_rows=1_300)] == [1_300] * 4 + [800]


def test_the_streamed_statistics_equal_fit_on_the_whole_table(shard_dir):
    shards = S.ShardSet.open(shard_dir)
    streamed = shards.encoder([0, 1, 2])
    table = shards._canonical(pd.concat([pd.read_parquet(p) for p in shards.paths([0, 1, 2])], ignore_index=True))
    fitted = data.FeatureEncoder(data.Shop(shards.users, shards.items, pd.DataFrame(), pd.DataFrame(), CONFIG)).fit(table)
    np.testing.assert_allclose(streamed.mean_, fitted.mean_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(streamed.std_, fitted.std_, rtol=1e-10)


def test_rank_shards_deal_the_training_shards_round_robin():
    assert S.rank_shards([0, 1, 2, 3, 4, 5], 0, 2) == [0, 2, 4]
    assert S.rank_shards([0, 1, 2, 3, 4, 5], 1, 2) == [1, 3, 5]


def test_shard_list_reads_a_command_lines_shard_numbers():
    assert S.shard_list("0,1, 2") == [0, 1, 2] and S.shard_list("") == []
    with pytest.raises(ValueError, match="comma-separated integers such as 0,1,2, got '0;1'"):
        S.shard_list("0;1")


def test_a_run_folder_is_never_overwritten_unless_asked(tmp_path):
    weights, report = {"w": np.arange(3.0)}, {"steps": 1}
    S.write_run(tmp_path / "run", weights, report)
    with pytest.raises(FileExistsError, match=r"out run/ already holds \['weights.npz', 'report.json'\]"):
        S.write_run(tmp_path / "run", {"w": np.zeros(3)}, {"steps": 2})
    with np.load(tmp_path / "run" / "weights.npz") as kept:
        np.testing.assert_array_equal(kept["w"], np.arange(3.0))
    S.write_run(tmp_path / "run", {"w": np.zeros(3)}, {"steps": 2}, overwrite=True)
    assert json.loads((tmp_path / "run" / "report.json").read_text()) == {"steps": 2}
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "report.json").write_text("{}")  # only one of the two files: still refused, nothing written
    with pytest.raises(FileExistsError):
        S.write_run(tmp_path / "other", weights, report)
    assert sorted(p.name for p in (tmp_path / "other").iterdir()) == ["report.json"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="exists and is not a folder"):
        S.check_run_folder(tmp_path / "file", overwrite=True)


def test_bad_arguments_are_named(tmp_path, shard_dir):
    with pytest.raises(ValueError, match="must be a multiple of n_shards"):
        S.write_shards(tmp_path / "a", data.ShopConfig(n_impressions=10_001), 2)
    with pytest.raises(ValueError, match=r"config.n_days \(7\) must be ≥ n_shards \(8\)"):
        S.write_shards(tmp_path / "a", data.ShopConfig(n_impressions=8_000, n_days=7), 8)
    with pytest.raises(ValueError, match="n_shards must be an integer ≥ 2"):
        S.write_shards(tmp_path / "a", CONFIG, 1)
    with pytest.raises(FileExistsError):
        S.write_shards(shard_dir, CONFIG, 4)
    with pytest.raises(ValueError, match="has no manifest.json"):
        S.ShardSet.open(tmp_path)
    shards = S.ShardSet.open(shard_dir)
    with pytest.raises(ValueError, match=r"shards must be shard numbers in \[0, 4\), got \[4\]"):
        shards.paths([4])
    with pytest.raises(ValueError, match="batch_rows must be an integer ≥ 1"):
        next(shards.stream([0], shards.encoder([0]), TASKS, batch_rows=0))


def test_the_torch_dataset_and_the_tf_dataset_yield_the_streamed_batches(shard_dir):
    import torch

    from mtl_lessons.torch_mtl.distributed import ShardDataset

    shards = S.ShardSet.open(shard_dir)
    encoder = shards.encoder([0, 1])
    tasks = ("click", "purchase")
    expected = list(shards.stream([0, 1], encoder, tasks, batch_rows=4_000))
    loader = torch.utils.data.DataLoader(ShardDataset(shards, [0, 1], encoder, tasks, 4_000), batch_size=None)
    for (features, labels, masks), batch in zip(loader, expected, strict=True):
        np.testing.assert_array_equal(features["item_id"].numpy(), batch.categorical["item_id"])
        np.testing.assert_array_equal(features["numeric"].numpy(), batch.numeric)
        np.testing.assert_array_equal(labels["purchase"].numpy(), batch.labels["purchase"])
    code = (  # TensorFlow in its own process (the test process imports torch)
        "import numpy as np\nfrom mtl_lessons.data import shards as S\nfrom mtl_lessons.keras_mtl.distributed import shard_dataset\n"
        f"s = S.ShardSet.open({str(shard_dir)!r}); e = s.encoder([0, 1])\n"
        "got = list(shard_dataset(s, [0, 1], e, ('click', 'purchase'), 4_000))\n"
        "want = list(s.stream([0, 1], e, ('click', 'purchase'), 4_000))\n"
        "assert len(got) == len(want) == 4\n"
        "for (f, l, m), b in zip(got, want):\n"
        "    assert np.array_equal(f['user_id'].numpy(), b.categorical['user_id'])\n"
        "    assert np.array_equal(f['numeric'].numpy(), b.numeric)\n"
        "    assert np.array_equal(m['click'].numpy(), b.masks['click'].astype('float32'))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=200,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-2000:]
