"""Write transactions that take SQLite's write lock up front.

A deferred transaction that reads, then writes, gets SQLITE_BUSY at once, without
waiting out the busy timeout, when another connection committed in between: its read
snapshot is stale and cannot be upgraded. `BEGIN IMMEDIATE` takes the write lock
first, so a concurrent writer is simply waited for. Every transaction that writes
goes through `write_transaction`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlite_utils


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any exception; inside an open
    transaction it is a savepoint of that transaction."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.rollback()
        raise
    try:
        db.execute("COMMIT")
    except BaseException:
        db.conn.rollback()
        raise
