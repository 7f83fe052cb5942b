"""Deadlines and who hears about them: declared days off, extensions, supervision notes, notices."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casetrack.db.types import UTCDateTime, utcnow
from casetrack.extensions import db
from casetrack.models.cases import Case
from casetrack.models.org import Unit, User

EXTENSION_STATUSES = ("pending", "approved", "refused")
NOTICE_KINDS = ("new_case", "escalation", "referral", "pre_warning", "overdue", "supervision",
                "callback", "extension", "shared_problem", "answer", "report_late", "revisit")


class DayOff(db.Model):
    """A day the county declares off on top of the official calendar (e.g. a local festival)."""
    __tablename__ = "days_off"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    reason: Mapped[str] = mapped_column(String(200))
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Extension(db.Model):
    """A request for more working days (延期) on a case, and its decision."""
    __tablename__ = "extensions"
    __table_args__ = (
        CheckConstraint(f"status IN {EXTENSION_STATUSES}", name="status"),
        CheckConstraint("days > 0", name="days"),
        Index("ix_extensions_case_status", "case_id", "status"),
        Index("ix_extensions_unit_id", "unit_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), comment="the handling unit that asked")
    state: Mapped[str] = mapped_column(String(30), comment="the case's state when asked")
    days: Mapped[int] = mapped_column(comment="working days asked for")
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    old_deadline: Mapped[date | None]
    new_deadline: Mapped[date | None] = mapped_column(comment="set when approved")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")

    case: Mapped[Case] = relationship()
    unit: Mapped[Unit] = relationship(lazy="joined")
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class SupervisionNote(db.Model):
    """A supervision note (督办) from the handler's superior, to be acknowledged by the handler."""
    __tablename__ = "supervision_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True,
                                         comment="the handling unit that must acknowledge")
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])


class Notification(db.Model):
    """Something that needs a person: sent to one user or to every user of a unit."""
    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (unit_id IS NULL)", name="one_recipient"),
        CheckConstraint(f"kind IN {NOTICE_KINDS}", name="kind"),
        Index("ix_notifications_user_read", "user_id", "read", "id"),
        Index("ix_notifications_unit_read", "unit_id", "read", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(String(20))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    message: Mapped[str] = mapped_column(Text, comment="English; the inbox translates by kind; "
                                                       "empty for a digest")
    count: Mapped[int | None] = mapped_column(
        comment="a sweep's digest: how many cases it flagged (overdue or pre-warned) in one run")
    about_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id"), comment="a digest to a superior: the unit below whose cases it counts")
    except_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), comment="a unit's notice: not shown to this user (it reports their own action)")
    read: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case | None] = relationship()
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    about_unit: Mapped[Unit | None] = relationship(foreign_keys=[about_unit_id])
