"""Data-parallel training with PyTorch DDP on CPU (gloo), over the Parquet shards of ``data.shards``.

Each of P processes reads its own shards (process r: shards r, r+P, r+2P, … of the training shards),
and step i trains on every process's i-th batch of ``local_batch`` rows. DDP averages the P
gradients, so a step is one optimiser step on a *global batch* of P·local_batch rows:

    g = (1/P) Σ_r ∇ L_r,   L_r = the mean loss of process r's rows (per task, then summed),

which equals ∇ of the mean loss over the whole global batch when the P local batches have the same
size and every row carries every task's label (the shop's click, add-to-cart and purchase). With
masked tasks (a rating only on purchases) the P local means have different denominators, and the
average of means is no longer the global mean: this module therefore trains tasks labelled on every
row only, and says so when asked for others.

``run_training(world_size=1, data_parallel=P)`` is the single-process reference: one process reads
the P processes' batches in lock-step and trains on their concatenation, the same global batch.
Launched under ``torchrun --nproc_per_node=P`` (``python -m mtl_lessons.torch_mtl.distributed``), the
same function runs DDP. Both write the final weights and a small JSON report (rank 0 only).

In float32 the two ways add the same numbers in a different order, so their weights differ by
rounding (about 1e-7) after a step; over many steps such a difference can flip a ReLU for some row,
after which the runs drift apart, both equally valid. ``dtype="float64"`` makes the rounding so small
that the runs stay equal to well within 1e-5: the setting for checking the algorithm.
"""
from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ..data import get_task
from ..data.encode import NUMERIC_FEATURES
from ..data.shards import ShardSet, check_run_folder, concat_inputs, rank_shards, shard_list, stream_auc, write_run
from .models import SharedBottomModel
from .training import ADAM_EPSILON, feature_tensors, label_tensors, task_losses
from .weights_io import export_weights

FUNNEL = ("click", "add_to_cart", "purchase")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _as_dtype(tensors: dict[str, torch.Tensor], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    return {name: t.to(dtype) if t.is_floating_point() else t for name, t in tensors.items()}


def evaluate_auc(model: torch.nn.Module, shard_set: ShardSet, shards: Sequence[int], encoder,
                 tasks: Sequence[str]) -> dict[str, float]:
    """ROC AUC of each binary task of ``tasks`` on ``shards``' rows (``data.shards.stream_auc``)."""
    dtype = next(model.parameters()).dtype
    model.eval()
    with torch.no_grad():
        auc = stream_auc(shard_set, shards, encoder, tasks,
                         lambda batch: {t: o.numpy() for t, o in model(_as_dtype(feature_tensors(batch), dtype)).items()})
    model.train()
    return auc


class ShardDataset(torch.utils.data.IterableDataset):
    """A ``torch.utils.data.IterableDataset`` over Parquet shards: each item is one batch, the tuple
    ``(features, labels, masks)`` of ``feature_tensors`` and ``label_tensors``, read one Parquet batch
    at a time (``ShardSet.stream``). Use it with ``DataLoader(dataset, batch_size=None)``: the
    batches are already formed. With ``num_workers > 1`` worker w reads shards w, w+W, … of ``shards``.
    """

    def __init__(self, shard_set: ShardSet, shards: Sequence[int], encoder, tasks: Sequence[str], batch_rows: int):
        super().__init__()
        self.shard_set, self.shards, self.encoder = shard_set, list(shards), encoder
        self.tasks, self.batch_rows = tuple(tasks), batch_rows

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        mine = self.shards if info is None else rank_shards(self.shards, info.id, info.num_workers)
        for batch in self.shard_set.stream(mine, self.encoder, self.tasks, self.batch_rows):
            yield (feature_tensors(batch), *label_tensors(batch, self.tasks))


def run_training(shard_dir: str | os.PathLike, train_shards: Sequence[int], *, data_parallel: int,
                 local_batch: int, epochs: int = 1, learning_rate: float = 5e-3, seed: int = 0,
                 tasks: Sequence[str] = FUNNEL, bottom: Sequence[int] = (64, 32),
                 out: str | os.PathLike | None = None, threads: int | None = None, dtype: str = "float32",
                 eval_shards: Sequence[int] = (), overwrite: bool = False) -> dict:
    """Train a shared-bottom model on ``train_shards`` with ``data_parallel`` batches per step.

    Under ``torchrun`` (``WORLD_SIZE`` = ``data_parallel``) each process trains on its own batch and DDP
    averages gradients; in a plain process (no ``WORLD_SIZE``) the process trains on the concatenation
    of all ``data_parallel`` batches. Either way every step sees the same global batch.

    Args:
        shard_dir: a folder written by ``data.write_shards``.
        train_shards: shard numbers to train on; their count must be a multiple of ``data_parallel``.
        data_parallel: P, the number of local batches per step (= processes under DDP).
        local_batch: rows per process per step.
        epochs: passes over the training shards.
        learning_rate, seed, bottom: Adam's step size, the seed of the initial weights, the shared MLP.
        tasks: tasks labelled on every row (see the module docstring).
        out: where rank 0 writes ``weights.npz`` and ``report.json`` (a folder); None: nothing written.
        threads: ``torch.set_num_threads`` for this process (None: leave PyTorch's default).
        dtype: "float32" (training) or "float64" (checking that two ways of training agree).
        eval_shards: shards on which rank 0 reports each task's ROC AUC after training (none: no AUC).
        overwrite: replace ``out``'s files of an earlier run (otherwise refused before training starts).

    Returns:
        The report: steps, rows seen, seconds of the training loop, samples per second, world size, the
        loss of the last global batch (under DDP: the mean of the processes' losses, all-reduced) and,
        with ``eval_shards``, ``test_auc`` (task → AUC).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world not in (1, data_parallel):
        raise ValueError(f"WORLD_SIZE={world} but data_parallel={data_parallel}: launch data_parallel processes")
    if len(train_shards) % data_parallel:
        raise ValueError(f"train_shards ({len(train_shards)}) must be a multiple of data_parallel ({data_parallel}), "
                         "so that every process reads as many rows")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    if out is not None:
        check_run_folder(out, overwrite)
    masked = [t for t in tasks if get_task(t).rows != "all"]
    if masked:
        raise ValueError(f"tasks {masked} are labelled on some rows only: DDP's average of per-process means is not "
                         "their global mean; train tasks labelled on every row")
    if threads is not None:
        torch.set_num_threads(threads)
    distributed = world > 1
    if distributed:
        dist.init_process_group("gloo")
    try:
        shards = ShardSet.open(shard_dir)
        encoder = shards.encoder(train_shards)
        torch.manual_seed(seed)
        model = SharedBottomModel(encoder.cardinalities, len(NUMERIC_FEATURES), tuple(tasks), bottom=tuple(bottom),
                                  seed=seed).to(DTYPES[dtype])
        net = DistributedDataParallel(model) if distributed else model
        optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, eps=ADAM_EPSILON)
        parts = [rank] if distributed else list(range(data_parallel))
        steps, rows = 0, 0
        start = time.perf_counter()
        for _ in range(epochs):
            streams = [shards.stream(rank_shards(train_shards, part, data_parallel), encoder, tasks, local_batch)
                       for part in parts]
            for batches in zip(*streams, strict=True):
                batch = batches[0] if len(batches) == 1 else concat_inputs(batches)
                labels, masks = (_as_dtype(t, DTYPES[dtype]) for t in label_tensors(batch, tasks))
                losses = task_losses(net(_as_dtype(feature_tensors(batch), DTYPES[dtype])), labels, masks)
                loss = sum(losses.values())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                steps += 1
                rows += len(batch) * (world if distributed else 1)
                last_loss = loss.detach().clone()
        seconds = time.perf_counter() - start
        if steps and distributed:  # the global batch's loss: the mean of the processes' losses
            dist.all_reduce(last_loss)
            last_loss /= world
        loss_value = float(last_loss) if steps else float("nan")
        report = {"world_size": world, "data_parallel": data_parallel, "local_batch": local_batch, "steps": steps,
                  "rows_seen": rows, "seconds": seconds, "samples_per_second": rows / seconds,
                  "final_loss": loss_value, "threads": torch.get_num_threads(), "dtype": dtype}
        if eval_shards and rank == 0:
            report["test_auc"] = evaluate_auc(model, shards, eval_shards, encoder, tasks)
        if out is not None and rank == 0:
            write_run(out, export_weights(model), report, overwrite=overwrite)
        return report
    finally:
        if distributed:
            dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mtl_lessons.torch_mtl.distributed",
                                     description="Train a shared-bottom model on Parquet shards (DDP under torchrun).")
    parser.add_argument("--shards", required=True, help="folder written by data.write_shards")
    parser.add_argument("--train-shards", required=True, help="comma-separated shard numbers, e.g. 0,1,2,3")
    parser.add_argument("--data-parallel", type=int, required=True, help="local batches per step (= processes)")
    parser.add_argument("--local-batch", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=5e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    parser.add_argument("--eval-shards", default="", help="comma-separated shard numbers for the test AUC")
    parser.add_argument("--out", required=True, help="folder for weights.npz and report.json (rank 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace the files of an earlier run in --out")
    args = parser.parse_args(argv)
    try:
        run_training(args.shards, shard_list(args.train_shards), data_parallel=args.data_parallel,
                     local_batch=args.local_batch, epochs=args.epochs, learning_rate=args.learning_rate, seed=args.seed,
                     out=args.out, threads=args.threads, dtype=args.dtype, eval_shards=shard_list(args.eval_shards),
                     overwrite=args.overwrite)
    except (ValueError, FileExistsError) as error:  # a clear one-line message, not a traceback
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
