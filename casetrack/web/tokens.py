"""Who an API token belongs to, for the JSON API and Open311 alike."""
from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError

from casetrack.db.busy import database_busy
from casetrack.db.intent import outside_write_lock, write_intent
from casetrack.extensions import db
from casetrack.models import User
from casetrack.services.organisation import accounts

log = logging.getLogger(__name__)


def token_user(token: str) -> User | None:
    """The owner of a valid API token, read outside the write lock. The token's last use, when
    due (once a minute), is written in a short transaction of its own before the request's work (call it first):
    a busy database skips it rather than fail the call."""
    with outside_write_lock():
        found = accounts.token_owner(token)
    if found is None:
        return None
    user, token_id = found
    if token_id is not None:
        intent = write_intent.set(True)  # SQLite: the writer lock, not a read upgraded mid-way
        try:
            accounts.note_token_use(token_id)
            db.session.commit()
        except OperationalError as exc:
            db.session.rollback()
            if not database_busy(exc):
                raise
            log.warning("token use not noted, database busy: %s", exc)
        finally:
            write_intent.reset(intent)
    return user
