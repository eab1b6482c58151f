"""mtl_lessons: the helper package of the course *Multi-Task Learning for AI Shopping Guides*.

Small and flat, one module per idea:

- ``repro``   seeds and quiet logging for a notebook (one call).
- ``data``    the simulated shop, its task registry, chronological splits and model inputs.
- ``metrics`` per-task evaluation that respects label masks.
- ``plots``   the few figures the lessons share.

Importing this package imports neither PyTorch nor TensorFlow.
"""

__version__ = "0.1.0"
