"""`make site`: the course website builds offline with every page, figure and formula (about 15 s).

The site is built once into a temporary folder; the checks read its HTML.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
from mtl_lessons import site  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return site.build_site(tmp_path_factory.mktemp("site") / "html")


def page(built: Path, notebook: Path) -> str:
    path = built / notebook.parent.name / f"{notebook.stem}.html"
    assert path.is_file(), f"no page for {notebook.name}"
    return path.read_text(encoding="utf-8")


def figures_in(notebook: Path) -> int:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return sum("image/png" in output.get("data", {}) for cell in cells for output in cell.get("outputs", []))


def formulas_in(notebook: Path) -> int:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return sum("".join(cell["source"]).count("$$") // 2 for cell in cells if cell["cell_type"] == "markdown")


def test_every_lesson_and_solution_has_a_page_with_its_title(built):
    assert LESSONS and SOLUTIONS
    for notebook in LESSONS + SOLUTIONS:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        title = "".join(cells[0]["source"]).splitlines()[0].lstrip("# ").strip()
        html = page(built, notebook)
        assert title.split(" · ")[0] in html.replace("&amp;", "&"), notebook.name


def test_the_readmes_data_card_and_glossary_have_pages(built):
    for name in ("index.html", "README.html", "README.zh-CN.html", "datasets/DATA_CARD.html", "docs/glossary.html"):
        assert (built / name).is_file(), name
    assert "中英术语表" in (built / "docs" / "glossary.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("notebook", LESSONS + SOLUTIONS, ids=lambda path: path.stem)
def test_each_page_shows_its_figures_and_formulas(built, notebook):
    html = page(built, notebook)
    images = re.findall(r'<img[^>]+src="(\.\./_images/[^"]+\.png)"', html)
    assert len(images) >= figures_in(notebook), "a figure of the notebook is missing from its page"
    for source in images:
        assert (built / notebook.parent.name / source).resolve().is_file(), source
    displayed = html.count(r"\[")
    assert displayed >= formulas_in(notebook), "a displayed formula is missing"
    if displayed or r"\(" in html:
        assert 'src="../_static/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML"' in html


def test_maths_and_styles_come_with_the_site_never_from_the_network(built):
    assert (built / "_static" / "mathjax" / "MathJax.js").is_file()
    for html in built.rglob("*.html"):
        remote = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(https?://[^"]+)"', html.read_text(encoding="utf-8"))
        assert not remote, f"{html.relative_to(built)} loads {remote}"


def test_the_index_links_every_page_in_three_sections(built):
    index = (built / "index.html").read_text(encoding="utf-8")
    for caption in ("The course", "Lessons", "Solutions"):
        assert caption in index
    for notebook in LESSONS + SOLUTIONS:
        assert f'href="{notebook.parent.name}/{notebook.stem}.html"' in index, notebook.name


def test_readme_links_to_lessons_resolve_to_pages(built):
    readme = (built / "README.html").read_text(encoding="utf-8")
    for notebook in LESSONS:
        assert f'href="notebooks/{notebook.stem}.html' in readme, notebook.name


def test_a_site_is_rebuilt_in_place_but_a_foreign_folder_is_kept(built, tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="not written by build_site"):
        site.build_site(foreign)
    assert (foreign / "notes.txt").read_text() == "keep"
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        site.build_site(tmp_path / "file")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        site.build_site(tmp_path / "absent" / "html")
    assert (built / site.MARKER).is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file", "mine"], "a temporary folder was left behind"


def test_a_missing_page_source_is_named(tmp_path):
    root = tmp_path / "course"
    (root / "notebooks").mkdir(parents=True)
    (root / "solutions").mkdir()
    (root / "README.md").write_text("# x\n")
    with pytest.raises(FileNotFoundError, match="README.zh-CN.md is missing"):
        site.build_site(tmp_path / "html", root=root)
    assert not (tmp_path / "html").exists()
