"""tests/nbval_sanitize.cfg blanks only object addresses and real wall-clock figures (issue 11, row 4).

The cfg is parsed with nbval's own parser (``nbval.plugin.get_sanitize_patterns``) and applied as
nbval applies it (``re.sub`` of each pattern in turn, patterns kept in a dict). Every rule has
strings it must change (with the expected result) and strings it must leave alone, among them
the course's own non-timing outputs ("dwell RMSE (log seconds) 0.612", "purchases in 5 s").
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from nbval.plugin import get_sanitize_patterns

ROOT = Path(__file__).resolve().parents[1]
CFG = ROOT / "tests" / "nbval_sanitize.cfg"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))

# rule → (input, expected) pairs it must change, and strings it must not change.
MUST_CHANGE: dict[str, list[tuple[str, str]]] = {
    "memory_address": [
        ("<Foo object at 0x7f3a2c1d9e50>", "<Foo object at 0xADDRESS>"),
        ("<function train.<locals>.step at 0x7f57237d3ec0> and will run it as-is.",
         "<function train.<locals>.step at 0xADDRESS> and will run it as-is."),
        ("&lt;keras.src.models.Model object at 0x7F3A2C1D&gt;", "&lt;keras.src.models.Model object at 0xADDRESS&gt;"),
    ],
    "took_time": [
        ("training took 12.3 s", "training took TIME"),
        ("Export took 450 ms", "Export took TIME"),
        ("each epoch took 2.1 seconds on average", "each epoch took TIME on average"),
    ],
    "in_time": [
        ("finished in 3.2 seconds", "finished in TIME"),
        ("PyTorch trained in 0.45s, Keras trained in 12 s", "PyTorch trained in TIME, Keras trained in TIME"),
        ("12 passed in 0.45s", "12 passed in TIME"),
    ],
    "wall_clock_value": [
        ("wall time: 12.3 s", "wall time: TIME s"),
        ("wall-clock 4.56 s per epoch", "wall-clock TIME s per epoch"),
        ("elapsed 7.8 seconds", "elapsed TIME seconds"),
        ("Elapsed: 120 ms", "Elapsed: TIME ms"),
    ],
    "wall_clock_unit_label": [
        ("elapsed (seconds) 7.8", "elapsed (seconds) TIME"),
        ("wall time (s): 12.3", "wall time (s): TIME"),
        ("wall-clock seconds = 4.56", "wall-clock seconds = TIME"),
    ],
    "throughput": [
        ("1234.5 samples/s", "N samples/s"),
        ("PyTorch: 1,234,567 samples/s", "PyTorch: N samples/s"),
        ("87 it/s", "N it/s"),
        ("12 examples/sec and 3.4 steps/s", "N examples/sec and N steps/s"),
    ],
    "throughput_label": [
        ("samples/s: 400239", "samples/s: N"),
        ("rows/sec = 1,200.5", "rows/sec = N"),
    ],
    "keras_step_time": [
        ("469/469 - 1s - 12ms/step - loss: 0.41", "469/469 - 1s - TIME/step - loss: 0.41"),
        ("150us/sample", "TIME/sample"),
    ],
}

# Course outputs and near misses that no rule may touch: seeded results are compared exactly.
MUST_NOT_CHANGE = [
    "dwell RMSE (log seconds) 0.612",
    "purchases in 5 s",
    "a click in 2 s on average",
    "the shopper took 5 s to decide",
    "dwell seconds = 4.56",
    "dwell_seconds   12.5",
    "mean dwell 34.2 seconds",
    "hour 14, day 3, position 2",
    "seconds: 12.3",  # "seconds" alone is no wall-clock label (the data has dwell seconds):
    "fit seconds = 4.56",  # print "wall time ... s" / "took ... s", or tag the cell nbval-ignore-output
    "0xDEADBEEF",
    "checksum 0x1a2b3c4d5e6f",
    "flag at 0x7f3a2c1d9e50 in the header",
    "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "elapsed days 30",
    "purchase AUC 0.8439 (oracle 0.8953), 26369 parameters, 7 epochs",
    "<Figure size 800x288 with 2 Axes>",
    "train seconds  samples/s",  # a table header: the values are on other lines (such a cell is tagged)
    "1 s.d. above the mean",
    "PASS: hard sharing beats single-task on purchase AUC by 0.0123",
]


def rules() -> dict[str, tuple[str, str]]:
    """The cfg's rules by section name, each checked against nbval's own parse of the file."""
    text = CFG.read_text(encoding="utf-8")
    named: dict[str, tuple[str, str]] = {}
    for section in re.split(r"^\[", text, flags=re.MULTILINE)[1:]:
        name, body = section.split("]", 1)
        pairs = get_sanitize_patterns(body)
        assert len(pairs) == 1, f"[{name}] must hold exactly one regex/replace pair, found {len(pairs)}"
        named[name] = pairs[0]
    assert list(named.values()) == get_sanitize_patterns(text), "nbval parses other rules than the sections"
    return named


def sanitize(text: str) -> str:
    """What nbval does to an output string (plugin.IPyNbCell.sanitize)."""
    for regex, replace in dict(get_sanitize_patterns(CFG.read_text(encoding="utf-8"))).items():
        text = re.sub(regex, replace, text)
    return text


def test_every_rule_is_well_formed_and_has_cases():
    named = rules()
    assert set(named) == set(MUST_CHANGE), (
        f"rules without cases in this file: {sorted(set(named) - set(MUST_CHANGE))}; "
        f"cases without a rule: {sorted(set(MUST_CHANGE) - set(named))}")
    for name, (regex, replace) in named.items():
        assert regex == regex.strip() and replace == replace.strip(), (
            f"[{name}]: nbval keeps trailing spaces in the regex/replace lines")
        re.compile(regex)


@pytest.mark.parametrize("name", list(MUST_CHANGE))
def test_rule_changes_what_it_must(name):
    regex, replace = rules()[name]
    for text, expected in MUST_CHANGE[name]:
        assert re.sub(regex, replace, text) == expected, f"[{name}] on {text!r}"
        assert sanitize(text) == expected, f"the whole cfg on {text!r}"


@pytest.mark.parametrize("text", MUST_NOT_CHANGE)
def test_no_rule_changes_seeded_results(text):
    changed = {name: re.sub(regex, replace, text) for name, (regex, replace) in rules().items()
               if re.sub(regex, replace, text) != text}
    assert not changed, f"{text!r} is a seeded result, but rules change it: {changed}"


def test_rules_leave_the_committed_results_alone():
    """Applied to every output of the committed notebooks' untagged cells (which nbval compares),
    the rules change nothing but object addresses: timing belongs in cells tagged nbval-ignore-output."""
    address = rules()["memory_address"]
    hits = []
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        for index, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "code" or "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []):
                continue
            for output in cell.get("outputs", []):
                values = [output.get("text", "")] + [v for k, v in output.get("data", {}).items()
                                                    if k not in ("text/latex",)]
                for value in values:
                    text = "".join(value) if isinstance(value, list) else value
                    if not isinstance(text, str):
                        continue
                    if sanitize(text) != re.sub(address[0], address[1], text):
                        hits.append(f"{path.parent.name}/{path.name} cell {index}: {text[:120]!r}")
    assert not hits, ("the sanitizer blanks wall-clock figures in cells nbval compares; move the timing "
                      f"into its own cell tagged nbval-ignore-output: {hits}")
