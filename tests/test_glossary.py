"""The bilingual glossary (docs/glossary.md, 中英术语表) and the notebooks spell every term the same way.

Three kinds of check:

* the glossary itself is well-formed: six cells a row, no English or Chinese term twice, both
  definitions present, alphabetical within a theme, every "first lesson" link points to the first
  lesson whose prose uses the term, and the course vocabulary (COURSE_DESIGN §6) is in it as spelled;
* forward: wherever a markdown cell glosses a glossary term with Chinese — ``term (中文``,
  ``term (ABBR, 中文``, ``term 中文``, ``term, 中文``, ``**term** (中文`` (emphasis is ignored, a plural
  ``s`` is allowed) — the Chinese is the glossary's; likewise ``中文 (term)`` written Chinese first;
* reverse: wherever a glossary Chinese term glosses English text, that text ends with the glossary's
  English term (or a listed variant or the abbreviation), or names it inside the same parentheses.

Documents scanned: every markdown cell of notebooks/ and solutions/, plus README.md, README.zh-CN.md
(when present) and datasets/DATA_CARD.md. A term inside Chinese prose (``在 hard parameter sharing 中``)
is not a gloss and is skipped.

Known disagreements are listed in ``KNOWN_DISAGREEMENTS`` and marked ``xfail(strict=True)``: when a
notebook is fixed, its case XPASSes (a failure), which says to delete that entry.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "docs" / "glossary.md"
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
TEXT_DOCUMENTS = [ROOT / "README.md", ROOT / "README.zh-CN.md", ROOT / "datasets" / "DATA_CARD.md"]

HAN = "\u3400-\u4dbf\u4e00-\u9fff"
FULLWIDTH = "\u3000-\u303f\uff00-\uffef"
HAN_RE = re.compile(f"[{HAN}]")
CJK_RE = re.compile(f"[{HAN}{FULLWIDTH}]")
HAN_RUN = f"[{HAN}][{HAN}0-9A-Za-z]*"
PART_SPLIT = re.compile(r"[,;:，；：、]")
GLOSS_START = re.compile(f"[A-Za-z0-9]{{0,4}} ?[{HAN}]")
NO_ENTRY = "—"

# The course vocabulary of COURSE_DESIGN.md §6 (that file is not in the repository): English → 中文.
COURSE_VOCABULARY = {
    "multi-task learning": "多任务学习",
    "AI shopping guide": "AI导购",
    "hard parameter sharing": "硬参数共享",
    "soft parameter sharing": "软参数共享",
    "transfer learning": "迁移学习",
    "loss function": "损失函数",
    "weighted loss": "加权损失",
    "regularisation": "正则化",
    "purchase intent": "购买意愿",
    "click-through rate": "点击率",
    "add-to-cart": "加入购物车",
    "review sentiment": "评论情感",
    "search keyword": "搜索关键词",
    "data sparsity": "数据稀疏",
    "overfitting": "过拟合",
    "homogeneous MTL": "同构多任务学习",
    "heterogeneous MTL": "异构多任务学习",
    "generalisation": "泛化能力",
    "user profile": "用户画像",
    "recommendation": "推荐",
    "QA": "问答",
    "dialogue": "对话",
}

# (document, cell id, direction, glossary English term) -> what the notebook says and the fix.
# direction: "forward" (the term glossed with other Chinese), "reverse" (the Chinese glossing other
# English), "zh-first" (Chinese written first, the term in parentheses).
KNOWN_DISAGREEMENTS: dict[tuple[str, str, str, str], str] = {
}


def _norm(text: str) -> str:
    """Lower case, emphasis removed, hyphens as spaces, whitespace collapsed: the form terms are compared in."""
    text = text.replace("*", "").replace("’", "'").lower()
    return re.sub(r"\s+", " ", re.sub(r"-", " ", text)).strip()


@dataclass
class Term:
    english: str
    variants: list[str]
    chinese: str
    abbreviation: str
    lesson: str  # a relative link "../notebooks/NN_x.ipynb", or "" for none
    definition_en: str
    definition_zh: str
    group: str
    line: int
    keys: list[str] = field(default_factory=list)  # English spellings a gloss may follow

    def __post_init__(self) -> None:
        self.keys = [self.english, *self.variants] + ([self.abbreviation] if self.abbreviation else [])


ENGLISH_CELL = re.compile(r"^(?P<head>[^()]+?)(?:\s+\(also:\s*(?P<variants>[^()]+)\))?$")
LINK_CELL = re.compile(r"^\[(?P<label>[^\]]+)\]\((?P<target>[^)]+)\)$")


def parse_glossary(path: Path = GLOSSARY) -> list[Term]:
    """The rows of the glossary's tables: a ``## `` heading starts a theme; a row is
    ``| English (also: v1, v2) | 中文 | ABBR or — | [NN](../notebooks/NN_x.ipynb) or — | definition | 定义 |``."""
    terms: list[Term] = []
    group = ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("## "):
            group = line[3:].strip()
            continue
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] == "English" or set(cells[0]) <= set("-: "):
            continue
        assert len(cells) == 6, f"glossary line {number}: expected 6 cells, got {len(cells)}: {line!r}"
        english = ENGLISH_CELL.match(cells[0])
        assert english, f"glossary line {number}: English cell {cells[0]!r} is not 'term' or 'term (also: a, b)'"
        variants = [v.strip() for v in (english["variants"] or "").split(",") if v.strip()]
        link = LINK_CELL.match(cells[3])
        assert link or cells[3] == NO_ENTRY, f"glossary line {number}: lesson cell {cells[3]!r} is not a link or {NO_ENTRY}"
        terms.append(Term(
            english=english["head"].strip(), variants=variants, chinese=cells[1],
            abbreviation="" if cells[2] == NO_ENTRY else cells[2], lesson=link["target"] if link else "",
            definition_en=cells[4], definition_zh=cells[5], group=group, line=number,
        ))
    return terms


def markdown_cells(path: Path) -> list[tuple[str, str]]:
    """(cell id, text) of every markdown cell of a notebook, or one ("-", text) for a markdown file."""
    if path.suffix != ".ipynb":
        return [("-", path.read_text(encoding="utf-8"))]
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(c.get("id", str(i)), "".join(c["source"])) for i, c in enumerate(cells) if c["cell_type"] == "markdown"]


def documents() -> list[Path]:
    return [*LESSONS, *SOLUTIONS, *(p for p in TEXT_DOCUMENTS if p.exists())]


def _term_pattern(key: str) -> str:
    words = [re.escape(w) for w in re.split(r"[\s\-]+", key.replace("’", "'")) if w]
    return r"(?<![A-Za-z0-9\-'])" + r"[\s\-]+".join(words) + r"(?:s|es)?(?![A-Za-z0-9\-])"


def _first_han_part(inner: str) -> tuple[list[str], str, list[str]] | None:
    """Split a parenthesis' content at , ; : into (Latin parts before, the first part with Han, parts after)."""
    parts = [p.strip() for p in PART_SPLIT.split(inner)]
    for i, part in enumerate(parts):
        if HAN_RE.search(part):  # a gloss starts with Chinese or a short Latin prefix: 数据稀疏, ROC 曲线下面积, F1 值
            return (parts[:i], part, parts[i + 1:]) if GLOSS_START.match(part) else None
    return None


def _ends_with_key(text: str, key: str) -> bool:
    return re.search(r"(?<![a-z0-9'])" + re.escape(_norm(key)) + r"(?:s|es)?$", _norm(text)) is not None


def _in_chinese_prose(text: str, start: int) -> bool:
    """True when the text before ``start`` (spaces skipped) ends with a Chinese character or full-width mark."""
    before = text[:start].rstrip()
    return bool(before) and CJK_RE.match(before[-1]) is not None


def _chinese_line(text: str, position: int) -> bool:
    """True when the line holding ``position`` is Chinese prose (Chinese characters outweigh Latin letters)."""
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    line = text[start:end if end >= 0 else len(text)]
    return 2 * len(HAN_RE.findall(line)) > len(re.findall("[A-Za-z]", line))


def _excerpt(text: str, start: int, end: int) -> str:
    return re.sub(r"\s+", " ", text[max(0, start - 40):min(len(text), end + 15)]).strip()


@dataclass(frozen=True)
class Site:
    document: str
    cell: str
    direction: str
    term: str  # the glossary English term the site is checked against
    found: str
    expected: str
    excerpt: str


def forward_sites(document: str, cell: str, text: str, terms: list[Term]) -> list[Site]:
    """Every glossary term (English, variant or abbreviation) followed by a Chinese gloss."""
    by_key = {_norm(key): term for term in terms for key in term.keys}
    best: dict[int, tuple[int, int, Term, str]] = {}  # gloss position -> (start, end, term, gloss); longest wins
    for term in terms:
        own = {_norm(key) for key in term.keys}
        for key in term.keys:
            for m in re.finditer(_term_pattern(key), text, flags=re.IGNORECASE):
                if _in_chinese_prose(text, m.start()):
                    continue
                rest, offset = text[m.end():], m.end()
                paren = re.match(r"\s*[(（]([^()（）]{1,200})[)）]", rest)
                bare = re.match(rf"(\s*,\s*|\s+)({HAN_RUN})", rest)
                if paren and (split := _first_han_part(paren[1])):
                    before, gloss, _ = split
                    named = [_norm(part) for part in before]
                    if not any(any(n == k or n.endswith(" " + k) for k in own) for n in named) and any(
                            n in by_key or any(n.endswith(" " + k) for k in by_key) for n in named):
                        continue  # "purchase (homogeneous MTL, 同构多任务学习)": the gloss of another term
                    position = offset + paren.start(1) + paren[1].find(gloss)
                elif bare and not _chinese_line(text, m.start()):
                    gloss, position = bare[2], offset + bare.start(2)
                else:
                    continue
                if position not in best or m.start() < best[position][0]:
                    best[position] = (m.start(), m.end(), term, gloss)
    glosses = [(position, position + len(gloss)) for position, (_, _, _, gloss) in best.items()]
    return [
        Site(document, cell, "forward", term.english, gloss, term.chinese, _excerpt(text, start, position + len(gloss)))
        for position, (start, end, term, gloss) in sorted(best.items())
        if not any(g0 < end and start < g1 for g0, g1 in glosses)  # "F1 (F1 值)": the term inside a gloss
    ]


def reverse_sites(document: str, cell: str, text: str, terms: list[Term]) -> list[Site]:
    """Every glossary Chinese term that glosses English text, with that text."""
    sites = []
    for term in terms:
        for m in re.finditer(re.escape(term.chinese), text):
            left, right = text[m.start() - 1:m.start()], text[m.end():m.end() + 1]
            if (left and (HAN_RE.match(left) or left.isalnum())) or (right and HAN_RE.match(right)):
                continue  # part of a longer Chinese word
            before = text[:m.start()]
            if _chinese_line(text, m.start()):
                continue  # Chinese prose: Chinese-first glosses are checked by chinese_first_sites
            paren = re.search(rf"[(（]([^()（）{HAN}]*)$", before)
            if paren:
                outside = before[:paren.start()]
                if _in_chinese_prose(outside, len(outside)):
                    continue  # an alias of Chinese written before it, or Chinese prose
                close = re.match(r"[^()（）]*", text[m.end():])
                named = [p for p in PART_SPLIT.split(paren[1]) + PART_SPLIT.split(close[0]) if p.strip()]
                english = outside
                shown = paren[1].strip(" ,;:，；：") or outside
            else:
                bare = re.search(r"[A-Za-z0-9)'’](\s*,\s*|\s+)$", before)
                if not bare:
                    continue
                english = before[:bare.start() + 1]
                segment = re.search(f"[^{HAN}{FULLWIDTH}]*$", english)[0]
                if _in_chinese_prose(english, len(english) - len(segment)) and " " not in segment.strip():
                    continue  # one Latin word inside Chinese prose (用 MMoE 门控)
                named, shown = [], english
            ok = any(_ends_with_key(english, key) for key in term.keys) or any(
                re.search(_term_pattern(key), part, flags=re.IGNORECASE) for part in named for key in term.keys)
            found_english = " ".join(shown.split()[-5:])
            sites.append(Site(document, cell, "reverse", term.english,
                              term.english if ok else f"{found_english} ({term.chinese}",
                              term.english, _excerpt(text, m.start(), m.end())))
    return sites


def chinese_first_sites(document: str, cell: str, text: str, terms: list[Term]) -> list[Site]:
    """Chinese followed by a glossary English term (not an abbreviation) in parentheses, alone or with
    its abbreviation: ``中文 (term)``, ``中文（term, ABBR）``. A list of several terms is not a gloss."""
    by_key = {_norm(key): term for term in terms for key in [term.english, *term.variants]}
    abbreviations = {_norm(term.abbreviation): term for term in terms if term.abbreviation}
    sites = []
    for m in re.finditer(rf"({HAN_RUN})\s*[(（]([^()（）{HAN}]{{1,120}})[)）]", text):
        parts = [_norm(part) for part in PART_SPLIT.split(m[2]) if part.strip()]
        full = [by_key.get(p) or by_key.get(p[:-1] if p.endswith("s") else "") for p in parts]
        named = [f or abbreviations.get(p) for f, p in zip(full, parts)]
        if None in named or len({t.english for t in named}) != 1 or not any(full):
            continue
        term = named[0]
        found = term.chinese if m[1].endswith(term.chinese) else m[1]
        sites.append(Site(document, cell, "zh-first", term.english, found, term.chinese,
                          _excerpt(text, m.start(), m.end())))
    return sites


def all_sites(terms: list[Term]) -> list[Site]:
    sites = []
    for path in documents():
        name = path.relative_to(ROOT).as_posix()
        for cell, text in markdown_cells(path):
            text = text.replace("*", "")  # emphasis: **term** (中文) is term (中文)
            for finder in (forward_sites, reverse_sites, chinese_first_sites):
                sites.extend(finder(name, cell, text, terms))
    return sites


def _site_params() -> list:
    try:
        terms = parse_glossary()
    except (OSError, AssertionError):
        return [pytest.param(None, id="glossary-unreadable")]
    params, seen = [], {}
    for site in all_sites(terms):
        key = (site.document, site.cell, site.direction, site.term)
        seen[key] = seen.get(key, 0) + 1
        marks = ()
        if key in KNOWN_DISAGREEMENTS:
            marks = pytest.mark.xfail(strict=True, reason=f"notebook spelling to be fixed: {KNOWN_DISAGREEMENTS[key]}")
        params.append(pytest.param(site, marks=marks, id=f"{site.document}:{site.cell}:{site.direction}:{site.term}#{seen[key]}"))
    return params


# ---------------------------------------------------------------- the glossary is well-formed


@pytest.fixture(scope="module")
def terms() -> list[Term]:
    return parse_glossary()


def test_glossary_has_terms_in_themes(terms):
    assert len(terms) >= 50, f"only {len(terms)} terms in {GLOSSARY.name}"
    assert all(t.group for t in terms), "every row sits under a '## theme' heading"


def test_no_duplicate_english_or_chinese(terms):
    english: dict[str, int] = {}
    chinese: dict[str, int] = {}
    for t in terms:
        for key in t.keys:
            assert _norm(key) not in english, f"line {t.line}: {key!r} is already a term at line {english[_norm(key)]}"
            english[_norm(key)] = t.line
        assert t.chinese not in chinese, f"line {t.line}: {t.chinese!r} is already the Chinese of line {chinese[t.chinese]}"
        chinese[t.chinese] = t.line


def test_cells_hold_the_right_script(terms):
    for t in terms:
        assert HAN_RE.search(t.chinese) and not HAN_RE.search(t.english + t.abbreviation), f"line {t.line}: {t}"
        assert re.search("[A-Za-z]{3}", t.definition_en) and not HAN_RE.search(t.definition_en), \
            f"line {t.line} ({t.english}): the English definition is missing"
        assert len(HAN_RE.findall(t.definition_zh)) >= 4, f"line {t.line} ({t.english}): the Chinese definition is missing"


def test_alphabetical_within_each_theme(terms):
    groups: dict[str, list[str]] = {}
    for t in terms:
        groups.setdefault(t.group, []).append(t.english)
    for group, names in groups.items():
        assert names == sorted(names, key=str.casefold), f"{group}: not alphabetical: {names}"


def _lessons_using(term: Term) -> list[str]:
    used = []
    for path in LESSONS:
        # a lesson's prose, without its reading list (paper titles name terms the lesson does not use)
        prose = "\n".join(text.split("## Further reading")[0] for _, text in markdown_cells(path)).replace("*", "")
        if any(re.search(_term_pattern(key), prose, flags=re.IGNORECASE) for key in term.keys):
            used.append(f"../notebooks/{path.name}")
    return used


def test_first_lesson_links(terms):
    for t in terms:
        used = _lessons_using(t)
        if not t.lesson:
            assert not used, f"line {t.line} ({t.english}): first lesson is {NO_ENTRY} but {used[0]} uses it"
            continue
        assert (GLOSSARY.parent / t.lesson).resolve().is_file(), f"line {t.line} ({t.english}): {t.lesson} does not exist"
        assert used and used[0] == t.lesson, \
            f"line {t.line} ({t.english}): first lesson {t.lesson}, but the first lesson using it is {used[:1] or 'none'}"


def test_course_vocabulary_is_in_the_glossary(terms):
    by_key = {_norm(key): t for t in terms for key in t.keys}
    for english, chinese in COURSE_VOCABULARY.items():
        assert _norm(english) in by_key, f"course vocabulary term {english!r} is missing from the glossary"
        assert by_key[_norm(english)].chinese == chinese, \
            f"{english!r}: glossary has {by_key[_norm(english)].chinese!r}, COURSE_DESIGN §6 has {chinese!r}"


def test_known_disagreements_still_exist(terms):
    keys = {(s.document, s.cell, s.direction, s.term) for s in all_sites(terms)}
    stale = [key for key in KNOWN_DISAGREEMENTS if key not in keys]
    assert not stale, f"no gloss left at these KNOWN_DISAGREEMENTS entries, delete them: {stale}"


# ---------------------------------------------------------------- the documents agree with it


@pytest.mark.parametrize("site", _site_params())
def test_gloss_matches_glossary(site):
    assert site is not None, f"{GLOSSARY} could not be parsed (see the other tests)"
    assert site.found == site.expected, (
        f"{site.document} cell {site.cell} ({site.direction}): found {site.found!r}, "
        f"glossary has {site.expected!r} for {site.term!r}: …{site.excerpt}…")
