"""The few figures the lessons share, in one consistent style (matplotlib only).

Each function draws one idea on a new figure and returns its ``Axes``; the notebook shows it.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["STYLE", "funnel", "correlation_heatmap"]

STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 80,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": 10,
}
"""matplotlib rc settings every course figure uses."""


def funnel(counts: Mapping[str, float], title: str = "The purchase funnel") -> plt.Axes:
    """Horizontal bars of a funnel on a log axis: each bar ends in its count, each tick label gives
    the step's share of the step before (the figure lesson 01 draws by hand).

    Args:
        counts: step name → number of events, in funnel order (impressions, clicks, ...); a dict
            or a Series. Each count is a finite number > 0: the axis is logarithmic and each step
            is shown as a share of the one before.
        title: the figure title.

    Raises:
        ValueError: ``counts`` is not a mapping of at least two steps, a count is not a finite
            number > 0, or the counts increase along the funnel.
    """
    if isinstance(counts, pd.Series):
        counts = counts.to_dict()
    if not isinstance(counts, Mapping):
        raise ValueError(f"counts must be a mapping step name → count (a dict or a pandas Series), "
                         f"got {type(counts).__name__}")
    if len(counts) < 2:
        raise ValueError("counts must name at least two funnel steps")
    names = list(counts)
    bad = {}
    for name, value in counts.items():
        number = value.item() if isinstance(value, np.generic) else value
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not (math.isfinite(number) and number > 0):
            bad[name] = number
    if bad:
        raise ValueError(f"counts must be finite numbers > 0 (the axis is logarithmic and each step is shown as a "
                         f"share of the one before), got {bad}")
    values = np.asarray([counts[name] for name in names], dtype=float)
    if (np.diff(values) > 0).any():
        raise ValueError(f"counts must be non-increasing along the funnel, got {dict(zip(names, values.tolist()))}")
    step_labels = [names[0]] + [f"{step}\n{value / before:.1%} of {previous}"
                                for step, previous, value, before in zip(names[1:], names, values[1:], values)]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots()
        y = np.arange(len(names))[::-1]
        ax.barh(y, values, color="tab:blue", label="number of events")
        ax.set_xscale("log")  # steps that differ by orders of magnitude on one readable axis
        # From a third of the smallest count to three times the largest (room for the count labels).
        ax.set_xlim(values.min() / 3, values.max() * 3)
        for position, value in zip(y, values):
            ax.text(value * 1.15, position, f"{value:,.0f}", va="center")
        ax.set_yticks(y, step_labels)
        ax.set_xlabel("number of events (log scale)")
        ax.set_title(title)
        ax.legend(loc="lower right")
        fig.tight_layout()
    return ax


def correlation_heatmap(corr: pd.DataFrame, title: str) -> plt.Axes:
    """A labelled heatmap of a square correlation table, values written in the cells."""
    if corr.shape[0] != corr.shape[1] or list(corr.index) != list(corr.columns):
        raise ValueError("corr must be a square table with the same row and column labels")
    with plt.rc_context({**STYLE, "axes.grid": False}):
        fig, ax = plt.subplots(figsize=(5.2, 4.2))
        image = ax.imshow(corr.to_numpy(), vmin=-1, vmax=1, cmap="RdBu_r")
        ticks = np.arange(len(corr))
        ax.set_xticks(ticks, corr.columns, rotation=30, ha="right")
        ax.set_yticks(ticks, corr.index)
        for i in ticks:
            for j in ticks:
                value = corr.iat[i, j]
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=9,
                        color="white" if abs(value) > 0.6 else "black")
        fig.colorbar(image, ax=ax, label="Pearson correlation")
        ax.set_title(title)
        fig.tight_layout()
    return ax
