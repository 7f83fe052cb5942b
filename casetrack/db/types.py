"""Column types shared by the models: time is stored as UTC whatever the engine keeps."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """An aware datetime stored as naive UTC, read back as aware UTC on every engine."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware UTC datetimes")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class shanghai_day(FunctionElement):
    """The Asia/Shanghai calendar day (as 'YYYY-MM-DD' text) of a UTCDateTime column, in SQL:
    China keeps UTC+8 all year, so it is the UTC moment plus eight hours."""
    type = String()
    inherit_cache = True
    name = "shanghai_day"


@compiles(shanghai_day, "sqlite")
def _sqlite_day(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)}, '+8 hours')"


@compiles(shanghai_day, "postgresql")
def _pg_day(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)} + interval '8 hours', 'YYYY-MM-DD')"
