"""The bot's own state: subscriptions, the delivery outbox and log, delivery claims, each chat's
settings, the bot messages a reply can refer to, and per-user request counts. One interface,
`BotState`, over SQLite (the library's file, its own connection; one host) and PostgreSQL
(psycopg 3 with a pool; several workers on several hosts), chosen by the location: a path or a
`postgresql://` URL. Nothing here is about the corpus, so it lives beside the bot.

Deliveries. A subscription's first delivery is the topic's few newest articles ("Recent"); it
sets the subscription's cursor to the newest topic link at that moment. Every delivery after
that carries every article linked to the topic past the cursor that the chat has not been sent,
however many arrived, so nothing ingested between two runs is lost.

A send cannot be made exactly-once, so each message is written to the outbox (chat, topic,
uids) before it is sent and moved to the delivery log once Telegram confirms it. A message left
in the outbox was interrupted (the process died, the connection dropped): `settle` decides its
fate. A first ("Recent") message counts as sent, so Recent is never repeated; any later
message's articles stay unsent and go out with the next delivery, so only the message in flight
can come twice.

Several workers. The same scheduled delivery fires in every worker; each first claims the
subscription (`claim`): a row holding a random token, the holder (host and process id) and an
expiry, taken only when there is none, it has expired or its holder is known dead (a process
of this host that no longer runs), renewed before each message. Whoever holds it sends; the
others skip it. A claim is released when its delivery ends, so one left behind marks a worker
that died mid-delivery: every worker looks for those now and then (`abandoned`), and once the
lease has run out (at once, for a worker of the same host or a restarted one) one of them
takes the claim over, settles the outbox message as above and sends the rest. So across workers, too, each (chat, article) is sent once, except the one message in
flight when a worker died, which can come twice (never a Recent one)."""

from __future__ import annotations

import json
import os
import secrets
import socket
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from retrieval.store import is_postgres_url

FREQUENCIES = ("daily", "weekly")
DEFAULT_FREQUENCY = "daily"
DEFAULT_TIME = "08:00"
DEFAULT_WEEKDAY = 0  # Monday; weekdays count from Monday = 0, as date.weekday() does
RECENT_COUNT = 3
ANSWER = "answer"  # a bot message's payload: the question the message answers
PROMPT = "prompt"  # a bot message's payload: the command waiting for its argument
KEPT_MESSAGES = 50_000  # the oldest remembered bot messages are forgotten beyond this
LEASE_SECONDS = 120.0  # how long a delivery claim lasts unless renewed (before each message)
IN_BATCH = 500  # uids per IN (…) list


@dataclass(frozen=True)
class ChatSettings:
    """A chat's choices; empty means "not chosen": the bot's default zone, the user's language."""

    chat_id: int
    timezone: str = ""
    language: str = ""


@dataclass(frozen=True)
class Subscription:
    """One chat's standing order for a topic's new articles."""

    chat_id: int
    topic: str
    frequency: str = DEFAULT_FREQUENCY
    at: str = DEFAULT_TIME
    language: str = "en"
    created_by: int | None = None
    paused: str = ""
    weekday: int = DEFAULT_WEEKDAY
    cursor: int | None = None  # None until the first ("Recent") delivery

    @property
    def job_name(self) -> str:
        return f"subscription:{self.chat_id}:{self.topic}"


@dataclass(frozen=True)
class Interrupted:
    """A message written to the outbox whose send was never confirmed."""

    chat_id: int
    topic: str
    uids: tuple[str, ...]
    first: bool  # part of a subscription's first ("Recent") delivery


@dataclass(frozen=True)
class Claim:
    """The right to deliver one subscription until `expires` (seconds since the epoch)."""

    chat_id: int
    topic: str
    token: str
    expires: float


class Verdict(Enum):
    ALLOW = "allow"
    NOTIFY = "notify"
    SILENT = "silent"


def zone(name: str) -> ZoneInfo | None:
    """The IANA time zone called `name` (any case), or None when there is none."""
    candidate = name.strip()
    if not candidate or ".." in candidate or candidate.startswith("/"):
        return None
    try:
        return ZoneInfo(candidate)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    for known in _common_spellings():
        if known.casefold() == candidate.casefold():
            return ZoneInfo(known)
    return None


@lru_cache(maxsize=1)
def _common_spellings() -> tuple[str, ...]:
    from zoneinfo import available_timezones

    return tuple(sorted(available_timezones()))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def request_verdict(
    stamps: list[float], notified: bool, now: float, limit: int, window: float
) -> tuple[Verdict, list[float], bool]:
    """A sliding window of at most `limit` requests in any `window` seconds: the verdict on a
    request at `now` given the user's counted requests and whether they were told; then the
    requests and the told flag to store."""
    kept = [stamp for stamp in stamps if stamp > now - window]
    if len(kept) < limit:
        return Verdict.ALLOW, [*kept, now], False
    if notified:
        return Verdict.SILENT, kept, True
    return Verdict.NOTIFY, kept, True


HOST = socket.gethostname()
_HELD: set[str] = set()  # the tokens of the claims this process holds


def _holder() -> str:
    """Who holds this process's claims: host and process id."""
    return f"{HOST}:{os.getpid()}"


def _holder_gone(holder: str, token: str) -> bool:
    """Whether the process holding a claim is known to be dead, so its claim need not be waited
    out: it ran on this host and no process has its id, or it had this process's id and host (a
    container restarted as pid 1) but the claim is not one this process holds. A holder on
    another host is not known dead: its claim lasts until it expires."""
    host, _, pid = holder.rpartition(":")
    if host != HOST or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return token not in _HELD
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, and belongs to someone else
        return False
    return False


def _subscription(row: Sequence) -> Subscription:
    chat_id, topic, frequency, at, language, created_by, paused, weekday, cursor = row
    weekday = DEFAULT_WEEKDAY if weekday is None else weekday
    return Subscription(chat_id, topic, frequency, at, language, created_by, paused or "", weekday, cursor)


_SUBSCRIPTION_COLUMNS = 'chat_id, topic, frequency, "at", language, created_by, paused, weekday, "cursor"'


class Transaction(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...


class BotState(ABC):
    """The bot's state in one database. Every method is one transaction and blocking: the bot
    calls them from worker threads. SQL is written once with `?` placeholders; each backend
    says how a transaction begins, how it reads the clock and what it cannot share."""

    lease_seconds: float = LEASE_SECONDS
    lock_rows = ""  # how a read takes row locks for the rest of the transaction (" FOR UPDATE")
    migrations: tuple[tuple[str | Callable[[Transaction], None], ...], ...] = ()  # SQL, or a step given the transaction

    # --- what each backend provides ----------------------------------------------------------

    @abstractmethod
    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Transaction]:
        """A transaction: committed at the end, rolled back on any exception."""

    @abstractmethod
    def clock(self, tx: Transaction) -> float:
        """Now, in seconds since the epoch, as every worker sees it."""

    @abstractmethod
    def _forget_old_messages(self, tx: Transaction) -> None:
        """Keep the newest KEPT_MESSAGES remembered bot messages."""

    @abstractmethod
    def _lock_for_migrations(self, tx: Transaction) -> None:
        """Let one process at a time migrate, until the transaction ends."""

    def _migration_needed(self) -> bool:
        """Whether the schema lacks a migration, read without waiting for a writer."""
        return self.schema_version() < len(self.migrations)

    def close(self) -> None:
        """Give back the connections."""

    # --- schema -----------------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply the migrations the database lacks, each once even when several workers start
        together; returns how many were applied."""
        if not self._migration_needed():
            return 0
        with self.transaction() as tx:
            self._lock_for_migrations(tx)
            tx.execute("CREATE TABLE IF NOT EXISTS bot_schema (version INTEGER NOT NULL)")
            row = tx.execute("SELECT max(version) FROM bot_schema").fetchone()
            current = row[0] or 0
            for version in range(current, len(self.migrations)):
                for step in self.migrations[version]:
                    step(tx) if callable(step) else tx.execute(step)
                tx.execute("INSERT INTO bot_schema (version) VALUES (?)", [version + 1])
        return len(self.migrations) - current

    def schema_version(self) -> int:
        with self.transaction(write=False) as tx:
            if not self._has_table(tx, "bot_schema"):
                return 0
            return tx.execute("SELECT max(version) FROM bot_schema").fetchone()[0] or 0

    @abstractmethod
    def _has_table(self, tx: Transaction, name: str) -> bool: ...

    # --- chat settings and remembered bot messages --------------------------------------------

    def settings(self, chat_id: int) -> ChatSettings:
        with self.transaction(write=False) as tx:
            row = tx.execute("SELECT timezone, language FROM chat_settings WHERE chat_id = ?", [chat_id]).fetchone()
        return ChatSettings(chat_id, row[0] or "", row[1] or "") if row else ChatSettings(chat_id)

    def save_settings(self, chosen: ChatSettings) -> None:
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO chat_settings (chat_id, timezone, language, changed) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (chat_id) DO UPDATE SET timezone = excluded.timezone, language = excluded.language, "
                "changed = excluded.changed",
                [chosen.chat_id, chosen.timezone, chosen.language, _now()],
            )

    def remember_message(self, chat_id: int, message_id: int, kind: str, payload: str) -> None:
        """Remember what a bot message was (an answer to `payload`, a prompt for `payload`)."""
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO bot_messages (chat_id, message_id, kind, payload, created) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (chat_id, message_id) DO UPDATE SET kind = excluded.kind, payload = excluded.payload, "
                "created = excluded.created",
                [chat_id, message_id, kind, payload, _now()],
            )
            self._forget_old_messages(tx)

    def recalled_message(self, chat_id: int, message_id: int) -> tuple[str, str] | None:
        """(kind, payload) of a remembered bot message, or None."""
        with self.transaction(write=False) as tx:
            row = tx.execute(
                "SELECT kind, payload FROM bot_messages WHERE chat_id = ? AND message_id = ?", [chat_id, message_id]
            ).fetchone()
        return (row[0], row[1]) if row else None

    # --- subscriptions ------------------------------------------------------------------------

    def subscribe(self, subscription: Subscription) -> None:
        """Add or replace the subscription; a paused one becomes active again. Changing the time
        or frequency keeps what was delivered and the cursor, so nothing is sent twice."""
        s = subscription
        with self.transaction() as tx:
            tx.execute(
                'INSERT INTO subscriptions (chat_id, topic, frequency, "at", language, created_by, paused, weekday, '
                "created) VALUES (?, ?, ?, ?, ?, ?, '', ?, ?) ON CONFLICT (chat_id, topic) DO UPDATE SET "
                'frequency = excluded.frequency, "at" = excluded."at", language = excluded.language, '
                "created_by = excluded.created_by, paused = '', weekday = excluded.weekday, created = excluded.created",
                [s.chat_id, s.topic, s.frequency, s.at, s.language, s.created_by, s.weekday, _now()],
            )

    def unsubscribe(self, chat_id: int, topic: str | None = None) -> list[Subscription]:
        """End one topic's subscription, or every one of the chat when topic is None; returns the ended."""
        with self.transaction() as tx:
            ended = [s for s in self._for_chat(tx, chat_id) if topic is None or s.topic == topic]
            for s in ended:
                for table in ("subscriptions", "outbox"):
                    tx.execute(f"DELETE FROM {table} WHERE chat_id = ? AND topic = ?", [s.chat_id, s.topic])
        return ended

    def for_chat(self, chat_id: int) -> list[Subscription]:
        with self.transaction(write=False) as tx:
            return self._for_chat(tx, chat_id)

    def _for_chat(self, tx: Transaction, chat_id: int) -> list[Subscription]:
        rows = tx.execute(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE chat_id = ? ORDER BY topic", [chat_id]
        )
        return [_subscription(row) for row in rows.fetchall()]

    def get(self, chat_id: int, topic: str) -> Subscription | None:
        with self.transaction(write=False) as tx:
            return self._get(tx, chat_id, topic)

    def _get(self, tx: Transaction, chat_id: int, topic: str) -> Subscription | None:
        row = tx.execute(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE chat_id = ? AND topic = ?", [chat_id, topic]
        ).fetchone()
        return _subscription(row) if row else None

    def active(self) -> list[Subscription]:
        """Every subscription not paused, in a stable order."""
        with self.transaction(write=False) as tx:
            rows = tx.execute(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE paused = '' ORDER BY chat_id, topic"
            ).fetchall()
        return [_subscription(row) for row in rows]

    def pause_chat(self, chat_id: int, reason: str) -> list[Subscription]:
        """Pause every active subscription of a chat (it blocked or removed the bot)."""
        with self.transaction() as tx:
            paused = [s for s in self._for_chat(tx, chat_id) if not s.paused]
            tx.execute(
                "UPDATE subscriptions SET paused = ? WHERE chat_id = ? AND paused = ''", [reason or "paused", chat_id]
            )
        return paused

    def has_paused(self, chat_id: int) -> bool:
        """Whether any of the chat's subscriptions is paused."""
        with self.transaction(write=False) as tx:
            found = tx.execute("SELECT 1 FROM subscriptions WHERE chat_id = ? AND paused != '' LIMIT 1", [chat_id])
            return found.fetchone() is not None

    def resume_chat(self, chat_id: int) -> list[Subscription]:
        """Make every paused subscription of the chat active again; returns the resumed."""
        with self.transaction() as tx:
            resumed = [s for s in self._for_chat(tx, chat_id) if s.paused]
            tx.execute("UPDATE subscriptions SET paused = '' WHERE chat_id = ?", [chat_id])
        return [replace(s, paused="") for s in resumed]

    def start_cursor(self, chat_id: int, topic: str, cursor: int) -> None:
        """Mark the first delivery done: later ones start after `cursor`."""
        with self.transaction() as tx:
            self._start_cursor(tx, chat_id, topic, cursor)

    @staticmethod
    def _start_cursor(tx: Transaction, chat_id: int, topic: str, cursor: int) -> None:
        tx.execute(
            'UPDATE subscriptions SET "cursor" = ? WHERE chat_id = ? AND topic = ? AND "cursor" IS NULL',
            [cursor, chat_id, topic],
        )

    def move_chat(self, old_id: int, new_id: int) -> list[Subscription]:
        """A group became a supergroup: its subscriptions, delivery log, outbox, settings and
        remembered messages move to the new id in one transaction (what the new id already has
        wins). Returns the subscriptions now under the new id."""
        moved_tables = {
            "subscriptions": ("topic", "frequency", '"at"', "language", "created_by", "paused", "created", "weekday",
                              '"cursor"'),
            "deliveries": ("topic", "uid", "sent"),
            "outbox": ("topic", "uids", "first", "created"),
            "chat_settings": ("timezone", "language", "changed"),
            "bot_messages": ("message_id", "kind", "payload", "created"),
        }
        with self.transaction() as tx:
            for table, columns in moved_tables.items():
                listed = ", ".join(columns)
                tx.execute(
                    f"INSERT INTO {table} (chat_id, {listed}) SELECT ?, {listed} FROM {table} WHERE chat_id = ? "
                    "ON CONFLICT DO NOTHING",
                    [new_id, old_id],
                )
                tx.execute(f"DELETE FROM {table} WHERE chat_id = ?", [old_id])
            return self._for_chat(tx, new_id)

    # --- the delivery log and the outbox ------------------------------------------------------

    def unsent(self, chat_id: int, topic: str, uids: Iterable[str]) -> list[str]:
        """The uids, in the given order, that this chat has not been sent for this topic."""
        wanted = list(dict.fromkeys(uids))
        sent: set[str] = set()
        with self.transaction(write=False) as tx:
            for start in range(0, len(wanted), IN_BATCH):
                batch = wanted[start : start + IN_BATCH]
                marks = ",".join("?" * len(batch))
                rows = tx.execute(
                    f"SELECT uid FROM deliveries WHERE chat_id = ? AND topic = ? AND uid IN ({marks})",
                    [chat_id, topic, *batch],
                )
                sent.update(row[0] for row in rows.fetchall())
        return [uid for uid in uids if uid not in sent]

    def intend(self, chat_id: int, topic: str, uids: Iterable[str], first: bool) -> None:
        """Write the message about to be sent to the outbox (one per subscription at a time)."""
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO outbox (chat_id, topic, uids, first, created) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (chat_id, topic) DO UPDATE SET uids = excluded.uids, first = excluded.first, "
                "created = excluded.created",
                [chat_id, topic, json.dumps(list(uids)), int(first), _now()],
            )

    def record_delivery(self, chat_id: int, topic: str, uids: Iterable[str], cursor: int | None = None) -> None:
        """Log the articles of one sent message and clear it from the outbox, in one transaction;
        a `cursor` (a first delivery's last message) is stored with them."""
        with self.transaction() as tx:
            self._record_delivery(tx, chat_id, topic, uids, cursor)

    def _record_delivery(
        self, tx: Transaction, chat_id: int, topic: str, uids: Iterable[str], cursor: int | None
    ) -> None:
        sent = _now()
        for uid in uids:
            tx.execute(
                "INSERT INTO deliveries (chat_id, topic, uid, sent) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [chat_id, topic, uid, sent],
            )
        if cursor is not None:
            self._start_cursor(tx, chat_id, topic, cursor)
        tx.execute("DELETE FROM outbox WHERE chat_id = ? AND topic = ?", [chat_id, topic])

    def interrupted(self, chat_id: int | None = None, topic: str | None = None) -> list[Interrupted]:
        """Messages left in the outbox: all, or one subscription's."""
        chosen = [(column, value) for column, value in (("chat_id", chat_id), ("topic", topic)) if value is not None]
        where = " AND ".join(f"{column} = ?" for column, _ in chosen) or "1 = 1"
        with self.transaction(write=False) as tx:
            rows = tx.execute(
                f"SELECT chat_id, topic, uids, first FROM outbox WHERE {where} ORDER BY chat_id, topic",
                [value for _, value in chosen],
            ).fetchall()
        return [Interrupted(row[0], row[1], tuple(json.loads(row[2])), bool(row[3])) for row in rows]

    def withdraw(self, chat_id: int, topic: str) -> None:
        """Telegram refused the message in the outbox: nothing was sent."""
        with self.transaction() as tx:
            tx.execute("DELETE FROM outbox WHERE chat_id = ? AND topic = ?", [chat_id, topic])

    def settle(self, message: Interrupted) -> None:
        """Decide an interrupted message's fate. A first delivery's counts as sent, so Recent
        never comes twice (the next run sends what Recent has left, then stores the cursor); a
        later one's articles stay unsent, so they go out with the next delivery and nothing is
        lost: the only repeat is that message, if Telegram had delivered it."""
        with self.transaction() as tx:
            if message.first:
                self._record_delivery(tx, message.chat_id, message.topic, message.uids, None)
            tx.execute("DELETE FROM outbox WHERE chat_id = ? AND topic = ?", [message.chat_id, message.topic])

    # --- delivery claims across workers -------------------------------------------------------

    def claim(self, chat_id: int, topic: str) -> Claim | None:
        """The right to deliver this subscription for `lease_seconds`, or None while another
        holds a claim on it that has not expired and whose holder may be alive."""
        token = secrets.token_hex(12)
        _HELD.add(token)  # before it can be seen: a claim of this process not in _HELD is a dead one's
        taken = None
        try:
            taken = self._take_claim(chat_id, topic, token)
        finally:
            if not taken:
                _HELD.discard(token)
        return Claim(chat_id, topic, token, taken) if taken else None

    def _take_claim(self, chat_id: int, topic: str, token: str) -> float | None:
        """Its expiry if the claim was taken with `token`."""
        taken = 0
        with self.transaction() as tx:
            now = self.clock(tx)
            expires = now + self.lease_seconds
            held = tx.execute(
                f"SELECT token, holder, expires FROM delivery_claims WHERE chat_id = ? AND topic = ?{self.lock_rows}",
                [chat_id, topic],
            ).fetchone()
            if held is None:
                taken = tx.execute(
                    "INSERT INTO delivery_claims (chat_id, topic, token, holder, expires) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    [chat_id, topic, token, _holder(), expires],
                ).rowcount
            elif held[2] <= now or _holder_gone(held[1], held[0]):
                taken = tx.execute(  # only if no one took it meanwhile
                    "UPDATE delivery_claims SET token = ?, holder = ?, expires = ? "
                    "WHERE chat_id = ? AND topic = ? AND token = ?",
                    [token, _holder(), expires, chat_id, topic, held[0]],
                ).rowcount
        return expires if taken else None

    def renew(self, claim: Claim) -> Claim | None:
        """The claim extended by `lease_seconds`, or None when it was lost (it expired and
        another worker took it): then the holder must stop."""
        with self.transaction() as tx:
            now = self.clock(tx)
            kept = tx.execute(
                "UPDATE delivery_claims SET expires = ? WHERE chat_id = ? AND topic = ? AND token = ? AND expires > ?",
                [now + self.lease_seconds, claim.chat_id, claim.topic, claim.token, now],
            ).rowcount
        return replace(claim, expires=now + self.lease_seconds) if kept else None

    def release(self, claim: Claim) -> None:
        _HELD.discard(claim.token)
        with self.transaction() as tx:
            tx.execute(
                "DELETE FROM delivery_claims WHERE chat_id = ? AND topic = ? AND token = ?",
                [claim.chat_id, claim.topic, claim.token],
            )

    def abandoned(self) -> list[tuple[int, str]]:
        """(chat, topic) of the deliveries a worker left unfinished: a claim never released that
        has expired or whose holder is known dead, or an outbox message no claim covers. A
        claim is released when its delivery ends, so any other claim left is a worker's death."""
        with self.transaction(write=False) as tx:
            now = self.clock(tx)
            claims = tx.execute("SELECT chat_id, topic, token, holder, expires FROM delivery_claims").fetchall()
            unclaimed = tx.execute(
                "SELECT o.chat_id, o.topic FROM outbox o WHERE NOT EXISTS (SELECT 1 FROM delivery_claims c "
                "WHERE c.chat_id = o.chat_id AND c.topic = o.topic)"
            ).fetchall()
        stale = [(row[0], row[1]) for row in claims if row[4] <= now or _holder_gone(row[3], row[2])]
        return sorted({*stale, *((row[0], row[1]) for row in unclaimed)})

    # --- per-user request limits, shared by every worker ---------------------------------------

    def count_request(self, user_id: int, now: float, limit: int, window: float) -> Verdict:
        """Count a request by `user_id` at `now` unless they are over `limit` in `window` seconds
        (see request_verdict); the user's row is locked meanwhile, so workers count in turn."""
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO request_limits (user_id, stamps, notified) VALUES (?, '[]', 0) ON CONFLICT DO NOTHING",
                [user_id],
            )
            stamps, notified = tx.execute(
                f"SELECT stamps, notified FROM request_limits WHERE user_id = ?{self.lock_rows}", [user_id]
            ).fetchone()
            verdict, stamps, notified = request_verdict(json.loads(stamps), bool(notified), now, limit, window)
            tx.execute(
                "UPDATE request_limits SET stamps = ?, notified = ? WHERE user_id = ?",
                [json.dumps(stamps), int(notified), user_id],
            )
        return verdict


def connect_state(location: str | Path, lease_seconds: float | None = None) -> BotState:
    """The bot's state at `location` (a SQLite path or a postgresql:// URL), as it is.
    BRIEFBOT_DELIVERY_LEASE sets the claim lease in seconds."""
    lease = lease_seconds or float(os.environ.get("BRIEFBOT_DELIVERY_LEASE") or LEASE_SECONDS)
    if is_postgres_url(location):
        from .state_postgres import PostgresBotState

        return PostgresBotState(str(location), lease)
    from .state_sqlite import SqliteBotState

    return SqliteBotState(Path(location), lease)


def open_state(location: str | Path, lease_seconds: float | None = None) -> BotState:
    """The bot's state at `location`, migrated to the newest schema (as the bot starts)."""
    opened = connect_state(location, lease_seconds)
    opened.migrate()
    return opened


def migrate(location: str | Path) -> int:
    """Bring the bot's tables at `location` to the newest version (for `briefbot migrate`);
    returns how many migrations were applied."""
    opened = connect_state(location)
    try:
        return opened.migrate()
    finally:
        opened.close()
