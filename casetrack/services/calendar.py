"""Working days on the Chinese calendar: public holidays off, make-up workdays (调休) on."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar

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


def is_workday(day: date) -> bool:
    """A working day by the official calendar; Monday to Friday for years it does not know yet."""
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
    day = start
    while days > 0:
        day += timedelta(days=1)
        if is_workday(day):
            days -= 1
    return day
