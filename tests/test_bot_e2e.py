"""`briefbot run` as a real process against a loopback Bot API server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.deployment import image_command, path_with_this_python
from tests.fake_telegram import (
    BOT_USERNAME,
    TOKEN,
    FakeTelegramServer,
    bot_message,
    callback_update,
    group_chat,
    inline_update,
    message_update,
    private_chat,
    telegram_html_problems,
    user,
)

REPO = Path(__file__).resolve().parent.parent
GROUP = group_chat(-100555)


def start_bot(server: FakeTelegramServer, db: Path, *extra: str, **env: str) -> subprocess.Popen:
    environment = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": server.base_url,
        "BRIEFBOT_DB": str(db),
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    command = [sys.executable, "-m", "bot", "run", *extra]
    return subprocess.Popen(
        command, cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def start_webhook_bot(server: FakeTelegramServer, db: Path, port: int, **env: str) -> subprocess.Popen:
    """The container image's own command (its CMD, read from deploy/Dockerfile), serving the
    webhook at http://127.0.0.1:`port`/hook, and /healthz and /metrics."""
    environment = webhook_environment(server, db, port, **env)
    return subprocess.Popen(
        image_command(), cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def webhook_environment(server: FakeTelegramServer, db: Path, port: int, **env: str) -> dict[str, str]:
    """The environment a container would give the image's command, for this machine."""
    return {
        **os.environ,
        "PATH": path_with_this_python(),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": server.base_url,
        "BRIEFBOT_DB": str(db),
        "BRIEFBOT_WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
        "BRIEFBOT_LISTEN": "127.0.0.1",
        "BRIEFBOT_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
        **env,
    }


def stop(process: subprocess.Popen) -> str:
    """Stop the bot (SIGTERM, then kill) and return its log."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    return process.stdout.read() + process.stderr.read()


def wait_for(condition, timeout: float = 15.0, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        if process is not None and process.poll() is not None:
            pytest.fail(f"bot exited early:\n{stop(process)}")
        time.sleep(0.05)
    pytest.fail("timed out waiting for the bot")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_polling_bot_answers_real_updates_with_valid_html(seeded_library):
    with FakeTelegramServer() as server:
        api = server.api
        api.members[(GROUP["id"], 1001)] = "administrator"
        process = start_bot(server, seeded_library.db_path)
        try:
            wait_for(lambda: api.sent("getUpdates"), process=process)
            assert {c.params.get("language_code") for c in api.sent("setMyCommands")} == {None, "zh"}

            def replies_to(chat_id: int, count: int):
                return wait_for(
                    lambda: (
                        len(found := [c for c in api.sent("sendMessage") if c.chat_id == chat_id]) >= count and found
                    ),
                    process=process,
                )

            api.push_update(message_update("美澳稀土协议总金额是多少?", sender=user(1001, "zh")))
            [answer] = replies_to(1001, 1)
            assert "1. <b>" in answer.text and "<b>" in answer.text
            more = answer.params["reply_markup"]["inline_keyboard"][0][0]
            assert more["text"].startswith("更多")

            shown = bot_message(answer.text, private_chat(user(1001)), answer.params["reply_markup"])
            api.push_update(callback_update(more["callback_data"], shown, sender=user(1001, "zh")))
            wait_for(lambda: api.sent("editMessageText") and api.sent("answerCallbackQuery"), process=process)

            api.push_update(message_update("/topics", sender=user(1001)))
            topics = replies_to(1001, 2)[1]
            assert topics.params["reply_markup"]["inline_keyboard"]

            api.push_update(inline_update("rare earth magnets"))
            inline = wait_for(lambda: api.sent("answerInlineQuery"), process=process)[0]
            assert 1 <= len(inline.params["results"]) <= 10

            api.push_update(message_update("who cares about rare earths", chat=GROUP))
            api.push_update(message_update(f"/subscribe@{BOT_USERNAME} 稀土 weekly 07:30", chat=GROUP))
            [subscribed] = replies_to(GROUP["id"], 1)
            assert "稀土" in subscribed.text and "07:30" in subscribed.text
            assert api.sent("getChatMember")
        finally:
            log = stop(process)
        texts = [c.text for c in api.sent("sendMessage", "editMessageText")]
        texts += [r["input_message_content"]["message_text"] for r in inline.params["results"]]
        for text in texts:
            assert telegram_html_problems(text) == [], text
        assert TOKEN not in log and TOKEN.split(":")[1] not in log
        assert "Traceback" not in log


def test_webhook_mode_checks_the_secret_token(seeded_library):
    port = free_port()
    with FakeTelegramServer() as server:
        api = server.api
        url = f"http://127.0.0.1:{port}/hook"
        process = start_webhook_bot(server, seeded_library.db_path, port, BRIEFBOT_WEBHOOK_SECRET="s3cret-Token_1")
        try:
            [registered] = wait_for(lambda: api.sent("setWebhook"), process=process)
            assert registered.params["url"] == url and registered.params["secret_token"] == "s3cret-Token_1"

            def post(secret: str) -> int:
                body = json.dumps(message_update("/latest 2", sender=user(1003))).encode()
                request = urllib.request.Request(
                    url,
                    data=body,
                    headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
                )
                try:
                    return wait_for(lambda: _status(request), process=process)
                except urllib.error.HTTPError as error:
                    return error.code

            assert post("wrong") == 403
            assert post("s3cret-Token_1") == 200
            [latest] = wait_for(lambda: [c for c in api.sent("sendMessage") if c.chat_id == 1003], process=process)
            assert "\n2. " in latest.text and latest.text.startswith("<b>Latest 2 articles</b>")
        finally:
            log = stop(process)
        assert TOKEN not in log


def _status(request) -> int | None:
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (ConnectionError, urllib.error.URLError):
        return None  # not listening yet


def test_run_without_a_token_says_how_to_get_one(tmp_path):
    environment = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=REPO, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "@BotFather" in result.stderr and len(result.stderr.strip().splitlines()) == 1
