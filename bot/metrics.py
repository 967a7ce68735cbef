"""What an operator counts: one Metrics per Application, on its own Prometheus registry (not
the library's global one), so several Applications in one process keep separate counts."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.ext import AIORateLimiter

from retrieval.models import Answer

# Telegram's HTTP status for each refusal PTB raises; a timeout or a dropped connection has none.
ERROR_CODES = (
    (ChatMigrated, "400"),
    (RetryAfter, "429"),
    (Forbidden, "403"),
    (InvalidToken, "401"),
    (EndPointNotFound, "404"),
    (Conflict, "409"),
    (BadRequest, "400"),
)
ANSWER_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
INGEST_SECONDS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


def error_code(error: TelegramError) -> str:
    """The HTTP status Telegram answered with, "" when it never answered."""
    return next((code for kind, code in ERROR_CODES if isinstance(error, kind)), "")


class Metrics:
    """Questions, abstentions and answer time; digest messages sent and failed; Telegram's
    errors by code and kind; the index generation; ingest time."""

    def __init__(self, index_generation: Callable[[], int | None]) -> None:
        """`index_generation()`: the generation of the index this worker answers from (None
        before it is loaded), read at each scrape."""
        self.registry = CollectorRegistry()
        registry = self.registry
        self.questions = Counter("briefbot_questions", "Questions answered (chat and inline).", registry=registry)
        self.abstentions = Counter(
            "briefbot_abstentions", "Questions that nothing in the corpus answers.", registry=registry
        )
        self.answer_seconds = Histogram(
            "briefbot_answer_seconds", "Time to answer a question.", buckets=ANSWER_SECONDS, registry=registry
        )
        self.deliveries_sent = Counter(
            "briefbot_deliveries_sent", "Scheduled digest messages Telegram accepted.", registry=registry
        )
        self.deliveries_failed = Counter(
            "briefbot_deliveries_failed",
            "Scheduled digest messages that failed (refused, or the answer was lost).",
            registry=registry,
        )
        self.telegram_errors = Counter(
            "briefbot_telegram_errors",
            "Bot API calls that failed, by HTTP status (empty: no answer) and PTB error class.",
            ["code", "kind"],
            registry=registry,
        )
        self.index_generation = Gauge(
            "briefbot_index_generation", "Generation of this worker's search index (-1: not loaded).", registry=registry
        )
        self.index_generation.set_function(lambda: _or_minus_one(index_generation()))
        self.ingest_seconds = Histogram(
            "briefbot_ingest_seconds", "Time to ingest an uploaded export.", buckets=INGEST_SECONDS, registry=registry
        )

    def answered(self, answer: Answer, seconds: float) -> None:
        self.questions.inc()
        self.answer_seconds.observe(seconds)
        if not (answer.answered and answer.hits):  # what `ask --json` reports as "answered": false
            self.abstentions.inc()

    def telegram_error(self, error: TelegramError) -> None:
        self.telegram_errors.labels(code=error_code(error), kind=type(error).__name__).inc()

    def exposition(self) -> bytes:
        """Everything, in Prometheus' text format."""
        return generate_latest(self.registry)


def _or_minus_one(value: int | None) -> float:
    return -1.0 if value is None else float(value)


class CountingRateLimiter(AIORateLimiter):
    """PTB's rate limiter, which every Bot API call but getUpdates passes through, counting
    each error Telegram answers with, flood waits it retries included."""

    def __init__(self, metrics: Metrics, **limits) -> None:
        super().__init__(**limits)
        self.metrics = metrics

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        async def counted(*call_args, **call_kwargs):
            try:
                return await callback(*call_args, **call_kwargs)
            except TelegramError as error:
                self.metrics.telegram_error(error)
                raise

        return await super().process_request(counted, args, kwargs, endpoint, data, rate_limit_args)
