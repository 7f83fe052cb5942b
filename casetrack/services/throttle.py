"""Failed-login throttling per account, per address and per pair, with locks that always expire."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from casetrack.extensions import db
from casetrack.models import LoginFailure
from casetrack.services.calendar import now

WINDOW = timedelta(minutes=15)
# key kind -> (failures allowed in the window, how long the key is then blocked).
# The pair lock stops guessing at one account from one place; the address lock stops spraying
# many accounts; the account-wide lock is short, so an attacker elsewhere cannot keep a cadre out.
LIMITS = {"pair": (5, timedelta(minutes=15)), "ip": (30, timedelta(minutes=15)),
          "user": (50, timedelta(minutes=1))}


def _keys(username: str, address: str) -> dict[str, str]:
    username = (username or "").strip().lower()[:60]
    return {"pair": f"user:{username}|ip:{address}", "ip": f"ip:{address}", "user": f"user:{username}"}


def blocked(username: str, address: str) -> bool:
    """Whether a login attempt must be refused now, before the password is checked."""
    keys = list(_keys(username, address).values())
    rows = db.session.scalars(select(LoginFailure).where(LoginFailure.key.in_(keys)))
    moment = now()
    return any(r.blocked_until and r.blocked_until > moment for r in rows)


def record_failure(username: str, address: str) -> None:
    moment = now()
    for kind, key in _keys(username, address).items():
        row = db.session.get(LoginFailure, key)
        if row is None:
            row = LoginFailure(key=key, count=0, window_start=moment)
            db.session.add(row)
        if moment - row.window_start > WINDOW:
            row.count, row.window_start, row.blocked_until = 0, moment, None
        row.count += 1
        allowed, lock = LIMITS[kind]
        if row.count >= allowed:
            row.blocked_until = moment + lock
    db.session.flush()


def record_success(username: str, address: str) -> None:
    db.session.execute(delete(LoginFailure).where(
        LoginFailure.key == _keys(username, address)["pair"]))
    db.session.flush()
