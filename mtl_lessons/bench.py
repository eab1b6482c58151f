"""Training speed of the course's models: samples per second of ``train``, per architecture and framework.

Run ``python -m mtl_lessons.bench`` (or ``make bench``). Each row trains one model for a few
epochs on the course's training split (no validation, no early stopping, so every row does the
same work) and reports the median over epochs of the samples per second that ``train`` records
in its history. Each framework runs in its own subprocess, so that importing one never slows or
changes the other, and the numbers are what a notebook that imports only that framework sees.

The figures are wall-clock measurements of this machine: compare rows measured in one run, not
runs on different days or machines.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence

import pandas as pd

__all__ = ["ARCHITECTURES", "FRAMEWORKS", "bench_framework", "main"]

FRAMEWORKS = ("torch", "keras")
TASKS = ("click", "add_to_cart", "purchase")
ARCHITECTURES = {
    "single-task MLP (128, 64)": "single",
    "shared bottom (128, 64), 3 heads": "shared",
    "soft sharing, towers (128, 64), coupling": "soft",
}


def _model(framework_module, kind: str, cardinalities: dict[str, int], n_numeric: int):
    if kind == "single":
        return framework_module.SingleTaskModel(cardinalities, n_numeric, "purchase", hidden=(128, 64), seed=0)
    if kind == "shared":
        return framework_module.SharedBottomModel(cardinalities, n_numeric, TASKS, bottom=(128, 64), seed=0)
    return framework_module.SoftSharingModel(cardinalities, n_numeric, TASKS, tower=(128, 64),
                                             coupling=1e-3, seed=0)


def bench_framework(framework: str, epochs: int = 3, batch_size: int = 1024) -> list[dict[str, object]]:
    """Train every architecture of :data:`ARCHITECTURES` in ``framework`` for ``epochs`` epochs.

    Returns one dict per architecture: framework, architecture, batch size, epochs, training
    rows, parameters, and ``samples_per_second`` (median over the epochs, the first included).
    Imports only ``framework``; call it in a fresh process for clean figures (``main`` does).
    """
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
    from . import data, repro

    repro.setup(seed=0, frameworks=(framework,))
    if framework == "torch":
        from . import torch_mtl as fw
    else:
        from . import keras_mtl as fw
    shop = data.load_shop()
    split = data.chronological_split(data.join_features(shop))
    encoder = data.FeatureEncoder(shop).fit(split.train)
    train_inputs = encoder.transform(split.train, TASKS)
    n_numeric = train_inputs.numeric.shape[1]
    rows = []
    for name, kind in ARCHITECTURES.items():
        model = _model(fw, kind, encoder.cardinalities, n_numeric)
        tasks = ("purchase",) if kind == "single" else TASKS
        history = fw.train(model, train_inputs, None, tasks, epochs=epochs, batch_size=batch_size,
                           patience=None, monitor=None, seed=0)
        rows.append({"framework": framework, "architecture": name, "batch_size": batch_size,
                     "epochs": epochs, "train_rows": len(train_inputs.numeric),
                     "parameters": int(fw.parameter_count(model)),
                     "samples_per_second": float(history["samples_per_second"].median())})
    return rows


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, got {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(prog="python -m mtl_lessons.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", nargs="+", choices=FRAMEWORKS, default=list(FRAMEWORKS),
                        help="frameworks to measure (default: both)")
    parser.add_argument("--epochs", type=_positive_int, default=3, help="epochs per model (default 3)")
    parser.add_argument("--batch-size", type=_positive_int, default=1024, help="rows per step (default 1024)")
    parser.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)  # internal: one framework, JSON out
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(bench_framework(args.worker, args.epochs, args.batch_size)))
        return pd.DataFrame()
    rows = []
    for framework in args.frameworks:
        result = subprocess.run([sys.executable, "-m", "mtl_lessons.bench", "--worker", framework,
                                 "--epochs", str(args.epochs), "--batch-size", str(args.batch_size)],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SystemExit(f"bench: the {framework} run failed:\n{result.stderr.strip()}")
        rows += json.loads(result.stdout.strip().splitlines()[-1])
    table = pd.DataFrame(rows)
    shown = table.assign(samples_per_second=table["samples_per_second"].round(0).astype(int))
    print(shown[["framework", "architecture", "parameters", "batch_size", "samples_per_second"]].to_string(index=False))
    return table


if __name__ == "__main__":
    main()
