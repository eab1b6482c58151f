"""``python -m mtl_lessons.data [--out DIR]``: regenerate the course dataset (see ``cli.main``)."""
from .cli import main

if __name__ == "__main__":
    main()
