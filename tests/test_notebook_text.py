"""No notebook ships an unfinished text: a markdown cell that is a placeholder (``TBD``, ``TODO``,
``PLACEHOLDER``, ``FIXME``, ``XXX``) instead of the prose the lesson needs."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))
UNFINISHED = re.compile(r"\b(TBD|TODO|FIXME|XXX)\b|PLACEHOLDER")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_no_cell_is_a_placeholder(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    unfinished = [cell.get("id") for cell in cells if UNFINISHED.search("".join(cell["source"]))]
    assert not unfinished, f"{notebook.name}: cells {unfinished} hold placeholder text (TBD/TODO/PLACEHOLDER...)"
