"""The ranking service (``mtl_lessons.serve``), in-process with FastAPI's TestClient (no port, no uvicorn).

A small shared-bottom model (one quick epoch on part of the training split) is exported once to
``.pt2`` (and to ``.onnx`` for the runtime-agnostic check). The service must give the same
probabilities as ``torch_mtl.predict`` on rows built the training way (join_features → transform),
rank by its stated score, and answer every bad request with a 4xx that names the field — never a 500.
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mtl_lessons import data, deploy, serve, torch_mtl
from mtl_lessons.torch_mtl import export

from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():  # starlette asks for the httpx2 fork; the locked httpx works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
TASKS = ("click", "add_to_cart", "purchase", "next_category")
GOOD = {"user_id": 17, "item_ids": [3, 42, 7, 500, 999, 0], "device": "web", "hour": 21,
        "promotion": [0, 1, 0, 0, 1, 0]}


@pytest.fixture(scope="module")
def shop_parts():
    shop = data.load_shop()
    split = data.chronological_split(data.join_features(shop))
    encoder = data.FeatureEncoder(shop).fit(split.train)
    return shop, split, encoder


@pytest.fixture(scope="module")
def model(shop_parts):
    _, split, encoder = shop_parts
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train_inputs = encoder.transform(split.train.iloc[:30_000], TASKS)
        net = torch_mtl.SharedBottomModel(encoder.cardinalities, train_inputs.numeric.shape[1], TASKS,
                                          encoder.n_classes, bottom=(32, 16), seed=0, embedding_dims={"user_id": 1})
        torch_mtl.train(net, train_inputs, None, TASKS, monitor=None, epochs=1, batch_size=2048,
                        learning_rate=5e-3, seed=0)
    finally:
        torch.set_num_threads(threads)
    return net


@pytest.fixture(scope="module")
def example(shop_parts):
    _, split, encoder = shop_parts
    return encoder.transform(split.valid.iloc[:16], TASKS)


@pytest.fixture(scope="module")
def scorer(model, example, tmp_path_factory):
    path = export.export_program(model, tmp_path_factory.mktemp("serve") / "model.pt2", example)
    return deploy.load_scorer(path)


@pytest.fixture(scope="module")
def client(scorer, shop_parts):
    shop, _, encoder = shop_parts
    with TestClient(serve.create_app(scorer, shop, encoder, max_candidates=20)) as test_client:
        yield test_client


def reference_probabilities(model, shop_parts, body: dict) -> dict[str, np.ndarray]:
    """torch_mtl.predict on the request's rows built the training way: impressions → join_features → transform."""
    shop, _, encoder = shop_parts
    n = len(body["item_ids"])
    impressions = shop.impressions.iloc[:n].copy().reset_index(drop=True)  # real dtypes and label columns
    impressions["user_id"] = body["user_id"]
    impressions["item_id"] = body["item_ids"]
    impressions["hour"] = body["hour"]
    impressions["device"] = pd.Categorical([body["device"]] * n, categories=impressions["device"].cat.categories)
    impressions["position"] = 1
    impressions["promotion"] = body.get("promotion") or [0] * n
    table = data.join_features(dataclasses.replace(shop, impressions=impressions))
    return torch_mtl.predict(model, encoder.transform(table, TASKS))


# --------------------------------------------------------------------------- encode_features
def test_encode_features_is_transform_without_labels(shop_parts):
    _, split, encoder = shop_parts
    rows = split.test.iloc[:500]
    inputs = encoder.transform(rows)
    labels = ["click", "add_to_cart", "purchase", "rating", "sentiment", "dwell_seconds", "next_category"]
    features = encoder.encode_features(rows.drop(columns=labels))
    assert list(features) == [*data.CATEGORICAL_FEATURES, "numeric"]
    for name in data.CATEGORICAL_FEATURES:
        assert features[name].dtype == np.int64 and np.array_equal(features[name], inputs.categorical[name])
    assert features["numeric"].dtype == np.float32 and np.array_equal(features["numeric"], inputs.numeric)


def test_encode_features_errors(shop_parts):
    shop, split, encoder = shop_parts
    with pytest.raises(ValueError, match=r"lacks the feature columns \['hour'\]"):
        encoder.encode_features(split.test.iloc[:5].drop(columns=["hour"]))
    with pytest.raises(ValueError, match="'hour' has ids outside"):
        encoder.encode_features(split.test.iloc[:5].assign(hour=24))
    with pytest.raises(RuntimeError, match="call fit"):
        data.FeatureEncoder(shop).encode_features(split.test.iloc[:5])


# --------------------------------------------------------------------------- candidate_features
def test_candidate_features_are_the_training_features(model, shop_parts):
    shop, _, encoder = shop_parts
    features = serve.candidate_features(shop, encoder, GOOD["user_id"], GOOD["item_ids"], device=GOOD["device"],
                                        hour=GOOD["hour"], promotion=GOOD["promotion"])
    assert np.array_equal(features["item_id"], GOOD["item_ids"])
    assert (features["position"] == 0).all()  # position 1, the top slot, is id 0
    n = len(GOOD["item_ids"])
    impressions = shop.impressions.iloc[:n].copy().reset_index(drop=True)
    impressions = impressions.assign(user_id=GOOD["user_id"], item_id=GOOD["item_ids"], hour=GOOD["hour"],
                                     position=1, promotion=GOOD["promotion"])
    impressions["device"] = pd.Categorical([GOOD["device"]] * n, categories=impressions["device"].cat.categories)
    inputs = encoder.transform(data.join_features(dataclasses.replace(shop, impressions=impressions)))
    for name, ids in inputs.categorical.items():
        assert np.array_equal(features[name], ids), name
    assert np.array_equal(features["numeric"], inputs.numeric)
    default = serve.candidate_features(shop, encoder, 17, [3, 42], device="app", hour=0)
    assert np.array_equal(default["numeric"][:, data.NUMERIC_FEATURES.index("promotion")],
                          np.full(2, (0 - encoder.mean_[-1]) / encoder.std_[-1], dtype=np.float32))


@pytest.mark.parametrize("kwargs, loc, message", [
    ({"user_id": 10**30}, ("user_id",), "is not a user of the shop"),
    ({"user_id": -1}, ("user_id",), "is not a user of the shop"),
    ({"user_id": True}, ("user_id",), "user_id must be an integer"),
    ({"user_id": "17"}, ("user_id",), "user_id must be an integer"),
    ({"item_ids": []}, ("item_ids",), "item_ids is empty"),
    ({"item_ids": 3}, ("item_ids",), "item_ids must be a list"),
    ({"item_ids": [3, 1000]}, ("item_ids", 1), r"item_ids\[1\] = 1000 is not an item"),
    ({"item_ids": [3, 4, 3]}, ("item_ids", 2), "duplicate"),
    ({"item_ids": [3, 4.0]}, ("item_ids", 1), "must be an integer item id"),
    ({"device": "tv"}, ("device",), "device must be one of 'app', 'web', 'mini_program'"),
    ({"hour": 24}, ("hour",), "hour must be an integer hour of the day in 0–23"),
    ({"hour": 1.0}, ("hour",), "hour must be an integer"),
    ({"promotion": [0]}, ("promotion",), "promotion has 1 values for 2 items"),
    ({"promotion": [0, 2]}, ("promotion", 1), r"promotion\[1\] must be 0 or 1"),
    ({"promotion": [0, True]}, ("promotion", 1), r"promotion\[1\] must be 0 or 1"),
])
def test_candidate_features_name_the_bad_argument(shop_parts, kwargs, loc, message):
    shop, _, encoder = shop_parts
    arguments = {"user_id": 17, "item_ids": [3, 4], "device": "app", "hour": 12, **kwargs}
    user_id, item_ids = arguments.pop("user_id"), arguments.pop("item_ids")
    with pytest.raises(serve.CandidateError, match=message) as error:
        serve.candidate_features(shop, encoder, user_id, item_ids, **arguments)
    assert error.value.loc == loc and isinstance(error.value, ValueError)


def test_candidate_features_refuse_an_unfitted_encoder(shop_parts):
    shop, _, _ = shop_parts
    with pytest.raises(ValueError, match="encoder is not fitted"):
        serve.candidate_features(shop, data.FeatureEncoder(shop), 17, [3], device="app", hour=1)


# --------------------------------------------------------------------------- the service
def test_health(client, scorer):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "runtime": "torch.export", "tasks": list(TASKS),
                               "rank_by": "expected_revenue", "max_candidates": 20}
    assert scorer.runtime == "torch.export"


def test_rank_gives_the_models_probabilities_sorted_by_expected_revenue(client, model, shop_parts):
    shop, _, _ = shop_parts
    response = client.post("/rank", json=GOOD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user_id"] == GOOD["user_id"] and body["rank_by"] == "expected_revenue"
    assert sorted(item["item_id"] for item in body["items"]) == sorted(GOOD["item_ids"])
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)
    reference = reference_probabilities(model, shop_parts, GOOD)
    prices = shop.items.set_index("item_id")["price"]
    for item in body["items"]:
        row = GOOD["item_ids"].index(item["item_id"])
        for task in ("click", "add_to_cart", "purchase"):
            assert abs(item["probabilities"][task] - reference[task][row]) <= 1e-6, (task, item["item_id"])
        classes = np.asarray(item["probabilities"]["next_category"])  # a multi-class task: its class probabilities
        assert classes.shape == (len(shop.items["category"].cat.categories),)
        assert np.abs(classes - reference["next_category"][row]).max() <= 1e-6
        assert item["score"] == pytest.approx(item["probabilities"]["purchase"] * prices[item["item_id"]], rel=1e-12)
    assert len(set(scores)) > 1  # the model tells these items apart


def test_promotion_is_optional_and_changes_the_scores(client, model, shop_parts):
    body = {key: value for key, value in GOOD.items() if key != "promotion"}
    response = client.post("/rank", json=body)
    assert response.status_code == 200
    reference = reference_probabilities(model, shop_parts, body)
    for item in response.json()["items"]:
        row = body["item_ids"].index(item["item_id"])
        assert abs(item["probabilities"]["click"] - reference["click"][row]) <= 1e-6
    promoted = {i["item_id"]: i["probabilities"]["click"] for i in client.post("/rank", json=GOOD).json()["items"]}
    plain = {i["item_id"]: i["probabilities"]["click"] for i in response.json()["items"]}
    assert promoted[42] != plain[42] and promoted[3] == plain[3]


def test_rank_by_a_task(scorer, shop_parts):
    shop, _, encoder = shop_parts
    with TestClient(serve.create_app(scorer, shop, encoder, rank_by="click")) as by_click:
        assert by_click.get("/health").json()["rank_by"] == "click"
        body = by_click.post("/rank", json=GOOD).json()
    assert body["rank_by"] == "click"
    assert [item["score"] for item in body["items"]] == [item["probabilities"]["click"] for item in body["items"]]
    assert [item["score"] for item in body["items"]] == sorted((item["score"] for item in body["items"]), reverse=True)


def fake_scorer(scorer: deploy.Scorer, **metadata) -> deploy.Scorer:
    """A scorer with the real one's signature (changed by ``metadata``) that gives every row the same outputs."""
    meta = {**scorer.metadata, **metadata}

    def run(features):
        n = len(features["numeric"])
        return {task: (np.full((n, meta["n_classes"][task]), 0.1, np.float32) if meta["kinds"][task] == "multiclass"
                       else np.full(n, 0.25, np.float32)) for task in meta["tasks"]}

    return deploy.Scorer(scorer.path, "fake", meta, run)


def test_ties_are_broken_by_item_id(scorer, shop_parts):
    shop, _, encoder = shop_parts
    with TestClient(serve.create_app(fake_scorer(scorer), shop, encoder, rank_by="purchase")) as tied:
        body = tied.post("/rank", json=GOOD).json()
    assert [item["item_id"] for item in body["items"]] == sorted(GOOD["item_ids"])
    assert {item["score"] for item in body["items"]} == {0.25}


def test_the_service_is_runtime_agnostic_onnx(model, example, scorer, shop_parts, client, tmp_path):
    shop, _, encoder = shop_parts
    onnx_scorer = deploy.load_scorer(export.export_onnx(model, tmp_path / "model.onnx", example), threads=1)
    with TestClient(serve.create_app(onnx_scorer, shop, encoder, max_candidates=20)) as onnx_client:
        assert onnx_client.get("/health").json()["runtime"] == "onnxruntime"
        from_onnx = onnx_client.post("/rank", json=GOOD).json()["items"]
    from_pt2 = client.post("/rank", json=GOOD).json()["items"]
    assert [i["item_id"] for i in from_onnx] == [i["item_id"] for i in from_pt2]
    for a, b in zip(from_onnx, from_pt2):
        for task in ("click", "add_to_cart", "purchase"):
            assert abs(a["probabilities"][task] - b["probabilities"][task]) <= 1e-5
        assert np.abs(np.subtract(a["probabilities"]["next_category"], b["probabilities"]["next_category"])).max() <= 1e-5


def good(**changes) -> dict:
    body = {key: value for key, value in GOOD.items() if key != "promotion"}
    return {key: value for key, value in {**body, **changes}.items() if value is not ...}


BAD_JSON = [  # (test id, body as JSON or raw bytes, status, the loc that must be named, a fragment of msg)
    ("user_id as a string", good(user_id="17"), 422, ["body", "user_id"], "valid integer"),
    ("user_id as a bool", good(user_id=True), 422, ["body", "user_id"], "valid integer"),
    ("user_id as a float", good(user_id=17.0), 422, ["body", "user_id"], "valid integer"),
    ("user_id negative", good(user_id=-1), 422, ["body", "user_id"], "greater than or equal to 0"),
    ("user_id huge", good(user_id=10**30), 422, ["body", "user_id"], "is not a user of the shop"),
    ("user_id unknown", good(user_id=4000), 422, ["body", "user_id"], "is not a user of the shop"),
    ("user_id missing", good(user_id=...), 422, ["body", "user_id"], "Field required"),
    ("user_id null", good(user_id=None), 422, ["body", "user_id"], "valid integer"),
    ("item_ids missing", good(item_ids=...), 422, ["body", "item_ids"], "Field required"),
    ("item_ids not a list", good(item_ids=3), 422, ["body", "item_ids"], "valid list"),
    ("item_ids empty", good(item_ids=[]), 422, ["body", "item_ids"], "at least 1 item"),
    ("item_ids too many", good(item_ids=list(range(21))), 422, ["body", "item_ids"], "at most 20 items"),
    ("item_ids huge list", good(item_ids=list(range(200_000))), 422, ["body", "item_ids"], "at most 20 items"),
    ("item id as a string", good(item_ids=[3, "4"]), 422, ["body", "item_ids", 1], "valid integer"),
    ("item id negative", good(item_ids=[3, -4]), 422, ["body", "item_ids", 1], "greater than or equal to 0"),
    ("item id unknown", good(item_ids=[3, 1000]), 422, ["body", "item_ids", 1], "is not an item of the shop"),
    ("item id huge", good(item_ids=[10**30]), 422, ["body", "item_ids", 0], "is not an item of the shop"),
    ("item ids duplicated", good(item_ids=[3, 4, 3]), 422, ["body", "item_ids", 2], "duplicate"),
    ("device unknown", good(device="tv"), 422, ["body", "device"], "'app', 'web' or 'mini_program'"),
    ("device wrong case", good(device="APP"), 422, ["body", "device"], "'app', 'web' or 'mini_program'"),
    ("device a number", good(device=0), 422, ["body", "device"], "'app', 'web' or 'mini_program'"),
    ("hour 24", good(hour=24), 422, ["body", "hour"], "less than or equal to 23"),
    ("hour negative", good(hour=-1), 422, ["body", "hour"], "greater than or equal to 0"),
    ("hour as a string", good(hour="12"), 422, ["body", "hour"], "valid integer"),
    ("promotion too short", good(promotion=[0]), 422, ["body", "promotion"], "promotion has 1 values for 6 items"),
    ("promotion a bool", good(promotion=[0, 0, 0, 0, 0, True]), 422, ["body", "promotion", 5], "valid integer"),
    ("promotion 2", good(promotion=[0, 0, 2, 0, 0, 0]), 422, ["body", "promotion", 2], "less than or equal to 1"),
    ("promotion not a list", good(promotion=1), 422, ["body", "promotion"], "valid list"),
    ("an extra field", good(position=3), 422, ["body", "position"], "Extra inputs are not permitted"),
    ("a list, not an object", [GOOD], 422, ["body"], "valid dictionary"),
    ("a string, not an object", "hello", 422, ["body"], "valid dictionary"),
]
BAD_RAW = [
    ("malformed JSON", b'{"user_id": 17,', 422, ["body"], "JSON decode error: Expecting property name"),
    ("no body", b"", 422, ["body"], "Field required"),
    ("NaN", b'{"user_id": 17, "item_ids": [3], "device": "app", "hour": NaN}', 422, ["body", "hour"], "valid integer"),
    ("1e400", b'{"user_id": 1e400, "item_ids": [3], "device": "app", "hour": 1}', 422, ["body", "user_id"],
     "valid integer"),
    ("Infinity in a list", b'{"user_id": 17, "item_ids": [Infinity], "device": "app", "hour": 1}', 422,
     ["body", "item_ids", 0], "valid integer"),
]


@pytest.mark.parametrize("body, status, loc, message", [case[1:] for case in BAD_JSON + BAD_RAW],
                         ids=[case[0] for case in BAD_JSON + BAD_RAW])
def test_bad_requests_get_a_4xx_naming_the_field(client, body, status, loc, message):
    if isinstance(body, bytes):
        response = client.post("/rank", content=body, headers={"content-type": "application/json"})
    else:
        response = client.post("/rank", json=body)
    assert response.status_code == status < 500, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and len(detail) >= 1
    named = [entry for entry in detail if entry["loc"][:len(loc)] == loc]
    assert named, f"no error names {loc}: {detail}"
    assert any(message in entry["msg"] for entry in named), detail
    assert all(set(entry) == {"type", "loc", "msg"} for entry in detail)  # the bad input is not echoed back
    assert len(response.content) < 2000


def test_unreadable_bodies_and_wrong_methods_are_4xx(client):
    for content in (b"[" * 100_000, b'{"user_id": \xff}'):
        response = client.post("/rank", content=content, headers={"content-type": "application/json"})
        assert 400 <= response.status_code < 500, response.text
    assert client.post("/rank", content=json.dumps(GOOD), headers={"content-type": "text/plain"}).status_code == 422
    assert client.get("/rank").status_code == 405
    assert client.post("/health").status_code == 405
    assert client.get("/nowhere").status_code == 404
    assert client.post("/rank", json=GOOD).status_code == 200  # still serving


# --------------------------------------------------------------------------- create_app and the CLI
def test_create_app_checks_its_arguments(scorer, shop_parts):
    shop, _, encoder = shop_parts
    cases = [
        ({"rank_by": "revenue"}, "rank_by must be 'expected_revenue' or a binary task"),
        ({"rank_by": "next_category"}, "rank_by must be 'expected_revenue' or a binary task"),
        ({"max_candidates": 0}, "max_candidates must be a positive integer"),
        ({"max_candidates": True}, "max_candidates must be a positive integer"),
        ({"max_candidates": 10.0}, "max_candidates must be a positive integer"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            serve.create_app(scorer, shop, encoder, **kwargs)
    wrong = fake_scorer(scorer, cardinalities={**scorer.metadata["cardinalities"], "item_id": 5})
    with pytest.raises(ValueError, match="cardinalities .* do not match the encoder's"):
        serve.create_app(wrong, shop, encoder)
    no_purchase = fake_scorer(scorer, tasks=["click"], kinds={"click": "binary"})
    with pytest.raises(ValueError, match="needs a binary 'purchase' task"):
        serve.create_app(no_purchase, shop, encoder)
    serve.create_app(no_purchase, shop, encoder, rank_by="click")  # fine
    with pytest.raises(ValueError, match="scorer must be a deploy.Scorer"):
        serve.create_app(lambda features: {}, shop, encoder)
    with pytest.raises(ValueError, match="encoder is not fitted"):
        serve.create_app(scorer, shop, data.FeatureEncoder(shop))
    with pytest.raises(ValueError, match="shop must be a data.Shop"):
        serve.create_app(scorer, shop.items, encoder)
    combined = dataclasses.replace(shop, items=shop.items.assign(domain="source"))
    with pytest.raises(ValueError, match="combine_domains shop: the service serves one market"):
        serve.create_app(scorer, combined, encoder)


def test_cli_refuses_bad_arguments_before_loading_anything(tmp_path, capsys):
    for argv, message in ((["--model", str(tmp_path / "missing.pt2")], "no exported model at"),
                          (["--port", "0"], "--port: must be in 1–65535"),
                          (["--max-candidates", "0"], "--max-candidates: must be a positive integer")):
        with pytest.raises(SystemExit) as exit_info:
            serve.main(argv)
        assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_serve_imports_no_framework():
    code = textwrap.dedent("""
        import json, sys
        import mtl_lessons.serve
        print(json.dumps({name: name in sys.modules for name in ("torch", "tensorflow", "keras")}))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"torch": False, "tensorflow": False, "keras": False}


def test_train_default_model_writes_a_servable_pt2(shop_parts, tmp_path, capsys):
    shop, split, encoder = shop_parts
    small = data.Split(train=split.train.iloc[:20_000], valid=split.valid.iloc[:5_000], test=split.test.iloc[:10])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        path = serve.train_default_model(shop, small, encoder, tmp_path / "new" / "folder" / "model.pt2")
    finally:
        torch.set_num_threads(threads)
    assert path.is_file() and "training lesson 03's shared-bottom model on 20000 rows" in capsys.readouterr().out
    trained = deploy.load_scorer(path)
    assert trained.tasks == serve.DEFAULT_TASKS
    with TestClient(serve.create_app(trained, shop, encoder)) as default_client:
        assert default_client.post("/rank", json=GOOD).status_code == 200
