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

Tokenize = Callable[[str], list[str]]


def article_text(article: Article) -> str:
    """What the index reads of an article: its title and every bullet."""
    return "\n".join((article.title, *article.bullets))


@dataclass
class Index:
    """A bm25s retriever plus the database rowid of each indexed document."""

    retriever: object | None
    rowids: np.ndarray
    generation: int
    tokenizer_version: str

    @property
    def size(self) -> int:
        return len(self.rowids)

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
    """Tokenize and index (rowid, article) pairs."""
    rowids = np.array([rowid for rowid, _ in documents], dtype=np.int64)
    if not documents:
        return Index(None, rowids, generation, tokenizer_version)
    corpus_tokens = [tokenize(article_text(article)) or ["\x00empty"] for _, article in documents]
    return Index(build_retriever(corpus_tokens), rowids, generation, tokenizer_version)


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
    manifest = {"generation": index.generation, "tokenizer": index.tokenizer_version, "size": index.size}
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
        if len(rowids) != manifest["size"]:
            return None
        return Index(retriever, rowids, int(manifest["generation"]), str(manifest["tokenizer"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
