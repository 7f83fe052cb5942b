"""More than problems: suggestions collected on visits and answered, leaders' contact points."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casetrack.db.types import UTCDateTime, utcnow
from casetrack.extensions import db
from casetrack.models.org import Category, Unit, User
from casetrack.models.visits import Target, Visit

# 采纳, 部分采纳, 解释答复
ANSWERS = ("adopted", "partly_adopted", "explained")


class Suggestion(db.Model):
    """An opinion or suggestion (意见建议) collected on a visit, answered by a unit; the group that
    collected it records the answer and passes it back to the people."""
    __tablename__ = "suggestions"
    __table_args__ = (
        CheckConstraint(f"answer IS NULL OR answer IN {ANSWERS}", name="answer"),
        CheckConstraint("(answer IS NULL) = (answered_at IS NULL)", name="answered"),
        Index("ix_suggestions_group_id_id", "group_id", "id"),
        Index("ix_suggestions_unit_id_id", "unit_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("units.id"), comment="the work group that collected it")
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), comment="the unit that must answer it")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    text: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(String(20), comment="adopted, partly_adopted, explained")
    answer_text: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    visit: Mapped[Visit] = relationship()
    group: Mapped[Unit] = relationship(foreign_keys=[group_id], lazy="joined")
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id], lazy="joined")
    category: Mapped[Category | None] = relationship(lazy="joined")
    answered_by: Mapped[User | None] = relationship()


class ContactPoint(db.Model):
    """A leader's contact point (联系点): a village, enterprise or group the leader answers for."""
    __tablename__ = "contact_points"
    __table_args__ = (CheckConstraint("(unit_id IS NULL) <> (target_id IS NULL)", name="one_place"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), comment="a group or team")
    target_id: Mapped[int | None] = mapped_column(ForeignKey("targets.id"), comment="a village, enterprise...")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    leader: Mapped[User] = relationship()
    unit: Mapped[Unit | None] = relationship(lazy="joined")
    target: Mapped[Target | None] = relationship(lazy="joined")
