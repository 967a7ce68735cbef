"""Numbers as people write them, rewritten to one form: "85亿", "85 亿", "8.5 billion" and
"八十五亿" all become `8500000000`; "5.7 %", "5.7 percent" and "百分之五点七" become `5.7%`;
"540,000" becomes `540000`. Applied to documents and questions alike, before tokenizing, so
a figure matches however either side wrote it.
"""

from __future__ import annotations

import re

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_SCALES = {"万亿": 1e12, "千亿": 1e11, "百亿": 1e10, "亿": 1e8, "千万": 1e7, "百万": 1e6, "万": 1e4}
_EN_SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "b": 1e9}
_EN_SCALES["trillion"] = _EN_SCALES["tn"] = 1e12

_DIGITS = r"\d+(?:,\d{3})*(?:\.\d+)?"
_ZH_NUMERAL = "[零〇一二两三四五六七八九十百千点]"
_ZH_SCALE = "|".join(sorted(_ZH_SCALES, key=len, reverse=True))

_ARABIC_ZH_SCALE = re.compile(rf"({_DIGITS})\s*({_ZH_SCALE})")
_ARABIC_EN_SCALE = re.compile(rf"(?i)({_DIGITS})\s*(thousand|million|billion|trillion|bn|mn|tn)\b|({_DIGITS})([kmb])\b")
_ZH_WITH_SCALE = re.compile(rf"({_ZH_NUMERAL}+)({_ZH_SCALE})")
# Chinese numerals stand for a number only before a measure word; "十分" (very) and "一些" stay words
_ZH_BEFORE_UNIT = re.compile(rf"({_ZH_NUMERAL}*[十百千]{_ZH_NUMERAL}*|{_ZH_NUMERAL}{{2,}})(?=吨|公斤|千克|美元|元|倍|个|家|年|%)")
_ZH_PERCENT = re.compile(rf"百分之({_ZH_NUMERAL}+|{_DIGITS})")
_PERCENT = re.compile(rf"(?i)({_DIGITS})\s*(?:%|percent\b|per\s+cent\b)")
_ANY_NUMERAL = re.compile(rf"\d|[{''.join(_ZH_DIGITS)}十百千]")
_THOUSANDS = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+)(?![\d,])")


def canonical(value: float) -> str:
    """A number as one token: whole numbers without a decimal point, others without trailing zeros."""
    if abs(value - round(value)) < 1e-9 * max(1.0, abs(value)):
        return str(int(round(value)))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def chinese_numeral(text: str) -> float | None:
    """The value of a Chinese numeral ("两千六百" 2600, "三十" 30, "五点七" 5.7), or None."""
    whole, _, decimals = text.partition("点")
    total, current = 0, 0
    digit_seen = False
    for character in whole:
        if character in _ZH_DIGITS:
            current = _ZH_DIGITS[character]
            digit_seen = True
        elif character in _ZH_UNITS:
            total += (current if digit_seen else 1) * _ZH_UNITS[character]
            current, digit_seen = 0, False
        elif character.isdigit():
            return None
    total += current
    if decimals:
        if not all(character in _ZH_DIGITS for character in decimals):
            return None
        total += float("0." + "".join(str(_ZH_DIGITS[character]) for character in decimals))
    return float(total)


def _number(text: str) -> float | None:
    text = text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        return chinese_numeral(text)


def _scaled(number: str, scale: float) -> str:
    value = _number(number)
    return canonical(value * scale) if value is not None else number


def _chinese_scaled(match: re.Match) -> str:
    """"八十五亿" as a number; "千万" (by all means) and "百万" without a digit stay words."""
    numeral, scale = match[1], match[2]
    if not any(character in _ZH_DIGITS for character in numeral) and set(numeral) != {"十"}:
        return match[0]
    return _scaled(numeral, _ZH_SCALES[scale])


def normalize_numbers(text: str) -> str:
    """The text with every number written in its canonical form (see the module docstring)."""
    if not _ANY_NUMERAL.search(text):
        return text
    text = _ZH_PERCENT.sub(lambda m: f"{_scaled(m[1], 1)}%", text)
    text = _PERCENT.sub(lambda m: f"{_scaled(m[1], 1)}%", text)
    text = _ARABIC_ZH_SCALE.sub(lambda m: _scaled(m[1], _ZH_SCALES[m[2]]), text)
    text = _ARABIC_EN_SCALE.sub(
        lambda m: _scaled(m[1], _EN_SCALES[m[2].lower()]) if m[1] else _scaled(m[3], _EN_SCALES[m[4].lower()]), text
    )
    text = _ZH_WITH_SCALE.sub(_chinese_scaled, text)
    text = _ZH_BEFORE_UNIT.sub(lambda m: _scaled(m[1], 1), text)
    return _THOUSANDS.sub(lambda m: m[1].replace(",", ""), text)


SHORT_YEAR_LAST = 49  # "'23", "22年", "17到22年": two digits up to this read as 2000-2049


def short_year(token: str) -> str | None:
    """The year a two-digit number may stand for ("23" -> "2023"), or None."""
    if len(token) == 2 and token.isdigit() and int(token) <= SHORT_YEAR_LAST:
        return f"20{token}"
    return None
