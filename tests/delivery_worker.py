"""One bot worker that fires every active subscription's scheduled delivery at one moment, as
each worker of a deployment does when a digest falls due, then exits once no delivery is left
anywhere (none scheduled here, no claim held, no message in the outbox).

    python -m tests.delivery_worker LIBRARY_DB STATE_LOCATION BOT_API_URL TOKEN

It prints "ready" once started, then reads the moment to fire (seconds since the epoch) from
a line of its standard input, so workers started one after another fire together.

The real Application, job queue, claims and outbox; the Bot API is whatever BOT_API_URL serves
(the tests' loopback fake). Articles are read from the SQLite library; the bot's state is at
STATE_LOCATION (a SQLite path or a postgresql:// URL)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from bot import schedule
from bot.app import Settings, build_application
from bot.state import open_state
from retrieval import Library

REPO = Path(__file__).resolve().parent.parent
FIRE_DELAY = 0.5  # seconds between the last worker being ready and the digest firing
QUIET_CHECKS = 3  # consecutive checks finding nothing left before the worker exits
CHECK_SECONDS = 0.3
GIVE_UP_SECONDS = 300


TAKE_OVER_SECONDS = 0.5  # how often a worker looks for deliveries a dead worker left


def nothing_left(bot_state) -> bool:
    """No delivery under way or abandoned: no claim (released ones are deleted), no outbox message."""
    with bot_state.transaction(write=False) as tx:
        claims = tx.execute("SELECT count(*) FROM delivery_claims").fetchone()[0]
        outbox = tx.execute("SELECT count(*) FROM outbox").fetchone()[0]
    return claims == 0 and outbox == 0


async def fire_and_wait(library_db: str, state_location: str, base_url: str, token: str) -> None:
    library = Library(library_db, seed=False)
    bot_state = open_state(state_location)
    application = build_application(Settings(token=token, base_url=base_url), library, bot_state=bot_state)
    async with application:
        await application.start()
        print("ready", flush=True)
        fire_at = float(await asyncio.to_thread(sys.stdin.readline))
        when = datetime.fromtimestamp(fire_at, timezone.utc)
        for subscription in bot_state.active():
            application.job_queue.run_once(
                schedule.deliver_job,
                when,
                data=(subscription.chat_id, subscription.topic),
                name=subscription.job_name,
                job_kwargs={"misfire_grace_time": None},  # a worker slow to start fires late, not never
            )
        application.job_queue.run_repeating(schedule.take_over_abandoned, TAKE_OVER_SECONDS, name="take over")
        await asyncio.sleep(max(0.0, fire_at - time.time()))
        quiet, deadline = 0, time.monotonic() + GIVE_UP_SECONDS
        while quiet < QUIET_CHECKS and time.monotonic() < deadline:
            await asyncio.sleep(CHECK_SECONDS)
            pending = [job for job in application.job_queue.jobs() if job.name != "take over"]
            idle = not pending and await asyncio.to_thread(nothing_left, bot_state)
            quiet = quiet + 1 if idle else 0
        await application.stop()
    bot_state.close()


def start_workers(
    library_db,
    state_location: str,
    base_url: str,
    tokens: list[str],
    lease_seconds: float | None = None,
) -> tuple[list[subprocess.Popen], float]:
    """One worker process per bot token; once all are ready they fire together. Returns the
    processes and the moment they fire."""
    lease = {"BRIEFBOT_DELIVERY_LEASE": str(lease_seconds)} if lease_seconds else {}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.delivery_worker", str(library_db), state_location, base_url, token],
            cwd=REPO,
            env={**os.environ, **lease, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for token in tokens
    ]
    for worker in workers:
        if worker.stdout.readline().strip() != "ready":
            raise RuntimeError(f"a worker did not start:\n{worker.stderr.read()[-3000:]}")
    fire_at = time.time() + FIRE_DELAY
    for worker in workers:
        worker.stdin.write(f"{fire_at}\n")
        worker.stdin.flush()
    return workers, fire_at


if __name__ == "__main__":
    asyncio.run(fire_and_wait(*sys.argv[1:5]))
