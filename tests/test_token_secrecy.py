"""The bot token never appears in anything briefbot prints or logs, even when Telegram
rejects it or a failure's message carries it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.conftest import REPO
from tests.fake_telegram import TOKEN, FakeTelegram, FakeTelegramServer

REJECTED = "Error: Telegram rejected the bot token; check TELEGRAM_BOT_TOKEN.\n"


class RejectingTelegram(FakeTelegram):
    """A Bot API that answers every call as Telegram does for a revoked token."""

    def handle(self, method, params, token=""):
        self.calls.append(method)
        return self._error(401, "Unauthorized")


@pytest.fixture
def rejecting_api():
    with FakeTelegramServer(RejectingTelegram()) as server:
        yield server


@pytest.mark.parametrize("debug", ["", "1"], ids=["plain", "BRIEFBOT_DEBUG"])
def test_a_rejected_token_is_reported_without_printing_it(rejecting_api, tmp_path, debug):
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": rejecting_api.base_url,
        "BRIEFBOT_DB": str(tmp_path / "bot.db"),
        "BRIEFBOT_DEBUG": debug,
    }
    finished = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert rejecting_api.api.calls, "the bot never reached the fake Bot API"
    for stream in (finished.stdout, finished.stderr):
        assert TOKEN not in stream
        assert TOKEN.split(":")[1] not in stream  # nor the secret half alone
    assert finished.returncode == 2
    assert finished.stderr.endswith(REJECTED)


def test_an_unexpected_failure_that_mentions_the_token_prints_it_masked(monkeypatch, tmp_path):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)

    def failing_topics(self):
        raise RuntimeError(f"request to https://api.telegram.org/bot{TOKEN}/getMe failed")

    monkeypatch.setattr("retrieval.Library.topics", failing_topics)
    result = CliRunner().invoke(cli, ["topics", "--db", str(tmp_path / "t.db")])
    assert result.exit_code == 1
    assert result.output == (
        "Error: unexpected failure (RuntimeError: request to https://api.telegram.org/bot<token>/getMe failed). "
        "Run again with BRIEFBOT_DEBUG=1 for details.\n"
    )
