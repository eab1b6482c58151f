r"""Expert models in PyTorch: MMoE (and OMoE) and PLE, trained by the same ``train`` as the others.

**MMoE** (Ma et al., KDD 2018, eq. 6–8). ``n`` expert MLPs :math:`f_1 … f_n` read the same input
:math:`x` (the embedded features); task :math:`k` has a gate, one linear map and a softmax,

.. math::  g^k(x) = \mathrm{softmax}(W_{gk}\, x), \qquad W_{gk} \in \mathbb{R}^{n \times d}

(no hidden layer, no bias), and its tower reads the mixture
:math:`f^k(x) = \sum_{i=1}^{n} g^k(x)_i\, f_i(x)`; :math:`y_k = h^k(f^k(x))`. **OMoE** (the paper's
one-gate baseline, ``one_gate=True``) has a single gate whose mixture feeds every tower.

**PLE** (Tang et al., RecSys 2020, section 4). A level (a CGC layer) has ``n_specific`` experts per
task and ``n_shared`` shared experts. Task :math:`k`'s gate mixes only its own experts and the
shared ones, :math:`g^k(x) = w^k(x)\, S^k(x)` with :math:`w^k(x) = \mathrm{softmax}(W^k_g x)` and
:math:`S^k(x) = [E_{k,1}, …, E_{k,m_k}, E_{s,1}, …, E_{s,m_s}]`; a level that is not the last also
has a gate for the shared module, over *all* experts of the level. At level :math:`j > 1`, task
:math:`k`'s experts and gate read task :math:`k`'s fused output of level :math:`j-1`, the shared
experts and gate read the shared fused output. One level is CGC.

Every expert is initialised on its own (Glorot-uniform kernels drawn one after another), so no two
experts start equal: with equal experts, every gate's mixture is the same function and the gates
have nothing to choose between (a bug found in popular libraries that copy one expert's weights).

After each forward pass ``model.gate_weights`` holds each gate's softmax output, name → (n, experts)
tensor (detached): MMoE names the gates by task (OMoE: ``"all"``); PLE by ``"<level>.<owner>"``,
owner a task or ``"shared"``. :func:`gate_weights` scores a whole split.

Layer names (:func:`~mtl_lessons.torch_mtl.export_weights`): MMoE ``experts.<i>.<layer>`` and
``gates.<name>``; PLE ``levels.<j>.experts.<owner>.<i>.<layer>`` and ``levels.<j>.gates.<owner>``;
gates have a kernel and no bias.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ..data import ModelInputs
from ..mtl_core import check_experts, check_inputs, check_positive_int
from .layers import _linears, mlp_block
from .models import MultiTaskNet, _check_model
from .training import feature_tensors

SHARED = "shared"
"""Owner name of PLE's shared experts and gate (no task has this name)."""


def _gate(in_features: int, n_experts: int) -> nn.Linear:
    """A gate's linear map x → logits over ``n_experts`` (no bias), Glorot-uniform."""
    layer = nn.Linear(in_features, n_experts, bias=False)
    nn.init.xavier_uniform_(layer.weight)
    return layer


def mix(gate_logits: torch.Tensor, expert_outputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The gated mixture Σ_i softmax(logits)_i · expert_i.

    Args:
        gate_logits: (n, E), a gate's linear map of its input.
        expert_outputs: (n, E, width), the experts' outputs stacked on dimension 1.

    Returns:
        ``(mixture (n, width), gate weights (n, E))``; each row of the weights sums to 1.
    """
    weights = torch.softmax(gate_logits, dim=-1)
    return (weights.unsqueeze(-1) * expert_outputs).sum(dim=1), weights


class MMoEModel(MultiTaskNet):
    """Multi-gate mixture-of-experts (MMoE) or, with ``one_gate=True``, one-gate MoE (OMoE).

    Inputs → ``n_experts`` expert MLPs (hidden sizes ``expert``) → per task a softmax gate on the
    inputs mixes the experts → the task's tower (``tower``) → its head.

    Args:
        cardinalities, n_numeric, tasks, n_classes, dropout, embedding_dims, seed: as in
            :class:`~mtl_lessons.torch_mtl.MultiTaskNet` (``dropout`` after every hidden layer of
            the experts and towers).
        n_experts: number of experts (≥ 1; the paper's synthetic experiment: 8).
        expert: hidden sizes of each expert MLP (≥ 1 layer; paper: ``(16,)``).
        tower: hidden sizes of each task's tower (paper: ``(8,)``).
        one_gate: one gate shared by all tasks (OMoE) instead of one per task.

    Attributes:
        experts (ModuleList of MLPs), gates (name → Linear), gate_weights (after a forward pass).
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int, tasks: Sequence[str],
                 n_classes: Mapping[str, int] | None = None, *, n_experts: int = 8,
                 expert: Sequence[int] = (16,), tower: Sequence[int] = (8,), one_gate: bool = False,
                 dropout: float = 0.0, embedding_dims: Mapping[str, int] | None = None,
                 seed: int | None = None):
        settings = check_experts("MMoEModel", expert=expert, n_experts=n_experts, one_gate=one_gate)
        super().__init__(cardinalities, n_numeric, tasks, n_classes, bottom=(), tower=tower, dropout=dropout,
                         embedding_dims=embedding_dims, seed=seed, architecture=settings)

    def _build_shared(self, in_features: int) -> int:
        settings = self.architecture
        self.experts = nn.ModuleList(mlp_block(in_features, settings["expert"], settings["dropout"])
                                     for _ in range(settings["n_experts"]))
        names = ("all",) if settings["one_gate"] else self.tasks
        self.gates = nn.ModuleDict({name: _gate(in_features, settings["n_experts"]) for name in names})
        self.gate_weights: dict[str, torch.Tensor] = {}
        return settings["expert"][-1]

    def _tower_inputs(self, shared: torch.Tensor) -> dict[str, torch.Tensor]:
        expert_outputs = torch.stack([expert(shared) for expert in self.experts], dim=1)  # (n, E, width)
        mixtures = {}
        for name, gate in self.gates.items():
            mixtures[name], weights = mix(gate(shared), expert_outputs)
            if not torch.compiler.is_exporting():  # an exported program keeps no Python state
                self.gate_weights[name] = weights.detach()
        if self.architecture["one_gate"]:
            return {task: mixtures["all"] for task in self.tasks}
        return mixtures

    def _shared_layers(self) -> Iterator[tuple[str, nn.Linear]]:
        for i, expert in enumerate(self.experts):
            for j, layer in enumerate(_linears(expert)):
                yield f"experts.{i}.{j}", layer
        for name, gate in self.gates.items():
            yield f"gates.{name}", gate


class ExtractionLevel(nn.Module):
    """One level of PLE (a CGC layer): task-specific and shared experts, and their gates.

    Args:
        in_features: width of every input of the level.
        tasks: the task names.
        n_specific: experts per task; n_shared: shared experts.
        expert: hidden sizes of each expert MLP.
        shared_gate: build the shared module's gate (every level but the last).
        dropout: dropout after every hidden layer of the experts.

    Input: owner → (n, in_features) for every task and ``"shared"`` (level 1: the features for all).
    Output: task → fused (n, expert[-1]), plus ``"shared"`` when ``shared_gate``.
    """

    def __init__(self, in_features: int, tasks: Sequence[str], n_specific: int, n_shared: int,
                 expert: Sequence[int], *, shared_gate: bool, dropout: float = 0.0):
        super().__init__()
        self.tasks = tuple(tasks)
        owners = (*self.tasks, SHARED)
        counts = {owner: n_shared if owner == SHARED else n_specific for owner in owners}
        self.experts = nn.ModuleDict({
            owner: nn.ModuleList(mlp_block(in_features, expert, dropout) for _ in range(counts[owner]))
            for owner in owners})
        gates = {task: _gate(in_features, n_specific + n_shared) for task in self.tasks}
        if shared_gate:
            gates[SHARED] = _gate(in_features, len(self.tasks) * n_specific + n_shared)
        self.gates = nn.ModuleDict(gates)
        self.gate_weights: dict[str, torch.Tensor] = {}

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        outputs = {owner: torch.stack([expert(inputs[owner]) for expert in experts], dim=1)
                   for owner, experts in self.experts.items()}  # owner → (n, experts, width)
        fused = {}
        for owner, gate in self.gates.items():
            # a task's gate sees its own experts and the shared ones; the shared gate sees all
            chosen = (*self.tasks, SHARED) if owner == SHARED else (owner, SHARED)
            candidates = torch.cat([outputs[o] for o in chosen], dim=1)
            fused[owner], weights = mix(gate(inputs[owner]), candidates)
            if not torch.compiler.is_exporting():  # an exported program keeps no Python state
                self.gate_weights[owner] = weights.detach()
        return fused


class PLEModel(MultiTaskNet):
    """Progressive layered extraction (PLE); ``n_levels=1`` is customized gate control (CGC).

    Inputs → ``n_levels`` extraction levels (task-specific and shared experts, gated per task;
    see :class:`ExtractionLevel`) → per task the last level's fused output → its tower → its head.

    Args:
        cardinalities, n_numeric, tasks, n_classes, dropout, embedding_dims, seed: as in
            :class:`~mtl_lessons.torch_mtl.MultiTaskNet`.
        n_levels: number of levels (≥ 1).
        n_specific: experts per task per level (≥ 1).
        n_shared: shared experts per level (≥ 1).
        expert: hidden sizes of each expert MLP (≥ 1 layer); every level's experts have these sizes.
        tower: hidden sizes of each task's tower.

    Attributes:
        levels (ModuleList of :class:`ExtractionLevel`), gate_weights (after a forward pass).
    """

    def __init__(self, cardinalities: Mapping[str, int], n_numeric: int, tasks: Sequence[str],
                 n_classes: Mapping[str, int] | None = None, *, n_levels: int = 1, n_specific: int = 1,
                 n_shared: int = 1, expert: Sequence[int] = (16,), tower: Sequence[int] = (8,),
                 dropout: float = 0.0, embedding_dims: Mapping[str, int] | None = None,
                 seed: int | None = None):
        settings = check_experts("PLEModel", expert=expert, n_levels=n_levels, n_specific=n_specific,
                                 n_shared=n_shared)
        super().__init__(cardinalities, n_numeric, tasks, n_classes, bottom=(), tower=tower, dropout=dropout,
                         embedding_dims=embedding_dims, seed=seed, architecture=settings)

    def _build_shared(self, in_features: int) -> int:
        settings = self.architecture
        widths = [in_features] + [settings["expert"][-1]] * (settings["n_levels"] - 1)
        self.levels = nn.ModuleList(
            ExtractionLevel(width, self.tasks, settings["n_specific"], settings["n_shared"], settings["expert"],
                            shared_gate=j < settings["n_levels"] - 1, dropout=settings["dropout"])
            for j, width in enumerate(widths))
        self.gate_weights: dict[str, torch.Tensor] = {}
        return settings["expert"][-1]

    def _tower_inputs(self, shared: torch.Tensor) -> dict[str, torch.Tensor]:
        fused = {owner: shared for owner in (*self.tasks, SHARED)}
        for j, level in enumerate(self.levels):
            fused = level(fused)
            if not torch.compiler.is_exporting():
                self.gate_weights.update({f"{j}.{owner}": w for owner, w in level.gate_weights.items()})
        return {task: fused[task] for task in self.tasks}

    def _shared_layers(self) -> Iterator[tuple[str, nn.Linear]]:
        for j, level in enumerate(self.levels):
            for owner, experts in level.experts.items():
                for i, expert in enumerate(experts):
                    for k, layer in enumerate(_linears(expert)):
                        yield f"levels.{j}.experts.{owner}.{i}.{k}", layer
            for owner, gate in level.gates.items():
                yield f"levels.{j}.gates.{owner}", gate


def gate_weights(model: MMoEModel | PLEModel, inputs: ModelInputs, batch_size: int = 8192) -> dict[str, np.ndarray]:
    """Every gate's weights on every row of ``inputs``: name → float32 (n, experts), rows sum to 1.

    Names as in ``model.gate_weights`` (MMoE: the tasks, or ``"all"``; PLE: ``"<level>.<owner>"``).
    The model is run in evaluation mode (no dropout) and left as it was.

    Raises:
        ValueError: ``model`` is not an expert model, or ``inputs`` does not fit it.
    """
    model = _check_model(model)
    if not isinstance(model, (MMoEModel, PLEModel)):
        raise ValueError(f"model must be an MMoEModel or PLEModel (a model with gates), got {type(model).__name__}")
    check_inputs(inputs, "inputs", cardinalities=model.cardinalities, n_numeric=model.n_numeric)
    check_positive_int("batch_size", batch_size)
    feeds = feature_tensors(inputs)
    chunks: dict[str, list[np.ndarray]] = {}
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(inputs), batch_size):
                model({name: t[start:start + batch_size] for name, t in feeds.items()})
                for name, weights in model.gate_weights.items():
                    chunks.setdefault(name, []).append(weights.numpy().copy())
    finally:
        model.train(was_training)
    return {name: np.concatenate(parts) for name, parts in chunks.items()}
