"""Data parallelism equals one process on the same global batch: DDP (torchrun, gloo) and MirroredStrategy."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mtl_lessons import data
from mtl_lessons.data import shards as S

CONFIG = data.ShopConfig(n_users=800, n_items=300, n_impressions=32_000, n_days=8)
ARGS = ["--train-shards", "0,1,2,3", "--data-parallel", "2", "--local-batch", "1024", "--epochs", "2"]


@pytest.fixture(scope="module")
def shard_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shards")
    S.write_shards(folder, CONFIG, 4)
    return folder


def run(command: list[str], **env: str) -> None:
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def weights(folder) -> dict[str, np.ndarray]:
    with np.load(folder / "weights.npz") as file:
        return {name: file[name] for name in file.files}


def report(folder) -> dict:
    return json.loads((folder / "report.json").read_text())


def assert_same_weights(one: dict, other: dict, tolerance: float = 1e-5) -> None:
    assert sorted(one) == sorted(other)
    worst = max(float(np.abs(one[name] - other[name]).max()) for name in one)
    assert worst < tolerance, worst


def test_ddp_on_two_processes_equals_one_process_on_the_global_batch(shard_dir, tmp_path):
    module = "mtl_lessons.torch_mtl.distributed"
    run([sys.executable, "-m", module, "--shards", str(shard_dir), *ARGS, "--threads", "1", "--out", str(tmp_path / "one")])
    run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", module,
         "--shards", str(shard_dir), *ARGS, "--threads", "1", "--out", str(tmp_path / "ddp")])
    assert_same_weights(weights(tmp_path / "one"), weights(tmp_path / "ddp"))
    one, ddp = report(tmp_path / "one"), report(tmp_path / "ddp")
    assert (one["world_size"], ddp["world_size"]) == (1, 2)
    assert one["steps"] == ddp["steps"] == 2 * 2 * 8 and one["rows_seen"] == ddp["rows_seen"] == 2 * 32_000
    assert abs(one["final_loss"] - ddp["final_loss"]) < 1e-5


def test_mirrored_strategy_on_two_cpus_equals_one_device_on_the_global_batch(shard_dir, tmp_path):
    module = "mtl_lessons.keras_mtl.distributed"
    run([sys.executable, "-m", module, "--shards", str(shard_dir), *ARGS, "--replicas", "1", "--out", str(tmp_path / "one")])
    run([sys.executable, "-m", module, "--shards", str(shard_dir), *ARGS, "--replicas", "2", "--out", str(tmp_path / "two")])
    assert_same_weights(weights(tmp_path / "one"), weights(tmp_path / "two"))
    one, two = report(tmp_path / "one"), report(tmp_path / "two")
    assert (one["replicas"], two["replicas"]) == (1, 2) and one["steps"] == two["steps"]
    assert abs(one["final_loss"] - two["final_loss"]) < 1e-5


def test_tasks_labelled_on_some_rows_are_refused(shard_dir):
    from mtl_lessons.torch_mtl import distributed

    with pytest.raises(ValueError, match=r"tasks \['rating'\] are labelled on some rows only"):
        distributed.run_training(shard_dir, [0, 1], data_parallel=2, local_batch=64, tasks=("click", "rating"))
    with pytest.raises(ValueError, match="must be a multiple of data_parallel"):
        distributed.run_training(shard_dir, [0, 1, 2], data_parallel=2, local_batch=64)
