"""Date phrases in questions ("最近", "last month", "2026年1月", "in November") as date scopes.

A phrase becomes either a window that filters articles (explicit months, this week, last
month...) or a weight (recency for "latest"; a soft boost for a month named without a year,
which often names when a fact happened rather than when it was reported). Relative phrases
count from today, or from the newest article when the corpus has nothing that recent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from .models import Note

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        1,
    )
    for name in names
}
CHINESE_NUMBERS = {**{ch: n for n, ch in enumerate("一二三四五六七八九十", 1)}, "十一": 11, "十二": 12}
_ZH_MONTH = r"(?P<zm>1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])\s*月(?:份)?"
_EN_MONTH = r"(?P<em>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"

RECENT_DAYS = 30
RECENCY_BOOST = 2.0  # the newest article's score counts up to three times
RECENCY_HALF_DAYS = 30  # ... and one a month older twice
_ZH_COUNT = "[一二两三四五六七八九十]"
COUNT_WORDS = {**CHINESE_NUMBERS, "两": 2, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
UNIT_DAYS = {"天": 1, "日": 1, "周": 7, "星期": 7, "月": 30, "个月": 30, "day": 1, "week": 7, "month": 30}

# Order matters: the first pattern that matches wins, so longer and more specific come first.
_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("year_month", re.compile(rf"(?P<y>20\d\d)\s*年\s*{_ZH_MONTH}")),
    ("year_month", re.compile(r"\b(?P<y>20\d\d)[-/.](?P<nm>1[0-2]|0?[1-9])\b")),
    ("year_month", re.compile(rf"(?i)\b(?:in\s+|from\s+|during\s+)?{_EN_MONTH},?\s+(?P<y>20\d\d)\b")),
    ("last_days", re.compile(rf"(?:过去|最近|近)\s*(?P<n>\d{{1,3}}|{_ZH_COUNT})\s*(?P<unit>天|日|周|星期|个?月)")),
    (
        "last_days",
        re.compile(
            r"(?i)\b(?:in\s+|over\s+)?(?:the\s+)?(?:last|past)\s+(?P<n>\d{1,3}|two|three|four|five|six)\s+"
            r"(?P<unit>days?|weeks?|months?)\b"
        ),
    ),
    ("this_week", re.compile(r"(?i)本周|这周|这一周|这个星期|本星期|\bthis\s+week\b")),
    ("last_week", re.compile(r"(?i)上周|上一周|上个星期|上星期|\blast\s+week\b|\bpast\s+week\b")),
    ("this_month", re.compile(r"(?i)本月|这个月|这一个月|\bthis\s+month\b")),
    ("last_month", re.compile(r"(?i)上个月|上月|上一个月|\blast\s+month\b|\bpast\s+month\b")),
    ("today", re.compile(r"(?i)今天|今日|\btoday\b")),
    ("yesterday", re.compile(r"(?i)昨天|昨日|\byesterday\b")),
    ("this_year", re.compile(r"(?i)今年|本年度|\bthis\s+year\b")),
    ("last_year", re.compile(r"(?i)去年|\blast\s+year\b")),
    (
        "recent",
        re.compile(
            r"(?i)最近|最新|近期|近来|近日|现在|目前|当前|如今|眼下|"
            r"\b(?:the\s+)?(?:most\s+recent|latest|newest|recent(?:ly)?|lately|currently|right\s+now|at\s+present|these\s+days)\b"
        ),
    ),
    ("month", re.compile(rf"(?<![\d年]){_ZH_MONTH}")),
    (
        "month",
        re.compile(
            r"(?i)\b(?:in\s+|from\s+|during\s+)?(?P<em2>january|february|march|april|june|july|"
            r"august|september|october|november|december|sept)\b"
        ),
    ),
    ("year", re.compile(r"(?<!\d)(?P<y>20\d\d)\s*年(?!\s*\d)|(?i:\b(?:in|from|during)\s+(?P<y2>20\d\d)\b)")),
]
RELATIVE = {
    "last_days",
    "this_week",
    "last_week",
    "this_month",
    "last_month",
    "today",
    "yesterday",
    "this_year",
    "last_year",
    "recent",
}


@dataclass(frozen=True)
class DateScope:
    """What a question's date phrase asks for: a window, and whether it filters or only weighs."""

    phrase: str
    start: date | None
    end: date | None
    filter: bool = True
    recent: bool = False
    notes: tuple[Note, ...] = field(default=())

    def contains(self, day: date) -> bool:
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class DatePhrase:
    kind: str
    text: str
    span: tuple[int, int]
    year: int | None = None
    month: int | None = None
    days: int | None = None


def find_date_phrase(text: str) -> DatePhrase | None:
    """The first date phrase in a question, or None."""
    for kind, pattern in _PATTERNS:
        match = pattern.search(text)
        if match:
            return _phrase(kind, match)
    return None


def _phrase(kind: str, match: re.Match) -> DatePhrase:
    groups = {key: value for key, value in match.groupdict().items() if value}
    month = None
    if "zm" in groups:
        month = int(groups["zm"]) if groups["zm"].isdigit() else CHINESE_NUMBERS[groups["zm"]]
    elif "nm" in groups:
        month = int(groups["nm"])
    elif "em" in groups or "em2" in groups:
        month = MONTHS[(groups.get("em") or groups["em2"]).lower()]
    year = groups.get("y") or groups.get("y2")
    days = None
    if "unit" in groups:
        count = groups.get("n", "1")
        count = int(count) if count.isdigit() else COUNT_WORDS[count.lower()]
        days = count * UNIT_DAYS[groups["unit"].lower().rstrip("s")]
    return DatePhrase(kind, match.group(), match.span(), int(year) if year else None, month, days)


def strip_phrase(text: str, phrase: DatePhrase) -> str:
    """The question without its date phrase."""
    return (text[: phrase.span[0]] + " " + text[phrase.span[1] :]).strip()


def month_window(year: int, month: int) -> tuple[date, date]:
    start = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return start, following - timedelta(days=1)


def resolve(phrase: DatePhrase, today: date, newest: date | None) -> DateScope:
    """Turn a phrase into dates, counting relative phrases from the newest article when the
    corpus has nothing in the window that today gives."""
    if phrase.kind not in RELATIVE:
        return _absolute(phrase, newest or today)
    scope = _relative(phrase, today)
    if newest is None or newest >= (scope.start or newest) or newest >= today:
        return scope
    anchored = _relative(phrase, newest)
    note = Note.of("counted_from_newest", phrase=phrase.text.strip(), newest=newest.isoformat())
    return DateScope(anchored.phrase, anchored.start, anchored.end, anchored.filter, anchored.recent, (note,))


def _relative(phrase: DatePhrase, anchor: date) -> DateScope:
    kind, text = phrase.kind, phrase.text
    if kind == "recent":
        return DateScope(text, anchor - timedelta(days=RECENT_DAYS - 1), anchor, filter=False, recent=True)
    if kind == "last_days":
        return DateScope(text, anchor - timedelta(days=max(phrase.days or 1, 1) - 1), anchor)
    if kind == "this_week":
        return DateScope(text, anchor - timedelta(days=anchor.weekday()), anchor)
    if kind == "last_week":
        monday = anchor - timedelta(days=anchor.weekday() + 7)
        return DateScope(text, monday, monday + timedelta(days=6))
    if kind == "this_month":
        return DateScope(text, anchor.replace(day=1), anchor)
    if kind == "last_month":
        previous = anchor.replace(day=1) - timedelta(days=1)
        return DateScope(text, *month_window(previous.year, previous.month))
    if kind == "today":
        return DateScope(text, anchor, anchor)
    if kind == "yesterday":
        return DateScope(text, anchor - timedelta(days=1), anchor - timedelta(days=1))
    if kind == "this_year":
        return DateScope(text, date(anchor.year, 1, 1), anchor)
    return DateScope(text, date(anchor.year - 1, 1, 1), date(anchor.year - 1, 12, 31))  # last_year


def _absolute(phrase: DatePhrase, latest: date) -> DateScope:
    """A month named without a year is the latest such month up to `latest` (the newest article)."""
    if phrase.kind == "year_month":
        return DateScope(phrase.text, *month_window(phrase.year, phrase.month))
    if phrase.kind == "year":
        return DateScope(phrase.text, date(phrase.year, 1, 1), date(phrase.year, 12, 31), filter=False)
    year = latest.year if phrase.month <= latest.month else latest.year - 1
    return DateScope(phrase.text, *month_window(year, phrase.month), filter=False)


def date_weight(scope: DateScope, day: date) -> float:
    """How much a date scope that weighs (rather than filters) favours an article of `day`."""
    if scope.recent and scope.end is not None:
        age = max((scope.end - day).days, 0)
        return 1.0 + RECENCY_BOOST / (1.0 + age / RECENCY_HALF_DAYS)
    if scope.contains(day):
        return 1.5
    if scope.end is not None and timedelta(0) < day - scope.end <= timedelta(days=31):
        return 1.25  # reported in the month after the month it names
    return 1.0
