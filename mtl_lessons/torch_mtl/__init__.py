"""Multi-task models and their training loop in PyTorch.

The same public API, architecture and initialisation as :mod:`mtl_lessons.keras_mtl`; a
lesson can switch frameworks by changing one import. Imports torch, never TensorFlow/Keras.

Architecture (both frameworks)
------------------------------
* :class:`FeatureInput`: one embedding table per categorical feature (sizes from
  :func:`mtl_lessons.mtl_core.embedding_dims`: 8 for ``user_id``/``item_id``, 4 otherwise),
  the embeddings of a row concatenated in ``cardinalities`` order, then the numeric columns.
* :func:`mlp_block`: Linear → ReLU (→ Dropout) for each hidden size.
* Heads by task kind: binary → 1 logit, multi-class → ``n_classes`` logits, regression → 1 value.
* :class:`SingleTaskModel`: inputs → MLP(``hidden``) → one head.
* :class:`SharedBottomModel`: hard parameter sharing: inputs → shared MLP(``bottom``) → per task
  an optional MLP tower(``tower``) → its head.
* :class:`SoftSharingModel`: soft parameter sharing: inputs → per task its own MLP tower
  (identical shapes) → its head, the towers tied only by a penalty (``model.penalty()``) that
  ``train`` adds to the objective.
* :class:`MMoEModel` / :class:`PLEModel` (:mod:`.experts`): expert MLPs mixed per task by softmax
  gates (MMoE, OMoE with ``one_gate=True``), or task-specific and shared experts in levels (PLE).
* :class:`ESMMModel` (:mod:`.esmm`): one tower per funnel stage (conditional probabilities);
  the outputs are the joint probabilities of reaching each stage (ESMM's pCTR and pCTCVR);
  :func:`predict_conditional` reads the conditional ones (pCVR).

A model is called with a dict ``{feature name: int64 ids (n,), "numeric": float32 (n, k)}``
(:func:`feature_tensors` builds it from ``ModelInputs``) and returns a dict task → raw output:
a logit (n,) for binary tasks, logits (n, C) for multi-class tasks, a value (n,) for regression.

Initialisation (both frameworks): Linear weights Glorot-uniform, biases zero, embeddings
uniform(−0.05, 0.05). A ``seed`` makes it reproducible without touching the global generator.

Training
--------
:func:`train` is a plain loop: each epoch shuffles the rows (NumPy generator seeded by
``seed``, so both frameworks see the same batches), cuts mini-batches by tensor indexing,
computes the per-task masked-mean losses (:func:`task_losses`), combines them with
``combine`` (default :func:`mtl_lessons.mtl_core.combine_losses`, the weighted sum) and takes
one Adam step (decoupled weight decay, i.e. ``torch.optim.AdamW``, with its own rate for the
embedding tables; ε = 1e-7 as in Keras). After
each epoch it scores the validation split with ``metrics.task_metrics``, and at the end it
restores the weights of the best epoch.

Saving weights
--------------
:func:`save_weights` writes ``model.state_dict()`` with ``torch.save`` (suffix ``.pt``), with a
SHA-256 checksum of its tensors, atomically, and never over an existing file unless
``overwrite=True``; :func:`load_weights` reads it back with ``torch.load(..., weights_only=True)``
(tensors only, no arbitrary unpickling), verifies the checksum, checks it against the model under
the framework-neutral layer names of :func:`export_weights` and can load only some layers
(``layers=("features", "bottom")``: a pretrained feature extractor for transfer learning).

Modules, one idea each (every name is exported here, so ``torch_mtl.<name>`` works as before):
:mod:`.layers` (``FeatureInput``, ``mlp_block``, seeded initialisation), :mod:`.models` (the
models, ``last_shared_layer``, ``parameter_count``, neutral layer names), :mod:`.training`
(tensors, ``task_losses``, ``predict``, ``train``), :mod:`.experts` (``MMoEModel``, ``PLEModel``,
their gates), :mod:`.weights_io` (export / import, save / load) and :mod:`.export` (the serving
signature as a ``torch.export`` program or an ONNX file, for :func:`mtl_lessons.deploy.load_scorer`).
"""
from __future__ import annotations

# The private helpers are exported too (tests and later modules use some), as before the split.
from ..mtl_core import combine_losses
from .layers import EMBEDDING_INIT_RANGE, FeatureInput, _embedding_dims, _init_linear, _linears, _seeded, mlp_block
from .models import (
    MultiTaskNet,
    SharedBottomModel,
    SingleTaskModel,
    SoftSharingModel,
    _check_model,
    _named_layers,
    last_shared_layer,
    parameter_count,
)
from .experts import SHARED, ExtractionLevel, MMoEModel, PLEModel, gate_weights, mix
from .esmm import ESMMModel, funnel_logits, predict_conditional
from .export import ServingModule, export_onnx, export_program
from .training import (
    ADAM_EPSILON,
    _optimizer,
    _width,
    feature_tensors,
    label_tensors,
    predict,
    task_losses,
    train,
)
from .weights_io import (
    _STATE_KEY,
    CHECKSUM_KEY,
    _neutral_state,
    _not_a_weights_file,
    _read_state,
    _state_arrays,
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
    "ServingModule",
    "export_program",
    "export_onnx",
]
