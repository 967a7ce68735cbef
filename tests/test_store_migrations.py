"""A SQLite file made by an older schema is migrated on opening; the migrations both backends
share are specified in test_article_store."""

import sqlite3
from pathlib import Path

from retrieval import store


def make_version_one(path: Path) -> None:
    """A database as the first schema wrote it: whole bodies, no versions."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE articles (uid TEXT PRIMARY KEY, title TEXT, source TEXT, published TEXT, day TEXT,
                               bullets TEXT, body TEXT);
        CREATE TABLE article_topics (uid TEXT, topic TEXT, PRIMARY KEY (uid, topic));
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        INSERT INTO articles VALUES ('a1', '标题', 'Reuters', '2026-01-02T03:04:00+08:00', '2026-01-02',
                                     '["one bullet"]', 'a body of 23 characters');
        INSERT INTO article_topics VALUES ('a1', '稀土');
        INSERT INTO meta VALUES ('generation', '7');
        """
    )
    conn.commit()
    conn.close()


def test_an_old_database_is_migrated_keeping_its_articles_and_body_lengths(tmp_path):
    path = tmp_path / "old.db"
    make_version_one(path)
    opened = store.SqliteStore(path)
    assert opened.migrations_applied == [store.migration_name(store.MIGRATIONS[1])]
    assert opened.schema_version() == len(store.MIGRATIONS)
    row = opened.db.execute("SELECT uid, body_chars, version FROM articles").fetchone()
    assert row == ("a1", len("a body of 23 characters"), 7)
    assert "body" not in opened.db["articles"].columns_dict
    assert opened.generation() == 7
    assert [a.title for _, a in opened.all_articles()] == ["标题"]


def test_opening_a_current_database_again_changes_nothing(tmp_path):
    path = tmp_path / "new.db"
    store.open_db(path)
    schema = sqlite3.connect(path).execute("SELECT group_concat(sql, ';') FROM sqlite_master").fetchone()[0]
    store.open_db(path)
    assert sqlite3.connect(path).execute("SELECT group_concat(sql, ';') FROM sqlite_master").fetchone()[0] == schema
