"""What the outboxes (webhook deliveries, mail) share: a row written in the transaction of what
it tells, then claimed by one cron run at a time under a lease, and retried with exponential
back-off until it goes through or MAX_ATTEMPTS is reached."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from casetrack.extensions import db
from casetrack.services.workdays.calendar import now

MAX_ATTEMPTS = 8
BACKOFF = timedelta(seconds=30)      # 30 s, 1 min, 2 min, ... doubling
MAX_BACKOFF = timedelta(hours=6)


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF * 2 ** (attempts - 1), MAX_BACKOFF)


def claim(model: Any, lease: timedelta, *where: Any, join: Any = None) -> Any | None:
    """The first due pending row of `model` (and `where`), its next attempt pushed out by `lease`
    (as long as one attempt can take) so that a concurrent run leaves it alone; None when
    nothing is due. One at a time: a lease over a whole batch ran out while its tail still
    waited (sent twice)."""
    while True:
        moment = now()
        due = (model.state == "pending", model.next_attempt_at <= moment)
        stmt = select(model) if join is None else select(model).join(join)
        row = db.session.scalars(stmt.where(*where, *due).order_by(model.id).limit(1)).first()
        if row is None:
            return None
        taken = db.session.execute(update(model).where(model.id == row.id, *due).values(
            next_attempt_at=moment + lease)).rowcount
        if taken:
            return row


def retry_or_fail(row: Any, error: str, give_up: bool = False) -> None:
    """An attempt that did not go through: try again after a back-off, or fail for good."""
    row.last_error = error[:500]
    if give_up or row.attempts >= MAX_ATTEMPTS:
        row.state = "failed"
    else:
        row.next_attempt_at = now() + backoff(row.attempts)
