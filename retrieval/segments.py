"""The index on disk: one folder per segment, and a manifest naming the live ones.

    <database>.index/
        briefbot.json      the manifest: format, generation, tokenizer, segments in order,
                           tombstoned rowids per segment, each file's size and checksum
        write.lock         held by the one process adding or merging segments
        s000001/           a segment's arrays (.npy, memory-mapped when read) and new words

A segment folder is written under a temporary name and renamed, then the manifest is
replaced (write, fsync, rename): a killed or failed writer leaves the previous manifest,
and folders no manifest names are removed by the next writer. Readers take no lock.

Loading checks every file's size and the checksums of the small ones, plus the shapes
and offsets that searching relies on; the big arrays are not read in full (that would
cost a second per gigabyte and bring every page into memory), so damage inside them is
found when a question fails on it, and the library rebuilds then.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import hashlib
import itertools
import json
import logging
import mmap
import multiprocessing
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .index import (
    B,
    K1,
    BulletTokens,
    DamagedIndex,
    Index,
    Segment,
    SegmentBuilder,
    Tokenize,
    Vocabulary,
    word_order,
)
from .models import Article

MANIFEST = "briefbot.json"
LOCK = "write.lock"
FORMAT = 6  # 4: one bm25s matrix; 5: segments of our own arrays; 6: each term's highest weight saved
SEGMENT_DOCUMENTS = 100_000  # a bulk build starts a new segment past this many documents (its memory)
MERGE_FACTOR = 8  # this many segments of one size class are merged into one
FULLY_CHECKED_BYTES = 4 << 20  # files up to this size have their checksum verified on load
CHECKSUM_BLOCK = 1 << 20
ARRAYS = ("rowids", "lengths", "terms", "term_starts", "docs", "weights", "max_weights")
logger = logging.getLogger(__name__)


@dataclass
class Manifest:
    """What the index holds: the segments in order and the rowids tombstoned in each."""

    generation: int
    tokenizer: str
    vocabulary_id: str
    segments: list[dict] = field(default_factory=list)
    dead: dict[str, list[int]] = field(default_factory=dict)
    next_segment: int = 1

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **self.__dict__})

    @classmethod
    def read(cls, folder: Path) -> Manifest | None:
        """The manifest in `folder`; None when there is none or it is of another format."""
        try:
            raw = json.loads((Path(folder) / MANIFEST).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(raw, dict) or raw.pop("format", None) != FORMAT:
            return None
        try:
            manifest = cls(**raw)
        except TypeError:
            return None
        return manifest

    def write(self, folder: Path) -> None:
        staging = Path(folder) / f"{MANIFEST}.tmp-{os.getpid()}"
        try:
            with staging.open("w") as file:
                file.write(self.to_json())
                file.flush()
                os.fsync(file.fileno())
            os.replace(staging, Path(folder) / MANIFEST)
        except BaseException:
            staging.unlink(missing_ok=True)
            raise

    def new_segment_name(self) -> str:
        name = f"s{self.next_segment:06d}"
        self.next_segment += 1
        return name


# --- one segment's files ------------------------------------------------------------


def save_segment(folder: Path, segment: Segment) -> dict:
    """Write `segment` into folder/<name> (under a temporary name first); its manifest entry."""
    def write(staging: Path) -> None:
        for name in ARRAYS:
            np.save(staging / f"{name}.npy", getattr(segment, name))
        for prefix, tokens in (("bullet", segment.bullets), ("title", segment.titles)):
            for name, array in zip(BulletTokens.FILES, (tokens.token_ids, tokens.token_starts, tokens.bullet_starts)):
                np.save(staging / f"{prefix}_{name}.npy", array)

    return _staged(folder, segment.name, write, segment.words, segment.first_term, segment.average_length, segment.size, segment.word_order)


def _staged(
    folder: Path,
    name: str,
    write: Callable[[Path], None],
    words: list[str],
    first_term: int,
    average_length: float,
    documents: int,
    order: np.ndarray | None = None,
) -> dict:
    """Let `write` fill a temporary folder with a segment's arrays, add its words, and move
    it to folder/<name> whole; its manifest entry. Nothing is left of a failed write."""
    target = Path(folder) / name
    staging = Path(folder) / f"{name}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
        write(staging)
        (staging / "words.json").write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
        np.save(staging / "word_order.npy", order if order is not None else word_order(words))
        files = file_checksums(staging)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {
        "name": name,
        "documents": documents,
        "first_term": first_term,
        "words": len(words),
        "average_length": average_length,
        "files": files,
    }


MERGE_CHUNK_POSTINGS = 4 << 20  # postings a merge holds in memory at once
MERGE_CHUNK_DOCUMENTS = 1 << 16  # documents whose passages a merge copies at once


def write_merged(folder: Path, name: str, group: Sequence[Segment], dead: Mapping[str, Sequence[int]], average_length: float) -> dict:
    """Write one segment holding the live documents of the adjacent segments `group`, with
    weights recomputed for `average_length`, straight to disk a slice at a time: a merge
    holds a few chunks in memory whatever the segments' sizes (merging ten segments of 100k
    documents at once took 9.9 GB when the postings were counted again from every token).
    Each posting's term frequency is read back from its stored weight and the document's length."""
    live = [~np.isin(segment.rowids, np.asarray(dead.get(segment.name, ()), dtype=np.int64)) for segment in group]
    counts = [int(mask.sum()) for mask in live]
    bases = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    new_position = []  # each segment's local position -> the merged one (-1: dead)
    for mask, base in zip(live, bases):
        where = np.cumsum(mask, dtype=np.int64) - 1 + base
        where[~mask] = -1
        new_position.append(where)
    rowids = np.concatenate([segment.rowids[mask] for segment, mask in zip(group, live)]).astype(np.int64)
    lengths = np.concatenate([segment.lengths[mask] for segment, mask in zip(group, live)]).astype(np.int32)
    # every term's live postings in each segment: dead documents' postings are dropped
    per_segment = [_live_counts(segment, positions) for segment, positions in zip(group, new_position)]
    terms = np.unique(np.concatenate([segment.terms for segment in group])).astype(np.int32)
    totals = np.zeros(len(terms), dtype=np.int64)
    for segment, held in zip(group, per_segment):
        totals[np.searchsorted(terms, segment.terms)] += held
    present = totals > 0
    terms, totals = terms[present], totals[present]
    term_starts = np.concatenate(([0], np.cumsum(totals))).astype(np.int64)
    words = [word for segment in group for word in segment.words]

    def write(staging: Path) -> None:
        np.save(staging / "rowids.npy", rowids)
        np.save(staging / "lengths.npy", lengths)
        np.save(staging / "terms.npy", terms)
        np.save(staging / "term_starts.npy", term_starts)
        highest = np.zeros(len(terms), dtype=np.float32)
        total = int(term_starts[-1])
        with _ArrayFile(staging / "docs.npy", np.int32, total) as docs, _ArrayFile(staging / "weights.npy", np.float32, total) as weights:
            for first, last in _chunks(term_starts, MERGE_CHUNK_POSTINGS):
                low, high = int(terms[first]), int(terms[last - 1])
                parts = [_postings_between(segment, positions, low, high, terms, average_length) for segment, positions in zip(group, new_position)]
                order = np.argsort(np.concatenate([part[0] for part in parts]), kind="stable")  # by term, then segment: ascending positions
                written = np.concatenate([part[2] for part in parts])[order]
                docs.write(np.concatenate([part[1] for part in parts])[order])
                weights.write(written)
                highest[first:last] = np.maximum.reduceat(written, term_starts[first:last] - term_starts[first])
        np.save(staging / "max_weights.npy", highest)
        for prefix, which in (("bullet", "bullets"), ("title", "titles")):
            _write_passages(staging, prefix, [getattr(segment, which) for segment in group], live)

    return _staged(folder, name, write, words, group[0].first_term, average_length, len(rowids))


def _live_counts(segment: Segment, positions: np.ndarray) -> np.ndarray:
    """How many postings of each of the segment's terms belong to live documents."""
    counts = np.diff(segment.term_starts).astype(np.int64)
    if bool(np.all(positions >= 0)):
        return counts
    held = np.zeros(len(counts), dtype=np.int64)
    for first, last in _chunks(segment.term_starts, MERGE_CHUNK_POSTINGS):
        start, end = int(segment.term_starts[first]), int(segment.term_starts[last])
        alive = positions[np.asarray(segment.docs[start:end])] >= 0
        term_of = np.repeat(np.arange(first, last), counts[first:last])
        held += np.bincount(term_of[alive], minlength=len(counts))
    return held


def _postings_between(
    segment: Segment, positions: np.ndarray, low: int, high: int, terms: np.ndarray, average_length: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The live postings of the segment's terms low..high: each one's place in the merged
    `terms`, its merged document position, and its weight for `average_length`."""
    first, last = np.searchsorted(segment.terms, (low, high + 1))
    start, end = int(segment.term_starts[first]), int(segment.term_starts[last])
    local = np.asarray(segment.docs[start:end])
    stored = np.asarray(segment.weights[start:end], dtype=np.float64)
    term_of = np.repeat(np.searchsorted(terms, segment.terms[first:last]), np.diff(segment.term_starts[first : last + 1]))
    merged = positions[local]
    alive = merged >= 0
    local, stored, term_of, merged = local[alive], stored[alive], term_of[alive], merged[alive]
    length = segment.lengths[local].astype(np.float64)
    written_norm = K1 * (1 - B + B * length / segment.average_length)
    frequency = np.rint(stored * written_norm / np.maximum(1 - stored, 1e-12))  # w = tf / (tf + norm)
    norm = K1 * (1 - B + B * length / average_length)
    return term_of, merged.astype(np.int32), (frequency / (frequency + norm)).astype(np.float32)


def _chunks(starts: np.ndarray, most: int) -> Iterator[tuple[int, int]]:
    """[first, last) runs of groups (group i spans starts[i]:starts[i+1]) holding about
    `most` items each; a larger group is a run of its own."""
    count = len(starts) - 1
    first = 0
    while first < count:
        last = int(np.searchsorted(starts, int(starts[first]) + most, side="right")) - 1
        last = min(max(last, first + 1), count)
        yield first, last
        first = last


def _write_passages(staging: Path, prefix: str, parts: Sequence[BulletTokens], live: Sequence[np.ndarray]) -> None:
    """The live documents' passages of every part, in a row, as one BulletTokens's files."""
    passages, tokens = 0, 0
    for tokens_of, mask in zip(parts, live):
        first, last = tokens_of.bullet_starts[:-1][mask], tokens_of.bullet_starts[1:][mask]
        passages += int((last - first).sum())
        tokens += int((tokens_of.token_starts[last] - tokens_of.token_starts[first]).sum())
    starts = np.zeros(sum(int(mask.sum()) for mask in live) + 1, dtype=np.int64)
    at_document, at_passage, at_token = 0, 0, 0
    with _ArrayFile(staging / f"{prefix}_token_ids.npy", np.int32, tokens) as token_ids, _ArrayFile(
        staging / f"{prefix}_token_starts.npy", np.int64, passages + 1
    ) as token_starts:
        token_starts.write(np.zeros(1, dtype=np.int64))
        for tokens_of, mask in zip(parts, live):
            alive = np.nonzero(mask)[0]
            for chunk in range(0, len(alive), MERGE_CHUNK_DOCUMENTS):
                ids, lengths, counts = tokens_of.many(alive[chunk : chunk + MERGE_CHUNK_DOCUMENTS])
                token_ids.write(ids)
                token_starts.write(at_token + np.cumsum(lengths, dtype=np.int64))
                starts[at_document + 1 : at_document + 1 + len(counts)] = at_passage + np.cumsum(counts)
                at_document, at_passage, at_token = at_document + len(counts), at_passage + len(lengths), at_token + len(ids)
    np.save(staging / f"{prefix}_starts.npy", starts)


class _ArrayFile:
    """A 1-D .npy file written front to back, a chunk at a time. A failed write (a full disk)
    raises OSError: writing through a memory map would kill the process instead."""

    def __init__(self, path: Path, dtype, length: int) -> None:
        self.dtype, self.left = np.dtype(dtype), length
        self.file = open(path, "wb")
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": (length,)}
        np.lib.format.write_array_header_1_0(self.file, header)

    def write(self, values: np.ndarray) -> None:
        values = np.ascontiguousarray(values, dtype=self.dtype)
        self.left -= len(values)
        self.file.write(values.tobytes())

    def __enter__(self) -> _ArrayFile:
        return self

    def __exit__(self, kind, *_) -> None:
        self.file.close()
        if kind is None and self.left != 0:
            raise ValueError(f"{self.file.name}: {self.left} values short of its header")


class OnDisk:
    """A large 1-D array of an .npy file, read with pread when sliced: what a question reads
    is copied out and freed with it, so a serving process's memory stays at what its
    questions need now (mapped pages would stay resident, and the kernel maps them in 64 KB
    or more around each page read). The file stays readable after a merge deletes it."""

    ndim = 1

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as file:
            version = np.lib.format.read_magic(file)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, self.dtype = read_header(file)
            self.offset = file.tell()
        if len(shape) != 1 or fortran or self.dtype.hasobject:
            raise DamagedIndex(f"{path.name}: not a flat array")
        self.shape = shape
        self._fd = os.open(path, os.O_RDONLY)

    def __len__(self) -> int:
        return self.shape[0]

    def __del__(self) -> None:
        with contextlib.suppress(AttributeError, OSError):
            os.close(self._fd)

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                raise IndexError("only contiguous slices are read from disk")
            return self._read(start, stop)
        if isinstance(key, (int, np.integer)):
            key = int(key) + (len(self) if key < 0 else 0)
            if not 0 <= key < len(self):
                raise IndexError(f"index {key} out of range")
            return self._read(key, key + 1)[0]
        raise IndexError("read slices from disk, not arbitrary positions")

    def _read(self, start: int, stop: int) -> np.ndarray:
        stop = max(start, min(stop, len(self)))
        size = self.dtype.itemsize
        data = os.pread(self._fd, (stop - start) * size, self.offset + start * size)
        if len(data) != (stop - start) * size:
            raise IndexError("the file is shorter than its header says")
        return np.frombuffer(data, dtype=self.dtype)

    def read_ranges(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """self[starts[0]:ends[0]], self[starts[1]:ends[1]], ... in a row; adjacent ranges in one read."""
        starts, ends = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
        if len(starts) == 0:
            return np.zeros(0, dtype=self.dtype)
        if np.any(starts < 0) or np.any(ends > len(self)) or np.any(ends < starts):
            raise IndexError("ranges outside the array")
        breaks = np.nonzero(starts[1:] != ends[:-1])[0] + 1
        run_starts = starts[np.concatenate(([0], breaks))]
        run_ends = ends[np.concatenate((breaks - 1, [len(ends) - 1]))]
        return np.concatenate([self._read(int(a), int(b)) for a, b in zip(run_starts, run_ends)])


ON_DISK = ("docs", "weights", "bullet_token_ids")  # the large arrays questions read a little of


def load_segment(folder: Path, entry: dict) -> Segment:
    """A segment's arrays, the large ones read on demand and the rest memory-mapped, after
    the checks of the module docstring."""
    where = Path(folder) / entry["name"]
    expected = entry["files"]
    for name, (size, checksum) in expected.items():
        path = where / name
        if path.stat().st_size != size:
            raise DamagedIndex(f"{entry['name']}/{name} is {path.stat().st_size} bytes, its manifest says {size}")
        if size <= FULLY_CHECKED_BYTES and _checksum(path) != checksum:
            raise DamagedIndex(f"{entry['name']}/{name} does not match the checksum in the manifest")

    def array(name: str) -> np.ndarray:
        if name in ON_DISK and expected[f"{name}.npy"][0] > FULLY_CHECKED_BYTES:
            return OnDisk(where / f"{name}.npy")
        mapped = np.load(where / f"{name}.npy", mmap_mode="r")
        with contextlib.suppress(AttributeError, OSError, ValueError):
            mapped._mmap.madvise(mmap.MADV_RANDOM)  # no read-ahead: questions read scattered slices
        return mapped.view(np.ndarray)

    tokens = [BulletTokens(*(array(f"{prefix}_{name}") for name in BulletTokens.FILES)) for prefix in ("bullet", "title")]
    words = json.loads((where / "words.json").read_text(encoding="utf-8"))
    order = array("word_order") if "word_order.npy" in expected else None  # segments saved before it had none
    rowids, lengths, terms, term_starts, docs, weights, max_weights = (array(name) for name in ARRAYS)
    segment = Segment(
        entry["name"],
        rowids,
        lengths,
        terms,
        term_starts,
        docs,
        weights,
        tokens[0],
        tokens[1],
        int(entry["first_term"]),
        words,
        float(entry["average_length"]),
        max_weights,
        order,
    )
    validate_segment(segment, entry)
    if all(size <= FULLY_CHECKED_BYTES for size, _ in expected.values()):
        validate_contents(segment)  # small enough to read whole: every position and id too
    return segment


def validate_segment(segment: Segment, entry: dict) -> None:
    """Raise DamagedIndex unless the arrays fit together: dtypes, shapes, and offsets that
    span what they index. Positions and ids inside the large arrays are not read here."""
    size = segment.size
    _check(isinstance(segment.words, list) and set(map(type, segment.words)) <= {str}, "words that are not text")
    order = segment.word_order
    if order is not None:
        _check(order.shape == (len(segment.words),) and order.dtype.kind == "i", "word order: shape or dtype")
    _check(len(segment.words) == entry["words"] and size == entry["documents"], "counts other than the manifest's")
    _check(segment.rowids.ndim == 1 and segment.rowids.dtype.kind == "i", "row ids are not integers")
    _check(size < 2 or bool(np.all(np.diff(segment.rowids) > 0)), "row ids are not strictly ascending")
    _check(segment.lengths.shape == (size,) and segment.lengths.dtype.kind == "i", "document lengths")
    _check(segment.weights.dtype.kind == "f" and segment.docs.dtype.kind == "i", "posting dtypes")
    _check(segment.docs.ndim == segment.weights.ndim == 1 and len(segment.docs) == len(segment.weights), "posting shapes")
    _check(segment.terms.ndim == 1 and segment.terms.dtype.kind == "i", "term ids: shape or dtype")
    _check(segment.max_weights.shape == segment.terms.shape, "highest weights for another number of terms")
    _check(len(segment.term_starts) == len(segment.terms) + 1, "term offsets for another number of terms")
    _check_offsets(segment.term_starts, len(segment.docs), "term offsets")
    _check(len(segment.terms) < 2 or bool(np.all(np.diff(segment.terms) > 0)), "term ids are not strictly ascending")
    _check(
        len(segment.terms) == 0 or (int(segment.terms[0]) >= 0 and int(segment.terms[-1]) < segment.term_end),
        "term ids past the vocabulary",
    )
    for what, tokens in (("bullet", segment.bullets), ("title", segment.titles)):
        _check(tokens.token_ids.ndim == 1 and tokens.token_ids.dtype.kind == "i", f"{what} token ids: shape or dtype")
        _check_offsets(tokens.token_starts, len(tokens.token_ids), f"{what} token offsets")
        _check_offsets(tokens.bullet_starts, len(tokens.token_starts) - 1, f"{what} offsets")
        _check(len(tokens.bullet_starts) == size + 1, f"{what} offsets for another number of documents")


def validate_contents(segment: Segment) -> None:
    """Raise DamagedIndex unless every stored position and token id is within range."""
    def within(array: np.ndarray, end: int) -> bool:
        return len(array) == 0 or (int(array.min()) >= 0 and int(array.max()) < end)

    _check(within(segment.docs, segment.size), "document positions out of range")
    _check(bool(np.all(np.isfinite(segment.weights))), "scores that are not finite numbers")
    for what, tokens in (("bullet", segment.bullets), ("title", segment.titles)):
        _check(within(tokens.token_ids, segment.term_end), f"{what} token ids out of range")
    if segment.word_order is not None:
        order = segment.word_order
        _check(within(order, len(segment.words)) and bool(np.all(np.bincount(order, minlength=len(segment.words)) == 1)), "word order: not each word once")


def _check(holds: bool, what: str) -> None:
    if not holds:
        raise DamagedIndex(what)


def _check_offsets(offsets: np.ndarray, end: int, what: str) -> None:
    """Offsets into a flat array: 1-D integers from 0, never decreasing, ending at its length.
    A large array's are checked at its ends only (reading millions at every start would cost
    more than the start itself); reading a range that runs backwards fails the question instead."""
    _check(offsets.ndim == 1 and offsets.dtype.kind in "iu" and len(offsets) >= 1, f"{what}: shape or dtype")
    _check(int(offsets[0]) == 0 and int(offsets[-1]) == end, f"{what}: do not span the array")
    if offsets.nbytes <= FULLY_CHECKED_BYTES:
        _check(bool(np.all(np.diff(offsets) >= 0)), f"{what}: decreasing")


def _checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(CHECKSUM_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def file_checksums(folder: Path) -> dict[str, list]:
    """[size, SHA-256] of every file in a segment folder, by name."""
    return {path.name: [path.stat().st_size, _checksum(path)] for path in sorted(Path(folder).iterdir()) if path.is_file()}


# --- views ----------------------------------------------------------------------------


def load_index(folder: Path, previous: Index | None = None) -> Index | None:
    """The index the manifest describes; None when there is none or it is of another format.
    Segments and the vocabulary of `previous` are reused where the manifest still names them.
    Raises DamagedIndex when a file does not match the manifest or the arrays do not fit."""
    folder = Path(folder)
    manifest = Manifest.read(folder)
    if manifest is None:
        return None
    if previous is not None and _describes(manifest, previous):
        return previous  # nothing new: no view is built again on each look while a writer works
    known = {s.name: s for s in previous.segments} if previous is not None else {}
    try:
        segments = [
            known[entry["name"]] if entry["name"] in known else load_segment(folder, entry)
            for entry in manifest.segments
        ]
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, DamagedIndex):
            raise
        raise DamagedIndex(f"unreadable: {error}") from None
    vocabulary = _vocabulary(manifest, segments, previous)
    return Index(segments, vocabulary, manifest.generation, manifest.tokenizer, _dead(manifest))


def _describes(manifest: Manifest, view: Index) -> bool:
    """Whether `view` is what the manifest names: its generation, tokenizer and segments."""
    return (
        manifest.generation == view.generation
        and manifest.tokenizer == view.tokenizer_version
        and [entry["name"] for entry in manifest.segments] == [segment.name for segment in view.segments]
    )


def _dead(manifest: Manifest) -> dict[str, np.ndarray]:
    return {name: np.asarray(rowids, dtype=np.int64) for name, rowids in manifest.dead.items()}


def _vocabulary(manifest: Manifest, segments: list[Segment], previous: Index | None) -> Vocabulary:
    """The previous view's vocabulary grown by the new segments' words, when it is the same
    vocabulary and ends where one of the segments ends; else one read from all segments."""
    expected = 0
    for segment in segments:
        _check(segment.first_term == expected, "segments whose words do not follow each other")
        expected = segment.term_end
    vocabulary = previous.vocabulary if previous is not None else None
    if vocabulary is None or vocabulary.identity != manifest.vocabulary_id:
        vocabulary = None
    elif len(vocabulary) > expected or (len(vocabulary) and all(s.term_end != len(vocabulary) for s in segments)):
        vocabulary = None
    if vocabulary is None:
        vocabulary = Vocabulary(manifest.vocabulary_id)
    for segment in segments:
        if segment.term_end > len(vocabulary):
            vocabulary.extend(segment.words, segment.word_order)
    return vocabulary


@contextlib.contextmanager
def write_lock(folder: Path, wait: bool = True) -> Iterator[bool]:
    """Hold the index's write lock; with wait=False, yield False at once if another holds it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOCK).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- growing --------------------------------------------------------------------------


@dataclass
class Update:
    """What `add_changes` made: the new view, and whether it reached the disk."""

    index: Index
    saved: bool
    rebuilt: bool = False
    error: OSError | None = None


def add_changes(
    folder: Path,
    changes_since: Callable[[int], Iterable[tuple[int, Article]]],
    generation: int,
    tokenize: Tokenize,
    tokenizer_version: str,
    previous: Index | None = None,
    fresh: bool = False,
) -> Update:
    """Index the articles written after the saved index's generation, up to `generation`
    (`changes_since(saved generation)` yields them), as new segments; tombstone the older
    copies of replaced articles; save; merge small segments. Without a usable saved index
    (or with `fresh`) the index is built anew from changes_since(0). The caller holds the
    write lock.

    If the disk refuses the new segment (full, read-only), the view is still returned, built
    in memory, with saved=False and the error; the saved index stays as it was."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = Manifest.read(folder)
    base = None
    if manifest is not None and manifest.tokenizer == tokenizer_version and not fresh:
        try:
            base = load_index(folder, previous)
        except (DamagedIndex, OSError):
            base = None
    if base is None:
        manifest = Manifest(0, tokenizer_version, uuid.uuid4().hex, next_segment=manifest.next_segment if manifest else 1)
        base = Index([], Vocabulary(manifest.vocabulary_id), 0, tokenizer_version)
    dead = {name: list(rowids) for name, rowids in manifest.dead.items()}
    written = _Written(folder, manifest)
    builder = SegmentBuilder(base.vocabulary, tokenize)
    documents, tokens = base.documents, base.total_length()
    changes = changes_since(base.generation)
    for rowid, title, bullets in tokenized(changes, tokenize, workers=BUILD_WORKERS if not base.segments else 1):
        position = base.position(rowid)
        if position is not None:
            owner = base.segments[int(np.searchsorted(base.bases, position, side="right")) - 1]
            dead.setdefault(owner.name, []).append(rowid)
            documents -= 1  # its length stays in the average until a merge
        builder.add_tokens(rowid, title, bullets)
        if len(builder) >= SEGMENT_DOCUMENTS:
            documents, tokens = written.add(builder, documents, tokens)
            builder = SegmentBuilder(base.vocabulary, tokenize)
    if len(builder):
        written.add(builder, documents, tokens)
    view = Index(base.segments + written.segments, base.vocabulary, generation, tokenizer_version, dead)
    try:
        if written.error is not None:
            raise written.error
        manifest.segments = manifest.segments + written.entries if base.segments else written.entries
        manifest.generation, manifest.dead = generation, {k: v for k, v in dead.items() if v}
        manifest.write(folder)
    except OSError as error:
        written.remove()
        return Update(view, False, not base.segments, error)
    view = _merge_small(folder, manifest, view)
    remove_unnamed(folder, manifest)
    return Update(view, True, not base.segments)


def tokenized(
    changes: Iterable[tuple[int, Article]], tokenize: Tokenize, workers: int = 1
) -> Iterator[tuple[int, list[str], list[list[str]]]]:
    """(rowid, title tokens, each bullet's tokens) of each article, in order. With several
    workers, batches are tokenized in child processes, a few batches ahead at most, so a
    build from a large database reads it as it goes and uses every core."""
    if multiprocessing.current_process().daemon:
        workers = 1  # a daemonic process may not start children
    changes = iter(changes)
    for rowid, article in itertools.islice(changes, PARALLEL_AFTER if workers > 1 else None):
        yield rowid, tokenize(article.title), [tokenize(bullet) for bullet in article.bullets]
    if workers <= 1:
        return
    pending: collections.deque = collections.deque()
    batches = _batches(((rowid, article.title, article.bullets) for rowid, article in changes), TOKENIZE_BATCH)
    with multiprocessing.get_context("spawn").Pool(workers, initializer=_set_tokenizer, initargs=(tokenize,)) as pool:
        for batch in batches:
            pending.append(pool.apply_async(_tokenize_batch, (batch,)))
            if len(pending) >= 2 * workers:
                yield from pending.popleft().get()
        while pending:
            yield from pending.popleft().get()


TOKENIZE_BATCH = 500
PARALLEL_AFTER = 5_000  # starting worker processes costs a second or two: not for small builds
BUILD_WORKERS = max(1, min(os.cpu_count() or 1, 4))  # a first build only; an ingest leaves the cores to questions
_WORKER_TOKENIZE: list[Tokenize] = []


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _set_tokenizer(tokenize: Tokenize) -> None:
    _WORKER_TOKENIZE[:] = [tokenize]


def _tokenize_batch(batch: list[tuple[int, str, tuple[str, ...]]]) -> list[tuple[int, list[str], list[list[str]]]]:
    tokenize = _WORKER_TOKENIZE[0]
    return [(rowid, tokenize(title), [tokenize(bullet) for bullet in bullets]) for rowid, title, bullets in batch]


class _Written:
    """The segments an update makes, each saved as soon as it is full and read back from disk,
    so a build holds one segment's arrays in memory at a time. After the disk refuses one, the
    rest stay in memory (the caller serves them and saves nothing)."""

    def __init__(self, folder: Path, manifest: Manifest) -> None:
        self.folder, self.manifest = folder, manifest
        self.segments: list[Segment] = []
        self.entries: list[dict] = []
        self.error: OSError | None = None

    def add(self, builder: SegmentBuilder, documents: int, tokens: int) -> tuple[int, int]:
        """Finish the builder's segment (weights with the average length including it) and save it."""
        documents += len(builder)
        tokens += builder.token_count()
        segment = builder.finish(self.manifest.new_segment_name(), tokens / max(documents, 1) or 1.0)
        if self.error is None:
            try:
                entry = save_segment(self.folder, segment)
                segment = load_segment(self.folder, entry)
                self.entries.append(entry)
            except OSError as error:
                self.error = error
        self.segments.append(segment)
        return documents, tokens

    def remove(self) -> None:
        for entry in self.entries:
            shutil.rmtree(self.folder / entry["name"], ignore_errors=True)


def merge_plan(sizes: list[int]) -> tuple[int, int] | None:
    """[start, end) of adjacent segments to merge: a run of MERGE_FACTOR or more of one size
    class (powers of MERGE_FACTOR), newest first. Segments of any size are merged: a merge
    streams, so its memory does not grow with theirs, and every segment a question reads
    costs it time (at 1M articles one segment answered in about two thirds of the time ten did)."""
    def size_class(size: int) -> int:
        return int(np.log(max(size, 1)) / np.log(MERGE_FACTOR))

    end = len(sizes)
    while end > 0:
        start = end - 1
        while start > 0 and size_class(sizes[start - 1]) == size_class(sizes[end - 1]):
            start -= 1
        if end - start >= MERGE_FACTOR:
            return start, end
        end = start
    return None


def _merge_small(folder: Path, manifest: Manifest, view: Index) -> Index:
    """Merge runs of small segments while the policy finds one; a failed merge changes nothing."""
    while (plan := merge_plan([segment.size for segment in view.segments])) is not None:
        start, end = plan
        group = view.segments[start:end]
        name = manifest.new_segment_name()
        try:
            entry = write_merged(folder, name, group, view.dead, view.total_length() / max(view.documents, 1) or 1.0)
            merged = load_segment(folder, entry)
            names = {segment.name for segment in group}
            manifest.segments = manifest.segments[:start] + [entry] + manifest.segments[end:]
            manifest.dead = {name: rowids for name, rowids in manifest.dead.items() if name not in names}
            manifest.write(folder)
        except OSError as error:
            shutil.rmtree(folder / name, ignore_errors=True)
            logger.warning("could not merge index segments in %s (%s); they stay as they are", folder, error)
            return view
        view = Index(view.segments[:start] + [merged] + view.segments[end:], view.vocabulary, view.generation, view.tokenizer_version, _dead(manifest))
    return view


PRELOAD_CHUNK = 4 << 20


def preload(folder: Path, names: Iterable[str]) -> int:
    """Ask the kernel to read the named segments' files into its page cache, as a search
    server preloads its index, so that the first questions after a start do not each wait
    on the disk for the lists they read (at 1M articles a question on a cold cache took
    about three times as long). Nothing is read into this process, whose memory stays as it
    was; the kernel reads in the background and may drop the pages again under pressure or
    when they go unused. Returns the bytes asked for; 0 where the call does not exist."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return 0
    asked = 0
    for name in names:
        for path in sorted((Path(folder) / name).glob("*.npy")):
            with contextlib.suppress(OSError):  # a segment merged away meanwhile: nothing to read
                handle = os.open(path, os.O_RDONLY)
                try:
                    size = os.fstat(handle).st_size
                    for start in range(0, size, PRELOAD_CHUNK):  # the kernel reads at most a few MB a call
                        advise(handle, start, min(PRELOAD_CHUNK, size - start), os.POSIX_FADV_WILLNEED)
                    asked += size
                finally:
                    os.close(handle)
    return asked


def remove_unnamed(folder: Path, manifest: Manifest) -> None:
    """Delete what the manifest does not name: merged-away segments, a killed writer's
    folders, an older format's files. Readers that mapped them keep their mappings."""
    keep = {entry["name"] for entry in manifest.segments} | {MANIFEST, LOCK}
    for path in Path(folder).iterdir():
        if path.name in keep:
            continue
        if path.name.startswith(f"{MANIFEST}.tmp-") and _writer_alive(path.name):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _writer_alive(name: str) -> bool:
    pid = name.rsplit("-", 1)[-1]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
