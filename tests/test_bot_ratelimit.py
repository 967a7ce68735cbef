"""The per-user request limit, counted in the bot's state so every worker shares it."""

from bot.ratelimit import RequestLimiter
from bot.state import Verdict, open_state


def test_two_workers_share_one_budget(database_location):
    first_worker, second_worker = open_state(database_location), open_state(database_location)
    try:
        limiters = [RequestLimiter(first_worker, limit=3, window=60), RequestLimiter(second_worker, limit=3, window=60)]
        verdicts = [limiters[n % 2].check(1, float(n)) for n in range(5)]
        assert verdicts == [Verdict.ALLOW] * 3 + [Verdict.NOTIFY, Verdict.SILENT]
        assert limiters[1].check(2, 5.0) is Verdict.ALLOW
        assert limiters[0].check(1, 60.5) is Verdict.ALLOW
    finally:
        first_worker.close()
        second_worker.close()
