"""Multi-task models and their training loop in Keras 3 (TensorFlow backend).

The same public API, architecture and initialisation as :mod:`mtl_lessons.torch_mtl`; a
lesson can switch frameworks by changing one import. Imports keras and tensorflow, never torch.
Call ``repro.setup(seed, frameworks=("keras",))`` before importing this module; if Keras has
not been imported yet, the module sets the same environment defaults (``KERAS_BACKEND``,
quiet TensorFlow logs) itself, without overriding values already set.

Architecture (both frameworks)
------------------------------
* :class:`FeatureInput`: one ``Embedding`` per categorical feature (8 for ``user_id``/``item_id``,
  4 otherwise), concatenated in ``cardinalities`` order, then the numeric columns.
* :func:`mlp_block`: Dense → ReLU (→ Dropout) for each hidden size.
* Heads by task kind: binary → 1 logit, multi-class → ``n_classes`` logits, regression → 1 value.
* :class:`SingleTaskModel`, :class:`SharedBottomModel` (hard parameter sharing),
  :class:`SoftSharingModel` (one tower per task, tied by a penalty) and the expert models
  :class:`MMoEModel` / :class:`PLEModel` (:mod:`.experts`), and :class:`ESMMModel` (:mod:`.esmm`:
  one tower per funnel stage; outputs the joint probabilities of reaching each stage, ESMM's pCTR
  and pCTCVR; :func:`predict_conditional` reads the conditional ones, pCVR), all
  ``keras.Model`` subclasses called with a dict ``{feature: int ids (n,), "numeric": (n, k)}``
  and returning a dict task → raw output (logit (n,), logits (n, C) or value (n,)).

Initialisation (both frameworks): Dense kernels Glorot-uniform, biases zero, embeddings
uniform(−0.05, 0.05).

Training: a custom loop, not ``model.fit``
-------------------------------------------
:func:`train` runs its own loop (a ``tf.function`` step with ``tf.GradientTape``), mirroring
``torch_mtl.train`` line for line. Why not ``model.fit`` with per-output losses and sample
weights? (1) Keras' default loss reduction divides a weighted loss by the *batch size*, not by
the number of labelled rows, so a sparse task's loss would shrink with its label rate instead of
being the masked mean (the ``"mean_with_sample_weight"`` reduction would fix that, at the cost of
a less visible rule); (2) the loss combination would be hidden inside ``compile``'s
``loss_weights``, whereas here it is one call to ``combine`` (default
:func:`mtl_lessons.mtl_core.combine_losses`) that later lessons replace with adaptive weighting;
(3) early stopping on ``metrics.task_metrics`` and restoring the best weights would need
callbacks. The explicit loop keeps all three in view and identical to the PyTorch version.

Optimiser: ``keras.optimizers.Adam`` (ε = 1e-7) with decoupled weight decay (Keras' ``weight_decay``
multiplies each variable by ``1 − lr · wd`` before the step, as ``torch.optim.AdamW`` does), applied
to the variables that receive a gradient; the embedding tables are excluded from the optimiser's
decay and shrunk by the loop at their own rate (``embedding_weight_decay``).

Saving weights
--------------
:func:`save_weights` writes a ``.weights.h5`` file in this course's layout (one float32 dataset
per framework-neutral name of :func:`export_weights`, not Keras' own layout, see there, and a
SHA-256 checksum), atomically, and never over an existing file unless ``overwrite=True``;
:func:`load_weights` verifies the checksum, checks the file against the model layer by layer and can load only some layers
(``layers=("features", "bottom")``: a pretrained feature extractor for transfer learning).

Modules, one idea each (every name is exported here, so ``keras_mtl.<name>`` works as before):
:mod:`.layers` (``FeatureInput``, ``mlp_block``, seeded initialisers), :mod:`.models` (the
models, ``last_shared_layer``, ``parameter_count``, neutral layer names), :mod:`.training`
(tensors, ``task_losses``, ``predict``, ``train``), :mod:`.weights_io` (export / import,
save / load) and :mod:`.export` (the serving signature as a TensorFlow SavedModel). This ``__init__`` sets the environment defaults before any of them imports Keras.
"""
from __future__ import annotations

import os
import sys

from ..repro import QUIET_ENV

if "keras" not in sys.modules:
    for _key, _value in QUIET_ENV.items():
        os.environ.setdefault(_key, _value)

import keras  # noqa: E402 - after the environment defaults
import tensorflow as tf  # noqa: E402,F401 - imported before the backend check, as before the split

if keras.backend.backend() != "tensorflow":
    raise ImportError(f"mtl_lessons.keras_mtl needs the TensorFlow backend of Keras, but Keras runs on "
                      f"{keras.backend.backend()!r}; call repro.setup(...) before importing keras")

# The private helpers are exported too (tests and later modules use some), as before the split.
from ..mtl_core import combine_losses  # noqa: E402
from .layers import (  # noqa: E402
    EMBEDDING_INIT_RANGE,
    FeatureInput,
    _dense,
    _denses,
    _embedding_dims,
    _Seeds,
    _seeds,
    mlp_block,
)
from .models import (  # noqa: E402
    MultiTaskNet,
    SharedBottomModel,
    SingleTaskModel,
    SoftSharingModel,
    _check_model,
    _named_layers,
    last_shared_layer,
    parameter_count,
)
from .experts import SHARED, ExtractionLevel, MMoEModel, PLEModel, gate_weights, mix  # noqa: E402
from .esmm import ESMMModel, funnel_logits, predict_conditional  # noqa: E402
from .export import export_saved_model  # noqa: E402
from .training import (  # noqa: E402
    ADAM_EPSILON,
    _optimizers,
    _width,
    feature_tensors,
    label_tensors,
    predict,
    task_losses,
    train,
)
from .weights_io import (  # noqa: E402
    _CHECKSUM_ATTR,
    _DIGEST_END,
    _HDF5_SIGNATURE,
    _USERBLOCK_MAGIC,
    _USERBLOCK_SIZE,
    _WEIGHTS_FORMAT,
    WEIGHTS_SUFFIX,
    _check_weights_path,
    _not_a_weights_file,
    _read_weights,
    export_weights,
    import_weights,
    load_weights,
    save_weights,
)

__all__ = [
    "FeatureInput",
    "mlp_block",
    "MultiTaskNet",
    "SingleTaskModel",
    "SharedBottomModel",
    "SoftSharingModel",
    "MMoEModel",
    "PLEModel",
    "ExtractionLevel",
    "mix",
    "gate_weights",
    "ESMMModel",
    "funnel_logits",
    "predict_conditional",
    "last_shared_layer",
    "parameter_count",
    "feature_tensors",
    "label_tensors",
    "task_losses",
    "combine_losses",
    "train",
    "predict",
    "export_weights",
    "import_weights",
    "save_weights",
    "load_weights",
    "export_saved_model",
]
