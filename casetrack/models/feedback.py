"""The daily feedback (日反馈) of a campaign: each working day, a unit holding open problems says
of each one whether it is done, in progress (with the day it expects to finish) or needs
coordination (with the reason)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casetrack.db.types import UTCDateTime, utcnow
from casetrack.extensions import db
from casetrack.models.cases import Case
from casetrack.models.org import Unit

FEEDBACK_STATUSES = ("done", "in_progress", "needs_coordination")


class DailyFeedback(db.Model):
    """A unit's word on one problem for one day; a second report the same day replaces it."""
    __tablename__ = "daily_feedback"
    __table_args__ = (
        CheckConstraint(f"status IN {FEEDBACK_STATUSES}", name="status"),
        CheckConstraint("status <> 'in_progress' OR expected_on IS NOT NULL", name="expected_on"),
        CheckConstraint("status <> 'needs_coordination' OR reason IS NOT NULL", name="reason"),
        UniqueConstraint("case_id", "day", name="uq_daily_feedback_case_id_day"),
        Index("ix_daily_feedback_campaign_day", "campaign", "day", "unit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(comment="the day reported on, Asia/Shanghai")
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), comment="the unit that reported (holding the case)")
    status: Mapped[str] = mapped_column(String(20), comment="done, in_progress or needs_coordination")
    expected_on: Mapped[date | None] = mapped_column(comment="in progress: the day it expects to finish")
    reason: Mapped[str | None] = mapped_column(String(500), comment="needs coordination: why")
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship()
    unit: Mapped[Unit] = relationship()
