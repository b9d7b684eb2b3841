"""Dates of birth: a real calendar date, in a plausible range, that someone calls a birth date.

Every table has dates; only the ones labelled as birth dates (``DOB``, ``born``,
``date of birth``, a column ``birth_date``) identify people, so context is required. A
plausible birth date lies between 1900 and today (nobody in the data is born tomorrow or
is 127 years old).
"""

from __future__ import annotations

import datetime as dt
import re

from mlwarden.scanners.data.context_words import ContextWindow
from mlwarden.scanners.data.entity_types import DATE_OF_BIRTH, Verdict

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_NUMBERS = re.compile(r"\d+")
_WORD = re.compile(r"[A-Za-z]+")
_EARLIEST_YEAR = 1900


def parse_date(text: str) -> dt.date | None:
    """Read ``1985-03-12``, ``12/03/1985``, ``03/12/1985``, ``12.03.1985``, ``12 March 1985``
    or ``March 12, 1985``; for ``a/b/yyyy`` either order that is a real date is accepted."""
    numbers = [int(n) for n in _NUMBERS.findall(text)]
    word = _WORD.findall(text)
    month_names = [w for w in word if w.lower().rstrip(".") in _MONTHS]
    if month_names and len(numbers) >= 2:
        month = _MONTHS[month_names[0].lower()]
        day, year = numbers[0], numbers[-1]
        return _make(year, month, day)
    if len(numbers) != 3:
        return None
    a, b, c = numbers
    if a >= 1000:
        return _make(a, b, c)
    return _make(c, a, b) or _make(c, b, a)


def _make(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def is_plausible_birth_date(date: dt.date, today: dt.date | None = None) -> bool:
    today = today or dt.date.today()
    return date.year >= _EARLIEST_YEAR and date <= today


def validate_birth_date(win: ContextWindow, start: int, end: int) -> Verdict | None:
    if not win.says(DATE_OF_BIRTH, start, end):
        return None
    date = parse_date(win.text[start:end])
    if date is None or not is_plausible_birth_date(date):
        return None
    return Verdict(DATE_OF_BIRTH, 0.9, start, end)
