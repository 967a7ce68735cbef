"""The BM25 index over articles: immutable segments that grow with each ingest.

An ingest tokenizes only the articles it wrote and saves them as a new segment; a view
(`Index`) over the segments answers questions meanwhile and the next view takes the new
segment in. Term ids come from one append-only vocabulary: each segment lists the words
it introduced, so the vocabulary is the segments' word lists in order. A replaced article
is tombstoned in its old segment. Runs of segments of one size are merged into one (from
their stored postings and passages, nothing is tokenized again), which also drops tombstoned
documents.

Scores are Lucene's BM25: idf = ln(1 + (N - df + 0.5) / (df + 0.5)) over the whole index,
at question time, times each posting's tf / (tf + k1 (1 - b + b dl / avgdl)), stored as it
was computed when its segment was written (avgdl of the index then; a merge recomputes it).

Tokenizing, scoring and persistence are kept apart: this module holds the arrays and the
arithmetic, `segments.py` reads and writes them.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .models import Article
from .tokenize import has_cjk

K1, B = 1.2, 0.75
CACHED_POSTINGS_BYTES = 24 << 20  # the longest posting lists recent questions read, kept in memory ...
CACHED_POSTINGS_PER_DOCUMENT = 128  # ... or this many bytes a document, if more (128 MB at 1M articles)
CACHED_POSTINGS_MIN = 4096  # shorter lists are read again: cheap, and too many to keep
UNKNOWN_KIND, NOT_A_TERM, NOT_CHINESE, CHINESE = -1, 0, 1, 2

Tokenize = Callable[[str], list[str]]


class DamagedIndex(ValueError):
    """A saved index whose files do not match its manifest or do not fit together."""


def article_text(article: Article) -> str:
    """What the index reads of an article: its title and every bullet."""
    return "\n".join((article.title, *article.bullets))


@dataclass
class BulletTokens:
    """Every passage's tokens as vocabulary ids, flat, so a question never re-tokenizes
    its candidates: passages of document d are bullet_starts[d]:bullet_starts[d+1], and
    the tokens of passage p are token_ids[token_starts[p]:token_starts[p+1]]."""

    token_ids: np.ndarray
    token_starts: np.ndarray
    bullet_starts: np.ndarray

    FILES = ("token_ids", "token_starts", "starts")

    @classmethod
    def from_lengths(cls, token_ids: np.ndarray, passage_lengths: np.ndarray, passages_per_document: np.ndarray) -> BulletTokens:
        return cls(
            np.asarray(token_ids, dtype=np.int32),
            np.concatenate(([0], np.cumsum(passage_lengths, dtype=np.int64))),
            np.concatenate(([0], np.cumsum(passages_per_document, dtype=np.int64))),
        )

    @property
    def documents(self) -> int:
        return len(self.bullet_starts) - 1

    def of(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        """The token ids of the passages of the document at `position`, in a row, and each passage's length."""
        first, last = self.bullet_starts[position : position + 2]
        bounds = self.token_starts[first : last + 1]
        return self.token_ids[bounds[0] : bounds[-1]], bounds[1:] - bounds[:-1]

    def many(self, positions: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The documents at `positions`, in one go: all their passages' token ids in a row,
        each passage's length, and each document's number of passages."""
        positions = np.asarray(positions, dtype=np.int64)
        first, last = self.bullet_starts[positions], self.bullet_starts[positions + 1]
        counts = last - first
        bullets = _ranges(first, counts)
        starts, ends = self.token_starts[bullets], self.token_starts[bullets + 1]
        return take_ranges(self.token_ids, starts, ends), ends - starts, counts

    def document_lengths(self) -> np.ndarray:
        """Each document's number of tokens over all its passages."""
        return np.diff(self.token_starts[self.bullet_starts])

    def token_count(self) -> int:
        return int(self.token_starts[-1])

    def passage_count(self) -> int:
        return len(self.token_starts) - 1


@dataclass
class Segment:
    """Some documents' postings and passages, never changed once written.

    Postings are grouped by term: the term ids present (`terms`, ascending) and, for the
    i-th, local document positions docs[term_starts[i]:term_starts[i+1]] (ascending) with
    their BM25 tf parts in `weights`. The segment introduced the vocabulary words
    first_term .. first_term + len(words) - 1."""

    name: str
    rowids: np.ndarray
    lengths: np.ndarray
    terms: np.ndarray
    term_starts: np.ndarray
    docs: np.ndarray
    weights: np.ndarray
    bullets: BulletTokens
    titles: BulletTokens
    first_term: int
    words: list[str]
    average_length: float  # the index's mean document length when the weights were computed
    max_weights: np.ndarray = field(default=None, repr=False)  # each of `terms`' highest weight
    word_order: np.ndarray | None = field(default=None, repr=False)  # `words`' offsets in sorted order, once saved

    def __post_init__(self) -> None:
        if self.max_weights is None:
            starts = self.term_starts[:-1]
            self.max_weights = (
                np.maximum.reduceat(self.weights, starts) if len(starts) else np.zeros(0, np.float32)
            ).astype(np.float32)

    @property
    def size(self) -> int:
        return len(self.rowids)

    @property
    def term_end(self) -> int:
        return self.first_term + len(self.words)

    def postings(self, token_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Local positions of the documents holding a term, and its tf part in each."""
        at = int(np.searchsorted(self.terms, self.terms.dtype.type(token_id)))  # same dtype: no copy of terms
        if at == len(self.terms) or self.terms[at] != token_id:
            return _NO_DOCS, _NO_WEIGHTS
        start, end = self.term_starts[at], self.term_starts[at + 1]
        return self.docs[start:end], self.weights[start:end]

    def document_terms(self, positions: np.ndarray) -> np.ndarray:
        """The distinct term ids of each document at local `positions`, once per document."""
        keys = []
        for tokens in (self.titles, self.bullets):
            ids, lengths, counts = tokens.many(positions)
            token_bounds = np.concatenate(([0], np.cumsum(lengths)))
            per_document = np.diff(token_bounds[np.concatenate(([0], np.cumsum(counts)))])
            owner = np.repeat(np.arange(len(positions), dtype=np.int64), per_document)
            keys.append(owner << 32 | ids.astype(np.int64))
        return np.unique(np.concatenate(keys)) & 0xFFFFFFFF


_NO_DOCS = np.zeros(0, dtype=np.int32)
_NO_WEIGHTS = np.zeros(0, dtype=np.float32)


@dataclass(frozen=True)
class Postings:
    """A term's live postings in one view, segment by segment, never copied into one list
    (at 1M articles a common word's list runs to hundreds of thousands of entries in each of
    ten segments): each part's first position in the view, its documents' local positions
    (ascending) and the term's score in each, idf included."""

    parts: tuple[tuple[int, np.ndarray, np.ndarray], ...] = ()

    def __len__(self) -> int:
        return sum(len(docs) for _, docs, _ in self.parts)

    @property
    def nbytes(self) -> int:
        return sum(docs.nbytes + scores.nbytes for _, docs, scores in self.parts)


class Vocabulary:
    """Words and their ids, append-only: views over older segments share it and never
    see ids past their own size. Only the process holding the index's write lock adds.

    Words loaded with their sorted order (a saved segment's) are found by binary search
    until something needs the whole dictionary (`ids`: a writer, or a server warming up):
    building a dict of a million words is most of a cold start at 1M articles."""

    def __init__(self, identity: str = "") -> None:
        self.identity = identity  # which build's words these are: a rebuild starts another
        self.words: list[str] = []
        self._ids: dict[str, int] = {}
        self._sorted: list[tuple[int, np.ndarray]] = []  # (first id, its words' offsets in word order), not in _ids
        self._folding = threading.Lock()

    @property
    def ids(self) -> dict[str, int]:
        """Every word's id, as one dict (words looked up by binary search so far are folded in)."""
        self.fold()
        return self._ids

    def fold(self) -> None:
        """Put the words found by binary search so far into the dict: a server does it as it
        warms up, and a writer before it adds."""
        if self._sorted:
            with self._folding:
                for first, order in self._sorted:
                    self._ids.update(zip(self.words[first : first + len(order)], range(first, first + len(order))))
                self._sorted = []

    def get(self, word: str) -> int | None:
        """The id of `word`, or None."""
        pending = self._sorted  # read before the dict: a word being folded in is in one or the other
        found = self._ids.get(word)
        if found is not None or not pending:
            return found
        words = self.words
        for first, order in pending:
            at = bisect_left(order, word, key=lambda offset: words[first + offset])
            if at < len(order) and words[first + int(order[at])] == word:
                return first + int(order[at])
        return None

    def extend(self, words: Iterable[str], order: np.ndarray | None = None) -> None:
        """Add words after the last; with `order` (the offsets of `words` in sorted order) they
        are looked up by binary search until the dict is needed, unless it is built already."""
        words = list(words)
        first = len(self.words)
        built = bool(self._ids) and not self._sorted  # a server's: new segments' words go straight in
        if order is None or len(order) != len(words) or built:
            self.ids.update(zip(words, range(first, first + len(words))))
            self.words.extend(words)
        else:
            self.words.extend(words)
            self._sorted = [*self._sorted, (first, order)]  # a new list: a reader keeps the one it has

    def __len__(self) -> int:
        return len(self.words)


def word_order(words: Sequence[str]) -> np.ndarray:
    """The offsets of `words` in sorted order, for `Vocabulary.extend`."""
    return np.array(sorted(range(len(words)), key=words.__getitem__), dtype=np.int32)


def build_segment(
    name: str,
    rowids: np.ndarray,
    titles: BulletTokens,
    bullets: BulletTokens,
    first_term: int,
    words: list[str],
    average_length: float,
) -> Segment:
    """A segment from its documents' passage token ids: the postings are counted from them."""
    size = len(rowids)
    lengths = (titles.document_lengths() + bullets.document_lengths()).astype(np.int32)
    keys = []
    for tokens in (titles, bullets):
        per_document = np.repeat(np.arange(size, dtype=np.int64), tokens.document_lengths())
        keys.append(tokens.token_ids.astype(np.int64) * max(size, 1) + per_document)
    pairs, tf = np.unique(np.concatenate(keys), return_counts=True)  # by term, then document
    del keys
    term_of = pairs // max(size, 1)
    docs = (pairs - term_of * max(size, 1)).astype(np.int32)
    del pairs
    terms, first = np.unique(term_of, return_index=True)
    del term_of
    norms = K1 * (1 - B + B * lengths[docs] / average_length)
    weights = (tf / (tf + norms)).astype(np.float32)
    return Segment(
        name,
        np.asarray(rowids, dtype=np.int64),
        lengths,
        terms.astype(np.int32),
        np.append(first, len(docs)).astype(np.int64),
        docs,
        weights,
        bullets,
        titles,
        first_term,
        list(words),
        float(average_length),
    )


class SegmentBuilder:
    """Takes articles one at a time as token ids in compact arrays, adding new words to
    the vocabulary; `finish` turns them into a segment. Nothing but token ids is kept."""

    def __init__(self, vocabulary: Vocabulary, tokenize: Tokenize) -> None:
        self.vocabulary = vocabulary
        self.tokenize = tokenize
        self.first_term = len(vocabulary)
        self.rowids: list[int] = []
        self._title_ids = array("i")
        self._title_lengths = array("i")
        self._bullet_ids = array("i")
        self._bullet_lengths = array("i")
        self._bullet_counts = array("i")

    def __len__(self) -> int:
        return len(self.rowids)

    def add(self, rowid: int, article: Article) -> None:
        self.add_tokens(rowid, self.tokenize(article.title), [self.tokenize(bullet) for bullet in article.bullets])

    def add_tokens(self, rowid: int, title: list[str], bullets: list[list[str]]) -> None:
        """An article already tokenized (by another process, in a bulk build)."""
        self._title_ids.extend(self._ids(title))
        self._title_lengths.append(len(title))
        for tokens in bullets:
            self._bullet_ids.extend(self._ids(tokens))
            self._bullet_lengths.append(len(tokens))
        self._bullet_counts.append(len(bullets))
        self.rowids.append(rowid)

    def _ids(self, tokens: list[str]) -> list[int]:
        ids = self.vocabulary.ids
        found = [ids.get(token) for token in tokens]
        if None in found:
            for position, token in enumerate(tokens):
                if found[position] is None:
                    if token not in ids:
                        self.vocabulary.extend((token,))
                    found[position] = ids[token]
        return found

    def token_count(self) -> int:
        return len(self._title_ids) + len(self._bullet_ids)

    def finish(self, name: str, average_length: float) -> Segment:
        titles = BulletTokens.from_lengths(
            np.frombuffer(self._title_ids, dtype=np.int32), np.frombuffer(self._title_lengths, dtype=np.int32),
            np.ones(len(self.rowids), dtype=np.int64),
        )
        bullets = BulletTokens.from_lengths(
            np.frombuffer(self._bullet_ids, dtype=np.int32), np.frombuffer(self._bullet_lengths, dtype=np.int32),
            np.frombuffer(self._bullet_counts, dtype=np.int32),
        )
        words = self.vocabulary.words[self.first_term :]
        return build_segment(name, np.asarray(self.rowids, np.int64), titles, bullets, self.first_term, words, average_length)


class SegmentedPassages:
    """The passages (bullets, or titles) of every segment, as one BulletTokens would be."""

    def __init__(self, parts: Sequence[BulletTokens], bases: np.ndarray) -> None:
        self.parts = parts
        self.bases = bases

    def of(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        at = int(np.searchsorted(self.bases, position, side="right")) - 1
        return self.parts[at].of(position - int(self.bases[at]))

    def many(self, positions: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As BulletTokens.many: each segment is read once for all its documents among
        `positions` (a question's candidates come in rank order, scattered over segments),
        then the documents are put back in the order asked."""
        positions = np.asarray(positions, dtype=np.int64)
        if len(self.parts) == 1:
            return self.parts[0].many(positions)
        if not len(positions) or not self.parts:
            return np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.int64)
        owner = np.searchsorted(self.bases, positions, side="right") - 1
        order = np.argsort(owner, kind="stable")
        segments, firsts = np.unique(owner[order], return_index=True)
        bounds = [*firsts[1:], len(order)]
        pieces = [
            self.parts[at].many(positions[order[first:last]] - self.bases[at])
            for at, first, last in zip(segments.tolist(), firsts.tolist(), bounds)
        ]
        ids, lengths, counts = (np.concatenate(column) for column in zip(*pieces))
        back = np.empty_like(order)
        back[order] = np.arange(len(order))  # where each asked document sits in the segment-wise read
        passage_starts = np.concatenate(([0], np.cumsum(counts)))
        passages = _ranges(passage_starts[back], counts[back])
        token_starts = np.concatenate(([0], np.cumsum(lengths)))
        tokens = _ranges(token_starts[passages], lengths[passages])
        return ids[tokens], lengths[passages], counts[back]

    def average_length(self) -> float:
        """The mean number of tokens per passage, for BM25's length normalisation."""
        tokens = sum(part.token_count() for part in self.parts)
        return tokens / max(sum(part.passage_count() for part in self.parts), 1) or 1.0


class Index:
    """A view over segments: what questions read, unchanged while ingests add segments.

    Positions run over the segments in order; a position whose document was replaced
    (tombstoned) scores nothing."""

    def __init__(
        self,
        segments: Sequence[Segment],
        vocabulary: Vocabulary,
        generation: int,
        tokenizer_version: str,
        dead: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        self.segments = list(segments)
        self.vocabulary = vocabulary
        self.generation = generation
        self.tokenizer_version = tokenizer_version
        self.dead = {name: np.asarray(rowids, dtype=np.int64) for name, rowids in (dead or {}).items() if len(rowids)}
        self.vocabulary_size = self.segments[-1].term_end if self.segments else 0  # ids below it are this view's words
        sizes = [segment.size for segment in self.segments]
        self.bases = np.concatenate(([0], np.cumsum(sizes, dtype=np.int64)))[:-1]
        self.rowids = np.concatenate([s.rowids for s in self.segments]) if self.segments else np.zeros(0, np.int64)
        self.size = len(self.rowids)  # positions, tombstoned ones included
        self._live_masks = self._tombstone_masks()
        self.documents = self.size - sum(int((~mask).sum()) for mask in self._live_masks.values())
        self.bullets = SegmentedPassages([s.bullets for s in self.segments], self.bases) if self.segments else None
        self.titles = SegmentedPassages([s.titles for s in self.segments], self.bases) if self.segments else None
        self._frequencies = self._document_frequencies()
        self._lookup = self._rowid_lookup()
        self._idfs: np.ndarray | None = None
        self._kinds: np.ndarray | None = None
        self._max_impacts: np.ndarray | None = None
        self._english: dict[tuple[str, int], list[str]] | None = None
        self._cached: OrderedDict[int, Postings] = OrderedDict()  # least recent first
        self._cached_bytes = 0
        self._cache_budget = max(CACHED_POSTINGS_BYTES, CACHED_POSTINGS_PER_DOCUMENT * self.size)
        self._cache_lock = threading.Lock()

    def _tombstone_masks(self) -> dict[int, np.ndarray]:
        masks = {}
        for number, segment in enumerate(self.segments):
            dead = self.dead.get(segment.name)
            if dead is not None:
                masks[number] = ~np.isin(segment.rowids, dead)
        return masks

    def _document_frequencies(self) -> np.ndarray:
        frequencies = np.zeros(self.vocabulary_size, dtype=np.int64)
        for number, segment in enumerate(self.segments):
            frequencies[segment.terms] += np.diff(segment.term_starts)
            mask = self._live_masks.get(number)
            if mask is not None:
                np.subtract.at(frequencies, segment.document_terms(np.nonzero(~mask)[0]), 1)
        return frequencies

    def _rowid_lookup(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Live positions sorted by rowid, unless the rowids already ascend without tombstones."""
        if not self._live_masks and (self.size < 2 or bool(np.all(np.diff(self.rowids) > 0))):
            return None
        live = np.ones(self.size, dtype=bool)
        for number, mask in self._live_masks.items():
            live[self.bases[number] : self.bases[number] + len(mask)] = mask
        positions = np.nonzero(live)[0]
        order = np.argsort(self.rowids[positions], kind="stable")
        return self.rowids[positions][order], positions[order]

    # --- documents -----------------------------------------------------------------

    def position(self, rowid: int | None) -> int | None:
        """Where the live document of `rowid` sits in the index; None if the index does not hold it."""
        if rowid is None or self.size == 0:
            return None
        if self._lookup is None:
            position = int(rowid - self.rowids[0])  # rowids mostly run without gaps
            if not 0 <= position < self.size or self.rowids[position] != rowid:
                position = int(np.searchsorted(self.rowids, rowid))
            return position if position < self.size and self.rowids[position] == rowid else None
        rowids, positions = self._lookup
        at = int(np.searchsorted(rowids, rowid))
        return int(positions[at]) if at < len(rowids) and rowids[at] == rowid else None

    def bullet_ids(self, rowid: int | None) -> tuple[np.ndarray, np.ndarray] | None:
        """The token ids of the bullets of the article at `rowid`, in a row, and each bullet's
        length, as indexed; None if the index does not hold it."""
        position = self.position(rowid)
        return None if position is None else self.bullets.of(position)

    def title_ids(self, rowid: int | None) -> np.ndarray | None:
        """The token ids of the title of the article at `rowid`; None if the index does not hold it."""
        position = self.position(rowid)
        return None if position is None else self.titles.of(position)[0]

    # --- the vocabulary ------------------------------------------------------------

    def words(self, ids: Iterable[int]) -> list[str]:
        """The tokens of vocabulary ids."""
        words = self.vocabulary.words
        return [words[i] for i in ids]

    def token_id(self, token: str) -> int | None:
        token_id = self.vocabulary.get(token)
        return token_id if token_id is not None and token_id < self.vocabulary_size else None

    def ids_of(self, tokens: Sequence[str]) -> np.ndarray:
        """Vocabulary ids of tokens. A token the index never saw gets an id past the
        vocabulary (one per distinct token), which no question weight reaches."""
        unseen: dict[str, int] = {}
        size = self.vocabulary_size
        ids = []
        for token in tokens:
            token_id = self.token_id(token)
            ids.append(token_id if token_id is not None else unseen.setdefault(token, size + len(unseen)))
        return np.asarray(ids, dtype=np.int64)

    def document_frequency(self, token: str) -> int:
        token_id = self.token_id(token)
        return 0 if token_id is None else int(self._frequencies[token_id])

    def frequency(self, token_id: int) -> int:
        """How many live documents hold the term `token_id`."""
        return int(self._frequencies[token_id])

    def idfs(self) -> np.ndarray:
        """Lucene's BM25 idf of every vocabulary id, over the live documents."""
        if self._idfs is None:
            frequencies = self._frequencies
            self._idfs = np.log(1 + (self.documents - frequencies + 0.5) / (frequencies + 0.5))
        return self._idfs

    def idf(self, token: str) -> float:
        """The idf of a token; 0 for unknown tokens."""
        token_id = self.token_id(token)
        return 0.0 if token_id is None else float(self.idfs()[token_id])

    def term_weights(self, weights: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """The vocabulary ids of the question tokens the index knows (ascending) and each one's
        weight x idf, those above 0 only: a few entries, however large the vocabulary."""
        idfs = self.idfs() if self.vocabulary_size else None
        pairs = sorted(
            (token_id, weight * float(idfs[token_id]))
            for token_id, weight in ((self.token_id(token), weight) for token, weight in weights.items())
            if token_id is not None
        )
        pairs = [(token_id, value) for token_id, value in pairs if value > 0]
        return np.array([t for t, _ in pairs], dtype=np.int64), np.array([v for _, v in pairs], dtype=float)

    def word_kinds(self, ids: np.ndarray) -> np.ndarray:
        """CHINESE, NOT_CHINESE or NOT_A_TERM (numbers, single characters) for each
        vocabulary id; each word is looked at the first time it is asked about."""
        kinds = self._kinds  # one array throughout, even if another thread starts a second
        if kinds is None:
            kinds = self._kinds = np.full(self.vocabulary_size, UNKNOWN_KIND, dtype=np.int8)
        unseen = np.unique(ids[kinds[ids] == UNKNOWN_KIND])
        for token_id, word in zip(unseen.tolist(), self.words(unseen.tolist())):
            kinds[token_id] = word_kind(word)
        return kinds[ids]

    def english_vocabulary(self, initial: str, shortest: int = 0, longest: int = 1 << 30) -> list[str]:
        """The index's English words (ASCII letters only) that start with `initial` and have a
        length in [shortest, longest], for spelling correction (a typo rarely hits the first letter)."""
        if self._english is None:
            by_start: dict[tuple[str, int], list[str]] = {}
            for word in self.words(range(self.vocabulary_size)):
                if word.isascii() and word.isalpha():
                    by_start.setdefault((word[0], len(word)), []).append(word)
            self._english = by_start
        return [word for length in range(shortest, longest + 1) for word in self._english.get((initial, length), ())]

    # --- scores --------------------------------------------------------------------

    def postings(self, token_id: int) -> Postings:
        """The live documents holding a term and its score in each, segment by segment.
        The longest lists recent questions read are kept (common words recur in most
        questions), within a budget; the view is immutable, so they never go stale."""
        with self._cache_lock:
            found = self._cached.get(token_id)
            if found is not None:
                self._cached.move_to_end(token_id)
                return found
        found = self._read_postings(token_id)
        size = found.nbytes
        if len(found) >= CACHED_POSTINGS_MIN and size <= self._cache_budget // 4:
            with self._cache_lock:
                if token_id not in self._cached:
                    for _, docs, scores in found.parts:  # shared by every question that reads the term
                        docs.flags.writeable = scores.flags.writeable = False
                    self._cached[token_id] = found
                    self._cached_bytes += size
                while self._cached_bytes > self._cache_budget:
                    _, dropped = self._cached.popitem(last=False)
                    self._cached_bytes -= dropped.nbytes
        return found

    def _read_postings(self, token_id: int) -> Postings:
        idf = np.float32(self.idfs()[token_id]) if token_id < self.vocabulary_size else np.float32(0)
        parts = []
        for number, segment in enumerate(self.segments):
            docs, weights = segment.postings(token_id)
            if not len(docs):
                continue
            mask = self._live_masks.get(number)
            if mask is not None:
                keep = mask[docs]
                docs, weights = docs[keep], weights[keep]
            parts.append((int(self.bases[number]), docs, weights * idf))
        return Postings(tuple(parts))

    def max_impacts(self) -> np.ndarray:
        """The highest score each vocabulary id gives any document."""
        if self._max_impacts is None:
            highest = np.zeros(self.vocabulary_size, dtype=np.float32)
            for segment in self.segments:
                highest[segment.terms] = np.maximum(highest[segment.terms], segment.max_weights)
            self._max_impacts = highest * self.idfs().astype(np.float32)
        return self._max_impacts

    # --- growth --------------------------------------------------------------------

    def total_length(self) -> int:
        """All live documents' tokens, for the average document length new weights use."""
        total = 0
        for number, segment in enumerate(self.segments):
            mask = self._live_masks.get(number)
            total += int(segment.lengths.sum() if mask is None else segment.lengths[mask].sum())
        return total


def take_ranges(array, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """array[starts[0]:ends[0]], array[starts[1]:ends[1]], ... in a row; an array read from
    disk on demand (see segments.OnDisk) reads them itself, adjacent ranges in one read."""
    read_ranges = getattr(array, "read_ranges", None)
    if read_ranges is not None:
        return read_ranges(starts, ends)
    return array[_ranges(starts, ends - starts)]


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The indices starts[0]..starts[0]+counts[0]-1, starts[1].., in a row."""
    total = int(counts.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    return np.arange(total, dtype=np.int64) + offsets


def word_kind(word: str) -> int:
    if word.isdigit() or len(word) < 2:
        return NOT_A_TERM
    return CHINESE if has_cjk(word) else NOT_CHINESE


def build_index(
    documents: Sequence[tuple[int, Article]],
    tokenize: Tokenize,
    generation: int,
    tokenizer_version: str,
    segment_size: int | None = None,
) -> Index:
    """An index held in memory over (rowid, article) pairs, in rowid order, in segments of
    `segment_size` documents (one segment by default), all weighted with the same average
    document length: scores are those of one segment over everything."""
    documents = sorted(documents, key=lambda pair: pair[0])
    vocabulary = Vocabulary("memory")
    builders: list[SegmentBuilder] = []
    for number, (rowid, article) in enumerate(documents):
        if not builders or (segment_size and number % segment_size == 0):
            builders.append(SegmentBuilder(vocabulary, tokenize))
        builders[-1].add(rowid, article)
    tokens = sum(builder.token_count() for builder in builders)
    average_length = tokens / max(len(documents), 1) or 1.0
    segments = [builder.finish(f"m{number}", average_length) for number, builder in enumerate(builders)]
    return Index(segments, vocabulary, generation, tokenizer_version)
