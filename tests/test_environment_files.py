"""The dependency files agree with each other, and the entry points run the tests.

* pyproject.toml        bounded ranges of the direct dependencies (what the package needs);
* requirements-lock.txt exact versions of everything (what `make` installs);
* environment.yml       the direct dependencies for conda users, at the lock's versions.

torch is pinned exactly everywhere: an unpinned torch pulls a multi-GB CUDA build.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
TORCH_VERSION = "2.13.0"


def pyproject_requirements() -> dict[str, Requirement]:
    """pyproject's [project] dependencies by canonical name."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    reqs = [Requirement(line) for line in data["project"]["dependencies"]]
    return {canonicalize_name(req.name): req for req in reqs}


def lock_pins() -> dict[str, str]:
    """requirements-lock.txt as {canonical name: exact version}; fails on any non-== line."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(
        (ROOT / "requirements-lock.txt").read_text(encoding="utf-8").splitlines(), 1
    ):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;=]+)", line)
        assert match, f"requirements-lock.txt:{number}: not a plain 'name==version' pin: {raw!r}"
        name = canonicalize_name(match.group(1))
        assert name not in pins, f"requirements-lock.txt:{number}: {name} pinned twice"
        pins[name] = match.group(2)
    return pins


def environment_yml() -> dict:
    """environment.yml, parsed (PyYAML is in the lock as a Jupyter dependency)."""
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def environment_pip_lines() -> list[str]:
    """The entries of environment.yml's `pip:` section."""
    for entry in environment_yml()["dependencies"]:
        if isinstance(entry, dict) and "pip" in entry:
            return [str(line) for line in entry["pip"]]
    pytest.fail("environment.yml has no 'pip:' section under dependencies")


def environment_pins() -> dict[str, str]:
    """environment.yml's pip requirements as {canonical name: exact version}."""
    pins: dict[str, str] = {}
    for line in environment_pip_lines():
        if line.startswith("-"):  # options such as "-e ."
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", (
            f"environment.yml: {line!r} is not pinned with =="
        )
        pins[canonicalize_name(req.name)] = specs[0].version
    return pins


def test_lock_is_plain_exact_pins_without_local_tags() -> None:
    pins = lock_pins()
    assert len(pins) > 50, "the lock should pin every installed package, not just the direct ones"
    local = {name: v for name, v in pins.items() if "+" in v}
    assert not local, f"local version tags (e.g. +cpu) make the lock machine-specific: {local}"
    assert "mtl-lessons" not in pins, "the editable project itself must not be in the lock"


def test_every_pyproject_dependency_is_bounded() -> None:
    for name, req in pyproject_requirements().items():
        operators = {spec.operator for spec in req.specifier}
        assert operators & {"<", "<=", "==", "~="}, f"pyproject: {req} has no upper bound"
        assert operators & {">", ">=", "==", "~="}, f"pyproject: {req} has no lower bound"


def test_lock_pins_every_pyproject_dependency_inside_its_range() -> None:
    pins = lock_pins()
    for name, req in pyproject_requirements().items():
        assert name in pins, f"{req.name} is a dependency in pyproject.toml but not in the lock"
        assert req.specifier.contains(Version(pins[name]), prereleases=True), (
            f"lock pins {req.name}=={pins[name]}, outside pyproject's range {req.specifier}"
        )


def test_environment_yml_names_python_311_pip_and_the_project() -> None:
    env = environment_yml()
    assert env["name"] == "mtl-course"
    plain = [entry for entry in env["dependencies"] if isinstance(entry, str)]
    assert "python=3.11" in plain and "pip" in plain
    assert "-e ." in environment_pip_lines()


def test_environment_yml_pins_equal_the_lock() -> None:
    lock = lock_pins()
    for name, version in environment_pins().items():
        assert name in lock, f"environment.yml pins {name}, which the lock does not contain"
        assert version == lock[name], (
            f"environment.yml pins {name}=={version} but the lock has {name}=={lock[name]}"
        )


def test_environment_yml_names_every_pyproject_dependency() -> None:
    missing = set(pyproject_requirements()) - set(environment_pins())
    assert not missing, f"environment.yml lacks these pyproject dependencies: {sorted(missing)}"


def test_torch_is_pinned_exactly_everywhere() -> None:
    torch = pyproject_requirements()["torch"]
    assert str(torch.specifier) == f"=={TORCH_VERSION}", f"pyproject: {torch}"
    assert lock_pins()["torch"] == TORCH_VERSION
    assert environment_pins()["torch"] == TORCH_VERSION


def test_makefile_test_target_runs_one_pytest_with_nbval() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^test:.*\n((?:\t.*\n?)+)", makefile, flags=re.MULTILINE)
    assert match, "the Makefile has no 'test:' target with a recipe"
    # Expand the simple `NAME := value` path variables defined at the top.
    variables = dict(re.findall(r"^([A-Z_]+)\s*[:?]?=\s*(\S+)\s*$", makefile, flags=re.MULTILINE))
    recipe = re.sub(r"\$\(([A-Z_]+)\)", lambda m: variables.get(m.group(1), m.group(0)),
                    match.group(1))
    assert recipe.count("pytest") == 1, recipe
    for part in ("tests", "notebooks", "solutions", "--nbval", "--nbval-current-env",
                 "--nbval-sanitize-with"):
        assert part in recipe, f"'make test' recipe lacks {part!r}: {recipe}"
    assert "|| true" not in recipe and "-k" not in recipe.split(), "failures must propagate"


def test_ci_runs_make_test() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "set -euo pipefail" in script
    commands = [line.strip() for line in script.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert "make test" in commands, ".ci/run must run `make test` (the README's test command)"
