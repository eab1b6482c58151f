"""The PyTorch multi-task models (single-task, shared bottom, soft sharing) and what is read off them:
the last shared layer, the parameter count, and the framework-neutral names of their layers."""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import torch
from torch import nn

from ..data import get_task
from ..mtl_core import check_architecture, check_soft_sharing, output_size, resolve_n_classes, resolve_tasks
from .layers import FeatureInput, _init_linear, _linears, _seeded, mlp_block


# --------------------------------------------------------------------------- models
class MultiTaskNet(nn.Module):
    """Inputs → shared MLP ``bottom`` → per task an MLP ``tower`` → a head (base of both models).

    Args:
        cardinalities: feature name → number of ids.
        n_numeric: number of numeric columns.
        tasks: task names (keys of ``data.TASKS``).
        n_classes: task → number of classes, needed for multi-class tasks (``encoder.n_classes``).
        bottom: hidden sizes of the shared MLP.
        tower: hidden sizes of each task's own MLP (``()``: the head sits on the bottom).
        dropout: dropout after every hidden layer (bottom and towers).
        embedding_dims: see :class:`FeatureInput`.
        seed: seed of the initialisation; None: the global generator.
        architecture: further settings of a subclass, added to ``self.architecture`` before
            its layers are built (the expert models read their sizes from there).

    Attributes:
        tasks: the tasks, in order; ``kinds``: task → kind; ``n_classes``: multi-class task → C.
        features, bottom, towers (task → MLP), heads (task → Linear); ``architecture``: the
        layer sizes as a dict.
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int, tasks: Sequence[str],
                 n_classes: Mapping[str, int] | None = None, *, bottom: Sequence[int] = (128, 64),
                 tower: Sequence[int] = (), dropout: float = 0.0,
                 embedding_dims: Mapping[str, int] | None = None, seed: int | None = None,
                 architecture: Mapping[str, object] | None = None):
        super().__init__()
        self.tasks = resolve_tasks(tasks)
        check_architecture(cardinalities, n_numeric, {"bottom": bottom, "tower": tower}, dropout)
        self.kinds = {task: get_task(task).kind for task in self.tasks}
        self.n_classes = resolve_n_classes(self.tasks, n_classes)
        self.cardinalities = dict(cardinalities)
        self.n_numeric = int(n_numeric)
        self.architecture = {"bottom": tuple(bottom), "tower": tuple(tower), "dropout": float(dropout),
                             **(architecture or {})}
        with _seeded(seed):
            self.features = FeatureInput(cardinalities, n_numeric, embedding_dims)
            self.bottom = mlp_block(self.features.output_dim, bottom, dropout)
            width = self._build_shared(bottom[-1] if bottom else self.features.output_dim)
            self.towers = nn.ModuleDict({task: mlp_block(width, tower, dropout) for task in self.tasks})
            width = tower[-1] if tower else width
            self.heads = nn.ModuleDict({
                task: _init_linear(nn.Linear(width, output_size(task, self.n_classes)))
                for task in self.tasks
            })

    def _build_shared(self, in_features: int) -> int:
        """Build the shared layers between the bottom and the towers (none here; the expert
        models of :mod:`.experts` build theirs) and return the width of a tower's input."""
        return in_features

    def _tower_inputs(self, shared: torch.Tensor) -> dict[str, torch.Tensor]:
        """task → the input of its tower, from the bottom's output (n, width): the same for all here."""
        return {task: shared for task in self.tasks}

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Raw outputs: task → logit (n,) / logits (n, C) / value (n,)."""
        tower_inputs = self._tower_inputs(self.bottom(self.features(inputs)))
        outputs = {}
        for task in self.tasks:
            out = self.heads[task](self.towers[task](tower_inputs[task]))
            outputs[task] = out if self.kinds[task] == "multiclass" else out.squeeze(-1)
        return outputs

    def _shared_layers(self) -> Iterator[tuple[str, nn.Linear]]:
        """The shared dense layers after the bottom, under framework-neutral names (none here)."""
        return iter(())

    def penalty(self) -> torch.Tensor | None:
        """An extra term ``train`` adds to the objective at every step; None: no term."""
        return None


class SingleTaskModel(MultiTaskNet):
    """One task, one network: inputs → MLP(``hidden``) → the task's head.

    Args:
        cardinalities, n_numeric, n_classes, dropout, embedding_dims, seed: as in
            :class:`MultiTaskNet`.
        task: the task name.
        hidden: hidden sizes of the MLP.
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int, task: str,
                 n_classes: Mapping[str, int] | None = None, *, hidden: Sequence[int] = (128, 64),
                 dropout: float = 0.0, embedding_dims: Mapping[str, int] | None = None,
                 seed: int | None = None):
        if not isinstance(task, str):
            raise ValueError(f"task must be one task name (a str), got {task!r}")
        super().__init__(cardinalities, n_numeric, (task,), n_classes, bottom=hidden, tower=(),
                         dropout=dropout, embedding_dims=embedding_dims, seed=seed)
        self.task = task


class SharedBottomModel(MultiTaskNet):
    """Hard parameter sharing: a shared bottom MLP, then per task a small tower and a head.

    Args:
        cardinalities, n_numeric, n_classes, dropout, embedding_dims, seed: as in
            :class:`MultiTaskNet`.
        tasks: the task names.
        bottom: hidden sizes of the shared MLP.
        tower: hidden sizes of each task's tower (``()``: heads directly on the bottom).
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int, tasks: Sequence[str],
                 n_classes: Mapping[str, int] | None = None, *, bottom: Sequence[int] = (128, 64),
                 tower: Sequence[int] = (), dropout: float = 0.0,
                 embedding_dims: Mapping[str, int] | None = None, seed: int | None = None):
        super().__init__(cardinalities, n_numeric, tasks, n_classes, bottom=bottom, tower=tower,
                         dropout=dropout, embedding_dims=embedding_dims, seed=seed)


class SoftSharingModel(MultiTaskNet):
    """Soft parameter sharing: one MLP tower per task, identical shapes, tied by a penalty.

    Every task has its own tower(``tower``) and head on the shared input features (the
    embedding tables are shared, as in the "L2-constrained" baseline of the MMoE paper); there
    is no shared hidden layer. :meth:`penalty` returns, with λ = ``coupling``,

    * ``penalty="coupling"`` (Duong et al. 2015): Ω = λ Σ_{t<s} Σ_l ‖θ_t^l − θ_s^l‖²;
    * ``penalty="norm"`` (λ Σ ‖W‖², as some course texts write soft sharing): Ω = λ Σ_t Σ_l ‖θ_t^l‖², plain L2;

    where θ_t^l is the kernel and bias of layer l of task t's tower (heads are not penalised),
    and ``train`` minimises Σ_t w_t L_t + Ω. λ = 0 gives independent towers; a large λ with
    ``"coupling"`` forces the towers to be equal, i.e. one shared tower (hard sharing).

    Args:
        cardinalities, n_numeric, tasks, n_classes, dropout, embedding_dims, seed: as in
            :class:`MultiTaskNet`.
        tower: hidden sizes of each task's tower (at least one layer).
        coupling: λ ≥ 0.
        penalty: ``"coupling"`` or ``"norm"``.
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int, tasks: Sequence[str],
                 n_classes: Mapping[str, int] | None = None, *, tower: Sequence[int] = (128, 64),
                 coupling: float = 0.0, penalty: str = "coupling", dropout: float = 0.0,
                 embedding_dims: Mapping[str, int] | None = None, seed: int | None = None):
        coupling, penalty_kind = check_soft_sharing(tower, coupling, penalty)
        super().__init__(cardinalities, n_numeric, tasks, n_classes, bottom=(), tower=tower,
                         dropout=dropout, embedding_dims=embedding_dims, seed=seed)
        self.coupling, self.penalty_kind = coupling, penalty_kind

    def tower_parameters(self) -> dict[str, list[torch.Tensor]]:
        """task → [kernel, bias of layer 1, kernel, bias of layer 2, ...] of its tower."""
        return {task: [t for layer in _linears(self.towers[task]) for t in (layer.weight, layer.bias)]
                for task in self.tasks}

    def _distance(self) -> torch.Tensor:
        params = self.tower_parameters()
        total = torch.zeros(())
        for i, task in enumerate(self.tasks):
            for other in self.tasks[i + 1:]:
                for mine, theirs in zip(params[task], params[other]):
                    total = total + ((mine - theirs) ** 2).sum()
        return total

    def _norm(self) -> torch.Tensor:
        return sum(((p ** 2).sum() for ps in self.tower_parameters().values() for p in ps), torch.zeros(()))

    def tower_distance(self) -> float:
        """Σ_{t<s} Σ_l ‖θ_t^l − θ_s^l‖², the squared distance between the towers, summed over pairs."""
        with torch.no_grad():
            return float(self._distance())

    def tower_norm(self) -> float:
        """Σ_t Σ_l ‖θ_t^l‖², the squared size of all towers."""
        with torch.no_grad():
            return float(self._norm())

    def penalty(self) -> torch.Tensor | None:
        """Ω (a tensor with gradient): λ × the towers' distance (``"coupling"``) or squared norm
        (``"norm"``), see :meth:`tower_distance` and :meth:`tower_norm`; None when λ = 0."""
        if self.coupling == 0.0:
            return None
        return self.coupling * (self._distance() if self.penalty_kind == "coupling" else self._norm())


def last_shared_layer(model: MultiTaskNet) -> nn.Linear:
    """The last Linear layer of ``model.bottom``, the layer GradNorm measures gradients on.

    Raises:
        ValueError: the model has no shared hidden layer (``bottom=()``, or a soft-sharing model).
    """
    layers = _linears(_check_model(model).bottom)
    if "n_experts" in model.architecture or "n_levels" in model.architecture:
        raise ValueError(f"{type(model).__name__} has no single last shared layer: its experts are shared through "
                         f"gates, so GradNorm (which needs one) does not apply; use UncertaintyWeighting or "
                         f"DynamicWeightAverage, or a SharedBottomModel with a non-empty bottom")
    if not layers:
        raise ValueError(f"model has no shared layer (bottom={model.architecture['bottom']}); "
                         f"use a SharedBottomModel with a non-empty bottom")
    return layers[-1]


def parameter_count(model: nn.Module) -> int:
    """Number of trainable parameters (scalars) of ``model``."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def _check_model(model: object) -> MultiTaskNet:
    if not isinstance(model, MultiTaskNet):
        raise ValueError(f"model must be a SingleTaskModel, SharedBottomModel, SoftSharingModel, MMoEModel, "
                         f"PLEModel or ESMMModel of torch_mtl, got {type(model).__name__}")
    return model


# --------------------------------------------------------------------------- layer names
def _named_layers(model: MultiTaskNet) -> Iterator[tuple[str, nn.Module]]:
    for name in model.features.feature_names:
        yield f"features.{name}", model.features.embeddings[name]
    for i, layer in enumerate(_linears(model.bottom)):
        yield f"bottom.{i}", layer
    yield from model._shared_layers()
    for task in model.tasks:
        for i, layer in enumerate(_linears(model.towers[task])):
            yield f"towers.{task}.{i}", layer
        yield f"heads.{task}", model.heads[task]
