"""E-mail for notices when an SMTP server is configured (CASETRACK_MAIL_SERVER=host[:port]).

Mails are queued on the session and sent only after the transaction commits, so a rolled-back
action never mails anyone; a mail that cannot be sent is logged, never raised."""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app, has_app_context
from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from casetrack.extensions import db
from casetrack.models import User
from casetrack.services.common.text import printable

log = logging.getLogger(__name__)
OUTBOX = "casetrack.outbox"


def enabled() -> bool:
    """Whether notices are mailed at all (an SMTP server is configured)."""
    return has_app_context() and bool(current_app.config.get("MAIL_SERVER"))


def queue(subject: str, body: str, *, unit_id: int | None = None, user_id: int | None = None) -> None:
    """Mail a notice to the user, or to every active user of the unit, who has an address."""
    if not enabled():
        return
    with db.session.no_autoflush:
        to = [a for a in db.session.scalars(select(User.email).where(
            User.active.is_(True), User.email.is_not(None), User.email != "",
            or_(User.id == user_id, User.unit_id == unit_id))) if a]
    if to:
        config = current_app.config
        db.session.info.setdefault(OUTBOX, []).append(
            (config["MAIL_SERVER"], config.get("MAIL_FROM", "casetrack@localhost"), to, subject, body))


@event.listens_for(Session, "after_commit")
def _send(session: Session) -> None:
    for server, sender, to, subject, body in session.info.pop(OUTBOX, []):
        host, _sep, port = str(server).partition(":")
        msg = EmailMessage()
        # a header holds one line (EmailMessage raises otherwise, after the commit)
        msg["From"], msg["To"] = sender, ", ".join(to)
        msg["Subject"] = " ".join(printable(subject).split())
        msg.set_content(body)
        try:
            with smtplib.SMTP(host, int(port or 25), timeout=10) as smtp:
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException):
            log.exception("could not mail %s to %s", subject, to)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(OUTBOX, None)
