"""Answer a question: rank articles with BM25, pick the bullets that answer, merge repeats."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from .dates import DateScope, date_weight, find_date_phrase, resolve, strip_phrase
from .expand import FEEDBACK_DOCUMENTS, Translator, feedback_terms, merge_weights
from .bullets import MAX_BULLETS, BulletIds, choose, passage_scores
from .coverage import (
    CORPUS_WIDE_SHARE,
    EVIDENCE_HITS,
    MISSING_MAX,
    QuestionTerm,
    coverage_needed,
    missing_share,
    passage_coverage,
    question_terms,
)
from .index import Index
from .lexicon import GENERAL_WORD_SHARE, everyday
from .models import SHANGHAI, Answer, Article, Hit, Note, Sighting
from .scoring import Ranking
from .store import ArticleStore
from .stories import similar_titles, title_bigrams
from .wants import Wants, either_way, marks, question_wants, says_a_direction
from .tokenize import has_cjk

MAX_QUESTION_CHARS = 512
CANDIDATE_FACTOR = 3
POOL = 15  # candidates whose passages are scored (40 measured no better on dev, held-out or tune)
ARTICLE_MIX = 1.0  # the article's BM25 as a whole, beside its best passages
SECOND_PASSAGE_MIX = 0.3  # the next best passage: a second bullet on the question
COVERAGE_MIX = 1.0  # an article whose best passage holds the question's concepts together, in either language, counts up to twice
DATE_CANDIDATES = 50
RANKING_PRUNE_SHARE = 0.8
RANKING_EXPANSION_TERMS = 10
STRONG_WEIGHT = 0.5

Tokenize = Callable[[str], list[str]]


def clean_question(text: str) -> tuple[str, list[Note]]:
    """Strip control characters, fold spaces and cap the length; return notes for the reader."""
    notes = []
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") else ch for ch in text)
    text = " ".join(text.split())
    if len(text) > MAX_QUESTION_CHARS:
        notes.append(Note.of("question_cut", chars=MAX_QUESTION_CHARS))
        text = text[:MAX_QUESTION_CHARS]
    return text, notes


def query_weights(tokens: Sequence[str], frequency: Callable[[str], int] | None = None) -> dict[str, float]:
    """Each distinct question token once: weight 1, or less for an everyday Chinese word
    ("自己", "能力"), which in a small corpus can look rarer than it is. (Doing the same for
    everyday English words lost more than it gained: English paraphrases are made of them.)"""
    return {
        token: GENERAL_WORD_SHARE if has_cjk(token) and everyday(token, frequency) else 1.0
        for token in dict.fromkeys(tokens)
    }


def search(
    db: ArticleStore,
    index: Index,
    tokenize: Tokenize,
    question: str,
    k: int = 5,
    translator: Translator | None = None,
    today: date | None = None,
) -> Answer:
    """The top `k` articles for a question, each with its most relevant bullets.

    With a translator the question is expanded into the other language, first from the
    glossary and dictionary, then from the best first-pass articles. A date phrase filters
    or weighs by date.
    """
    text, notes = clean_question(question)
    if not text:
        return Answer(text, [], notes)
    scope, content, rest = date_scope(db, text, today or datetime.now(SHANGHAI).date())
    if scope:
        if not informative(index, tokenize(rest)):  # only a time: list it, and say what "latest" meant
            notes.extend(scope.notes)
            hits = dated_hits(db, scope, k, notes)
            return Answer(text, hits, notes, answered=bool(hits))
        if not scope.recent:  # "最近" on a subject only leans towards the newest: nothing to explain
            notes.extend(scope.notes)
    tokens = tokenize(content)
    weights = query_weights(tokens, _frequency(tokenize))
    groups = {token: {token} for token in tokens}
    if translator is not None:
        expansion = translator.expand(content, tokens, index)
        weights, groups = merge_weights(weights, expansion.weights), expansion.groups
        weights = concept_weights(index, weights, groups, expansion.weights)
    wants = question_wants(text)
    if either_way(wants):  # "rising or falling" says what kind of answer, not what about
        weights = {token: weight * GENERAL_WORD_SHARE if says_a_direction(token) else weight for token, weight in weights.items()}
    allowed = window_mask(db, index, scope) if scope and scope.filter else None
    if allowed is not None and not allowed.any():
        notes.append(Note.of("window_empty", window=_window(scope)))
        allowed = None
    limit = max(k * CANDIDATE_FACTOR, POOL, DATE_CANDIDATES if scope else 0)
    bridge = translator is not None
    ranked, weights = candidates(index, content, tokens, weights, limit, allowed, bridge, k)
    terms = question_terms(index, groups, _frequency(tokenize))
    hits, evidence = best_hits(db, ranked, weights, index, scope, k, wants, terms)
    answered = bool(hits) and missing_share(terms) < MISSING_MAX and evidence_coverage(hits, evidence) >= coverage_needed(terms)
    return Answer(text, hits, notes, strong_terms(weights), answered)


CONCEPT_TRANSLATION_WEIGHT = 0.5  # an English word's translations sure enough to say how common its concept is: glossary, first sense


def concept_weights(
    index: Index, weights: Mapping[str, float], groups: Mapping[str, frozenset[str]], brought: Mapping[str, float]
) -> dict[str, float]:
    """A question word counts no more than its concept is rare: a Chinese word that only titles
    and prose articles use ("加工") looks far rarer than its everyday English translation
    ("process"), and would make those few articles everyone's answer. A Chinese word is as
    common as the commonest of all its translations (under Chinese titles and English bullets
    every Chinese word looks rare, and a dictionary's first sense is not always the usual one:
    全球 is "entire" before "global"); an English word's own idf is already the corpus's, and
    only its sure translations can lower it."""
    adjusted = dict(weights)
    for word, group in groups.items():
        own = index.idf(word)
        if word not in adjusted or own <= 0:
            continue
        translations = [
            index.idf(token)
            for token in group
            if token != word
            and brought.get(token, 0.0) > 0
            and (has_cjk(word) or brought[token] >= CONCEPT_TRANSLATION_WEIGHT)
        ]
        commonest = min((idf for idf in translations if idf > 0), default=own)
        if commonest < own:
            adjusted[word] = adjusted[word] * commonest / own
    return adjusted


def _frequency(tokenize: Tokenize) -> Callable[[str], int] | None:
    return getattr(tokenize, "frequency", None)


def evidence_coverage(hits: Sequence[Hit], evidence: Evidence) -> float:
    """How much of the question the best passage (with its title) of the first hits carries."""
    at = {rowid: i for i, rowid in enumerate(evidence.rowids)}
    return max((float(evidence.coverage[at[hit.article.rowid]]) for hit in hits[:EVIDENCE_HITS]), default=0.0)


RARE_SHARE = 0.1  # a word in at most this share of documents is rare enough to mark


def rare_terms(index: Index, weights: Mapping[str, float]) -> frozenset[str]:
    """The question's words and close translations that few documents use: what to mark."""
    return frozenset(
        token
        for token, weight in weights.items()
        if weight >= STRONG_WEIGHT and 0 < index.document_frequency(token) <= max(1, index.size * RARE_SHARE)
    )


def strong_terms(weights: Mapping[str, float]) -> tuple[str, ...]:
    """The question's tokens and its close translations, strongest first (feedback terms and
    corpus-wide words like "rare earth" for 稀土 weigh less)."""
    return tuple(t for t, w in sorted(weights.items(), key=lambda pair: -pair[1]) if w >= STRONG_WEIGHT)


def candidates(
    index: Index,
    content: str,
    tokens: Sequence[str],
    weights: dict[str, float],
    limit: int,
    allowed: np.ndarray | None,
    bridge: bool,
    k: int,
) -> tuple[list[tuple[int, float]], dict[str, float]]:
    """(rowid, article score) of the best `limit` articles, and the final question weights:
    with the corpus bridge, the first pass's best articles lend terms of the other language."""
    ranking = Ranking(index, allowed)  # the second pass reads only the postings of the terms feedback adds
    ranked = ranking.top(ranking_weights(index, weights, tokens), limit)
    if bridge and ranked and needs_feedback(ranked, k):
        weights = merge_weights(weights, _feedback(ranked, tokens, index, content))
        ranked = ranking.top(ranking_weights(index, weights, tokens), limit)
    return ranked, weights


@dataclass
class Evidence:
    """The candidates' passages scored against the question: every bullet's token ids in a
    row with each bullet's length and score, how many bullets each candidate has, its best
    and second-best passage score, and its title's token ids."""

    rowids: list[int]
    ids: np.ndarray
    lengths: np.ndarray
    scores: np.ndarray
    counts: np.ndarray
    best: np.ndarray
    second: np.ndarray
    titles: list[np.ndarray]
    coverage: np.ndarray  # the share of the question's specific weight its best passage carries

    def bullets(self, i: int) -> tuple[BulletIds, np.ndarray]:
        """Candidate i's bullets and their scores."""
        first, last = int(self._bullet_starts[i]), int(self._bullet_starts[i + 1])
        start, end = int(self._token_starts[first]), int(self._token_starts[last])
        return BulletIds(self.ids[start:end], self.lengths[first:last]), self.scores[first:last]

    def __post_init__(self) -> None:
        self._bullet_starts = np.concatenate(([0], np.cumsum(self.counts)))
        self._token_starts = np.concatenate(([0], np.cumsum(self.lengths)))


def passage_evidence(
    ranked: Sequence[tuple[int, float]], weights: Mapping[str, float], index: Index, terms: list[QuestionTerm]
) -> Evidence:
    """Score every passage (bullet or prose sentence) of the candidates, with the corpus's idf
    and average passage length, in one numpy batch."""
    rowids = [rowid for rowid, _ in ranked]
    if not rowids or index.bullets is None or index.titles is None:  # nothing found, or nothing indexed
        nothing = np.zeros(0, dtype=np.int64)
        return Evidence([], nothing, nothing, np.zeros(0), nothing, np.zeros(0), np.zeros(0), [], np.zeros(0))
    positions = [index.position(rowid) for rowid in rowids]
    ids, lengths, counts = index.bullets.many(positions)
    scores = passage_scores(ids, lengths, index.term_weights(weights), index.bullets.average_length())
    best, second = _two_best(scores, counts)
    title_ids, title_lengths, _ = index.titles.many(positions)
    titles = np.split(title_ids, np.cumsum(title_lengths)[:-1])
    covered = passage_coverage(terms, title_ids, title_lengths, ids, lengths, counts)
    return Evidence(rowids, ids, lengths, scores, counts, best, second, titles, covered)


def _two_best(scores: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each group's largest and second-largest score (0 where there is none); groups are
    consecutive runs of `counts` scores."""
    best, second = np.zeros(len(counts)), np.zeros(len(counts))
    if not len(scores):
        return best, second
    group = np.repeat(np.arange(len(counts)), counts)
    order = np.lexsort((-scores, group))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    has_one, has_two = counts >= 1, counts >= 2
    best[has_one] = scores[order[starts[has_one]]]
    second[has_two] = scores[order[starts[has_two] + 1]]
    return best, second


def best_hits(
    db: ArticleStore,
    ranked: Sequence[tuple[int, float]],
    weights: Mapping[str, float],
    index: Index,
    scope: DateScope | None,
    k: int,
    wants: Wants,
    terms: list[QuestionTerm],
) -> tuple[list[Hit], Evidence]:
    """Rank the candidates by their evidence: the best passage (one bullet that holds the
    question beats question words scattered over a long report), the next best, the title and
    the article as a whole; weigh by date; fold repeated stories; pick each hit's bullets."""
    evidence = passage_evidence(ranked, weights, index, terms)
    articles_scores = np.array([article for _, article in ranked])
    score = (ARTICLE_MIX * articles_scores + evidence.best + SECOND_PASSAGE_MIX * evidence.second)
    score = (score * (1 + COVERAGE_MIX * evidence.coverage)).tolist()
    if scope and not scope.filter:
        days = db.days_by_rowid(evidence.rowids)
        score = [s * date_weight(scope, days[rowid]) for rowid, s in zip(evidence.rowids, score)]
    order = sorted(range(len(ranked)), key=lambda i: (-score[i], i))[: k * CANDIDATE_FACTOR]
    stories = fold_repeats(order, evidence.titles)
    heads = [evidence.rowids[story[0]] for story in stories]
    articles = db.articles_by_rowid(heads[:k])
    if len(articles) < len(heads[:k]):  # deleted since the index was built: the next stories fill in
        articles.update(db.articles_by_rowid(heads[k:]))
    stories = [story for story in stories if evidence.rowids[story[0]] in articles][:k]
    repeats = db.headers_by_rowid([evidence.rowids[i] for story in stories for i in story[1:]])
    chosen = []
    rare = rare_terms(index, weights)
    for head, *others in stories:
        article = articles[evidence.rowids[head]]
        also = tuple(
            Sighting(repeat.title, repeat.source, repeat.published)
            for repeat in (repeats.get(evidence.rowids[i]) for i in others)
            if repeat is not None
        )
        bullets = choose(article, *evidence.bullets(head), MAX_BULLETS, wants)
        chosen.append(Hit(article, score[head], bullets, also, marks(bullets, wants, rare)))
    return chosen, evidence


REPEAT_TITLE_SIMILARITY = 0.6  # the Jaccard share of title words two reports of one story have


def fold_repeats(order: Sequence[int], titles: Sequence[np.ndarray]) -> list[list[int]]:
    """Candidates (positions, best first) grouped by near-identical titles, compared as the
    index's title token ids (no article is read): each group's first is the one shown."""
    order = list(order)
    if not order:
        return []
    sizes, shared = _shared_words([titles[i] for i in order])
    stories: list[list[int]] = []
    heads: list[int] = []  # each story's first, as a place in `order`
    for at, candidate in enumerate(order):
        size = sizes[at]
        for story, head in zip(stories, heads):
            other, both = sizes[head], shared[at][head]
            fits = REPEAT_TITLE_SIMILARITY * size <= other <= size / REPEAT_TITLE_SIMILARITY  # sizes alone can rule it out
            if size and fits and both >= REPEAT_TITLE_SIMILARITY * (size + other - both):
                story.append(candidate)
                break
        else:
            stories.append([candidate])
            heads.append(at)
    return stories


def _shared_words(titles: Sequence[np.ndarray]) -> tuple[list[int], list[list[int]]]:
    """Each title's number of distinct words, and how many each pair of titles share
    (each title a set of bits, one a word)."""
    bit: dict[int, int] = {}
    sets = [sum(1 << bit.setdefault(word, len(bit)) for word in set(title.tolist())) for title in titles]
    return [each.bit_count() for each in sets], [[(one & other).bit_count() for other in sets] for one in sets]


def date_scope(db: ArticleStore, text: str, today: date) -> tuple[DateScope | None, str, str]:
    """The question's date scope; the text to search (without a phrase that only says when);
    and the text without any date phrase."""
    phrase = find_date_phrase(text)
    if phrase is None:
        return None, text, text
    scope = resolve(phrase, today, db.newest_day())
    rest = strip_phrase(text, phrase)
    return scope, rest if scope.filter or scope.recent else text, rest


def _window(scope: DateScope) -> str:
    return f"{scope.start} – {scope.end}" if scope.start != scope.end else str(scope.start)


def window_mask(db: ArticleStore, index: Index, scope: DateScope) -> np.ndarray:
    """Which indexed documents fall in the scope's window."""
    rowids = db.rowids_between(scope.start, scope.end)
    return np.isin(index.rowids, np.array(rowids, dtype=np.int64))


def ranking_weights(index: Index, weights: Mapping[str, float], asked: Sequence[str]) -> dict[str, float]:
    """The weights to rank documents with: the question's own terms and its strongest
    expansion terms (weight x idf). Expansion terms that most documents hold, or beyond the
    strongest few, cost time and barely move a document's score, so only bullet choice uses them."""
    common = index.size * RANKING_PRUNE_SHARE
    own = {t: w for t, w in weights.items() if t in asked}
    added = [
        (w * index.idf(t), t)
        for t, w in weights.items()
        if t not in own and 0 < index.document_frequency(t) < common
    ]
    strongest = sorted(added, reverse=True)[:RANKING_EXPANSION_TERMS]
    return {**own, **{t: weights[t] for _, t in strongest}}


def informative(index: Index, tokens: Sequence[str]) -> bool:
    """Whether a question says more than what most of the corpus is about ("稀土 news")."""
    return any(index.document_frequency(token) < index.size * CORPUS_WIDE_SHARE for token in tokens)


def dated_hits(db: ArticleStore, scope: DateScope, k: int, notes: list[Note]) -> list[Hit]:
    """A question that only names a time: that window's articles (the newest for "latest"), newest first."""
    start = None if scope.recent else scope.start
    articles = newest_between(db, start, scope.end, k * CANDIDATE_FACTOR)
    if not articles:
        notes.append(Note.of("window_empty_newest", window=_window(scope)))
        articles = newest_between(db, None, None, k * CANDIDATE_FACTOR)
    hits = merge_duplicates([Hit(article, 0.0, article.bullets[:2]) for article in articles])
    return hits[:k]


def newest_between(db: ArticleStore, start: date | None, end: date | None, limit: int) -> list[Article]:
    """The newest articles within [start, end], found through the day index."""
    found = db.articles_by_rowid(db.rowids_between(start, end, limit))
    return sorted(found.values(), key=lambda article: article.published, reverse=True)


def needs_feedback(ranked: Sequence[tuple[int, float]], k: int) -> bool:
    """A question borrows the other language's terms from its best articles only when it finds
    fewer than `k` articles. Chinese questions used to borrow English bullet terms always: once
    a Chinese word weighed by its commonest translation and articles by the concepts one passage
    holds, that second pass lost on the newest sets (tune3 nDCG@5 0.700 without it, 0.647 with;
    tune2 0.894 and 0.887; held-out 0.970 and 0.980) and cost a third of a Chinese question's time."""
    return len(ranked) < k


def _feedback(ranked: Sequence[tuple[int, float]], tokens: Sequence[str], index: Index, content: str) -> dict[str, float]:
    """Other-language terms from the best first-pass articles: English bullets for a Chinese
    question, Chinese titles for an English one."""
    best = [rowid for rowid, _ in ranked[:FEEDBACK_DOCUMENTS]]
    if has_cjk(content):
        bullets = (index.bullet_ids(rowid) for rowid in best)
        documents = [each[0] for each in bullets if each is not None]
    else:
        documents = [ids for ids in (index.title_ids(rowid) for rowid in best) if ids is not None]
    return feedback_terms(documents, index.ids_of(tokens), index, want_chinese=not has_cjk(content))


def merge_duplicates(hits: Sequence[Hit], limit: int | None = None) -> list[Hit]:
    """Fold each repeat of a story into the first (best) hit, which names the others;
    keep at most `limit` stories."""
    merged: list[Hit] = []
    kept_bigrams: list[frozenset[str]] = []
    for hit in hits:
        bigrams = title_bigrams(hit.article.title)
        for position, kept in enumerate(merged):
            if similar_titles(kept_bigrams[position], bigrams):
                sighting = Sighting(hit.article.title, hit.article.source, hit.article.published)
                merged[position] = Hit(kept.article, kept.score, kept.bullets, kept.also + (sighting,))
                break
        else:
            if limit is None or len(merged) < limit:
                merged.append(hit)
                kept_bigrams.append(bigrams)
    return merged
