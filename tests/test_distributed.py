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
ARGS = ["--train-shards", "0,1,2,3", "--data-parallel", "2", "--local-batch", "1000", "--epochs", "2",
        "--dtype", "float64", "--eval-shards", "0,1"]
"""float64: the two ways of training add the same numbers in different orders; in float32 the rounding
differences could flip a ReLU and make the runs drift apart (the lesson's exercise 3)."""


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


def assert_same_weights(one: dict, other: dict, tolerance: float = 1e-10) -> None:
    assert sorted(one) == sorted(other)
    assert all(array.dtype == np.float64 for array in one.values())
    worst = max(float(np.abs(one[name] - other[name]).max()) for name in one)
    assert worst < tolerance, worst


def assert_same_auc(one: dict, other: dict) -> None:
    assert sorted(one["test_auc"]) == ["add_to_cart", "click", "purchase"]
    for task, auc in one["test_auc"].items():
        assert 0.5 < auc < 1 and abs(auc - other["test_auc"][task]) < 1e-9, (task, auc, other["test_auc"][task])


def test_ddp_on_two_processes_equals_one_process_on_the_global_batch(shard_dir, tmp_path):
    module = "mtl_lessons.torch_mtl.distributed"
    run([sys.executable, "-m", module, "--shards", str(shard_dir), *ARGS, "--threads", "1", "--out", str(tmp_path / "one")])
    run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", module,
         "--shards", str(shard_dir), *ARGS, "--threads", "1", "--out", str(tmp_path / "ddp")])
    assert_same_weights(weights(tmp_path / "one"), weights(tmp_path / "ddp"))
    one, ddp = report(tmp_path / "one"), report(tmp_path / "ddp")
    assert (one["world_size"], ddp["world_size"]) == (1, 2)
    assert one["steps"] == ddp["steps"] == 2 * 2 * 8 and one["rows_seen"] == ddp["rows_seen"] == 2 * 32_000
    assert abs(one["final_loss"] - ddp["final_loss"]) < 1e-10
    assert_same_auc(one, ddp)


def test_mirrored_strategy_on_two_cpus_equals_one_device_on_the_global_batch(shard_dir, tmp_path):
    module = "mtl_lessons.keras_mtl.distributed"
    run([sys.executable, "-m", module, "--shards", str(shard_dir), *ARGS, "--replicas", "1", "--out", str(tmp_path / "one")])
    run([sys.executable, "-m", module, "--shards", str(shard_dir), *ARGS, "--replicas", "2", "--out", str(tmp_path / "two")])
    assert_same_weights(weights(tmp_path / "one"), weights(tmp_path / "two"))
    one, two = report(tmp_path / "one"), report(tmp_path / "two")
    assert (one["replicas"], two["replicas"]) == (1, 2) and one["steps"] == two["steps"] == 2 * 2 * 8
    assert abs(one["final_loss"] - two["final_loss"]) < 1e-10
    assert_same_auc(one, two)


def test_tasks_labelled_on_some_rows_are_refused(shard_dir):
    from mtl_lessons.torch_mtl import distributed

    with pytest.raises(ValueError, match=r"tasks \['rating'\] are labelled on some rows only"):
        distributed.run_training(shard_dir, [0, 1], data_parallel=2, local_batch=64, tasks=("click", "rating"))
    with pytest.raises(ValueError, match="must be a multiple of data_parallel"):
        distributed.run_training(shard_dir, [0, 1, 2], data_parallel=2, local_batch=64)


def test_a_run_folder_is_refused_before_training(shard_dir, tmp_path):
    from mtl_lessons.torch_mtl import distributed

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "weights.npz").write_bytes(b"not mine")
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        distributed.run_training(shard_dir, [0, 1], data_parallel=2, local_batch=64, out=tmp_path / "run")
    assert (tmp_path / "run" / "weights.npz").read_bytes() == b"not mine"
    report = distributed.run_training(shard_dir, [0, 1], data_parallel=2, local_batch=4000, out=tmp_path / "run",
                                      overwrite=True)
    assert json.loads((tmp_path / "run" / "report.json").read_text())["steps"] == report["steps"] == 2
    with pytest.raises(ValueError, match="dtype must be one of \\['float32', 'float64'\\], got 'float16'"):
        distributed.run_training(shard_dir, [0, 1], data_parallel=2, local_batch=64, dtype="float16")
    done = subprocess.run([sys.executable, "-m", "mtl_lessons.torch_mtl.distributed", "--shards", str(shard_dir),
                           "--train-shards", "0,1", "--data-parallel", "2", "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "already holds" in done.stderr and "--overwrite" in done.stderr
    assert "Traceback" not in done.stderr
