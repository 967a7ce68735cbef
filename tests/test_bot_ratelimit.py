"""The per-user question limit."""

from bot.ratelimit import RequestLimiter, Verdict


def test_over_the_limit_one_notice_then_silence_until_the_window_passes():
    limiter = RequestLimiter(limit=3, window=60)
    assert [limiter.check(1, t) for t in (0, 1, 2)] == [Verdict.ALLOW] * 3
    assert limiter.check(1, 3) is Verdict.NOTIFY
    assert limiter.check(1, 4) is Verdict.SILENT
    assert limiter.check(2, 5) is Verdict.ALLOW
    assert limiter.check(1, 60.5) is Verdict.ALLOW
    assert limiter.check(1, 61) is Verdict.ALLOW
    assert limiter.check(1, 61.5) is Verdict.NOTIFY
    assert limiter.check(1, 62) is Verdict.ALLOW
