"""A small ranking service around an exported model: ``create_app`` (FastAPI) and ``python -m mtl_lessons.serve``.

Given a shopper, a list of candidate items and the request's context (device, hour), the service
builds each candidate's features exactly as training did (the shop's user and item attributes,
:meth:`~mtl_lessons.data.FeatureEncoder.encode_features` with the training split's statistics),
scores them with a :class:`~mtl_lessons.deploy.Scorer` (``.pt2``, ``.onnx`` or a SavedModel: the
scorer brings its own runtime, so this module never imports PyTorch or TensorFlow) and returns every
task's output and the candidates ranked by one stated score.

Endpoints
---------
``GET /health`` → ``{"status": "ok", "runtime": ..., "tasks": [...], "rank_by": ..., "max_candidates": ...}``

``POST /rank`` with ``{"user_id": 17, "item_ids": [3, 42, 7], "device": "app", "hour": 20,
"promotion": [0, 1, 0]}`` (``promotion`` optional: 0 for every item) →
``{"user_id": 17, "rank_by": "expected_revenue", "items": [{"item_id": 42, "score": 0.61,
"probabilities": {"click": 0.12, "add_to_cart": 0.03, "purchase": 0.011}}, ...]}``, the items sorted
by score, highest first (ties: smaller ``item_id`` first). A binary task's entry is P(label = 1); a
multi-class task's is the list of its class probabilities (in the encoder's class order, e.g. the
shop's categories for ``next_category``); a regression task's is the predicted value.

Errors
------
Every error a client can cause is a **422** whose ``detail`` is a list of FastAPI's shape
``[{"loc": ["body", field, ...], "msg": ..., "type": ...}]`` naming the field: wrong JSON types
(strict: ``"12"`` is not an int, ``true`` is not an int), a missing or an unknown field, malformed
JSON, a negative id, an hour outside 0–23, an unknown device, an empty or too long ``item_ids`` list
(FastAPI's own validation), and the errors only the shop can tell — an unknown user or item id,
duplicate items, a ``promotion`` list of the wrong length (``type: "value_error"``). An unknown id
is a 422, not a 404: the URL exists, the body names something the shop does not have. The bad
input is never echoed back (FastAPI's default handler does, and fails with a 500 on ``NaN`` or
``1e400``, which Python's JSON parser accepts). Only a body that cannot be read at all (not UTF-8,
arrays nested deeper than the parser allows) gets FastAPI's **400** "There was an error parsing the
body"; a wrong method is a 405, an unknown path a 404.

Known limits
------------
* **Position.** Every candidate is scored at ``position`` 1 (the top slot), so the ranking compares
  items, not the slots they were shown in (the usual way to remove position bias from a ranker
  trained on logged positions). The probabilities are therefore those of the top slot, higher than
  an item would get lower in the list.
* **Expected revenue** ``P(purchase) × price`` is meaningful only if P(purchase) is *calibrated*
  (lesson 10 measures calibration): a model that ranks well (good AUC) but over- or under-states
  probabilities by item price band would rank by the wrong revenue.
* Users and items are those of the shop the service was started with (no cold start), one market
  (a ``combine_domains`` shop is refused), no authentication, no request-size limit beyond
  ``max_candidates`` (put it behind a proxy for that).
"""
import argparse
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, create_model

from . import data
from .data.config import DEVICES
from .deploy import Scorer, load_scorer

__all__ = ["candidate_features", "create_app", "CandidateError", "DEFAULT_MODEL", "RANK_BY_REVENUE",
           "train_default_model", "main"]

DEFAULT_MODEL = Path("build") / "serving" / "shared_bottom.pt2"
"""Where ``python -m mtl_lessons.serve`` looks for (and, if missing, writes) its model, relative to the working folder."""

RANK_BY_REVENUE = "expected_revenue"
"""``rank_by`` value: P(purchase) × price, the expected revenue of showing the item."""

SERVING_POSITION = 1
"""The list position every candidate is scored at (the top slot; see the module's known limits)."""

DEFAULT_TASKS = ("click", "add_to_cart", "purchase")


class CandidateError(ValueError):
    """A request the shop cannot score; ``loc`` names the field (and the list index) at fault."""

    def __init__(self, loc: tuple[str | int, ...], message: str):
        super().__init__(message)
        self.loc = loc
        self.message = message


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_shop(shop: object, encoder: object) -> None:
    if not isinstance(shop, data.Shop):
        raise ValueError(f"shop must be a data.Shop (data.load_shop()), got {type(shop).__name__}")
    if "domain" in shop.items.columns:
        raise ValueError("shop is a combine_domains shop: the service serves one market; pass the source shop "
                         "or the target domain alone")
    if not isinstance(encoder, data.FeatureEncoder):
        raise ValueError(f"encoder must be a data.FeatureEncoder, got {type(encoder).__name__}")
    if encoder.mean_ is None:
        raise ValueError("encoder is not fitted: call encoder.fit(split.train) first (as the model's training did)")


def candidate_features(shop: data.Shop, encoder: data.FeatureEncoder, user_id: int, item_ids: Sequence[int], *,
                       device: str, hour: int, promotion: Sequence[int] | None = None) -> dict[str, np.ndarray]:
    """The features of one shopper's candidate items, one row per item, as training built them.

    Each row joins the user's attributes, the item's attributes and the request's context
    (``device``, ``hour``, ``promotion``) like :func:`~mtl_lessons.data.join_features`, with
    ``position`` = 1 for every candidate (scored as if shown in the top slot: the ranking then
    compares items, not positions; the probabilities are the top slot's), and encodes them with
    ``encoder.encode_features``.

    Args:
        shop: the shop whose users and items may be asked for.
        encoder: the encoder fitted on the model's training split.
        user_id: a user of ``shop``.
        item_ids: distinct items of ``shop``, at least one.
        device: one of ``data.DEVICES`` (``"app"``, ``"web"``, ``"mini_program"``).
        hour: hour of the day, 0–23.
        promotion: 0 or 1 per item (is it shown with a promotion); None: 0 for every item.

    Returns:
        feature name → int64 ids (n,), ``"numeric"`` → float32 (n, k), rows in ``item_ids`` order.

    Raises:
        CandidateError (a ValueError): an argument is mistyped or names something the shop does
            not have; the message names the argument (``.loc`` too: ``("item_ids", 2)``).
    """
    _check_shop(shop, encoder)
    if not _is_int(user_id):
        raise CandidateError(("user_id",), f"user_id must be an integer user id, got {user_id!r}")
    known_users = shop.users["user_id"]
    if not (known_users == int(user_id)).any():
        raise CandidateError(("user_id",), f"user_id {user_id} is not a user of the shop "
                                           f"(ids {known_users.min()}–{known_users.max()})")
    if isinstance(item_ids, (str, bytes)) or not isinstance(item_ids, (Sequence, np.ndarray)):
        raise CandidateError(("item_ids",), f"item_ids must be a list of integer item ids, got {type(item_ids).__name__}")
    item_ids = list(item_ids)
    if not item_ids:
        raise CandidateError(("item_ids",), "item_ids is empty: give at least one candidate item")
    known_items = set(shop.items["item_id"].tolist())
    seen: set[int] = set()
    for index, item in enumerate(item_ids):
        if not _is_int(item):
            raise CandidateError(("item_ids", index), f"item_ids[{index}] must be an integer item id, got {item!r}")
        if int(item) not in known_items:
            raise CandidateError(("item_ids", index), f"item_ids[{index}] = {item} is not an item of the shop "
                                                      f"(ids {min(known_items)}–{max(known_items)})")
        if int(item) in seen:
            raise CandidateError(("item_ids", index), f"item_ids[{index}] = {item} is a duplicate: "
                                                      "each candidate item may appear once")
        seen.add(int(item))
    if not isinstance(device, str) or device not in DEVICES:
        raise CandidateError(("device",), f"device must be one of {', '.join(map(repr, DEVICES))}, got {device!r}")
    if not _is_int(hour) or not 0 <= hour <= 23:
        raise CandidateError(("hour",), f"hour must be an integer hour of the day in 0–23, got {hour!r}")
    n = len(item_ids)
    if promotion is None:
        promotion = [0] * n
    elif isinstance(promotion, (str, bytes)) or not isinstance(promotion, (Sequence, np.ndarray)):
        raise CandidateError(("promotion",), f"promotion must be a list of 0/1, one per item, got {type(promotion).__name__}")
    promotion = list(promotion)
    if len(promotion) != n:
        raise CandidateError(("promotion",), f"promotion has {len(promotion)} values for {n} items in item_ids: "
                                             "give one 0/1 per item (or leave it out for no promotion)")
    for index, flag in enumerate(promotion):
        if not _is_int(flag) or flag not in (0, 1):
            raise CandidateError(("promotion", index), f"promotion[{index}] must be 0 or 1, got {flag!r}")
    rows = pd.DataFrame({
        "user_id": np.full(n, int(user_id), dtype=np.int64),
        "item_id": np.asarray([int(i) for i in item_ids], dtype=np.int64),
        "hour": np.full(n, int(hour), dtype=np.int64),
        "device": pd.Categorical([device] * n, categories=list(DEVICES)),
        "position": np.full(n, SERVING_POSITION, dtype=np.int64),
        "promotion": np.asarray([int(p) for p in promotion], dtype=np.int64),
    })
    table = rows.merge(shop.users, on="user_id", how="left", validate="many_to_one")
    table = table.merge(shop.items, on="item_id", how="left", validate="many_to_one")
    return encoder.encode_features(table)


def _check_scorer(scorer: object, encoder: data.FeatureEncoder) -> Scorer:
    if not isinstance(scorer, Scorer):
        raise ValueError(f"scorer must be a deploy.Scorer (deploy.load_scorer(path)), got {type(scorer).__name__}")
    expected = {name: encoder.cardinalities[name] for name in scorer.metadata["cardinalities"]
                if name in encoder.cardinalities}
    if set(scorer.metadata["cardinalities"]) - set(encoder.cardinalities) or expected != scorer.metadata["cardinalities"]:
        raise ValueError(f"the scorer's cardinalities {scorer.metadata['cardinalities']} do not match the encoder's "
                         f"{encoder.cardinalities}: the model was trained on another shop or encoder")
    n_numeric = len(data.NUMERIC_FEATURES)
    if scorer.metadata["n_numeric"] != n_numeric:
        raise ValueError(f"the scorer reads {scorer.metadata['n_numeric']} numeric columns, the encoder makes "
                         f"{n_numeric} ({', '.join(data.NUMERIC_FEATURES)})")
    return scorer


def _served(kind: str, values: np.ndarray, row: int) -> float | list[float]:
    if kind == "multiclass":
        return [float(p) for p in values[row]]
    return float(values[row])


def create_app(scorer: Scorer, shop: data.Shop, encoder: data.FeatureEncoder, *,
               rank_by: str = RANK_BY_REVENUE, max_candidates: int = 100) -> FastAPI:
    """A FastAPI app that ranks a shopper's candidate items with ``scorer`` (endpoints: module docstring).

    Args:
        scorer: an exported model (:func:`mtl_lessons.deploy.load_scorer`), trained on rows of
            ``encoder`` (its cardinalities must equal the encoder's).
        shop: the shop whose users and items requests name (their attributes are its tables').
        encoder: the encoder fitted on the model's training split (its statistics standardise the
            numeric features).
        rank_by: the score items are sorted by: a binary task of the scorer (its probability), or
            ``"expected_revenue"``: P(purchase) × price, the expected revenue of showing the item
            (needs a binary ``purchase`` task; meaningful only if P(purchase) is calibrated).
        max_candidates: most items one request may rank (a positive int).

    Raises:
        ValueError: an argument names no such task, is of the wrong kind, or does not fit the others.
    """
    _check_shop(shop, encoder)
    scorer = _check_scorer(scorer, encoder)
    kinds: dict[str, str] = scorer.metadata["kinds"]
    binary = [task for task in scorer.tasks if kinds[task] == "binary"]
    if rank_by == RANK_BY_REVENUE:
        if "purchase" not in binary:
            raise ValueError(f"rank_by={RANK_BY_REVENUE!r} needs a binary 'purchase' task; the scorer's tasks are "
                             f"{list(scorer.tasks)}: rank by one of {binary}")
    elif rank_by not in binary:
        raise ValueError(f"rank_by must be {RANK_BY_REVENUE!r} or a binary task of the scorer {binary}, got {rank_by!r}")
    if not _is_int(max_candidates) or max_candidates < 1:
        raise ValueError(f"max_candidates must be a positive integer (items per request), got {max_candidates!r}")
    max_candidates = int(max_candidates)
    prices = shop.items.set_index("item_id")["price"]

    strict = ConfigDict(strict=True, extra="forbid")
    RankRequest = create_model(  # noqa: N806 (a class, built here because max_candidates is the app's)
        "RankRequest",
        __config__=strict,
        user_id=(StrictInt, Field(ge=0, description="a user of the shop")),
        item_ids=(list[Annotated[StrictInt, Field(ge=0)]], Field(min_length=1, max_length=max_candidates,
                                         description=f"distinct candidate items of the shop (1–{max_candidates})")),
        device=(Literal[DEVICES], Field(description="the shopper's device")),
        hour=(StrictInt, Field(ge=0, le=23, description="hour of the day")),
        promotion=(list[Annotated[StrictInt, Field(ge=0, le=1)]] | None,
                   Field(default=None, description="0/1 per item: shown with a promotion (default 0 for every item)")),
    )

    class RankedItem(BaseModel):
        item_id: int
        score: float
        probabilities: dict[str, float | list[float]]

    class RankResponse(BaseModel):
        user_id: int
        rank_by: str
        items: list[RankedItem]

    class Health(BaseModel):
        status: str
        runtime: str
        tasks: list[str]
        rank_by: str
        max_candidates: int

    app = FastAPI(title="mtl_lessons ranking service",
                  description="Ranks a shopper's candidate items with an exported multi-task model (lesson 10).")

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes each bad input, which fails (a 500) on NaN or 1e400 — JSON that
        # Python's parser accepts — and would send back a whole oversized list: send where and what only
        # (a malformed body keeps its parser's reason: "JSON decode error: Expecting value").
        detail = []
        for entry in error.errors():
            message = str(entry.get("msg", ""))
            reason = (entry.get("ctx") or {}).get("error")
            if entry.get("type") == "json_invalid" and isinstance(reason, str):
                message = f"{message}: {reason}"
            detail.append({"type": str(entry.get("type", "")), "msg": message,
                           "loc": [part if isinstance(part, int) else str(part) for part in entry.get("loc", ())]})
        return JSONResponse(status_code=422, content={"detail": detail})

    @app.get("/health", response_model=Health)
    def health() -> dict[str, Any]:
        return {"status": "ok", "runtime": scorer.runtime, "tasks": list(scorer.tasks), "rank_by": rank_by,
                "max_candidates": max_candidates}

    @app.post("/rank", response_model=RankResponse)
    def rank(request: RankRequest) -> dict[str, Any]:  # type: ignore[valid-type]
        try:
            features = candidate_features(shop, encoder, request.user_id, request.item_ids, device=request.device,
                                          hour=request.hour, promotion=request.promotion)
        except CandidateError as error:
            raise HTTPException(status_code=422, detail=[
                {"loc": ["body", *error.loc], "msg": error.message, "type": "value_error"}]) from None
        outputs = scorer({name: features[name] for name in scorer.inputs})
        if rank_by == RANK_BY_REVENUE:
            scores = [float(p) * float(prices[item]) for p, item in zip(outputs["purchase"], request.item_ids)]
        else:
            scores = [float(p) for p in outputs[rank_by]]
        if not all(math.isfinite(s) for s in scores):
            raise RuntimeError("the model returned a score that is not a finite number")
        order = sorted(range(len(scores)), key=lambda row: (-scores[row], request.item_ids[row]))
        items = [{"item_id": request.item_ids[row], "score": scores[row],
                  "probabilities": {task: _served(kinds[task], outputs[task], row) for task in scorer.tasks}}
                 for row in order]
        return {"user_id": request.user_id, "rank_by": rank_by, "items": items}

    return app


def train_default_model(shop: data.Shop, split: data.Split, encoder: data.FeatureEncoder,
                        path: str | os.PathLike = DEFAULT_MODEL, *, verbose: bool = True) -> Path:
    """Train lesson 03's shared-bottom model (PyTorch) and export it to ``path`` (``.pt2``).

    The same model and settings as lesson 03 (tasks click, add-to-cart, purchase; bottom (128, 64);
    a 1-d user embedding; embedding decay user 30, item 3; early stopping on purchase AUC). Creates
    ``path``'s folder. The model and the training loop are seeded (seed 0); call
    ``repro.setup(0, ("torch",))`` first for deterministic kernels, as the lessons do.

    Returns:
        ``path``.
    """
    from . import torch_mtl
    from .torch_mtl import export

    path = Path(path)
    tasks = DEFAULT_TASKS
    say = print if verbose else (lambda *args, **kwargs: None)
    say(f"training lesson 03's shared-bottom model on {len(split.train)} rows (tasks {', '.join(tasks)}) ...", flush=True)
    train_inputs = encoder.transform(split.train, tasks)
    valid_inputs = encoder.transform(split.valid, tasks)
    n_numeric = train_inputs.numeric.shape[1]
    model = torch_mtl.SharedBottomModel(encoder.cardinalities, n_numeric, tasks, bottom=(128, 64), seed=0,
                                        embedding_dims={"user_id": 1})
    history = torch_mtl.train(model, train_inputs, valid_inputs, tasks, monitor=("purchase", "auc"), seed=0,
                              epochs=30, batch_size=4096, learning_rate=5e-3, patience=2,
                              embedding_weight_decay={"user_id": 30.0, "item_id": 3.0})
    say(f"trained {len(history)} epochs; exporting to {path} (torch.export)", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    export.export_program(model, path, valid_inputs, overwrite=True)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mtl_lessons.serve``: load (or first train) a model and serve it with uvicorn."""
    parser = argparse.ArgumentParser(prog="python -m mtl_lessons.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None,
                        help=f"an exported model (.pt2, .onnx or a SavedModel folder); default {DEFAULT_MODEL}, "
                             "trained and exported first if missing")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="port (default %(default)s)")
    parser.add_argument("--rank-by", default=RANK_BY_REVENUE,
                        help="expected_revenue (P(purchase) × price) or a binary task (default %(default)s)")
    parser.add_argument("--max-candidates", type=int, default=100, help="items per request (default %(default)s)")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"argument --port: must be in 1–65535, got {args.port}")
    if args.max_candidates < 1:
        parser.error(f"argument --max-candidates: must be a positive integer, got {args.max_candidates}")
    if args.model is not None and not args.model.exists():
        parser.error(f"argument --model: no exported model at {args.model}")
    import uvicorn

    print("loading the shop and fitting the encoder on lesson 03's training split ...", flush=True)
    shop = data.load_shop()
    split = data.chronological_split(data.join_features(shop))
    encoder = data.FeatureEncoder(shop).fit(split.train)
    path = args.model
    if path is None:
        path = DEFAULT_MODEL
        if not path.exists():
            print(f"{path} does not exist: training it once", flush=True)
            from . import repro
            repro.setup(seed=0, frameworks=("torch",))  # seeded, deterministic, quiet (as the lessons run)
            train_default_model(shop, split, encoder, path)
    scorer = load_scorer(path)
    try:
        app = create_app(scorer, shop, encoder, rank_by=args.rank_by, max_candidates=args.max_candidates)
    except ValueError as error:
        parser.error(str(error))
    print(f"serving {path} ({scorer.runtime}; tasks {', '.join(scorer.tasks)}; rank by {args.rank_by}) on "
          f"http://{args.host}:{args.port} (API docs at /docs)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
