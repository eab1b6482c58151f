"""README.zh-CN.md keeps up with README.md.

The Chinese README is a translation of the English one, which stays the reference. These tests
catch a translation that silently falls behind: when README.md gains a `make` command (or a
`python -m mtl_lessons` one), a link (e.g. a new lesson) or a table row, README.zh-CN.md must gain
it too. They also check that the
two READMEs link to each other and that every relative link of the Chinese README resolves.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_EN = ROOT / "README.md"
README_ZH = ROOT / "README.zh-CN.md"
LINK_TO_ZH = "[中文说明 (README.zh-CN.md)](README.zh-CN.md)"
LINK_TO_EN = "[English (README.md)](README.md)"

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
# a make invocation: `make`, a target, then any VAR=value arguments
MAKE_COMMAND = re.compile(r"(?<![\w$./-])make(?: +[a-z][\w-]*)?(?: +[A-Z][A-Z0-9_]*=[^\s`]+)*")
# the course's Python entry point (the same targets without make): `python -m mtl_lessons <target>`
ENTRY_POINT = re.compile(r"-m +mtl_lessons(?: +[a-z][\w-]*)?(?= |$)")
# [text](target) — text may hold backticks; the target ends at the first ')' or space
LINK = re.compile(r"\[(?:[^\]\n]*)\]\(([^)\s]+)\)")
TABLE_ROW = re.compile(r"^\|.*\|\s*$")
SEPARATOR_ROW = re.compile(r"^\|(?:\s*:?-+:?\s*\|)+\s*$")


def read(path: Path) -> str:
    assert path.is_file(), f"{path.name} is missing"
    return path.read_text(encoding="utf-8")


def code_texts(markdown: str) -> list[str]:
    """Fenced code blocks (comments after '#' dropped) and inline code spans."""
    blocks = [
        "\n".join(line.split("#", 1)[0] for line in block.splitlines())
        for block in FENCE.findall(markdown)
    ]
    prose = FENCE.sub("", markdown)
    return blocks + INLINE_CODE.findall(prose)


def make_commands(markdown: str) -> set[str]:
    """Every `make ...` command written as code (not the word 'make' in prose), and every
    `python -m mtl_lessons <target>` (recorded as '-m mtl_lessons <target>')."""
    commands: set[str] = set()
    for text in code_texts(markdown):
        for line in text.splitlines():
            for pattern in (MAKE_COMMAND, ENTRY_POINT):
                commands.update(" ".join(m.group(0).split()) for m in pattern.finditer(line))
    return commands


def relative_links(markdown: str) -> list[str]:
    """Link targets that are paths in this repository (no scheme, no pure #anchor)."""
    targets = [m.group(1) for m in LINK.finditer(FENCE.sub("", markdown))]
    return [
        t
        for t in targets
        if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", t) and not t.startswith("#")
    ]


def tables(markdown: str) -> list[list[list[str]]]:
    """Markdown tables, in order: each a list of body rows, each row a list of cell texts."""
    found: list[list[list[str]]] = []
    lines = FENCE.sub("", markdown).splitlines()
    i = 0
    while i < len(lines):
        if (
            TABLE_ROW.match(lines[i])
            and i + 1 < len(lines)
            and SEPARATOR_ROW.match(lines[i + 1])
        ):
            rows = []
            i += 2
            while i < len(lines) and TABLE_ROW.match(lines[i]):
                rows.append([cell.strip() for cell in lines[i].strip().strip("|").split("|")])
                i += 1
            found.append(rows)
        else:
            i += 1
    return found


def syllabus(markdown: str) -> list[list[str]]:
    """The syllabus table: the one whose rows link to notebooks/."""
    candidates = [t for t in tables(markdown) if t and all("(notebooks/" in r[1] for r in t)]
    assert len(candidates) == 1, f"expected one syllabus table, found {len(candidates)}"
    return candidates[0]


def numbers(text: str) -> list[str]:
    return re.findall(r"\d+(?:\.\d+)?", text)


@pytest.fixture(scope="module")
def en() -> str:
    return read(README_EN)


@pytest.fixture(scope="module")
def zh() -> str:
    return read(README_ZH)


def test_the_readmes_link_to_each_other(en: str, zh: str) -> None:
    assert zh.splitlines()[0].strip() == LINK_TO_EN, (
        f"README.zh-CN.md's first line must be {LINK_TO_EN!r}"
    )
    assert LINK_TO_ZH in en, f"README.md must link to the Chinese README: {LINK_TO_ZH!r}"
    assert "README.zh-CN.md" in relative_links(en)
    assert "README.md" in relative_links(zh)


def test_the_chinese_readme_says_the_english_one_is_the_reference(zh: str) -> None:
    head = "\n".join(zh.splitlines()[:8])
    assert "以英文版为准" in head, "say near the top that the English README wins when they differ"


def test_extractors_see_the_english_readme(en: str) -> None:
    """Guards the checks below against passing vacuously (e.g. after a regex change)."""
    commands = make_commands(en)
    assert {"make course", "make test", "make lab", "make"} <= commands, commands
    assert "make course PYTHON=python3.11" in commands
    assert any(t.startswith("notebooks/") for t in relative_links(en))
    assert len(syllabus(en)) >= 8


def test_every_make_command_is_in_the_chinese_readme(en: str, zh: str) -> None:
    missing = sorted(make_commands(en) - make_commands(zh))
    assert not missing, f"make commands of README.md missing from README.zh-CN.md: {missing}"


def test_every_relative_link_of_the_english_readme_is_in_the_chinese_one(
    en: str, zh: str
) -> None:
    missing = sorted(set(relative_links(en)) - {"README.zh-CN.md"} - set(relative_links(zh)))
    assert not missing, f"links of README.md missing from README.zh-CN.md: {missing}"


def test_the_tables_have_the_same_rows(en: str, zh: str) -> None:
    en_tables, zh_tables = tables(en), tables(zh)
    assert [len(t) for t in zh_tables] == [len(t) for t in en_tables], (
        "README.zh-CN.md's tables must have as many rows as README.md's, in the same order: "
        f"README.md {[len(t) for t in en_tables]}, README.zh-CN.md {[len(t) for t in zh_tables]}"
    )
    # the package table: the module names, unchanged and in order
    for en_table, zh_table in zip(en_tables, zh_tables):
        if en_table and all(r[0].startswith("`") for r in en_table):
            assert [r[0] for r in zh_table] == [r[0] for r in en_table]


def test_the_syllabus_rows_agree(en: str, zh: str) -> None:
    en_rows, zh_rows = syllabus(en), syllabus(zh)
    assert len(zh_rows) == len(en_rows), (
        f"the syllabus has {len(en_rows)} rows in README.md, {len(zh_rows)} in README.zh-CN.md"
    )
    for en_row, zh_row in zip(en_rows, zh_rows):
        lesson = en_row[0]
        assert zh_row[0] == lesson, f"row order differs: {zh_row[0]!r} where README.md has {lesson!r}"
        assert zh_row[1] == en_row[1], (
            f"lesson {lesson}: keep the bilingual title and link as in README.md: {en_row[1]!r}"
        )
        assert numbers(zh_row[-2]) == numbers(en_row[-2]), f"lesson {lesson}: study time differs"
        assert numbers(zh_row[-1]) == numbers(en_row[-1]), f"lesson {lesson}: compute time differs"


def test_every_relative_link_of_the_chinese_readme_resolves(zh: str) -> None:
    broken = []
    for target in relative_links(zh):
        path = unquote(target.split("#", 1)[0])
        if path and not (ROOT / path).exists():
            broken.append(target)
    assert not broken, f"README.zh-CN.md links to missing files: {broken}"
