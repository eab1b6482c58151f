"""The framework-free half of the training core, shared by ``torch_mtl`` and ``keras_mtl``.

Everything here is plain Python and NumPy, so both framework modules use *one* definition of:

* the default embedding sizes and the layout of a model's inputs (:func:`embedding_dims`,
  :data:`NUMERIC_KEY`);
* argument validation with errors that name the argument (:func:`resolve_tasks`,
  :func:`check_inputs`, :func:`resolve_loss_weights`, :func:`resolve_monitor`, ...);
* the loss combination (:func:`combine_losses`), the one place a later lesson swaps for an
  adaptive weighting strategy;
* early-stopping bookkeeping (:class:`EarlyStopping`) and the training-history table.

Importing this package imports neither PyTorch nor TensorFlow.

Modules, one idea each (every name is exported here, so ``mtl_core.<name>`` works as before):

* :mod:`.layout`: tasks, heads, embedding sizes, model-constructor checks, an export's signature metadata;
* :mod:`.inputs`: checks of ``ModelInputs`` and label / mask matrices;
* :mod:`.training_args`: checks of ``train``'s arguments (weights, monitor, rates, decay);
* :mod:`.objective`: the loss combination and the soft-sharing penalties;
* :mod:`.weights_files`: neutral weight names, checksum, choosing the entries to load;
* :mod:`.training_loop`: validation, early stopping, history, training plan, epoch log.
"""
from __future__ import annotations

# Private helpers (_is_int, _check_rate) and weights_checksum are exported too, as before the split.
from .inputs import check_inputs, label_matrices
from .layout import (
    DEFAULT_EMBEDDING_DIM,
    DEFAULT_EMBEDDING_DIMS,
    NUMERIC_KEY,
    _is_int,
    check_architecture,
    check_experts,
    check_funnel,
    embedding_dims,
    model_tasks,
    output_size,
    resolve_n_classes,
    resolve_tasks,
    serving_metadata,
    task_tuple,
)
from .objective import SOFT_SHARING_PENALTIES, check_combine_tasks, check_soft_sharing, combine_losses
from .training_args import (
    ALL_TASKS,
    METRICS_BY_KIND,
    _check_rate,
    check_positive_int,
    check_training_args,
    resolve_embedding_decay,
    resolve_learning_rates,
    resolve_loss_weights,
    resolve_monitor,
)
from .training_loop import (
    EarlyStopping,
    EpochLog,
    TrainingPlan,
    history_frame,
    plan_training,
    validation_score,
)
from .weights_files import layer_of, pick_weights, weights_checksum

__all__ = [
    "NUMERIC_KEY",
    "DEFAULT_EMBEDDING_DIM",
    "DEFAULT_EMBEDDING_DIMS",
    "METRICS_BY_KIND",
    "ALL_TASKS",
    "embedding_dims",
    "task_tuple",
    "resolve_tasks",
    "serving_metadata",
    "model_tasks",
    "resolve_n_classes",
    "output_size",
    "check_architecture",
    "check_experts",
    "check_funnel",
    "check_inputs",
    "label_matrices",
    "resolve_loss_weights",
    "resolve_monitor",
    "check_positive_int",
    "check_training_args",
    "resolve_embedding_decay",
    "resolve_learning_rates",
    "combine_losses",
    "check_combine_tasks",
    "SOFT_SHARING_PENALTIES",
    "check_soft_sharing",
    "layer_of",
    "pick_weights",
    "validation_score",
    "EarlyStopping",
    "history_frame",
    "TrainingPlan",
    "plan_training",
    "EpochLog",
]
