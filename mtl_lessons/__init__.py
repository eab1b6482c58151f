"""mtl_lessons: the helper package of the course *Multi-Task Learning for AI Shopping Guides*.

Small and flat, one module per idea:

- ``repro``   seeds and quiet logging for a notebook (one call).
- ``data``    the simulated shop, its task registry, chronological splits and model inputs.
- ``metrics`` per-task evaluation that respects label masks.
- ``plots``   the few figures the lessons share.
- ``torch_mtl`` / ``keras_mtl``  the training core (models, masked losses, ``train``, ``predict``),
  one module per framework with the same API; each imports only its own framework.
- ``mtl_core`` the framework-free half of the training core (validation, loss combination,
  early stopping).

Importing this package imports neither PyTorch nor TensorFlow.
"""

__version__ = "0.1.0"
