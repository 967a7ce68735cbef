"""Stories: articles about the same event folded into one, for digests and answers.

Two articles are one story when, within a few days of each other, they share evidence
that is specific to an event: rare names and terms (weighed by the index's idf), the same
figures with their units ("$8.5 billion" = "85亿美元"), the same calendar dates
("December 1" = "12月1日"), or near-identical titles. Chinese titles and prose count
through the glossary's translations, so a Chinese article joins an English-bullet story.
Broad words every article of a topic uses ("rare earth", "China", "70%") weigh nothing.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from .expand import Glossary
from .index import Index
from .models import Article
from .tokenize import ENGLISH_STOP_WORDS

Tokenize = Callable[[str], list[str]]
Translate = Callable[[str], Iterable[tuple[str, str]]]

WINDOW_DAYS = 3  # articles further apart are one story only with near-identical titles
TITLE_WINDOW_DAYS = 21
DUPLICATE_TITLE_SIMILARITY = 0.6
SPECIFIC_SHARE = 0.12  # a term in more than this share of the corpus is broad, not evidence
LINK_SCORE = 0.85  # evidence two articles need to be one story
DAY_DECAY = 0.15  # evidence loses this share for each day apart beyond the first
TERM_SCALE = 12.0  # idf x shared specific terms worth one story
FIGURE_WEIGHT = 0.45
DATE_WEIGHT = 0.45
WORD_SHARE = 0.3  # an ordinary word counts this share of a name
FIGURE_IDF = 3.0  # a figure this rare (idf) counts FIGURE_WEIGHT


# --- figures: numbers with their units --------------------------------------------------
# A small normaliser of its own, kept apart so it can later be unified with the tokenizer's.

_SCALES = {
    "thousand": 1e3, "million": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12, "tn": 1e12,
    "千": 1e3, "万": 1e4, "亿": 1e8, "万亿": 1e12,
}
_UNITS = {
    "%": "%", "percent": "%", "per cent": "%", "％": "%",
    "tons": "t", "ton": "t", "tonnes": "t", "tonne": "t", "metric tons": "t", "吨": "t",
    "kg": "kg", "kilograms": "kg", "kilogram": "kg", "公斤": "kg", "千克": "kg",
    "dollars": "usd", "usd": "usd", "美元": "usd", "$": "usd", "us$": "usd",
    "yuan": "cny", "rmb": "cny", "元": "cny", "人民币": "cny",
    "rubles": "rub", "roubles": "rub", "卢布": "rub",
    "yen": "jpy", "日元": "jpy", "euros": "eur", "欧元": "eur", "€": "eur",
}
_ENGLISH_FIGURE = re.compile(
    r"(?P<currency>US\$|\$|€)?\s?(?P<number>\d+(?:,\d{3})*(?:\.\d+)?)\s?"
    r"(?P<scale>thousand|million|billion|trillion|bn\b|mn\b|tn\b)?\s*"
    r"(?P<unit>%|percent\b|per cent\b|metric tons\b|tons?\b|tonnes?\b|kg\b|kilograms?\b|dollars\b|usd\b|"
    r"yuan\b|rmb\b|rubles\b|roubles\b|yen\b|euros\b)?",
    re.IGNORECASE,
)
_CHINESE_FIGURE = re.compile(
    r"(?P<number>\d+(?:,\d{3})*(?:\.\d+)?)\s?(?P<scale>万亿|亿|万|千)?\s?"
    r"(?P<unit>%|％|吨|公斤|千克|美元|元|人民币|卢布|日元|欧元)"
)
_YEAR = re.compile(r"^(19|20)\d\d$")


@dataclass(frozen=True, order=True)
class Figure:
    """A number with its unit, in base units: 8.5e9 usd, 2600 t, 37 %."""

    value: float
    unit: str
    text: str = field(compare=False)

    @property
    def key(self) -> str:
        return f"{self.unit}:{_significant(self.value)}"

    @property
    def token(self) -> str:
        """The number as the tokenizer indexes it ("70%", "8.5", "2600"), to ask the index how common it is."""
        number = re.search(r"\d+(?:,\d{3})*(?:\.\d+)?", self.text).group().replace(",", "")
        return number + "%" if self.unit == "%" else number


def _significant(value: float) -> str:
    return f"{value:.3g}"


def figures(text: str) -> list[Figure]:
    """The figures a text states with a unit (or a scale word), in order; bare years and
    small counts without a unit are not figures."""
    found: dict[int, Figure] = {}
    for match in _CHINESE_FIGURE.finditer(text):
        number = float(match.group("number").replace(",", ""))
        scale = _SCALES.get(match.group("scale") or "", 1.0)
        unit = _UNITS[match.group("unit")]
        found[match.start()] = Figure(number * scale, unit, match.group().strip())
    for match in _ENGLISH_FIGURE.finditer(text):
        if match.start("number") in found or any(f <= match.start() < f + len(v.text) for f, v in found.items()):
            continue
        raw = match.group("number")
        scale_word = (match.group("scale") or "").lower()
        unit_word = (match.group("unit") or "").lower()
        currency = {"€": "eur"}.get(match.group("currency") or "", "usd" if match.group("currency") else "")
        unit = _UNITS.get(unit_word) or currency
        if not unit and not scale_word:
            continue
        if _YEAR.match(raw) and not unit:
            continue
        number = float(raw.replace(",", "")) * _SCALES.get(scale_word, 1.0)
        found[match.start("number")] = Figure(number, unit or "n", match.group().strip())
    return [found[start] for start in sorted(found)]


# --- calendar dates mentioned in the text ------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
            ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
            ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ),
        1,
    )
    for name in names
}
_ENGLISH_DAY = re.compile(
    r"\b(?P<month>January|February|March|April|May|June|July|August|September|October|November|December)"
    r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\b"
)
_CHINESE_DAY = re.compile(r"(?P<month>\d{1,2})月(?P<day>\d{1,2})[日号]")


def mentioned_days(text: str) -> set[str]:
    """Month-day pairs a text names ("November 10", "11月10日") as "11-10"."""
    days = {f"{_MONTHS[m.group('month').lower()]:02d}-{int(m.group('day')):02d}" for m in _ENGLISH_DAY.finditer(text)}
    days |= {f"{int(m.group('month')):02d}-{int(m.group('day')):02d}" for m in _CHINESE_DAY.finditer(text)}
    return {day for day in days if 1 <= int(day[:2]) <= 12 and 1 <= int(day[3:]) <= 31}


# --- evidence and grouping -----------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """What an article could share with another of the same story, each piece with its weight."""

    day: date
    terms: dict[str, float]  # specific tokens -> idf
    figures: dict[str, float]  # figure keys -> idf of the number as the index holds it
    days: frozenset[str]
    title: frozenset[str]  # title character bigrams


def evidence(
    article: Article,
    index: Index,
    tokenize: Tokenize,
    translate: Translate | None = None,
    bullet_tokens: Sequence[Sequence[str]] | None = None,
) -> Evidence:
    """The specific terms (with their idf), figures, dates and title bigrams of an article.

    `translate` gives (Chinese term, English term) pairs for the article's Chinese text (a
    capitalised English term is a name); a translation is as broad as the more common of the two (美国 in every title makes
    "American" broad however rarely the bullets say it). `bullet_tokens` are the bullets'
    tokens when the caller has them (the index keeps them)."""
    text = "\n".join((article.title, *article.bullets))
    if bullet_tokens is None:
        bullet_tokens = [tokenize(bullet) for bullet in article.bullets]
    tokens = set(title_words(article.title, index, tokenize)).union(*bullet_tokens)
    frequencies = {token: index.document_frequency(token) for token in tokens}
    names = {token for bullet in article.bullets for token in tokenize(" ".join(_names(bullet)))} - CALENDAR_WORDS
    for source, english in translate(text) if translate is not None else ():
        is_name = english[:1].isupper() and english.lower() not in _MONTHS
        for token in tokenize(english):
            frequency = max(index.document_frequency(token), index.document_frequency(source))
            frequencies[token] = max(frequencies.get(token, 0), frequency)
            names |= {token, source} if is_name else set()
    common = max(index.size * SPECIFIC_SHARE, 1)
    terms = {
        token: _idf(index, frequency) * (1.0 if token in names else WORD_SHARE)
        for token, frequency in frequencies.items()
        if 0 < frequency <= common and len(token) > 1 and not _NUMBER.match(token)
    }
    figure_weights = {}
    for figure in figures(text):
        if figure.unit != "n" or figure.value >= 1e6:
            # a share ("70%") is as specific as the index finds it; an amount with its unit and
            # scale ("$3 billion", "2,600 tons") is specific in itself
            specific = _idf(index, max(index.document_frequency(figure.token), 1)) if figure.unit == "%" else FIGURE_IDF
            figure_weights[figure.key] = specific
    return Evidence(
        article.day,
        terms,
        figure_weights,
        frozenset(mentioned_days(text)),
        title_bigrams(article.title),
    )


_PUNCTUATION = re.compile(r"[\W_]+")
_CJK_RUN = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)")
LONGEST_WORD = 6


def title_words(title: str, index: Index, tokenize: Tokenize) -> list[str]:
    """A title's words as the index knows them: Chinese runs cut greedily into the longest
    words the index's vocabulary holds (no segmenter to load for a digest), the rest tokenized."""
    words: list[str] = []
    for position, piece in enumerate(_CJK_RUN.split(title)):
        if not position % 2:
            words += tokenize(piece) if piece.strip() else []
            continue
        start = 0
        while start < len(piece):
            for end in range(min(len(piece), start + LONGEST_WORD), start + 1, -1):
                if index.token_id(piece[start:end]) is not None:
                    words.append(piece[start:end])
                    start = end
                    break
            else:
                start += 1
    return words
_NUMBER = re.compile(r"^[\d.,]+%?$")
_OPENING = re.compile(r"\s*(?:[A-Z][A-Za-z0-9&\-]*[:,]?(?:\s+|$))*")
_FIRST_WORD = re.compile(r"\s*([A-Za-z]+)\s*")


def _opening_end(bullet: str) -> int:
    """Where a bullet's opening stops counting as names: after a leading stop word ("The US…"),
    else after its whole leading run of capitalised words ("Specific Announcements: …" is a label)."""
    first = _FIRST_WORD.match(bullet)
    if first and first.group(1).lower() in ENGLISH_STOP_WORDS:
        return first.end()
    return _OPENING.match(bullet).end()
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][A-Za-z0-9&\-]+(?:\s+(?:of\s+)?[A-Z][A-Za-z0-9&\-]+)*)")


CALENDAR_WORDS = frozenset(_MONTHS) | {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}


def names_in(bullet: str) -> list[str]:
    """Names a bullet writes: capitalised phrases past its first word ("Treasury Secretary")."""
    return _names(bullet)


def _names(bullet: str) -> list[str]:
    """Capitalised phrases that are not merely the first word of the bullet: names."""
    bullet = re.sub(r"\bU\.S\.(?:A\.)?", "US", bullet)
    opening = _opening_end(bullet)
    return [match.group(1) for match in _NAME.finditer(bullet) if match.start(1) >= max(opening, 1)]


def _idf(index: Index, frequency: int) -> float:
    """Lucene's BM25 idf for a document frequency, as the index scores with."""
    return math.log(1 + (index.size - frequency + 0.5) / (frequency + 0.5))


@lru_cache(maxsize=1 << 14)
def title_bigrams(title: str) -> frozenset[str]:
    """A title's character bigrams, without case, spaces or punctuation."""
    text = _PUNCTUATION.sub("", title.lower())
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


def similar_titles(left: frozenset[str], right: frozenset[str]) -> bool:
    """Near-identical titles (character-bigram Jaccard)."""
    if not left or not right or min(len(left), len(right)) < DUPLICATE_TITLE_SIMILARITY * max(len(left), len(right)):
        return False  # Jaccard can never reach the threshold
    shared = len(left & right)
    return shared / (len(left) + len(right) - shared) >= DUPLICATE_TITLE_SIMILARITY


def link_score(left: Evidence, right: Evidence) -> float:
    """How strongly two articles look like one story: shared specific terms (idf, relative to
    the smaller article's evidence), figures and dates; 0 when they are too far apart."""
    apart = abs((left.day - right.day).days)
    if similar_titles(left.title, right.title) and apart <= TITLE_WINDOW_DAYS:
        return math.inf
    if apart > WINDOW_DAYS:
        return 0.0
    shared_terms = sum(left.terms[t] for t in left.terms.keys() & right.terms.keys())
    score = shared_terms / TERM_SCALE
    score += FIGURE_WEIGHT * sum(left.figures[f] for f in left.figures.keys() & right.figures.keys()) / FIGURE_IDF
    score += DATE_WEIGHT * len(left.days & right.days)
    return score * (1 - DAY_DECAY * max(apart - 1, 0))  # the same or the next day: full weight


def group(evidences: Sequence[Evidence], threshold: float = LINK_SCORE) -> list[list[int]]:
    """Positions grouped into stories (single link over pairs at or above the threshold);
    each story's positions in their given order, stories in the order of their first member."""
    parent = list(range(len(evidences)))

    def root(position: int) -> int:
        while parent[position] != position:
            parent[position] = parent[parent[position]]
            position = parent[position]
        return position

    for i in range(len(evidences)):
        for j in range(i + 1, len(evidences)):
            if root(i) != root(j) and link_score(evidences[i], evidences[j]) >= threshold:
                parent[max(root(i), root(j))] = min(root(i), root(j))
    members: dict[int, list[int]] = defaultdict(list)
    for position in range(len(evidences)):
        members[root(position)].append(position)
    return sorted(members.values(), key=lambda positions: positions[0])


# --- stories: grouping, bullets, conflicts ---------------------------------------------------

MAX_STORY_BULLETS = 3
OPENING_BONUS = 3.0  # an article's first bullet; its n-th gets OPENING_BONUS / (1 + 2n)
FACT_BONUS = 0.75  # each figure (two at most)
CENTRAL_SCALE = 2.0
REDUNDANT_BULLETS = 0.45  # token Jaccard above which a bullet repeats one already chosen
TITLE_REPEAT = 0.5  # title-bigram share above which a bullet only repeats the title
CONFLICT_GAP = 0.25  # figures of one quantity further apart than this share disagree
MEASURE_AFTER_WORDS = 5  # words after a figure where its measure word may stand ("37% of global reserves")
MEASURE_BEFORE_WORDS = 6
SHARE_OF_WORDS = 4

_FILLER = re.compile(
    r"^(?:the|this)\s+(?:article|report|piece|text|author)s?\s+(?:\w+\s+){0,2}?"
    r"(?:discuss|highlight|emphasi[sz]|explore|examine|describe|note|focus|address|analy[sz]|warn|conclude|suggest|"
    r"argue|point|reflect|look|review|introduce|present|mention|outline|detail|talk|cover|delve)",
    re.IGNORECASE,
)


def is_filler(bullet: str, title: str = "") -> bool:
    """An opener that says what the article does rather than what happened ("The article
    discusses…"), or a bullet that only repeats the title."""
    if _FILLER.match(bullet.strip()):
        return True
    if title:
        said, titled = title_bigrams(bullet), title_bigrams(title)
        if said and titled and len(said & titled) >= TITLE_REPEAT * len(said):
            return True
    return False


@dataclass(frozen=True)
class Claim:
    """A figure a story's article states, with the bullet that states it."""

    text: str  # the bullet
    figure: Figure
    article: Article


@dataclass(frozen=True)
class Conflict:
    """Figures for one quantity that the story's sources give differently."""

    what: str
    claims: tuple[Claim, ...]

    @property
    def summary(self) -> str:
        """"$1B each vs $3B each"."""
        return " vs ".join(dict.fromkeys(short_figure(claim) for claim in self.claims))


@dataclass(frozen=True)
class Story:
    """Articles about one event: the lead first, a headline bullet, the best bullets across
    them (headline first) and the figures they disagree on."""

    articles: tuple[Article, ...]
    headline: str
    bullets: tuple[str, ...]
    conflicts: tuple[Conflict, ...] = ()
    weight: float = 0.0
    themes: tuple[str, ...] = ()  # the specific terms its articles share, most specific first

    @property
    def lead(self) -> Article:
        return self.articles[0]

    @property
    def outlets(self) -> int:
        return len({article.source or "?" for article in self.articles})

    @property
    def newest(self) -> date:
        return max(article.day for article in self.articles)


class Storyteller:
    """Groups articles into stories with one index and tokenizer; with a glossary, Chinese
    text counts through its English translations."""

    def __init__(self, index: Index, tokenize: Tokenize, glossary: Glossary | None = None) -> None:
        self.index = index
        self._tokenizer = tokenize
        self._tokens: dict[str, list[str]] = {}
        self.glossary = glossary
        self.translate = self._translate if glossary is not None else None
        self._name_tokens = frozenset(
            token
            for entry in (glossary.entries if glossary is not None else ())
            for english in entry.english
            if english[:1].isupper()
            for token in tokenize(english)
        )

    def _translate(self, text: str) -> list[tuple[str, str]]:
        """(Chinese term, English term) for each glossary term in the text's Chinese."""
        return [
            (term, english)
            for entry, side, term in self.glossary.matches(text, ())
            if side == "chinese"
            for english in entry.english
        ]

    def tokenize(self, text: str) -> list[str]:
        """The tokenizer's tokens, each text tokenized once."""
        tokens = self._tokens.get(text)
        if tokens is None:
            tokens = self._tokens[text] = self._tokenizer(text)
        return tokens

    def bullet_tokens(self, article: Article) -> list[list[str]]:
        """Each bullet's tokens: as the index holds them, else tokenized."""
        indexed = self.index.bullet_ids(article.rowid)
        if indexed is None or len(indexed[1]) != len(article.bullets):
            return [self.tokenize(bullet) for bullet in article.bullets]
        words = self.index.words(indexed[0].tolist())
        starts = [0, *itertools.accumulate(indexed[1].tolist())]
        return [words[start:end] for start, end in zip(starts, starts[1:])]

    def evidence(self, article: Article) -> Evidence:
        return evidence(article, self.index, self.tokenize, self.translate, self.bullet_tokens(article))

    def groups(self, articles: Sequence[Article]) -> list[list[int]]:
        """Positions of the articles grouped into stories, each in the given order."""
        return group([self.evidence(article) for article in articles])

    def stories(
        self, articles: Sequence[Article], newest: date | None = None, asked: Mapping[str, float] | None = None
    ) -> list[Story]:
        """The articles (newest or best first) as stories, heaviest first; `newest` is the day
        recency counts from, `asked` a question's token weights that bullets should answer."""
        built = []
        evidences = [self.evidence(article) for article in articles]
        asked_idf = {token: weight * self.index.idf(token) for token, weight in (asked or {}).items()}
        for positions in group(evidences):
            members = [articles[p] for p in positions]
            built.append(self.story(members, [evidences[p] for p in positions], newest, asked_idf))
        order = {id(story): n for n, story in enumerate(built)}
        return sorted(built, key=lambda story: (-story.weight, order[id(story)]))

    def story(
        self,
        members: Sequence[Article],
        evidences: Sequence[Evidence],
        newest: date | None = None,
        asked: Mapping[str, float] | None = None,
    ) -> Story:
        """One story of these articles (given best or newest first)."""
        shared = _shared_terms(evidences)
        ranked = self.rank_bullets(members, {**(shared if len(members) > 1 else {}), **(asked or {})})
        conflicts = self.conflicts(members)
        weight = story_weight(members, newest or max(a.day for a in members), any(figures(b) for b in ranked))
        lead = _lead(members, ranked)
        ordered = (lead, *[article for article in members if article is not lead])
        themes = self._theme_terms(members, shared)
        return Story(ordered, ranked[0] if ranked else "", tuple(ranked), conflicts, weight, themes)

    def _theme_terms(self, members: Sequence[Article], shared: Mapping[str, float]) -> tuple[str, ...]:
        """The story's specific terms by how much of it they run through: weight x the number
        of its bullets that use them; only terms used more than once."""
        uses: dict[str, int] = defaultdict(int)
        for article in members:
            for tokens in self.bullet_tokens(article):
                for token in set(tokens):
                    uses[token] += token in shared
            for token in set(title_words(article.title, self.index, self.tokenize)):
                uses[token] += token in shared
        scored = {term: shared[term] * count for term, count in uses.items() if count > 1}
        return tuple(sorted(scored, key=lambda term: (-scored[term], term)))

    def rank_bullets(self, members: Sequence[Article], central: Mapping[str, float]) -> list[str]:
        """The story's best bullets, best first, none repeating another. A bullet scores for
        standing early in its article (exports open with the gist), for its figures, and for
        the `central` terms it holds (those its articles share, a question's); filler comes last."""
        scored = []
        for rank, article in enumerate(members):
            for position, (bullet, tokens) in enumerate(zip(article.bullets, map(set, self.bullet_tokens(article)))):
                score = OPENING_BONUS / (1 + 2 * position) + FACT_BONUS * min(len(figures(bullet)), 2)
                score += sum(central.get(token, 0.0) for token in tokens) / (CENTRAL_SCALE * math.sqrt(len(tokens) + 1))
                filler = is_filler(bullet, article.title)
                scored.append((filler, -score, rank, position, bullet, tokens))
        scored.sort(key=lambda row: row[:4])
        chosen: list[tuple[str, set[str]]] = []
        for filler, _, _, _, bullet, tokens in scored:
            if filler and chosen:
                break
            if any(_jaccard(tokens, other) > REDUNDANT_BULLETS for _, other in chosen):
                continue
            chosen.append((bullet, tokens))
            if len(chosen) == MAX_STORY_BULLETS:
                break
        return [bullet for bullet, _ in chosen]

    def conflicts(self, members: Sequence[Article]) -> tuple[Conflict, ...]:
        """Figures of one quantity that different articles of the story give differently: the
        same unit and measure ("reserves", "output", "investment" …, the measure word nearest
        the figure), both or neither "each", and the same subject when both name one."""
        if len(members) < 2:
            return ()
        claims = []
        for article in members:
            for bullet in article.bullets:
                subjects = self._subjects(bullet)
                for figure in figures(bullet):
                    measure = _measure(bullet, figure)
                    if figure.unit != "n" and measure:
                        claims.append((Claim(bullet, figure, article), measure, _each(bullet, figure), subjects))
        found: list[Conflict] = []
        taken: set[int] = set()
        for i, (claim, measure, each, subjects) in enumerate(claims):
            if i in taken:
                continue
            same = [i] + [
                j
                for j, (other, other_measure, other_each, other_subjects) in enumerate(claims)
                if j > i and j not in taken
                and (other.figure.unit, other_measure, other_each) == (claim.figure.unit, measure, each)
                and (not subjects or not other_subjects or subjects == other_subjects)
            ]
            values = [claims[j][0].figure.value for j in same]
            if len({id(claims[j][0].article) for j in same}) < 2 or max(values) <= min(values) * (1 + CONFLICT_GAP):
                continue
            taken.update(same)
            what = f"{measure}{' each' if each else ''} ({_UNIT_NAMES.get(claim.figure.unit, claim.figure.unit)})"
            found.append(Conflict(what, tuple(_one_claim_per_value([claims[j][0] for j in same]))))
        return tuple(found)

    def _subjects(self, bullet: str) -> tuple[str, ...]:
        """Who a bullet speaks of: the tokens of its first name (its first word too when the
        glossary knows it as a name, "China holds…"; else the first Chinese name the glossary
        translates); () when it names no one."""
        first = re.match(r"\s*([A-Z][A-Za-z]+)", bullet)
        opening = tuple(self.tokenize(first.group(1))) if first else ()
        if opening and set(opening) <= self._name_tokens:
            return opening
        names = _names(bullet)
        if names:
            return tuple(self.tokenize(names[0]))
        if self.translate is not None:
            for _, english in self.translate(bullet):
                if english[:1].isupper():
                    return tuple(self.tokenize(english))
        return ()


OUTLET_WEIGHT = 0.5  # each outlet, on top of each article
RECENCY_DAYS = 7  # recency counts 1 for the newest day, 1/2 a week before it, 1/3 two weeks
FIGURES_WEIGHT = 0.5


def story_weight(members: Sequence[Article], newest: date, has_figures: bool) -> float:
    """How much a story counts: its articles and outlets, how recent it is (against the
    digest's newest day), and whether its bullets give figures."""
    outlets = len({article.source or "?" for article in members})
    age = max((newest - max(a.day for a in members)).days, 0)
    return len(members) + OUTLET_WEIGHT * outlets + 1.0 / (1 + age / RECENCY_DAYS) + (FIGURES_WEIGHT if has_figures else 0.0)


def _one_claim_per_value(claims: Sequence[Claim]) -> list[Claim]:
    seen: dict[str, Claim] = {}
    for claim in sorted(claims, key=lambda c: c.figure.value):
        seen.setdefault(_significant(claim.figure.value), claim)
    return list(seen.values())


# What a figure measures, in both languages: a domain's measure words, not any corpus's names.
_MEASURES = {
    "output": re.compile(r"(?i)\b(?:output|produc\w*|mined|mining|extract\w*)\b|产量|年产|开采量|产能"),
    "reserves": re.compile(r"(?i)\breserves?\b|储量"),
    "investment": re.compile(r"(?i)\binvest\w*|投资"),
    "exports": re.compile(r"(?i)\bexports?\b|出口"),
    "imports": re.compile(r"(?i)\bimports?\b|进口|依赖"),
    "price": re.compile(r"(?i)\bprices?\b|价格"),
    "tariff": re.compile(r"(?i)\btariffs?\b|关税"),
    "refining": re.compile(r"(?i)\brefin\w*|process\w*|separation|冶炼|加工|分离"),
}


def _measure(bullet: str, figure: Figure) -> str | None:
    """The measure word nearest a figure, in words for English and characters for Chinese;
    on a tie the one after it in English ("37% of global reserves"), before it in Chinese
    ("年产量仅约2600吨")."""
    at = bullet.find(figure.text)
    if at < 0:
        return None
    before, after = bullet[:at], bullet[at + len(figure.text):]
    chinese = bool(re.search(r"[\u4e00-\u9fff]", before[-4:] + after[:4]))
    if chinese:
        before, after = before[-10:], after[:6]
    elif figure.unit == "%":  # a share is of what follows it: "37% of global reserves"
        before, after = "", " ".join(after.split()[:SHARE_OF_WORDS])
    else:
        before = " ".join(before.split()[-MEASURE_BEFORE_WORDS:])
        after = " ".join(after.split()[:MEASURE_AFTER_WORDS])

    def distance(text: str, start: int) -> int:
        return len(text[:start]) if chinese else len(text[:start].split())

    found = []
    for concept, cue in _MEASURES.items():
        for match in cue.finditer(after):
            found.append((distance(after, match.start()), 0 if not chinese else 1, concept))
        for match in cue.finditer(before):
            found.append((distance(before[::-1], len(before) - match.end()), 1 if not chinese else 0, concept))
    return min(found)[2] if found else None


def _each(bullet: str, figure: Figure) -> bool:
    at = bullet.find(figure.text)
    return bool(re.match(r"\s*each\b", bullet[at + len(figure.text):])) or "各" in bullet[max(at - 4, 0):at]


def short_figure(claim: Claim) -> str:
    """A figure as a reader scans it: "$1B each", "37%", "2,600 t"."""
    figure = claim.figure
    value, unit = figure.value, figure.unit
    if unit == "%":
        text = f"{value:g}%"
    else:
        for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
            if value >= size:
                text = f"{value / size:g}{suffix}"
                break
        else:
            text = f"{value:,.0f}" if value >= 1000 else f"{value:g}"
        text = {"usd": f"${text}", "eur": f"€{text}"}.get(unit) or f"{text} {_UNIT_NAMES.get(unit, unit)}"
    at = claim.text.find(figure.text)
    if at >= 0 and re.match(r"\s*each\b", claim.text[at + len(figure.text):]):
        text += " each"
    return text


_UNIT_NAMES = {"t": "t", "kg": "kg", "usd": "USD", "eur": "EUR", "cny": "yuan", "rub": "rubles", "jpy": "yen"}


def _shared_terms(evidences: Sequence[Evidence]) -> dict[str, float]:
    """Specific terms at least two of the articles hold (every term, for one article), by idf."""
    if len(evidences) == 1:
        return dict(evidences[0].terms)
    counts: dict[str, int] = defaultdict(int)
    weights: dict[str, float] = {}
    for item in evidences:
        for term, weight in item.terms.items():
            counts[term] += 1
            weights[term] = max(weights.get(term, 0.0), weight)
    return {term: weights[term] * counts[term] for term in counts if counts[term] > 1}


def _lead(members: Sequence[Article], ranked: Sequence[str]) -> Article:
    """The article carrying the headline (the first given, when none does)."""
    for article in members:
        if ranked and ranked[0] in article.bullets:
            return article
    return members[0]


def _jaccard(left: set[str], right: set[str]) -> float:
    return len(left & right) / len(left | right) if left and right else 0.0
