"""Chinese shopper text for the shopping-guide agent (lesson 09), generated from templates and the catalogue.

Five text tasks, each with a known answer, tied to the simulated shop (``simulate_shop``):

* **utterances**: what a shopper says to the guide, with its intent (找商品, 比价, 问尺码, 问材质, 问物流,
  退换货, 闲聊). A shopper who looks for goods names a category they clicked in the impression log, so
  the text of their queries carries the same taste the log does; questions about an item name an item
  they clicked. Phrasing depends on the shopper's segment; synonyms and typos vary it.
* **product QA**: a question about one attribute of an item (size, material, shipping, returns, price)
  and candidate answers, exactly one of them true of that item's catalogue record (answer selection).
* **response selection**: a shopper's utterance and k candidate replies of the guide; one fits.
* **reviews**: a short review of each purchased item whose sentiment is the log's ``sentiment`` label.
* **search queries**: a query whose category is known.

Every generator takes a ``numpy.random.Generator`` seeded from the shop's seed and a fixed stream
number, so the same shop gives the same text. English glosses of the vocabularies are in
``INTENT_GLOSS`` and in the data card.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import CATEGORIES, SEGMENTS
from .files import csv_bytes

INTENTS = ("find_item", "compare_price", "ask_size", "ask_material", "ask_shipping", "return_exchange", "chitchat")
INTENT_ZH = {"find_item": "找商品", "compare_price": "比价", "ask_size": "问尺码", "ask_material": "问材质",
             "ask_shipping": "问物流", "return_exchange": "退换货", "chitchat": "闲聊"}
INTENT_GLOSS = {"find_item": "looking for goods", "compare_price": "comparing prices", "ask_size": "asking about sizes",
                "ask_material": "asking about materials", "ask_shipping": "asking about delivery",
                "return_exchange": "returns and exchanges", "chitchat": "small talk"}
INTENT_SHARE = (0.34, 0.12, 0.12, 0.12, 0.12, 0.08, 0.10)
"""How often shoppers say each intent (sums to 1)."""
ITEM_INTENTS = ("compare_price", "ask_size", "ask_material", "ask_shipping", "return_exchange")
"""Intents that are about one item (the QA intents): the utterance names it."""

CATEGORY_WORDS = {
    "fashion": ("衣服", "服装", "穿搭"), "beauty": ("化妆品", "护肤品", "美妆"), "electronics": ("数码产品", "电子产品", "电器"),
    "home": ("家居用品", "居家好物", "家居"), "sports": ("运动装备", "健身用品", "运动用品"), "books": ("书", "图书", "书籍"),
    "toys": ("玩具", "益智玩具", "儿童玩具"), "food": ("零食", "吃的", "食品"), "pets": ("宠物用品", "猫粮狗粮", "宠物粮"),
    "outdoor": ("户外用品", "露营装备", "户外装备"), "jewelry": ("首饰", "饰品", "珠宝"), "auto": ("汽车用品", "车载用品", "车品"),
}
"""Each category's words: the first is the canonical one, the others synonyms a shopper may use."""

MATERIALS = {
    "fashion": ("纯棉", "涤纶", "羊毛", "真丝"), "beauty": ("植物萃取", "玻尿酸", "烟酰胺"), "electronics": ("铝合金", "塑料", "玻璃"),
    "home": ("实木", "陶瓷", "不锈钢", "棉麻"), "sports": ("尼龙", "橡胶", "碳纤维"), "books": ("胶版纸", "铜版纸", "轻型纸"),
    "toys": ("塑料", "木质", "毛绒"), "food": ("坚果", "谷物", "果干"), "pets": ("鸡肉", "鱼肉", "牛肉"),
    "outdoor": ("尼龙", "涤纶", "铝合金"), "jewelry": ("纯银", "黄金", "珍珠", "玉石"), "auto": ("皮革", "硅胶", "塑料"),
}
SIZES = {"fashion": ("S", "M", "L", "XL"), "sports": ("S", "M", "L", "XL"), "outdoor": ("M", "L", "XL"),
         "jewelry": ("14号", "16号", "18号"), "pets": ("小型犬", "中型犬", "大型犬")}
"""Categories whose items come in sizes; the other categories are one size (均码)."""
ONE_SIZE = "均码"
RETURN_DAYS = (0, 7, 15)
"""Days within which an item can be returned without a reason (0: not returnable, e.g. opened food)."""

BRAND_FIRST = "优乐悦美安睿星云嘉森"
BRAND_SECOND = ("品", "家", "选", "尚", "客", "派", "源", "谷", "禾", "度")

STYLE = {  # how a segment opens and closes a sentence
    "student": (("有没有", "求推荐", "想买点"), ("呀", "哈", "～")),
    "family": (("想给家里买", "有没有适合全家的", "帮我找找"), ("", "呢", "，谢谢")),
    "professional": (("推荐一下", "需要", "找一款"), ("", "，要快", "，性价比高的")),
    "senior": (("请问有没有", "我想买", "麻烦帮我找"), ("，谢谢", "，麻烦了", "")),
}
TEMPLATES = {
    "find_item": ("{open}{category}{close}", "{open}好一点的{category}{close}", "最近想入手{category}{close}"),
    "compare_price": ("{item}现在多少钱？", "{item}卖多少钱？", "{item}什么价格？"),
    "ask_size": ("{item}有哪些尺码？", "{item}我该选什么码？", "{item}尺寸怎么选？"),
    "ask_material": ("{item}是什么材质的？", "{item}用的什么料子？", "{item}的材质怎么样？"),
    "ask_shipping": ("{item}几天能到？", "{item}什么时候发货？", "{item}快递要多久？"),
    "return_exchange": ("{item}可以退货吗？", "{item}不合适能换吗？", "{item}支持几天无理由退换？"),
    "chitchat": ("你好呀", "今天天气真好", "你是机器人吗？", "谢谢你", "随便看看"),
}
VAGUE_FIND_TEMPLATES = ("有什么好物推荐吗{close}", "最近有什么值得买的{close}", "随便推荐点{close}")
"""find_item phrasings that name no category: what the shopper wants is their taste, not their words."""
VAGUE_SHARE = 0.3
"""Share of find_item utterances that name no category."""
TYPO_SWAPS = {"的": "得", "吗": "嘛", "么": "麽", "码": "吗", "换": "唤", "货": "伙", "推": "堆", "荐": "见"}
"""Common slips of a Chinese input method (homophones or near-homophones)."""


@dataclass(frozen=True)
class TextConfig:
    """Knobs of the text generator.

    Attributes:
        n_utterances: shopper utterances to generate (≥ 1).
        typo_rate: share of utterances with one typo, in [0, 1].
        n_candidates: candidates per QA question and per response-selection example (2 … 5: an item's
            record has five fields).
    """

    n_utterances: int = 20_000
    typo_rate: float = 0.1
    n_candidates: int = 4

    def __post_init__(self) -> None:
        if isinstance(self.n_utterances, bool) or not isinstance(self.n_utterances, (int, np.integer)) \
                or self.n_utterances < 1:
            raise ValueError(f"n_utterances must be an integer ≥ 1, got {self.n_utterances!r}")
        if isinstance(self.typo_rate, bool) or not isinstance(self.typo_rate, (int, float)) \
                or not 0 <= self.typo_rate <= 1:
            raise ValueError(f"typo_rate must be a number in [0, 1], got {self.typo_rate!r}")
        if isinstance(self.n_candidates, bool) or not isinstance(self.n_candidates, (int, np.integer)) \
                or not 2 <= self.n_candidates <= 5:
            raise ValueError(f"n_candidates must be an integer in [2, 5], got {self.n_candidates!r}")


def brand_name(brand: int) -> str:
    """A two-character Chinese brand name for brand id ``brand`` (distinct for ids 0 … 99)."""
    return BRAND_FIRST[brand % 10] + BRAND_SECOND[(brand // 10) % 10] + ("" if brand < 100 else str(brand // 100))


def item_name(items: pd.DataFrame, item_id: int) -> str:
    """How a shopper names an item: "<brand>的<category word>", e.g. "优品的衣服"."""
    row = items.loc[item_id]
    return f"{brand_name(int(row['brand']))}的{CATEGORY_WORDS[str(row['category'])][0]}"


def item_attributes(items: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Each item's catalogue record beyond the shop's table: material, sizes, days to ship, return days.

    Drawn once per item from ``seed`` (stream 9,001), in item order, so every task reads the same record.

    Returns:
        DataFrame indexed by ``item_id``: ``material`` (str), ``sizes`` (str, "/"-joined, or 均码),
        ``ship_days`` (int 1–5), ``return_days`` (int in RETURN_DAYS; food is never returnable),
        ``price`` (float, the shop's).
    """
    rng = np.random.default_rng([seed, 9_001])
    categories = items["category"].astype(str).to_numpy()
    material = [MATERIALS[c][k % len(MATERIALS[c])] for c, k in zip(categories, rng.integers(0, 1_000, len(items)),
                                                                    strict=True)]
    sizes = ["/".join(SIZES[c]) if c in SIZES else ONE_SIZE for c in categories]
    ship_days = rng.integers(1, 6, len(items))
    return_days = np.asarray(RETURN_DAYS)[rng.integers(1, 3, len(items))]
    return_days[categories == "food"] = 0
    return pd.DataFrame({"material": material, "sizes": sizes, "ship_days": ship_days, "return_days": return_days,
                         "price": items["price"].to_numpy()}, index=pd.Index(items["item_id"].to_numpy(), name="item_id"))


def _clicked_items(impressions: pd.DataFrame) -> dict[int, np.ndarray]:
    """user id → the items that user clicked in the log, in log order."""
    clicks = impressions.loc[impressions["click"] == 1, ["user_id", "item_id"]]
    return {int(user): group.to_numpy() for user, group in clicks.groupby("user_id")["item_id"]}


def _typo(text: str, rng: np.random.Generator) -> str:
    """One slip: a homophone swap where one fits, otherwise one character dropped."""
    swappable = [i for i, ch in enumerate(text) if ch in TYPO_SWAPS]
    if swappable:
        i = swappable[int(rng.integers(len(swappable)))]
        return text[:i] + TYPO_SWAPS[text[i]] + text[i + 1:]
    if len(text) > 2:
        i = int(rng.integers(len(text)))
        return text[:i] + text[i + 1:]
    return text


def generate_utterances(shop, config: TextConfig = TextConfig(), *, before_day: int | None = None) -> pd.DataFrame:
    """Shopper utterances with their intent and what they refer to.

    A shopper is drawn uniformly; their intent from ``INTENT_SHARE``. For ``find_item`` the wanted
    category is that of an item the shopper clicked in the log (a random category for a shopper with no
    click), named by one of its words; for the item intents the item is one they clicked (a random item
    without a click). ``config.typo_rate`` of the utterances carry one typo (``typo`` column).

    ``before_day``: use only clicks of the days before it (a model tested on later days must not learn
    those days' clicks from the text); None: every day of the log.

    Returns:
        DataFrame with ``user_id``, ``segment``, ``intent``, ``intent_zh``, ``text``, ``clean_text`` (the text
        before its typo), ``category``
        (the wanted category for find_item, the item's for item intents, "" for chitchat), ``item_id``
        (−1 unless an item intent), ``typo`` (bool), ``from_click`` (bool: the category or item came
        from the shopper's clicks), ``vague`` (bool: a find_item utterance that names no category,
        ``VAGUE_SHARE`` of them).
    """
    if not isinstance(config, TextConfig):
        raise ValueError(f"config must be a TextConfig, got {type(config).__name__}")
    rng = np.random.default_rng([shop.config.seed, 9_002])
    users, items = shop.users, shop.items.set_index("item_id", drop=False)
    if before_day is not None and (isinstance(before_day, bool) or not isinstance(before_day, (int, np.integer))):
        raise ValueError(f"before_day must be an integer day or None, got {before_day!r}")
    log = shop.impressions if before_day is None else shop.impressions[shop.impressions["day"] < before_day]
    clicked = _clicked_items(log)
    n = config.n_utterances
    user_ids = rng.integers(0, len(users), n)
    intents = rng.choice(len(INTENTS), size=n, p=INTENT_SHARE)
    segments = users["segment"].astype(str).to_numpy()
    item_categories = items["category"].astype(str)
    rows = []
    for user, intent_index in zip(user_ids, intents, strict=True):
        intent, segment = INTENTS[intent_index], segments[user]
        mine = clicked.get(int(user))
        from_click = mine is not None
        item = int(mine[rng.integers(len(mine))]) if from_click else int(rng.integers(len(items)))
        category, item_id = "", -1
        template = TEMPLATES[intent][int(rng.integers(len(TEMPLATES[intent])))]
        vague = False
        if intent == "find_item":
            vague = bool(rng.random() < VAGUE_SHARE)
            if vague:
                template = VAGUE_FIND_TEMPLATES[int(rng.integers(len(VAGUE_FIND_TEMPLATES)))]
            category = item_categories.loc[item]
            words = CATEGORY_WORDS[category]
            openers, closers = STYLE[segment]
            text = template.format(open=openers[int(rng.integers(len(openers)))], category=words[int(rng.integers(len(words)))],
                                   close=closers[int(rng.integers(len(closers)))])
        elif intent in ITEM_INTENTS:
            category, item_id = item_categories.loc[item], item
            text = template.format(item=item_name(items, item))
        else:
            text, from_click = template, False
        typo = bool(rng.random() < config.typo_rate)
        rows.append((int(user), segment, intent, INTENT_ZH[intent], _typo(text, rng) if typo else text, text, category,
                     item_id, typo, from_click, vague))
    return pd.DataFrame(rows, columns=["user_id", "segment", "intent", "intent_zh", "text", "clean_text", "category",
                                       "item_id", "typo", "from_click", "vague"])


QA_ATTRIBUTE = {"compare_price": "price", "ask_size": "sizes", "ask_material": "material", "ask_shipping": "ship_days",
                "return_exchange": "return_days"}
"""The catalogue field that answers each item intent."""
CHITCHAT_REPLIES = {"你好呀": "您好，有什么可以帮您？", "今天天气真好": "是呀，适合出门逛逛！",
                    "你是机器人吗？": "我是您的购物助手，随时为您推荐好物。", "谢谢你": "不客气，祝您购物愉快！",
                    "随便看看": "好的，有需要随时叫我。"}
"""The guide's reply to each small-talk template (keyed by the utterance before any typo)."""


def answer_text(attribute: str, value) -> str:
    """The guide's answer stating one catalogue value, e.g. ``answer_text("ship_days", 2)`` → "下单后2天内送达。"."""
    if attribute == "price":
        return f"这款现在售价{float(value):.2f}元。"
    if attribute == "sizes":
        return "这款是均码的。" if value == ONE_SIZE else f"这款有{value}可选。"
    if attribute == "material":
        return f"这款是{value}的。"
    if attribute == "ship_days":
        return f"下单后{int(value)}天内送达。"
    if attribute == "return_days":
        return "这款不支持无理由退换。" if int(value) == 0 else f"支持{int(value)}天无理由退换。"
    raise ValueError(f"attribute must be one of {sorted(set(QA_ATTRIBUTE.values()))}, got {attribute!r}")


def product_qa(shop, utterances: pd.DataFrame, config: TextConfig = TextConfig()) -> pd.DataFrame:
    """Answer selection: each item-intent utterance, its item, and ``config.n_candidates`` statements from
    that item's catalogue record (``item_attributes``), one per attribute: the statement of the asked
    attribute is the answer, the others are true of the item but answer another question.

    This is the retrieval step of a knowledge-base QA: find which record field answers the question; the
    value itself is then read from the catalogue.

    Returns:
        DataFrame with ``question``, ``item_id``, ``intent``, ``attribute``, ``candidates`` (tuple of str),
        ``answer_index`` (int), ``answer`` (the true value).
    """
    rng = np.random.default_rng([shop.config.seed, 9_003])
    attributes = item_attributes(shop.items, shop.config.seed)
    fields = list(QA_ATTRIBUTE.values())
    rows = []
    for question, item, intent in utterances.loc[utterances["intent"].isin(ITEM_INTENTS),
                                                 ["text", "item_id", "intent"]].itertuples(index=False):
        attribute = QA_ATTRIBUTE[intent]
        record = {field: attributes.loc[item, field] for field in fields}
        record = {field: value.item() if hasattr(value, "item") else value for field, value in record.items()}
        others = [fields[i] for i in rng.permutation(len(fields)) if fields[i] != attribute][:config.n_candidates - 1]
        position = int(rng.integers(config.n_candidates))
        shown = others[:position] + [attribute] + others[position:]
        candidates = tuple(answer_text(field, record[field]) for field in shown)
        rows.append((question, int(item), intent, attribute, candidates, position, record[attribute]))
    return pd.DataFrame(rows, columns=["question", "item_id", "intent", "attribute", "candidates", "answer_index", "answer"])


def reply_text(row, attributes: pd.DataFrame) -> str:
    """The guide's right reply to one utterance row of ``generate_utterances``."""
    if row.intent == "find_item":
        return f"为您找到几款{CATEGORY_WORDS[row.category][0]}，看看这些？"
    if row.intent in ITEM_INTENTS:
        return answer_text(QA_ATTRIBUTE[row.intent], attributes.loc[row.item_id, QA_ATTRIBUTE[row.intent]])
    return CHITCHAT_REPLIES[row.clean_text]


SAME_KIND_OK = ("find_item", "chitchat")
"""Intents whose distractor replies may be of the same kind: the words tell them apart."""


def response_selection(shop, utterances: pd.DataFrame, config: TextConfig = TextConfig()) -> pd.DataFrame:
    """Each utterance with ``config.n_candidates`` replies: its own right reply and replies to other
    utterances (all different from it). A distractor to a small-talk utterance is another small-talk reply; to
    a request for goods, any other reply (another category's included); to an item question, a reply to another
    intent: a reply of the same kind (another item's delivery time) would need the catalogue, which is the QA
    task's job, not the dialogue's.

    Returns:
        DataFrame with ``context``, ``intent``, ``candidates`` (tuple of str), ``answer_index``.
    """
    rng = np.random.default_rng([shop.config.seed, 9_004])
    attributes = item_attributes(shop.items, shop.config.seed)
    replies = [reply_text(row, attributes) for row in utterances.itertuples(index=False)]
    intents = utterances["intent"].to_numpy()
    chat_replies = list(CHITCHAT_REPLIES.values())
    rows = []
    for i, row in enumerate(utterances.itertuples(index=False)):
        others: list[str] = []
        while len(others) < config.n_candidates - 1:
            if row.intent == "chitchat":  # small talk competes with the other small-talk replies
                other = chat_replies[int(rng.integers(len(chat_replies)))]
                j = i
            else:
                j = int(rng.integers(len(replies)))
                other = replies[j]
            if other != replies[i] and other not in others and (intents[j] != row.intent or row.intent in SAME_KIND_OK):
                others.append(other)
        position = int(rng.integers(config.n_candidates))
        others.insert(position, replies[i])
        rows.append((row.text, row.intent, tuple(others), position))
    return pd.DataFrame(rows, columns=["context", "intent", "candidates", "answer_index"])


REVIEW_TEMPLATES = {
    1: ("{category}很满意，推荐！", "物流快，{category}和描述一致，满意。", "第二次买了，{category}质量很好。"),
    0: ("{category}质量一般，不太满意。", "收到的{category}和图片不一样，失望。", "{category}和描述不符，不推荐。"),
}
NEUTRAL_REVIEWS = ("收到了，{category}还没开始用。", "{category}到了，先给个评价。", "帮家人买的{category}，还没问用得怎么样。")
"""Reviews that state no opinion: their sentiment (the log's label) is not in the words."""
NEUTRAL_SHARE = 0.4


def reviews(shop) -> pd.DataFrame:
    """A review of every purchase that has a sentiment label in the log; its sentiment is the label.

    ``NEUTRAL_SHARE`` of the reviews use a ``NEUTRAL_REVIEWS`` phrasing that states no opinion
    (``neutral`` column): for them only the shopper and the item can tell the sentiment.

    Returns:
        DataFrame with ``impression_id``, ``user_id``, ``item_id``, ``category``, ``text``, ``sentiment`` (0/1),
        ``neutral`` (bool).
    """
    rng = np.random.default_rng([shop.config.seed, 9_005])
    attributes = item_attributes(shop.items, shop.config.seed)
    items = shop.items.set_index("item_id")
    bought = shop.impressions.loc[shop.impressions["sentiment"].notna(), ["impression_id", "user_id", "item_id", "sentiment"]]
    rows = []
    for impression, user, item, sentiment in bought.itertuples(index=False):
        category = str(items.loc[item, "category"])
        neutral = bool(rng.random() < NEUTRAL_SHARE)
        templates = NEUTRAL_REVIEWS if neutral else REVIEW_TEMPLATES[int(sentiment)]
        text = templates[int(rng.integers(len(templates)))].format(
            category=CATEGORY_WORDS[category][int(rng.integers(3))], material=attributes.loc[item, "material"])
        rows.append((int(impression), int(user), int(item), category, text, int(sentiment), neutral))
    return pd.DataFrame(rows, columns=["impression_id", "user_id", "item_id", "category", "text", "sentiment", "neutral"])


QUERY_TEMPLATES = ("{word}", "{word}推荐", "便宜的{word}", "{word} 新款", "好用的{word}", "{word}排行榜")
VAGUE_QUERIES = ("猜你喜欢", "热卖推荐", "新品", "今日好物", "有什么值得买", "随便看看")
"""Search queries that name no category."""
VAGUE_QUERY_SHARE = 0.5


def search_queries(shop, n: int, seed_stream: int = 9_006) -> pd.DataFrame:
    """``n`` search queries, one shopper each (drawn uniformly among the shoppers in the log, however
    few their impressions), whose category is the log's ``next_category`` of one of that shopper's
    impressions. ``VAGUE_QUERY_SHARE`` of them name no category (``vague``),
    and then only the shopper's taste tells it.

    Returns:
        DataFrame with ``impression_id``, ``user_id``, ``text``, ``category``, ``vague`` (bool).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer ≥ 1, got {n!r}")
    rng = np.random.default_rng([shop.config.seed, seed_stream])
    rows_of = shop.impressions.groupby("user_id", sort=True).indices
    shoppers = np.fromiter(rows_of, dtype=np.int64)
    picked_users = shoppers[rng.integers(0, len(shoppers), n)]
    rows_at = np.array([rows_of[u][rng.integers(len(rows_of[u]))] for u in picked_users])
    picked = shop.impressions.iloc[rows_at][["impression_id", "user_id", "next_category"]]
    vague = rng.random(n) < VAGUE_QUERY_SHARE
    texts = [VAGUE_QUERIES[int(rng.integers(len(VAGUE_QUERIES)))] if v else
             QUERY_TEMPLATES[int(rng.integers(len(QUERY_TEMPLATES)))].format(word=CATEGORY_WORDS[str(c)][int(rng.integers(3))])
             for c, v in zip(picked["next_category"], vague, strict=True)]
    return pd.DataFrame({"impression_id": picked["impression_id"].to_numpy(), "user_id": picked["user_id"].to_numpy(),
                         "text": texts, "category": picked["next_category"].astype(str).to_numpy(), "vague": vague})


TEXT_DIR_NAME = "text"
TEXT_FILES = ("catalogue.csv", "utterances.csv.gz", "product_qa.csv.gz", "dialogue.csv.gz", "reviews.csv.gz",
              "queries.csv.gz")
"""The text tables ``make data`` writes into ``datasets/text/`` (candidates as JSON lists)."""


def text_tables(shop, config: TextConfig = TextConfig(), n_queries: int = 20_000) -> dict[str, pd.DataFrame]:
    """Every text table of ``shop``, by file name (``TEXT_FILES``), as the data card describes them."""
    utterances = generate_utterances(shop, config)
    qa = product_qa(shop, utterances, config)
    dialogue = response_selection(shop, utterances, config)
    for table in (qa, dialogue):
        table["candidates"] = [json.dumps(list(c), ensure_ascii=False) for c in table["candidates"]]
    dialogue.insert(0, "user_id", utterances["user_id"].to_numpy())
    return {"catalogue.csv": item_attributes(shop.items, shop.config.seed).reset_index(),
            "utterances.csv.gz": utterances, "product_qa.csv.gz": qa, "dialogue.csv.gz": dialogue,
            "reviews.csv.gz": reviews(shop), "queries.csv.gz": search_queries(shop, n_queries)}


def text_files(shop, config: TextConfig = TextConfig(), n_queries: int = 20_000) -> dict[str, bytes]:
    """The bytes of every text file (``text_tables`` rendered as CSV, gzip with a fixed header time)."""
    return {name: csv_bytes(table, name, "%.6g") for name, table in text_tables(shop, config, n_queries).items()}
