"""Telling "the database is busy, try again" apart from real errors, on both engines: the
web layer answers it with 503 and the CLI with a retry, not with a traceback."""
from __future__ import annotations

from sqlalchemy.exc import OperationalError

# PostgreSQL's lock_not_available, deadlock_detected and serialization_failure.
BUSY_SQLSTATES = {"55P03", "40P01", "40001"}


def database_busy(exc: Exception) -> bool:
    """Another writer held the database past the wait: the same work can succeed later."""
    orig = exc.orig if isinstance(exc, OperationalError) else exc
    return ("database is locked" in str(orig)
            or getattr(orig, "sqlstate", None) in BUSY_SQLSTATES)
