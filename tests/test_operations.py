"""What an operator sees: /healthz and /metrics on the webhook server, the container's health
probe, the counts behind the metrics, and JSON logs."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import subprocess
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import schedule
from bot.app import JsonFormatter, Settings, TokenFilter
from bot.metrics import Metrics
from tests.deployment import image_healthcheck
from tests.exports import export_text
from tests.fake_telegram import TOKEN, FakeTelegramServer, document_update, message_update, user
from tests.loopback import loopback_bot
from tests.test_bot_e2e import free_port, start_webhook_bot, stop, wait_for, webhook_environment

ANSWERED = "美澳稀土协议总金额是多少?"
UNANSWERABLE = "Who won the 1998 football World Cup?"
SECRET = "0ps-s3cret"


def get(url: str) -> tuple[int, str, str]:
    """Status, content type and body of GET `url`."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def post_update(url: str, update: dict) -> int:
    body = json.dumps(update).encode()
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=5) as response:
        return response.status


def samples(exposition: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a Prometheus text exposition: (name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def probe(environment: dict[str, str]) -> subprocess.CompletedProcess:
    """The image's HEALTHCHECK command, run here with the bot's environment."""
    return subprocess.run(image_healthcheck(), env=environment, capture_output=True, text=True, timeout=30)


def test_healthz_and_metrics_on_the_webhook_server_of_the_image_command(seeded_library):
    """/healthz: 200, then 503 when the database moves ahead of the index, then 200 once the
    index caught up; /metrics counts the question asked through the webhook."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with FakeTelegramServer() as server:
        settings = {"BRIEFBOT_WEBHOOK_SECRET": SECRET, "BRIEFBOT_LOG_FORMAT": "json"}
        process = start_webhook_bot(server, seeded_library.db_path, port, **settings)
        environment = webhook_environment(server, seeded_library.db_path, port, **settings)
        try:
            wait_for(lambda: server.api.sent("setWebhook"), process=process)
            status, kind, body = get(f"{base}/healthz")
            generation = seeded_library.store.generation()
            assert (status, kind) == (200, "application/json; charset=UTF-8")
            current = {"database_generation": generation, "index_generation": generation}
            assert json.loads(body) == {"status": "ok", **current}
            assert probe(environment).returncode == 0

            status, kind, body = get(f"{base}/metrics")
            assert status == 200 and kind.startswith("text/plain; version=")
            before = samples(body)
            assert before[("briefbot_questions_total", ())] == 0
            assert before[("briefbot_index_generation", ())] == generation

            assert post_update(f"{base}/hook", message_update(ANSWERED, sender=user(1005, "zh"))) == 200
            wait_for(lambda: [c for c in server.api.sent("sendMessage") if c.chat_id == 1005], process=process)
            after = samples(get(f"{base}/metrics")[2])
            assert after[("briefbot_questions_total", ())] == 1
            assert after[("briefbot_answer_seconds_count", ())] == 1
            assert 0 < after[("briefbot_answer_seconds_sum", ())] < 30
            assert after[("briefbot_abstentions_total", ())] == 0

            with sqlite3.connect(seeded_library.db_path) as db:  # another worker ingested
                db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
            stale = probe(environment)  # the first look: catching up takes milliseconds once started
            assert stale.returncode == 1
            assert json.loads(stale.stdout) == {
                "status": "unavailable",
                "reason": f"search index at generation {generation}, database at {generation + 1}",
                "database_generation": generation + 1,
                "index_generation": generation,
            }
            caught_up = wait_for(lambda: (reply := get(f"{base}/healthz"))[0] == 200 and json.loads(reply[2]))
            assert caught_up["index_generation"] == generation + 1  # the 503 set the index catching up
        finally:
            log = stop(process)
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert TOKEN not in log and TOKEN.split(":")[1] not in log


@pytest.fixture
def app(seeded_library):
    with loopback_bot(seeded_library) as harness:
        yield harness


def metric(harness, name: str, **labels: str) -> float:
    value = harness.application.bot_data["metrics"].registry.get_sample_value(name, labels or None)
    return value or 0.0


def test_questions_and_abstentions_are_counted_per_application(app, seeded_library):
    assert seeded_library.ask(UNANSWERABLE).answered is False  # what the counts below rely on
    app.send(message_update(ANSWERED))
    app.send(message_update(UNANSWERABLE))
    assert metric(app, "briefbot_questions_total") == 2
    assert metric(app, "briefbot_answer_seconds_count") == 2
    assert metric(app, "briefbot_abstentions_total") == 1
    with loopback_bot(seeded_library) as other:
        assert metric(other, "briefbot_questions_total") == 0


def test_deliveries_sent_and_failed_and_telegram_errors_by_code(app, seeded_library):
    app.send(message_update("/subscribe 钕 daily 09:00"))
    job_queue = app.application.job_queue
    assert app.run(schedule.deliver(app.application.bot, seeded_library, app.application.bot_data["state"], 1001, "钕", job_queue)) == 3
    assert metric(app, "briefbot_deliveries_sent_total") == 1
    app.send(message_update("/subscribe 钕 daily 09:00", sender=user(1002)))
    app.api.blocked.add(1002)
    assert app.run(schedule.deliver(app.application.bot, seeded_library, app.application.bot_data["state"], 1002, "钕", job_queue)) is None
    assert metric(app, "briefbot_deliveries_failed_total") == 1
    assert metric(app, "briefbot_telegram_errors_total", code="403", kind="Forbidden") == 1


def test_an_uploaded_export_is_timed_and_the_index_generation_follows(seeded_library):
    owner = user(4242)
    with loopback_bot(seeded_library, admins=frozenset({owner["id"]})) as app:
        generation = seeded_library.store.generation()
        app.api.files["f1"] = export_text("合成", 2).encode()
        app.send(document_update("f1", "new.txt", "/ingest", sender=owner))
        assert metric(app, "briefbot_ingest_seconds_count") == 1
        assert metric(app, "briefbot_index_generation") == seeded_library.store.generation() > generation


def test_the_metrics_name_an_unloaded_index_minus_one():
    metrics = Metrics(lambda: None)
    assert samples(metrics.exposition().decode())[("briefbot_index_generation", ())] == -1


def test_json_logs_are_one_object_per_line_with_the_token_masked():
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.addFilter(TokenFilter(TOKEN))
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("briefbot.json_test")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        raise RuntimeError(f"refused {TOKEN}")
    except RuntimeError:
        logger.exception("calling %s failed", TOKEN)
    finally:
        logger.removeHandler(handler)
    [line] = written.getvalue().splitlines()
    entry = json.loads(line)
    assert TOKEN not in line
    assert entry["level"] == "ERROR" and entry["logger"] == "briefbot.json_test"
    assert entry["message"] == "calling <token> failed"
    assert entry["exception"].startswith("Traceback") and "RuntimeError: refused <token>" in entry["exception"]
    assert entry["time"].endswith("+00:00")


@pytest.mark.parametrize("value, expected", [("", "text"), ("json", "json"), ("JSON", "json"), ("text", "text")])
def test_the_log_format_setting(monkeypatch, value, expected):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("BRIEFBOT_LOG_FORMAT", value)
    assert Settings.from_environment().log_format == expected


def test_an_unknown_log_format_is_refused(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("BRIEFBOT_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="BRIEFBOT_LOG_FORMAT is 'xml'; use text or json"):
        Settings.from_environment()
