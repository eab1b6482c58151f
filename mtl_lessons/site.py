"""The course as a static website, built offline: ``make site`` (``python -m mtl_lessons.site``).

The site holds the README (English and Chinese), every lesson and, in a section of its own, every
solutions notebook, rendered with their committed outputs (nothing is executed), the data card and
the glossary, with a navigation sidebar, figures and formulas.

The stack is Sphinx with myst-nb and sphinx-book-theme (the Jupyter Book 1 stack). It was chosen for
the long run: Sphinx has been maintained for over fifteen years and myst-nb / the book theme by the
Executable Books project; MkDocs 1.x has had no release since 2024 and Material for MkDocs has
announced the end of its maintenance for 2027; Jupyter Book 2 needs Node and the network at build time.
Formulas are rendered in the browser by **MathJax 2.7 shipped with the site** (from the pinned
``jupyter-server-mathjax`` package), so no page loads anything from a CDN.

How it is built: the course's files are copied into a temporary source folder that mirrors the
repository's layout (so the READMEs' relative links to ``notebooks/…`` resolve), an ``index`` page
lists them, and Sphinx writes the HTML into a temporary folder beside the destination, which is then
renamed into place. The destination is replaced only if it is a site this function wrote (it carries
the marker file :data:`MARKER`), or with ``overwrite=True``.
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

__all__ = ["build_site", "REPOSITORY", "DEFAULT_OUT", "MARKER"]

REPOSITORY = Path(__file__).resolve().parents[1]
"""The course repository this package belongs to (its notebooks are the site's pages)."""

DEFAULT_OUT = Path("build") / "site"
"""Where ``python -m mtl_lessons.site`` writes the site, relative to the working folder."""

MARKER = ".mtl_lessons_site"
"""A file in every site this module writes: such a folder may be rebuilt in place."""

_CONF = '''
project = "Multi-Task Learning for AI Shopping Guides · 多任务学习 × AI导购"
extensions = ["myst_nb"]
myst_enable_extensions = ["dollarmath", "amsmath"]
nb_execution_mode = "off"  # the committed outputs are the content
html_theme = "sphinx_book_theme"
html_title = "MTL for AI Shopping Guides"
html_static_path = ["_static"]
html_theme_options = {"show_toc_level": 2}
html_copy_source = False  # the notebooks are in the repository; the site needs only their pages
html_show_sourcelink = False
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML"  # served with the site, no CDN
exclude_patterns = ["_build"]
suppress_warnings = ["myst.header"]  # the lessons put "### Learning objectives" right under their title
'''


def _notebooks(folder: Path) -> list[Path]:
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def _stage(root: Path, source: Path) -> list[str]:
    """Copy the course's pages into ``source`` (the repository's layout) and write conf.py and index.md.

    Returns the documents of the site, without suffix, as Sphinx names them.
    """
    import jupyter_server_mathjax

    pages = []
    for folder in ("notebooks", "solutions"):
        (source / folder).mkdir()
        for notebook in _notebooks(root / folder):
            shutil.copy2(notebook, source / folder / notebook.name)
            pages.append(f"{folder}/{notebook.stem}")
    for name in ("README.md", "README.zh-CN.md", "datasets/DATA_CARD.md", "docs/glossary.md"):
        if not (root / name).is_file():
            raise FileNotFoundError(f"{root / name} is missing: the site needs it")
        (source / name).parent.mkdir(exist_ok=True)
        shutil.copy2(root / name, source / name)
    mathjax = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.copytree(mathjax, source / "_static" / "mathjax")
    lessons = "\n".join(page for page in pages if page.startswith("notebooks/"))
    solutions = "\n".join(page for page in pages if page.startswith("solutions/"))
    (source / "conf.py").write_text(_CONF, encoding="utf-8")
    (source / "index.md").write_text(f"""# Multi-Task Learning for AI Shopping Guides · 多任务学习 × AI导购

A hands-on course on multi-task learning for e-commerce recommendation, in PyTorch and Keras 3. Every page
shows a notebook with the outputs committed in the repository; to run them, clone the repository and follow
the README.

```{{toctree}}
:caption: The course
:maxdepth: 1
README
README.zh-CN
datasets/DATA_CARD
docs/glossary
```

```{{toctree}}
:caption: Lessons
:maxdepth: 1
{lessons}
```

```{{toctree}}
:caption: Solutions
:maxdepth: 1
{solutions}
```
""", encoding="utf-8")
    return ["index", "README", "README.zh-CN", "datasets/DATA_CARD", "docs/glossary", *pages]


def build_site(out: str | os.PathLike = DEFAULT_OUT, *, root: str | os.PathLike = REPOSITORY,
               overwrite: bool = False) -> Path:
    """Build the course's website into the folder ``out``; return it.

    Args:
        out: the folder to write (its parent must exist). An existing folder is replaced only if this
            function wrote it (it holds :data:`MARKER`) or ``overwrite=True``.
        root: the course repository (its ``notebooks/``, ``solutions/``, READMEs, data card, glossary).
        overwrite: replace ``out`` even if it is not a site this function wrote.

    Raises:
        FileNotFoundError: ``out``'s parent, or a page the site needs, is missing.
        FileExistsError: ``out`` exists, is not a site written here, and ``overwrite`` is False.
        RuntimeError: Sphinx reported an error or a warning (the message holds its log).
    """
    from sphinx.cmd.build import build_main
    from sphinx.deprecation import RemovedInSphinx11Warning

    out, root = Path(out), Path(root)
    if not out.parent.is_dir():
        raise FileNotFoundError(f"folder {out.parent} does not exist; create it before building {out.name}")
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} is a file, not a site folder; move it away or choose another out")
    if out.exists() and not (out / MARKER).exists() and not overwrite:
        raise FileExistsError(f"{out} exists and was not written by build_site (no {MARKER}); "
                              "move it away or pass overwrite=True")
    with tempfile.TemporaryDirectory(prefix="mtl-site-source-") as source_name:
        source = Path(source_name)
        _stage(root, source)
        html = source / "_build" / "html"  # myst-nb also writes a jupyter_execute folder beside it
        log = io.StringIO()
        with redirect_stdout(log), redirect_stderr(log), warnings.catch_warnings():
            # the book theme and myst-parser still use Sphinx APIs deprecated for Sphinx 11: their problem, not the site's
            warnings.filterwarnings("ignore", category=RemovedInSphinx11Warning)
            status = build_main(["-q", "-W", "--keep-going", "-b", "html", "-d", str(source / "_build" / "doctrees"),
                                 str(source), str(html)])
        if status != 0:
            raise RuntimeError(f"Sphinx failed (exit {status}); its log:\n{log.getvalue()}")
        (html / MARKER).write_text("written by mtl_lessons.site.build_site\n", encoding="utf-8")
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
        try:
            shutil.copytree(html, staging, dirs_exist_ok=True)
            old = None
            if out.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
                os.rmdir(old)
                os.rename(out, old)
            os.rename(staging, out)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mtl_lessons.site [--out build/site] [--overwrite]``."""
    parser = argparse.ArgumentParser(prog="python -m mtl_lessons.site", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write (default %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace --out even if this command did not write it")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        out = build_site(args.out, overwrite=args.overwrite)
    except (FileExistsError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"built the course website in {time.perf_counter() - start:.0f} s: open {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
