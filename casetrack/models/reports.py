"""Published bulletins (简报 第N期): the figures of a period, frozen when published."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casetrack.db.types import UTCDateTime, utcnow
from casetrack.extensions import db
from casetrack.models.org import Unit, User


class Bulletin(db.Model):
    __tablename__ = "bulletins"
    __table_args__ = (UniqueConstraint("unit_id", "number", name="uq_bulletins_unit_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), comment="the issuing unit")
    number: Mapped[int] = mapped_column(comment="第N期, counted per issuing unit")
    date_from: Mapped[date]
    date_to: Mapped[date]
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, comment="the figures as published; never changed")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    unit: Mapped[Unit] = relationship()
    published_by: Mapped[User | None] = relationship()


class DailyFigure(db.Model):
    """A bulletin figure of one work group on one day (Asia/Shanghai), kept as cases and visits
    change (services/summaries.py): a period's figure for any unit is a SUM over these rows."""
    __tablename__ = "daily_figures"
    # The report queries read a few figures over a range of days: the primary key leads with
    # them, and on SQLite the table IS that key (WITHOUT ROWID), so every read is covered.
    __table_args__ = ({"sqlite_with_rowid": False},)

    figure: Mapped[str] = mapped_column(String(20), primary_key=True,
                                        comment="found, solved, closed, visits, first_visit, ...")
    day: Mapped[date] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True,
                                          comment="the filing (or visiting, or responsible) work group")
    detail: Mapped[str] = mapped_column(String(40), primary_key=True, default="",
                                        comment="category, level, target kind, leader role, ...")
    n: Mapped[int] = mapped_column(BigInteger, default=0)
    funds: Mapped[int] = mapped_column(BigInteger, default=0, comment="public funds, 0.01 万元")
    donations: Mapped[int] = mapped_column(BigInteger, default=0, comment="social donations, 0.01 万元")
