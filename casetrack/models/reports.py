"""Published bulletins (简报 第N期): the figures of a period, frozen when published."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casetrack.extensions import UTCDateTime, db, utcnow
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
