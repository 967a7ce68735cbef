"""Article storage: articles, their topic links and a generation counter, behind one interface
(`ArticleStore`) with two backends. SQLite, here, is the zero-configuration default: a file.
PostgreSQL (`store_postgres`) is chosen by a postgresql:// URL, where several workers share
one database. `open_store` picks the backend from what it is given."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

import sqlite_utils

from .errors import StoreError
from .models import Article
from .transaction import write_transaction

PAGE_CACHE_KIB = 64 * 1024
BUSY_TIMEOUT_SECONDS = 30
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
NO_LATER_GENERATION = 1 << 62  # changed_since's bound when none is given


@dataclass(frozen=True)
class IngestCounts:
    """How many articles an ingest added and how many it already had; of those it had,
    `updated` came with a longer body than the stored one, which they replaced."""

    new: int
    known: int
    topics_added: int = 0
    updated: int = 0


@dataclass(frozen=True)
class TopicSummary:
    topic: str
    articles: int
    first: date
    last: date


class ArticleStore(Protocol):
    """What retrieval reads and writes, the same on every backend. A store is shared by the
    threads of a process. "rowid" is an article's stable integer id (SQLite's rowid, a
    PostgreSQL identity column): the search index refers to articles by it."""

    location: str  # the file or URL, as shown to people (never with a password)
    index_folder: Path  # where this process keeps its search index for this database
    migrations_applied: list[str]  # what opening this store brought up to date, in order

    def schema_version(self) -> int:
        """How many of the backend's migrations the database has had."""

    def save_articles(self, articles: Iterable[Article]) -> IngestCounts:
        """Insert articles and topic links in one transaction. An article already stored is
        kept, unless this copy's body is longer (the stored one was cut short): then its
        bullets and body length are replaced and it counts as `updated`. Anything new or
        replaced gets version = the new generation, which is bumped once if anything changed."""

    def generation(self) -> int:
        """A counter bumped by every write that changes what can be searched."""

    def count_articles(self) -> int: ...

    def all_articles(self) -> list[tuple[int, Article]]:
        """Every article with its rowid, in rowid order."""

    def changed_since(
        self, generation: int, upto: int | None = None, batch: int = 1000
    ) -> Iterator[tuple[int, Article]]:
        """Each article written after `generation` and up to `upto` (added, or replaced by a
        fuller copy) with its rowid, in rowid order, read a batch at a time from one snapshot.
        Without topics: the index does not read them."""

    def count_changed_since(self, generation: int) -> int:
        """How many articles were written after `generation`."""

    def articles_by_rowid(self, rowids: Sequence[int]) -> dict[int, Article]: ...

    def headers_by_rowid(self, rowids: Sequence[int]) -> dict[int, Article]:
        """Title, source and time of each article, without its bullets or topics: enough to
        tell repeated stories apart before reading the few articles that are shown."""

    def days_by_rowid(self, rowids: Sequence[int]) -> dict[int, date]:
        """The day of each article, without reading the articles."""

    def rowids_between(self, start: date | None, end: date | None, limit: int | None = None) -> list[int]:
        """The rowids of articles whose day is within [start, end] (either may be open),
        newest day first (ties: newest rowid first), through the day index."""

    def articles_between(
        self, start: date | None, end: date | None, topic: str | None = None, limit: int | None = None
    ) -> list[Article]:
        """Articles whose day is within [start, end] (either may be open), newest first."""

    def topic_summaries(self) -> list[TopicSummary]:
        """Each topic with its article count and first and last day, most articles first
        (ties by topic in code-point order)."""

    def newest_day(self, topic: str | None = None) -> date | None:
        """The newest article's day, over everything or within one topic."""

    def newest_in_topic(self, topic: str, count: int) -> list[tuple[int, str]]:
        """(rowid, uid) of the topic's `count` newest articles, newest first."""

    def topic_cursor(self) -> int:
        """The id of the newest topic link (0 when there is none): links only grow past it."""

    def linked_since(self, topic: str, cursor: int) -> list[tuple[int, str]]:
        """(rowid, uid) of every article linked to the topic after link `cursor`, newest first."""

    def backup(self, target: str | Path) -> Path:
        """Write a copy of the live database to `target` (a new file) while others go on."""

    def close(self) -> None: ...


def is_postgres_url(target: str | Path | None) -> bool:
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def data_folder() -> Path:
    """The per-user data folder: $XDG_DATA_HOME/briefbot or ~/.local/share/briefbot."""
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "briefbot"


def location(target: str | Path | None = None) -> str | Path:
    """What `target` names, else $BRIEFBOT_DB, else briefbot.db in the data folder:
    a PostgreSQL URL as given, a file as a Path."""
    target = target or os.environ.get("BRIEFBOT_DB") or None
    if target is None:
        return data_folder() / "briefbot.db"
    return str(target) if is_postgres_url(str(target)) else Path(target).expanduser()


def open_store(target: str | Path | None = None) -> ArticleStore:
    """The store `target` names (see `location`), its migrations applied."""
    where = location(target)
    if isinstance(where, str):
        from .store_postgres import PostgresStore  # psycopg loads only for PostgreSQL

        return PostgresStore(where)
    return SqliteStore(where)


def merge_duplicates(articles: Iterable[Article]) -> list[Article]:
    """The same article from two files is one article with both topics, and the longer body."""
    merged: dict[str, Article] = {}
    for article in articles:
        seen = merged.get(article.uid)
        if seen is None:
            merged[article.uid] = article
        else:
            topics = tuple(dict.fromkeys(seen.topics + article.topics))
            fuller = article if len(article.body) > len(seen.body) else seen
            merged[article.uid] = Article(seen.title, seen.source, seen.published, fuller.bullets, topics, fuller.body)
    return list(merged.values())


def between_clauses(
    start: date | None, end: date | None, topic: str | None, mark: str, day: Callable[[date], object]
) -> tuple[str, list]:
    """articles_between's WHERE (or nothing) and its parameters, with the backend's placeholder
    `mark` and its way of passing a day."""
    clauses, params = [], []
    if start:
        clauses.append(f"a.day >= {mark}")
        params.append(day(start))
    if end:
        clauses.append(f"a.day <= {mark}")
        params.append(day(end))
    if topic and clauses:  # a window: its days' rows, each looked up in the topic (a big topic is not listed whole)
        clauses.append(f"EXISTS (SELECT 1 FROM article_topics t WHERE t.uid = a.uid AND t.topic = {mark})")
        params.append(topic)
    elif topic:  # no window: the topic's rows, looked up (a small topic is not found by scanning everything)
        clauses.append(f"a.uid IN (SELECT uid FROM article_topics WHERE topic = {mark})")
        params.append(topic)
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), params


def write_new_file(target: str | Path, write: Callable[[Path], None]) -> Path:
    """Call write(partial) for a file beside `target`, then rename it into place, so a
    failed copy leaves nothing behind. Refuses to overwrite an existing file."""
    target = Path(target)
    if target.exists():
        raise StoreError(f"{target} already exists; choose a new file name")
    partial = target.with_name(target.name + ".partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write(partial)
        os.replace(partial, target)
    except (OSError, sqlite3.Error, StoreError) as error:
        with contextlib.suppress(OSError):  # on a read-only file system even this fails
            partial.unlink(missing_ok=True)
        raise StoreError(f"backup to {target} failed: {_unwritable(target.parent) or error}") from None
    return target


def _unwritable(folder: Path) -> str | None:
    """Why nothing can be written in `folder`, when that is the reason."""
    with contextlib.suppress(OSError):
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"{folder} is on a read-only file system"
    return None


# SQLite ---------------------------------------------------------------------------------


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) a SQLite database in WAL mode with a busy timeout, its
    migrations applied."""
    return _open_db(Path(path))[0]


def _open_db(path: Path) -> tuple[sqlite_utils.Database, list[str]]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)
        db = sqlite_utils.Database(conn, execute_plugins=False)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
        if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")  # answers read scattered rows
        applied = ensure_schema(db)
    except sqlite3.DatabaseError as error:
        raise StoreError(f"cannot open database {path}: {error}") from None
    except OSError as error:
        raise StoreError(f"cannot create database folder {path.parent}: {error.strerror}") from None
    return db, applied


def ensure_schema(db: sqlite_utils.Database) -> list[str]:
    """Bring the schema to the newest version and say which migrations that took. On a
    database that has it this only reads, so opening never waits for a writer; otherwise
    the missing migrations are applied, each once, holding the write lock (another process
    may have applied them meanwhile)."""
    applied = []
    if schema_version(db) < len(MIGRATIONS):
        with write_transaction(db):
            applied = apply_migrations(MIGRATIONS, db, schema_version(db), "?")
    return applied


def apply_migrations(migrations: Sequence[Callable], db, current: int, mark: str) -> list[str]:
    """Apply migrations[current:] to `db` (a connection of either backend, in a transaction),
    recording each version in meta; `mark` is the backend's placeholder. Returns their names."""
    applied = []
    for version in range(current, len(migrations)):
        migrations[version](db)
        db.execute(
            f"INSERT INTO meta (key, value) VALUES ('schema', {mark}) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [str(version + 1)],
        )
        applied.append(migration_name(migrations[version]))
    return applied


def migration_name(migration: Callable) -> str:
    """A migration as `briefbot migrate` lists it: the first line of its docstring."""
    return (migration.__doc__ or migration.__name__).strip().splitlines()[0]


def schema_version(db: sqlite_utils.Database) -> int:
    """How many of MIGRATIONS the database has had: 0 for a new file."""
    if not db["meta"].exists():
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    if row:
        return int(row[0])
    return 1 if db["articles"].exists() else 0  # made before schemas had versions


def _create_tables(db: sqlite_utils.Database) -> None:
    """Version 1: articles (with their whole body), topic links and the meta counters."""
    db["articles"].create(
        {"uid": str, "title": str, "source": str, "published": str, "day": str, "bullets": str, "body": str},
        pk="uid",
        if_not_exists=True,
    )
    db["article_topics"].create({"uid": str, "topic": str}, pk=("uid", "topic"), if_not_exists=True)
    db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db.execute("CREATE INDEX IF NOT EXISTS articles_day ON articles(day)")
    db.execute("CREATE INDEX IF NOT EXISTS article_topics_topic ON article_topics(topic)")


def _versions_not_bodies(db: sqlite_utils.Database) -> None:
    """Version 2: each article records the generation that last wrote it, and only its body's length.

    So an index can take in only what changed; the length is the one thing read of a body."""
    db.execute("ALTER TABLE articles ADD COLUMN body_chars INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE articles ADD COLUMN version INTEGER NOT NULL DEFAULT 0")
    db.execute("UPDATE articles SET body_chars = length(body), version = ?", [_generation(db)])
    db.execute("ALTER TABLE articles DROP COLUMN body")
    db.execute("CREATE INDEX IF NOT EXISTS articles_version ON articles(version)")


MIGRATIONS = (_create_tables, _versions_not_bodies)

_SAVE_ARTICLE = (
    "INSERT INTO articles (uid, title, source, published, day, bullets, body_chars, version) "
    "VALUES (:uid, :title, :source, :published, :day, :bullets, :body_chars, :version) "
    "ON CONFLICT(uid) DO UPDATE SET bullets = excluded.bullets, body_chars = excluded.body_chars, "
    "version = excluded.version WHERE excluded.body_chars > articles.body_chars"
)

_SELECT = (
    "SELECT a.rowid, a.uid, a.title, a.source, a.published, a.bullets, "
    "(SELECT group_concat(topic, char(31)) FROM article_topics t WHERE t.uid = a.uid) "
    "FROM articles a"
)


def _generation(db: sqlite_utils.Database) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    return int(row[0]) if row else 0


def _table_size(db: sqlite_utils.Database, table: str) -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _row(article: Article, version: int) -> dict:
    return {
        "uid": article.uid,
        "title": article.title,
        "source": article.source,
        "published": article.published.isoformat(),
        "day": article.day.isoformat(),
        "bullets": json.dumps(list(article.bullets), ensure_ascii=False),
        "body_chars": len(article.body),
        "version": version,
    }


def _article(row: Sequence) -> Article:
    topics = tuple(sorted(row[6].split("\x1f"))) if row[6] else ()
    return Article(row[2], row[3], datetime.fromisoformat(row[4]), tuple(json.loads(row[5])), topics, rowid=row[0])


def _marks(values: Sequence) -> str:
    return ",".join("?" * len(values))


class SqliteStore:
    """The store in one SQLite file; each thread reads and writes through its own connection."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self.index_folder = self.path.with_name(self.path.name + ".index")
        self._local = threading.local()
        self._local.db, self.migrations_applied = _open_db(self.path)

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection (bot state still reads and writes the same file through it)."""
        if getattr(self._local, "db", None) is None:
            self._local.db = open_db(self.path)
        return self._local.db

    def schema_version(self) -> int:
        return schema_version(self.db)

    def save_articles(self, articles: Iterable[Article]) -> IngestCounts:
        """New rows are counted from the tables' sizes, replaced ones from the rows changed,
        so rows can go in by the batch."""
        db = self.db
        merged = merge_duplicates(articles)
        links = [(article.uid, topic) for article in merged for topic in article.topics]
        with write_transaction(db):
            articles_before, links_before = _table_size(db, "articles"), _table_size(db, "article_topics")
            changes_before = db.conn.total_changes
            version = _generation(db) + 1  # what the generation becomes if anything searchable changes
            db.conn.executemany(_SAVE_ARTICLE, (_row(article, version) for article in merged))
            new = _table_size(db, "articles") - articles_before
            updated = db.conn.total_changes - changes_before - new
            db.conn.executemany("INSERT OR IGNORE INTO article_topics (uid, topic) VALUES (?, ?)", links)
            topics_added = _table_size(db, "article_topics") - links_before
            if new or topics_added or updated:
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('generation', '1') "
                    "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
                )
        return IngestCounts(new, len(merged) - new, topics_added, updated)

    def generation(self) -> int:
        return _generation(self.db)

    def count_articles(self) -> int:
        return _table_size(self.db, "articles")

    def all_articles(self) -> list[tuple[int, Article]]:
        return [(row[0], _article(row)) for row in self.db.execute(f"{_SELECT} ORDER BY a.rowid")]

    def changed_since(
        self, generation: int, upto: int | None = None, batch: int = 1000
    ) -> Iterator[tuple[int, Article]]:
        cursor = self.db.execute(
            "SELECT rowid, uid, title, source, published, bullets, NULL FROM articles a "
            "WHERE version > ? AND version <= ? ORDER BY rowid",
            [generation, NO_LATER_GENERATION if upto is None else upto],
        )
        while rows := cursor.fetchmany(batch):
            yield from ((row[0], _article(row)) for row in rows)

    def count_changed_since(self, generation: int) -> int:
        return self.db.execute("SELECT count(*) FROM articles WHERE version > ?", [generation]).fetchone()[0]

    def articles_by_rowid(self, rowids: Sequence[int]) -> dict[int, Article]:
        if not rowids:
            return {}
        rows = self.db.execute(f"{_SELECT} WHERE a.rowid IN ({_marks(rowids)})", list(rowids))
        return {row[0]: _article(row) for row in rows}

    def headers_by_rowid(self, rowids: Sequence[int]) -> dict[int, Article]:
        if not rowids:
            return {}
        rows = self.db.execute(
            f"SELECT rowid, title, source, published FROM articles WHERE rowid IN ({_marks(rowids)})", list(rowids)
        )
        return {row[0]: Article(row[1], row[2], datetime.fromisoformat(row[3]), (), rowid=row[0]) for row in rows}

    def days_by_rowid(self, rowids: Sequence[int]) -> dict[int, date]:
        if not rowids:
            return {}
        rows = self.db.execute(f"SELECT rowid, day FROM articles WHERE rowid IN ({_marks(rowids)})", list(rowids))
        return {row[0]: date.fromisoformat(row[1]) for row in rows}

    def rowids_between(self, start: date | None, end: date | None, limit: int | None = None) -> list[int]:
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        rows = self.db.execute(
            f"SELECT rowid FROM articles WHERE day >= ? AND day <= ? ORDER BY day DESC, rowid DESC{tail}",
            [(start or date.min).isoformat(), (end or date.max).isoformat()],
        )
        return [row[0] for row in rows]

    def articles_between(
        self, start: date | None, end: date | None, topic: str | None = None, limit: int | None = None
    ) -> list[Article]:
        where, params = between_clauses(start, end, topic, "?", date.isoformat)
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        rows = self.db.execute(f"{_SELECT}{where} ORDER BY a.published DESC, a.rowid DESC{tail}", params)
        return [_article(row) for row in rows]

    def topic_summaries(self) -> list[TopicSummary]:
        rows = self.db.execute(
            "SELECT t.topic, count(*), min(a.day), max(a.day) FROM article_topics t "
            "JOIN articles a ON a.uid = t.uid GROUP BY t.topic ORDER BY count(*) DESC, t.topic"
        )
        return [TopicSummary(r[0], r[1], date.fromisoformat(r[2]), date.fromisoformat(r[3])) for r in rows]

    def newest_day(self, topic: str | None = None) -> date | None:
        if topic:
            row = self.db.execute(
                "SELECT max(a.day) FROM articles a JOIN article_topics t ON t.uid = a.uid WHERE t.topic = ?", [topic]
            ).fetchone()
        else:
            row = self.db.execute("SELECT max(day) FROM articles").fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None

    def newest_in_topic(self, topic: str, count: int) -> list[tuple[int, str]]:
        return self.db.execute(
            "SELECT a.rowid, a.uid FROM articles a JOIN article_topics t ON t.uid = a.uid WHERE t.topic = ? "
            "ORDER BY a.published DESC, a.rowid DESC LIMIT ?",
            [topic, count],
        ).fetchall()

    def topic_cursor(self) -> int:
        return self.db.execute("SELECT coalesce(max(rowid), 0) FROM article_topics").fetchone()[0]

    def linked_since(self, topic: str, cursor: int) -> list[tuple[int, str]]:
        return self.db.execute(
            "SELECT a.rowid, a.uid FROM article_topics t JOIN articles a ON a.uid = t.uid "
            "WHERE t.topic = ? AND t.rowid > ? ORDER BY a.published DESC, a.rowid DESC",
            [topic, cursor],
        ).fetchall()

    def backup(self, target: str | Path) -> Path:
        """SQLite's online backup: readers and writers may go on meanwhile."""

        def copy_to(partial: Path) -> None:
            with sqlite3.connect(str(partial)) as copy:
                self.db.conn.backup(copy)
            copy.close()

        return write_new_file(target, copy_to)

    def close(self) -> None:
        """Close this thread's connection (a later call opens a new one)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None
