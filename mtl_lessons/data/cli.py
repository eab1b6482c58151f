"""The regeneration command (``make data``, ``python -m mtl_lessons.data``): ``main``."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..atomic import atomic_write
from .card import CARD_FILE, _card_with_figures
from .config import TargetConfig
from .files import _shop_files, _write_files
from .shop import simulate_shop
from .target import simulate_target
from .text import TEXT_DIR_NAME, text_files


def main(argv: list[str] | None = None) -> None:
    """``python -m mtl_lessons.data [--out DIR]``: regenerate the course dataset (in DIR), its
    target domain (in DIR/target), the shopping-guide text of lesson 09 (in DIR/text) and the data card's
    figures (if DIR holds ``DATA_CARD.md``).

    This is the regeneration command (``make data``): it replaces the dataset files in DIR.
    Everything is simulated, measured and rendered in memory first; then each file is written to a
    temporary file and moved into place, so an interruption never leaves a half-written file (the
    hand-written data card included).
    """
    from .. import data as package  # DATA_DIR / TARGET_DIR as the package's users see them

    parser = argparse.ArgumentParser(description="Regenerate the simulated shop dataset and its target domain.")
    parser.add_argument("--out", default=str(package.DATA_DIR),
                        help="directory to write (default: datasets/); its dataset files are replaced")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out} is a file, not a folder")
    shop = simulate_shop()
    target = simulate_target(TargetConfig(source=shop.config))
    parts = ((shop, out), (target, out / package.TARGET_DIR.name))
    rendered = [(directory, _shop_files(part)) for part, directory in parts]
    rendered.append((out / TEXT_DIR_NAME, text_files(shop)))
    card = out / CARD_FILE
    card_text = None
    if card.is_file():
        card_text = card.read_text(encoding="utf-8")
        for part, _ in parts:
            card_text = _card_with_figures(card_text, part, card.name)
    for directory, files in rendered:
        for path in _write_files(directory, files, overwrite=True):
            print(f"wrote {path.relative_to(out)} ({path.stat().st_size / 1e6:.2f} MB)")
    if card_text is not None:
        atomic_write(card, lambda tmp: tmp.write_text(card_text, encoding="utf-8"), overwrite=True)
        print(f"updated the measured figures in {card.name}")

