"""The mail outbox: a notice's mail is written in the transaction of the notice, and sent later
by `deliver-mail` (cron), so a request never waits on an SMTP server and a rolled-back action
mails no one."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from casetrack.db.types import UTCDateTime, utcnow
from casetrack.extensions import db

MAIL_STATES = ("pending", "sent", "failed")


class OutgoingMail(db.Model):
    """One mail to the users a notice concerns, waiting to be sent (or sent, or given up)."""
    __tablename__ = "mail_outbox"
    __table_args__ = (CheckConstraint(f"state IN {MAIL_STATES}", name="state"),
                      Index("ix_mail_outbox_due", "state", "next_attempt_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    recipients: Mapped[list[Any]] = mapped_column(JSON, comment="the addresses, as they were when the notice was written")
    subject: Mapped[str] = mapped_column(String(300), comment="one line")
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
