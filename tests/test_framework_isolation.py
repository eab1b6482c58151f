"""Each training core imports only its own framework (checked in a fresh interpreter)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def modules_after_import(module: str) -> dict[str, bool]:
    code = textwrap.dedent(f"""
        import json, sys
        import {module}
        print(json.dumps({{name: name in sys.modules for name in ("torch", "tensorflow", "keras")}}))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_torch_core_does_not_import_tensorflow_or_keras():
    assert modules_after_import("mtl_lessons.torch_mtl") == {"torch": True, "tensorflow": False, "keras": False}


def test_keras_core_does_not_import_torch():
    assert modules_after_import("mtl_lessons.keras_mtl") == {"torch": False, "tensorflow": True, "keras": True}


@pytest.mark.parametrize("module", ["mtl_lessons.mtl_core", "mtl_lessons"])
def test_shared_core_imports_no_framework(module):
    assert modules_after_import(module) == {"torch": False, "tensorflow": False, "keras": False}
