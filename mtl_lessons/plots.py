"""The few figures the lessons share, in one consistent style (matplotlib only).

Each function draws one idea on a new figure and returns its ``Axes``; the notebook shows it.
"""
from __future__ import annotations

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
    """Horizontal bars of a funnel, each labelled with its count and its rate from the step before.

    Args:
        counts: step name → number of events, in funnel order (e.g. impressions, clicks, ...).
        title: the figure title.
    """
    if len(counts) < 2:
        raise ValueError("counts must name at least two funnel steps")
    names, values = list(counts), np.asarray(list(counts.values()), dtype=float)
    if (values < 0).any() or (np.diff(values) > 0).any():
        raise ValueError("counts must be non-negative and non-increasing along the funnel")
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots()
        y = np.arange(len(names))[::-1]
        ax.barh(y, values, color="tab:blue", label="events")
        ax.set_xscale("log")
        for i, (yy, v) in enumerate(zip(y, values)):
            note = f"{v:,.0f}" if i == 0 else f"{v:,.0f}  ({v / values[i - 1]:.1%} of previous step)"
            ax.text(v * 1.1, yy, note, va="center")
        ax.set_yticks(y, names)
        ax.set_xlim(values[values > 0].min() / 2, values.max() * 60)
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
