"""E-mail for notices when an SMTP server is configured (CASETRACK_MAIL_SERVER=host[:port]).

A notice's mail is a row of the outbox (`mail_outbox`) written in the notice's transaction, so a
rolled-back action never mails anyone and a request never waits on the SMTP server; the
`deliver-mail` command (cron, every minute) claims, sends and records one due mail at a time,
retrying a failure with back-off (`outbox`), as `deliver-webhooks` does for webhooks."""
from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app, has_app_context
from sqlalchemy import or_, select

from casetrack.extensions import db
from casetrack.models import OutgoingMail, User
from casetrack.services.common.text import printable
from casetrack.services.integration import outbox
from casetrack.services.workdays.calendar import now


def enabled() -> bool:
    """Whether notices are mailed at all (an SMTP server is configured)."""
    return has_app_context() and bool(current_app.config.get("MAIL_SERVER"))


def queue(subject: str, body: str, *, unit_id: int | None = None, user_id: int | None = None) -> None:
    """Mail a notice to the user, or to every active user of the unit, who has an address: a row
    of the outbox, committed or rolled back with the notice."""
    if not enabled():
        return
    with db.session.no_autoflush:
        to = [a for a in db.session.scalars(select(User.email).where(
            User.active.is_(True), User.email.is_not(None), User.email != "",
            or_(User.id == user_id, User.unit_id == unit_id))) if a]
    if to:
        # a header holds one line (EmailMessage refuses more)
        db.session.add(OutgoingMail(recipients=to, subject=" ".join(printable(subject).split())[:300], body=body))


@dataclass(frozen=True)
class Outgoing:
    """What one attempt sends, read before it so no transaction stays open while SMTP answers."""
    id: int
    to: list[str]
    subject: str
    body: str


def claim_next() -> Outgoing | None:
    """The first due mail, claimed under a lease (`outbox.claim`); None when nothing is due."""
    # connect and each SMTP command may take the timeout
    row = outbox.claim(OutgoingMail, timedelta(seconds=6 * current_app.config["MAIL_TIMEOUT"] + 30))
    return None if row is None else Outgoing(row.id, list(row.recipients), row.subject, row.body)


def send(out: Outgoing) -> tuple[str, bool]:
    """Send once, touching no database: (error text or '', whether to give up now: the server
    refused the mail for good, with a 5xx answer)."""
    config = current_app.config
    host, _sep, port = str(config["MAIL_SERVER"]).partition(":")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = config["MAIL_FROM"], ", ".join(out.to), out.subject
    msg.set_content(out.body)
    try:
        with smtplib.SMTP(host, int(port or 25), timeout=config["MAIL_TIMEOUT"]) as smtp:
            smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        return f"every recipient refused: {exc.recipients}", True
    except smtplib.SMTPResponseException as exc:
        answer = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"SMTP {exc.smtp_code}: {answer}", exc.smtp_code >= 500
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        return str(exc) or type(exc).__name__, False
    return "", False


def record(mail_id: int, error: str, give_up: bool = False) -> OutgoingMail:
    """How an attempt went: sent, or retried after a back-off, or failed for good (flushes)."""
    row = db.session.get(OutgoingMail, mail_id)
    row.attempts += 1
    if not error:
        row.state, row.sent_at, row.last_error = "sent", now(), ""
    else:
        outbox.retry_or_fail(row, error, give_up)
    db.session.flush()
    return row
