"""Bulletins (简报, 专报, 快报, 督查通报): drafts the office edits, and issues (2026年第N期) frozen
when published."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, PrimaryKeyConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casetrack.db.types import UTCDateTime
from casetrack.extensions import db
from casetrack.models.org import Unit, User

BULLETIN_TYPES = ("briefing", "special", "express", "circular")


class Bulletin(db.Model):
    __tablename__ = "bulletins"
    __table_args__ = (
        # each campaign numbers its own series (the grand visit's 简报, the rectification's 督查通报)
        UniqueConstraint("unit_id", "campaign", "type", "year", "number",
                         name="uq_bulletins_unit_campaign_type_year_number"),
        CheckConstraint(f"type IN {BULLETIN_TYPES}", name="type"),
        # A draft has no number; an issue has all of them and its time of publication.
        CheckConstraint("(published_at IS NULL AND number IS NULL AND year IS NULL AND total IS NULL) OR "
                        "(published_at IS NOT NULL AND number IS NOT NULL AND year IS NOT NULL "
                        "AND total IS NOT NULL)", name="numbered_when_published"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), comment="the issuing unit")
    type: Mapped[str] = mapped_column(String(10), default="briefing", server_default="briefing",
                                      comment="briefing 简报, special 专报, express 快报, circular 督查通报")
    year: Mapped[int | None] = mapped_column(comment="the year of publication (2026年第N期)")
    number: Mapped[int | None] = mapped_column(comment="第N期: counted per issuing unit, type and year")
    total: Mapped[int | None] = mapped_column(comment="总第N期: counted per issuing unit and type")
    campaign: Mapped[str] = mapped_column(String(40), default="visit", server_default="visit",
                                          comment="the campaign (活动) it reports on: workflows/campaigns.yaml")
    date_from: Mapped[date]
    date_to: Mapped[date]
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, comment="the figures as published; never changed")
    narrative: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, comment="section -> the office's text, figures as {{ placeholders }}")
    typical: Mapped[list[int]] = mapped_column(JSON, default=list, comment="ids of the closed cases picked (典型)")
    signed_by: Mapped[str | None] = mapped_column(String(60), comment="签发: who signed it off")
    circulation: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, comment="主送 / 抄送 / 印发 as published")
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("bulletins.id"),
                                                    comment="the issue this one corrects")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="none: a draft")
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"),
                                                        comment="the publisher (of a draft: its author)")

    unit: Mapped[Unit] = relationship()
    published_by: Mapped[User | None] = relationship()
    corrects: Mapped[Bulletin | None] = relationship(remote_side=[id])


class BulletinSetting(db.Model):
    """What the office sets per type of its bulletin: the circulation (版记) and the text template."""
    __tablename__ = "bulletin_settings"
    __table_args__ = (CheckConstraint(f"type IN {BULLETIN_TYPES}", name="type"),)

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    type: Mapped[str] = mapped_column(String(10), primary_key=True)
    main_to: Mapped[str] = mapped_column(Text, default="", comment="主送")
    copy_to: Mapped[str] = mapped_column(Text, default="", comment="抄送")
    printed_by: Mapped[str] = mapped_column(Text, default="", comment="印发: the printing office")
    template: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, comment="section -> the text a new draft starts from; none: the draft from the figures")


class DailyFigure(db.Model):
    """A bulletin figure of one work group on one day (Asia/Shanghai), kept as cases and visits
    change (services/figures/summaries.py): a period's figure for any unit is a SUM over these rows."""
    __tablename__ = "daily_figures"
    # The report queries read a few figures of a unit's groups over a range of days: the primary
    # key leads with them, so a team's bulletin reads its own groups' rows, not the county's (nor
    # a county the province's); on SQLite the table IS that key (WITHOUT ROWID): every read is covered.
    __table_args__ = (PrimaryKeyConstraint("figure", "group_id", "day", "detail"), {"sqlite_with_rowid": False})

    figure: Mapped[str] = mapped_column(String(20), comment="found, solved, closed, visits, first_visit, ...")
    day: Mapped[date] = mapped_column()
    group_id: Mapped[int] = mapped_column(ForeignKey("units.id"),
                                          comment="the filing (or visiting, or responsible) work group")
    detail: Mapped[str] = mapped_column(String(40), default="", comment="category, level, target kind, leader role, ...")
    n: Mapped[int] = mapped_column(BigInteger, default=0)
    funds: Mapped[int] = mapped_column(BigInteger, default=0, comment="public funds, 0.01 万元")
    donations: Mapped[int] = mapped_column(BigInteger, default=0, comment="social donations, 0.01 万元")
