r"""The simulated shop: users, items, impressions and the labels of seven shopping-guide tasks.

Real e-commerce logs cannot ship with a course, so this package *simulates* a shop whose
generative process is written down here and whose ground truth is known. Every model in the
course can then be scored against the best any model could do (the **oracle**), and knobs such
as task correlation and purchase sparsity turn "when does sharing help?" into an experiment.

Generative process
------------------
Entities (all drawn from one ``numpy.random.Generator`` seeded by ``ShopConfig.seed``):

* **Categories** ``k`` have a centre :math:`c_k \in \mathbb{R}^d` and a median price.
* **Users** ``u`` belong to a segment (``student``, ``family``, ``professional``, ``senior``) and
  a city tier (1–3). Their taste is :math:`t_u = m_{segment} + 0.15\,z_u` (segment mean plus a
  small individual part), their price sensitivity :math:`\beta_u` is log-normal around a segment and
  tier level, and their activity (how many impressions they get) is log-normal: a few users are
  very active, most are not.
* **Items** ``i`` have a category, a brand (brands have a tier, an appeal and a quality), a
  price (log-normal around the category median), a quality :math:`q_i` (brand plus item part),
  an appeal (brand plus item part; it also drives a long tail of exposure) and a latent vector
  :math:`v_i = c_{k(i)} + 0.2\,z_i`.
* A second, *purchase-only* taste :math:`t'_u = m'_{segment} + 0.15\,z'_u`, drawn independently
  of :math:`t_u`, lets the knob
  ``task_correlation`` :math:`\rho` decide how much buying shares with clicking:
  :math:`a^{buy}_{ui} = \rho\, t_u^\top v_i + \sqrt{1-\rho^2}\, t'^\top_u v_i`.

Each **impression** shows item ``i`` to user ``u`` on a day (0 … ``n_days``−1), at an hour,
on a device (app / web / mini-program), at a list position (1–20), with or without a promotion.
Items are shown in proportion to their popularity, users in proportion to their activity.

Labels follow the purchase **funnel** (each step conditional on the previous one). With
:math:`\sigma` the logistic function, :math:`\delta_u = \beta_u \log(\text{price}_i / \text{median price}_{k(i)})`
and a shopper's *mood* :math:`\varepsilon \sim \mathcal{N}(0, \text{noise}^2)` shared by the
three steps of one impression:

.. math::

   s_{click} &= -2.7 + 0.6\,t_u^\top v_i + 0.5\,\text{appeal}_i + 0.3\,q_i - 0.07(\text{pos}-1)
               + 0.35\,\text{promo} + \text{device}_{click} + \text{hour}_{click} \\
   s_{cart}  &= -1.5 + 0.5\,a^{buy}_{ui} + 0.5\,q_i - 0.8\,\delta_u + 0.3\,\text{promo} \\
   s_{buy}   &= b_3 + 0.5\,a^{buy}_{ui} + 0.4\,q_i - 1.2\,\delta_u + 0.4\,\text{promo}

click ~ Bernoulli(σ(s_click + ε)); add_to_cart ~ click · Bernoulli(σ(s_cart + ε));
purchase ~ add_to_cart · Bernoulli(σ(s_buy + ε)). The intercept :math:`b_3` is solved so that the
mean purchase probability equals the knob ``purchase_rate``.

After a purchase, the shopper's satisfaction
:math:`S = 1.0\,q_i + 0.4\,a^{buy}_{ui} - 0.5\,\delta_u + \eta`, :math:`\eta \sim \mathcal{N}(0, 0.8^2)`,
gives the **rating** (1–5, cut at fixed thresholds, so ratings skew high as in real shops) and the
**review sentiment** (positive when :math:`S + \xi > 0.3`, :math:`\xi \sim \mathcal{N}(0, 0.5^2)`).
After a click, the **dwell time** is log-normal:
:math:`\log \text{seconds} = 3.2 + 0.35\,t_u^\top v_i + 0.3\,q_i + 0.25\,[\text{web}] + \mathcal{N}(0, 0.6^2)`.
On every impression the **next search category** (the category of the user's next search
keyword) is drawn from :math:`\text{softmax}_k(1.2\, t_u^\top c_k + 1.0\,[k = k(i)])`.

The oracle
----------
For each impression the simulator also keeps the true probabilities *given everything it knows
except the mood and the noise draws*: the funnel probabilities marginalise the mood exactly
(Gauss–Hermite quadrature), the rating and sentiment oracles use normal CDFs. They live in a
separate table (``Shop.oracle``) and are never model features: they are the ceiling.

Missing labels
--------------
``rating`` and ``sentiment`` exist only where ``purchase == 1`` and ``dwell_seconds`` only where
``click == 1``; elsewhere they are NaN. A task's mask says which rows carry its label; absence is
never a zero.

The target domain (a new market, for transfer learning)
-------------------------------------------------------
``simulate_target(TargetConfig(...))`` simulates a second market that sells the *same items*
(same ``item_id``, category, brand, brand tier, novelty; every price and category reference
price × ``price_level``) to *new users* drawn with a different mix (``segment_mix``,
``city_tier_mix``) from the source's segment tastes and price sensitivities. It redraws the
source's entities from ``config.source`` and then uses its own generator (``config.seed``), so
the source shop is untouched. The knob ``relatedness`` :math:`\rho_T` decides how much the
target's shoppers value items as the source's do: every zero-mean latent item quantity
:math:`x` (category centres :math:`c_k`, item vectors :math:`v_i`, the brand and item parts of
quality and appeal, the item part of log popularity) becomes

.. math::

   x^{target} = \rho_T\, x^{source} + \sqrt{1-\rho_T^2}\, x^{fresh},

with :math:`x^{fresh}` an independent draw from the same distribution (so each quantity keeps
its distribution). The observable parts (category, brand tier, relative price) and the funnel
equations, the task correlation :math:`\rho` and the noise model are shared; the target solves
its own purchase intercept for its ``purchase_rate``. :math:`\rho_T = 1`: the target's shoppers
value items exactly as the source's; :math:`\rho_T = 0`: independently of them (only the
shopping mechanics, price sensitivity and position bias, carry over).

Target user ids and impression ids continue after the source's, so ``combine_domains(source,
target)`` holds both domains in one ``Shop`` (with a ``domain`` column) and one
``FeatureEncoder`` encodes both with the same ids: pretrain on source rows, fine-tune on target
rows, or train on both. The target's oracle adds ``p_purchase_as_source``: its purchase
probability had its shoppers valued items as the source's do (the target's own equations with
:math:`\rho_T = 1`, same intercept), a measure of what the source can teach.

Regenerate the committed dataset (``datasets/``) and its target domain (``datasets/target/``)
with ``python -m mtl_lessons.data`` (or ``make data``).

Modules (one idea each; this package exports all their names, so ``data.X`` is all one needs)
----------------------------------------------------------------------------------------------
``config``  the knobs (``ShopConfig``, ``TargetConfig``), their checks, the vocabularies.
``shop``    the ``Shop`` tables and the source simulator (``simulate_shop``).
``target``  the target domain (``simulate_target``) and ``combine_domains``.
``files``   ``save_shop``, ``load_shop``, ``load_target`` and the checks of loaded files.
``tasks``   the task registry (``TASKS``, ``get_task``), label masks and labels.
``synthetic`` the MMoE paper's synthetic regression tasks (``make_synthetic_tasks``, lesson 07).
``tables``  your own data: a CSV / Parquet file and a ``TableSchema`` → ``ModelInputs`` (``load_table``).
``schemas`` ready schemas of Ali-CCP, AliExpress and Census-Income, and example files in their layouts.
``encode``  ``join_features``, ``chronological_split``, ``FeatureEncoder`` → ``ModelInputs``.
``card``    the data card's measured figures (``measure``, ``update_card``).
``cli``     the regeneration command ``main`` (``python -m mtl_lessons.data``).
"""
from __future__ import annotations

# What the single module data.py imported, kept as attributes so that nothing it exposed goes away.
import argparse  # noqa: F401
import gzip  # noqa: F401
import io  # noqa: F401
import json  # noqa: F401
import math  # noqa: F401
import os  # noqa: F401
import zlib  # noqa: F401
from collections.abc import Sequence  # noqa: F401
from dataclasses import asdict, dataclass, field, replace  # noqa: F401
from pathlib import Path  # noqa: F401
from typing import Literal  # noqa: F401

import numpy as np  # noqa: F401
import pandas as pd  # noqa: F401
from scipy.optimize import brentq  # noqa: F401
from scipy.special import expit, log_softmax, ndtr  # noqa: F401

from ..atomic import atomic_write  # noqa: F401
from .card import (  # noqa: F401
    _CARD_END,
    _CARD_MARKERS,
    _CARD_START,
    CARD_FILE,
    _card_markers,
    _card_with_figures,
    card_block,
    card_figures_markdown,
    measure,
    price_sensitivity,
    update_card,
)
from .cli import main  # noqa: F401
from .config import (  # noqa: F401
    CATEGORIES,
    DEVICES,
    N_POSITIONS,
    SEGMENTS,
    SOURCE_CITY_TIER_MIX,
    SOURCE_SEGMENT_MIX,
    ShopConfig,
    TargetConfig,
    _check_knobs,
    _n_categories,
    _n_days,
)
from .encode import (  # noqa: F401
    CATEGORICAL_FEATURES,
    NUMERIC_FEATURES,
    FeatureEncoder,
    ModelInputs,
    Split,
    chronological_split,
    join_features,
)
from .files import (  # noqa: F401
    _MAY_BE_MISSING,
    _ORACLE_DIGITS,
    _REGENERATE,
    _REQUIRED,
    _REQUIRED_TARGET_ORACLE,
    _FLOAT_DIGITS,
    CONFIG_FILE,
    DATA_DIR,
    FILES,
    TARGET_DIR,
    _between,
    _check_range,
    _first_bad,
    _invalid,
    _is_course_data,
    _not_numbers,
    _shop_files,
    _validate_tables,
    _whole_between,
    _write_files,
    load_shop,
    load_target,
    save_shop,
)
from .shop import (  # noqa: F401
    _BRAND_APPEAL_SD,
    _BRAND_QUALITY_SD,
    _CENTRE_SD,
    _HERMITE_NODES,
    _ITEM_APPEAL_SD,
    _ITEM_QUALITY_SD,
    _ITEM_VEC_SD,
    _POPULARITY_APPEAL,
    _POPULARITY_SD,
    _SEGMENT_PRICE_LEVEL,
    DOMAINS,
    DWELL_NOISE,
    LATENT_DIM,
    RATING_CUTS,
    SATISFACTION_NOISE,
    SENTIMENT_CUT,
    SENTIMENT_NOISE,
    Shop,
    _build_shop,
    _draw_impressions,
    _draw_source_world,
    _draw_users,
    _funnel_probabilities,
    _gauss_hermite,
    _hour_profile,
    _normal,
    _scores,
    _simulate_labels,
    _solve_intercept,
    _World,
    simulate_shop,
)
from .target import _mix, _target_world, combine_domains, simulate_target  # noqa: F401
from .synthetic import SyntheticTasks, label_correlation, make_synthetic_tasks  # noqa: F401
from .tasks import (  # noqa: F401
    SYNTHETIC_TASKS,
    TASKS,
    USER_TASKS,
    Task,
    _resolve_tasks,
    get_task,
    register_task,
    task_labels,
    task_mask,
)
from .tables import LabelColumn, TableData, TableSchema, load_table, read_table  # noqa: F401
from .schemas import ALI_CCP, ALIEXPRESS, CENSUS_INCOME, SCHEMAS, example_table, write_example_table  # noqa: F401

TASKS: dict[str, Task]  # the registry's type, as the single module declared it (data.__annotations__)

__all__ = [
    "DATA_DIR",
    "CATEGORIES",
    "SEGMENTS",
    "DEVICES",
    "TARGET_DIR",
    "DOMAINS",
    "ShopConfig",
    "TargetConfig",
    "Shop",
    "Task",
    "TASKS",
    "Split",
    "ModelInputs",
    "FeatureEncoder",
    "simulate_shop",
    "simulate_target",
    "combine_domains",
    "save_shop",
    "load_shop",
    "load_target",
    "join_features",
    "chronological_split",
    "get_task",
    "task_mask",
    "task_labels",
    "SYNTHETIC_TASKS",
    "SyntheticTasks",
    "make_synthetic_tasks",
    "label_correlation",
    "register_task",
    "USER_TASKS",
    "LabelColumn",
    "TableSchema",
    "TableData",
    "load_table",
    "read_table",
    "SCHEMAS",
    "ALI_CCP",
    "ALIEXPRESS",
    "CENSUS_INCOME",
    "example_table",
    "write_example_table",
]
