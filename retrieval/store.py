"""SQLite storage through sqlite-utils: articles, their topics, and a generation counter."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import sqlite_utils

from .errors import StoreError
from .models import Article
from .transaction import write_transaction

PAGE_CACHE_KIB = 64 * 1024
BUSY_TIMEOUT_SECONDS = 30


def default_db_path() -> Path:
    """$BRIEFBOT_DB, else the per-user data folder (XDG_DATA_HOME or ~/.local/share)."""
    if os.environ.get("BRIEFBOT_DB"):
        return Path(os.environ["BRIEFBOT_DB"]).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "briefbot" / "briefbot.db"


def open_db(path: str | Path | None = None) -> sqlite_utils.Database:
    """Open (creating if needed) the database in WAL mode with a busy timeout."""
    path = Path(path) if path else default_db_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)
        db = sqlite_utils.Database(conn, execute_plugins=False)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
        if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")  # answers read scattered rows
        ensure_schema(db)
    except sqlite3.DatabaseError as error:
        raise StoreError(f"cannot open database {path}: {error}") from None
    except OSError as error:
        raise StoreError(f"cannot create database folder {path.parent}: {error.strerror}") from None
    return db


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Bring the schema to the newest version. On a database that has it this only reads,
    so opening never waits for a writer; otherwise the missing migrations are applied,
    each once, holding the write lock (another process may have applied them meanwhile)."""
    if schema_version(db) == len(MIGRATIONS):
        return
    with write_transaction(db):
        for version in range(schema_version(db), len(MIGRATIONS)):
            MIGRATIONS[version](db)
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [str(version + 1)],
            )


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
    """Version 2: each article records the generation that last wrote it, so an index can
    take in only what changed; of the body only its length is kept, the one thing read."""
    db.execute("ALTER TABLE articles ADD COLUMN body_chars INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE articles ADD COLUMN version INTEGER NOT NULL DEFAULT 0")
    db.execute("UPDATE articles SET body_chars = length(body), version = ?", [generation(db)])
    db.execute("ALTER TABLE articles DROP COLUMN body")
    db.execute("CREATE INDEX IF NOT EXISTS articles_version ON articles(version)")


MIGRATIONS = (_create_tables, _versions_not_bodies)


@dataclass(frozen=True)
class IngestCounts:
    """How many articles an ingest added and how many it already had; of those it had,
    `updated` came with a longer body than the stored one, which they replaced."""

    new: int
    known: int
    topics_added: int = 0
    updated: int = 0


_SAVE_ARTICLE = (
    "INSERT INTO articles (uid, title, source, published, day, bullets, body_chars, version) "
    "VALUES (:uid, :title, :source, :published, :day, :bullets, :body_chars, :version) "
    "ON CONFLICT(uid) DO UPDATE SET bullets = excluded.bullets, body_chars = excluded.body_chars, "
    "version = excluded.version WHERE excluded.body_chars > articles.body_chars"
)


def save_articles(db: sqlite_utils.Database, articles: Iterable[Article]) -> IngestCounts:
    """Insert articles and topic links in one transaction. An article already stored is
    kept, unless this copy's body is longer (the stored one was cut short): then its body
    and bullets are replaced. New rows are counted from the tables' sizes, replaced ones
    from the rows changed, so rows can go in by the batch."""
    merged = _merge_duplicates(articles)
    links = [(article.uid, topic) for article in merged for topic in article.topics]
    with write_transaction(db):
        articles_before, links_before = _table_size(db, "articles"), _table_size(db, "article_topics")
        changes_before = db.conn.total_changes
        version = generation(db) + 1  # what the generation becomes if anything searchable changes
        db.conn.executemany(_SAVE_ARTICLE, (_row(article, version) for article in merged))
        new = _table_size(db, "articles") - articles_before
        updated = db.conn.total_changes - changes_before - new
        db.conn.executemany("INSERT OR IGNORE INTO article_topics (uid, topic) VALUES (?, ?)", links)
        topics_added = _table_size(db, "article_topics") - links_before
        if new or topics_added or updated:
            bump_generation(db)
    return IngestCounts(new, len(merged) - new, topics_added, updated)


def _table_size(db: sqlite_utils.Database, table: str) -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _merge_duplicates(articles: Iterable[Article]) -> list[Article]:
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


def generation(db: sqlite_utils.Database) -> int:
    """A counter bumped by every write that changes what can be searched."""
    row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    return int(row[0]) if row else 0


def bump_generation(db: sqlite_utils.Database) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES ('generation', '1') "
        "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
    )


def count_articles(db: sqlite_utils.Database) -> int:
    return _table_size(db, "articles")


_SELECT = (
    "SELECT a.rowid, a.uid, a.title, a.source, a.published, a.bullets, "
    "(SELECT group_concat(topic, char(31)) FROM article_topics t WHERE t.uid = a.uid) "
    "FROM articles a"
)


def _article(row: Sequence) -> Article:
    topics = tuple(sorted(row[6].split("\x1f"))) if row[6] else ()
    return Article(row[2], row[3], datetime.fromisoformat(row[4]), tuple(json.loads(row[5])), topics, rowid=row[0])


def all_articles(db: sqlite_utils.Database) -> list[tuple[int, Article]]:
    """Every article with its rowid, in rowid order."""
    return [(row[0], _article(row)) for row in db.execute(f"{_SELECT} ORDER BY a.rowid")]


def changed_since(db: sqlite_utils.Database, version: int, batch: int = 1000) -> Iterator[tuple[int, Article]]:
    """Each article written after generation `version` (added, or replaced by a fuller copy)
    with its rowid, in rowid order, read from a cursor a batch at a time. Topics are left out:
    the index does not read them."""
    cursor = db.execute(
        "SELECT rowid, uid, title, source, published, bullets, NULL FROM articles a WHERE version > ? ORDER BY rowid",
        [version],
    )
    while rows := cursor.fetchmany(batch):
        yield from ((row[0], _article(row)) for row in rows)


def articles_by_rowid(db: sqlite_utils.Database, rowids: Sequence[int]) -> dict[int, Article]:
    if not rowids:
        return {}
    marks = ",".join("?" * len(rowids))
    rows = db.execute(f"{_SELECT} WHERE a.rowid IN ({marks})", list(rowids))
    return {row[0]: _article(row) for row in rows}


def headers_by_rowid(db: sqlite_utils.Database, rowids: Sequence[int]) -> dict[int, Article]:
    """Title, source and time of each article, without its bullets or topics: enough to tell
    repeated stories apart before reading the few articles that are shown."""
    if not rowids:
        return {}
    marks = ",".join("?" * len(rowids))
    rows = db.execute(f"SELECT rowid, title, source, published FROM articles WHERE rowid IN ({marks})", list(rowids))
    return {row[0]: Article(row[1], row[2], datetime.fromisoformat(row[3]), (), rowid=row[0]) for row in rows}


def days_by_rowid(db: sqlite_utils.Database, rowids: Sequence[int]) -> dict[int, date]:
    """The day of each article, without reading the articles."""
    if not rowids:
        return {}
    marks = ",".join("?" * len(rowids))
    rows = db.execute(f"SELECT rowid, day FROM articles WHERE rowid IN ({marks})", list(rowids))
    return {row[0]: date.fromisoformat(row[1]) for row in rows}


def articles_between(
    db: sqlite_utils.Database,
    start: date | None,
    end: date | None,
    topic: str | None = None,
    limit: int | None = None,
) -> list[Article]:
    """Articles whose day is within [start, end] (either may be open), newest first."""
    clauses, params = [], []
    if start:
        clauses.append("a.day >= ?")
        params.append(start.isoformat())
    if end:
        clauses.append("a.day <= ?")
        params.append(end.isoformat())
    if topic:
        clauses.append("a.uid IN (SELECT uid FROM article_topics WHERE topic = ?)")
        params.append(topic)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    tail = f" LIMIT {int(limit)}" if limit is not None else ""
    rows = db.execute(f"{_SELECT}{where} ORDER BY a.published DESC, a.rowid DESC{tail}", params)
    return [_article(row) for row in rows]


@dataclass(frozen=True)
class TopicSummary:
    topic: str
    articles: int
    first: date
    last: date


def topic_summaries(db: sqlite_utils.Database) -> list[TopicSummary]:
    """Each topic with its article count and first and last day, most articles first."""
    rows = db.execute(
        "SELECT t.topic, count(*), min(a.day), max(a.day) FROM article_topics t "
        "JOIN articles a ON a.uid = t.uid GROUP BY t.topic ORDER BY count(*) DESC, t.topic"
    )
    return [TopicSummary(r[0], r[1], date.fromisoformat(r[2]), date.fromisoformat(r[3])) for r in rows]


def newest_day(db: sqlite_utils.Database, topic: str | None = None) -> date | None:
    """The newest article's day, over everything or within one topic."""
    if topic:
        row = db.execute(
            "SELECT max(a.day) FROM articles a JOIN article_topics t ON t.uid = a.uid WHERE t.topic = ?", [topic]
        ).fetchone()
    else:
        row = db.execute("SELECT max(day) FROM articles").fetchone()
    return date.fromisoformat(row[0]) if row and row[0] else None



def backup(db: sqlite_utils.Database, target: str | Path) -> Path:
    """Copy the live database to `target` with SQLite's online backup; readers and
    writers may go on meanwhile. Refuses to overwrite an existing file."""
    target = Path(target)
    if target.exists():
        raise StoreError(f"{target} already exists; choose a new file name")
    partial = target.with_name(target.name + ".partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(str(partial)) as copy:
            db.conn.backup(copy)
        copy.close()
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as error:
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
