"""What a question asks for beyond its words: a kind of figure (an amount of money, a share,
a quantity, a time) and a direction (fell or rose, loss or gain). Bullets that give that
kind of figure, in that direction, answer it; the figure is what a reader sees marked.

The word lists here are general English and Chinese (question words, units, verbs of
rising and falling), not words of any one corpus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .tokenize import normalize_script

UP, DOWN = 1, -1

_KIND_QUESTIONS = {
    "share": r"占比|比例|份额|百分之|百分比|多少\s*%|几成|占[^,，。?？]{0,6}(?:多少|几)|percent|percentage|\bshare\b|proportion|"
    r"what\s+fraction|how\s+much\s+of\s+(?:the\s+)?(?:world|global|total)",
    "money": r"多少钱|金额|资金|投资|投了|花了|美元|人民币|亏了多少|赚了多少|营收|利润|市值|how\s+much\s+(?:money|did|does|is|was|will)|"
    r"\bcost|\bprice|\bworth\b|\binvest|\bdollars?\b|\bfund|revenue|profit|\bloss\b|\bdebt",
    "quantity": r"多少吨|几吨|吨|公斤|产量|储量|产能|出口量|进口量|how\s+many\s+tons|\btons?\b|tonnes|\bkg\b|kilograms?|output|"
    r"production|reserves?|capacity",
    "time": r"什么时候|何时|哪年|哪一年|几月|几号|哪天|多久|截止|期限|\bwhen\b|what\s+year|which\s+year|deadline|how\s+long|\bby\s+when",
    "count": r"多少[个家种项份名人]|几[个家种项份名]|how\s+many|number\s+of",
}
_KINDS = {kind: re.compile(f"(?i){pattern}") for kind, pattern in _KIND_QUESTIONS.items()}
_ANY_FIGURE = re.compile(
    r"(?i)多少|几[个种家年月天吨]|[数产储销用存总]量|消费量|数目|比例|金额|规模|份额|占比|百分|多[大深高长久重]|深度|"
    r"how\s+(?:much|many|deep|large|big|long)|number|percent|share|amount|\bin\s+tons\b|figure"
)

_UP_WORDS = (
    r"涨|上升|增长|增加|提高|提升|盈利|赚|攀升|走高|飙升|回升|扩大|"
    r"\b(?:ris(?:e|es|ing|en)|rose|increas\w*|gr(?:ow|ew|own|ows|owing|owth)|gain\w*|up|surg\w*|jump\w*|climb\w*|higher|"
    r"soar\w*|profit\w*|boost\w*|rebound\w*|expand\w*)\b"
)
_DOWN_WORDS = (
    r"跌|下降|减少|降低|亏|下滑|回落|萎缩|赤字|缩水|"
    r"\b(?:fall\w*|fell|drop\w*|declin\w*|decreas\w*|down|los(?:e|es|ing|s|ses)|lost|plung\w*|slump\w*|lower\w*|"
    r"shr(?:ink|ank|unk)\w*|deficit\w*|sl(?:id|ide|ides)|tumbl\w*)\b"
)
UP_PATTERN = re.compile(f"(?i){_UP_WORDS}")
DOWN_PATTERN = re.compile(f"(?i){_DOWN_WORDS}")
_DIGITS = re.compile(r"\d[\d,]*(?:\.\d+)?")
_AFTER_NUMBER = re.compile(
    r"(?i)(?P<scale>\s?(?:trillion|billion|million|thousand|bn|mn)(?![a-z])|\s?[亿万])?"
    r"(?:\s?(?P<percent>%|percent(?![a-z])|per\s+cent(?![a-z]))"
    r"|\s?(?:metric\s+)?(?P<weight>tons|tonnes|ton|kilograms|kg)(?![a-z])|\s?(?P<weight_zh>吨|公斤|千克)"
    r"|\s?(?P<currency>dollars|yuan|euros?|yen|rubles?)(?![a-z])|(?P<currency_zh>美元|元|日元|卢布|欧元))?"
)
_HAS_FIGURE = re.compile(r"\d|百分之")
_ZH_PERCENT = re.compile(r"百分之[零一二两三四五六七八九十百点]+")
_TIME = re.compile(
    r"(?i)\b(?:by\s+|before\s+|until\s+)?(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:,\s*\d{4})?"
    r"|\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*(?:\s+\d{4})?|(?:19|20)\d\d(?:-\d\d){0,2})\b"
    r"|\d{4}年(?:\d{1,2}月(?:\d{1,2}日)?)?|\d{1,2}月\d{1,2}日"
)


def _figures(text: str) -> list[tuple[int, str, str]]:
    """(start, figure, kind) of every number in the text with its currency sign, scale and unit:
    kind "share", "money", "quantity" or "count"."""
    found = [(match.start(), match.group(), "share") for match in _ZH_PERCENT.finditer(text)]
    end = -1
    for number in _DIGITS.finditer(text):
        if number.start() < end:
            continue
        start = number.start()
        dollar = text[max(0, start - 3) : start].rstrip().endswith("$")
        if dollar:
            start = text.rindex("$", 0, start)
            if text[max(0, start - 2) : start] == "US":
                start -= 2
        after = _AFTER_NUMBER.match(text, number.end())
        end = after.end()
        kind = "count"
        if after["percent"]:
            kind = "share"
        elif dollar or after["currency"] or after["currency_zh"]:
            kind = "money"
        elif after["weight"] or after["weight_zh"]:
            kind = "quantity"
        found.append((start, text[start:end].strip(), kind))
    return sorted(found)


@dataclass(frozen=True)
class Wants:
    """What a question asks for: whether a figure answers it, which kinds, and a direction
    (UP, DOWN, or 0 for none or both: "did it rise or fall" wants either, stated)."""

    figure: bool = False
    kinds: tuple[str, ...] = ()
    direction: int = 0
    directional: bool = False  # asks which way something went


def question_wants(question: str) -> Wants:
    """What the question asks for, from its question words, units and direction words
    (traditional characters read as simplified: 幾成 as 几成)."""
    question = normalize_script(question)
    kinds = tuple(kind for kind, pattern in _KINDS.items() if pattern.search(question))
    up, down = bool(UP_PATTERN.search(question)), bool(DOWN_PATTERN.search(question))
    direction = UP if up and not down else DOWN if down and not up else 0
    return Wants(bool(kinds) or bool(_ANY_FIGURE.search(question)), kinds, direction, up or down)


def direction_of(text: str) -> int:
    """UP, DOWN or 0: which way a bullet says something went (0 for neither or both)."""
    up, down = bool(UP_PATTERN.search(text)), bool(DOWN_PATTERN.search(text))
    return UP if up and not down else DOWN if down and not up else 0


SPECIFIC_KINDS = ("share", "money", "quantity")


def figures_in(text: str, kinds: tuple[str, ...]) -> list[str]:
    """The figures of the wanted kinds in a bullet, in order; any number when no kind is named,
    or when only "count" is. A figure of a specific kind (a share, an amount of money, a
    quantity) is preferred to a bare number when both are asked for."""
    if not _HAS_FIGURE.search(text):
        return []
    if "time" in kinds:
        times = [match.group().strip() for match in _TIME.finditer(text)]
        if times or kinds == ("time",):
            return times
    figures = _figures(text)
    specific = [figure for _, figure, kind in figures if kind in kinds and kind in SPECIFIC_KINDS]
    if specific or any(kind in SPECIFIC_KINDS for kind in kinds) and "count" not in kinds:
        return specific
    return [figure for _, figure, _ in figures]


MARKED_BULLETS = 2  # marks go on the bullets a reader sees first


def marks(bullets: tuple[str, ...], wants: Wants, rare_terms: frozenset[str]) -> tuple[str, ...]:
    """What to show bold in a hit's first bullets: the figure that answers (the first of the
    asked kind in each bullet) when the question wants one; else the question's rare words
    as the bullets write them (an English stem marks the words that start with it, within a
    few letters: "restrict" marks "restrictions")."""
    found: list[str] = []
    stems = [term for term in rare_terms if term.isascii() and term.isalpha()]
    for bullet in bullets[:MARKED_BULLETS]:
        if wants.figure:
            figures = figures_in(bullet, wants.kinds) or figures_in(bullet, ())
            found += figures[:1]
            continue
        found += _words_starting(bullet, stems)
        found += [term for term in rare_terms if len(term) > 1 and not term.isascii() and term in bullet]
    return tuple(dict.fromkeys(mark for mark in found if mark))


WORD_ENDING = 4  # letters a marked word may run past its stem


def _words_starting(text: str, stems: list[str]) -> list[str]:
    """The whole words of the text that start with one of these stems and run at most
    WORD_ENDING letters past it, in any case, in order."""
    lower = text.lower()
    found = []
    for stem in stems:
        start = lower.find(stem)
        while start >= 0:
            end = start + len(stem)
            while end < len(lower) and lower[end].isalpha() and end - start - len(stem) < WORD_ENDING:
                end += 1
            whole = (start == 0 or not lower[start - 1].isalnum()) and (end == len(lower) or not lower[end].isalnum())
            if whole:
                found.append((start, text[start:end]))
            start = lower.find(stem, end)
    return [word for _, word in sorted(found)]


def either_way(wants: Wants) -> bool:
    """The question asks which way something went and names both ("rising or falling")."""
    return wants.directional and wants.direction == 0


def says_a_direction(token: str) -> bool:
    """A question token that names a direction ("rise", "fell", "涨")."""
    return bool(UP_PATTERN.search(token) or DOWN_PATTERN.search(token))
