"""Workers on one PostgreSQL database, each with its own index (as on separate hosts): an
article ingested through one is answered by another within two seconds, the other worker
indexing just what it lacks; shown for two bot workers behind their webhooks, and for two
library processes (and on SQLite, two processes sharing one index folder)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO
from tests.exports import export_text

WITHIN_SECONDS = 2.0


def start_worker(database: str, data_home) -> subprocess.Popen:
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.index_worker", database],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "XDG_DATA_HOME": str(data_home)},
    )
    assert json.loads(worker.stdout.readline()) == {"ready": True}, worker.stderr.read()
    return worker


def ask(worker: subprocess.Popen, question: str) -> dict:
    worker.stdin.write(question + "\n")
    worker.stdin.flush()
    return json.loads(worker.stdout.readline())


def ingest(database: str, path, data_home) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ingest", str(path), "--db", database],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "XDG_DATA_HOME": str(data_home)},
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_an_article_ingested_through_one_worker_is_answered_by_another_within_two_seconds(
    backend, request, tmp_path
):
    database = request.getfixturevalue("postgres_url") if backend == "postgresql" else str(tmp_path / "shared.db")
    homes = [tmp_path / "host-a", tmp_path / "host-b"] if backend == "postgresql" else [tmp_path / "one-host"] * 2
    answering = start_worker(database, homes[1])
    try:
        assert ask(answering, "合成标题 4242 稀土")["title"] != "合成标题 4242 稀土"
        export = tmp_path / "new.txt"
        export.write_text(export_text("合成", 3, first=4241), encoding="utf-8")
        ingest(database, export, homes[0])
        started = time.perf_counter()
        answer = ask(answering, "item4242")
        elapsed = time.perf_counter() - started
        assert answer["title"] == "合成标题 4242 稀土"
        assert elapsed < WITHIN_SECONDS, f"the other worker answered after {elapsed:.2f} s"
    finally:
        answering.stdin.close()
        answering.wait(timeout=30)


def test_an_export_uploaded_to_one_webhook_worker_is_answered_by_another_within_two_seconds(postgres_url, tmp_path):
    """Two bot workers (the image's command) on one PostgreSQL database, each with its own index
    as on two hosts: an owner uploads an export to the first, a user asks the second."""
    from tests.fake_telegram import FakeTelegramServer, document_update, message_update, user
    from tests.test_bot_e2e import free_port, start_webhook_bot, stop, wait_for
    from tests.test_operations import SECRET, post_update

    owner, asker = user(4242), user(5151)
    settings = {"BRIEFBOT_WEBHOOK_SECRET": SECRET, "BRIEFBOT_ADMINS": str(owner["id"])}
    ports = [free_port(), free_port()]
    with FakeTelegramServer() as server:
        server.api.files["f1"] = export_text("合成", 3, first=7770).encode()
        workers = [
            start_webhook_bot(server, postgres_url, port, XDG_DATA_HOME=str(tmp_path / f"host-{n}"), **settings)
            for n, port in enumerate(ports)
        ]
        try:
            wait_for(lambda: len(server.api.sent("setWebhook")) == 2, timeout=60, process=workers[1])
            assert post_update(f"http://127.0.0.1:{ports[0]}/hook", document_update("f1", "new.txt", "/ingest", sender=owner)) == 200
            wait_for(lambda: [c for c in server.api.sent("sendMessage") if c.chat_id == owner["id"]], timeout=60, process=workers[0])
            started = time.perf_counter()
            assert post_update(f"http://127.0.0.1:{ports[1]}/hook", message_update("item7771", sender=asker)) == 200
            reply = wait_for(
                lambda: [c for c in server.api.sent("sendMessage") if c.chat_id == asker["id"]], timeout=30, process=workers[1]
            )
            elapsed = time.perf_counter() - started
        finally:
            logs = [stop(worker) for worker in workers]
    assert "合成标题 7771 稀土" in reply[0].text, logs[1][-2000:]
    assert elapsed < WITHIN_SECONDS, f"the other worker answered after {elapsed:.2f} s"
