"""Use cases on accounts: users, passwords, API tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import joinedload

from casetrack.extensions import db
from casetrack.models import POSTS, ROLE_UNIT_KINDS, ApiToken, Unit, User
from casetrack.services.organisation import reference, throttle
from casetrack.services.workdays.calendar import now
from casetrack.services.organisation.org import unit_by_code
from casetrack.services.common.errors import TooManyAttempts, ValidationFailed


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


def post_error(post: str | None) -> str | None:
    return _("No such post.") if post is not None and post not in POSTS else None


def create_user(username: str, password: str, role: str, unit_code: str | None,
                name: str | None = None, post: str | None = None) -> User:
    errors: dict[str, str] = {}
    post = post or None
    if problem := post_error(post):
        errors["post"] = problem
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
    user = User(username=username, name=name or username, role=role, unit=unit, post=post,
                password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    return user


def set_post(user: User, post: str | None) -> User:
    """The post a user holds (a principal leader, a party secretary), or none."""
    post = post or None
    if problem := post_error(post):
        raise ValidationFailed({"post": problem}, problem)
    user.post = post
    db.session.flush()
    return user


def list_users(q: str | None = None, after: int | None = None,
               limit: int = 100) -> tuple[list[User], int | None]:
    """Users whose username, name or unit matches q, by id, one keyset page at a time."""
    stmt = _users_matching(q).order_by(User.id).limit(limit + 1)
    if after:
        stmt = stmt.where(User.id > after)
    rows = list(db.session.scalars(stmt))
    return rows[:limit], rows[limit - 1].id if len(rows) > limit else None


def count_users(q: str | None = None) -> int:
    """How many users list_users finds in all."""
    return db.session.scalar(_users_matching(q).with_only_columns(func.count(User.id))) or 0


def _users_matching(q: str | None):
    stmt = select(User).outerjoin(User.unit)
    if q:
        stmt = stmt.where(or_(*(col.contains(q, autoescape=True)
                                for col in (User.username, User.name, Unit.code, Unit.name))))
    return stmt


def log_in(username: str, password: str, address: str, device_cookie: str | None = None) -> User | None:
    """authenticate(), throttled: failures are counted per account and address (or, from a browser
    that logged in as this account before, per that browser), in the database."""
    user = db.session.scalars(select(User).where(User.username == username)).first()
    device = throttle.known_device(device_cookie, user)
    if throttle.blocked(username, address, device):
        raise TooManyAttempts(_("Too many failed attempts; please wait 15 minutes and try again."))
    user = authenticate(username, password, user)
    if user is None:
        throttle.record_failure(username, address, device)
    else:
        throttle.record_success(username, address, device)
    return user


def authenticate(username: str, password: str, user: User | None = None) -> User | None:
    """The active user with this password (`user`: already looked up by that username),
    rehashing it if the parameters changed."""
    if user is None:
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
    """Set a new password; sessions opened and API tokens made with the old one end."""
    if len(password or "") < 4:
        raise ValidationFailed({"password": _("At least 4 characters.")},
                               _("Please correct the marked fields."))
    user.password_hash = hash_password(password)
    end_sessions(user)
    revoke_tokens(user)


def set_active(user: User, active: bool) -> None:
    """Deactivate a user (their sessions end and their tokens are revoked) or reactivate them."""
    user.active = active
    end_sessions(user)
    if not active:
        revoke_tokens(user)  # so that reactivation does not bring them back


def revoke_tokens(user: User) -> None:
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=now()))
    db.session.flush()


MAX_TOKEN_DAYS = 3650


def token_days(days: object) -> int | None:
    """How many days a new token is valid (None: until revoked), checked."""
    if days is not None and (type(days) is not int or not 1 <= days <= MAX_TOKEN_DAYS):
        raise ValidationFailed({"expires_in_days": _("A whole number of days from 1 to %(most)s, or none.",
                                                     most=MAX_TOKEN_DAYS)})
    return days


def issue_token(user: User, name: str = "", days: int | None = None) -> tuple[str, ApiToken]:
    """A new API token, valid for `days` (None: until revoked), and its row; only its hash is
    stored, so it is shown once."""
    days = token_days(days)
    token = secrets.token_urlsafe(32)
    moment = now()
    row = ApiToken(user_id=user.id, name=name[:80], created_at=moment,
                   expires_at=moment + timedelta(days=days) if days else None,
                   token_hash=hashlib.sha256(token.encode()).hexdigest())
    db.session.add(row)
    db.session.flush()
    return token, row


def create_token(user: User, name: str = "", days: int | None = None) -> str:
    return issue_token(user, name, days)[0]


# Built once: every API request runs it. The owner and their unit, not the unit's parents (three
# more joins that a request needs only to climb the tree, which loads them when it does).
# The reference version comes with it (see services/organisation/reference.py): a filing then reads nothing else.
_TOKEN_OWNER = select(User, reference.VERSION, ApiToken.id, ApiToken.last_used_at).join(
    ApiToken, ApiToken.user_id == User.id).where(
    ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None), User.active.is_(True),
    or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > bindparam("now"))
).options(joinedload(User.unit).lazyload(Unit.parent))
# A token's last use is written at most this often, not on every request.
TOKEN_USE_EVERY = timedelta(minutes=1)


def token_owner(token: str) -> tuple[User, int | None] | None:
    """The active owner of an unrevoked, unexpired token (read each time: revocation counts at
    once), and the token's id when its last use is due to be noted (note_token_use)."""
    moment = now()
    row = db.session.execute(_TOKEN_OWNER, {"token_hash": hashlib.sha256(token.encode()).hexdigest(),
                                            "now": moment}).first()
    if row is None:
        return None
    reference.seen(row[1])
    last_used = row[3]
    return row[0], row[2] if last_used is None or moment - last_used >= TOKEN_USE_EVERY else None


def note_token_use(token_id: int) -> None:
    db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now()))
    db.session.flush()


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
        row.revoked_at = now()
        db.session.flush()
    return True
