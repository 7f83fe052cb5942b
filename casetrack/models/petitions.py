"""Petitions received (接访) and cases taken down to the grass roots (带案下访)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casetrack.db.types import UTCDateTime, utcnow
from casetrack.extensions import db
from casetrack.models.cases import Case
from casetrack.models.org import Category, Unit, User

PETITION_FORMS = ("visit", "letter", "online", "phone")


class Petition(db.Model):
    """One batch of petitioners received by a unit (来访, 来信, 网上, 电话)."""
    __tablename__ = "petitions"
    __table_args__ = (
        CheckConstraint(f"form IN {PETITION_FORMS}", name="form"),
        CheckConstraint("persons >= 1", name="persons"),
        # The bulletin sums a period's receptions: a range of days, the unit read from the index.
        Index("ix_petitions_day_unit", "received_on", "unit_id"),
        Index("ix_petitions_unit_id", "unit_id", "id"),   # a unit's list, paged by id
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), comment="the unit that received it")
    received_on: Mapped[date] = mapped_column(comment="the day, Asia/Shanghai")
    place: Mapped[str] = mapped_column(String(200), default="")
    form: Mapped[str] = mapped_column(String(12), comment="visit 来访, letter 来信, online 网上, phone 电话")
    persons: Mapped[int] = mapped_column(comment="how many came in this batch (人次)")
    collective: Mapped[bool] = mapped_column(default=False, comment="a collective visit (集体访)")
    subject: Mapped[str] = mapped_column(String(200))
    details: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    residents: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, comment="personal data: [{name, phone}] of the petitioners named")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True,
                                                comment="the case it was filed as, if any")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship(lazy="joined")
    category: Mapped[Category] = relationship(lazy="joined")
    case: Mapped[Case | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class TakeDown(db.Model):
    """A cadre who took a case down to the grass roots on a day (带案下访): one row per cadre."""
    __tablename__ = "take_downs"
    # The bulletin counts a period's rows of a unit's subtree: a range of days, the group from the index.
    __table_args__ = (Index("ix_take_downs_day", "taken_on", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("units.id"), comment="the case's filing unit (its scope)")
    taken_on: Mapped[date] = mapped_column(comment="the day, Asia/Shanghai")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    cadre: Mapped[User] = relationship(foreign_keys=[cadre_id], lazy="joined")
