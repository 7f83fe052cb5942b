"""Visit targets (households, enterprises, …) and the visits cadres make to them."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casetrack.extensions import UTCDateTime, db, utcnow
from casetrack.models.org import Unit, User

TARGET_KINDS = ("farm_household", "urban_household", "newcomer_household", "enterprise",
                "community", "village", "key_project", "school", "building_site")


class Target(db.Model):
    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(200), default="")
    village: Mapped[str] = mapped_column(String(80), default="", comment="village or community")
    group_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True,
                                          comment="the responsible work group")
    cadre_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), comment="the responsible cadre")

    group: Mapped[Unit] = relationship()
    cadre: Mapped[User | None] = relationship()


class Visit(db.Model):
    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    visited_on: Mapped[date] = mapped_column(index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    suggestions: Mapped[int] = mapped_column(default=0, comment="opinions and suggestions collected")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    target: Mapped[Target] = relationship()
