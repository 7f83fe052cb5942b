"""Visit targets (households, enterprises, …), the visits cadres make to them, the timetable."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Column, Float, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casetrack.db.types import UTCDateTime, utcnow
from casetrack.extensions import db
from casetrack.models.org import Unit, User

VISIT_KINDS = ("farm_household", "urban_household", "newcomer_household", "enterprise",
               "community", "village", "key_project", "school", "building_site")
# The civilized-city campaign's sites (点位).
SITE_KINDS = ("farm_market", "back_alley", "old_compound", "public_toilet", "park_square", "school_area",
              "hospital")
TARGET_KINDS = VISIT_KINDS + SITE_KINDS + ("place",)
# The grand visit's targets, as its coverage and bulletin count them.
VISIT_TARGET_KINDS = VISIT_KINDS + ("place",)
# The kinds a county registers and assigns; a `place` is made by a leader's visit, never assigned.
REGISTERED_KINDS = TARGET_KINDS[:-1]
# How a visit was made: 入户, 座谈会, 入企, 接访, other.
VISIT_FORMS = ("door_to_door", "meeting", "enterprise", "reception", "other")


class Target(db.Model):
    __tablename__ = "targets"
    __table_args__ = (
        CheckConstraint(f"kind IN {TARGET_KINDS}", name="kind"),
        # Coverage counts a unit's active targets per kind: GROUP BY group_id, kind.
        Index("ix_targets_group_active_kind", "group_id", "active", "kind"),
        # A unit's paired communities (包抓共建) name their sites by village: a department's every
        # list page looks its sites up by it (without: SQLite built an index of every target, 1.5 s at 600k).
        Index("ix_targets_village", "village"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(
        String(60), unique=True, comment="the county's own code (household number, credit code); "
                                         "re-imports match on it")
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(200), default="")
    village: Mapped[str] = mapped_column(String(80), default="", comment="village or community")
    lat: Mapped[float | None] = mapped_column(Float, comment="latitude, WGS-84 degrees")
    long: Mapped[float | None] = mapped_column(Float, comment="longitude, WGS-84 degrees")
    group_id: Mapped[int] = mapped_column(ForeignKey("units.id"), comment="the responsible work group "
                                                                         "(a site's: its responsible unit)")
    campaign: Mapped[str] = mapped_column(String(40), default="visit", server_default="visit",
                                          comment="the campaign it is a target of (a site of the rectification)")
    cadre_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), comment="the responsible cadre")
    active: Mapped[bool] = mapped_column(default=True, comment="false: no longer to be visited "
                                                               "(moved away, closed); not counted")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    group: Mapped[Unit] = relationship(lazy="joined")
    cadre: Mapped[User | None] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<Target {self.id} {self.kind} {self.name}>"


# The further targets a visit reached besides its own `target_id` (a village meeting reaches many
# households): a target is reached by a visit if it is the visit's target or listed here.
visit_targets = Table(
    "visit_targets", db.metadata,
    Column("visit_id", ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    Column("target_id", ForeignKey("targets.id"), primary_key=True, index=True),
)

visit_cadres = Table(
    "visit_cadres", db.metadata,
    Column("visit_id", ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True, index=True),
)


class Visit(db.Model):
    __tablename__ = "visits"
    __table_args__ = (
        CheckConstraint("suggestions >= 0", name="suggestions"),
        # "Visited by a date" is an index probe on (target_id, visited_on).
        Index("ix_visits_target_day", "target_id", "visited_on"),
        # The bulletin's targets visited in a period: a range of days, read from the index alone.
        Index("ix_visits_day_group_target", "visited_on", "group_id", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True,
                                          comment="the work group that made the visit")
    visited_on: Mapped[date] = mapped_column(index=True, comment="the day, Asia/Shanghai")
    notes: Mapped[str] = mapped_column(Text, default="", comment="what was heard")
    suggestions: Mapped[int] = mapped_column(default=0, comment="opinions and suggestions collected")
    lat: Mapped[float | None] = mapped_column(Float, comment="latitude, WGS-84 degrees")
    long: Mapped[float | None] = mapped_column(Float, comment="longitude, WGS-84 degrees")
    location_accuracy: Mapped[float | None] = mapped_column(Float, comment="metres, as the device gave it")
    address: Mapped[str] = mapped_column(String(200), default="", server_default="",
                                         comment="where the visit took place")
    form: Mapped[str | None] = mapped_column(String(20), comment="door_to_door, meeting, enterprise, "
                                                                "reception, other; none: not said")  # checked by the service
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    target: Mapped[Target] = relationship()
    group: Mapped[Unit] = relationship(foreign_keys=[group_id])
    cadres: Mapped[list[User]] = relationship(secondary=visit_cadres, order_by="User.username")
    more_targets: Mapped[list[Target]] = relationship(secondary=visit_targets, order_by="Target.id")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def reached(self) -> list[Target]:
        """Every target the visit reached, its own first."""
        return [self.target, *self.more_targets]


class SiteInspection(db.Model):
    """An inspection of a site against its kind's checklist (each item 达标 / 不达标); the failed
    items were filed as problems, one each (`cases`: item code -> case id)."""
    __tablename__ = "site_inspections"
    __table_args__ = (Index("ix_site_inspections_site_day", "target_id", "inspected_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"), comment="the site")
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True, comment="the inspection unit")
    inspected_on: Mapped[date] = mapped_column(comment="the day, Asia/Shanghai")
    results: Mapped[dict] = mapped_column(JSON, comment="item code -> true (达标) or false (不达标)")
    cases: Mapped[dict] = mapped_column(JSON, comment="item code -> the case filed for it")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    target: Mapped[Target] = relationship()


class CampaignUnit(db.Model):
    """A unit that takes part in a campaign (with the units below it); see workflows/campaigns.yaml."""
    __tablename__ = "campaign_units"

    campaign: Mapped[str] = mapped_column(String(40), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)


class CampaignPair(db.Model):
    """A county unit paired with a community or village (包抓共建) in a campaign: it answers for
    the problems at the community's sites (Target.village) beside their responsible units."""
    __tablename__ = "campaign_pairs"

    campaign: Mapped[str] = mapped_column(String(40), primary_key=True)
    community: Mapped[str] = mapped_column(String(80), primary_key=True, comment="as the sites' village names it")
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)

    unit: Mapped[Unit] = relationship(lazy="joined")


class Milestone(db.Model):
    """A stage of the timetable: `target_percent` of targets visited by `due_on` (set per county)."""
    __tablename__ = "milestones"
    __table_args__ = (
        CheckConstraint("target_percent BETWEEN 0 AND 100", name="target_percent"),
        UniqueConstraint("unit_id", "due_on", name="uq_milestones_unit_due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), comment="the county it applies to")
    due_on: Mapped[date]
    target_percent: Mapped[int] = mapped_column(comment="coverage rate due, in percent")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()

    @property
    def target(self) -> float:
        return self.target_percent / 100
