"""The BM25 index over articles (bm25s), saved beside the database and reloaded."""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .models import Article

K1, B = 1.2, 0.75
METHOD = "lucene"
MANIFEST = "briefbot.json"
FORMAT = 2  # 2: per-bullet token ids saved beside the bm25s matrix

Tokenize = Callable[[str], list[str]]


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

    def of(self, position: int) -> list[list[int]]:
        """The token ids of each bullet of the document at `position`."""
        first, last = (int(x) for x in self.bullet_starts[position : position + 2])
        bounds = self.token_starts[first : last + 1].tolist()
        ids = self.token_ids[bounds[0] : bounds[-1]].tolist()
        base = bounds[0]
        return [ids[start - base : end - base] for start, end in zip(bounds, bounds[1:])]

    FILES = ("bullet_token_ids.npy", "bullet_token_starts.npy", "bullet_starts.npy")

    def save(self, folder: Path) -> None:
        for name, array in zip(self.FILES, (self.token_ids, self.token_starts, self.bullet_starts)):
            np.save(folder / name, array)

    @classmethod
    def load(cls, folder: Path) -> BulletTokens:
        # memory-mapped, so start-up reads nothing; viewed as plain arrays, so slicing is cheap
        return cls(*(np.load(folder / name, mmap_mode="r").view(np.ndarray) for name in cls.FILES))


@dataclass
class Index:
    """A bm25s retriever plus the database rowid of each indexed document."""

    retriever: object | None
    rowids: np.ndarray
    generation: int
    tokenizer_version: str
    bullets: BulletTokens | None = None
    _vocabulary: list[str] | None = None

    @property
    def size(self) -> int:
        return len(self.rowids)

    def bullet_tokens(self, rowid: int | None) -> tuple[list[str], ...] | None:
        """The tokens of each bullet of the article at `rowid`, as indexed; None if unknown."""
        if self.bullets is None or rowid is None or self.size == 0:
            return None
        position = int(np.searchsorted(self.rowids, rowid))
        if position >= self.size or self.rowids[position] != rowid:
            return None
        vocabulary = self._words()
        return tuple([vocabulary[i] for i in ids] for ids in self.bullets.of(position))

    def _words(self) -> list[str]:
        if self._vocabulary is None:
            words = [""] * len(self.retriever.vocab_dict)
            for word, token_id in self.retriever.vocab_dict.items():
                words[token_id] = word
            self._vocabulary = words
        return self._vocabulary

    def token_id(self, token: str) -> int | None:
        if self.retriever is None:
            return None
        return self.retriever.vocab_dict.get(token)

    def document_frequency(self, token: str) -> int:
        token_id = self.token_id(token)
        if token_id is None:
            return 0
        indptr = self.retriever.scores["indptr"]
        return int(indptr[token_id + 1] - indptr[token_id])

    def idf(self, token: str) -> float:
        """Lucene's BM25 idf, the one the index scores with; 0 for unknown tokens."""
        df = self.document_frequency(token)
        if df == 0:
            return 0.0
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def scores(self, weights: Mapping[str, float]) -> np.ndarray:
        """BM25 score of every document for a weighted bag of query tokens."""
        total = np.zeros(self.size, dtype=np.float32)
        if self.retriever is None:
            return total
        matrix = self.retriever.scores
        data, indices, indptr = matrix["data"], matrix["indices"], matrix["indptr"]
        for token, weight in weights.items():
            token_id = self.token_id(token)
            if token_id is None or weight == 0:
                continue
            start, end = indptr[token_id], indptr[token_id + 1]
            total[indices[start:end]] += weight * data[start:end]
        return total


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
    return Index(retriever, rowids, generation, tokenizer_version, BulletTokens.build(bullet_ids))


def build_retriever(corpus_tokens: list[list[str]]):
    import bm25s

    retriever = bm25s.BM25(method=METHOD, k1=K1, b=B)
    retriever.index(corpus_tokens, show_progress=False)
    return retriever


def save_index(index: Index, folder: Path) -> None:
    """Write to a fresh folder, then swap it in, so a crash never leaves half an index."""
    folder = Path(folder)
    staging = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if index.retriever is not None:
        index.retriever.save(str(staging / "bm25s"), show_progress=False)
    np.save(staging / "rowids.npy", index.rowids)
    if index.bullets is not None:
        index.bullets.save(staging)
    manifest = {
        "format": FORMAT,
        "generation": index.generation,
        "tokenizer": index.tokenizer_version,
        "size": index.size,
    }
    (staging / MANIFEST).write_text(json.dumps(manifest))
    retired = folder.with_name(f"{folder.name}.old-{os.getpid()}")
    if folder.exists():
        os.replace(folder, retired)
    os.replace(staging, folder)
    shutil.rmtree(retired, ignore_errors=True)
    remove_leftovers(folder)


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
    """The saved index, or None when there is none or it cannot be read."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        rowids = np.load(folder / "rowids.npy")
        retriever = None
        if manifest["size"]:
            import bm25s

            retriever = bm25s.BM25.load(str(folder / "bm25s"), mmap=False, show_progress=False)
        if len(rowids) != manifest["size"] or manifest.get("format") != FORMAT:
            return None
        bullets = BulletTokens.load(folder) if manifest["size"] else None
        return Index(retriever, rowids, int(manifest["generation"]), str(manifest["tokenizer"]), bullets)
    except (OSError, ValueError, KeyError, TypeError):
        return None
