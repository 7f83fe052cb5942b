"""The organisation: units in a tree, users with one role, their API tokens, case categories."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casetrack.db.types import UTCDateTime, utcnow
from casetrack.extensions import db
from casetrack.workflow import ROLES, UNIT_KINDS

# The unit kinds a role may belong to; a department handler sits in a department, and so on.
ROLE_UNIT_KINDS = {
    "group_member": ("group",),
    "group_leader": ("group",),
    "team_leader": ("team",),
    "county_officer": ("county", "city", "province"),
    "department_handler": ("department",),
    "admin": UNIT_KINDS,
    "leader": ("province", "city", "county", "team"),
    "inspector": ("inspection",),
}
# Posts a user may hold (职务), counted in the bulletin's person-times: the principal leaders of
# city and county (主要负责同志) and the party secretaries of the four levels (书记).
POSTS = ("city_principal", "county_principal", "secretary_city", "secretary_county",
         "secretary_township", "secretary_village")
PRINCIPAL_POSTS = ("city_principal", "county_principal")


class Unit(db.Model):
    __tablename__ = "units"
    __table_args__ = (CheckConstraint(f"kind IN {UNIT_KINDS}", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, comment="stable code used by the API")
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20), comment="province, city, county, department, team, group")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), index=True,
                                      comment="materialised path '/1/5/23/' for subtree queries")
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], lazy="joined", join_depth=3)

    def ancestor(self, kind: str) -> Unit | None:
        """This unit or the nearest unit above it of the given kind."""
        unit: Unit | None = self
        while unit is not None and unit.kind != kind:
            unit = unit.parent
        return unit

    def contains(self, other: Unit) -> bool:
        return other.path.startswith(self.path)

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.kind}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN {ROLES}", name="role"),
                      CheckConstraint(f"post IS NULL OR post IN {POSTS}", name="post"))

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(30))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    post: Mapped[str | None] = mapped_column(String(30), comment="principal leader or party secretary; none")
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(120), comment="notices are mailed here when SMTP is set")
    active: Mapped[bool] = mapped_column(default=True)
    session_version: Mapped[int] = mapped_column(
        default=1, comment="changed by logout and deactivation so old session cookies stop working")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit | None] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:  # flask-login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, comment="sha256 of the token")
    name: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="noted at most once a minute")
    expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="refused from then on; none: until revoked")

    user: Mapped[User] = relationship(lazy="joined")

    def state(self, moment: datetime) -> str:
        """'revoked', 'expired' or 'active' at that moment."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at is not None and self.expires_at <= moment else "active"


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)


class LoginFailure(db.Model):
    """Failed logins counted in the database, so every worker and host shares the count."""
    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(200), primary_key=True,
                                     comment="'ip:ADDR', 'user:NAME' or 'user:NAME|ip:ADDR'")
    count: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
