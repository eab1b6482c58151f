"""Data-parallel training with ``tf.distribute.MirroredStrategy`` over logical CPU devices.

The Keras twin of ``torch_mtl.distributed``: R replicas each take their own ``local_batch`` rows of the
Parquet shards (replica r: shards r, r+R, …), compute the mean loss of their rows, and the strategy
sums the R gradients (each replica's loss is scaled by 1/R first), so a step is one Adam step on the
gradient of the mean loss over the global batch of R·local_batch rows, for tasks labelled on every row.

A CPU is one TensorFlow device. ``MirroredStrategy`` needs R devices, made by splitting the CPU into
R *logical* devices, which must happen before TensorFlow starts its runtime: so the replicated run
lives in its own process (``python -m mtl_lessons.keras_mtl.distributed --replicas 2 …``), started
from the notebook or a test, never inside an interpreter that already used TensorFlow.

``run_training(replicas=1, data_parallel=R)`` is the single-device reference: no strategy, one
device, trained on the concatenation of the R local batches of each step. As in the PyTorch twin,
``dtype="float64"`` keeps float rounding from making the two runs drift apart.
"""
from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence



def configure_cpu_devices(count: int) -> None:
    """Split the CPU into ``count`` logical devices. Call before anything else uses TensorFlow.

    Raises:
        RuntimeError: TensorFlow's runtime already started (its devices can no longer change).
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])


def shard_dataset(shard_set, shards: Sequence[int], encoder, tasks: Sequence[str], batch_rows: int):
    """A ``tf.data.Dataset`` over Parquet shards: each element is one batch ``(features, labels, masks)``
    (dicts of tensors, as ``feature_tensors`` / ``label_tensors``), read one Parquet batch at a time."""
    import tensorflow as tf

    from ..data.encode import CATEGORICAL_FEATURES, NUMERIC_FEATURES
    from ..mtl_core import NUMERIC_KEY
    from .training import feature_tensors, label_tensors

    tasks = tuple(tasks)

    def batches():
        for batch in shard_set.stream(shards, encoder, tasks, batch_rows):
            yield (feature_tensors(batch), *label_tensors(batch, tasks))

    features = {name: tf.TensorSpec((None,), tf.int64) for name in CATEGORICAL_FEATURES}
    features[NUMERIC_KEY] = tf.TensorSpec((None, len(NUMERIC_FEATURES)), tf.float32)
    per_task = {task: tf.TensorSpec((None,), tf.float32) for task in tasks}
    return tf.data.Dataset.from_generator(batches, output_signature=(features, per_task, per_task))


def evaluate_auc(model, shard_set, shards: Sequence[int], encoder, tasks: Sequence[str]) -> dict[str, float]:
    """ROC AUC of each binary task of ``tasks`` on ``shards``' rows (``data.shards.stream_auc``)."""
    from ..data.shards import stream_auc
    from .training import feature_tensors

    return stream_auc(shard_set, shards, encoder, tasks,
                      lambda batch: {t: o.numpy() for t, o in model(feature_tensors(batch), training=False).items()})


def run_training(shard_dir: str | os.PathLike, train_shards: Sequence[int], *, replicas: int, data_parallel: int,
                 local_batch: int, epochs: int = 1, learning_rate: float = 5e-3, seed: int = 0,
                 tasks: Sequence[str] = ("click", "add_to_cart", "purchase"), bottom: Sequence[int] = (64, 32),
                 out: str | os.PathLike | None = None, dtype: str = "float32", eval_shards: Sequence[int] = (),
                 overwrite: bool = False) -> dict:
    """Train a Keras shared-bottom model on ``train_shards``, ``data_parallel`` local batches per step.

    Args:
        replicas: 1 (single device: the concatenated global batch) or ``data_parallel`` (a
            ``MirroredStrategy`` over that many logical CPUs, set up by ``configure_cpu_devices``).
        dtype: "float32" or "float64": the model is built under ``keras.config.set_floatx(dtype)``
            (restored afterwards).
        The other arguments are those of ``torch_mtl.distributed.run_training``.

    Returns:
        The report (steps, rows seen, seconds, samples per second, replicas, final loss, and with
        ``eval_shards`` the test AUC per task); with ``out`` also written there as ``report.json``,
        next to the final weights ``weights.npz``.
    """
    import tensorflow as tf

    from ..data import get_task
    from ..data.encode import NUMERIC_FEATURES
    from ..data.shards import ShardSet, check_run_folder, concat_inputs, rank_shards, write_run
    from .models import SharedBottomModel
    from .training import ADAM_EPSILON, feature_tensors, label_tensors, task_losses
    from .weights_io import export_weights

    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be one of ['float32', 'float64'], got {dtype!r}")
    if out is not None:
        check_run_folder(out, overwrite)
    if replicas not in (1, data_parallel):
        raise ValueError(f"replicas must be 1 or data_parallel ({data_parallel}), got {replicas}")
    if len(train_shards) % data_parallel:
        raise ValueError(f"train_shards ({len(train_shards)}) must be a multiple of data_parallel ({data_parallel})")
    masked = [t for t in tasks if get_task(t).rows != "all"]
    if masked:
        raise ValueError(f"tasks {masked} are labelled on some rows only; train tasks labelled on every row")
    import keras

    shards = ShardSet.open(shard_dir)
    encoder = shards.encoder(train_shards)
    strategy = (tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(replicas)]) if replicas > 1
                else tf.distribute.get_strategy())
    floatx = keras.config.floatx()
    keras.config.set_floatx(dtype)
    try:
        with strategy.scope():
            model = SharedBottomModel(encoder.cardinalities, len(NUMERIC_FEATURES), tuple(tasks),
                                      bottom=tuple(bottom), seed=seed)
            optimizer = keras.optimizers.Adam(learning_rate=learning_rate, epsilon=ADAM_EPSILON)
            optimizer.build(model.trainable_variables)
    finally:
        keras.config.set_floatx(floatx)

    def local_step(features, labels, masks):
        with tf.GradientTape() as tape:
            losses = task_losses(model(features, training=True), labels, masks)
            loss = tf.add_n(list(losses.values()))
            scaled = loss / replicas  # the strategy sums the replicas' gradients
        grads = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    @tf.function(reduce_retracing=True)
    def step(per_replica):
        losses = strategy.run(local_step, args=per_replica)
        return strategy.reduce(tf.distribute.ReduceOp.MEAN, losses, axis=None)

    steps, rows, loss_value = 0, 0, float("nan")
    start = time.perf_counter()
    for _ in range(epochs):
        streams = [shards.stream(rank_shards(train_shards, part, data_parallel), encoder, tasks, local_batch)
                   for part in range(data_parallel)]
        for batches in zip(*streams, strict=True):
            if replicas == 1:
                batch = concat_inputs(batches)
                per_replica = (feature_tensors(batch), *label_tensors(batch, tasks))
            else:
                tensors = [(feature_tensors(b), *label_tensors(b, tasks)) for b in batches]
                per_replica = tuple(
                    strategy.experimental_distribute_values_from_function(
                        lambda context, i=i: tensors[context.replica_id_in_sync_group][i]) for i in range(3))
            loss_value = float(step(per_replica))
            steps += 1
            rows += sum(len(b) for b in batches)
    seconds = time.perf_counter() - start
    report = {"replicas": strategy.num_replicas_in_sync, "data_parallel": data_parallel, "local_batch": local_batch,
              "steps": steps, "rows_seen": rows, "seconds": seconds, "samples_per_second": rows / seconds, "final_loss": loss_value,
              "dtype": dtype}
    if eval_shards:
        report["test_auc"] = evaluate_auc(model, shards, eval_shards, encoder, tasks)
    if out is not None:
        write_run(out, export_weights(model), report, overwrite=overwrite)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mtl_lessons.keras_mtl.distributed",
                                     description="Train a Keras shared-bottom model on Parquet shards "
                                                 "(MirroredStrategy over logical CPUs).")
    parser.add_argument("--shards", required=True)
    parser.add_argument("--train-shards", required=True)
    parser.add_argument("--replicas", type=int, required=True, help="1, or --data-parallel")
    parser.add_argument("--data-parallel", type=int, required=True)
    parser.add_argument("--local-batch", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=5e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--eval-shards", default="", help="comma-separated shard numbers for the test AUC")
    parser.add_argument("--out", required=True)
    parser.add_argument("--overwrite", action="store_true", help="replace the files of an earlier run in --out")
    args = parser.parse_args(argv)
    from ..data.shards import shard_list

    if args.replicas > 1:
        configure_cpu_devices(args.replicas)
    try:
        run_training(args.shards, shard_list(args.train_shards), replicas=args.replicas,
                     data_parallel=args.data_parallel, local_batch=args.local_batch, epochs=args.epochs,
                     learning_rate=args.learning_rate, seed=args.seed, out=args.out, dtype=args.dtype,
                     eval_shards=shard_list(args.eval_shards), overwrite=args.overwrite)
    except (ValueError, FileExistsError) as error:  # a clear one-line message, not a traceback
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
