"""The shopping-guide text generator (``data.text``): deterministic, and consistent with the shop and its catalogue."""
from __future__ import annotations

import pandas as pd
import pytest

from mtl_lessons import data
from mtl_lessons.data import text as T

SHOP = data.simulate_shop(data.ShopConfig(n_users=1500, n_items=400, n_impressions=40_000))
CONFIG = T.TextConfig(n_utterances=3_000, typo_rate=0.2, n_candidates=4)


@pytest.fixture(scope="module")
def utterances():
    return T.generate_utterances(SHOP, CONFIG)


def test_the_text_is_deterministic(utterances):
    pd.testing.assert_frame_equal(utterances, T.generate_utterances(SHOP, CONFIG))
    pd.testing.assert_frame_equal(T.product_qa(SHOP, utterances, CONFIG), T.product_qa(SHOP, utterances, CONFIG))
    pd.testing.assert_frame_equal(T.reviews(SHOP), T.reviews(SHOP))
    other = T.generate_utterances(data.simulate_shop(data.ShopConfig(seed=7, n_users=1500, n_items=400,
                                                                     n_impressions=40_000)), CONFIG)
    assert not other["text"].equals(utterances["text"])


def test_every_intent_occurs_and_names_what_it_is_about(utterances):
    assert set(utterances["intent"]) == set(T.INTENTS)
    assert (utterances["intent_zh"] == utterances["intent"].map(T.INTENT_ZH)).all()
    find = utterances[(utterances["intent"] == "find_item") & ~utterances["typo"]]
    named = find[~find["vague"]]
    assert all(any(word in t for word in T.CATEGORY_WORDS[c]) for t, c in zip(named["text"], named["category"]))
    every_word = [w for words in T.CATEGORY_WORDS.values() for w in words]
    assert not any(w in t for t in find.loc[find["vague"], "text"] for w in every_word)
    assert 0.25 < find["vague"].mean() < 0.35 and not utterances.loc[utterances["intent"] != "find_item", "vague"].any()
    about_item = utterances[utterances["intent"].isin(T.ITEM_INTENTS)]
    assert (about_item["item_id"] >= 0).all()
    items = SHOP.items.set_index("item_id")
    assert (about_item["category"].to_numpy() == items.loc[about_item["item_id"], "category"].astype(str).to_numpy()).all()
    clean = about_item[~about_item["typo"]]
    assert all(T.item_name(SHOP.items, i) in t for t, i in zip(clean["text"], clean["item_id"]))
    others = utterances[~utterances["intent"].isin(T.ITEM_INTENTS)]
    assert (others["item_id"] == -1).all()


def test_wanted_categories_and_items_come_from_the_shoppers_clicks(utterances):
    clicks = SHOP.impressions[SHOP.impressions["click"] == 1]
    clicked_pairs = set(zip(clicks["user_id"], clicks["item_id"]))
    items = SHOP.items.set_index("item_id")
    clicked_categories = set(zip(clicks["user_id"], items.loc[clicks["item_id"], "category"].astype(str)))
    from_click = utterances[utterances["from_click"]]
    assert from_click["intent"].isin(("find_item", *T.ITEM_INTENTS)).all()
    item_rows = from_click[from_click["intent"].isin(T.ITEM_INTENTS)]
    assert all((u, i) in clicked_pairs for u, i in zip(item_rows["user_id"], item_rows["item_id"]))
    find_rows = from_click[from_click["intent"] == "find_item"]
    assert all((u, c) in clicked_categories for u, c in zip(find_rows["user_id"], find_rows["category"]))
    clickers = set(clicks["user_id"])
    assert (utterances.loc[utterances["intent"] != "chitchat", "user_id"].isin(clickers)
            == utterances.loc[utterances["intent"] != "chitchat", "from_click"]).all()


def test_typos_change_the_text_only_where_flagged(utterances):
    assert (utterances["text"] == utterances["clean_text"])[~utterances["typo"]].all()
    assert 0.15 < utterances["typo"].mean() < 0.25
    changed = (utterances["text"] != utterances["clean_text"])[utterances["typo"]]
    assert changed.mean() > 0.95


def test_each_qa_question_has_exactly_one_true_answer(utterances):
    qa = T.product_qa(SHOP, utterances, CONFIG)
    attributes = T.item_attributes(SHOP.items, SHOP.config.seed)
    assert len(qa) == utterances["intent"].isin(T.ITEM_INTENTS).sum()
    for row in qa.itertuples(index=False):
        truth = T.answer_text(row.attribute, attributes.loc[row.item_id, row.attribute])
        assert len(row.candidates) == 4 and len(set(row.candidates)) == 4
        assert [c == truth for c in row.candidates].count(True) == 1 and row.candidates[row.answer_index] == truth
        # every candidate is a statement of this item's record, each about a different field
        record = {T.answer_text(f, attributes.loc[row.item_id, f]) for f in T.QA_ATTRIBUTE.values()}
        assert set(row.candidates) <= record
    assert qa["answer_index"].value_counts().min() > len(qa) / 8  # the right answer is not always in one place


def test_the_catalogue_record_is_consistent():
    attributes = T.item_attributes(SHOP.items, SHOP.config.seed)
    categories = SHOP.items.set_index("item_id")["category"].astype(str)
    assert all(m in T.MATERIALS[c] for m, c in zip(attributes["material"], categories))
    assert all(s == ("/".join(T.SIZES[c]) if c in T.SIZES else T.ONE_SIZE) for s, c in zip(attributes["sizes"], categories))
    assert attributes["ship_days"].between(1, 5).all()
    assert (attributes.loc[categories == "food", "return_days"] == 0).all()
    assert attributes["return_days"].isin(T.RETURN_DAYS).all()


def test_each_dialogue_has_one_right_reply(utterances):
    selection = T.response_selection(SHOP, utterances, CONFIG)
    attributes = T.item_attributes(SHOP.items, SHOP.config.seed)
    intents_of: dict[str, set] = {}
    for utterance in utterances.itertuples(index=False):
        intents_of.setdefault(T.reply_text(utterance, attributes), set()).add(utterance.intent)
    for row, utterance in zip(selection.itertuples(index=False), utterances.itertuples(index=False)):
        right = T.reply_text(utterance, attributes)
        assert row.candidates[row.answer_index] == right and list(row.candidates).count(right) == 1
        assert len(set(row.candidates)) == len(row.candidates) == 4
        if utterance.intent not in T.SAME_KIND_OK:  # no other reply of the same kind: the text decides
            assert all(utterance.intent not in intents_of[c] for c in row.candidates if c != right)


def test_small_talk_replies_compete_with_each_other(utterances):
    selection = T.response_selection(SHOP, utterances, CONFIG)
    chat_replies = set(T.CHITCHAT_REPLIES.values())
    chat = selection[selection["intent"] == "chitchat"]
    assert all(set(row) <= chat_replies for row in chat["candidates"])


def test_reviews_follow_the_logs_sentiment():
    reviews = T.reviews(SHOP)
    labelled = SHOP.impressions[SHOP.impressions["sentiment"].notna()]
    assert len(reviews) == len(labelled) and (reviews["sentiment"].to_numpy() == labelled["sentiment"].to_numpy()).all()
    assert SHOP.impressions.set_index("impression_id").loc[reviews["impression_id"], "purchase"].eq(1).all()
    for row in reviews.itertuples(index=False):
        templates = T.NEUTRAL_REVIEWS if row.neutral else T.REVIEW_TEMPLATES[row.sentiment]
        assert row.text in {t.format(category=w, material=m) for t in templates
                            for w in T.CATEGORY_WORDS[row.category] for m in T.MATERIALS[row.category]}
    assert 0.3 < reviews["neutral"].mean() < 0.5
    # a neutral review's sentiment is the label, whichever it is: both occur
    assert set(reviews.loc[reviews["neutral"], "sentiment"]) == {0, 1}


def test_search_queries_name_their_category():
    queries = T.search_queries(SHOP, 2_000)
    named = queries[~queries["vague"]]
    assert all(any(w in t for w in T.CATEGORY_WORDS[c]) for t, c in zip(named["text"], named["category"]))
    assert queries.loc[queries["vague"], "text"].isin(T.VAGUE_QUERIES).all() and 0.45 < queries["vague"].mean() < 0.55
    # one impression of the same shopper; shoppers drawn uniformly, not by activity
    rows = SHOP.impressions.set_index("impression_id").loc[queries["impression_id"]]
    assert (rows["user_id"].to_numpy() == queries["user_id"].to_numpy()).all()
    per_user = SHOP.impressions.groupby("user_id").size()
    quiet = per_user.index[per_user <= per_user.median()]
    assert queries["user_id"].isin(quiet).mean() > 0.4
    next_category = SHOP.impressions.set_index("impression_id").loc[queries["impression_id"], "next_category"].astype(str)
    assert (next_category.to_numpy() == queries["category"].to_numpy()).all()


@pytest.mark.parametrize("kwargs, message", [({"n_utterances": 0}, "n_utterances must be an integer ≥ 1"),
                                             ({"typo_rate": 1.5}, r"typo_rate must be a number in \[0, 1\]"),
                                             ({"n_candidates": 1}, r"n_candidates must be an integer in \[2, 5\]"),
                                             ({"n_utterances": True}, "n_utterances must be an integer")])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        T.TextConfig(**kwargs)
    with pytest.raises(ValueError, match="n must be an integer ≥ 1"):
        T.search_queries(SHOP, 0)
    with pytest.raises(ValueError, match="attribute must be one of"):
        T.answer_text("colour", "red")
