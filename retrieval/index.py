"""The BM25 index over articles (bm25s), saved beside the database and reloaded."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .models import Article
from .tokenize import has_cjk

K1, B = 1.2, 0.75
UNKNOWN_KIND, NOT_A_TERM, NOT_CHINESE, CHINESE = -1, 0, 1, 2
METHOD = "lucene"
MANIFEST = "briefbot.json"
FORMAT = 4  # 2: per-bullet token ids beside the bm25s matrix; 3: file checksums in the manifest; 4: title token ids
CHECKSUM_BLOCK = 1 << 20

Tokenize = Callable[[str], list[str]]
logger = logging.getLogger(__name__)


class DamagedIndex(ValueError):
    """A saved index whose files do not match its manifest or do not fit together."""


def article_text(article: Article) -> str:
    """What the index reads of an article: its title and every bullet."""
    return "\n".join((article.title, *article.bullets))


@dataclass
class BulletTokens:
    """Every bullet's tokens as vocabulary ids, flat, so a question never re-tokenizes
    its candidates: bullets of document d are bullet_starts[d]:bullet_starts[d+1], and
    the tokens of bullet b are token_ids[token_starts[b]:token_starts[b+1]]."""

    token_ids: np.ndarray
    token_starts: np.ndarray
    bullet_starts: np.ndarray

    @classmethod
    def build(cls, per_document: Sequence[Sequence[Sequence[int]]]) -> BulletTokens:
        lengths = [len(bullet) for bullets in per_document for bullet in bullets]
        flat = [token for bullets in per_document for bullet in bullets for token in bullet]
        return cls(
            np.asarray(flat, dtype=np.int32),
            np.concatenate(([0], np.cumsum(lengths, dtype=np.int64))),
            np.concatenate(([0], np.cumsum([len(bullets) for bullets in per_document], dtype=np.int64))),
        )

    def of(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        """The token ids of the bullets of the document at `position`, in a row, and each bullet's length."""
        first, last = self.bullet_starts[position : position + 2]
        bounds = self.token_starts[first : last + 1]
        return self.token_ids[bounds[0] : bounds[-1]], bounds[1:] - bounds[:-1]

    def many(self, positions: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The documents at `positions`, in one go: all their bullets' token ids in a row,
        each bullet's length, and each document's number of bullets."""
        positions = np.asarray(positions, dtype=np.int64)
        first, last = self.bullet_starts[positions], self.bullet_starts[positions + 1]
        counts = last - first
        bullets = _ranges(first, counts)
        starts, ends = self.token_starts[bullets], self.token_starts[bullets + 1]
        return self.token_ids[_ranges(starts, ends - starts)], ends - starts, counts

    FILES = ("token_ids.npy", "token_starts.npy", "starts.npy")

    def save(self, folder: Path, prefix: str = "bullet") -> None:
        for name, array in zip(self.FILES, (self.token_ids, self.token_starts, self.bullet_starts)):
            np.save(folder / f"{prefix}_{name}", array)

    @classmethod
    def load(cls, folder: Path, prefix: str = "bullet") -> BulletTokens:
        # memory-mapped, so start-up reads nothing; viewed as plain arrays, so slicing is cheap
        return cls(*(np.load(folder / f"{prefix}_{name}", mmap_mode="r").view(np.ndarray) for name in cls.FILES))

    def average_length(self) -> float:
        """The mean number of tokens per passage, for BM25's length normalisation."""
        return float(self.token_starts[-1]) / max(len(self.token_starts) - 1, 1) or 1.0


@dataclass
class Index:
    """A bm25s retriever plus the database rowid of each indexed document."""

    retriever: object | None
    rowids: np.ndarray
    generation: int
    tokenizer_version: str
    bullets: BulletTokens | None = None
    titles: BulletTokens | None = None  # each document's title as its one passage
    _vocabulary: list[str] | None = field(default=None, repr=False)
    _idfs: np.ndarray | None = field(default=None, repr=False)
    _kinds: np.ndarray | None = field(default=None, repr=False)
    _max_impacts: np.ndarray | None = field(default=None, repr=False)
    _english: dict[tuple[str, int], list[str]] | None = field(default=None, repr=False)
    vocabulary_size: int = field(init=False)  # token ids below it have postings
    _first_rowid: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # bm25s also gives "" an id, the last, with no postings: ids past the matrix are no tokens
        self.vocabulary_size = len(self.retriever.scores["indptr"]) - 1 if self.retriever is not None else 0
        self._first_rowid = int(self.rowids[0]) if self.size else 0

    @property
    def size(self) -> int:
        return len(self.rowids)

    def bullet_ids(self, rowid: int | None) -> tuple[np.ndarray, np.ndarray] | None:
        """The token ids of the bullets of the article at `rowid`, in a row, and each bullet's
        length, as indexed; None if the index does not hold it."""
        position = self.position(rowid)
        return None if self.bullets is None or position is None else self.bullets.of(position)

    def title_ids(self, rowid: int | None) -> np.ndarray | None:
        """The token ids of the title of the article at `rowid`; None if the index does not hold it."""
        position = self.position(rowid)
        return None if self.titles is None or position is None else self.titles.of(position)[0]

    def position(self, rowid: int | None) -> int | None:
        """Where the document of `rowid` sits in the index; None if the index does not hold it."""
        if rowid is None or self.size == 0:
            return None
        position = rowid - self._first_rowid  # rowids mostly run without gaps
        if not 0 <= position < self.size or self.rowids[position] != rowid:
            position = int(np.searchsorted(self.rowids, rowid))
        return position if position < self.size and self.rowids[position] == rowid else None

    def words(self, ids: Iterable[int]) -> list[str]:
        """The tokens of vocabulary ids."""
        if self._vocabulary is None:
            vocabulary = self.retriever.vocab_dict if self.retriever is not None else {}
            words = [""] * len(vocabulary)
            for word, token_id in vocabulary.items():
                words[token_id] = word
            self._vocabulary = words
        return [self._vocabulary[i] for i in ids]

    def token_id(self, token: str) -> int | None:
        if self.retriever is None:
            return None
        token_id = self.retriever.vocab_dict.get(token)
        return token_id if token_id is not None and token_id < self.vocabulary_size else None

    def ids_of(self, tokens: Sequence[str]) -> np.ndarray:
        """Vocabulary ids of tokens. A token the index never saw gets an id past the
        vocabulary (one per distinct token), which no question weight reaches."""
        unseen: dict[str, int] = {}
        size = self.vocabulary_size
        vocabulary = self.retriever.vocab_dict if self.retriever is not None else {}
        ids = [vocabulary.get(token, size) for token in tokens]
        for position, (token, token_id) in enumerate(zip(tokens, ids)):
            if token_id >= size:
                ids[position] = unseen.setdefault(token, size + len(unseen))
        return np.asarray(ids, dtype=np.int64)

    def document_frequency(self, token: str) -> int:
        token_id = self.token_id(token)
        if token_id is None:
            return 0
        indptr = self.retriever.scores["indptr"]
        return int(indptr[token_id + 1] - indptr[token_id])

    def idfs(self) -> np.ndarray:
        """Lucene's BM25 idf of every vocabulary id, the one the index scores with."""
        if self._idfs is None:
            size = self.vocabulary_size
            frequencies = np.diff(self.retriever.scores["indptr"]) if size else np.zeros(0)
            self._idfs = np.log(1 + (self.size - frequencies + 0.5) / (frequencies + 0.5))
        return self._idfs

    def max_impacts(self) -> np.ndarray:
        """The highest score each vocabulary id gives any document."""
        if self._max_impacts is None:
            matrix = self.retriever.scores
            starts = matrix["indptr"][: self.vocabulary_size]
            self._max_impacts = np.maximum.reduceat(matrix["data"], starts) if len(starts) else np.zeros(0)
        return self._max_impacts

    def postings(self, token_id: int) -> tuple[np.ndarray, np.ndarray]:
        """The positions of the documents holding a token (ascending) and its score in each."""
        matrix = self.retriever.scores
        start, end = matrix["indptr"][token_id], matrix["indptr"][token_id + 1]
        return matrix["indices"][start:end], matrix["data"][start:end]

    def idf(self, token: str) -> float:
        """The idf of a token; 0 for unknown tokens."""
        token_id = self.token_id(token)
        return 0.0 if token_id is None else float(self.idfs()[token_id])

    def term_weights(self, weights: Mapping[str, float]) -> np.ndarray:
        """Weight x idf of each question token by vocabulary id, plus a last slot of 0
        where ids past the vocabulary (tokens the index never saw) land."""
        dense = np.zeros(self.vocabulary_size + 1)
        idfs = self.idfs() if self.vocabulary_size else None
        for token, weight in weights.items():
            token_id = self.token_id(token)
            if token_id is not None:
                dense[token_id] = weight * idfs[token_id]
        return dense

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
) -> Index:
    """Tokenize and index (rowid, article) pairs, in rowid order; keep each bullet's tokens."""
    documents = sorted(documents, key=lambda pair: pair[0])
    rowids = np.array([rowid for rowid, _ in documents], dtype=np.int64)
    if not documents:
        return Index(None, rowids, generation, tokenizer_version)
    titles = [tokenize(article.title) for _, article in documents]
    bullets = [[tokenize(bullet) for bullet in article.bullets] for _, article in documents]
    corpus_tokens = [
        title + [token for bullet in parts for token in bullet] or ["\x00empty"]
        for title, parts in zip(titles, bullets)
    ]
    retriever = build_retriever(corpus_tokens)
    vocabulary = retriever.vocab_dict
    bullet_ids = [[[vocabulary[token] for token in bullet] for bullet in parts] for parts in bullets]
    title_ids = [[[vocabulary[token] for token in title]] for title in titles]
    return Index(
        retriever, rowids, generation, tokenizer_version, BulletTokens.build(bullet_ids), BulletTokens.build(title_ids)
    )


def build_retriever(corpus_tokens: list[list[str]]):
    import bm25s

    retriever = bm25s.BM25(method=METHOD, k1=K1, b=B)
    retriever.index(corpus_tokens, show_progress=False)
    return retriever


def save_index(index: Index, folder: Path) -> None:
    """Write to a fresh folder, then swap it in, so a crash never leaves half an index.
    On any failure (a full disk) the staging folder is removed and the previous index
    stays in place; the error is raised."""
    folder = Path(folder)
    staging = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _write_index(index, staging)
        _swap_in(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    remove_leftovers(folder)


def _write_index(index: Index, staging: Path) -> None:
    staging.mkdir(parents=True)
    if index.retriever is not None:
        index.retriever.save(str(staging / "bm25s"), show_progress=False)
    np.save(staging / "rowids.npy", index.rowids)
    if index.bullets is not None:
        index.bullets.save(staging)
    if index.titles is not None:
        index.titles.save(staging, "title")
    manifest = {
        "format": FORMAT,
        "generation": index.generation,
        "tokenizer": index.tokenizer_version,
        "size": index.size,
        "files": file_checksums(staging),
    }
    (staging / MANIFEST).write_text(json.dumps(manifest))


def _swap_in(staging: Path, folder: Path) -> None:
    """Put `staging` where `folder` is; if that fails, the previous folder is put back
    unless another process saved its own there meanwhile."""
    retired = folder.with_name(f"{folder.name}.old-{os.getpid()}")
    if folder.exists():
        os.replace(folder, retired)
    try:
        os.replace(staging, folder)
    except OSError:
        if retired.exists() and not folder.exists():
            os.replace(retired, folder)
        raise
    finally:
        shutil.rmtree(retired, ignore_errors=True)  # put back, or replaced by another process's save


def remove_leftovers(folder: Path) -> None:
    """Delete staging and retired folders that a killed process left behind."""
    for leftover in folder.parent.glob(f"{folder.name}.*-*"):
        kind, _, pid = leftover.name[len(folder.name) + 1 :].partition("-")
        if kind in ("tmp", "old") and pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def load_index(folder: Path) -> Index | None:
    """The saved index, or None when there is none, it cannot be read, or it is damaged:
    its files must match the checksums in its manifest and pass `validate_index`."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        if manifest.get("format") != FORMAT:
            return None
        if manifest.get("files") != file_checksums(folder):
            raise DamagedIndex("its files do not match the checksums in its manifest")
        rowids = np.load(folder / "rowids.npy")
        retriever = None
        if manifest["size"]:
            import bm25s

            retriever = bm25s.BM25.load(str(folder / "bm25s"), mmap=False, show_progress=False)
        if len(rowids) != manifest["size"]:
            raise DamagedIndex(f"it holds {len(rowids)} documents, its manifest says {manifest['size']}")
        bullets = BulletTokens.load(folder) if manifest["size"] else None
        titles = BulletTokens.load(folder, "title") if manifest["size"] else None
        index = Index(retriever, rowids, int(manifest["generation"]), str(manifest["tokenizer"]), bullets, titles)
        validate_index(index)
        return index
    except DamagedIndex as damage:
        logger.warning("the search index at %s is damaged (%s); rebuilding it", folder, damage)
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None


def validate_index(index: Index) -> None:
    """Raise DamagedIndex unless the arrays fit together: dtypes, shapes, and every
    stored position, token id and offset within range; a search cannot then read
    outside an array or mistake one document for another."""
    size = index.size
    _check(index.rowids.ndim == 1 and index.rowids.dtype.kind == "i", "row ids are not integers")
    _check(size == 0 or bool(np.all(np.diff(index.rowids) > 0)), "row ids are not strictly ascending")
    if index.retriever is None:
        _check(size == 0 and index.bullets is None, "documents without a matrix")
        return
    matrix = index.retriever.scores
    data, indices, indptr = (np.asarray(matrix[key]) for key in ("data", "indices", "indptr"))
    _check(data.dtype.kind == "f" and indices.dtype.kind in "iu" and indptr.dtype.kind in "iu", "matrix dtypes")
    _check(data.ndim == indices.ndim == indptr.ndim == 1 and len(data) == len(indices), "matrix shapes")
    _check(matrix.get("num_docs") == size, "the matrix counts another number of documents")
    _check_offsets(indptr, len(indices), "term offsets (indptr)")
    _check(bool(np.all(np.isfinite(data))), "scores that are not finite numbers")
    _check(len(indices) == 0 or (int(indices.min()) >= 0 and int(indices.max()) < size), "document positions out of range")
    _check_vocabulary(index.retriever.vocab_dict, len(indptr) - 1)
    _check_bullets(index.bullets, size, len(indptr) - 1)
    _check_bullets(index.titles, size, len(indptr) - 1, "title")


def _check(holds: bool, what: str) -> None:
    if not holds:
        raise DamagedIndex(what)


def _check_offsets(offsets: np.ndarray, end: int, what: str) -> None:
    """Offsets into a flat array: 1-D integers from 0, never decreasing, ending at its length."""
    _check(offsets.ndim == 1 and offsets.dtype.kind in "iu" and len(offsets) >= 1, f"{what}: shape or dtype")
    _check(int(offsets[0]) == 0 and int(offsets[-1]) == end, f"{what}: do not span the array")
    _check(bool(np.all(np.diff(offsets) >= 0)), f"{what}: decreasing")


def _check_vocabulary(vocabulary: object, matrix_terms: int) -> None:
    """Words to distinct integer ids; ids up to the matrix's term count (bm25s gives "" the id
    just past the matrix)."""
    _check(isinstance(vocabulary, dict), "the vocabulary is not a mapping")
    ids = list(vocabulary.values())
    _check(all(type(word) is str for word in vocabulary), "vocabulary words that are not text")
    _check(all(type(token_id) is int for token_id in ids), "vocabulary ids that are not integers")
    _check(len(set(ids)) == len(ids), "vocabulary ids used twice")
    _check(not ids or (min(ids) >= 0 and max(ids) <= matrix_terms), "vocabulary ids past the matrix")


def _check_bullets(bullets: BulletTokens | None, size: int, matrix_terms: int, what: str = "bullet") -> None:
    _check(bullets is not None, f"per-{what} tokens are missing")
    token_ids = bullets.token_ids
    _check(token_ids.ndim == 1 and token_ids.dtype.kind in "iu", f"{what} token ids: shape or dtype")
    _check(len(token_ids) == 0 or (int(token_ids.min()) >= 0 and int(token_ids.max()) < matrix_terms), f"{what} token ids out of range")
    _check_offsets(bullets.token_starts, len(token_ids), f"{what} token offsets")
    _check_offsets(bullets.bullet_starts, len(bullets.token_starts) - 1, f"{what} offsets")
    _check(len(bullets.bullet_starts) == size + 1, f"{what} offsets for another number of documents")


def file_checksums(folder: Path) -> dict[str, str]:
    """The SHA-256 of every file of a saved index but its manifest, by path inside `folder`."""
    folder = Path(folder)
    checksums = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST):
        digest = hashlib.sha256()
        with path.open("rb") as file:
            for block in iter(lambda: file.read(CHECKSUM_BLOCK), b""):
                digest.update(block)
        checksums[path.relative_to(folder).as_posix()] = digest.hexdigest()
    return checksums
