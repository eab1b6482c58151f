"""Run a notebook's own code cells, chosen by cell id, inside a test.

Not collected on its own (the name does not start with ``test_``): the claim tests import it with
``from notebook_cells import run_cells, torch_namespace`` so that a test re-runs the notebook's
experiment and claim functions instead of a copy of them that could drift apart from the notebook.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest


def cell_sources(notebook_path: Path) -> dict[str, str]:
    """The source of every code cell of the notebook at ``notebook_path``, keyed by cell id."""
    cells = json.loads(Path(notebook_path).read_text(encoding="utf-8"))["cells"]
    return {cell["id"]: "".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"}


def run_cells(notebook_path: Path, cell_ids: tuple[str, ...], namespace: dict) -> dict:
    """Execute the code cells ``cell_ids`` of the notebook, in that order, in ``namespace`` (updated in
    place: the names they define land there) and return it. Fails naming a cell id the notebook lacks."""
    notebook_path = Path(notebook_path)
    sources = cell_sources(notebook_path)
    for cell_id in cell_ids:
        assert cell_id in sources, f"cell {cell_id} is missing from {notebook_path.name}"
        exec(compile(sources[cell_id], f"{notebook_path.name}:{cell_id}", "exec"), namespace)
    return namespace


def torch_namespace(seed: int = 0) -> dict:
    """The names a lesson's first cell defines, PyTorch side only (no Keras): ``np``, ``pd``, ``torch``,
    ``data``, ``metrics``, ``torch_mtl``, imported after ``repro.setup(seed, frameworks=("torch",))``.
    Skips the calling test when PyTorch is not installed."""
    pytest.importorskip("torch")
    from mtl_lessons import repro

    repro.setup(seed=seed, frameworks=("torch",))
    import numpy as np
    import pandas as pd
    import torch

    from mtl_lessons import data, metrics, torch_mtl

    return {"np": np, "pd": pd, "torch": torch, "data": data, "metrics": metrics, "torch_mtl": torch_mtl}
