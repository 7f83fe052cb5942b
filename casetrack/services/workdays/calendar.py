"""Working days on the Chinese calendar: public holidays off, make-up workdays (调休) on."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
from flask import has_app_context
from sqlalchemy import select

from casetrack.extensions import db
from casetrack.models import DayOff

SHANGHAI = ZoneInfo("Asia/Shanghai")
_frozen: ContextVar[datetime | None] = ContextVar("frozen_now", default=None)


def now() -> datetime:
    """The current time, aware UTC; `at()` sets it for back-dated work (demo data, imports)."""
    return _frozen.get() or datetime.now(timezone.utc)


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    token = _frozen.set(moment)
    try:
        yield
    finally:
        _frozen.reset(token)


def today() -> date:
    """Today in Asia/Shanghai, where the county works."""
    return now().astimezone(SHANGHAI).date()


def start_of(day: date) -> datetime:
    """The first moment of a day in Asia/Shanghai."""
    return datetime.combine(day, time.min, SHANGHAI)


def parse_day(value: date | str) -> date:
    """A day from a form, a sheet or a query string; ValueError unless it is YYYY-MM-DD between
    1900 and 2999 (year 1 or 9999 would overflow when turned into a moment in UTC)."""
    day = value if isinstance(value, date) else date.fromisoformat(str(value).strip())
    if not date(1900, 1, 1) <= day <= date(2999, 12, 31):
        raise ValueError(f"{day} is out of range")
    return day


_DAYS_OFF = "casetrack.days_off"


def declared_days_off() -> frozenset[date]:
    """The days the county declared off (table days_off), read once per session transaction
    scope and cached; none outside an application."""
    if not has_app_context():
        return frozenset()
    cached = db.session.info.get(_DAYS_OFF)
    if cached is None:
        with db.session.no_autoflush:  # a deadline is computed mid-transition; flush once, later
            cached = frozenset(db.session.scalars(select(DayOff.day)))
        db.session.info[_DAYS_OFF] = cached
    return cached


def remember_days_off(days: frozenset[date]) -> None:
    """The declared days off as just read elsewhere (services/organisation/reference.py): not read again."""
    db.session.info[_DAYS_OFF] = days


def forget_days_off() -> None:
    """The declared days off changed: read them again when next asked."""
    db.session.info.pop(_DAYS_OFF, None)


def is_workday(day: date, days_off: frozenset[date] | None = None) -> bool:
    """A working day by the official calendar and the county's days off; Monday to Friday for
    years the official calendar does not know yet."""
    if day in (declared_days_off() if days_off is None else days_off):
        return False
    return _official_workday(day)


@lru_cache(maxsize=4096)
def _official_workday(day: date) -> bool:
    """The official calendar, remembered: it is fixed data, and a deadline asks ~20 days."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def calendar_known(day: date) -> bool:
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def add_working_days(start: date, days: int) -> date:
    """The day `days` working days after `start` (the start day itself does not count)."""
    off = declared_days_off()
    day = start
    while days > 0:
        day += timedelta(days=1)
        if is_workday(day, off):
            days -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """How many working days lie after `start` up to and including `end` (0 if end <= start)."""
    off = declared_days_off()
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_workday(day, off)
    return count


def nth_workday_back(day: date, n: int) -> date:
    """The n-th latest working day on or before `day` (n=0: `day` itself)."""
    off = declared_days_off()
    while n > 0:
        if is_workday(day, off):
            n -= 1
            if n == 0:
                return day
        day -= timedelta(days=1)
    return day


def deadline_basis(deadline: date | None) -> str | None:
    """'official' when the Chinese calendar covers the deadline, else 'fallback' (Monday to
    Friday plus the county's days off), to be said wherever the deadline is shown."""
    if deadline is None:
        return None
    return "official" if calendar_known(deadline) else "fallback"
