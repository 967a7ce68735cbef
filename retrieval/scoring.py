"""The best documents for a weighted bag of query tokens: exact BM25 top-k.

Tokens most documents hold ("rare", "earth" in a rare-earth corpus) have long posting
lists and tiny scores. Ranking first by the selective tokens bounds what the common ones
can add, so their postings are read only for the documents that can still make the top k.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .index import Index

LEAD_FACTOR = 2  # documents scored in full first, per document wanted, to bound the rest
SEARCH_COST = 8  # a binary search per pooled document against one write per posting
COMMON_SHARE = 0.2  # a token in more than this share of documents is read only where it can matter


def top_documents(
    index: Index, weights: Mapping[str, float], limit: int, allowed: np.ndarray | None = None
) -> list[tuple[int, float]]:
    """(rowid, score) of the `limit` best documents with a positive score, within `allowed`,
    best first (the earlier indexed among equal scores); the same as scoring every document."""
    return Ranking(index, allowed).top(weights, limit)


RESIDUE = 1e-6  # what float32 sums leave of a score whose every term was taken back out


class Ranking:
    """Exact top-k over one index, kept between passes: a second pass with a few more (or
    other) weights reads only the postings of the tokens whose weight changed."""

    def __init__(self, index: Index, allowed: np.ndarray | None = None) -> None:
        self.index = index
        self.allowed = allowed
        self._scores: np.ndarray | None = None  # every document's score from the terms not deferred
        self._terms: dict[int, float] = {}
        self._deferred: set[int] = set()

    def top(self, weights: Mapping[str, float], limit: int) -> list[tuple[int, float]]:
        """(rowid, score) of the `limit` best documents for these weights, as top_documents."""
        index = self.index
        ids = ((index.token_id(token), weight) for token, weight in weights.items() if weight)
        terms = dict(sorted((token_id, weight) for token_id, weight in ids if token_id is not None))
        # in id order: float sums, and so near ties, come out the same whatever order the words came in
        if not terms or index.size == 0 or limit <= 0:
            return []
        if self._scores is None or min(terms.values()) < 0:
            self._deferred = _common_terms(index, terms)
            self._scores = _dense(index, {t: w for t, w in terms.items() if t not in self._deferred}, self.allowed)
        else:
            self._update(terms)
        self._terms = terms
        scores, deferred = self._scores, self._deferred
        impacts = index.max_impacts()
        while True:
            if not deferred:
                best = _largest(scores, limit)
                return [(int(index.rowids[at]), float(scores[at])) for at in best]
            found = _top_with_deferred_terms(index, scores, terms, deferred, limit, impacts)
            if found is not None:
                return found
            # the deferred terms could still lift an unseen document into the top: read the
            # strongest of them in full, and try again
            strongest = max(deferred, key=lambda t: terms[t] * impacts[t])
            deferred.discard(strongest)
            _add(index, scores, strongest, terms[strongest], self.allowed)

    def _update(self, terms: Mapping[int, float]) -> None:
        """Bring the kept scores from the last pass's weights to these: a changed weight adds
        its difference, a new common token is deferred, a deferred one waits as it was."""
        taken_out = False
        threshold = self.index.size * COMMON_SHARE
        for token_id in sorted(self._terms.keys() | terms.keys()):
            before, after = self._terms.get(token_id, 0.0), terms.get(token_id, 0.0)
            if token_id in self._deferred:
                if not after:
                    self._deferred.discard(token_id)
            elif token_id not in self._terms and self.index.frequency(token_id) > threshold:
                self._deferred.add(token_id)
            elif after != before:
                _add(self.index, self._scores, token_id, after - before, self.allowed)
                taken_out = taken_out or not after
        if taken_out:
            self._scores[self._scores < RESIDUE] = 0


def _common_terms(index: Index, terms: Mapping[int, float]) -> set[int]:
    """The terms held by more than COMMON_SHARE of documents, to read only for the
    documents that can make the top; none if a weight is negative, and never all."""
    if min(terms.values()) < 0:
        return set()
    threshold = index.size * COMMON_SHARE
    frequency = {token_id: index.frequency(token_id) for token_id in terms}
    common = {token_id for token_id, df in frequency.items() if df > threshold}
    if common == set(terms):
        common.discard(min(common, key=frequency.get))
    return common


def _top_with_deferred_terms(
    index: Index,
    partial: np.ndarray,
    terms: Mapping[int, float],
    deferred: set[int],
    limit: int,
    impacts: np.ndarray,
) -> list[tuple[int, float]] | None:
    """The exact top `limit`, given every document's score without the deferred terms;
    None when those scores cannot rule out the documents they miss."""
    # the likeliest winners first, exactly: the limit-th best of them bounds the top from below
    lead = _largest(partial, LEAD_FACTOR * limit)
    if len(lead) < limit:
        return None
    exact = _with_deferred_terms(index, partial, lead, terms, deferred)
    kth = np.partition(exact, len(exact) - limit)[len(exact) - limit]
    floor = kth - sum(terms[t] * impacts[t] for t in deferred)
    if floor <= 0:
        return None  # a document holding only deferred terms could make the top
    pool = np.nonzero(partial >= floor)[0]
    full = _with_deferred_terms(index, partial, pool, terms, deferred)
    best = _top_of(full, pool, limit)
    return [(int(index.rowids[pool[at]]), float(full[at])) for at in best]


def _with_deferred_terms(
    index: Index, partial: np.ndarray, pool: np.ndarray, terms: Mapping[int, float], deferred: set[int]
) -> np.ndarray:
    """The full scores of the documents at `pool`: each deferred term's score looked up by
    binary search, or, for a pool that is large next to its posting list, by spreading it out."""
    totals = partial[pool]
    for token_id in sorted(deferred):
        postings = index.postings(token_id)
        if len(pool) * SEARCH_COST < len(postings):
            found = np.zeros(len(pool), dtype=np.float32)
            for base, docs, scores in postings.parts:
                local = pool - base
                at = np.minimum(np.searchsorted(docs, local.astype(docs.dtype)), len(docs) - 1)
                held = docs[at] == local
                found[held] = scores[at[held]]
        else:
            spread = np.zeros(index.size, dtype=np.float32)
            for base, docs, scores in postings.parts:
                spread[base:][docs] = scores
            found = spread[pool]
        totals = totals + terms[token_id] * found
    return totals


def _dense(index: Index, terms: Mapping[int, float], allowed: np.ndarray | None) -> np.ndarray:
    total = np.zeros(index.size, dtype=np.float32)
    for token_id, weight in terms.items():
        _add(index, total, token_id, weight, allowed)
    return total


def _add(index: Index, scores: np.ndarray, token_id: int, weight: float, allowed: np.ndarray | None) -> None:
    """Add a term's weighted scores to every document holding it (within `allowed`), a
    segment at a time: each segment's documents are a slice of `scores`."""
    for base, docs, impacts in index.postings(token_id).parts:
        if allowed is not None:
            keep = allowed[base:][docs]
            docs, impacts = docs[keep], impacts[keep]
        np.add.at(scores[base:], docs, weight * impacts)  # a term's positions are distinct; add.at is faster than +=


SAMPLE_STRIDE = 16  # every so many documents' scores are looked at to set the bar for the best,
SAMPLE_SIZE = 8192  # and no more than about this many


def _largest(scores: np.ndarray, count: int) -> np.ndarray:
    """The positions of the `count` largest positive `scores` (fewer if fewer are positive),
    best first, the lower position first among equals. A sample of the scores sets a bar
    that usually only a few times `count` of them clear; when at least `count` clear it,
    the best are all among them, so only those are sorted."""
    candidates = None
    stride = max(SAMPLE_STRIDE, len(scores) // SAMPLE_SIZE)
    if len(scores) >= stride * count * 4:
        sample = scores[::stride]
        rank = max(2 * count // stride, 2)  # the rank-th best of the sample: about the (stride x rank)-th of all
        bar = np.partition(sample, len(sample) - rank)[len(sample) - rank]
        if bar > 0:
            candidates = np.nonzero(scores >= bar)[0]
            if len(candidates) < count:
                candidates = None
    if candidates is None:
        candidates = np.nonzero(scores > 0)[0]  # much faster than np.flatnonzero on floats
    return candidates[_top_of(scores[candidates], candidates, count)]


def _top_of(values: np.ndarray, positions: np.ndarray, count: int) -> np.ndarray:
    """Indices into `values` of its `count` largest positive ones, best first, the lower
    position first among equals."""
    chosen = np.arange(len(values))
    if len(values) > count:
        chosen = np.argpartition(-values, count - 1)[:count]
        chosen = np.nonzero(values >= values[chosen].min())[0]  # every tie at the cut, to choose among
    chosen = chosen[values[chosen] > 0]
    return chosen[np.lexsort((positions[chosen], -values[chosen]))][:count]
