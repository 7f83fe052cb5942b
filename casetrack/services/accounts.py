"""Use cases on accounts: users, passwords, API tokens."""
from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import joinedload

from casetrack.db.types import utcnow
from casetrack.extensions import db
from casetrack.models import ROLE_UNIT_KINDS, ApiToken, Unit, User
from casetrack.services import reference, throttle
from casetrack.services.org import unit_by_code
from casetrack.services.errors import TooManyAttempts, ValidationFailed


def hasher() -> PasswordHasher:
    """argon2id with the library's RFC 9106 defaults, or ARGON2_PARAMS from the config."""
    ext = current_app.extensions
    if "casetrack.hasher" not in ext:
        ext["casetrack.hasher"] = PasswordHasher(**current_app.config.get("ARGON2_PARAMS", {}))
        # Verified when the username is unknown, so a wrong name costs as long as a wrong password.
        ext["casetrack.dummy_hash"] = ext["casetrack.hasher"].hash("not a password")
    return ext["casetrack.hasher"]


def hash_password(password: str) -> str:
    return hasher().hash(password)


def create_user(username: str, password: str, role: str, unit_code: str | None,
                name: str | None = None) -> User:
    errors: dict[str, str] = {}
    if not username or len(username) > 60 or not username.replace("_", "").replace(".", "").isalnum():
        errors["username"] = _("Letters, digits, '.' and '_' only, at most 60.")
    elif db.session.scalars(select(User).where(User.username == username)).first():
        errors["username"] = _("This username is taken.")
    if len(password or "") < 4:
        errors["password"] = _("At least 4 characters.")
    unit = None
    if unit_code:
        unit = unit_by_code(unit_code, errors, "unit")
    if role not in ROLE_UNIT_KINDS:
        errors["role"] = _("No such role.")
    elif role != "admin" and (unit is None or unit.kind not in ROLE_UNIT_KINDS[role]):
        errors["unit"] = _("This role belongs in a unit of kind: %(kinds)s.",
                           kinds=", ".join(ROLE_UNIT_KINDS[role]))
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    user = User(username=username, name=name or username, role=role, unit=unit,
                password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    return user


def list_users(q: str | None = None, after: int | None = None,
               limit: int = 100) -> tuple[list[User], int | None]:
    """Users whose username, name or unit matches q, by id, one keyset page at a time."""
    stmt = select(User).outerjoin(User.unit).order_by(User.id).limit(limit + 1)
    if q:
        stmt = stmt.where(or_(*(col.contains(q, autoescape=True)
                                for col in (User.username, User.name, Unit.code, Unit.name))))
    if after:
        stmt = stmt.where(User.id > after)
    rows = list(db.session.scalars(stmt))
    return rows[:limit], rows[limit - 1].id if len(rows) > limit else None


def log_in(username: str, password: str, address: str) -> User | None:
    """authenticate(), throttled: failures are counted per account and address, in the database."""
    if throttle.blocked(username, address):
        raise TooManyAttempts(_("Too many failed attempts; please wait 15 minutes and try again."))
    user = authenticate(username, password)
    if user is None:
        throttle.record_failure(username, address)
    else:
        throttle.record_success(username, address)
    return user


def authenticate(username: str, password: str) -> User | None:
    """The active user with this password, rehashing it if the parameters changed."""
    user = db.session.scalars(select(User).where(User.username == username)).first()
    try:
        hasher().verify(user.password_hash if user else current_app.extensions["casetrack.dummy_hash"],
                        password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.flush()
    return user


def end_sessions(user: User) -> None:
    """Make every session cookie of this user useless (logout, deactivation)."""
    user.session_version += 1
    db.session.flush()


def reset_password(user: User, password: str) -> None:
    """Set a new password; sessions opened with the old one end."""
    if len(password or "") < 4:
        raise ValidationFailed({"password": _("At least 4 characters.")},
                               _("Please correct the marked fields."))
    user.password_hash = hash_password(password)
    end_sessions(user)


def set_active(user: User, active: bool) -> None:
    """Deactivate a user (their sessions and tokens stop working at once) or reactivate them."""
    user.active = active
    end_sessions(user)


def create_token(user: User, name: str = "") -> str:
    """A new API token; only its hash is stored, so it is shown once."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, name=name[:80],
                            token_hash=hashlib.sha256(token.encode()).hexdigest()))
    db.session.flush()
    return token


# Built once: every API request runs it. The owner and their unit, not the unit's parents (three
# more joins that a request needs only to climb the tree, which loads them when it does).
# The reference version comes with it (see services/reference.py): a filing then reads nothing else.
_TOKEN_OWNER = select(User, reference.VERSION).join(ApiToken, ApiToken.user_id == User.id).where(
    ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None), User.active.is_(True)
).options(joinedload(User.unit).lazyload(Unit.parent))


def user_for_token(token: str) -> User | None:
    """The active owner of an unrevoked token (read each time: revocation counts at once)."""
    row = db.session.execute(_TOKEN_OWNER, {"token_hash": hashlib.sha256(token.encode()).hexdigest()}).first()
    if row is None:
        return None
    reference.seen(row[1])
    return row[0]


def tokens_of(user: User) -> list[ApiToken]:
    """The user's tokens, newest first (their hashes only: a token is shown once)."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.id.desc())))


def revoke_token(token_id: int, user: User) -> bool:
    """Revoke one of the user's own tokens; False if they hold no such token."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        return False
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.flush()
    return True
